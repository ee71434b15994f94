"""``course train-mrpc``: the chapter 3 Accelerate training script."""

from __future__ import annotations

import argparse

from course_utils.cli.errors import CommandError
from course_utils.training.options import RunConfig, add_arguments

TRAINING_ERROR_STATUS = 2  # python -m course_utils.training's exit status for a clear error


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-mrpc",
        help="fine-tune a model on MRPC with Accelerate (checkpoints, --resume)",
        description="Fine-tune a checkpoint on MRPC (offline: the course's fixture) with "
        "Accelerate. Writes checkpoints regularly; --resume continues from the latest. "
        "Same as: python -m course_utils.training [FLAGS]. Several processes: "
        "--num-processes N, which runs torchrun --nproc_per_node N -m course_utils.training "
        "(in this process). One run at a time per --output-dir.",
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
    train(RunConfig.from_args(args))
    return 0


def _torchrun(args: argparse.Namespace) -> int:
    """Run the script as N processes with torchrun's launcher, in this process."""
    flags = RunConfig.from_args(args).to_argv()
    torchrun_args = [
        "--nproc_per_node",
        str(args.num_processes),
        "-m",
        "course_utils.training",
        *flags,
    ]
    print("Running: torchrun " + " ".join(torchrun_args), flush=True)
    return launch(torchrun_args)


def launch(torchrun_args: list[str]) -> int:
    """``torchrun ARGS`` in this process: what ``python -m torch.distributed.run`` does, minus
    the traceback it prints when a process fails (the processes print why themselves)."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args
    from torch.distributed.run import run as torchrun

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    try:
        torchrun(parse_args(torchrun_args))
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        if failure.exitcode == TRAINING_ERROR_STATUS:
            return TRAINING_ERROR_STATUS  # it printed why (train-mrpc: ...), or the main one did
        how = (
            f"was killed by signal {-failure.exitcode}"
            if failure.exitcode < 0
            else f"exited with status {failure.exitcode}"
        )
        raise CommandError(
            f"training process {rank} {how} (see its output above); the others were stopped. "
            "Run again with --resume to continue from the newest complete checkpoint."
        ) from None
    except SignalException:
        raise KeyboardInterrupt from None
    return 0
