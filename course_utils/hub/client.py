"""Every call the course makes to the Hugging Face Hub, each with a bounded time.

The Hub is whatever ``HF_ENDPOINT`` names (``https://huggingface.co`` by default, or a mirror
such as ``https://hf-mirror.com``): huggingface_hub reads it once, at import, and so do we.
One request waits at most ``COURSE_HUB_TIMEOUT`` seconds (default 10) for an answer, and is
never retried, so a Hub that does not answer is an error within that time, not a hang.

- :func:`is_cached`: are a model's config and safetensors weights in the HF cache? (no network)
- :func:`probe` / :func:`ensure_reachable`: does the endpoint answer at all?
- :func:`check_model_exists`: is a name a model repository? (gated ones count)
- :func:`repo_file_sizes`: the files of a repository and their sizes
- :func:`login_status`: is a token saved, and whose is it? (never the token itself)
- :func:`check_repo_access`: may this login download a (gated) repository?

Failures are this module's own errors, whose messages say what to do next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from course_utils import settings
from course_utils.errors import CourseError
from course_utils.hub.access import (
    LOGIN_HOW,
    AccessResult,
    gated_answer,
    http_answer,
    validate_repo_id,
)

MIRROR_EXAMPLE = "https://hf-mirror.com"
# Weights the course loads; pickled copies count only where a repository has nothing else.
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLED_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
PROBE_REPO = "openai-community/gpt2"  # any public repository answers a reachability probe
_PROBE_FILE = {"model": "config.json", "dataset": "README.md"}
_HTTP_LIBRARIES = {"httpx", "httpx2", "httpcore", "requests", "urllib3"}


class HubError(CourseError, RuntimeError):
    """A Hub call that failed; the message says what to do next."""


class HubUnreachableError(HubError):
    """The endpoint did not answer (no network, a proxy, a stalled mirror)."""


class RepoNotFoundError(HubError):
    """The Hub answered that no such repository exists (or it is private)."""


class InvalidRepoIdError(HubError, ValueError):
    """A name that cannot be a repository id; nothing was sent."""


class HubHTTPStatusError(HubError):
    """The Hub answered with an HTTP error other than 'not found'."""

    def __init__(self, message: str, status: int | str):
        super().__init__(message)
        self.status = status


def endpoint() -> str:
    """The Hub this process talks to (``HF_ENDPOINT``, default https://huggingface.co)."""
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def request_timeout(seconds: float | None = None) -> float:
    """``seconds`` if given, else ``COURSE_HUB_TIMEOUT`` (default 10)."""
    return settings.hub_timeout() if seconds is None else float(seconds)


def ways_out() -> str:
    """The two ways to go on when the Hub cannot be reached."""
    return (
        f"use a mirror by setting HF_ENDPOINT (e.g. HF_ENDPOINT={MIRROR_EXAMPLE}), or set "
        "HF_HUB_OFFLINE=1 to work with cached models and local stand-ins; either one must be "
        "set before Python (or Jupyter) starts"
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


def is_cached(repo_id: str) -> bool:
    """True when the HF cache holds a Hub model's config and weights (no network).

    Safetensors weights count. Pickled weights (``pytorch_model.bin``) count only where the
    cache records that the repository has no safetensors (``course prefetch`` and transformers
    record it when they look); transformers loads them with torch's ``weights_only`` loader.
    """
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        found = {f: try_to_load_from_cache(repo_id, f) for f in ("config.json", *SAFETENSORS_FILES)}
        if not isinstance(found.pop("config.json"), str):
            return False
        if any(isinstance(path, str) for path in found.values()):
            return True
        # None: the cache knows nothing of the file; anything else that is not a path is the
        # library's marker that the Hub has no such file.
        if any(path is None for path in found.values()):
            return False  # safetensors may exist upstream: pickled copies do not count
        return any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in PICKLED_FILES)
    except HFValidationError:
        return False


@dataclass(frozen=True)
class Probe:
    """One reachability check: whether the endpoint answered, and after how long."""

    endpoint: str
    seconds: float
    error: str | None = None  # the exception's name when there was no answer
    status: int | None = None

    @property
    def answered(self) -> bool:
        return self.error is None


def probe(
    repo_id: str = PROBE_REPO, repo_type: str = "model", timeout: float | None = None
) -> Probe:
    """One HEAD request for a small file of ``repo_id``. Any HTTP answer below 500 means
    reachable (404 and 401 too: the server answered); a 5xx is what a proxy or mirror says
    when it cannot reach the Hub itself, so it counts as no answer."""
    from huggingface_hub.utils import get_session

    prefix = "datasets/" if repo_type == "dataset" else ""
    url = f"{endpoint()}/{prefix}{repo_id}/resolve/main/{_PROBE_FILE[repo_type]}"
    start = time.monotonic()
    try:
        response = get_session().head(url, timeout=request_timeout(timeout), follow_redirects=False)
    except Exception as err:
        if not is_network_error(err):
            raise
        return Probe(endpoint(), time.monotonic() - start, error=type(err).__name__)
    status = response.status_code
    error = f"HTTP {status}" if status >= 500 else None
    return Probe(endpoint(), time.monotonic() - start, error=error, status=status)


def ensure_reachable(
    what: str, repo_id: str = PROBE_REPO, repo_type: str = "model", timeout: float | None = None
) -> Probe:
    """Raise :class:`HubUnreachableError` (saying ``what`` cannot be done) unless it answers."""
    result = probe(repo_id, repo_type, timeout)
    if not result.answered:
        raise unreachable_error(result.error, result.seconds, what)
    return result


def check_model_exists(repo_id: str, timeout: float | None = None) -> None:
    """Return if ``repo_id`` is a model repository on the Hub (gated included), else raise."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError

    _reachable_then_warm(f"{repo_id} cannot be checked or downloaded", repo_id, "model", timeout)
    start = time.monotonic()
    try:
        HfApi().model_info(repo_id, timeout=request_timeout(timeout))
    except GatedRepoError:
        return  # it exists; downloading it needs access (chapter 0 shows how)
    except Exception as err:
        raise _hub_error(
            err, repo_id, start, f"{repo_id} cannot be checked or downloaded"
        ) from None


def repo_file_sizes(
    repo_id: str, repo_type: str = "model", timeout: float | None = None
) -> dict[str, int | None]:
    """Every file of a repository (main revision) and its size in bytes, from Hub metadata."""
    from huggingface_hub import HfApi

    info = HfApi().dataset_info if repo_type == "dataset" else HfApi().model_info
    _reachable_then_warm(f"the files of {repo_id} cannot be listed", repo_id, repo_type, timeout)
    start = time.monotonic()
    try:
        siblings = info(repo_id, files_metadata=True, timeout=request_timeout(timeout)).siblings
    except Exception as err:
        raise _hub_error(err, repo_id, start, f"the files of {repo_id} cannot be listed") from None
    return {s.rfilename: s.size for s in siblings or []}


def _reachable_then_warm(what: str, repo_id: str, repo_type: str, timeout: float | None) -> None:
    """Probe (a bare request) before the first metadata request: building the Hub's headers
    the first time asks the Hub itself (huggingface_hub fetches an agent registry, waiting up
    to 3 s more), so a Hub that does not answer must be found before that."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)  # a malformed id is a typo to report, not a request to send
    except HFValidationError as err:
        raise _hub_error(err, repo_id, time.monotonic(), what) from None
    ensure_reachable(what, repo_id, repo_type, timeout)
    _warm_headers()


def _warm_headers() -> None:
    """Build the request headers once before timing a request: the first build may import
    torch (for the user agent), which is not time spent waiting for the Hub."""
    from huggingface_hub.utils import build_hf_headers

    build_hf_headers()


def _hub_error(err: Exception, repo_id: str, start: float, what: str) -> Exception:
    """The course's error for a failed metadata request (programming errors pass through)."""
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, RepositoryNotFoundError

    if isinstance(err, RepositoryNotFoundError):
        return RepoNotFoundError(
            f"{repo_id} was not found on the Hub at {endpoint()} (or it is private and you "
            "are not logged in)"
        )
    if isinstance(err, HFValidationError):
        return InvalidRepoIdError(f"{repo_id!r} is not a valid Hub id ({err})")
    if isinstance(err, HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", "?")
        return HubHTTPStatusError(
            f"the Hub at {endpoint()} answered HTTP {status} for {repo_id}; try again later, "
            f"or {ways_out()}",
            status,
        )
    if is_network_error(err):
        return unreachable_error(err, time.monotonic() - start, what)
    return err


def confirm_absent(repo_id: str, filenames: tuple[str, ...]) -> None:
    """Ask the Hub for files a model repository lacks, so the HF cache records their absence."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    for name in filenames:
        try:
            hf_hub_download(repo_id, name, etag_timeout=request_timeout())
        except EntryNotFoundError:
            continue  # recorded in the cache's .no_exist folder


def login_status(online: bool) -> tuple[bool, str | None]:
    """(whether a token is saved, the account name when online and the token is valid)."""
    from huggingface_hub import get_token
    from huggingface_hub.utils import build_hf_headers, get_session

    token = get_token()
    if not token:
        return False, None
    if not online:
        return True, None
    try:
        response = get_session().get(
            f"{endpoint()}/api/whoami-v2",
            headers=build_hf_headers(token=token),
            timeout=request_timeout(),
        )
        response.raise_for_status()
        return True, str(response.json().get("name") or "") or None
    except Exception:  # noqa: BLE001 - an invalid or expired token reads as "not verified"
        return True, None


# --- gated repositories ----------------------------------------------------------------------


def repo_url(repo_id: str, repo_type: str = "model") -> str:
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
    return f"{endpoint()}/{prefix}{repo_id}"


def check_repo_access(
    repo_id: str, *, repo_type: str = "model", timeout: float | None = None
) -> AccessResult:
    """Whether this machine's Hugging Face login can download ``repo_id``.

    Offline (``HF_HUB_OFFLINE=1``) nothing is sent and the answer is ``"offline"``. Online, one
    request with the saved token (if any) to the Hub's ``auth-check`` endpoint decides between
    ``"ok"``, ``"not logged in"``, ``"no access"`` (gated: request access on the repository
    page) and ``"not found"``. The token is read only to know whether one exists.
    """
    validate_repo_id(repo_id, repo_type)
    url = repo_url(repo_id, repo_type)
    logged_in = bool(login_status(online=False)[0])

    def result(status: str, message: str) -> AccessResult:
        return AccessResult(repo_id, status, message, url, logged_in)

    if settings.offline_mode():
        return result(
            "offline",
            "Not checked: HF_HUB_OFFLINE=1, so nothing is sent to the Hub. Unset HF_HUB_OFFLINE "
            "(before starting Python) and run this again to check access.",
        )
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    start = time.monotonic()
    try:
        response = get_session().get(
            f"{endpoint()}/api/{repo_type}s/{repo_id}/auth-check",
            headers=build_hf_headers(),
            timeout=request_timeout(timeout),
        )
        hf_raise_for_status(response)
    except GatedRepoError as err:
        return result(*gated_answer(err, logged_in, url))
    except RepositoryNotFoundError:
        hint = "" if logged_in else f" If it is private, log in first: {LOGIN_HOW}."
        return result(
            "not found",
            f"No such repository, or it is private: check the id on {endpoint()}.{hint}",
        )
    except HfHubHTTPError as err:
        return result(*http_answer(err, logged_in))
    except Exception as err:
        if not is_network_error(err):
            raise
        seconds = time.monotonic() - start
        return result(
            "offline",
            f"The Hub at {endpoint()} could not be reached ({type(err).__name__}, after "
            f"{seconds:.1f} s): check your connection or proxy, or {ways_out()}.",
        )
    how = "your login has access" if logged_in else "a public repository; no login needed"
    return result("ok", f"You can download it ({how}).")
