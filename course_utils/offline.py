"""Whether this process should use the Hub or local stand-ins.

``HF_HUB_OFFLINE=1`` is read by huggingface_hub once, when it is first imported; we read the
same constant so the two never disagree. ``COURSE_FORCE_STANDINS=1`` asks for stand-ins even
online (to preview what CI runs).
"""

from __future__ import annotations

import os

TRUTHY = {"1", "true", "yes", "on"}


def offline_mode() -> bool:
    """True when huggingface_hub was told not to use the network."""
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return os.environ.get("HF_HUB_OFFLINE", "").lower() in TRUTHY


def force_standins() -> bool:
    """True when the course should use stand-ins even with a network."""
    return os.environ.get("COURSE_FORCE_STANDINS", "").lower() in TRUTHY
