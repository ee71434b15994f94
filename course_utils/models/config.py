"""The one step from whatever names a model to what the memory check needs: its config, the dtype
its weights are stored in, and a label (:func:`describe`), without weights.

Catalog models (and their stand-ins) use the real checkpoint's stored numbers, so this works
offline; a folder or a config.json path is read from disk; any other Hub id fetches only its
config.json (a few kB) once the Hub has answered that the repository exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from course_utils import catalog
from course_utils.errors import CourseError, first_line, one_paragraph
from course_utils.hub import client as hub
from course_utils.hub import policy
from course_utils.models.resolve import Checkpoint, ModelName, identify

EXPECTED = (
    "a Hub id such as 'distilbert/distilgpt2', a catalog name, a local folder or config.json, "
    "a transformers config, or a config dict"
)


class ConfigUnavailableError(CourseError, RuntimeError):
    """No config could be found for a model (offline with nothing cached, or a damaged file)."""


@dataclass(frozen=True)
class ModelSpec:
    """What the memory check needs about one model: its ``config`` (``config.dtype`` is the
    stored dtype when known), a ``label`` for reports, and whether it is ``local`` (a folder or
    file on this machine, whose errors are the learner's to fix)."""

    config: object
    label: str
    local: bool = False


def config_from_dict(data: dict):
    from huggingface_hub.errors import StrictDataclassError
    from transformers import AutoConfig

    data = dict(data)
    model_type = data.pop("model_type", None)
    if model_type is None:
        raise ConfigUnavailableError(
            "config has no 'model_type'; is it a transformers config.json?"
        )
    try:
        return AutoConfig.for_model(model_type, **data)
    except (ValueError, TypeError, StrictDataclassError) as err:
        # transformers checks each field's type (hidden_size must be an int...).
        raise ConfigUnavailableError(
            f"transformers cannot build a config of type {model_type!r} "
            f"({one_paragraph(err)}): fix that field in config.json (or in the dict you passed)"
        ) from None


def describe(model) -> ModelSpec:
    """Config, stored dtype and label of a name, folder, config.json path, config, dict,
    :class:`ModelName` or :class:`Checkpoint`; :class:`ConfigUnavailableError` if none is found."""
    from transformers import PretrainedConfig

    if isinstance(model, PretrainedConfig):
        return ModelSpec(model, getattr(model, "_name_or_path", "") or type(model).__name__)
    if isinstance(model, dict):
        config = config_from_dict(model)
        return ModelSpec(config, str(model.get("_name_or_path") or type(config).__name__))
    name = model.name if isinstance(model, Checkpoint) else _identify(model)
    # A name as the learner wrote it is the label; a resolved one is labelled by the real model.
    given = str(os.fspath(model)).strip() if isinstance(model, str | os.PathLike) else None
    if name.entry is not None and name.entry.config:
        label = given or name.real_name
        return ModelSpec(_stored_config(name.entry), label, local=name.folder is not None)
    if name.folder is not None:
        return ModelSpec(_read_folder(name.folder), given or name.text, local=True)
    path = Path(name.text).expanduser()
    if path.is_file():
        return ModelSpec(config_from_dict(_read_json(path)), name.text, local=True)
    return ModelSpec(_config_from_hub(name.text), name.text)


def _identify(model) -> ModelName:
    if isinstance(model, ModelName):
        return model
    if not isinstance(model, str | os.PathLike) or not str(os.fspath(model)).strip():
        raise ConfigUnavailableError(f"expected {EXPECTED}; got {model!r}")
    text = str(os.fspath(model)).strip()
    if Path(text).expanduser().is_file() and text.endswith(".json"):
        return ModelName(text)  # a config.json file (identify() wants model folders)
    try:
        return identify(text)
    except CourseError as err:
        raise ConfigUnavailableError(f"{err}; or pass {EXPECTED}") from None


def _stored_config(entry: catalog.CatalogEntry):
    config = config_from_dict(entry.stored_config())
    config.dtype = entry.dtype  # what from_pretrained(dtype="auto") loads
    return config


def _read_folder(folder: Path):
    path = folder / "config.json"
    if not path.is_file():
        raise ConfigUnavailableError(
            f"the folder {folder} has no config.json: pass a model folder (what "
            "save_pretrained() writes) or a config.json file"
        )
    return config_from_dict(_read_json(path))


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


def _config_from_hub(name: str):
    """The config.json of a Hub model outside the catalog (or from the HF cache offline).

    Online, one bounded request first tells a missing repository from a Hub that does not
    answer (once per process: locate() asks the same); its errors are the Hub's own.
    """
    from transformers import AutoConfig

    offline = policy.offline_mode()
    if not offline:
        hub.check_model_exists(name)
    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - turned into one clear message
        hint = (
            "You are offline (HF_HUB_OFFLINE=1) and its config is not in the HF cache: go "
            "online once, or pass a local folder / config.json."
            if offline
            else f"The repository exists, but its config could not be read ({first_line(err)})."
        )
        raise ConfigUnavailableError(f"Could not get a config for {name!r}. {hint}") from None
