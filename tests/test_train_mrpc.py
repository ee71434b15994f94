"""The chapter 3 training script: one process, two processes, and resuming after SIGKILL.

Every run uses the same small settings (64 training pairs, 8 optimizer steps of a global batch
of 8, pairs cut to 48 tokens) on the offline fixture and a tiny random BERT (the stand-in for
bert-base-cased: the script's mechanics do not depend on the model's size, and its checkpoints
are 1 MB instead of 200 MB).
Tolerances:
- resumed vs uninterrupted (same process count): same final step, every weight within 1e-5
  (same data order, restored RNG states: in practice bit for bit);
- two processes vs one (same global batch): same final step, final eval accuracy within 1/16
  (dropout masks differ between the two layouts, so weights agree only approximately:
  largest difference below 5e-3 after 8 steps at lr 5e-5).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.training import __main__ as train_mrpc
from course_utils.training.checkpoints import (
    STATE_FILE,
    complete_checkpoints,
    latest_checkpoint,
    remove_partial_checkpoints,
)
from course_utils.training.lock import LOCK_FILE
from course_utils.training.loop import EpochShuffleSampler
from course_utils.training.options import (
    RunConfig,
    TrainingSetupError,
    build_parser,
    check_resumable,
)

pytestmark = pytest.mark.slow

SMALL_RUN = [
    "--checkpoint", "google-bert/bert-base-cased",
    "--train-subset", "64",
    "--eval-subset", "32",
    "--max-length", "48",
    "--batch-size", "8",
    "--epochs", "1",
    "--max-steps", "8",
    "--seed", "7",
]  # fmt: skip
RESUME_WEIGHT_ATOL = 1e-5
MULTIPROCESS_ACCURACY_TOL = 1 / 16
MULTIPROCESS_WEIGHT_ATOL = 5e-3
RUN_TIMEOUT = 300


def script(*args: str) -> list[str]:
    return [sys.executable, "-m", "course_utils.training", *args]


# The training script, killed with SIGKILL by itself right after the checkpoint of step
# KILL_AFTER_STEP is complete: a crash at a known point, however fast the steps are.
KILL_AFTER_STEP = 3
_KILLED_SCRIPT = f"""
import os, signal, sys
from course_utils.training import checkpoints as train_checkpoints
from course_utils.training import __main__ as train_mrpc


save = train_checkpoints.save_checkpoint

def save_then_die(accelerator, output_dir, step, state, keep):
    folder = save(accelerator, output_dir, step, state, keep)
    if step == {KILL_AFTER_STEP}:
        os.kill(os.getpid(), signal.SIGKILL)
    return folder

