"""Chapter 3 data: MRPC (or its offline fixture) and sentence-pair tokenization.

``load_mrpc()`` returns the GLUE MRPC splits from the Hub when online, and the project's own
MRPC-shaped fixture (same columns and features, a few hundred pairs written for this project)
when offline or when ``COURSE_FORCE_STANDINS=1``. ``tokenize_pairs()`` maps a tokenizer over
sentence pairs with ``Dataset.map(batched=True)`` and picks ``num_proc`` for this machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MRPC_HUB_ID = "nyu-mll/glue"
MRPC_CONFIG = "mrpc"
MRPC_SPLITS = ("train", "validation", "test")
MRPC_LABELS = ["not_equivalent", "equivalent"]
FIXTURE_DIR = Path(__file__).resolve().parent / "data" / "mrpc_fixture"

# Below this many rows, extra worker processes cost more (start-up, pickling the tokenizer,
# copying shards back) than the fast tokenizer, which already uses several threads, gains.
# Measured on 2 cores: 3,668 pairs take 0.26 s in one process, 0.40 s with 2, 0.85 s with 16.
MULTIPROCESS_MIN_ROWS = 100_000
ROWS_PER_PROCESS = 50_000


class MissingColumnError(KeyError):
    """A column the caller asked for is not in the dataset."""

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
    """Whether ``load_mrpc()`` will load the fixture (offline, or stand-ins forced)."""
    from course_utils import settings

    return settings.use_local_models()


def load_mrpc_fixture():
    """The shipped MRPC-shaped fixture as a ``DatasetDict`` (no network, no cache writes)."""
    from datasets import Dataset, DatasetDict

    features = mrpc_features()
    splits = {}
    for split in MRPC_SPLITS:
        path = FIXTURE_DIR / f"{split}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(
                f"The MRPC fixture file {path} is missing. Reinstall the course package "
                "(pip install -e .) or regenerate it with: python tools/make_mrpc_fixture.py"
            )
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        columns = {name: [row[name] for row in rows] for name in features}
        splits[split] = Dataset.from_dict(columns, features=features)
    return DatasetDict(splits)


def load_mrpc(verbose: bool = True):
    """MRPC as a ``DatasetDict`` with train / validation / test splits.

    Online: ``load_dataset("nyu-mll/glue", "mrpc")`` (3,668 / 408 / 1,725 pairs). Offline or with
    ``COURSE_FORCE_STANDINS=1``: the project's fixture, with the same columns and features.
    Prints one line saying which was loaded (``verbose=False`` silences it).
    """
    if use_fixture():
        datasets = load_mrpc_fixture()
        source = (
            "the course's offline MRPC-shaped fixture (pairs written for this project, "
            "not MRPC itself)"
        )
    else:
        from datasets import load_dataset

        try:
            datasets = load_dataset(MRPC_HUB_ID, MRPC_CONFIG)
        except Exception as err:  # noqa: BLE001 - any network/Hub failure gets the same advice
            raise RuntimeError(
                f"Could not load {MRPC_HUB_ID} ({MRPC_CONFIG}) from the Hub: {err}\n"
                "No network? Set HF_HUB_OFFLINE=1 before starting Python/Jupyter to use the "
                "course's offline MRPC fixture instead."
            ) from err
        source = f"MRPC from the Hub ({MRPC_HUB_ID}, config {MRPC_CONFIG!r})"
    if verbose:
        sizes = " / ".join(f"{datasets[s].num_rows:,}" for s in MRPC_SPLITS)
        print(f"Loaded {source}: train / validation / test = {sizes} pairs.")
    return datasets


def choose_num_proc(num_rows: int, cpu_count: int | None = None) -> int | None:
    """How many processes ``Dataset.map`` should use: ``None`` (one process) for small data.

    The fast tokenizers already tokenize a batch on several threads, so worker processes only
    pay off once the data is large: one per ``ROWS_PER_PROCESS`` rows, at most one per core.
    """
    if num_rows < 0:
        raise ValueError(f"num_rows must be >= 0, got {num_rows}")
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if num_rows < MULTIPROCESS_MIN_ROWS or cores < 2:
        return None
    return max(1, min(cores, num_rows // ROWS_PER_PROCESS))


def _check_columns(dataset: Any, columns: tuple[str, ...]) -> None:
    present = list(_column_names(dataset))
    missing = [name for name in columns if name not in present]
    if missing:
        raise MissingColumnError(
            f"Column(s) {missing} not found. The dataset has: {present}. "
            "Pass the names of your two text columns, e.g. "
            f"tokenize_pairs(dataset, tokenizer, columns=({present[0]!r}, ...))"
            if present
            else f"Column(s) {missing} not found: the dataset has no columns."
        )


def _column_names(dataset: Any) -> list[str]:
    names = dataset.column_names
    if isinstance(names, dict):  # a DatasetDict: columns per split
        first = next(iter(names.values()), [])
        return list(first)
    return list(names)


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
    uses ``choose_num_proc`` on the number of rows.
    """
    columns = tuple(columns)
    if len(columns) not in (1, 2):
        raise ValueError(f"columns must name one or two text columns, got {columns!r}")
    _check_columns(dataset, columns)
    if num_proc == "auto":
        rows = dataset.num_rows
        total = sum(rows.values()) if isinstance(rows, dict) else rows
        num_proc = choose_num_proc(total)
    first, second = columns if len(columns) == 2 else (columns[0], None)

    def tokenize_function(batch):
        texts = batch[first]
        pairs = batch[second] if second is not None else None
        return tokenizer(texts, pairs, truncation=True, max_length=max_length)

    return dataset.map(tokenize_function, batched=True, num_proc=num_proc)
