"""The error of the course's pipelines for an argument or input they cannot use."""

from __future__ import annotations

from course_utils.errors import CourseError


class PipelineArgumentError(CourseError, ValueError, TypeError):
    """An argument of :func:`course_utils.pipeline` or an input of a restored pipeline that it
    cannot use; the message says what it takes. (A ``ValueError`` and a ``TypeError`` too, as
    transformers' own pipelines raise for the same mistakes.)"""
