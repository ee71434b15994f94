"""The ``course`` command: chores around the notebooks, one subcommand each.

Every subcommand lives in a module that defines ``register(subparsers)``; add a module to
``SUBCOMMAND_MODULES`` to add a subcommand. Bad input exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = (
    "course_utils.cli_basic",
    "course_utils.cli_prefetch",
    "course_utils.cli_slides",
    "course_utils.cli_standins",
    "course_utils.cli_train",
)


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Companion to the Hugging Face NLP course (chapters 0-3).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as err:
        print(f"course {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"course {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    # Re-import so that CommandError is the same class the subcommand modules raise.
    from course_utils.cli import main as _main

    sys.exit(_main())
