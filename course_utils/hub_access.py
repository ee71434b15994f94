"""Can I download this (gated) repository? One clear answer, never the token.

``check_repo_access("meta-llama/Meta-Llama-3-8B")`` asks the Hub's ``auth-check`` endpoint (the
same one ``huggingface_hub.auth_check`` uses, with a timeout) and turns the result into one of:
``"ok"``, ``"offline"``, ``"not logged in"``, ``"no access"``, ``"not found"`` or ``"error"``,
with a message that says what to do next. The token is read only to know whether one exists.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from course_utils.offline import offline_mode

STATUSES = ("ok", "offline", "not logged in", "no access", "not found", "error")
LOGIN_HOW = "run `hf auth login` in a terminal or `from huggingface_hub import notebook_login; notebook_login()`"


@dataclass(frozen=True)
class AccessResult:
    """The answer for one repository: ``status`` (one of ``STATUSES``) and what to do next."""

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


def repo_url(repo_id: str, repo_type: str = "model") -> str:
    from huggingface_hub import constants

    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
    return f"{constants.ENDPOINT}/{prefix}{repo_id}"


def _validate(repo_id: str, repo_type: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if repo_type not in ("model", "dataset", "space"):
        raise ValueError(f"repo_type={repo_type!r}: use 'model', 'dataset' or 'space'.")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ValueError(
            f"{repo_id!r} is not a repository id: write it as 'namespace/name', "
            "e.g. 'meta-llama/Meta-Llama-3-8B' (copy it from the model page's title)."
        ) from err
    if "/" not in repo_id:
        raise ValueError(
            f"{repo_id!r} has no namespace: write it as 'namespace/name', "
            "e.g. 'meta-llama/Meta-Llama-3-8B'."
        )


def _network_errors() -> tuple[type[BaseException], ...]:
    """Connection-level failures of whichever HTTP library huggingface_hub uses."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx", "requests"):
        try:
            lib = importlib.import_module(module)
        except ImportError:
            continue
        for name in ("TransportError", "ConnectionError", "Timeout"):
            cls = getattr(lib, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    return tuple(errors)


def _has_token() -> bool:
    from huggingface_hub import get_token

    return bool(get_token())


def check_repo_access(
    repo_id: str, *, repo_type: str = "model", timeout: float = 10.0
) -> AccessResult:
    """Whether this machine's Hugging Face login can download ``repo_id``.

    Offline (``HF_HUB_OFFLINE=1``) nothing is sent and the answer is ``"offline"``. Online, one
    request with the saved token (if any) decides between ``"ok"``, ``"not logged in"``,
    ``"no access"`` (gated: request access on the repository page) and ``"not found"``.
    """
    _validate(repo_id, repo_type)
    url = repo_url(repo_id, repo_type)
    logged_in = _has_token()

    def result(status: str, message: str) -> AccessResult:
        return AccessResult(repo_id, status, message, url, logged_in)

    if offline_mode():
        return result(
            "offline",
            "Not checked: HF_HUB_OFFLINE=1, so nothing is sent to the Hub. Unset HF_HUB_OFFLINE "
            "(before starting Python) and run this again to check access.",
        )

    from huggingface_hub import constants
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    endpoint = f"{constants.ENDPOINT}/api/{repo_type}s/{repo_id}/auth-check"
    try:
        response = get_session().get(endpoint, headers=build_hf_headers(), timeout=timeout)
        hf_raise_for_status(response)
    except GatedRepoError as err:
        if not logged_in:
            return result(
                "not logged in",
                f"This repository is gated and you are not logged in: {LOGIN_HOW}, "
                f"then request access on {url}.",
            )
        pending = "awaiting" in str(err).lower() or "pending" in str(err).lower()
        return result(
            "no access",
            (
                "You asked for access and the request is awaiting review by the authors; "
                f"check its state on {url}."
                if pending
                else f"You are logged in, but this account has no access yet: request it on {url} "
                "(approval can take from minutes to days)."
            ),
        )
    except RepositoryNotFoundError:
        hint = "" if logged_in else f" If it is private, log in first: {LOGIN_HOW}."
        return result(
            "not found",
            f"No such repository, or it is private: check the id on {constants.ENDPOINT}.{hint}",
        )
    except HfHubHTTPError as err:
        code = err.response.status_code if err.response is not None else None
        if code == 401:
            if logged_in:
                return result(
                    "not logged in",
                    f"The Hub rejected your saved token (expired or revoked): {LOGIN_HOW} again.",
                )
            return result("not logged in", f"The Hub asks you to log in: {LOGIN_HOW}.")
        return result("error", f"The Hub answered HTTP {code}; try again later.")
    except _network_errors() as err:
        return result(
            "offline",
            f"The Hub could not be reached ({type(err).__name__}): check your connection or "
            "proxy, or set HF_HUB_OFFLINE=1 to work from the cache and stand-ins.",
        )
    if logged_in:
        return result("ok", "You can download it (your login has access).")
    return result("ok", "You can download it (a public repository; no login needed).")
