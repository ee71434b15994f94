"""The one error type of the ``course`` command's own checks (bad flags and arguments)."""

from course_utils.errors import CourseError


class CommandError(CourseError):
    """A user-facing error: printed as one paragraph after ``course COMMAND:``, exit status 2.

    The library's own errors are CourseErrors too and are printed the same way, as they are.
    """
