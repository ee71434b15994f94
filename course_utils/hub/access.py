"""May this machine's login download a (gated) repository? :func:`check_repo_access`, and what
each answer means (:class:`AccessResult`, whose message says what to do next)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from course_utils.hub import client, policy
from course_utils.hub.client import LOGIN_HOW

ACCESS_STATUSES = ("ok", "offline", "not logged in", "no access", "not found", "error")


@dataclass(frozen=True)
class AccessResult:
    """The answer for one repository: ``status`` (one of ``ACCESS_STATUSES``) and what to do."""

    repo_id: str
    status: str
    message: str
    url: str
    logged_in: bool

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __str__(self) -> str:
        return f"{self.repo_id}: {self.status.upper()}. {self.message}"


def gated_answer(err: BaseException, logged_in: bool, url: str) -> tuple[str, str]:
    if not logged_in:
        return (
            "not logged in",
            f"This repository is gated and you are not logged in: {LOGIN_HOW}, "
            f"then request access on {url}.",
        )
    if "awaiting" in str(err).lower() or "pending" in str(err).lower():
        return (
            "no access",
            "You asked for access and the request is awaiting review by the authors; "
            f"check its state on {url}.",
        )
    return (
        "no access",
        f"You are logged in, but this account has no access yet: request it on {url} "
        "(approval can take from minutes to days).",
    )


def http_answer(err, logged_in: bool) -> tuple[str, str]:
    code = err.response.status_code if err.response is not None else None
    if code == 401 and logged_in:
        return (
            "not logged in",
            f"The Hub rejected your saved token (expired or revoked): {LOGIN_HOW} again.",
        )
    if code == 401:
        return "not logged in", f"The Hub asks you to log in: {LOGIN_HOW}."
    return "error", f"The Hub answered HTTP {code}; try again later."


def check_repo_access(
    repo_id: str, *, repo_type: str = "model", timeout: float | None = None
) -> AccessResult:
    """Whether this machine's Hugging Face login can download ``repo_id``.

    Offline (``HF_HUB_OFFLINE=1``) nothing is sent and the answer is ``"offline"``. Online, one
    request with the saved token (if any) to the Hub's ``auth-check`` endpoint decides between
    ``"ok"``, ``"not logged in"``, ``"no access"`` (gated: request access on the repository
    page) and ``"not found"``. The token is read only to know whether one exists.
    """
    client.validate_repo_id(repo_id, repo_type, namespaced=True)
    client.check_endpoint()
    url = client.repo_url(repo_id, repo_type)
    logged_in = bool(client.login_status(online=False)[0])

    def result(status: str, message: str) -> AccessResult:
        return AccessResult(repo_id, status, message, url, logged_in)

    if policy.offline_mode():
        return result(
            "offline",
            "Not checked: HF_HUB_OFFLINE=1, so nothing is sent to the Hub. Unset HF_HUB_OFFLINE "
            "(before starting Python) and run this again to check access.",
        )
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    from course_utils.hub import transport

    start = time.monotonic()
    try:
        with client.deadlines(timeout):
            response = get_session().get(
                f"{client.endpoint()}/api/{repo_type}s/{repo_id}/auth-check",
                headers=build_hf_headers(),
                timeout=client.request_timeout(timeout),
            )
        hf_raise_for_status(response)
    except transport.CourseTransportError as err:  # too slow, rate-limited
        what = "its access cannot be checked"
        error = client.translate(err, repo_id, what, start)
        return result(
            "offline" if isinstance(err, transport.AnswerTooSlowError) else "error", str(error)
        )
    except GatedRepoError as err:
        return result(*gated_answer(err, logged_in, url))
    except RepositoryNotFoundError:
        hint = "" if logged_in else f" If it is private, log in first: {LOGIN_HOW}."
        return result(
            "not found",
            f"No such repository, or it is private: check the id on {client.endpoint()}.{hint}",
        )
    except HfHubHTTPError as err:
        return result(*http_answer(err, logged_in))
    except Exception as err:
        if not client.is_network_error(err):
            raise
        seconds = time.monotonic() - start
        return result(
            "offline",
            f"The Hub at {client.endpoint()} could not be reached ({type(err).__name__}, after "
            f"{seconds:.1f} s): check your connection or proxy, or {client.ways_out()}.",
        )
    how = "your login has access" if logged_in else "a public repository; no login needed"
    return result("ok", f"You can download it ({how}).")
