"""Folders the course reads and writes."""

from __future__ import annotations

import os
from pathlib import Path


def folder_size(path: str | os.PathLike) -> int:
    """Bytes in the regular files under ``path`` (links not followed, so the HF cache's
    snapshot links are not counted twice); 0 for a folder that does not exist."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            try:
                if not file.is_symlink():
                    total += file.stat().st_size
            except OSError:
                continue
    return total
