"""Checkpoint folders of the chapter 3 training script: written atomically, found, pruned.

A checkpoint (model, optimizer, scheduler, every process's RNG state, and a JSON state file
with the step) is written to ``OUTPUT_DIR/checkpoints/.tmp-step-N`` and renamed to ``step-N``
only when complete, so a half-written checkpoint is never the latest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.json"
TMP_PREFIX = ".tmp-"
STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoints_root(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / CHECKPOINTS_DIR


def complete_checkpoints(output_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every complete checkpoint, oldest first.

    Complete means renamed into place (``step-N``) with its state file inside; temporary
    ``.tmp-*`` folders left by a crash never count.
    """
    root = checkpoints_root(output_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_DIR.match(child.name)
        if match and child.is_dir() and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint folder, or ``None``."""
    found = complete_checkpoints(output_dir)
    return found[-1][1] if found else None


def remove_partial_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Delete temporary folders a crashed run left behind; return what was removed."""
    root = checkpoints_root(output_dir)
    removed = []
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith(TMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed


def save_checkpoint(accelerator, output_dir: Path, step: int, state: dict, keep: int) -> Path:
    """Write the accelerator's state and ``state`` as ``step-N``; keep the newest ``keep``."""
    root = checkpoints_root(output_dir)
    final = root / f"step-{step:07d}"
    tmp = root / f"{TMP_PREFIX}step-{step:07d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))  # every process writes its own RNG state
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))
        if final.exists():  # only when re-saving a step that is already complete
            shutil.rmtree(final)
        os.replace(tmp, final)  # atomic: "latest" is always complete
        for _, old in complete_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def read_state(folder: Path) -> dict:
    """The state file of a checkpoint (step, history, the run's settings)."""
    return json.loads((folder / STATE_FILE).read_text())
