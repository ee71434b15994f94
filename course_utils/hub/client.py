"""Every request the course sends to the Hugging Face Hub, each with a bounded time.

The Hub is whatever ``HF_ENDPOINT`` names (``https://huggingface.co`` by default, or a mirror
such as ``https://hf-mirror.com``): huggingface_hub reads it once, at import, and so do we.
One request waits at most ``COURSE_HUB_TIMEOUT`` seconds for an answer (by default the same as
huggingface_hub's ``HF_HUB_ETAG_TIMEOUT``, 10 s), and is never retried, so a Hub that does not
answer is an error within that time, not a hang.

- :func:`validate_repo_id`: is a name a repository id at all? (nothing is sent)
- :func:`probe` / :func:`ensure_reachable`: does the endpoint answer at all?
- :func:`check_model_exists`: is a name a model repository? (gated ones count)
- :func:`dry_run`: the files a download would fetch, their sizes, and which are cached
- :func:`login_status`: is a token saved, and whose is it? (never the token itself)

Hub failures become the course's errors here, once (:func:`translate`); callers let them through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from course_utils import catalog, settings
from course_utils.errors import CourseError, first_line
from course_utils.hub import cache

MIRROR_EXAMPLE = "https://hf-mirror.com"
PROBE_REPO = "openai-community/gpt2"  # any public repository answers a reachability probe
_PROBE_FILE = {"model": "config.json", "dataset": "README.md"}
_HTTP_LIBRARIES = {"httpx", "httpx2", "httpcore", "requests", "urllib3"}
REPO_TYPES = ("model", "dataset", "space")
LOGIN_HOW = (
    "run `hf auth login` in a terminal or "
    "`from huggingface_hub import notebook_login; notebook_login()`"
)


class HubError(CourseError, RuntimeError):
    """A Hub call that failed; the message says what to do next."""


class HubUnreachableError(HubError):
    """The endpoint did not answer (no network, a proxy, a stalled mirror)."""


class RepoNotFoundError(HubError):
    """The Hub answered that no such repository exists (or it is private)."""


class InvalidRepoIdError(HubError, ValueError):
    """A name that cannot be a repository id (or an unknown repository type); nothing was sent."""


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
    """``seconds`` if given, else ``COURSE_HUB_TIMEOUT`` (default: ``HF_HUB_ETAG_TIMEOUT``, 10)."""
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


def validate_repo_id(repo_id, repo_type: str = "model", *, namespaced: bool = False) -> str:
    """``repo_id`` if it can be a Hub repository id, else :class:`InvalidRepoIdError` with an
    example and a did-you-mean from the catalog (nothing is sent). ``namespaced=True`` also
    refuses legacy ids without a namespace (``gpt2``), which the Hub only redirects."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hf_validate

    if repo_type not in REPO_TYPES:
        raise InvalidRepoIdError(f"repo_type={repo_type!r}: use 'model', 'dataset' or 'space'.")
    example = "write it as 'namespace/name', e.g. 'distilbert/distilgpt2'"
    if not isinstance(repo_id, str):
        raise InvalidRepoIdError(f"{repo_id!r} is not a repository id: {example}.")
    try:
        hf_validate(repo_id)
    except HFValidationError:
        raise InvalidRepoIdError(
            f"{repo_id!r} is not a valid Hub id: {example} (copy it from the model page's "
            f"title). Did you mean {catalog.did_you_mean(repo_id)}?"
        ) from None
    if namespaced and "/" not in repo_id:
        raise InvalidRepoIdError(f"{repo_id!r} has no namespace: {example}.")
    return repo_id


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
    """Raise :class:`HubUnreachableError` (saying ``what`` cannot be done) unless it answers.

    For a model that is in the HF cache, the error says that offline mode would use it.
    """
    result = probe(repo_id, repo_type, timeout)
    if not result.answered:
        error = unreachable_error(result.error, result.seconds, what)
        if repo_id != PROBE_REPO and repo_type == "model" and cache.model_is_cached(repo_id):
            error = HubUnreachableError(
                f"{error} ({repo_id} is in your HF cache: with HF_HUB_OFFLINE=1 it is used from "
                "there)"
            )
        raise error
    return result


