"""Every setting the course reads from the environment, in one place.

| variable | meaning |
| --- | --- |
| ``HF_HUB_OFFLINE`` | huggingface_hub's own switch, read once when it is first imported |
| ``COURSE_FORCE_STANDINS`` | use local stand-ins even with a network (preview what CI runs) |
| ``COURSE_ALLOW_TOO_LARGE`` | load models the memory check refuses |
| ``COURSE_CACHE`` | where stand-ins are built (default ``~/.cache/hf-course``) |
| ``COURSE_DEVICE`` | the device to use (``cuda``, ``cuda:1``, ``mps``, ``xpu``, ``cpu``) |
| ``COURSE_HUB_TIMEOUT`` | seconds to wait for one answer from the Hub (default 10) |

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
DEFAULT_HUB_TIMEOUT = 10.0
TRUTHY = frozenset({"1", "true", "yes", "on"})

CHAPTERS = (0, 1, 2, 3)
EDITIONS = ("en", "zh-CN")  # the English notebooks, and notebooks/zh-CN/


class SettingError(CourseError, ValueError):
    """An environment variable with a value the course cannot use."""


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value."""
    return os.environ.get(name, "").strip().lower() in TRUTHY


def offline_mode() -> bool:
    """True when huggingface_hub was told not to use the network.

    ``HF_HUB_OFFLINE`` is read by huggingface_hub once, at import; reading its constant means
    the course and the library never disagree.
    """
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def force_standins() -> bool:
    """True when the course should use stand-ins even with a network."""
    return env_flag(FORCE_STANDINS_VAR)


def use_local_models() -> bool:
    """Offline, or stand-ins forced: weights come from the cache or from stand-ins."""
    return offline_mode() or force_standins()


def local_reason() -> str:
    """Why local models are used, as the notices say it."""
    return "offline" if offline_mode() else f"{FORCE_STANDINS_VAR}=1"


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
    """Seconds to wait for one answer from the Hub: ``$COURSE_HUB_TIMEOUT`` or 10."""
    value = os.environ.get(HUB_TIMEOUT_VAR, "").strip()
    if not value:
        return DEFAULT_HUB_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:
        raise SettingError(
            f"{HUB_TIMEOUT_VAR}={value!r} is not a number of seconds between 0 and 3600: set it "
            f"to e.g. 10 (the default), or unset it"
        )
    return seconds


def device_override() -> str:
    """The device named by ``COURSE_DEVICE`` (empty when unset)."""
    return os.environ.get(DEVICE_VAR, "").strip()
