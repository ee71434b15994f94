"""The training script stops clearly, never hangs, and never saves a broken result (issue #23).

- settings numpy or torch would fail on (a seed outside 0..2**32-1, a learning rate that is not
  a finite positive number) are refused before anything is loaded;
- a loss or weights that stop being finite numbers stop the run at once, on every process, and
  no model/ or metrics.json is written;
- a second run into a busy --output-dir is refused (a lock), a stale lock never blocks --resume;
- a full disk while writing a checkpoint or the model names the folder and says --resume goes
  on from the newest complete checkpoint (a real full disk: a small tmpfs, when run as root).

The runs are in-process and tiny, as in test_resume_damage.py (the stand-in GPT-2, 16 pairs,
3 optimizer steps, a checkpoint after each).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import faults
import pytest
from test_resume_damage import FLAGS

from course_utils.cli import main
from course_utils.training import checkpoints as ckpt
from course_utils.training import loop
from course_utils.training.lock import LOCK_FILE

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 180


def course(*args: str) -> tuple[int, str, str]:
    """``course ARGS`` in this process: (status, stdout, stderr)."""
    import contextlib
    import io

    from accelerate.state import AcceleratorState

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args))
    finally:
        AcceleratorState._reset_state(True)
    return status, out.getvalue(), err.getvalue()


def one_paragraph(stderr: str) -> str:
    """The single ``course train-mrpc: ...`` line of stderr; fails on a traceback or several."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if "train-mrpc:" in line]
    assert len(lines) == 1, stderr
    return lines[0]


def steps_saved(output: Path) -> list[int]:
    return [step for step, _ in ckpt.complete_checkpoints(output)]


def assert_no_result(output: Path) -> None:
    assert not (output / "model").exists()
    assert not (output / "metrics.json").exists()
    assert not list(output.glob(".tmp-*")) and not list(output.glob("checkpoints/.tmp-*"))


# --- settings refused before anything loads (items 1 and 10) ----------------------------------


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--learning-rate", "inf", "--learning-rate must be a finite number above 0, got inf"),
        ("--learning-rate", "nan", "--learning-rate must be a finite number above 0, got nan"),
        ("--learning-rate=-inf", None, "got -inf"),
        ("--learning-rate", "0", "got 0.0"),
        ("--seed", "-5", "--seed must be between 0 and 4294967295"),
        ("--seed", str(2**32), f"got {2**32}"),
    ],
)
def test_settings_numpy_or_torch_would_fail_on_are_refused_first(
    flag, value, expected, monkeypatch, capsys
):
    from course_utils.cli import train as cli_train

    monkeypatch.setattr(loop, "make_accelerator", lambda config: pytest.fail("it went on"))
    monkeypatch.setattr(cli_train, "launch", lambda args: pytest.fail("torchrun started"))
    for runs_as_processes in ("1", "2"):  # --num-processes 2 checks before torchrun starts
        args = ["train-mrpc", "--num-processes", runs_as_processes, flag]
        args += [value] if value is not None else []
        assert main(args) == 2
        line = one_paragraph(capsys.readouterr().err)
        assert line.startswith("course train-mrpc: ") and expected in line


