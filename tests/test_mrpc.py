import json
from pathlib import Path

import pytest

from course_utils import mrpc as mrpc_module
from course_utils.errors import CourseError
from course_utils.mrpc import (
    MissingColumnError,
    choose_num_proc,
    load_mrpc,
    tokenize_pairs,
)


@pytest.fixture(scope="module")
def mrpc():
    return load_mrpc(verbose=False)


def _tiny_tokenizer(words=()):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    # A tiny WordPiece vocabulary is enough to check the mapping (no model download).
    words = "[PAD] [UNK] [CLS] [SEP] [MASK] the a in on of to by , . police said".split() + list(
        words
    )
    vocab = {word: i for i, word in enumerate(words)}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return BertTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")


@pytest.fixture(scope="module")
def tokenizer():
    return _tiny_tokenizer()


def test_offline_load_gives_mrpc_splits_and_features(mrpc, capsys):
    # conftest sets HF_HUB_OFFLINE=1: the shipped fixture, announced as such.
    load_mrpc()
    assert "fixture" in capsys.readouterr().out
    assert set(mrpc) == {"train", "validation", "test"}
    for split in mrpc.values():
        assert split.column_names == ["sentence1", "sentence2", "label", "idx"]
    features = mrpc["train"].features
    assert features["sentence1"].dtype == "string"
    assert features["sentence2"].dtype == "string"
    assert features["label"].names == ["not_equivalent", "equivalent"]
    assert features["idx"].dtype == "int32"
    assert 300 <= mrpc["train"].num_rows <= 1000
    assert mrpc["validation"].num_rows >= 50 and mrpc["test"].num_rows >= 50


def test_fixture_rows_are_well_formed_and_not_duplicated(mrpc):
    seen = set()
    for name, split in mrpc.items():
        labels = list(split["label"])
        assert set(labels) == {0, 1}, name
        share = sum(labels) / len(labels)
        assert 0.4 <= share <= 0.7, f"{name}: {share:.2f} equivalent"
        assert list(split["idx"]) == list(range(split.num_rows))
        for row in split:
            assert row["sentence1"].strip() and row["sentence2"].strip()
            assert row["sentence1"] != row["sentence2"]
            pair = (row["sentence1"], row["sentence2"])
            assert pair not in seen, f"duplicate pair across splits: {pair}"
            seen.add(pair)


def test_force_standins_loads_fixture_even_when_online(monkeypatch):
    monkeypatch.setattr("course_utils.hub.policy.offline_mode", lambda: False)
    monkeypatch.setenv("COURSE_FORCE_STANDINS", "1")
    assert mrpc_module.use_fixture()
    monkeypatch.setenv("COURSE_FORCE_STANDINS", "0")
    assert not mrpc_module.use_fixture()


