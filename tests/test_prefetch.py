"""``course prefetch`` against a mocked Hub: nothing here touches the network."""

import subprocess
import sys

import httpx2
import huggingface_hub
import pytest

from course_utils import prefetch
from course_utils.cli import main
from course_utils.hub import client as course_hub
from course_utils.hub import policy

# What the Hub lists for google-bert/bert-base-uncased: the same weights in five formats.
BERT_FILES = {
    "model.safetensors": 440_449_768,
    "pytorch_model.bin": 440_473_133,
    "tf_model.h5": 536_063_208,
    "flax_model.msgpack": 438_064_459,
    "rust_model.ot": 534_240_408,
    "onnx/model.onnx": 437_000_000,
    "coreml/fill-mask/float32_model.mlpackage/Data/weights.bin": 437_000_000,
    "config.json": 570,
    "tokenizer.json": 466_062,
    "tokenizer_config.json": 48,
    "vocab.txt": 231_508,
    ".gitattributes": 491,
    "README.md": 10_474,
}
BERT_WANTED = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
]
MRPC_FILES = {
    "mrpc/train-00000-of-00001.parquet": 649_281,
    "mrpc/validation-00000-of-00001.parquet": 75_102,
    "mrpc/test-00000-of-00001.parquet": 308_441,
    "cola/train-00000-of-00001.parquet": 251_000,
    "README.md": 35_000,
}


def dry_run_answer(repo_id, files: dict[str, int], patterns, cached=()):
    """What huggingface_hub's snapshot_download(dry_run=True) returns for ``files``."""
    from huggingface_hub.file_download import DryRunFileInfo
    from huggingface_hub.utils import filter_repo_objects

    return [
        DryRunFileInfo(
            commit_hash="a" * 40,
            file_size=files[name],
            filename=name,
            local_path=f"/cache/{repo_id}/{name}",
            is_cached=name in cached,
            will_download=name not in cached,
        )
        for name in filter_repo_objects(list(files), allow_patterns=patterns)
    ]


class FakeHub:
    """Records every Hub call; answers huggingface_hub's dry runs from the tables above."""

    def __init__(self, monkeypatch, fail_downloads=False, unreachable=False, cached=()):
        self.calls: list[tuple] = []
        self.fail_downloads = fail_downloads
        self.unreachable = unreachable
        hub = self

        def snapshot_download(repo_id, repo_type=None, allow_patterns=None, dry_run=False, **kw):
            if dry_run:
                hub.calls.append(("dry_run", repo_id, repo_type))
                if hub.unreachable:
                    from huggingface_hub.errors import DryRunError

                    raise DryRunError("cannot be accessed") from httpx2.ConnectError(
                        "Name or service not known"
                    )
                if repo_type == "dataset":
                    files = MRPC_FILES
                elif repo_id == "google-bert/bert-base-uncased":
                    files = BERT_FILES
                else:
                    files = {"model.safetensors": 1000, "config.json": 10, "vocab.txt": 5}
                return dry_run_answer(repo_id, files, allow_patterns, cached)
            print(f"DOWNLOADING {repo_id}")
            hub.calls.append(("snapshot_download", repo_id, {"allow_patterns": allow_patterns}))
            if hub.fail_downloads:
                raise OSError("connection reset")
            return "/tmp/nowhere"

        def download_dataset(item):
            print(f"DOWNLOADING {item.repo_id}")
            hub.calls.append(("load_dataset", item.repo_id, item.subset))

        def probe(*args, **kwargs):
            hub.calls.append(("probe",))
            if hub.unreachable:
                return course_hub.Probe(course_hub.endpoint(), 0.1, error="ConnectError")
            return course_hub.Probe(course_hub.endpoint(), 0.1, status=200)

        monkeypatch.setattr(course_hub, "probe", probe)
        monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
        monkeypatch.setattr(prefetch, "download_dataset", download_dataset)
        monkeypatch.setattr(policy, "offline_mode", lambda: False)

    def named(self, kind):
        return [c for c in self.calls if c[0] == kind]


def test_select_files_keeps_safetensors_config_and_tokenizer_only():
    assert prefetch.select_files(list(BERT_FILES)) == BERT_WANTED


