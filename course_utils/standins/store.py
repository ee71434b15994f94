"""Where offline stand-ins live: built on first use, checked, rebuilt when damaged.

A stand-in is a small local model in the family of a catalog checkpoint (see
:mod:`course_utils.standins.builders` for what is kept). It is built into
``$COURSE_CACHE/standins/<org>--<name>`` (default ``~/.cache/hf-course``) in a temporary folder
that is renamed into place when complete. A marker file records every file's size and SHA-256
and the builders' version, so a missing, damaged or outdated folder is rebuilt, never loaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

from course_utils import catalog, settings
from course_utils.errors import CourseError
from course_utils.hub.failures import is_disk_full
from course_utils.paths import UnwritableFolderError, writable_folder
from course_utils.standins import builders as standin_models
from course_utils.standins import tiny as tiny_models
from course_utils.standins import tokenizers as standin_tokenizers

TMP_PREFIX, TRASH_PREFIX = ".tmp-", ".trash-"
# A build folder older than this is a leftover even if its PID is alive again (a reused PID,
# another machine sharing the cache); a build takes seconds to a minute.
STALE_BUILD_SECONDS = 3600
STANDIN_VERSION = 1  # with a hash of the builders' code and the corpus: a change rebuilds
SEED = 0
MARKER = "standin.json"


class StandinUnavailableError(CourseError, RuntimeError):
    """The catalog name has no stand-in, or its ingredients are missing."""


def standins_root() -> Path:
    return settings.cache_root() / "standins"


def entry_for(name: str) -> catalog.CatalogEntry:
    """The catalog entry of a model that has a stand-in; a clear error otherwise."""
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


def standin_dir(name: str | catalog.CatalogEntry) -> Path:
    """The folder a catalog model's stand-in lives in (it may not be built yet)."""
    entry = name if isinstance(name, catalog.CatalogEntry) else entry_for(name)
    return standins_root() / entry.hub_id.replace("/", "--")


# --- the completion marker -------------------------------------------------------------------


@functools.cache
def build_version() -> str:
    """A hash of the builders' code and the training corpus: a change to either rebuilds."""
    digest = hashlib.sha256()
    for module in (standin_models, standin_tokenizers, tiny_models):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(standin_tokenizers.corpus_text().encode("utf-8"))
    return f"{STANDIN_VERSION}-{digest.hexdigest()[:12]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_marker(folder: Path, hub_id: str, seconds: float) -> None:
    files = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MARKER
    }
    marker = {
        "hub_id": hub_id,
        "version": build_version(),
        "seed": SEED,
        "build_seconds": round(seconds, 3),
        "files": files,
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True))


def read_marker(name: str | os.PathLike) -> dict | None:
    """The completion marker of a stand-in (a catalog name or a folder), or ``None``."""
    folder = Path(name) if Path(name).is_dir() else standin_dir(str(name))
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


# Folders whose hashes were checked in this process, keyed by their files' (size, mtime).
_verified: dict[str, tuple] = {}


def is_built(name: str) -> bool:
    """True when the stand-in folder is complete and matches its marker (sizes and hashes)."""
    folder = standin_dir(name)
    marker = read_marker(folder) if folder.is_dir() else None
    if not marker or marker.get("version") != build_version():
        return False
    expected = marker.get("files") or {}
    fingerprint = []
    for rel, info in sorted(expected.items()):
        try:
            stat = (folder / rel).stat()
        except OSError:
            return False
        if stat.st_size != info.get("size"):
            return False
        fingerprint.append((rel, stat.st_size, stat.st_mtime_ns))
    fingerprint = tuple(fingerprint)
    if _verified.get(str(folder)) == fingerprint:
        return True
    if any(_sha256(folder / rel) != info.get("sha256") for rel, info in expected.items()):
        return False
    _verified[str(folder)] = fingerprint
    return True


# --- building --------------------------------------------------------------------------------


def ensure_standin(name: str) -> Path:
    """The stand-in folder for a catalog model, built (or rebuilt if damaged) when needed."""
    if is_built(name):
        return standin_dir(name)
    return build_standin(name)


def check_cache_writable(what: str = "cannot build stand-ins") -> Path:
    """The stand-ins folder, created if needed; an error naming it and ``COURSE_CACHE`` if it
    cannot be written (a file in the way, a read-only place)."""
    try:
        return writable_folder(standins_root(), settings.cache_root_origin())
    except UnwritableFolderError as err:
        raise StandinUnavailableError(f"{what}: {err}") from None


