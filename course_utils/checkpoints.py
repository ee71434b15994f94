"""Decide where a model's weights come from: the Hub, the HF cache, or a local stand-in.

Notebooks write ``checkpoint = resolve_checkpoint("distilbert/distilgpt2")`` and then call the
real API (``pipeline(..., model=checkpoint)``, ``AutoModel.from_pretrained(checkpoint)``).
Online that string is the Hub id; offline it is the Hub id when the real weights are already
cached, otherwise the folder of a small local stand-in, announced by a one-line notice.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils import catalog, standins
from course_utils.offline import force_standins, offline_mode

# Any one of these in the HF cache means the weights of a repository were downloaded.
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class CheckpointError(ValueError):
    """A model name that cannot be resolved; the message says what to do next."""


def resolve_checkpoint(name: str, *, announce: bool = True) -> str:
    """A string for ``from_pretrained`` / ``pipeline(model=...)`` that works here and now.

    - A local folder is returned unchanged.
    - Online: the canonical Hub id (catalog aliases such as ``"distilgpt2"`` are mapped to it);
      a name outside the catalog is checked on the Hub first, so a typo is an error with a
      did-you-mean, and an unreachable Hub is an error, never a silent substitute.
    - Offline (``HF_HUB_OFFLINE=1``) or with ``COURSE_FORCE_STANDINS=1``: the Hub id if the real
      weights are in the HF cache, else the catalog model's stand-in folder (built on first
      use), with a one-line notice naming both unless ``announce=False``.
    """
    if not isinstance(name, str | os.PathLike) or not str(name).strip():
        raise CheckpointError(
            f"expected a model name such as 'distilbert/distilgpt2', got {name!r}"
        )
    name = str(name).strip()
    if Path(name).expanduser().is_dir():
        return name
    entry = catalog.find(name)
    hub_name = entry.hub_id if entry else name
    use_local = offline_mode() or force_standins()

    if not use_local:
        if entry is None:
            _check_on_hub(name)
        return hub_name

    if entry is not None and entry.memory_only:
        raise CheckpointError(
            f"{entry.hub_id} is far too large for this course and has no local stand-in; it is "
            f"in the catalog for memory checks only: course_utils.estimate_memory("
            f"{entry.hub_id!r}) works offline"
        )
    if is_cached(hub_name):
        return hub_name
    if entry is None:
        reason = "offline" if offline_mode() else "stand-ins are forced (COURSE_FORCE_STANDINS=1)"
        raise CheckpointError(
            f"{reason} and {name} is not in the HF cache: go online once to download it, or use "
            f"a catalog model (did you mean {catalog.did_you_mean(name)}?)"
        )
    try:
        folder = standins.ensure_standin(entry.hub_id)
    except standins.StandinUnavailableError as err:
        raise CheckpointError(str(err)) from None
    if announce:
        print(notice(entry.hub_id, folder))
    return str(folder)


def notice(hub_name: str, folder: Path | str) -> str:
    """The one-line notice shown when a stand-in replaces a real checkpoint."""
    why = "offline" if offline_mode() else "COURSE_FORCE_STANDINS=1"
    if hub_name == "google-bert/bert-base-uncased":
        what = "the real pretrained all-MiniLM-L6-v2 BERT (same vocabulary), a smaller model"
        return f"{why}: using a local stand-in for {hub_name} ({folder}): {what}; its outputs are not the real model's"
    return f"{why}: using a local stand-in for {hub_name} ({folder}); its outputs are not the real model's"


def is_cached(repo_id: str) -> bool:
    """True when the HF cache holds the config and weights of a Hub model (no network)."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        if not isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
            return False
        return any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in _WEIGHT_FILES)
    except HFValidationError:
        return False


def _check_on_hub(name: str) -> None:
    """Raise a clear CheckpointError unless ``name`` is a model repository on the Hub."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    try:
        HfApi().model_info(name)
    except GatedRepoError:
        return  # it exists; loading it needs access (see chapter 0 on gated repos)
    except RepositoryNotFoundError:
        raise CheckpointError(
            f"{name} was not found on the Hugging Face Hub (or it is private and you are not "
            f"logged in). Did you mean {catalog.did_you_mean(name)}?"
        ) from None
    except HFValidationError as err:
        raise CheckpointError(
            f"{name!r} is not a valid Hub id ({err}). Did you mean {catalog.did_you_mean(name)}?"
        ) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", "?")
        raise CheckpointError(
            f"the Hub answered HTTP {status} for {name}; try again later, or set "
            f"HF_HUB_OFFLINE=1 before starting Python to use cached models and local stand-ins"
        ) from None
    except Exception as err:
        if not _is_network_error(err):
            raise
        raise CheckpointError(
            f"the Hugging Face Hub is unreachable ({type(err).__name__}), so {name} cannot be "
            f"checked or downloaded; check your connection, or set HF_HUB_OFFLINE=1 before "
            f"starting Python to use cached models and local stand-ins"
        ) from None


def _is_network_error(err: BaseException) -> bool:
    if isinstance(err, OSError | TimeoutError):
        return True
    # httpx / requests transport errors (huggingface_hub's HTTP client) are not OSErrors.
    return any(
        cls.__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "requests", "urllib3"}
        for cls in type(err).__mro__
    )