train_checkpoints.save_checkpoint = save_then_die
sys.exit(train_mrpc.main(sys.argv[1:]))
"""


def killed_script(*args: str) -> list[str]:
    return [sys.executable, "-c", _KILLED_SCRIPT, *args]


def torchrun(nproc: int, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run",
        "--nproc_per_node", str(nproc),
        "--master_port", str(29400 + os.getpid() % 500),
        "-m", "course_utils.training", *args,
    ]  # fmt: skip


def run(command: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def metrics(output_dir: Path) -> dict:
    return json.loads((output_dir / "metrics.json").read_text())


def weights(output_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(output_dir / "model" / "model.safetensors")


def max_weight_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[name] - b[name]).abs().max()) for name in a)


@pytest.fixture(scope="module")
def single_run(tmp_path_factory) -> Path:
    """The reference: one process, uninterrupted."""
    output = tmp_path_factory.mktemp("single")
    run(script(*SMALL_RUN, "--save-every", "3", "--output-dir", str(output)))
    return output


def test_single_process_run_trains_and_saves(single_run):
    result = metrics(single_run)
    assert result["step"] == result["total_steps"] == 8
    assert result["num_processes"] == 1
    assert result["eval_rows"] == 32
    assert 0.0 <= result["eval_accuracy"] <= 1.0
    steps = [step for step, _ in complete_checkpoints(single_run)]
    assert steps == [6, 8]  # saved at 3, 6 and 8; the two newest kept
    state = json.loads((single_run / "checkpoints" / "step-0000008" / STATE_FILE).read_text())
    assert state["step"] == 8
    for name in ("model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl"):
        assert (single_run / "checkpoints" / "step-0000008" / name).is_file(), name
    assert (single_run / "model" / "config.json").is_file()
    assert not list((single_run / "checkpoints").glob(".tmp-*"))


def test_sigkill_then_resume_matches_uninterrupted_run(single_run, tmp_path):
    output = tmp_path / "killed"
    args = [*SMALL_RUN, "--save-every", "3", "--output-dir", str(output)]
    killed = subprocess.run(
        killed_script(*args), capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-3000:]
    assert not (output / "metrics.json").exists()
    killed_at = [step for step, _ in complete_checkpoints(output)]
    assert killed_at == [KILL_AFTER_STEP]
    # The killed run's lock file is left behind, naming it; the OS released the lock itself.
    assert "process " in (output / LOCK_FILE).read_text()

    # What a crash during a save leaves behind, plus a folder that never got its state file:
    # neither may be taken for the latest checkpoint.
    (output / "checkpoints" / ".tmp-step-0000099").mkdir()
    (output / "checkpoints" / ".tmp-step-0000099" / "model.safetensors").write_bytes(b"partial")
    (output / "checkpoints" / "step-0000098").mkdir()
    assert latest_checkpoint(output).name == f"step-{killed_at[-1]:07d}"

    result = run(script(*args, "--resume"))
    assert f"Resumed from {output / 'checkpoints' / f'step-{killed_at[-1]:07d}'}" in result.stdout
    assert "half-written" in result.stdout
    assert not (output / "checkpoints" / ".tmp-step-0000099").exists()

    resumed, reference = metrics(output), metrics(single_run)
    assert resumed["step"] == reference["step"] == 8
    assert resumed["eval_accuracy"] == reference["eval_accuracy"]
    difference = max_weight_difference(weights(output), weights(single_run))
    assert difference <= RESUME_WEIGHT_ATOL, difference


def test_two_processes_match_one_process(single_run, tmp_path):
    output = tmp_path / "two"
    result = run(torchrun(2, *SMALL_RUN, "--save-every", "3", "--output-dir", str(output)))
    assert "over 2 process(es)" in result.stdout
    two, one = metrics(output), metrics(single_run)
    assert two["num_processes"] == 2
    assert two["step"] == one["step"] == 8
    assert two["eval_rows"] == one["eval_rows"] == 32  # every validation pair counted once
    assert abs(two["eval_accuracy"] - one["eval_accuracy"]) <= MULTIPROCESS_ACCURACY_TOL
    difference = max_weight_difference(weights(output), weights(single_run))
    assert difference <= MULTIPROCESS_WEIGHT_ATOL, difference
    # each process saved its own RNG state
    final = output / "checkpoints" / "step-0000008"
    assert (final / "random_states_0.pkl").is_file() and (final / "random_states_1.pkl").is_file()


# --- fast unit tests -------------------------------------------------------------------------


def make_checkpoint(root: Path, step: int, complete: bool = True) -> Path:
    folder = root / "checkpoints" / f"step-{step:07d}"
    folder.mkdir(parents=True)
    if complete:
        (folder / STATE_FILE).write_text(json.dumps({"step": step}))
    return folder


def test_latest_checkpoint_skips_partial_folders(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    make_checkpoint(tmp_path, 3)
    newest = make_checkpoint(tmp_path, 12)
    make_checkpoint(tmp_path, 20, complete=False)
    (tmp_path / "checkpoints" / ".tmp-step-0000030").mkdir()
    (tmp_path / "checkpoints" / "notes.txt").write_text("not a checkpoint")
    assert latest_checkpoint(tmp_path) == newest
    removed = remove_partial_checkpoints(tmp_path)
    assert [path.name for path in removed] == [".tmp-step-0000030"]
    assert latest_checkpoint(tmp_path) == newest


def config(**changes) -> RunConfig:
    args = build_parser().parse_args([])
    for name, value in changes.items():
        setattr(args, name, value)
    return RunConfig.from_args(args)


def test_resume_refuses_other_settings(tmp_path):
    folder = make_checkpoint(tmp_path, 4)
    saved = config(batch_size=16)
    (folder / STATE_FILE).write_text(json.dumps({"step": 4, "config": vars(saved)}))
    check_resumable(folder, config(batch_size=16, output_dir="elsewhere"))  # not run-defining
    with pytest.raises(TrainingSetupError, match="--batch-size 16 -> 8"):
        check_resumable(folder, config())


def test_bad_settings_are_refused():
    with pytest.raises(TrainingSetupError, match="--epochs=0"):
        config(epochs=0)
    with pytest.raises(TrainingSetupError, match="learning-rate"):
        config(learning_rate=-1.0)
    assert config(batch_size=4).eval_batch_size == 8


def test_fresh_run_refuses_a_folder_with_checkpoints(tmp_path, capsys):
    make_checkpoint(tmp_path, 5)
    assert train_mrpc.main(["--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "step-0000005" in err


def test_bad_settings_exit_with_one_line(capsys):
    assert train_mrpc.main(["--batch-size", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train-mrpc:") and "\n" not in err


def test_config_round_trips_through_flags():
    original = config(max_steps=5, resume=True, learning_rate=3e-5)
    parsed = build_parser().parse_args(original.to_argv())
    assert RunConfig.from_args(parsed) == original


def test_epoch_order_depends_only_on_seed_and_epoch():
    sampler = EpochShuffleSampler(50, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(50))
    assert list(EpochShuffleSampler(50, seed=3)) == first
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == list(range(50))
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_course_train_mrpc_help():
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.cli", "train-mrpc", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for flag in ("--checkpoint", "--epochs", "--batch-size", "--learning-rate", "--output-dir",
                 "--seed", "--max-steps", "--train-subset", "--resume", "--num-processes"):  # fmt: skip
        assert flag in result.stdout


@pytest.fixture(autouse=True)
def _no_stray_runs_folder():
    """Runs in this file always pass --output-dir; nothing lands in the working directory."""
    before = Path("runs").exists()
    yield
    if not before and Path("runs").exists():
        shutil.rmtree("runs")
        pytest.fail("a test wrote to ./runs")


def test_num_processes_starts_torchrun_with_the_same_flags(monkeypatch, capsys):
    from course_utils.cli import main
    from course_utils.cli import train as cli_train

    calls = []
    monkeypatch.setattr(cli_train, "launch", lambda args: calls.append(args) or 0)
    assert main(["train-mrpc", "--num-processes", "2", "--max-steps", "3", "--resume"]) == 0
    (torchrun_args,) = calls
    assert torchrun_args[:4] == ["--nproc_per_node", "2", "-m", "course_utils.training"]
    flags = torchrun_args[4:]
    parsed = build_parser().parse_args(flags)
    assert parsed.max_steps == 3 and parsed.resume is True
    assert "--num-processes" not in flags
    assert main(["train-mrpc", "--num-processes", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
