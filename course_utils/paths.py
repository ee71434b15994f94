"""Folders the course reads and writes: sizes, and folders that must be writable."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from course_utils.errors import CourseError


class UnwritableFolderError(CourseError, RuntimeError):
    """A folder the course must write to cannot be created or written to."""


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


def writable_folder(path: str | os.PathLike, set_by: str) -> Path:
    """Create ``path`` if needed and check that a file can be written in it.

    ``set_by`` names what chose the folder (a flag such as ``--output`` or a variable such as
    ``COURSE_CACHE=...``); the error names both the folder and it.
    """
    folder = Path(path).expanduser()
    try:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(folder))
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise UnwritableFolderError(
            f"cannot write to the folder {folder}: {_why(err, folder)}. It was set by {set_by}: "
            "point it at a folder you can write to"
        ) from None
    return folder


def _why(err: OSError, folder: Path) -> str:
    """A short reason for a failed mkdir or write, naming the file that is in the way."""
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        for parent in (folder, *folder.parents):
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a folder"
    if err.errno == errno.EROFS:
        return "it is on a read-only file system"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (a read-only folder?)"
    return err.strerror or type(err).__name__
