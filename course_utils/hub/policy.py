"""Where weights and data come from: the one decision, for models and datasets alike.

- online: the Hub (``HF_ENDPOINT``);
- offline (``HF_HUB_OFFLINE=1``): the HF cache when it holds the real one, else a local stand-in
  (a model) or the course's fixture (a dataset), announced by a notice;
- ``COURSE_FORCE_STANDINS=1``: the stand-in or fixture, online or not, even when the real one is
  cached (to preview what CI runs).

This is the only code that reads the offline settings; everything else asks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_utils import settings
from course_utils.hub import cache
from course_utils.hub.endpoint import check_endpoint


@dataclass(frozen=True)
class Source:
    """Where one model or dataset comes from: ``"hub"``, ``"cache"`` or ``"local"`` (a stand-in
    or fixture), and why not the Hub (``reason``: ``"offline"`` or ``"COURSE_FORCE_STANDINS=1"``)."""

    origin: str
    reason: str | None = None

    @property
    def is_local(self) -> bool:
        return self.origin == "local"


def offline_mode() -> bool:
    """True when huggingface_hub was told not to use the network (``HF_HUB_OFFLINE=1``).

    huggingface_hub reads the variable once, at import; asking it means the course and the
    library never disagree.
    """
    from huggingface_hub import is_offline_mode

    return bool(is_offline_mode())


def ignored_offline_value() -> tuple[str, str] | None:
    """``(variable, value)`` when ``HF_HUB_OFFLINE`` holds a value the libraries ignore (so
    they are online), e.g. ``"true "`` or ``"2"``; the course agrees with them and says so."""
    return settings.ignored_offline_value()


def offline_advice() -> str:
    """How to switch offline: ``HF_HUB_OFFLINE=1``, and what is wrong with the value set now."""
    ignored = ignored_offline_value()
    if ignored is None:
        return "HF_HUB_OFFLINE=1"
    name, value = ignored
    return (
        f"HF_HUB_OFFLINE=1 (exactly 1: {name}={value!r} is set now, which the Hugging Face "
        "libraries ignore, so they are online)"
    )


def force_standins() -> bool:
    """True when ``COURSE_FORCE_STANDINS=1`` asks for stand-ins and fixtures even online."""
    return settings.force_standins()


def forced_reason() -> str:
    return f"{settings.FORCE_STANDINS_VAR}=1"


def decide(repo_id: str, kind: str = "model", subset: str | None = None) -> Source:
    """Where ``repo_id`` (a model, or a dataset ``subset``) comes from here and now.

    An unusable ``HF_ENDPOINT`` is an error first: the libraries cannot even be imported with
    it, online or not."""
    check_endpoint()
    if force_standins():
        return Source("local", forced_reason())
    if not offline_mode():
        return Source("hub")
    if kind == "dataset":
        cached = cache.dataset_is_cached(repo_id, subset)
    else:
        cached = cache.model_is_cached(repo_id)
    return Source("cache" if cached else "local", "offline")
