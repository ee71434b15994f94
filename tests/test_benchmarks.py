"""The benchmarks' own code: the parts that can be checked without a GPU and without timing.

Nothing here asserts a time. The GPU benchmarks run in their smoke mode (tiny shapes, a step or
two, on the CPU) in a process that cannot import ``datasets``, as on the GPU machine.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import gpu
from benchmarks.common import interleaved

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_gc(monkeypatch):
    # interleaved() collects garbage before each call; with torch loaded that is ~0.1 s each.
    monkeypatch.setattr("benchmarks.common.gc.collect", lambda: 0)


def test_interleaved_alternates_the_order_and_stops_when_steady(no_gc):
    calls = []
    funcs = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    timings = interleaved(funcs, repeats=6, min_repeats=2, target_spread=10.0, warmup=0)
    assert calls == list("abccba")  # two rounds, the second in reverse order
    assert all(len(t.seconds) == 2 and len(t.other_load) == 2 for t in timings.values())


def test_interleaved_runs_all_rounds_while_noisy(no_gc):
    funcs = {"a": lambda: None}
    timings = interleaved(funcs, repeats=4, min_repeats=2, target_spread=-1.0, warmup=0)
    assert len(timings["a"].seconds) == 4


def test_gpu_section_is_replaced_and_the_rest_kept():
    text = "## CPU\n\ntables\n"
    once = gpu.replace_gpu_section(text, "### On a GPU\n\nfirst")
    assert once.startswith(text.rstrip()) and "first" in once
    twice = gpu.replace_gpu_section(once + "\ntrailer\n", "### On a GPU\n\nsecond")
    assert "first" not in twice and "second" in twice and "trailer" in twice
    assert gpu.gpu_section(twice).startswith(gpu.START_MARK)


def test_shipped_vocabulary_gives_the_course_ids():
    tokenizer = gpu.load_tokenizer()
    ids = tokenizer("I've been waiting for a HuggingFace course my whole life.")["input_ids"]
    course_ids = [101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026]
    assert ids == course_ids + [2878, 2166, 1012, 102]
    pairs = gpu.tokenized_pairs(tokenizer)
    assert len(pairs) >= 300 and all(p["input_ids"][0] == 101 for p in pairs)
    assert all(len(p["input_ids"]) == len(p["token_type_ids"]) <= 128 for p in pairs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_benchmarks_refuse_without_cuda(capsys):
    assert gpu.main([]) == 2
    assert "--device cpu --smoke" in capsys.readouterr().err
    assert gpu.main(["--device", "cpu"]) == 2  # full shapes only on a GPU


@pytest.mark.slow
def test_gpu_smoke_run_needs_no_datasets(tmp_path):
    output = tmp_path / "results.md"
    output.write_text("## CPU tables\n")
    code = (
        "import sys\n"
        "class NoDatasets:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'datasets' or name.startswith('datasets.'):\n"
        "            raise ImportError('datasets is not installed on the GPU machine')\n"
        "sys.meta_path.insert(0, NoDatasets())\n"
        "from benchmarks.gpu import main\n"
        f"sys.exit(main(['--device', 'cpu', '--smoke', '--output', {str(output)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = output.read_text()
    assert text.startswith("## CPU tables")
    for heading in ("Memory: estimate", "Training throughput", "Pipeline batching"):
        assert heading in text
    assert gpu.START_MARK in text and gpu.END_MARK in text


def test_suite_section_from_a_report_made_elsewhere(tmp_path):
    from benchmarks import bench_suite

    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest" time="12.5">'
        '<testcase classname="notebooks.00_setup.ipynb" name="Cell 0" time="2.0"/>'
        '<testcase classname="notebooks.00_setup.ipynb" name="Cell 1" time="1.0"/>'
        '<testcase classname="tests.test_x" name="test_ok" time="4.0"/>'
        '<testcase classname="tests.test_x" name="test_bad" time="0.5">'
        '<failure message="boom"/></testcase>'
        "</testsuite></testsuites>"
    )
    text = bench_suite.run(report=report)
    assert "| notebooks/00_setup.ipynb | 3.0 s |" in text
    assert "| unit tests (tests/) | 4.5 s |" in text
    assert "12.5 s" in text and "1 FAILED" in text and "tests.test_x::test_bad" in text


def test_results_sections_round_trip():
    from benchmarks.run_all import section_of, wrap_section

    text = wrap_section("mapping", "### Mapping\n\nbody") + "\n\n" + wrap_section("suite", "x")
    assert section_of(text, "mapping") == "### Mapping\n\nbody"
    assert section_of(text, "suite") == "x" and section_of(text, "padding") is None


def test_hub_failure_benchmark_reports_what_the_learner_is_told():
    from benchmarks import bench_hub_failures as bench

    tells = "import sys; sys.exit('set HF_ENDPOINT, or HF_HUB_OFFLINE=1')"
    raises = "raise RuntimeError('deep inside a library')"
    with bench.dead_endpoints() as endpoints:
        seconds, told = bench.measure(["-c", tells], endpoints["refused"])
        _, crashed = bench.measure(["-c", raises], endpoints["stalled"])
    assert told == "exit 1, names HF_ENDPOINT and HF_HUB_OFFLINE" and 0 < seconds < 60
    assert crashed == "exit 1, a traceback"


def test_run_all_leaves_the_waiting_and_loading_benchmarks_to_a_request():
    from benchmarks import run_all

    assert {"hub", "threads", "suite-avx2"} <= set(run_all.ON_REQUEST) <= set(run_all.BENCHMARKS)
    assert run_all.DEFAULT == ("mapping", "padding", "pipeline", "memory", "suite")
