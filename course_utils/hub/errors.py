"""The errors of Hub access: every failure of a Hub request or download the course knows,
each a :class:`~course_utils.errors.CourseError` whose message says what to do next (they are
built in :mod:`course_utils.hub.failures`)."""

from __future__ import annotations

from course_utils.errors import CourseError
from course_utils.settings import SettingError


class HubError(CourseError, RuntimeError):
    """A Hub call that failed; the message says what to do next."""


class HubUnreachableError(HubError):
    """The endpoint did not answer (no network, a proxy, a stalled mirror)."""


class RepoNotFoundError(HubError):
    """The Hub answered that no such repository exists (or it is private)."""


class InvalidRepoIdError(HubError, ValueError):
    """A name that cannot be a repository id (or an unknown repository type); nothing was sent."""


class HubTooSlowError(HubUnreachableError):
    """The endpoint answered, but a byte at a time: no answer was complete within the limit."""


class NotAHubError(HubUnreachableError):
    """Something answered at ``HF_ENDPOINT``, but not as a Hub does: a web page (a captive
    portal), a redirect loop, a 404 for the Hub's own paths, a body that is not the Hub's JSON."""


class InvalidEndpointError(HubError, SettingError):
    """``HF_ENDPOINT`` is not an address anything can be sent to; nothing was sent."""


class HubHTTPStatusError(HubError):
    """The Hub answered with an HTTP error other than 'not found'."""

    def __init__(self, message: str, status: int | str):
        super().__init__(message)
        self.status = status


class HubRateLimitedError(HubHTTPStatusError):
    """HTTP 429: too many requests from this machine; ``retry_after`` in seconds, if said."""

    def __init__(self, message: str, retry_after: int | None):
        super().__init__(message, 429)
        self.retry_after = retry_after


class DownloadFailedError(HubError):
    """A file download that did not complete: cut short by the server, or too slow."""


class CacheDiskFullError(HubError):
    """The disk that holds the HF cache filled up during a download."""
