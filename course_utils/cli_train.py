"""``course train-mrpc``: the chapter 3 Accelerate training script."""

from __future__ import annotations

import argparse
import subprocess
import sys

from course_utils.cli import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    from course_utils.train_mrpc import add_arguments

    parser = subparsers.add_parser(
        "train-mrpc",
        help="fine-tune a model on MRPC with Accelerate (checkpoints, --resume)",
        description="Fine-tune a checkpoint on MRPC (offline: the course's fixture) with "
        "Accelerate. Writes checkpoints regularly; --resume continues from the latest. "
        "Same as: python -m course_utils.train_mrpc [FLAGS]. Several processes: "
        "--num-processes N, which runs torchrun --nproc_per_node N -m course_utils.train_mrpc.",
    )
    add_arguments(parser)
    parser.add_argument(
        "--num-processes",
        type=int,
        default=1,
        help="start this many processes with torchrun (default: 1, this process)",
    )
    parser.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from course_utils.train_mrpc import RunConfig, TrainingSetupError, train

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
    from course_utils.train_mrpc import RunConfig, TrainingSetupError

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
        "course_utils.train_mrpc",
        *flags,
    ]
    print("Running: torchrun " + " ".join(command[3:]), flush=True)
    return subprocess.call(command)
