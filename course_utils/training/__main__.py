"""Fine-tune a checkpoint on MRPC with Accelerate: the chapter 3 loop as a script.

One process:           python -m course_utils.training --output-dir runs/mrpc
Two processes (CPU):   torchrun --nproc_per_node 2 -m course_utils.training --output-dir runs/mrpc
Several GPUs/machines: accelerate config, then accelerate launch -m course_utils.training ...
After a crash:         the same command with --resume

The flags are in :mod:`course_utils.training.options`, the loop in :mod:`course_utils.training.loop`
and the checkpoint folders in :mod:`course_utils.training.checkpoints`.
"""

from __future__ import annotations

import argparse
import sys

from course_utils.errors import CourseError, one_paragraph
from course_utils.training.collective import report
from course_utils.training.options import RunConfig, build_parser

DESCRIPTION = "Fine-tune a checkpoint on MRPC with Accelerate (the chapter 3 loop as a script)."


def main(argv: list[str] | None = None) -> int:
    args = build_parser(DESCRIPTION).parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from course_utils.training.loop import train

    try:
        train(RunConfig.from_args(args))
    except (CourseError, OSError) as err:  # bad settings, model, data or folder: one line
        # In a multi-process run, an error every process raised is printed by the main one.
        report(err, f"train-mrpc: {one_paragraph(err)}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
