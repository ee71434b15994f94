"""Decide where a model's weights come from: the Hub, the HF cache, a folder or a stand-in.

Notebooks write ``checkpoint = resolve_checkpoint("distilbert/distilgpt2")`` and then call the
real API (``pipeline(..., model=checkpoint)``, ``AutoModel.from_pretrained(checkpoint)``).
Online that string is the Hub id; offline it is the Hub id when the real weights are already
cached, otherwise the folder of a small local stand-in, announced by a one-line notice.

Inside the course, :func:`locate` returns a :class:`Checkpoint` that remembers the decision and
the catalog entry, so the memory check and the loaders never look the name up again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from course_utils import catalog
from course_utils.errors import CourseError
from course_utils.hub import client as hub
from course_utils.hub import policy
from course_utils.standins import store as standins


class CheckpointError(CourseError, ValueError):
    """A model name that cannot be resolved; the message says what to do next."""


@dataclass(frozen=True)
class ModelName:
    """A model name as understood, before deciding where its weights come from (no I/O).

    ``text`` is the canonical Hub id for catalog names, else the name or folder as given;
    ``entry`` is the catalog entry of the *real* model (also for a stand-in's folder), ``None``
    outside the catalog; ``folder`` is set when the name is a local folder.
    """

    text: str
    entry: catalog.CatalogEntry | None = None
    folder: Path | None = None

    @property
    def real_name(self) -> str:
        """The real model: the catalog Hub id, else the name as given."""
        return self.entry.hub_id if self.entry else self.text


@dataclass(frozen=True)
class Checkpoint:
    """Where one model's weights come from, decided once.

    ``source`` is what ``from_pretrained`` gets; ``origin`` is ``"hub"``, ``"cache"``,
    ``"standin"`` or ``"folder"``; ``notice`` is the line to show when a stand-in replaced the
    real model.
    """

    name: ModelName
    source: str
    origin: str
    notice: str | None = None

    @property
    def entry(self) -> catalog.CatalogEntry | None:
        return self.name.entry

    @property
    def real_name(self) -> str:
        return self.name.real_name

    @property
    def is_standin(self) -> bool:
        return self.origin == "standin"

    def __str__(self) -> str:
        return self.source

    def __fspath__(self) -> str:
        return self.source


def resolve_checkpoint(name: str, *, announce: bool = True) -> str:
    """A string for ``from_pretrained`` / ``pipeline(model=...)`` that works here and now.

    - A local folder that save_pretrained() wrote is returned unchanged; a path to a missing
      folder, a folder without config.json (``"~"``, ``"."``, an empty one) or with one that is
      not a JSON object is an error that names it. A tokenizer's folder (tokenizer files, no
      config.json) is returned too, for ``AutoTokenizer``.
    - Online: the canonical Hub id (catalog aliases such as ``"distilgpt2"`` are mapped to it);
      a name outside the catalog is checked on the Hub first, so a typo is an error with a
      did-you-mean. A Hub that does not answer within ``COURSE_HUB_TIMEOUT`` seconds (default
      10) is an error that says how long it waited and how to go on (a mirror through
      ``HF_ENDPOINT``, or ``HF_HUB_OFFLINE=1``), never a silent substitute.
    - Offline (``HF_HUB_OFFLINE=1``): the Hub id if the real weights and tokenizer are in the
      HF cache, else the catalog model's stand-in folder (built on first use), with a one-line
      notice naming both unless ``announce=False``.
    - ``COURSE_FORCE_STANDINS=1``: the stand-in, online or not, even when the real weights are
      cached (:mod:`course_utils.hub.policy` decides this for models and datasets alike).
    """
    checkpoint = locate(name)
    if announce and checkpoint.notice:
        print(checkpoint.notice)
    return checkpoint.source


def identify(name: str | os.PathLike | ModelName) -> ModelName:
    """Understand a model name without network or building anything."""
    if isinstance(name, ModelName):
        return name
    if not isinstance(name, str | os.PathLike) or not str(name).strip():
        raise CheckpointError(
            f"expected a model name such as 'distilbert/distilgpt2', got {name!r}"
        )
    text = str(os.fspath(name)).strip()
    folder = Path(text).expanduser()
    if folder.is_dir():
        # A stand-in's folder still knows which real model it stands for.
        marker = standins.read_marker(folder) or {}
        entry = catalog.find(marker["hub_id"]) if marker.get("hub_id") else None
        return ModelName(text, entry, folder)
    if folder.exists():
        raise CheckpointError(
            f"{text} is a file, not a model folder: pass the folder that holds config.json and "
            "the weights (what save_pretrained() writes), or a Hub id"
        )
    if looks_like_path(text):
        where = "" if folder.is_absolute() else f" (relative to {Path.cwd()})"
        raise CheckpointError(
            f"the folder {text} does not exist{where}: check the path, or pass a Hub id such as "
            "'distilbert/distilgpt2'"
        )
    entry = catalog.find(text)
    return ModelName(entry.hub_id if entry else text, entry)


def looks_like_path(text: str) -> bool:
    """Whether a name can only be a local path (a Hub id is ``name`` or ``namespace/name``)."""
    return (
        text.startswith(("/", "./", "../", "~", ".\\"))
        or text in (".", "..")
        or "\\" in text
        or len([part for part in text.split("/") if part]) > 2
    )


def locate(name: str | os.PathLike | ModelName | Checkpoint) -> Checkpoint:
    """Decide where the weights of ``name`` come from (see :func:`resolve_checkpoint`).

    Prints nothing; the returned checkpoint's ``notice`` says when a stand-in is used.
    """
    if isinstance(name, Checkpoint):
        return name
    model = identify(name)
    if model.folder is not None:
        _check_model_folder(model)
        return Checkpoint(model, model.text, "standin" if model.entry else "folder")
    source = policy.decide(model.text)
    if source.origin == "hub":
        if model.entry is None:
            hub.check_model_exists(model.text)  # a typo is an error with a did-you-mean
        else:
            hub.ensure_reachable(f"{model.text} cannot be downloaded", repo_id=model.text)
        return Checkpoint(model, model.text, "hub")
    return _locate_locally(model, source)


# A folder that save_pretrained() wrote: a model's (config.json) or a tokenizer's alone.
_TOKENIZER_FOLDER_FILES = ("tokenizer_config.json", "tokenizer.json")


def _check_model_folder(model: ModelName) -> None:
    """A folder passed as a model must be one that save_pretrained() wrote: its config.json a
    JSON object (or, for a tokenizer saved on its own, the tokenizer's files)."""
    folder = model.folder
    path = folder / "config.json"
    if not path.is_file():
        if any((folder / name).is_file() for name in _TOKENIZER_FOLDER_FILES):
            return  # tokenizer.save_pretrained(folder): AutoTokenizer loads it
        shown = (
            model.text if Path(model.text).is_absolute() else f"{model.text} ({folder.resolve()})"
        )
        hub_hint = (
            f" If you meant the Hub model {model.text!r}, run from another folder or rename "
            "this one: a local folder of that name comes first."
            if not looks_like_path(model.text)
            else ""
        )
        raise CheckpointError(
            f"{shown} is a folder but not a model folder: it has no config.json. Pass the "
            "folder that save_pretrained() wrote (config.json, model.safetensors and the "
            f"tokenizer's files), or a Hub id such as 'distilbert/distilgpt2'.{hub_hint}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(
            f"cannot read {path} ({type(err).__name__}: {err}): the model folder is damaged; "
            "save the model again with save_pretrained(), or download it again"
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(
            f"{path} holds a JSON {type(data).__name__}, not the object of settings that "
            "save_pretrained() writes: the model folder is damaged; save the model again "
            "with save_pretrained(), or download it again"
        )


def _locate_locally(model: ModelName, source: policy.Source) -> Checkpoint:
    entry = model.entry
    if entry is not None and entry.memory_only:
        raise CheckpointError(
            f"{entry.hub_id} is far too large for this course and has no local stand-in; it is "
            f"in the catalog for memory checks only: course_utils.estimate_memory("
            f"{entry.hub_id!r}) works offline"
        )
    if source.origin == "cache":
        return Checkpoint(model, model.text, "cache")
    if entry is None:
        where = "is not in the HF cache" if source.reason == "offline" else "has no stand-in"
        raise CheckpointError(
            f"{source.reason} and {model.text} {where}: go online once to download it, or use "
            f"a catalog model (did you mean {catalog.did_you_mean(model.text)}?)"
        )
    folder = standins.ensure_standin(entry.hub_id)
    notice = standin_notice(entry, folder, source.reason)
    return Checkpoint(model, str(folder), "standin", notice=notice)


def standin_notice(entry: catalog.CatalogEntry, folder: Path | str, reason: str) -> str:
    """The one-line notice shown when a stand-in replaces a real checkpoint."""
    note = f": {entry.standin.note}" if entry.standin and entry.standin.note else ""
    return (
        f"{reason}: using a local stand-in for {entry.hub_id} ({folder}){note}; its outputs are "
        "not the real model's"
    )
