"""--resume after damage: the newest intact checkpoint is used, and the learner is told.

A checkpoint's files are checked against the sizes recorded when it was written and against
their formats (safetensors header, torch.save archive) before anything is loaded. The runs
here are in-process and tiny (the stand-in GPT-2, whose tokenizer has no padding token, so the
run also shows that recovery): 3 optimizer steps of 8 pairs, a checkpoint after each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from course_utils.cli import main
from course_utils.training import checkpoints as ckpt
from course_utils.training.loop import train
from course_utils.training.options import RunConfig, build_parser
from course_utils.training.resume import load_checkpoint

pytestmark = pytest.mark.slow


FLAGS = [
    "--checkpoint", "gpt2",
    "--train-subset", "16", "--eval-subset", "8", "--max-length", "16",
    "--batch-size", "8", "--epochs", "2", "--max-steps", "3",
    "--save-every", "1", "--keep-checkpoints", "3", "--seed", "5", "--cpu",
]  # fmt: skip
RESUME_WEIGHT_ATOL = 1e-6  # restored RNG states and data order: in practice bit for bit


def config(output: Path, *extra: str) -> RunConfig:
    return RunConfig.from_args(
        build_parser().parse_args([*FLAGS, "--output-dir", str(output), *extra])
    )


def run_in_process(output: Path, *extra: str) -> None:
    from accelerate.state import AcceleratorState

    try:
        train(config(output, *extra))
    finally:
        AcceleratorState._reset_state(True)  # the next run builds its own Accelerator


def weights(output: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(output / "model" / "model.safetensors")


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[name] - b[name]).abs().max()) for name in a)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, one_torch_thread):
    """An uninterrupted run, with every checkpoint kept; the fsyncs and renames it made."""
    output = tmp_path_factory.mktemp("reference")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        try:
            events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:  # no /proc: the order check below is skipped
            events.append(("fsync", ""))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src)))
        return real_replace(src, dst)

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(os, "fsync", fsync)
        patch.setattr(ckpt.os, "replace", replace)
        run_in_process(output)
    return output, events, printed.getvalue()


def damaged_copy(reference_output: Path, target: Path) -> Path:
    shutil.copytree(reference_output, target)
    shutil.rmtree(target / "model")
    (target / "metrics.json").unlink()
    return target


def test_files_are_flushed_before_the_rename_that_shows_a_checkpoint(reference):
    output, events, _ = reference
    if not any(path for kind, path in events if kind == "fsync"):
        pytest.skip("no /proc/self/fd here to name the flushed files")
    renamed = [
        i for i, (kind, path) in enumerate(events) if kind == "replace" and "/checkpoints/" in path
    ]  # (the final model and metrics.json are renamed into place too)
    assert len(renamed) == 3
    for index in renamed:
        tmp = events[index][1]
        flushed = {Path(path).name for kind, path in events[:index] if path.startswith(tmp)}
        assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl"} <= flushed
        assert ckpt.STATE_FILE in flushed


def test_damaged_newest_checkpoints_fall_back_to_the_newest_intact_one(reference, tmp_path, capsys):
    output = damaged_copy(reference[0], tmp_path / "run")
    steps = output / "checkpoints"
    truncate(steps / "step-0000003" / "model.safetensors")
    (steps / "step-0000002" / "optimizer.bin").unlink()
    capsys.readouterr()
    run_in_process(output, "--resume")
    out = capsys.readouterr().out
    assert "checkpoint step-0000003 is damaged (model.safetensors is truncated" in out
    assert "checkpoint step-0000002 is damaged (optimizer.bin is missing)" in out
    assert f"Resumed from {steps / 'step-0000001'} at step 1 of 3." in out
    assert max_difference(weights(output), weights(reference[0])) <= RESUME_WEIGHT_ATOL


def test_a_truncated_rng_state_is_not_skipped_silently(reference, tmp_path, capsys):
    output = damaged_copy(reference[0], tmp_path / "run")
    truncate(output / "checkpoints" / "step-0000003" / "random_states_0.pkl")
    capsys.readouterr()
    run_in_process(output, "--resume")
    out = capsys.readouterr().out
    assert "step-0000003 is damaged (random_states_0.pkl is truncated" in out
    assert "Resumed from" in out and "step-0000002 at step 2 of 3." in out
    # The older checkpoint's RNG state was restored: the same weights as without the crash.
    assert max_difference(weights(output), weights(reference[0])) <= RESUME_WEIGHT_ATOL


def test_a_tokenizer_without_padding_token_is_padded_with_its_end_of_text_token(reference):
    output, _, printed = reference
    assert "has no padding token: padding with its end-of-text token '<|endoftext|>'" in printed
    config = json.loads((output / "model" / "config.json").read_text())
    assert config["pad_token_id"] == config["eos_token_id"]


def test_every_checkpoint_damaged_is_one_line_before_training(reference, tmp_path, capsys):
    output = damaged_copy(reference[0], tmp_path / "run")
    for folder in (output / "checkpoints").iterdir():
        truncate(folder / "model.safetensors")
    args = ["train-mrpc", *FLAGS, "--output-dir", str(output), "--resume"]
    assert main(args) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("course train-mrpc: --resume: every checkpoint in")
    assert "model.safetensors is truncated" in line and "--output-dir" in line
    assert "Training" not in captured.out


# --- the checks themselves, on hand-made folders ---------------------------------------------


def make_checkpoint(root: Path, step: int, processes: int = 1, record: bool = True) -> Path:
    """A checkpoint folder with the files a run writes (small ones), saved the same way."""
    from safetensors.torch import save_file

    folder = root / "checkpoints" / f"step-{step:07d}"
    folder.mkdir(parents=True)
    save_file({"w": torch.zeros(64)}, folder / "model.safetensors")
    for name in (
        "optimizer.bin",
        "scheduler.bin",
        *(f"random_states_{i}.pkl" for i in range(processes)),
    ):
        torch.save({"state": list(range(200))}, folder / name)
    state = {"step": step, "history": [], "config": dataclasses.asdict(config(root))}
    if record:
        state["files"] = ckpt.file_sizes(folder)
    (folder / ckpt.STATE_FILE).write_text(json.dumps(state))
    return folder


def test_checkpoint_problems(tmp_path):
    folder = make_checkpoint(tmp_path, 4)
    assert ckpt.checkpoint_problems(folder, 1) == ([], [])
    hard, rng = ckpt.checkpoint_problems(folder, 2)
    assert hard == [] and rng == ["random_states_1.pkl missing (the run had fewer processes)"]
    truncate(folder / "random_states_0.pkl")
    (folder / "scheduler.bin").unlink()
    hard, rng = ckpt.checkpoint_problems(folder, 1)
    assert hard == ["scheduler.bin is missing"]
    assert len(rng) == 1 and rng[0].startswith("random_states_0.pkl is truncated")


def test_checkpoints_without_recorded_sizes_are_checked_by_format(tmp_path):
    folder = make_checkpoint(tmp_path, 4, record=False)
    assert ckpt.checkpoint_problems(folder, 1) == ([], [])
    truncate(folder / "optimizer.bin")
    truncate(folder / "model.safetensors")
    hard, _ = ckpt.checkpoint_problems(folder, 1)
    assert hard == [
        "model.safetensors is damaged (unreadable safetensors header)",
        "optimizer.bin is damaged (not a complete torch.save archive)",
    ]
    (folder / ckpt.STATE_FILE).write_text("{not json")
    assert ckpt.checkpoint_problems(folder, 1)[0] == [
        f"{ckpt.STATE_FILE} cannot be read (JSONDecodeError)"
    ]


class FakeAccelerator:
    num_processes = 1
    is_main_process = True

    def __init__(self):
        self.printed: list[str] = []
        self.loaded: list[str] = []

    def print(self, text):
        self.printed.append(text)

    def load_state(self, folder):
        self.loaded.append(Path(folder).name)


def test_an_rng_state_that_cannot_be_restored_is_warned(tmp_path):
    from types import SimpleNamespace

    from course_utils.training.resume import resume_candidates

    folder = make_checkpoint(tmp_path, 2)
    truncate(folder / "random_states_0.pkl")
    accelerator = FakeAccelerator()
    accelerator.wait_for_everyone = lambda: None
    run_config = config(tmp_path, "--resume")
    candidates = resume_candidates(accelerator, run_config)
    assert [(f.name, len(rng)) for f, rng in candidates] == [("step-0000002", 1)]
    run = SimpleNamespace(accelerator=accelerator, config=run_config, total_steps=3)
    load_checkpoint(run, candidates)
    assert accelerator.loaded == ["step-0000002"] and run.step == 2
    warning = next(line for line in accelerator.printed if line.startswith("Warning"))
    assert "random state cannot be restored" in warning and "random_states_0.pkl" in warning
