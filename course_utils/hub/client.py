"""Every request the course sends to the Hugging Face Hub, each with a bounded time.

The Hub is whatever ``HF_ENDPOINT`` names (``https://huggingface.co`` by default, or a mirror
such as ``https://hf-mirror.com``): huggingface_hub reads it once, at import, and so do we
(:func:`check_endpoint` refuses an address that cannot work before anything is sent).
One answer takes at most ``COURSE_HUB_TIMEOUT`` seconds in all (by default the same as
huggingface_hub's ``HF_HUB_ETAG_TIMEOUT``, 10 s), and the course's own requests are never
retried, so a Hub that does not answer, or trickles, is an error within that time, not a hang.
:func:`deadlines` gives the requests the libraries send during a course call the same limits
(and file downloads a minimum rate instead): see :mod:`course_utils.hub.transport`.

- :func:`validate_repo_id`: is a name a repository id at all? (nothing is sent)
- :func:`probe` / :func:`ensure_reachable`: does the endpoint answer, as a Hub does?
- :func:`check_model_exists`: is a name a model repository? (gated ones count)
- :func:`dry_run`: the files a download would fetch, their sizes, and which are cached
- :func:`login_status`: is a token saved, and whose is it? (never the token itself)

Hub failures become the course's errors here, once (:func:`translate`, which also knows the
failures of a download: cut short, too slow, a full disk, weights refused as unsafe pickles);
callers let them through.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from course_utils import catalog, settings
from course_utils.errors import CourseError, first_line
from course_utils.hub import cache

# The errors (hub.errors) and their messages (hub.failures) are named here too: callers know
# them as course_utils.hub.client.HubError, .ways_out, ...
from course_utils.hub.endpoint import (  # noqa: F401
    check_endpoint,
    endpoint,
)
from course_utils.hub.errors import (  # noqa: F401
    CacheDiskFullError,
    DownloadFailedError,
    HubError,
    HubHTTPStatusError,
    HubRateLimitedError,
    HubTooSlowError,
    HubUnreachableError,
    InvalidEndpointError,
    InvalidRepoIdError,
    NotAHubError,
    RepoNotFoundError,
)
from course_utils.hub.failures import (  # noqa: F401
    LOGIN_HOW,
    MIRROR_EXAMPLE,
    disk_full_error,
    download_failure,
    is_disk_full,
    is_network_error,
    not_a_hub_error,
    rate_limited_error,
    too_slow_error,
    unreachable_error,
    ways_out,
)

PROBE_REPO = "openai-community/gpt2"  # any public repository answers a reachability probe
_PROBE_FILE = {"model": "config.json", "dataset": "README.md"}
# Headers only a Hub (or a mirror answering like one) sends; huggingface_hub needs them.
HUB_HEADERS = ("x-repo-commit", "x-error-code", "x-linked-etag", "x-linked-size")
PROBE_REDIRECTS = 5
REPO_TYPES = ("model", "dataset", "space")


@contextlib.contextmanager
def deadlines(seconds: float | None = None) -> Iterator[None]:
    """Inside the block, every Hub request (the course's, and those huggingface_hub,
    transformers and 🤗 Datasets send) has a total deadline of ``seconds`` (default
    ``COURSE_HUB_TIMEOUT``) per answer, a file download a minimum rate instead, and HTTP 429
    ends a request at once (:mod:`course_utils.hub.transport`). Nested blocks keep the
    outermost limit. The failures are httpx2 errors that :func:`translate` understands."""
    from course_utils.hub import transport

    check_endpoint()
    with transport.installed(request_timeout(seconds), urlsplit(endpoint()).hostname or ""):
        yield


def request_timeout(seconds: float | None = None) -> float:
    """``seconds`` if given, else ``COURSE_HUB_TIMEOUT`` (default: ``HF_HUB_ETAG_TIMEOUT``, 10)."""
    return settings.hub_timeout() if seconds is None else float(seconds)


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
    """One reachability check: whether the endpoint answered, whether as a Hub does, and after
    how long."""

    endpoint: str
    seconds: float
    error: str | None = None  # no answer: the exception's name, or "HTTP 5xx"
    status: int | None = None
    too_slow: str | None = None  # it answered, too slowly: what came in how long
    not_hub: str | None = None  # it answered, but not as a Hub does: what it answered instead
    retry_after: int | None = None  # HTTP 429: the seconds the server asks to wait

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def reachable(self) -> bool:
        """The Hub API answered as a Hub does (a 404 for a missing repository counts)."""
        return self.answered and self.not_hub is None and not self.rate_limited


def looks_like_hub(response) -> bool:
    """Whether an answer carries the headers only a Hub sends (huggingface_hub needs them)."""
    return any(name in response.headers for name in HUB_HEADERS)


def _describe(response) -> str:
    """What a server that is not a Hub answered, in a few words."""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    what = "a web page (HTML)" if "html" in kind else kind
    return f"answered HTTP {response.status_code} with {what} and none of the Hub's headers"


def probe(
    repo_id: str = PROBE_REPO, repo_type: str = "model", timeout: float | None = None
) -> Probe:
    """One HEAD request for a small file of ``repo_id`` (redirects on the same host followed,
    up to 5). Reachable means the Hub answered as a Hub does: its headers on the answer, a 404
    or 401 for a missing repository included. A 5xx is what a proxy or mirror says when it
    cannot reach the Hub itself, so it counts as no answer; HTTP 429 is rate-limited."""
    check_endpoint()
    from huggingface_hub.utils import get_session

    from course_utils.hub import transport

    prefix = "datasets/" if repo_type == "dataset" else ""
    url = f"{endpoint()}/{prefix}{repo_id}/resolve/main/{_PROBE_FILE[repo_type]}"
    seconds = request_timeout(timeout)
    start = time.monotonic()

    def result(**fields) -> Probe:
        return Probe(endpoint(), time.monotonic() - start, **fields)

    try:
        with deadlines(seconds):
            for _ in range(PROBE_REDIRECTS + 1):
                response = get_session().head(url, timeout=seconds, follow_redirects=False)
                target = response.headers.get("location")
                if not response.is_redirect or not target or looks_like_hub(response):
                    break
                target = urljoin(url, target)
                if urlsplit(target).netloc != urlsplit(url).netloc:
                    return result(status=response.status_code, not_hub=f"redirects to {target}")
                url = target
            else:
                return result(not_hub=f"redirects in a loop, more than {PROBE_REDIRECTS} times")
    except transport.RateLimitedError as err:
        return result(status=429, retry_after=err.retry_after)
    except transport.AnswerTooSlowError as err:
        return result(error=type(err).__name__, too_slow=err.summary)
    except Exception as err:
        if not is_network_error(err):
            raise
        return result(error=type(err).__name__)
    status = response.status_code
    if status >= 500:
        return result(error=f"HTTP {status}", status=status)
    if status == 429:
        wait = response.headers.get("retry-after", "").strip()
        return result(status=429, retry_after=int(wait) if wait.isdigit() else None)
    if not looks_like_hub(response):
        return result(status=status, not_hub=_describe(response))
    return result(status=status)


def api_problem(timeout: float | None = None) -> str | None:
    """After a good probe, whether the Hub's JSON API answers too (one GET of a repository's
    metadata): ``None`` when it answers JSON shaped as the Hub's (the repository, or an
    ``error``), else what it answered instead. ``course doctor`` asks it; a server that serves
    files but no API (a broken mirror, a page that only looks like the Hub) fails here."""
    check_endpoint()
    import json

    from huggingface_hub.utils import get_session

    from course_utils.hub import transport

    url = f"{endpoint()}/api/models/{PROBE_REPO}/revision/main"
    seconds = request_timeout(timeout)
    try:
        with deadlines(seconds):
            response = get_session().get(url, timeout=seconds)
            data = response.json()
    except json.JSONDecodeError as err:
        sample = " ".join(err.doc[:40].split())
        return f"answered its API with something that is not JSON, starting {sample!r}"
    except transport.RateLimitedError:
        return None  # a Hub may say that too
    except Exception as err:
        if not is_network_error(err):
            raise
        return f"answered files but not its API ({type(err).__name__})"
    if isinstance(data, dict) and ({"id", "sha"} <= data.keys() or "error" in data):
        return None
    return f"answered its API with JSON that is not the Hub's (HTTP {response.status_code})"


def ensure_reachable(
    what: str, repo_id: str = PROBE_REPO, repo_type: str = "model", timeout: float | None = None
) -> Probe:
    """Raise a :class:`HubError` (saying ``what`` cannot be done) unless the Hub answers as a
    Hub does: :class:`HubUnreachableError` (:class:`NotAHubError` when something else answers)
    or :class:`HubRateLimitedError`.

    For a model that is in the HF cache, the error says that offline mode would use it.
    """
    result = probe(repo_id, repo_type, timeout)
    if result.reachable:
        return result
    if result.rate_limited:
        raise rate_limited_error(result.retry_after, what)
    if result.not_hub is not None:
        error = not_a_hub_error(result.not_hub, what)
    elif result.too_slow is not None:
        error = too_slow_error(result.too_slow, what)
    else:
        error = unreachable_error(result.error, result.seconds, what)
    if repo_id != PROBE_REPO and repo_type == "model" and cache.model_is_cached(repo_id):
        error = type(error)(
            f"{error} ({repo_id} is in your HF cache: with HF_HUB_OFFLINE=1 it is used from there)"
        )
    raise error


# Model repositories the Hub confirmed in this process (endpoint, id): the memory check and
# locate() both need to know, and a repository does not vanish between the two.
_confirmed: set[tuple[str, str]] = set()


def check_model_exists(repo_id: str, timeout: float | None = None) -> None:
    """Return if ``repo_id`` is a model repository on the Hub (gated included), else raise."""
    check_endpoint()
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError

    if (endpoint(), repo_id) in _confirmed:
        return
    what = f"{repo_id} cannot be checked or downloaded"
    with deadlines(timeout):
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
    check_endpoint()
    from huggingface_hub import snapshot_download

    what = f"the files of {repo_id} cannot be listed"
    with deadlines():
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
    """The course's error for a failed Hub request or download, here and only here; an error
    that is not about the Hub (a programming error) is returned unchanged, to be raised as it is.

    ``what`` says what cannot be done (e.g. ``"distilgpt2 cannot be downloaded"``); ``start``
    (``time.monotonic()``) dates the request. The failures of a download are known wherever
    they sit in the error's chain (a library's own error raised from them): too slow, cut short
    by the server, the HF cache's disk full. ``pipeline()`` (through
    :mod:`course_utils.models.load_errors`) and ``load_mrpc()`` call this on what
    ``from_pretrained`` / ``load_dataset`` raise.
    """
    from huggingface_hub.errors import (
        DryRunError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    if isinstance(err, CourseError):
        return err
    if isinstance(err, DryRunError) and err.__cause__ is not None:
        err = err.__cause__
    seconds = time.monotonic() - start if start is not None else 0.0
    known = download_failure(err, repo_id, what)
    if known is not None:
        return known
    if isinstance(err, GatedRepoError):
        return HubHTTPStatusError(
            f"{repo_id} is gated: {LOGIN_HOW}, then request access on {repo_url(repo_id)} "
            "(chapter 0 shows how to check it with check_repo_access)",
            401,
        )
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", "?")
    if isinstance(err, HfHubHTTPError) and status == 429:
        wait = response.headers.get("retry-after", "").strip()
        return rate_limited_error(int(wait) if wait.isdigit() else None, what)
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
    check_endpoint()
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    with deadlines():
        for name in filenames:
            try:
                hf_hub_download(repo_id, name, etag_timeout=request_timeout())
            except EntryNotFoundError:
                continue  # recorded in the cache's .no_exist folder


def login_status(online: bool) -> tuple[bool, str | None]:
    """(whether a token is saved, the account name when online and the token is valid)."""
    check_endpoint()
    from huggingface_hub import get_token
    from huggingface_hub.utils import build_hf_headers, get_session

    token = get_token()
    if not token:
        return False, None
    if not online:
        return True, None
    try:
        with deadlines():
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