def test_bad_settings_are_refused_before_torch_is_imported():
    check = (
        "import sys; from course_utils.cli import main; "
        "status = main(['train-mrpc', '--seed', '-5']); "
        "print(status, [m for m in ('torch', 'numpy', 'accelerate') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.stdout.strip() == "2 []", result.stderr
    assert one_paragraph(result.stderr).startswith("course train-mrpc: --seed must be between")


def test_seed_limits_are_accepted(tmp_path):
    from course_utils.training.options import RunConfig, build_parser

    for seed in ("0", str(2**32 - 1)):
        args = build_parser().parse_args(["--seed", seed, "--output-dir", str(tmp_path)])
        assert RunConfig.from_args(args).seed == int(seed)


# --- a diverging run stops, on every process, and saves nothing broken (item 1) ---------------


def test_an_exploding_learning_rate_stops_at_the_first_nan_loss(tmp_path):
    output = tmp_path / "run"
    status, out, err = course(
        "train-mrpc", *FLAGS, "--learning-rate", "1e30", "--output-dir", str(output)
    )
    assert status == 2
    line = one_paragraph(err)
    # Step 1 applied lr 1e30 (its loss was finite); step 2's loss is NaN and is never applied.
    assert "training diverged: at step 2 of 3 the loss is nan" in line
    assert "--learning-rate 1e+30" in line and "Lower it" in line
    assert "Done" not in out
    assert_no_result(output)
    # Step 1's weights are huge but finite: its checkpoint was written, and the message says
    # that resuming it would keep the learning rate.
    assert steps_saved(output) == [1]
    assert "up to step-0000001, were written with this learning rate" in line


def test_weights_that_break_while_the_loss_is_finite_are_never_saved(tmp_path, monkeypatch):
    """After step 2 one weight turns NaN (the loss of step 2 was finite): the checks before the
    checkpoint and the evaluation catch it, so only step 1's checkpoint exists."""
    import torch

    prepare = loop.prepare_run

    def prepare_then_break_after_step_2(config, accelerator):
        run = prepare(config, accelerator)
        step = run.optimizer.step

        def step_and_break(*args, **kwargs):
            result = step(*args, **kwargs)
            if run.step == 1:  # the optimizer step of step 2 (run.step counts finished steps)
                first = next(accelerator.unwrap_model(run.model).parameters())
                with torch.no_grad():
                    first.view(-1)[0] = float("nan")
            return result

        run.optimizer.step = step_and_break
        return run

    monkeypatch.setattr(loop, "prepare_run", prepare_then_break_after_step_2)
    output = tmp_path / "run"
    status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output))
    assert status == 2
    line = one_paragraph(err)
    assert "after step 2 of 3, 1 of the model's" in line and "weights are NaN or infinite" in line
    assert "up to step-0000001" in line and "new --output-dir" in line
    assert_no_result(output)
    assert steps_saved(output) == [1]


_POISONED_RANK_1 = """
import sys
from course_utils.training import __main__ as script
from course_utils.training import loop

check = loop.stop_if_loss_not_finite

def poisoned(run, loss):
    if run.accelerator.process_index == 1 and run.step == 1:
        loss = loss * float("nan")  # only this process sees a NaN loss, at step 2
    return check(run, loss)

loop.stop_if_loss_not_finite = poisoned
sys.exit(script.main(sys.argv[1:]))
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_stop_together_when_one_sees_a_nan_loss(tmp_path):
    """Rank 1 alone gets a NaN loss at step 2. The two processes are started by hand, with the
    variables torchrun sets, so no launcher stops a process left waiting in an all-reduce: both
    must stop by themselves, and only the main one prints why."""
    script = tmp_path / "poisoned.py"
    script.write_text(_POISONED_RANK_1)
    output = tmp_path / "run"
    world = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2",
             "LOCAL_WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}  # fmt: skip
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), *FLAGS, "--output-dir", str(output)],
            env={**os.environ, **world, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        results = [p.communicate(timeout=RUN_TIMEOUT) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, (out, err) in zip(processes, results, strict=True):
        assert p.returncode == 2, out[-2000:] + err[-2000:]
        assert "Traceback" not in err, err[-3000:]
    said = [[line for line in err.splitlines() if "train-mrpc:" in line] for _, err in results]
    assert said[1] == []  # rank 1 found the NaN, rank 0 says so
    [line] = said[0]
    assert line.startswith("train-mrpc: training diverged: at step 2 of 3 the loss is nan")
    assert_no_result(output)
    assert steps_saved(output) == [1]


_LAUNCH = """
import sys
from course_utils.cli.errors import CommandError
from course_utils.cli.train import launch

try:
    sys.exit(launch(sys.argv[1:]))
except CommandError as err:
    print(f"CommandError: {err}", file=sys.stderr)
    sys.exit(3)
