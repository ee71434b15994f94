"""What a failed load of weights means, said once: a file cut short, or pickled weights refused.

transformers reports both from deep inside ``from_pretrained``: a truncated ``model.safetensors``
as safetensors' "Error while deserializing header", a download the server cut short as a hint
about "a file named pytorch_model.bin" (after huggingface_hub's retries) or as "Consistency
check failed", and a malicious pickle as torch's "Weights only load failed ... please file an
issue". :func:`translate` turns these into the course's errors, which say which file, why, and
what fixes it. (They are about files the Hub served: this could move to ``course_utils.hub``.)
"""

from __future__ import annotations

import json
import pickle
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from course_utils import catalog
from course_utils.errors import CourseError, first_line
from course_utils.hub import cache, failures
from course_utils.hub import client as hub
from course_utils.standins import store as standins


class IncompleteDownloadError(CourseError, OSError):
    """A weights file that was cut short (a download that stopped, a copy that did not finish)."""


class UnsafeWeightsError(CourseError, RuntimeError):
    """Pickled weights that would run code when loaded; torch's safe loader refused them."""


@contextmanager
def translated(source: str | None, revision: str | None = None) -> Iterator[None]:
    """Run a load of ``source`` (a folder or Hub id), raising the course's error for the
    failures :func:`translate` knows; any other error is raised as it is."""
    start = time.monotonic()
    try:
        yield
    except CourseError:
        raise
    except Exception as err:
        error = translate(err, source, revision, start)
        if error is None:
            raise
        raise error from None


def translate(
    err: BaseException,
    source: str | None,
    revision: str | None = None,
    start: float | None = None,
):
    """The course's error for a failed load of ``source``, or ``None`` when ``err`` is not
    a damaged or refused weights file (or a connection lost during the load). ``start``
    (``time.monotonic()``) dates the load."""
    chain = list(_chain(err))
    for link in chain:
        error = _from_exception(link, source, revision)
        if error is not None:
            return error
    for link in chain:
        # transformers.pipeline tries each model class in turn; when all fail, it reports
        # their tracebacks as the text of one ValueError.
        if isinstance(link, ValueError) and _REPORTED in str(link):
            error = _from_report(str(link), source, revision)
            if error is not None:
                return error
    # Too slow, rate-limited, not a Hub, the HF cache's disk full: the Hub's own translation.
    error = failures.download_failure(err, source or "the model", f"{source} cannot be loaded")
    if error is not None:
        return error
    for link in chain:
        # The connection failed in the middle of the load: the Hub's own error (hub.translate).
        if not isinstance(link, OSError) and hub.is_network_error(link) and source:
            return hub.translate(link, source, f"{source} could not be downloaded", start)
    return None


_REFUSED = "Weights only load failed"  # torch.load(weights_only=True) refusing a pickle
_REPORTED = "See the original errors"


def _from_exception(link: BaseException, source: str | None, revision: str | None):
    text = str(link)
    if isinstance(link, pickle.UnpicklingError) and _REFUSED in text:
        return _refused_pickle(text, source, revision)
    if _is_safetensors_error(link):
        return _damaged_safetensors(first_line(link, with_type=False), source, revision)
    # (transformers' joined report of several failures quotes them: _from_report reads it.)
    if _REPORTED not in text and failures.cut_short(link) is not None:
        return _cut_download(source, _file_name(link), first_line(link))
    return None


def _file_name(link: BaseException) -> str | None:
    """Which file a failed download was fetching: the request's URL, or huggingface_hub's size
    check, which names the file in brackets at the end of its message."""
    url = getattr(getattr(link, "request", None), "url", None)
    if url is not None:
        return str(url.path).rsplit("/", 1)[-1]
    line = (str(link).strip().splitlines() or [""])[0]
    name = re.search(r"\(([^()]*)\)\.?$", line)
    return name.group(1) if name else None


def _from_report(text: str, source: str | None, revision: str | None):
    if _REFUSED in text:
        return _refused_pickle(text, source, revision)
    found = re.search(r"SafetensorError: ([^\n]+)", text)
    if found:
        return _damaged_safetensors(found.group(1).strip(), source, revision)
    found = re.search(r"Consistency check failed[^\n]*", text)
    if found:
        name = re.search(r"\(([^()]*)\)\.?$", found.group(0).strip())
        return _cut_download(source, name.group(1) if name else None, found.group(0).strip())
    found = re.search(r"RemoteProtocolError: ([^\n]+)", text)
    if found:
        return _cut_download(source, None, f"RemoteProtocolError: {found.group(1).strip()}")
    return None


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def _is_safetensors_error(err: BaseException) -> bool:
    from safetensors import SafetensorError

    return isinstance(err, SafetensorError)


# --- which file, and where it is --------------------------------------------------------------


def _local_folder(source: str | None) -> Path | None:
    if not source:
        return None
    folder = Path(source).expanduser()
    return folder if folder.is_dir() else None


