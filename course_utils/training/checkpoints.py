"""Checkpoint folders of the chapter 3 training script: written atomically, checked, pruned.

A checkpoint (model, optimizer, scheduler, every process's RNG state, and a JSON state file
with the step and the size of every file) is written to ``OUTPUT_DIR/checkpoints/.tmp-step-N``,
flushed to disk (fsync), and renamed to ``step-N`` only when complete, so a half-written
checkpoint is never the latest. Before resuming, :func:`checkpoint_problems` checks a folder's
files against those sizes and their formats, so damage found later (a truncated or deleted
file) is reported and an older checkpoint used instead. A write that fails (a full disk) stops
every process with one message naming the folder and saying ``--resume`` goes on.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from course_utils.errors import CourseError, first_line
from course_utils.training.collective import first_message, stop_everywhere

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.json"
TMP_PREFIX = ".tmp-"
STEP_DIR = re.compile(r"^step-(\d+)$")
RNG_PREFIX = "random_states_"
# Written by every run of this script (checkpoints written before sizes were recorded).
REQUIRED_FILES = ("model.safetensors", "optimizer.bin", "scheduler.bin")
# A write that fails with less than this free was most likely stopped by a full disk.
FULL_DISK_BYTES = 1 << 20


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


class CheckpointWriteError(CourseError, RuntimeError):
    """A checkpoint or the trained model could not be written (a full disk, most often)."""


def save_checkpoint(accelerator, output_dir: Path, step: int, state: dict, keep: int) -> Path:
    """Write the accelerator's state and ``state`` as ``step-N``; keep the newest ``keep``.

    A write that fails on any process (a full disk) stops every process with one message; the
    half-written folder is removed and the previous checkpoint stays the latest.
    """
    root = checkpoints_root(output_dir)
    final = root / f"step-{step:07d}"
    tmp = root / f"{TMP_PREFIX}step-{step:07d}"

    def prepare():
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)

    def publish():
        (tmp / STATE_FILE).write_text(json.dumps({**state, "files": file_sizes(tmp)}, indent=2))
        _fsync_folder(tmp)  # the data is on disk before the rename makes it visible
        if final.exists():  # only when re-saving a step that is already complete
            shutil.rmtree(final)
        os.replace(tmp, final)  # atomic: "latest" is always complete
        _fsync_folder(root, files=False)

    what = f"the checkpoint of step {step}"
    _write_together(accelerator, prepare if accelerator.is_main_process else None, what, root, tmp)
    _write_together(accelerator, lambda: accelerator.save_state(str(tmp)), what, root, tmp)
    _write_together(accelerator, publish if accelerator.is_main_process else None, what, root, tmp)
    if accelerator.is_main_process:
        for _, old in complete_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def _write_together(accelerator, write, what: str, folder: Path, partial: Path) -> None:
    """Run ``write`` (on the processes that have one); when it fails on any process, remove
    ``partial`` and raise the same :class:`CheckpointWriteError` on every process."""
    message = None
    if write is not None:
        try:
            write()
        except Exception as err:  # noqa: BLE001 - safetensors, torch and the OS all fail here
            message = write_failure(what, folder, err)
    message = first_message(accelerator, message)
    if message is None:
        return
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)  # frees the space the failed write took
    stop_everywhere(accelerator, CheckpointWriteError(message))


def write_failure(what: str, folder: Path, err: BaseException) -> str:
    """Why ``what`` could not be written to ``folder``, and how to go on (``--resume``)."""
    output_dir = folder.parent if folder.name == CHECKPOINTS_DIR else folder
    cause = first_line(err)
    if _disk_full(err, folder):
        problem = (
            f"the disk that holds {folder} is full ({_free_space(folder)} free; {cause}). Free "
            "some space on it (old runs, caches), or move the output folder to a bigger disk "
            "and point --output-dir there"
        )
    else:
        problem = f"{cause}. Check that the folder can be written"
    latest = latest_checkpoint(output_dir)
    resume = (
        f"continues from {latest.name}, the newest complete checkpoint"
        if latest is not None
        else "starts from the beginning (no checkpoint is complete yet)"
    )
    return (
        f"cannot write {what} to {folder}: {problem}, then run the same command with --resume: "
        f"it {resume}. Nothing half-written was kept."
    )


def _disk_full(err: BaseException, folder: Path) -> bool:
    """ENOSPC, or a library's wording of it; torch.save only says "file write failed"."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if "No space left on device" in str(err) or "Disk quota exceeded" in str(err):
        return True
    try:
        return shutil.disk_usage(_existing(folder)).free < FULL_DISK_BYTES
    except OSError:
        return False


def _free_space(folder: Path) -> str:
    from course_utils.display import format_bytes

    try:
        return format_bytes(shutil.disk_usage(_existing(folder)).free)
    except OSError:
        return "unknown"


def _existing(folder: Path) -> Path:
    return next(p for p in (folder, *folder.parents) if p.exists())


def read_state(folder: Path) -> dict:
    """The state file of a checkpoint (step, history, the run's settings)."""
    return json.loads((folder / STATE_FILE).read_text())


def file_sizes(folder: Path) -> dict[str, int]:
    """Name -> size of every file in a checkpoint folder (its state file excepted)."""
    return {
        p.name: p.stat().st_size
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != STATE_FILE
    }


def _fsync_folder(folder: Path, files: bool = True) -> None:
    """Flush the files of ``folder`` (and the folder's own entries) to disk."""
    if files:
        for path in folder.iterdir():
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # platforms that cannot open a folder (Windows) flush it with its files
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def checkpoint_problems(folder: Path, num_processes: int) -> tuple[list[str], list[str]]:
    """What is wrong with a checkpoint: (problems that rule it out, RNG states that are not
    usable). Checks every recorded file's presence, size and format; nothing is loaded."""
    try:
        recorded = read_state(folder).get("files")
    except (OSError, ValueError) as err:
        return [f"{STATE_FILE} cannot be read ({type(err).__name__})"], []
    if recorded is None:  # written before sizes were recorded: check what is there
        recorded = {name: None for name in (*REQUIRED_FILES, *file_sizes(folder))}
    hard, rng = [], []
    for name, size in recorded.items():
        problem = _file_problem(folder / name, size)
        if problem:
            (rng if name.startswith(RNG_PREFIX) else hard).append(f"{name} {problem}")
    for index in range(num_processes):
        if f"{RNG_PREFIX}{index}.pkl" not in recorded:
            rng.append(f"{RNG_PREFIX}{index}.pkl missing (the run had fewer processes)")
    return hard, rng


def _file_problem(path: Path, size: int | None) -> str | None:
    if not path.is_file():
        return "is missing"
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"is {'truncated' if actual < size else 'damaged'} ({actual:,} of {size:,} bytes)"
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), "pt"):
                pass
        except Exception:  # noqa: BLE001 - any failure to read the header is damage
            return "is damaged (unreadable safetensors header)"
    elif path.suffix in (".bin", ".pkl") and not zipfile.is_zipfile(path):
        return "is damaged (not a complete torch.save archive)"
    return None