# Model repositories the Hub confirmed in this process (endpoint, id): the memory check and
# locate() both need to know, and a repository does not vanish between the two.
_confirmed: set[tuple[str, str]] = set()


def check_model_exists(repo_id: str, timeout: float | None = None) -> None:
    """Return if ``repo_id`` is a model repository on the Hub (gated included), else raise."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError

    if (endpoint(), repo_id) in _confirmed:
        return
    what = f"{repo_id} cannot be checked or downloaded"
    _reachable_then_warm(what, repo_id, "model", timeout)
    start = time.monotonic()
    try:
        HfApi().model_info(repo_id, timeout=request_timeout(timeout))
    except GatedRepoError:
        pass  # it exists; downloading it needs access (chapter 0 shows how)
    except Exception as err:
        raise translate(err, repo_id, what, start) from None
    _confirmed.add((endpoint(), repo_id))


def dry_run(repo_id: str, patterns: list[str], repo_type: str = "model") -> list:
    """What ``snapshot_download(repo_id, allow_patterns=patterns)`` would fetch: huggingface_hub's
    ``DryRunFileInfo`` per file (name, size, whether it is cached), without downloading."""
    from huggingface_hub import snapshot_download

    what = f"the files of {repo_id} cannot be listed"
    _reachable_then_warm(what, repo_id, repo_type, None)
    start = time.monotonic()
    try:
        return snapshot_download(
            repo_id,
            repo_type=repo_type,
            allow_patterns=patterns,
            dry_run=True,
            etag_timeout=request_timeout(),
        )
    except Exception as err:
        raise translate(err, repo_id, what, start) from None


def _reachable_then_warm(what: str, repo_id: str, repo_type: str, timeout: float | None) -> None:
    """Probe (a bare request) before the first metadata request: building the Hub's headers
    the first time asks the Hub itself (huggingface_hub fetches an agent registry, waiting up
    to 3 s more), so a Hub that does not answer must be found before that."""
    validate_repo_id(repo_id, repo_type)  # a malformed id is a typo to report, not a request
    ensure_reachable(what, repo_id, repo_type, timeout)
    _warm_headers()


def _warm_headers() -> None:
    """Build the request headers once before timing a request: the first build may import
    torch (for the user agent), which is not time spent waiting for the Hub."""
    from huggingface_hub.utils import build_hf_headers

    build_hf_headers()


def translate(err: BaseException, repo_id: str, what: str, start: float | None = None):
    """The course's error for a failed Hub request, here and only here; an error that is not
    about the Hub (a programming error) is returned unchanged, to be raised as it is.

    ``what`` says what cannot be done; ``start`` (``time.monotonic()``) dates the request.
    """
    from huggingface_hub.errors import (
        DryRunError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    if isinstance(err, HubError):
        return err
    if isinstance(err, DryRunError) and err.__cause__ is not None:
        err = err.__cause__
    seconds = time.monotonic() - start if start is not None else 0.0
    if isinstance(err, GatedRepoError):
        return HubHTTPStatusError(
            f"{repo_id} is gated: {LOGIN_HOW}, then request access on {repo_url(repo_id)} "
            "(chapter 0 shows how to check it with check_repo_access)",
            401,
        )
    if isinstance(err, RepositoryNotFoundError):
        return RepoNotFoundError(
            f"{repo_id} was not found on the Hub at {endpoint()} (or it is private and you are "
            f"not logged in). Did you mean {catalog.did_you_mean(repo_id)}?"
        )
    if isinstance(err, HFValidationError):
        try:
            validate_repo_id(repo_id)
        except InvalidRepoIdError as invalid:
            return invalid
        return InvalidRepoIdError(f"{repo_id!r} is not a valid Hub id ({first_line(err)})")
    if isinstance(err, HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", "?")
        return HubHTTPStatusError(
            f"the Hub at {endpoint()} answered HTTP {status} for {repo_id}, so {what}; try "
            f"again later, or {ways_out()}",
            status,
        )
    if is_network_error(err):
        return unreachable_error(err, seconds, what)
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


def repo_url(repo_id: str, repo_type: str = "model") -> str:
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
    return f"{endpoint()}/{prefix}{repo_id}"
