"""Bad input gets one clear paragraph, a recovery, or a correct result; never a traceback.

Missing and damaged model folders, folders the course cannot write to (a file in the way, or a
read-only place), memory checks that must answer the right question, pickled weights, and the
small ones: ``course html --execute`` with a failing cell, ``standins build --force``, bad flags.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
import torch

import course_utils
from course_utils import catalog, prefetch, settings
from course_utils.cli import main
from course_utils.errors import CourseError
from course_utils.hub import cache, policy
from course_utils.hub import client as hub
from course_utils.models import memory
from course_utils.models.resolve import CheckpointError
from course_utils.standins import store as standins

GIB = 1024**3


def one_line(err: str, command: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"course {command}: "), err
    assert "Traceback" not in lines[0]
    return lines[0]


# --- folders that do not exist, or hold a damaged config ------------------------------------


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_a_folder_that_does_not_exist_is_named(online, monkeypatch, tmp_path):
    if online:  # a path is never sent to the Hub
        monkeypatch.setattr(policy, "offline_mode", lambda: False)
        monkeypatch.setattr(hub, "check_model_exists", pytest.fail)
        monkeypatch.setattr(hub, "probe", pytest.fail)
    for name in ("runs/mrpc/model", "./my-model", str(tmp_path / "nope"), "~/no-such-model-dir"):
        with pytest.raises(CheckpointError, match="does not exist") as err:
            course_utils.resolve_checkpoint(name)
        assert name in str(err.value)
        assert "HF cache" not in str(err.value) and "valid Hub id" not in str(err.value)


def test_a_file_is_not_a_model_folder(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="is a file, not a model folder"):
        course_utils.resolve_checkpoint(str(weights))


def test_a_broken_config_json_is_named(tmp_path, capsys):
    folder = tmp_path / "my-model"
    folder.mkdir()
    config = folder / "config.json"
    config.write_text('{"model_type": "bert",')
    for call in (
        lambda: course_utils.resolve_checkpoint(str(folder)),
        lambda: course_utils.pipeline("text-classification", model=str(folder)),
        lambda: course_utils.estimate_memory(folder),
    ):
        with pytest.raises(CourseError, match="JSONDecodeError") as err:
            call()
        assert str(config) in str(err.value)
    assert main(["estimate", str(folder)]) == 2
    assert str(config) in one_line(capsys.readouterr().err, "estimate")


# --- folders the course cannot write to -------------------------------------------------------


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".course-write-test").mkdir()
    except OSError:
        return False
    (folder / ".course-write-test").rmdir()
    return True


@pytest.fixture
def read_only_folder(tmp_path):
    """An existing folder this process cannot write to. Permissions do not stop root (the
    tests run as root in CI), so then a folder of a kernel file system (/sys, /proc) is used."""
    candidate = tmp_path / "read-only"
    candidate.mkdir()
    candidate.chmod(0o555)
    try:
        for folder in (candidate, Path("/sys"), Path("/proc")):
            if folder.is_dir() and not _can_write(folder):
                yield folder
                return
        pytest.skip("no folder this process cannot write to (root without /sys or /proc)")
    finally:
        candidate.chmod(0o755)


@pytest.fixture(params=["inside-a-file", "read-only"])
def unwritable(request, tmp_path):
    """A folder path that cannot be created: under a file, or under a read-only folder."""
    if request.param == "inside-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        return blocker / "sub"
    return request.getfixturevalue("read_only_folder") / "course-test-folder"


def test_course_cache_that_cannot_be_written(unwritable, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CACHE", str(unwritable))
    assert main(["standins", "build", "distilgpt2"]) == 2
    line = one_line(capsys.readouterr().err, "standins")
    assert str(unwritable) in line and f"COURSE_CACHE={unwritable}" in line
    assert main(["standins", "clear"]) == 0  # nothing there to clear: a correct answer
    with pytest.raises(standins.StandinUnavailableError) as err:
        course_utils.pipeline("text-generation", model="distilgpt2")
    assert str(unwritable) in str(err.value) and "COURSE_CACHE=" in str(err.value)


def _tiny_notebook(folder: Path, *cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A title"), *cells]
    path = folder / "07_tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("kind", ["slides", "html"])
def test_export_output_that_cannot_be_written(kind, unwritable, tmp_path, capsys):
    deck = _tiny_notebook(tmp_path)
    assert main([kind, str(deck), "--output", str(unwritable)]) == 2
    line = one_line(capsys.readouterr().err, kind)
    assert str(unwritable) in line and "--output" in line


def test_training_output_that_cannot_be_written_fails_before_training(unwritable, capsys):
    assert main(["train-mrpc", "--output-dir", str(unwritable), "--max-steps", "1"]) == 2
    captured = capsys.readouterr()
    line = one_line(captured.err, "train-mrpc")
    assert str(unwritable) in line and "--output-dir" in line
    assert "Training" not in captured.out


def test_training_with_an_unknown_checkpoint_is_one_line(tmp_path, capsys):
    args = ["train-mrpc", "--checkpoint", "distillbert", "--output-dir", str(tmp_path / "run")]
    assert main(args) == 2
    line = one_line(capsys.readouterr().err, "train-mrpc")
    assert "distillbert" in line and "did you mean" in line


@pytest.mark.parametrize("device", ["bogus", "cuda:99"])
def test_estimate_on_a_device_that_is_not_here_is_one_line(device, capsys):
    assert main(["estimate", "distilgpt2", "--device", device]) == 2
    captured = capsys.readouterr()
    assert f"--device '{device}'" in one_line(captured.err, "estimate")
    assert captured.out == ""  # checked before anything is estimated


# --- memory checks answer the question that the load asks -------------------------------------


@pytest.fixture
def twenty_gib_free(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device=None: (20 * GIB, 24 * GIB, "RAM"))


LLAMA = "meta-llama/Meta-Llama-3-8B"  # 8.0 B parameters, stored in bfloat16


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"model_kwargs": {"dtype": torch.bfloat16}},
        {"dtype": "bfloat16"},
        {"torch_dtype": "bf16"},
    ],
    ids=["auto", "model_kwargs", "dtype", "torch_dtype"],
)
def test_memory_check_uses_the_dtype_the_load_will_use(twenty_gib_free, kwargs):
    # 16 GB of bf16 weights fit in 20 GiB: the check passes, and offline the catalog says this
    # model is for memory checks only (nothing is ever loaded).
    with pytest.raises(CheckpointError, match="memory checks only"):
        course_utils.pipeline("text-generation", model=LLAMA, **kwargs)


def test_memory_check_refuses_what_does_not_fit_in_the_dtype_asked_for(twenty_gib_free):
    with pytest.raises(course_utils.ModelTooLargeError, match="in float32"):
        course_utils.pipeline("text-generation", model=LLAMA, dtype=torch.float32)


def test_auto_dtype_is_the_stored_dtype(tmp_path):
    assert course_utils.estimate_memory(LLAMA, dtype="auto").dtype == "bfloat16"
    config = {"model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2, "vocab_size": 10}
    (tmp_path / "config.json").write_text(json.dumps({**config, "dtype": "float16"}))
    assert course_utils.estimate_memory(tmp_path, dtype="auto").dtype == "float16"
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert course_utils.estimate_memory(tmp_path, dtype="auto").dtype == "float32"


def test_unknown_dtype_fails_before_anything_is_located(monkeypatch):
    monkeypatch.setattr("course_utils.models.resolve.locate", pytest.fail)
    with pytest.raises(ValueError, match="Unknown dtype 'float13'"):
        course_utils.pipeline("text-generation", model="distilgpt2", dtype="float13")


def test_bad_arguments_are_clear_errors():
    with pytest.raises(CourseError, match="got None"):
        course_utils.estimate_memory(None)
    with pytest.raises(TypeError, match="training must be True or False, got 'no'"):
        course_utils.estimate_memory("distilgpt2", training="no")
    estimate = course_utils.estimate_memory("distilgpt2")
    for available, total in ((10, -5), (-1, None), (100, 50), ("lots", None)):
        with pytest.raises(ValueError, match="bytes"):
            course_utils.check_fits(estimate, available_bytes=available, total_bytes=total)


@pytest.mark.parametrize("value", ["1", "true", "Yes", "ON"])
def test_switches_accept_true_yes_on(value, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device=None: (GIB, GIB, "RAM"))
    monkeypatch.setenv("COURSE_ALLOW_TOO_LARGE", value)
    monkeypatch.setenv("COURSE_FORCE_STANDINS", value)
    assert settings.allow_too_large() and policy.force_standins()
    assert course_utils.ensure_fits(LLAMA).verdict == "does not fit"  # warned, not refused


@pytest.mark.parametrize("value", ["0", "false", "off", "", "2"])
def test_switches_are_off_otherwise(value, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device=None: (GIB, GIB, "RAM"))
    monkeypatch.setenv("COURSE_ALLOW_TOO_LARGE", value)
    monkeypatch.setenv("COURSE_FORCE_STANDINS", value)
    assert not settings.allow_too_large() and not policy.force_standins()
    with pytest.raises(course_utils.ModelTooLargeError):
        course_utils.ensure_fits(LLAMA)


# --- safetensors first; pickled weights said out loud ---------------------------------------


def _cached_repo(cache: Path, repo_id: str, files: list[str], missing: list[str] = ()) -> None:
    """What the HF cache holds after a download: refs/main, a snapshot, .no_exist entries."""
    commit = "b" * 40
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    for name, where in [(f, "snapshots") for f in files] + [(f, ".no_exist") for f in missing]:
        path = folder / where / commit / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}" if where == "snapshots" else "")


def test_pickled_weights_count_only_where_there_are_no_safetensors(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    _cached_repo(tmp_path, "someone/old-model", ["config.json", "vocab.txt", "pytorch_model.bin"])
    assert not cache.model_is_cached(
        "someone/old-model"
    )  # the repo may have safetensors: not known
    _cached_repo(tmp_path, "someone/old-model", [], missing=list(cache.SAFETENSORS_FILES))
    assert cache.model_is_cached("someone/old-model")  # the Hub said it has none
    _cached_repo(tmp_path, "someone/new-model", ["config.json", "model.safetensors"])
    assert not cache.model_is_cached("someone/new-model")  # no tokenizer: it would fail offline
    _cached_repo(tmp_path, "someone/new-model", ["tokenizer.json"])
    assert cache.model_is_cached("someone/new-model")


def test_prefetch_says_before_downloading_that_weights_are_pickled(monkeypatch, capsys):
    import huggingface_hub
    from test_prefetch import dry_run_answer

    files = {"config.json": 10, "pytorch_model.bin": 1000, "tf_model.h5": 1000, "vocab.txt": 5}
    calls = []

    def snapshot_download(repo_id, allow_patterns=None, dry_run=False, **kwargs):
        if dry_run:
            return dry_run_answer(repo_id, files, allow_patterns)
        print("DOWNLOADING", {"allow_patterns": allow_patterns})

    monkeypatch.setattr(policy, "offline_mode", lambda: False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(prefetch, "download_dataset", lambda item: None)
    monkeypatch.setattr(hub, "confirm_absent", lambda repo, names: calls.append((repo, names)))
    monkeypatch.setattr(hub, "probe", lambda *a, **k: hub.Probe(hub.endpoint(), 0.1, status=200))
    assert main(["prefetch", "3"]) == 0
    out = capsys.readouterr().out
    note = out.index("only pickled ones (pytorch_model.bin)")
    assert "weights_only" in out[note : note + 300]
    assert note < out.index("DOWNLOADING")
    assert "'allow_patterns': ['config.json', 'pytorch_model.bin', 'vocab.txt']" in out
    assert calls == [("google-bert/bert-base-uncased", cache.SAFETENSORS_FILES)]


# --- issue #23, item 18: public functions take only what they can use ------------------------


def test_a_folder_that_is_no_model_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("/etc", "~", ".", str(empty)):
        with pytest.raises(
            CheckpointError, match="not a model folder: it has no config.json"
        ) as err:
            course_utils.resolve_checkpoint(name)
        assert name in str(err.value) and "save_pretrained()" in str(err.value)
    with pytest.raises(CheckpointError, match=str(tmp_path / "home")):
        course_utils.resolve_checkpoint("~")  # where "~" is, too
    listed = tmp_path / "listed"
    listed.mkdir()
    (listed / "config.json").write_text("[1, 2, 3]")
    with pytest.raises(CheckpointError, match="holds a JSON list, not the object"):
        course_utils.resolve_checkpoint(str(listed))


def test_a_local_folder_named_like_a_hub_id_says_it_hides_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gpt2").mkdir()  # e.g. left over from an interrupted save
    with pytest.raises(CheckpointError, match="If you meant the Hub model 'gpt2'"):
        course_utils.resolve_checkpoint("gpt2")


def test_real_model_and_tokenizer_folders_still_pass(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "restored" / "bart"
    assert course_utils.resolve_checkpoint(str(fixture)) == str(fixture)
    standin = standins.ensure_standin("distilgpt2")
    assert course_utils.resolve_checkpoint(str(standin)) == str(standin)
    from transformers import AutoTokenizer

    tokenizer_only = tmp_path / "my-tokenizer"
    AutoTokenizer.from_pretrained(str(fixture)).save_pretrained(tokenizer_only)
    assert not (tokenizer_only / "config.json").exists()
    assert course_utils.resolve_checkpoint(str(tokenizer_only)) == str(tokenizer_only)


BERT = {"model_type": "bert", "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10}


@pytest.mark.parametrize(
    "config, expected",
    [
        ({**BERT, "hidden_size": -8}, "hidden_size=-8, but a size must be a whole number"),
        ({**BERT, "hidden_size": 0}, "hidden_size=0"),
        ({**BERT, "hidden_size": "big"}, "field 'hidden_size'.*expected int, got str"),
        ({**BERT, "hidden_size": 9}, "not a multiple of the number of attention heads"),
        ({**BERT, "hidden_size": 8, "vocab_size": -1}, "vocab_size=-1"),
    ],
    ids=["negative", "zero", "text", "heads-do-not-divide", "negative-vocab"],
)
def test_a_config_with_impossible_sizes_is_a_course_error(config, expected, tmp_path):
    with pytest.raises(CourseError, match=expected) as err:
        course_utils.estimate_memory(config)
    assert "config.json" in str(err.value)  # where to fix it
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CourseError, match=expected):
        course_utils.estimate_memory(tmp_path)


def test_a_config_object_with_a_negative_size_is_a_course_error():
    from transformers import BertConfig

    with pytest.raises(memory.InvalidConfigError, match="hidden_size=-8"):
        course_utils.estimate_memory(BertConfig(hidden_size=-8))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"available_bytes": float("inf")},
        {"available_bytes": float("nan")},
        {"available_bytes": 10, "total_bytes": float("inf")},
        {"total_bytes": 10},
    ],
    ids=["inf", "nan", "total-inf", "total-alone"],
)
def test_check_fits_takes_finite_byte_counts(kwargs):
    estimate = course_utils.estimate_memory("distilgpt2")
    with pytest.raises(memory.MemoryArgumentError, match="bytes") as err:
        course_utils.check_fits(estimate, **kwargs)
    assert isinstance(err.value, CourseError) and isinstance(err.value, ValueError)
    with pytest.raises(memory.MemoryArgumentError, match="needs the result of estimate_memory"):
        course_utils.check_fits("distilgpt2")


@pytest.fixture(scope="module")
def pairs():
    from datasets import Dataset, DatasetDict

    good = {"sentence1": ["One.", "Two."], "sentence2": ["Uno.", "Dos."], "label": [1, 0]}
    gap = {**good, "sentence2": ["Uno.", None]}
    return Dataset.from_dict(good), DatasetDict(
        {"train": Dataset.from_dict(good), "validation": Dataset.from_dict(gap)}
    )


@pytest.fixture(scope="module")
def bert_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(course_utils.resolve_checkpoint("bert-base-uncased"))


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        ("list", {}, "needs a datasets Dataset or DatasetDict, got a list: .*Dataset.from_dict"),
        ("no-tokenizer", {}, "needs a tokenizer, got None: .*AutoTokenizer.from_pretrained"),
        ("tokenizer-name", {}, r"load it first, AutoTokenizer.from_pretrained\('bert"),
        ("dataset", {"columns": "sentence1"}, "columns='sentence1' is one name"),
        ("dataset", {"columns": ("sentence1", 2)}, "one or two text columns, got"),
        (
            "dataset",
            {"columns": ("label", "sentence2")},
            "column 'label' holds int64 values, not text",
        ),
        ("dataset", {"num_proc": 0}, "num_proc must be 'auto', None"),
        ("split-with-none", {}, "row 1 of the 'validation' split has no text in 'sentence2'"),
    ],
)
def test_tokenize_pairs_says_what_it_takes(pairs, bert_tokenizer, args, kwargs, expected):
    from course_utils.mrpc import TokenizeArgumentError

    dataset, with_gap = pairs
    positional = {
        "list": ([{"sentence1": "One.", "sentence2": "Uno."}], bert_tokenizer),
        "no-tokenizer": (dataset, None),
        "tokenizer-name": (dataset, "bert-base-uncased"),
        "dataset": (dataset, bert_tokenizer),
        "split-with-none": (with_gap, bert_tokenizer),
    }[args]
    with pytest.raises(TokenizeArgumentError, match=expected):
        course_utils.tokenize_pairs(*positional, **kwargs)


def test_tokenize_pairs_counts_missing_texts_in_the_rows_selected(pairs, bert_tokenizer):
    _, with_gap = pairs
    kept = with_gap["validation"].select([0])  # the row with None is not selected
    assert course_utils.tokenize_pairs(kept, bert_tokenizer)["input_ids"][0][0] == 101


@pytest.mark.parametrize("model", [123, 4.5, ["distilgpt2"], {"name": "distilgpt2"}])
def test_pipeline_model_must_name_or_be_a_model(model, monkeypatch):
    from course_utils.pipelines.factory import PipelineArgumentError

    monkeypatch.setattr("course_utils.models.resolve.locate", pytest.fail)
    with pytest.raises(PipelineArgumentError, match=r"is not a model: pass a Hub id"):
        course_utils.pipeline("text-classification", model=model)


@pytest.mark.parametrize(
    "task, example",
    [
        ("image-classification", "google/vit-base-patch16-224"),
        ("automatic-speech-recognition", "facebook/wav2vec2-base-960h"),
        ("table-question-answering", "google/tapas-base-finetuned-wtq"),
    ],
)
def test_a_task_without_a_course_model_suggests_a_model_for_that_task(task, example):
    from course_utils.pipelines.factory import NoDefaultModelError

    with pytest.raises(NoDefaultModelError) as err:
        course_utils.pipeline(task)
    message = str(err.value)
    assert f"model={example!r}" in message and f"pipeline_tag={task}" in message
    assert not any(e.hub_id in message for e in catalog.ENTRIES)  # no text model offered
    if task != "table-question-answering":
        assert "it covers text tasks" in message


# --- issue #23, item 19: a GPU that is not here, however it is named ---------------------------


@pytest.mark.parametrize("device", [0, "cuda", "cuda:0", torch.device("cuda")])
def test_pipeline_on_a_gpu_that_is_not_here_is_refused_before_loading(device, monkeypatch):
    from course_utils.models import device as devices

    monkeypatch.setattr(devices, "is_available", lambda kind: kind == "cpu")
    monkeypatch.setattr("course_utils.models.resolve.locate", pytest.fail)
    with pytest.raises(devices.DeviceError, match="device=") as err:
        course_utils.pipeline("text-classification", model="distilgpt2", device=device)
    assert "leave device out" in str(err.value).lower()


# --- the small ones ---------------------------------------------------------------------------


@pytest.mark.slow
def test_html_execute_fails_when_a_cell_raises(tmp_path, capsys):
    expected = nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]})
    deck = _tiny_notebook(
        tmp_path,
        nbformat.v4.new_code_cell("print('fine')"),
        expected,
        nbformat.v4.new_code_cell("{}['missing']"),
    )
    assert main(["html", str(deck), "--execute", "--output", str(tmp_path / "out")]) == 2
    line = one_line(capsys.readouterr().err, "html")
    assert "1 cell(s) raised" in line and "cell 4: KeyError" in line
    assert "ZeroDivisionError" not in line  # the cell tagged raises-exception is expected to
    assert (tmp_path / "out" / "07_tiny.html").is_file()  # written, showing the error


def test_standins_build_force_replaces_the_folder(monkeypatch, tmp_path, capsys):
    from course_utils.standins import builders as standin_models

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    builds = []

    def fake_build(folder, entry):  # the real builders are tested in test_standins.py
        builds.append(entry.hub_id)
        (Path(folder) / "config.json").write_text(json.dumps({"build": len(builds)}))

    monkeypatch.setattr(standin_models, "build", fake_build)
    folder = standins.ensure_standin("distilgpt2")
    first = os.stat(folder).st_ino
    assert main(["standins", "build", "distilgpt2"]) == 0
    assert os.stat(folder).st_ino == first and len(builds) == 1  # intact: kept
    capsys.readouterr()
    assert main(["standins", "build", "distilgpt2", "--force"]) == 0
    assert "built distilbert/distilgpt2" in capsys.readouterr().out
    assert os.stat(folder).st_ino != first and len(builds) == 2
    assert json.loads((folder / "config.json").read_text()) == {"build": 2}
    assert standins.is_built("distilgpt2")


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "gpt2", "--bogus"],
        ["standins", "build", "--bogus"],
        ["train-mrpc", "--epochs", "x"],
    ],
)
def test_a_bad_flag_shows_the_subcommand_usage(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    command = " ".join(a for a in args[:2] if not a.startswith("-") and a != "gpt2")
    assert capsys.readouterr().err.startswith(f"usage: course {command} ")


def test_catalog_entries_record_a_dtype_the_memory_check_knows():
    for entry in catalog.ENTRIES:
        assert memory.normalize_dtype(entry.dtype) == entry.dtype, entry.hub_id