"""


@pytest.mark.parametrize(
    "ending, status, expected",
    [
        (
            "print('train-mrpc: the reason', file=sys.stderr); sys.exit(2)",
            2,
            "train-mrpc: the reason",
        ),
        ("os.kill(os.getpid(), signal.SIGKILL)", 3, "training process 0 was killed by signal 9"),
    ],
)
def test_course_launcher_adds_no_torchrun_traceback(tmp_path, ending, status, expected):
    """`course train-mrpc --num-processes N` runs torchrun's launcher in its own process: a run
    whose processes stop with a message ends there, a crash is one line, neither a traceback."""
    script = tmp_path / "rank.py"
    script.write_text(f"import os, signal, sys\nif int(os.environ['RANK']) == 0:\n    {ending}\n")
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCH, "--nproc_per_node", "2", str(script)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert expected in result.stderr


# --- one run per output folder (item 7) --------------------------------------------------------

_HOLDS_THE_LOCK = """
import sys
from course_utils.training.lock import output_dir_lock


class OneProcess:
    num_processes, is_main_process = 1, True

with output_dir_lock(OneProcess(), sys.argv[1]):  # what a running run holds
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_run_into_a_busy_output_dir_is_refused(tmp_path):
    output = tmp_path / "run"
    output.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDS_THE_LOCK, str(output)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        # What a second run used to break: the running run's checkpoint, half-written.
        half_written = output / "checkpoints" / ".tmp-step-0000002"
        half_written.mkdir(parents=True)
        for extra in ([], ["--resume"]):
            status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output), *extra)
            assert status == 2
            line = one_paragraph(err)
            assert f"another training run (process {holder.pid} on " in line, line
            assert f"is writing to {output} right now" in line
            assert "Wait for it to finish" in line and "another --output-dir" in line
            assert "Training" not in out
            assert half_written.is_dir()  # left alone
    finally:
        holder.kill()  # SIGKILL: the OS releases the lock; the file stays, naming the dead run
        holder.wait(timeout=30)
    assert f"process {holder.pid} on" in (output / LOCK_FILE).read_text()
    status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output), "--resume")
    assert status == 0, err
    assert "half-written" in out and not half_written.exists()
    assert json.loads((output / "metrics.json").read_text())["step"] == 3
    assert (output / LOCK_FILE).read_text() == ""  # released at the end of the run


# --- a full disk (item 9) -----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 2.4 MB tmpfs: two checkpoints of the tiny run fit, the third's weights do not."""
    yield from faults.small_tmpfs(tmp_path, "2400k")


def test_a_full_disk_while_checkpointing_says_which_folder_and_resume(small_disk):
    output = small_disk / "run"
    status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output))
    assert status == 2
    line = one_paragraph(err)
    assert f"cannot write the checkpoint of step 3 to {output / 'checkpoints'}" in line
    assert f"the disk that holds {output / 'checkpoints'} is full" in line
    assert "No space left on device" in line
    assert "run the same command with --resume: it continues from step-0000002" in line
    assert_no_result(output)
    assert steps_saved(output) == [1, 2]
    # Space freed (here: the disk grown), the command it names finishes the run.
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output), "--resume")
    assert status == 0, err
    assert "Resumed from" in out and "step-0000002 at step 2 of 3" in out
    assert json.loads((output / "metrics.json").read_text())["step"] == 3


def test_a_full_disk_while_writing_the_model_leaves_no_half_model(tmp_path, monkeypatch):
    """The final model is written next to its place and renamed: a failed write leaves none."""
    from transformers import PreTrainedTokenizerBase

    def disk_full(self, folder, *args, **kwargs):
        (Path(folder) / "tokenizer.json").write_text("{")  # what got out before the disk filled
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    output = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(PreTrainedTokenizerBase, "save_pretrained", disk_full)
        status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output))
    assert status == 2
    line = one_paragraph(err)
    assert f"cannot write the trained model to {output}" in line and "is full" in line
    assert "it continues from step-0000003" in line
    assert_no_result(output)
    status, out, err = course("train-mrpc", *FLAGS, "--output-dir", str(output), "--resume")
    assert status == 0, err
    assert (output / "model" / "tokenizer.json").stat().st_size > 1
    assert json.loads((output / "metrics.json").read_text())["step"] == 3
