"""The Hub's address: what huggingface_hub holds (``HF_ENDPOINT``, read once, at import), and
whether anything can be sent to it."""

from __future__ import annotations

from course_utils import settings
from course_utils.hub.errors import InvalidEndpointError


def endpoint() -> str:
    """The Hub this process talks to (``HF_ENDPOINT``, default https://huggingface.co)."""
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def check_endpoint() -> str:
    """The endpoint, or :class:`InvalidEndpointError` when ``HF_ENDPOINT`` cannot work (no
    ``http://``, a space, a port outside 1-65535); huggingface_hub itself then fails on import
    with a bare ``ValueError``, so this runs before anything imports it further."""
    from huggingface_hub import constants

    problem = settings.endpoint_problem(constants.ENDPOINT)
    if problem is None:
        return endpoint()
    raise InvalidEndpointError(
        f"HF_ENDPOINT={constants.ENDPOINT!r} cannot be used as the Hub's address: {problem}. "
        "The Hugging Face libraries read it once, when they are imported: fix it (or unset it to "
        f"use {settings.DEFAULT_ENDPOINT}), then restart Python (in Jupyter: restart the kernel)"
    )