def test_select_files_falls_back_to_bin_without_safetensors():
    files = ["pytorch_model.bin", "tf_model.h5", "config.json", "vocab.json", "merges.txt"]
    assert prefetch.select_files(files) == [
        "config.json",
        "merges.txt",
        "pytorch_model.bin",
        "vocab.json",
    ]


def test_dry_run_shows_hub_sizes_and_downloads_nothing(monkeypatch, capsys):
    hub = FakeHub(monkeypatch)
    assert main(["prefetch", "3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert ("dry_run", "google-bert/bert-base-uncased", "model") in hub.calls
    assert ("dry_run", "nyu-mll/glue", "dataset") in hub.calls
    assert not hub.named("snapshot_download") and not hub.named("load_dataset")
    # safetensors + config + tokenizer of BERT (not the .bin/.h5/.msgpack copies) ...
    assert "420.7 MiB" in out
    # ... plus the three MRPC parquet files (not the other GLUE subsets)
    assert "1008.6 KiB" in out
    assert "total: about 421.7 MiB in 2 repositories" in out
    assert "dry run: nothing downloaded" in out


def test_prefetch_shows_sizes_then_downloads_only_the_needed_files(monkeypatch, capsys):
    hub = FakeHub(monkeypatch)
    assert main(["prefetch", "3"]) == 0
    out = capsys.readouterr().out
    assert out.index("total: about 421.7 MiB") < out.index("DOWNLOADING")
    [(_, repo, kwargs)] = hub.named("snapshot_download")
    assert repo == "google-bert/bert-base-uncased"
    assert kwargs["allow_patterns"] == BERT_WANTED
    assert hub.named("load_dataset") == [("load_dataset", "nyu-mll/glue", "mrpc")]
    assert "can now run offline" in out


def test_all_fetches_a_model_used_by_two_chapters_once(monkeypatch, capsys):
    hub = FakeHub(monkeypatch)
    assert main(["prefetch", "all", "--dry-run"]) == 0
    repos = [c[1] for c in hub.named("dry_run")]
    assert repos.count("google-bert/bert-base-uncased") == 1
    assert "alpindale/WizardLM-2-8x22B" not in repos
    assert "skip alpindale/WizardLM-2-8x22B: used for memory checks only" in capsys.readouterr().out


def test_chapter_0_has_only_memory_only_models(monkeypatch, capsys):
    hub = FakeHub(monkeypatch)
    assert main(["prefetch", "0"]) == 0
    out = capsys.readouterr().out
    assert "nothing to download" in out
    assert "skip meta-llama/Meta-Llama-3-8B: used for memory checks only" in out
    assert hub.calls == []


def test_memory_check_skips_a_model_that_cannot_fit(monkeypatch, capsys):
    import course_utils.models.memory

    hub = FakeHub(monkeypatch)
    monkeypatch.setattr(
        course_utils.models.memory,
        "available_memory",
        lambda device=None: (100_000_000, 100_000_000, "RAM"),
    )
    assert main(["prefetch", "3"]) == 0
    out = capsys.readouterr().out
    assert "skip google-bert/bert-base-uncased: DOES NOT FIT" in out
    assert "--allow-too-large" in out
    assert not hub.named("snapshot_download")

    assert main(["prefetch", "3", "--allow-too-large"]) == 0
    assert [c[1] for c in hub.named("snapshot_download")] == ["google-bert/bert-base-uncased"]


def test_failed_download_exits_nonzero_with_one_line(monkeypatch, capsys):
    FakeHub(monkeypatch, fail_downloads=True)
    assert main(["prefetch", "3"]) == 2
    captured = capsys.readouterr()
    assert "failed: OSError: connection reset" in captured.out
    [line] = captured.err.strip().splitlines()
    assert line.startswith(
        "course prefetch: 1 of 2 downloads failed (google-bert/bert-base-uncased)"
    )


def test_unreachable_hub_falls_back_to_catalog_sizes(monkeypatch, capsys):
    """The plan is still shown (the catalog's sizes), but the command did not do what it was
    asked: it exits non-zero with the reason as one paragraph."""
    hub = FakeHub(monkeypatch, unreachable=True)
    assert main(["prefetch", "3", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("the Hub did not answer; catalog size shown") == 2
    assert "dry run: nothing downloaded" in captured.out
    [line] = captured.err.strip().splitlines()
    assert line.startswith("course prefetch: the sizes above are the catalog's estimates: ")
    assert "could not be reached (ConnectError after" in line
    # One probe, and no metadata request once it went unanswered.
    assert hub.named("probe") == [("probe",)]
    assert not hub.named("dry_run")

    hub.calls.clear()
    assert main(["prefetch", "3"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("course prefetch: nothing was downloaded: the Hugging Face Hub at")
    assert "HF_ENDPOINT" in line and "HF_HUB_OFFLINE=1" in line
    assert hub.calls == [("probe",)]  # failed before planning: no memory checks, no downloads


def test_a_hub_that_stops_answering_is_not_asked_again(monkeypatch, capsys):
    hub = FakeHub(monkeypatch)
    answer = huggingface_hub.snapshot_download

    def goes_silent(repo_id, **kwargs):
        hub.unreachable = True  # answers the probe, then goes silent
        return answer(repo_id, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", goes_silent)
    assert main(["prefetch", "3", "--dry-run"]) == 2
    assert len(hub.named("dry_run")) == 1
    assert capsys.readouterr().out.count("the Hub did not answer; catalog size shown") == 2


def test_the_plan_says_what_is_cached_already(monkeypatch, capsys):
    FakeHub(monkeypatch, cached={"config.json", "vocab.txt"})
    assert main(["prefetch", "3", "--dry-run"]) == 0
    assert "2 of these files are in the cache already" in capsys.readouterr().out


def _fake_cached_model(cache, repo_id):
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = folder / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("a" * 40)
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (snapshot / name).write_text("{}")


def test_offline_lists_the_cache(monkeypatch, tmp_path, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    _fake_cached_model(tmp_path, "google-bert/bert-base-uncased")
    monkeypatch.setattr(policy, "offline_mode", lambda: True)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", pytest.fail)

    assert main(["prefetch", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "offline" in out.lower()
    assert "[cached ] google-bert/bert-base-uncased" in out
    assert "[missing] distilbert/distilbert-base-uncased-finetuned-sst-2-english" in out

    assert main(["prefetch", "2"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("course prefetch: offline (HF_HUB_OFFLINE=1)")


@pytest.mark.parametrize("chapter", ["7", "one", "-1", ""])
def test_bad_chapter_is_one_line(chapter, capsys):
    assert main(["prefetch", chapter]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("course prefetch: unknown chapter")


def test_help():
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.cli", "prefetch", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "--dry-run" in result.stdout


def test_chapter_needs_for_course_doctor():
    from course_utils import catalog
    from course_utils.environment import chapter_needs

    lines = chapter_needs()
    by_chapter = {int(line.split()[1]): line for line in lines if line.startswith("chapter ")}
    assert sorted(by_chapter) == [0, 1, 2, 3]
    # chapter 0 only uses Meta-Llama-3-8B for memory checks: nothing to download
    assert "no weights" in by_chapter[0]
    downloadable = [e for e in catalog.for_chapter(1) if not e.memory_only]
    assert f"({len(downloadable)} checkpoints)" in by_chapter[1] and "GiB" in by_chapter[1]
    assert "1 checkpoint, 1 dataset" in by_chapter[3]
    low, high = by_chapter[3].split("takes roughly ")[1].split()[0].split("-")
    assert 1 <= int(low) < int(high) <= 600


def test_doctor_prints_chapter_needs(capsys):
    assert main(["doctor", "--no-hub"]) == 0
    out = capsys.readouterr().out
    assert "Chapter needs:" in out and "chapter 3 will download about" in out


def test_the_zh_cn_edition_adds_its_chinese_models(capsys):
    assert main(["prefetch", "2", "--dry-run"]) == 0
    english = capsys.readouterr().out
    assert main(["prefetch", "2", "--dry-run", "--edition", "zh-CN"]) == 0
    chinese = capsys.readouterr().out
    assert "google-bert/bert-base-chinese" in chinese
    assert "google-bert/bert-base-chinese" not in english
    assert all(line in chinese for line in english.splitlines() if "google-bert/bert-base" in line)