def test_online_failure_says_how_to_go_offline(monkeypatch):
    import datasets

    from course_utils.hub import client as hub

    monkeypatch.setattr("course_utils.hub.policy.offline_mode", lambda: False)
    monkeypatch.setattr(hub, "probe", lambda *a, **k: hub.Probe(hub.endpoint(), 0.1, status=200))

    def no_network(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", no_network)
    with pytest.raises(hub.HubUnreachableError, match="HF_HUB_OFFLINE=1") as err:
        load_mrpc()
    assert "HF_ENDPOINT" in str(err.value) and "MRPC cannot be downloaded" in str(err.value)


def test_missing_fixture_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(mrpc_module, "FIXTURE_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="reinstall the course package"):
        mrpc_module.load_mrpc_fixture()


def test_fixture_matches_the_generator():
    """The committed jsonl files are exactly what course_authoring.make_mrpc_fixture writes."""
    from course_authoring import make_mrpc_fixture as module

    for split, rows in module.build().items():
        lines = (
            (mrpc_module.FIXTURE_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        )
        assert [json.loads(line) for line in lines] == rows


def test_tokenize_pairs_adds_model_inputs(mrpc, tokenizer):
    tokenized = tokenize_pairs(mrpc["validation"], tokenizer, max_length=16)
    for column in ("input_ids", "token_type_ids", "attention_mask"):
        assert column in tokenized.column_names
    assert tokenized.num_rows == mrpc["validation"].num_rows
    first = tokenized[0]
    assert len(first["input_ids"]) <= 16
    # A pair: [CLS] A [SEP] has type 0, B [SEP] type 1; no padding at map time.
    assert first["token_type_ids"][0] == 0 and first["token_type_ids"][-1] == 1
    assert first["attention_mask"] == [1] * len(first["input_ids"])


def test_tokenize_pairs_works_on_a_dataset_dict(mrpc, tokenizer):
    tokenized = tokenize_pairs(mrpc, tokenizer, max_length=16)
    assert set(tokenized) == set(mrpc)
    assert "input_ids" in tokenized["test"].column_names


def test_missing_column_lists_the_columns_present(mrpc, tokenizer):
    with pytest.raises(MissingColumnError) as info:
        tokenize_pairs(mrpc["train"], tokenizer, columns=("question", "sentence"))
    message = str(info.value)
    assert "question" in message and "sentence" in message
    for present in ("sentence1", "sentence2", "label", "idx"):
        assert present in message
    assert isinstance(info.value, KeyError)


def test_a_split_without_the_column_is_named(mrpc, tokenizer):
    # The first split has the columns, a later one does not: the check must look at every split.
    from datasets import DatasetDict

    parts = DatasetDict(
        train=mrpc["train"].select(range(4)),
        test=mrpc["test"].select(range(4)).remove_columns("sentence2"),
    )
    with pytest.raises(MissingColumnError, match=r"\['sentence2'\] not found in the 'test' split"):
        tokenize_pairs(parts, tokenizer)
    assert issubclass(MissingColumnError, CourseError)


@pytest.mark.parametrize("max_length", [0, -1, True, 12.5, "128"])
def test_max_length_must_be_a_positive_whole_number(mrpc, tokenizer, max_length):
    with pytest.raises(CourseError, match="max_length must be a positive number") as info:
        tokenize_pairs(mrpc["validation"], tokenizer, max_length=max_length)
    assert repr(max_length) in str(info.value)


def test_wrong_number_of_columns(mrpc, tokenizer):
    with pytest.raises(ValueError, match="one or two"):
        tokenize_pairs(mrpc["train"], tokenizer, columns=("sentence1", "sentence2", "idx"))


@pytest.mark.parametrize(
    ("rows", "cores", "expected"),
    [
        (3_668, 2, None),  # MRPC on 2 cores: one process (measured faster)
        (3_668, 16, None),  # still too small for 16 cores
        (9_999, 64, None),
        (10_000, 1, None),  # one core: never more processes
        (10_000, 2, 2),
        (36_680, 2, 2),  # 10x MRPC on 2 cores: two processes (measured faster)
        (36_680, 16, 7),  # one process per 5,000 rows
        (1_000_000, 8, 8),  # capped by the cores
    ],
)
def test_choose_num_proc(rows, cores, expected):
    assert choose_num_proc(rows, cpu_count=cores) == expected


def test_choose_num_proc_rejects_negative_rows():
    with pytest.raises(ValueError):
        choose_num_proc(-1)


def test_choose_num_proc_counts_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(mrpc_module.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert choose_num_proc(1_000_000) is None


def _columns_of(dataset):
    return {name: dataset[name] for name in dataset.column_names}


def test_tokenize_pairs_gives_what_a_plain_map_gives(mrpc, tokenizer):
    split = mrpc["train"]

    def tokenize_function(batch):
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True)

    expected = _columns_of(split.map(tokenize_function, batched=True))
    assert _columns_of(tokenize_pairs(split, tokenizer, num_proc=None)) == expected
    # Worker processes get the tokenizer another way: the same rows, in the same order.
    assert _columns_of(tokenize_pairs(split, tokenizer, num_proc=2)) == expected


def test_tokenize_pairs_picks_num_proc_per_split(mrpc, tokenizer, monkeypatch):
    asked = []

    def record(num_rows, cpu_count=None):
        asked.append(num_rows)
        return None

    monkeypatch.setattr(mrpc_module, "choose_num_proc", record)
    tokenize_pairs(mrpc, tokenizer)
    assert sorted(asked) == sorted(split.num_rows for split in mrpc.values())


def test_fingerprint_is_stable_and_follows_what_changes_the_result(mrpc, tokenizer):
    split = mrpc["validation"]
    first = tokenize_pairs(split, tokenizer)._fingerprint
    # The same call again (the tokenizer has now been used, with truncation set): same name.
    assert tokenize_pairs(split, tokenizer)._fingerprint == first
    assert tokenize_pairs(split, _tiny_tokenizer())._fingerprint == first
    changed = [
        tokenize_pairs(split, tokenizer, max_length=8),
        tokenize_pairs(split, tokenizer, columns=("sentence2", "sentence1")),
        tokenize_pairs(split, tokenizer, columns=("sentence1",)),
        tokenize_pairs(split, _tiny_tokenizer(words=["court"])),
        tokenize_pairs(mrpc["test"], tokenizer),
    ]
    fingerprints = [first] + [result._fingerprint for result in changed]
    assert len(set(fingerprints)) == len(fingerprints)


def test_cached_results_are_reused_until_the_tokenizer_changes(mrpc, tmp_path):
    from datasets import load_from_disk

    mrpc["validation"].save_to_disk(tmp_path / "validation")
    on_disk = load_from_disk(tmp_path / "validation")  # has cache files, like load_dataset
    first = tokenize_pairs(on_disk, _tiny_tokenizer())
    cache_file = first.cache_files[0]["filename"]
    written = Path(cache_file).stat().st_mtime_ns
    again = tokenize_pairs(on_disk, _tiny_tokenizer())
    assert again.cache_files[0]["filename"] == cache_file
    assert Path(cache_file).stat().st_mtime_ns == written  # read back, not recomputed
    other = tokenize_pairs(on_disk, _tiny_tokenizer(words=["court"]))
    assert other.cache_files[0]["filename"] != cache_file


def test_tokenizer_without_rust_backend_still_works(mrpc):
    class Whitespace:  # any callable that returns lists per column, like a slow tokenizer
        def __call__(self, texts, pairs=None, truncation=True, max_length=None):
            pairs = pairs or [""] * len(texts)
            ids = [len(a.split()) + len(b.split()) for a, b in zip(texts, pairs, strict=True)]
            return {"input_ids": [[i] for i in ids]}

    tokenized = tokenize_pairs(mrpc["validation"], Whitespace())
    assert tokenized.num_rows == mrpc["validation"].num_rows
    assert "input_ids" in tokenized.column_names
