"""Chapter 3 data: MRPC (or its offline fixture) and sentence-pair tokenization.

``load_mrpc()`` returns the GLUE MRPC splits from the Hub when online (or from the cache
offline, once downloaded), and otherwise the project's own MRPC-shaped fixture (same columns
and features, a few hundred pairs written for this project). ``tokenize_pairs()`` maps a
tokenizer over sentence pairs with ``Dataset.map(batched=True)`` and picks ``num_proc`` for this
machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from course_utils.errors import CourseError, first_line

MRPC_HUB_ID = "nyu-mll/glue"
MRPC_CONFIG = "mrpc"
MRPC_SPLITS = ("train", "validation", "test")
MRPC_LABELS = ["not_equivalent", "equivalent"]
FIXTURE_DIR = Path(__file__).resolve().parent / "data" / "mrpc_fixture"

# Worker processes for Dataset.map cost a fixed price (start-up, sending each one the tokenizer
# and its shard, copying the results back) and pay off only once each gets enough rows.
# tokenize_pairs with a BERT tokenizer on 2 idle cores, one process vs two (medians of 5
# interleaved runs): 3,668 pairs 0.27 s vs 0.34 s; 5,000: 0.37 vs 0.40; 7,500: 0.55 vs 0.51;
# 10,000: 0.73 vs 0.60; 15,000: 1.21 vs 0.84; 36,680: 2.97 vs 1.79. benchmarks/bench_mapping.py
# checks both sides of the threshold again on each run.
MULTIPROCESS_MIN_ROWS = 10_000
ROWS_PER_PROCESS = 5_000


class TokenizeArgumentError(CourseError, ValueError, TypeError):
    """An argument of :func:`tokenize_pairs` (or a row of its data) that it cannot use."""


class MissingColumnError(CourseError, KeyError):
    """A column the caller asked for is not in the dataset (or in one of its splits)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def mrpc_features():
    """The features of GLUE MRPC, shared by the Hub dataset and the fixture."""
    from datasets import ClassLabel, Features, Value

    return Features(
        {
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=MRPC_LABELS),
            "idx": Value("int32"),
        }
    )


def use_fixture() -> bool:
    """Whether ``load_mrpc()`` will load the fixture (see :func:`course_utils.hub.policy.decide`:
    stand-ins forced, or offline with no MRPC in the cache)."""
    from course_utils.hub import policy

    return policy.decide(MRPC_HUB_ID, "dataset", MRPC_CONFIG).is_local


def load_mrpc_fixture():
    """The shipped MRPC-shaped fixture as a ``DatasetDict`` (no network, no cache writes)."""
    from datasets import Dataset, DatasetDict

    features = mrpc_features()
    splits = {}
    for split in MRPC_SPLITS:
        path = FIXTURE_DIR / f"{split}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(
                f"The MRPC fixture file {path} is missing: reinstall the course package "
                "(in a clone: pip install -e .)"
            )
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        columns = {name: [row[name] for row in rows] for name in features}
        splits[split] = Dataset.from_dict(columns, features=features)
    return DatasetDict(splits)


FIXTURE_SOURCE = (
    "the course's offline MRPC-shaped fixture (pairs written for this project, not MRPC itself)"
)


def load_mrpc(verbose: bool = True):
    """MRPC as a ``DatasetDict`` with train / validation / test splits.

    Online: ``load_dataset("nyu-mll/glue", "mrpc")`` (3,668 / 408 / 1,725 pairs), after one
    bounded request (``COURSE_HUB_TIMEOUT``, default 10 s) has checked that the Hub answers.
    Offline (``HF_HUB_OFFLINE=1``): the same from the cache when it was downloaded once, else
    the project's fixture, with the same columns and features. ``COURSE_FORCE_STANDINS=1``:
    the fixture, even online and even when MRPC is cached. Prints one line saying which was
    loaded (``verbose=False`` silences it).
    """
    from course_utils.hub import policy

    source = policy.decide(MRPC_HUB_ID, "dataset", MRPC_CONFIG)
    if source.is_local:
        datasets, what = load_mrpc_fixture(), f"{FIXTURE_SOURCE} ({source.reason})"
    elif source.origin == "cache":
        datasets, what = _load_cached()
    else:
        datasets = _load_from_hub()
        what = f"MRPC from the Hub ({MRPC_HUB_ID}, config {MRPC_CONFIG!r})"
    if verbose:
        sizes = " / ".join(f"{datasets[s].num_rows:,}" for s in MRPC_SPLITS)
        print(f"Loaded {what}: train / validation / test = {sizes} pairs.")
    return datasets


