"""The base of the course's own errors.

Every error the course raises on purpose derives from :class:`CourseError` (and, where it
helps callers, from the built-in error it refines, e.g. ``ValueError``). Its message is one
paragraph that says what went wrong and what to do next, so the ``course`` command prints it
as it is, without a traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """A failure the learner can act on; the message says what to do next."""


def one_paragraph(err: BaseException) -> str:
    """The error's message on one line (an ``OSError`` says which file and why)."""
    if isinstance(err, OSError) and not isinstance(err, CourseError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        text = f"{where}{err.strerror} ({type(err).__name__})"
    else:
        text = str(err) or type(err).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
