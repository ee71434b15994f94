"""Settings of the chapter 3 training script: its flags and the validated configuration."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from course_utils.errors import CourseError
from course_utils.training.checkpoints import STATE_FILE

DEFAULT_CHECKPOINT = "google-bert/bert-base-uncased"
DEFAULT_LEARNING_RATE = 5e-5
MAX_SEED = 2**32 - 1  # numpy's limit, which accelerate's set_seed passes it on to
# Settings that must match for --resume to continue the same run.
RUN_DEFINING = (
    "checkpoint",
    "epochs",
    "batch_size",
    "learning_rate",
    "seed",
    "max_steps",
    "train_subset",
    "max_length",
)


class TrainingSetupError(CourseError, RuntimeError):
    """Bad settings or a checkpoint that cannot be resumed; the message says what to do."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The script's flags (shared by ``python -m course_utils.training`` and ``course``)."""
    parser.add_argument(
        "--checkpoint",
        default=DEFAULT_CHECKPOINT,
        help="model to fine-tune: Hub id, catalog name or local folder (default: %(default)s; "
        "offline, course_utils.resolve_checkpoint picks the cached copy or a stand-in)",
    )
    parser.add_argument("--output-dir", default="runs/mrpc", help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=3, help="default: %(default)s")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="global batch size, split across processes (default: %(default)s)",
    )
    parser.add_argument(
        "--eval-batch-size", type=int, default=None, help="default: twice --batch-size"
    )
    parser.add_argument(
        "--learning-rate",
        "--lr",
        type=float,
        default=DEFAULT_LEARNING_RATE,
        help="AdamW's learning rate (default: %(default)s; fine-tuning usually uses 1e-5 to 1e-4)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help=f"0 to {MAX_SEED} (default: %(default)s)"
    )
    parser.add_argument(
        "--max-steps", type=int, default=None, help="stop after this many optimizer steps"
    )
    parser.add_argument(
        "--train-subset", type=int, default=None, help="use only the first N training pairs"
    )
    parser.add_argument(
        "--eval-subset", type=int, default=None, help="use only the first N validation pairs"
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="truncate pairs to N tokens (default: 128)"
    )
    parser.add_argument(
        "--save-every",
        type=int,
        default=50,
        help="write a checkpoint every N optimizer steps, and at the end (default: %(default)s)",
    )
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        default=2,
        help="how many of the newest checkpoints to keep (default: %(default)s)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the latest complete checkpoint in OUTPUT_DIR/checkpoints",
    )
    parser.add_argument(
        "--cpu", action="store_true", help="train on the CPU even if a GPU is available"
    )
    parser.add_argument(
        "--mixed-precision",
        choices=["auto", "no", "fp16", "bf16"],
        default="auto",
        help="auto: bf16 (or fp16) on a GPU that supports it, none on CPU (default: auto)",
    )


def build_parser(description: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.training",
        description=description,
        epilog="Multi-process: torchrun --nproc_per_node 2 -m course_utils.training [FLAGS]",
    )
    add_arguments(parser)
    return parser


@dataclass(frozen=True)
class RunConfig:
    checkpoint: str
    output_dir: str
    epochs: int
    batch_size: int
    eval_batch_size: int
    learning_rate: float
    seed: int
    max_steps: int | None
    train_subset: int | None
    eval_subset: int | None
    max_length: int
    save_every: int
    keep_checkpoints: int
    resume: bool
    cpu: bool
    mixed_precision: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunConfig:
        values = {name: getattr(args, name) for name in cls.__dataclass_fields__}
        if values["eval_batch_size"] is None:
            values["eval_batch_size"] = 2 * values["batch_size"]
        config = cls(**values)
        config.validate()
        return config

    def to_argv(self) -> list[str]:
        """The command-line flags that give this configuration."""
        argv = []
        for name, value in asdict(self).items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                argv += [flag] if value else []
            elif value is not None:
                argv += [flag, str(value)]
        return argv

    def validate(self) -> None:
        positive = {
            "--epochs": self.epochs,
            "--batch-size": self.batch_size,
            "--eval-batch-size": self.eval_batch_size,
            "--max-length": self.max_length,
            "--save-every": self.save_every,
            "--keep-checkpoints": self.keep_checkpoints,
        }
        for optional in ("max_steps", "train_subset", "eval_subset"):
            if getattr(self, optional) is not None:
                positive["--" + optional.replace("_", "-")] = getattr(self, optional)
        bad = [f"{flag}={value}" for flag, value in positive.items() if value < 1]
        if bad:
            raise TrainingSetupError(f"these settings must be at least 1: {', '.join(bad)}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise TrainingSetupError(
                f"--learning-rate must be a finite number above 0, got {self.learning_rate}: "
                f"fine-tuning usually uses 1e-5 to 1e-4 (the default is {DEFAULT_LEARNING_RATE})"
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise TrainingSetupError(
                f"--seed must be between 0 and {MAX_SEED} (2**32 - 1, the range numpy accepts), "
                f"got {self.seed}: pick a seed in that range"
            )


def check_resumable(folder: Path, config: RunConfig) -> None:
    """Refuse to resume a checkpoint written with different run-defining settings."""
    try:
        saved = json.loads((folder / STATE_FILE).read_text())["config"]
    except (OSError, ValueError, KeyError) as err:
        raise TrainingSetupError(f"cannot read {folder / STATE_FILE}: {err}") from None
    current = asdict(config)
    different = [
        f"--{name.replace('_', '-')} {saved.get(name)!r} -> {current[name]!r}"
        for name in RUN_DEFINING
        if saved.get(name) != current[name]
    ]
    if different:
        raise TrainingSetupError(
            f"the checkpoint {folder} was written with other settings ({'; '.join(different)}). "
            "Resume with the original flags, or use a new --output-dir to start a new run."
        )