def _load_cached():
    """Offline: MRPC as downloaded before; the fixture if the cached copy cannot be read."""
    from datasets import load_dataset

    try:
        datasets = load_dataset(MRPC_HUB_ID, MRPC_CONFIG)
        return datasets, f"MRPC from the cache ({MRPC_HUB_ID}, config {MRPC_CONFIG!r}, offline)"
    except Exception as err:  # noqa: BLE001 - an unreadable cache falls back to the fixture
        reason = f"the cached MRPC could not be read ({first_line(err)})"
        return load_mrpc_fixture(), f"{FIXTURE_SOURCE}, because {reason}"


def _load_from_hub():
    """Online; a failure is the Hub's error (translated once, in course_utils.hub.client), with
    what offline mode would do instead."""
    import time

    from datasets import load_dataset

    from course_utils.hub import client as hub

    what = "MRPC cannot be downloaded"
    hub.ensure_reachable(what, repo_id=MRPC_HUB_ID, repo_type="dataset")
    start = time.monotonic()
    try:
        with hub.deadlines():  # each Hub request a deadline, each download a minimum rate
            return load_dataset(MRPC_HUB_ID, MRPC_CONFIG)
    except Exception as err:  # noqa: BLE001 - datasets' own errors for a Hub that fails
        error = hub.translate(err, MRPC_HUB_ID, what, start)
        if error is err:  # not a Hub failure that translate knows: say what happened
            error = hub.HubError(
                f"could not load {MRPC_HUB_ID} ({MRPC_CONFIG}) from the Hub at {hub.endpoint()} "
                f"({first_line(err)}): {hub.ways_out()}. Offline, load_mrpc() uses MRPC from "
                "the cache once it was downloaded, else the course's MRPC-shaped fixture"
            )
        raise error from None


