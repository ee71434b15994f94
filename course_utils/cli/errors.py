"""The one error type of the ``course`` command."""


class CommandError(Exception):
    """A user-facing error: printed as one paragraph after ``course COMMAND:``, exit status 2."""
