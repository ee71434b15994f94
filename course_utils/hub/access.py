"""What the answer to an access check means: the statuses, and what to do about each.

:func:`course_utils.hub.client.check_repo_access` makes the request (every Hub call lives in
:mod:`course_utils.hub.client`); this module turns the answer into an :class:`AccessResult` whose
message says what to do next, and checks a repository id before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_utils.errors import CourseError

LOGIN_HOW = (
    "run `hf auth login` in a terminal or "
    "`from huggingface_hub import notebook_login; notebook_login()`"
)
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


class RepoIdError(CourseError, ValueError):
    """A repository id or type that cannot be checked; nothing was sent."""


def validate_repo_id(repo_id: str, repo_type: str) -> None:
    """Raise :class:`RepoIdError` unless ``repo_id`` is a ``namespace/name`` id of a known type."""
    from huggingface_hub.utils import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hf_validate

    if repo_type not in ("model", "dataset", "space"):
        raise RepoIdError(f"repo_type={repo_type!r}: use 'model', 'dataset' or 'space'.")
    example = "write it as 'namespace/name', e.g. 'meta-llama/Meta-Llama-3-8B'"
    try:
        hf_validate(repo_id)
    except HFValidationError:
        raise RepoIdError(
            f"{repo_id!r} is not a repository id: {example} (copy it from the model page's title)."
        ) from None
    if "/" not in repo_id:
        raise RepoIdError(f"{repo_id!r} has no namespace: {example}.")


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