def choose_num_proc(num_rows: int, cpu_count: int | None = None) -> int | None:
    """How many processes ``Dataset.map`` should use: ``None`` (one process) for small data.

    Below ``MULTIPROCESS_MIN_ROWS`` rows, or with one core, one process is faster. Above it, one
    process per ``ROWS_PER_PROCESS`` rows, at most one per core this process may use.
    """
    if isinstance(num_rows, bool) or not isinstance(num_rows, int) or num_rows < 0:
        raise TokenizeArgumentError(
            f"num_rows must be a number of rows >= 0, got {num_rows!r}: e.g. "
            "choose_num_proc(dataset.num_rows)"
        )
    if cpu_count is not None:
        cores = cpu_count
    elif hasattr(os, "sched_getaffinity"):  # the cores this process may run on (containers)
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    if num_rows < MULTIPROCESS_MIN_ROWS or cores < 2:
        return None
    return max(2, min(cores, num_rows // ROWS_PER_PROCESS))


def _check_columns(dataset: Any, columns: tuple[str, ...]) -> None:
    """Every split must have the columns: a DatasetDict's test split may lack one."""
    for split, present in _column_names(dataset).items():
        missing = [name for name in columns if name not in present]
        if not missing:
            continue
        where = f" in the {split!r} split" if split else ""
        if not present:
            raise MissingColumnError(f"Column(s) {missing} not found{where}: it has no columns.")
        raise MissingColumnError(
            f"Column(s) {missing} not found{where}. It has: {present}. Pass the names of your "
            f"two text columns, e.g. tokenize_pairs(dataset, tokenizer, columns=({present[0]!r}, "
            "...)), or tokenize only the splits that have them, e.g. dataset['train']"
        )


def _column_names(dataset: Any) -> dict[str, list[str]]:
    """Column names per split ('' for a single Dataset)."""
    names = dataset.column_names
    if isinstance(names, dict):  # a DatasetDict: columns per split
        return {split: list(columns) for split, columns in names.items()}
    return {"": list(names)}


def _check_dataset(dataset: Any) -> None:
    from datasets import Dataset, DatasetDict, IterableDataset, IterableDatasetDict

    if isinstance(dataset, Dataset | DatasetDict):
        return
    if isinstance(dataset, IterableDataset | IterableDatasetDict):
        raise TokenizeArgumentError(
            "tokenize_pairs() needs a Dataset or DatasetDict it can count (a streamed "
            "IterableDataset has no length): load it without streaming=True, or call "
            "dataset.map(tokenize_function, batched=True) yourself"
        )
    raise TokenizeArgumentError(
        f"tokenize_pairs() needs a datasets Dataset or DatasetDict, got a "
        f"{type(dataset).__name__}: use load_mrpc(), load_dataset(...), or build one from your "
        "own pairs with datasets.Dataset.from_dict({'sentence1': [...], 'sentence2': [...]})"
    )


def _check_tokenizer(tokenizer: Any) -> None:
    if tokenizer is None or isinstance(tokenizer, str) or not callable(tokenizer):
        hint = (
            f" (that is a name: load it first, AutoTokenizer.from_pretrained({tokenizer!r}))"
            if isinstance(tokenizer, str)
            else ""
        )
        raise TokenizeArgumentError(
            f"tokenize_pairs() needs a tokenizer, got {tokenizer!r}{hint}: e.g. tokenizer = "
            "AutoTokenizer.from_pretrained(checkpoint), then tokenize_pairs(dataset, tokenizer)"
        )


def _checked_columns(columns: Any) -> tuple[str, ...]:
    example = "columns=('sentence1', 'sentence2') for pairs, or columns=('sentence',) for one"
    if isinstance(columns, str):
        raise TokenizeArgumentError(
            f"columns={columns!r} is one name, but columns takes a tuple of one or two column "
            f"names: {example}"
        )
    try:
        names = tuple(columns)
    except TypeError:
        names = None
    if names is None or len(names) not in (1, 2) or not all(isinstance(n, str) for n in names):
        raise TokenizeArgumentError(
            f"columns must name one or two text columns, got {columns!r}: {example}"
        )
    return names


def _check_texts(dataset: Any, columns: tuple[str, ...]) -> None:
    """Every row of the columns must hold a text: a missing one (None) or a number would stop
    the tokenizer half-way with its own error."""
    splits = dataset.items() if isinstance(dataset, dict) else [("", dataset)]
    for split, data in splits:
        where = f" of the {split!r} split" if split else ""
        for name in columns:
            feature = data.features[name]
            dtype = getattr(feature, "dtype", None)
            if dtype not in ("string", "large_string"):
                held = f"{dtype} values" if dtype else f"a {type(feature).__name__}"
                raise TokenizeArgumentError(
                    f"column {name!r}{where} holds {held}, not text: pass the names of your "
                    "text columns in columns=(...), or turn it into text first, e.g. "
                    f"dataset.cast_column({name!r}, datasets.Value('string'))"
                )
            if data.data.column(name).null_count == 0:  # Arrow counts them without a scan
                continue
            for row, text in enumerate(data[name]):
                if text is None:
                    raise TokenizeArgumentError(
                        f"row {row}{where} has no text in {name!r} (None): drop such rows "
                        f"first, e.g. dataset = dataset.filter(lambda row: row[{name!r}] is "
                        "not None), or fill them in"
                    )


def _check_num_proc(num_proc: Any) -> None:
    if num_proc is None or num_proc == "auto":
        return
    if isinstance(num_proc, bool) or not isinstance(num_proc, int) or num_proc < 1:
        raise TokenizeArgumentError(
            f"num_proc must be 'auto', None (one process) or a number of processes >= 1, got "
            f"{num_proc!r}"
        )


def _check_max_length(max_length: Any) -> None:
    # 0 would silently turn truncation off, and a negative value overflows in the tokenizer.
    if max_length is None:
        return
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise TokenizeArgumentError(
            f"max_length must be a positive number of tokens (or None for the model's maximum), "
            f"got {max_length!r}; e.g. tokenize_pairs(dataset, tokenizer, max_length=128)"
        )


def tokenize_pairs(
    dataset: Any,
    tokenizer: Any,
    columns: tuple[str, str] = ("sentence1", "sentence2"),
    max_length: int | None = None,
    num_proc: int | None | str = "auto",
):
    """Tokenize sentence pairs with ``dataset.map(batched=True)``; works on a DatasetDict too.

    No padding here: ``DataCollatorWithPadding`` pads each batch to its own longest pair.
    ``max_length`` truncates longer pairs (default: the model's maximum). ``num_proc="auto"``
    uses ``choose_num_proc`` on the number of rows of each split.

    It is the chapter's ``tokenize_function`` and ``map`` call, checked: ``datasets`` names its
    cache files after a hash of the function (tokenizer included), so a second call on a cached
    dataset reuses the result. (Hashing the tokenizer ourselves saved about 0.1-0.2 s a call
    on MRPC, measured on 2 cores: not worth a private hook of ``datasets``.)
    """
    from datasets import DatasetDict

    _check_dataset(dataset)
    _check_tokenizer(tokenizer)
    columns = _checked_columns(columns)
    _check_columns(dataset, columns)
    _check_texts(dataset, columns)
    _check_max_length(max_length)
    _check_num_proc(num_proc)
    first, second = columns if len(columns) == 2 else (columns[0], None)

    def tokenize_function(batch):
        texts = batch[first]
        pairs = batch[second] if second is not None else None
        return tokenizer(texts, pairs, truncation=True, max_length=max_length)

    def map_split(split):
        procs = choose_num_proc(split.num_rows) if num_proc == "auto" else num_proc
        return split.map(tokenize_function, batched=True, num_proc=procs)

    if isinstance(dataset, DatasetDict):
        return DatasetDict({name: map_split(split) for name, split in dataset.items()})
    return map_split(dataset)
