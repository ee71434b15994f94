"""Every setting the course reads from the environment, in one place.

| variable | meaning |
| --- | --- |
| ``HF_HUB_OFFLINE`` | huggingface_hub's own switch, read once when it is first imported (the course asks
  huggingface_hub: :func:`course_utils.hub.policy.offline_mode`); a value it does not read as on
  or off is reported by :func:`ignored_offline_value` |
| ``HF_ENDPOINT`` | huggingface_hub's Hub address, read when it is first imported; the course checks
  what it holds (:func:`endpoint_problem`) |
| ``COURSE_FORCE_STANDINS`` | use local stand-ins even with a network (preview what CI runs) |
| ``COURSE_ALLOW_TOO_LARGE`` | load models the memory check refuses |
| ``COURSE_CACHE`` | where stand-ins are built (default ``~/.cache/hf-course``) |
| ``COURSE_DEVICE`` | the device to use (``cuda``, ``cuda:1``, ``mps``, ``xpu``, ``cpu``) |
| ``COURSE_HUB_TIMEOUT`` | seconds one whole answer from the Hub may take, in all (default:
  huggingface_hub's ``HF_HUB_ETAG_TIMEOUT``, itself 10 by default); a file download instead must
  keep a minimum rate (:mod:`course_utils.hub.transport`) |

Switches accept ``1``, ``true``, ``yes`` and ``on`` (any case); anything else is off.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.errors import CourseError

FORCE_STANDINS_VAR = "COURSE_FORCE_STANDINS"
ALLOW_TOO_LARGE_VAR = "COURSE_ALLOW_TOO_LARGE"
CACHE_VAR = "COURSE_CACHE"
DEVICE_VAR = "COURSE_DEVICE"
HUB_TIMEOUT_VAR = "COURSE_HUB_TIMEOUT"
TRUTHY = frozenset({"1", "true", "yes", "on"})
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # huggingface_hub reads them so
CLEARLY_OFF = frozenset({"", "0", "false", "no", "off"})
DEFAULT_ENDPOINT = "https://huggingface.co"


class SettingError(CourseError, ValueError):
    """An environment variable with a value the course cannot use."""


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value."""
    return os.environ.get(name, "").strip().lower() in TRUTHY


def force_standins() -> bool:
    """True when the course should use stand-ins even with a network."""
    return env_flag(FORCE_STANDINS_VAR)


def allow_too_large() -> bool:
    """True when the memory check should warn but not refuse."""
    return env_flag(ALLOW_TOO_LARGE_VAR)


def cache_root() -> Path:
    """The course's own cache folder: ``$COURSE_CACHE`` or ``~/.cache/hf-course``."""
    value = os.environ.get(CACHE_VAR, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "hf-course"


def cache_root_origin() -> str:
    """What chose :func:`cache_root`, for messages about that folder."""
    if os.environ.get(CACHE_VAR, "").strip():
        return f"{CACHE_VAR}={os.environ[CACHE_VAR].strip()}"
    return f"the default (~/.cache/hf-course; set {CACHE_VAR} to use another folder)"


def hub_timeout() -> float:
    """Seconds to wait for one answer from the Hub: ``$COURSE_HUB_TIMEOUT``, else what
    huggingface_hub waits for a file's metadata (``HF_HUB_ETAG_TIMEOUT``, 10 by default)."""
    value = os.environ.get(HUB_TIMEOUT_VAR, "").strip()
    if not value:
        from huggingface_hub import constants

        return float(constants.HF_HUB_ETAG_TIMEOUT)
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:
        raise SettingError(
            f"{HUB_TIMEOUT_VAR}={value!r} is not a number of seconds between 0 and 3600: set it "
            f"to e.g. 10, or unset it (then HF_HUB_ETAG_TIMEOUT applies, 10 s by default)"
        )
    return seconds


def device_override() -> str:
    """The device named by ``COURSE_DEVICE`` (empty when unset)."""
    return os.environ.get(DEVICE_VAR, "").strip()


def ignored_offline_value() -> tuple[str, str] | None:
    """``(variable, value)`` when the offline switch holds a value that huggingface_hub reads
    neither as on (``1``, ``true``, ``yes``, ``on``, any case) nor as a plain off (``0``,
    ``false``, ``no``, ``off``): ``"true "``, ``" 1"`` or ``"2"`` mean *online* to every Hugging
    Face library, which a learner who set it does not expect. ``None`` otherwise."""
    from huggingface_hub.constants import ENV_VARS_TRUE_VALUES

    # huggingface_hub: HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE when that is empty or unset.
    name = next((n for n in OFFLINE_VARS if os.environ.get(n)), None)
    if name is None:
        return None
    value = os.environ[name]
    if value.upper() in ENV_VARS_TRUE_VALUES or value.lower() in CLEARLY_OFF:
        return None
    return name, value


def _is_local(host: str) -> bool:
    return host in ("localhost", "::1") or host.replace(".", "").isdigit()


def endpoint_problem(value: str) -> str | None:
    """What is wrong with a Hub address (``HF_ENDPOINT``) and how to write it instead, or
    ``None`` when it is a usable http(s) URL. Nothing is sent."""
    from urllib.parse import urlsplit

    example = f"e.g. HF_ENDPOINT=https://hf-mirror.com, or unset it to use {DEFAULT_ENDPOINT}"
    if any(c.isspace() for c in value):
        fixed = "".join(value.split())
        return f"it contains spaces: write it without them, HF_ENDPOINT={fixed}"
    text = value
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        if "://" in text:
            return f"only http:// and https:// addresses work ({example})"
        host = text.split("/", 1)[0].rsplit(":", 1)[0]
        scheme = "http" if _is_local(host) else "https"
        return f"it does not start with http:// or https://: write HF_ENDPOINT={scheme}://{text}"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return (
            f"its port ({parts.netloc.rsplit(':', 1)[-1]}) is not a number between 1 and 65535 "
            f"(e.g. HF_ENDPOINT={parts.scheme}://{parts.hostname or '127.0.0.1'}:8080)"
        )
    if not parts.hostname:
        return f"it names no host ({example})"
    return None
