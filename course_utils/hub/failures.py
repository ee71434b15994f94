"""What the learner is told when a Hub request or a download fails: the messages of the course's
Hub errors, and the failures of a download recognised wherever they sit in an error's chain (a
library's own error raised from them): too slow, cut short, a full disk.

:func:`course_utils.hub.client.translate` is the one entry point; ``pipeline()`` and
``load_mrpc()`` call it on what the libraries raise.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from urllib.parse import urlsplit

from course_utils import settings
from course_utils.errors import CourseError, first_line
from course_utils.hub import policy
from course_utils.hub.endpoint import endpoint
from course_utils.hub.errors import (
    CacheDiskFullError,
    DownloadFailedError,
    HubRateLimitedError,
    HubTooSlowError,
    HubUnreachableError,
    NotAHubError,
)

MIRROR_EXAMPLE = "https://hf-mirror.com"
_HTTP_LIBRARIES = {"httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3"}
LOGIN_HOW = (
    "run `hf auth login` in a terminal or "
    "`from huggingface_hub import notebook_login; notebook_login()`"
)


def ways_out() -> str:
    """The two ways to go on when the Hub cannot be reached."""
    return (
        f"use a mirror by setting HF_ENDPOINT (e.g. HF_ENDPOINT={MIRROR_EXAMPLE}), or set "
        f"{policy.offline_advice()} to work with cached models and local stand-ins; either one "
        "must be set before Python (or Jupyter) starts"
    )


def is_network_error(err: BaseException) -> bool:
    """Whether ``err`` means the request never got an answer (as opposed to an HTTP error)."""
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(err, HfHubHTTPError):
        return False  # the server answered
    if isinstance(err, OSError | TimeoutError):
        return True
    # httpx / requests transport errors (huggingface_hub's HTTP client) are not OSErrors.
    return any(cls.__module__.split(".")[0] in _HTTP_LIBRARIES for cls in type(err).__mro__)


def _no_answer(err_name: str, seconds: float) -> str:
    if "timeout" in err_name.lower():
        return (
            f"no answer in {seconds:.1f} s: {err_name}; {settings.HUB_TIMEOUT_VAR} sets the limit"
        )
    return f"{err_name} after {seconds:.1f} s"


def unreachable_error(err: BaseException | str, seconds: float, what: str) -> HubUnreachableError:
    """The error for a request to the Hub that got no answer."""
    name = err if isinstance(err, str) else type(err).__name__
    return HubUnreachableError(
        f"the Hugging Face Hub at {endpoint()} could not be reached ({_no_answer(name, seconds)}), "
        f"so {what}: check your connection or proxy, or {ways_out()}"
    )


def too_slow_error(summary: str, what: str) -> HubTooSlowError:
    return HubTooSlowError(
        f"the Hugging Face Hub at {endpoint()} answers, but too slowly: {summary}. So {what}. "
        "A proxy or mirror that trickles its answers, or a very slow link: check your "
        f"connection or proxy, or {ways_out()}. {settings.HUB_TIMEOUT_VAR} sets the limit per "
        f"answer ({settings.hub_timeout():g} s now)"
    )


def not_a_hub_error(answer: str, what: str) -> NotAHubError:

    return NotAHubError(
        f"something answers at {endpoint()}, but not as a Hugging Face Hub does (it {answer}), "
        f"so {what}. Check HF_ENDPOINT: a mirror's address is its root (e.g. {MIRROR_EXAMPLE}, "
        "no path after it), and unset means https://huggingface.co. On a hotel, campus or "
        "guest network, open a web page in a browser and log in first (a captive portal). Or "
        f"set {policy.offline_advice()} to work with cached models and local stand-ins (before "
        "Python or Jupyter starts)"
    )


def rate_limited_error(retry_after: int | None, what: str) -> HubRateLimitedError:
    from huggingface_hub import get_token

    wait = (
        f"wait {retry_after} s (the server's Retry-After) and run it again"
        if retry_after is not None
        else "wait a minute or two and run it again"
    )
    login = "" if get_token() else f"; logged-in users get higher limits: {LOGIN_HOW}"
    return HubRateLimitedError(
        f"the Hub at {endpoint()} is rate-limiting this machine (HTTP 429: too many requests), "
        f"so {what}: {wait}{login}",
        retry_after,
    )


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and the errors it was raised from or while handling (libraries re-raise a Hub
    failure as their own error, e.g. transformers' ``OSError``)."""
    seen: set[int] = set()
    todo = [err]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def download_failure(err: BaseException, repo_id: str, what: str) -> CourseError | None:
    """The course's error for what ends a download (anywhere in ``err``'s chain), or ``None``:

    - the course's limits (:mod:`course_utils.hub.transport`): an answer too slow, a download
      without useful progress, HTTP 429;
    - a redirect loop, or an answer that is not the Hub's JSON (a captive portal's page);
    - a file cut short by the server (huggingface_hub's retries did not get the rest);
    - no space left on the disk of the HF cache.

    (Weights refused as unsafe pickles, and files damaged on disk, are load failures, not the
    Hub's: :mod:`course_utils.models.load_errors` says those.)
    """
    import json

    import httpx2

    from course_utils.hub import transport

    for cause in _chain(err):
        if isinstance(cause, transport.RateLimitedError):
            return rate_limited_error(cause.retry_after, what)
        if isinstance(cause, transport.AnswerTooSlowError):
            return too_slow_error(cause.summary, what)
        if isinstance(cause, transport.DownloadTooSlowError):
            return DownloadFailedError(
                f"{what}: {cause.summary} from {urlsplit(cause.url).netloc}: check your "
                f"connection or proxy, or use a mirror (HF_ENDPOINT={MIRROR_EXAMPLE}), then run "
                f"it again ({_KEPT})"
            )
        if isinstance(cause, httpx2.TooManyRedirects):
            return not_a_hub_error(f"redirects in a loop: {first_line(cause, False)}", what)
        if isinstance(cause, json.JSONDecodeError):
            doc = " ".join(cause.doc[:60].split()) if isinstance(cause.doc, str) else ""
            sample = f" starting {doc!r}" if doc else ""
            return not_a_hub_error(f"answered with something that is not JSON{sample}", what)
        if is_disk_full(cause):
            return disk_full_error(what)
        cut = cut_short(cause)
        if cut is not None:
            return DownloadFailedError(
                f"{what}: the server at {endpoint()} cut a file short ({cut}), again after "
                "huggingface_hub's retries: an unstable connection, or a proxy or mirror that "
                f"ends downloads early. Check your connection or proxy, or use a mirror "
                f"(HF_ENDPOINT={MIRROR_EXAMPLE}), then run it again ({_KEPT})"
            )
    return None


