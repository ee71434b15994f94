"""A model's config (its architecture numbers) from whatever names the model, without weights.

Catalog models (and their stand-ins) use the real checkpoint's stored numbers, so this works
offline; a folder or a config.json path is read from disk; any other Hub id fetches only its
config.json (a few kB) after one bounded request has checked that it exists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from course_utils import catalog, settings
from course_utils.errors import CourseError
from course_utils.hub import client as hub
from course_utils.models.resolve import Checkpoint, ModelName, looks_like_path

EXPECTED = (
    "a Hub id such as 'distilbert/distilgpt2', a catalog name, a local folder or config.json, "
    "a transformers config, or a config dict"
)


class ConfigUnavailableError(CourseError, RuntimeError):
    """No config could be found for a model name (offline with nothing cached, or a bad name)."""


def config_from_dict(data: dict):
    from transformers import AutoConfig

    data = dict(data)
    model_type = data.pop("model_type", None)
    if model_type is None:
        raise ConfigUnavailableError(
            "config has no 'model_type'; is it a transformers config.json?"
        )
    try:
        return AutoConfig.for_model(model_type, **data)
    except (ValueError, TypeError) as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise ConfigUnavailableError(
            f"transformers cannot build a config of type {model_type!r} ({first})"
        ) from None


def catalog_entry(model) -> catalog.CatalogEntry | None:
    """The catalog entry of the real model behind ``model``, if there is one."""
    if isinstance(model, Checkpoint | ModelName):
        return model.entry
    if isinstance(model, str):
        return catalog.find(model)
    return None


def load_config(model):
    """Turn a name, folder, config.json path, config, dict, ModelName or Checkpoint into a config."""
    from transformers import PretrainedConfig

    if isinstance(model, PretrainedConfig):
        return model
    if isinstance(model, dict):
        return config_from_dict(model)
    checked = isinstance(model, Checkpoint) and model.origin == "hub"  # locate() asked the Hub
    if isinstance(model, Checkpoint | ModelName):
        if model.entry is not None and model.entry.config:
            return config_from_dict(model.entry.stored_config())
        model = model.source if isinstance(model, Checkpoint) else model.text
    if not isinstance(model, str | os.PathLike) or not str(os.fspath(model)).strip():
        raise ConfigUnavailableError(f"expected {EXPECTED}; got {model!r}")
    path = Path(os.fspath(model)).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigUnavailableError(
                f"the folder {path} has no config.json: pass a model folder (what "
                "save_pretrained() writes) or a config.json file"
            )
        path = path / "config.json"
    if path.is_file():
        return config_from_dict(_read_json(path))
    name = str(os.fspath(model)).strip()
    entry = catalog.find(name)
    if entry is not None and entry.config:
        return config_from_dict(entry.stored_config())
    if isinstance(model, os.PathLike) or looks_like_path(name):
        raise ConfigUnavailableError(f"{name} does not exist: check the path, or pass {EXPECTED}")
    return _config_from_hub(name, checked)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigUnavailableError(
            f"cannot read {path} ({type(err).__name__}: {err}): repair it, or save the model "
            "again with save_pretrained()"
        ) from None
    if not isinstance(data, dict):
        raise ConfigUnavailableError(f"{path} holds no JSON object: is it a config.json?")
    return data


def _config_from_hub(name: str, checked: bool = False):
    """The config.json of a Hub model outside the catalog (or from the HF cache offline).

    Online, one bounded request first tells a missing repository from a Hub that does not
    answer (``checked``: that request was made already).
    """
    from transformers import AutoConfig

    repo_id = catalog.hub_id(name)
    if not checked and not settings.offline_mode():
        try:
            hub.check_model_exists(repo_id)
        except (hub.RepoNotFoundError, hub.InvalidRepoIdError) as err:
            raise ConfigUnavailableError(
                f"Could not get a config for {name!r}: {err}. Check the spelling (did you mean "
                f"{catalog.did_you_mean(name)}?) or pass a local folder / config.json."
            ) from None
        except hub.HubError as err:
            raise ConfigUnavailableError(f"Could not get a config for {name!r}: {err}") from None
    try:
        return AutoConfig.from_pretrained(repo_id, trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - turned into one clear message
        first = (str(err).strip().splitlines() or [""])[0]
        hint = (
            "You are offline (HF_HUB_OFFLINE=1) and its config is not in the HF cache: go "
            "online once, or pass a local folder / config.json."
            if settings.offline_mode()
            else f"The repository exists, but its config could not be read ({first})."
        )
        raise ConfigUnavailableError(f"Could not get a config for {name!r}. {hint}") from err


def stored_dtype(model, config) -> str | None:
    """The dtype a checkpoint's weights are stored in (what ``dtype="auto"`` loads), if known."""
    entry = catalog_entry(model)
    if entry is not None:
        return entry.dtype
    value = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    return str(value).removeprefix("torch.") if value else None
