"""Every setting the course reads from the environment, in one place.

| variable | meaning |
| --- | --- |
| ``HF_HUB_OFFLINE`` | huggingface_hub's own switch, read once when it is first imported (the course asks
  huggingface_hub: :func:`course_utils.hub.policy.offline_mode`) |
| ``COURSE_FORCE_STANDINS`` | use local stand-ins even with a network (preview what CI runs) |
| ``COURSE_ALLOW_TOO_LARGE`` | load models the memory check refuses |
| ``COURSE_CACHE`` | where stand-ins are built (default ``~/.cache/hf-course``) |
| ``COURSE_DEVICE`` | the device to use (``cuda``, ``cuda:1``, ``mps``, ``xpu``, ``cpu``) |
| ``COURSE_HUB_TIMEOUT`` | seconds to wait for one answer from the Hub (default: huggingface_hub's
  ``HF_HUB_ETAG_TIMEOUT``, itself 10 by default; ``HF_HUB_DOWNLOAD_TIMEOUT`` bounds downloads) |

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
