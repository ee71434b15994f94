"""Decisions every process of a run takes together, so that no process stops alone.

In a run of N processes, one process that raises while the others go on waits nobody out: the
others block in the next collective operation (a gradient all-reduce, a barrier) until a
timeout, a hang. So a reason to stop found by one process (a non-finite loss, a full disk, a
busy output folder) is first shared with all (:func:`any_process`, :func:`first_message`), and
every process raises the same error together (:func:`stop_everywhere`); only the main process
prints it (``python -m course_utils.training`` calls :func:`report`).
"""

from __future__ import annotations

import sys

from course_utils.errors import CourseError


def any_process(accelerator, flag: bool) -> bool:
    """True on every process when ``flag`` is true on at least one (one all-reduce)."""
    if accelerator.num_processes == 1:
        return flag
    import torch

    votes = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(votes, reduction="sum").item() > 0)


def first_message(accelerator, message: str | None) -> str | None:
    """The message of the first process (by rank) that has one, the same on every process;
    ``None`` when no process has one. It is also a barrier."""
    if accelerator.num_processes == 1:
        return message
    from accelerate.utils import gather_object

    return next((m for m in gather_object([message]) if m is not None), None)


def stop_everywhere(accelerator, error: CourseError) -> None:
    """Raise ``error`` on this process, as every other process does at the same point.

    Only the main process prints it; :func:`report` waits for every process before any exits,
    so the main process's message is out before a launcher stops the others.
    """
    error.quiet = not accelerator.is_main_process
    error.everywhere = accelerator.num_processes > 1
    raise error


def report(error: BaseException, text: str) -> None:
    """Print ``text`` (the error's message) to stderr, unless another process prints it."""
    if not getattr(error, "quiet", False):
        print(text, file=sys.stderr, flush=True)
    if getattr(error, "everywhere", False):
        from accelerate import PartialState

        PartialState().wait_for_everyone()
