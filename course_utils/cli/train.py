"""``course train-mrpc``: the chapter 3 Accelerate training script."""

from __future__ import annotations

import argparse
import subprocess
import sys

from course_utils.cli.errors import CommandError
from course_utils.training.options import RunConfig, TrainingSetupError, add_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-mrpc",
        help="fine-tune a model on MRPC with Accelerate (checkpoints, --resume)",
        description="Fine-tune a checkpoint on MRPC (offline: the course's fixture) with "
        "Accelerate. Writes checkpoints regularly; --resume continues from the latest. "
        "Same as: python -m course_utils.training [FLAGS]. Several processes: "
        "--num-processes N, which runs torchrun --nproc_per_node N -m course_utils.training.",
    )
    add_arguments(parser)
    parser.add_argument(
        "--num-processes",
        type=int,
        default=1,
        help="start this many processes with torchrun (default: 1, this process)",
    )
    parser.set_defaults(func=run_train, parser=parser)


def run_train(args: argparse.Namespace) -> int:
    from course_utils.training.loop import train

    if args.num_processes < 1:
        raise CommandError(f"--num-processes must be at least 1, got {args.num_processes}")
    if args.num_processes > 1:
        return _torchrun(args)
    try:
        train(RunConfig.from_args(args))
    except TrainingSetupError as err:
        raise CommandError(str(err)) from None
    return 0


def _torchrun(args: argparse.Namespace) -> int:
    """Run the script as N processes with torchrun (``python -m torch.distributed.run``)."""
    try:
        flags = RunConfig.from_args(args).to_argv()
    except TrainingSetupError as err:
        raise CommandError(str(err)) from None
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(args.num_processes),
        "-m",
        "course_utils.training",
        *flags,
    ]
    print("Running: torchrun " + " ".join(command[3:]), flush=True)
    return subprocess.call(command)
