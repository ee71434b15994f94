"""The base of the course's own errors.

Every error the course raises on purpose derives from :class:`CourseError` (and, where it
helps callers, from the built-in error it refines, e.g. ``ValueError``). Its message is one
paragraph that says what went wrong and what to do next, so the ``course`` command prints it
as it is, without a traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """A failure the learner can act on; the message says what to do next."""


def first_line(err: BaseException, with_type: bool = True) -> str:
    """The first line of an error's message (libraries' messages often run to many lines),
    after its type name: ``"OSError: Can't load tokenizer for 'x'."``."""
    lines = str(err).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not with_type:
        return text or type(err).__name__
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def one_paragraph(err: BaseException) -> str:
    """The error's message on one line (an ``OSError`` says which file and why)."""
    if isinstance(err, OSError) and not isinstance(err, CourseError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        text = f"{where}{err.strerror} ({type(err).__name__})"
    else:
        text = str(err) or type(err).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