def _cached(repo_id: str, filename: str, revision: str | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        path = try_to_load_from_cache(repo_id, filename, revision=revision)
    except HFValidationError:
        return None
    return Path(path) if isinstance(path, str) else None


def _weights_files(source: str, revision: str | None, suffix: str) -> list[Path]:
    """The weights files of a folder or a cached Hub model (shards of an index included)."""
    folder = _local_folder(source)
    if folder is not None:
        return sorted(folder.glob(f"*{suffix}"))
    single, index = {
        ".safetensors": cache.SAFETENSORS_FILES,
        ".bin": cache.PICKLED_FILES,
    }[suffix]
    files = [p for p in [_cached(source, single, revision)] if p is not None]
    index_path = _cached(source, index, revision)
    if index_path is not None:
        try:
            shards = sorted(set(json.loads(index_path.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            shards = []
        files += [p for p in (_cached(source, s, revision) for s in shards) if p is not None]
    return files


def _first_damaged(files: list[Path]) -> tuple[Path, str] | None:
    """The first safetensors file that safetensors cannot open, with its error."""
    from safetensors import SafetensorError, safe_open

    for path in files:
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (SafetensorError, OSError) as err:
            return path, first_line(err, with_type=False)
    return None


def _same_folder(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False


def _size(path: Path) -> str:
    from course_utils.display import format_bytes

    try:
        return format_bytes(path.stat().st_size)
    except OSError:
        return "?"


def _how_to_download(repo_id: str) -> str:
    entry = catalog.find(repo_id)
    if entry is not None and entry.chapters:
        return f"`course prefetch {entry.chapters[0]}` downloads the chapter's models"
    return f"`hf download {repo_id}` downloads it"


# --- the messages ---------------------------------------------------------------------------


def _damaged_safetensors(detail: str, source: str | None, revision: str | None):
    if not source:
        return IncompleteDownloadError(
            f"a model.safetensors file is cut short ({detail}): download or save it again"
        )
    found = _first_damaged(_weights_files(source, revision, ".safetensors"))
    path, detail = found if found else (None, detail)
    folder = _local_folder(source)
    if folder is not None:
        where = f"{path} ({_size(path)})" if path else f"a .safetensors file in {folder}"
        marker = standins.read_marker(folder) or {}
        hub_id = marker.get("hub_id")
        fix = (
            f"rebuild it with `course standins build {hub_id} --force`"
            if hub_id and _same_folder(folder, standins.standin_dir(hub_id))
            else "save the model again with save_pretrained(), or copy the folder again"
        )
        return IncompleteDownloadError(
            f"the weights file {where} is incomplete: safetensors says {detail!r}, which means "
            f"the file ends before its header says it should (a copy or a save that stopped). "
            f"Nothing was loaded; {fix}."
        )
    name = path.name if path else "model.safetensors"
    where = f" ({path}, {_size(path)})" if path else ""
    return IncompleteDownloadError(
        f"{name} of {source} in your HF cache{where} is incomplete: safetensors says "
        f"{detail!r} (a download that stopped early). Delete it with `hf cache rm "
        f"hf://models/{source}/{name}` (`hf cache ls` lists what is cached), then run the same "
        f"call again to download it anew; or {_how_to_download(source)}."
    )


def _cut_download(source: str | None, filename: str | None, detail: str):
    if filename:
        name, what = filename, f"of {source} " if source else ""
    else:
        name, what = (f"{source}'s weights", "") if source else ("the weights", "")
    again = f"; or {_how_to_download(source)} first" if source else ""
    return IncompleteDownloadError(
        f"the download of {name} {what}was cut short by the server or the network ({detail}). "
        "Nothing was loaded. Run the same call again: huggingface_hub resumes where it stopped"
        f"{again}. If it keeps stopping at the same point, try a mirror (HF_ENDPOINT, e.g. "
        f"{hub.MIRROR_EXAMPLE})."
    )


def _refused_pickle(text: str, source: str | None, revision: str | None):
    called = re.search(r"GLOBAL (\S+)", text)
    operand = re.search(r"Unsupported operand (\d+)", text)
    if called:
        why = f"asks to call {called.group(1)}: code, not tensors"
    elif operand:
        why = (
            f"uses pickle instruction {operand.group(1)}, which torch's safe loader does not "
            "accept, so it cannot check that the file holds only tensors"
        )
    else:
        why = "holds more than plain tensors"
    files = _weights_files(source, revision, ".bin") if source else []
    what = f"in {files[0]}" if files else f"of {source or 'this model'} (pytorch_model.bin)"
    return UnsafeWeightsError(
        f"the weights {what} were refused as unsafe pickles: a pickle can run any code when "
        f"it is loaded, and this one {why}. Nothing in it ran: torch's safe loader "
        "(weights_only=True) stopped first. The course loads only safetensors weights or "
        "pickles of plain tensors: use a repository that has model.safetensors (its model "
        "page's Files tab shows them), and never load this file with weights_only=False "
        "unless you made it yourself."
    )