_KEPT = "files already complete are kept in the HF cache"


def cut_short(err: BaseException) -> str | None:
    """How much of a file came, when ``err`` says the server closed the connection early."""
    import re

    text = str(err)
    match = re.search(r"received (\d+) bytes, expected (\d+)", text)
    if match:
        return f"{int(match[1]):,} of {int(match[2]):,} bytes came"
    match = re.search(r"should be of size (\d+) but has size (\d+)", text)
    if match:
        return f"{int(match[2]):,} of {int(match[1]):,} bytes came"
    if "peer closed connection without sending complete message body" in text:
        return "the connection closed before the end"
    return None


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC (or a quota), or a library's wording of it (safetensors, tokenizers)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(err) or "Disk quota exceeded" in str(err)


def disk_full_error(what: str) -> CacheDiskFullError:
    """The error for a full disk under the HF cache: which folder, how much is free."""
    import shutil
    from pathlib import Path

    from huggingface_hub import constants

    folder = Path(constants.HF_HUB_CACHE)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    try:
        free = f"{shutil.disk_usage(existing).free / 1e6:,.0f} MB free"
    except OSError:
        free = "free space unknown"
    return CacheDiskFullError(
        f"{what}: the disk that holds the HF cache ({folder}, {free}) is full. Free some space "
        "(`hf cache ls` lists what is cached, `hf cache rm` removes it) or point HF_HOME at a "
        "larger disk (before Python starts), then run it again; nothing half-written is used"
    )
