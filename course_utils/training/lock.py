"""One run at a time per output folder: a lock held by the main process for the whole run.

The lock is an OS lock on ``OUTPUT_DIR/.train-mrpc.lock`` (``fcntl.flock`` on Linux and macOS,
``msvcrt.locking`` on Windows), not the file's existence: the operating system releases it when
the process ends, however it ends (even SIGKILL or a power cut), so a crashed run never blocks
the ``--resume`` that follows. The file is left in place and names the run holding it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from course_utils.training.collective import first_message, stop_everywhere
from course_utils.training.options import TrainingSetupError

LOCK_FILE = ".train-mrpc.lock"
# What a non-blocking lock attempt raises when another process holds the lock.
_HELD_ELSEWHERE = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK)
_WINDOWS_LOCK_OFFSET = 1 << 20  # lock a byte past the text, so others can still read who holds it


class OutputDirBusyError(TrainingSetupError):
    """Another training run is writing to the same output folder."""


def lock_path(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / LOCK_FILE


@contextlib.contextmanager
def output_dir_lock(accelerator, output_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the output folder's lock for the block (taken by the main process only); refuse, on
    every process, when another run holds it."""
    handle, refusal = None, None
    if accelerator.is_main_process:
        handle, refusal = _acquire(lock_path(output_dir))
    refusal = first_message(accelerator, refusal)
    if refusal:
        stop_everywhere(accelerator, OutputDirBusyError(refusal))
    try:
        yield
    finally:
        if handle is not None:
            _release(handle)


def _acquire(path: Path):
    """``(open locked file, None)``, or ``(None, why not)`` when another run holds the lock."""
    handle = None
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole run
        _lock(handle)
    except OSError as err:
        if handle is None or err.errno not in _HELD_ELSEWHERE:
            if handle is not None:  # a file system without locks: say so, and go on
                handle.close()
            print(
                f"Warning: cannot lock {path} ({err.strerror or type(err).__name__}): make sure "
                "no other training run writes to this --output-dir at the same time."
            )
            return None, None
        holder = _holder(handle)
        handle.close()
        return None, (
            f"another training run ({holder}) is writing to {path.parent} right now; two runs in "
            "one --output-dir would overwrite each other's checkpoints. Wait for it to finish "
            "(or stop it), then run again with --resume to continue from its checkpoints; or "
            "pick another --output-dir to train a second model at the same time."
        )
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    with contextlib.suppress(OSError):  # only a note for a refused run (a full disk: none)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
    return handle, None


def _holder(handle) -> str:
    try:
        handle.seek(0)
        text = handle.read(200).strip()
    except OSError:
        text = ""
    return text or "process unknown"


def _lock(handle) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _release(handle) -> None:
    with contextlib.suppress(OSError):
        handle.seek(0)
        handle.truncate()  # the file no longer names a running process
        handle.flush()
        if sys.platform == "win32":
            import msvcrt

            handle.seek(_WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    handle.close()  # closing releases the POSIX lock