def build_standin(name: str, force: bool = False) -> Path:
    """Build a catalog model's stand-in from scratch and move it into place atomically.

    ``force=True`` replaces the folder even when another process finished an intact copy
    meanwhile (``course standins build --force``).
    """
    entry = entry_for(name)
    final = standin_dir(entry)
    check_cache_writable(f"cannot build the stand-in for {entry.hub_id}")
    remove_stale_temporaries()
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        start = time.perf_counter()
        with _quiet_build():
            try:
                standin_models.build(tmp, entry)
            except standin_tokenizers.MissingIngredientError as err:
                raise StandinUnavailableError(str(err)) from None
        _write_marker(tmp, entry.hub_id, time.perf_counter() - start)
        _verified.pop(str(final), None)
        if not force and is_built(entry.hub_id):
            return final  # another process finished the same build meanwhile: keep its copy
        _swap_into_place(tmp, final, entry.hub_id)
    except Exception as err:
        if not is_disk_full(err):
            raise
        raise _disk_full(entry.hub_id) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _verified.pop(str(final), None)
    return final


def _disk_full(hub_id: str) -> StandinUnavailableError:
    """A full disk while building: the error names the stand-ins folder (not the file being
    copied, which may be inside the installed package) and COURSE_CACHE."""
    root = standins_root()
    try:
        free = f"{shutil.disk_usage(root).free / 1e6:,.1f} MB free"
    except OSError:
        free = "free space unknown"
    return StandinUnavailableError(
        f"cannot build the stand-in for {hub_id}: the disk that holds the stand-ins folder "
        f"{root} is full ({free}; the largest stand-in, BERT's, takes about 90 MB). Free some space there, or "
        f"set {settings.CACHE_VAR} to a folder on a larger disk (now: {settings.cache_root_origin()}); "
        "nothing half-built was kept"
    )


def _swap_into_place(tmp: Path, final: Path, hub_id: str) -> None:
    if final.exists():
        # A damaged or outdated folder: move it aside first, then swap the new one in.
        trash = final.parent / f"{TRASH_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        with contextlib.suppress(FileNotFoundError):
            final.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        tmp.rename(final)
    except OSError:
        # Another process finished the same build first; keep its copy if it is good.
        if not is_built(hub_id):
            raise


def remove_stale_temporaries() -> list[Path]:
    """Delete what interrupted builds left in the stand-ins folder; return what was removed.

    A build folder (``.tmp-<name>-<pid>-<id>``, or a replaced copy being deleted,
    ``.trash-...``) is stale when its process is gone or it is older than an hour; a build that
    another process is running now is left alone.
    """
    root = standins_root()
    removed = []
    if not root.is_dir():
        return removed
    for path in sorted(root.iterdir()):
        if path.name.startswith((TMP_PREFIX, TRASH_PREFIX)) and _is_stale(path):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
            if not path.exists():
                removed.append(path)
    return removed


def _is_stale(path: Path) -> bool:
    import psutil

    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False  # already gone
    pid = path.name.rsplit("-", 2)[-2] if path.name.count("-") >= 2 else ""
    if not pid.isdigit() or age > STALE_BUILD_SECONDS:
        return True
    return int(pid) != os.getpid() and not psutil.pid_exists(int(pid))


def clear_standins(name: str | None = None) -> list[Path]:
    """Delete one stand-in (or all of them, and leftovers of interrupted builds).

    Clearing one stand-in also removes the leftovers of interrupted builds
    (:func:`remove_stale_temporaries`), which are part of the list returned.
    """
    root = standins_root()
    removed = []
    if name is not None:
        targets = [standin_dir(name)]
        removed += remove_stale_temporaries()
    elif root.is_dir():
        targets = sorted(root.iterdir())
    else:
        targets = []
    for path in targets:
        if path.exists():
            try:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            except OSError as err:
                raise StandinUnavailableError(
                    f"cannot delete {path} ({err.strerror or type(err).__name__}); the stand-ins "
                    f"folder was set by {settings.cache_root_origin()}"
                ) from None
            removed.append(path)
        _verified.pop(str(path), None)
    return removed


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
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
            torch.manual_seed(SEED)
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
