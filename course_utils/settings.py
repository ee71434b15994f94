"""Every setting the course reads from the environment, in one place.

| variable | meaning |
| --- | --- |
| ``HF_HUB_OFFLINE`` | huggingface_hub's own switch, read once when it is first imported |
| ``COURSE_FORCE_STANDINS`` | use local stand-ins even with a network (preview what CI runs) |
| ``COURSE_ALLOW_TOO_LARGE`` | load models the memory check refuses |
| ``COURSE_CACHE`` | where stand-ins are built (default ``~/.cache/hf-course``) |
| ``COURSE_DEVICE`` | the device to use (``cuda``, ``cuda:1``, ``mps``, ``xpu``, ``cpu``) |

Switches accept ``1``, ``true``, ``yes`` and ``on`` (any case); anything else is off.
"""

from __future__ import annotations

import os
from pathlib import Path

FORCE_STANDINS_VAR = "COURSE_FORCE_STANDINS"
ALLOW_TOO_LARGE_VAR = "COURSE_ALLOW_TOO_LARGE"
CACHE_VAR = "COURSE_CACHE"
DEVICE_VAR = "COURSE_DEVICE"
TRUTHY = frozenset({"1", "true", "yes", "on"})

CHAPTERS = (0, 1, 2, 3)


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


def device_override() -> str:
    """The device named by ``COURSE_DEVICE`` (empty when unset)."""
    return os.environ.get(DEVICE_VAR, "").strip()
