"""The ``course`` command: chores around the notebooks, one thin subcommand each.

Each module of this package registers its subcommands (``register(subparsers)``) and calls the
library modules to do the work. Parsing and ``--help`` import neither torch nor transformers.
Bad input exits with status 2 and one paragraph that says what to do; no traceback. The
library's own errors (:class:`course_utils.errors.CourseError`) and file-system errors are
printed that way too.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from course_utils.cli import doctor, prefetch, standins, train
from course_utils.cli.errors import CommandError
from course_utils.errors import CourseError, one_paragraph
from course_utils.hub.endpoint import check_endpoint

COMMAND_MODULES = (doctor, prefetch, standins, train)
# Commands of other installed packages (the authoring tools add `slides` and `html`).
PLUGIN_GROUP = "course_utils.commands"
AUTHORING_COMMANDS = ("slides", "html")
AUTHORING_HINT = (
    "is one of the instructors' tools, which are not part of the learner's install: in a clone "
    "of the course, run `python3 tasks.py setup --dev` (or `pip install -e ./authoring`)"
)

__all__ = ["CommandError", "build_parser", "main"]


def _version() -> str:
    try:
        return metadata.version("course-utils")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Companion to the Hugging Face NLP course (chapters 0-3).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in COMMAND_MODULES:
        module.register(subparsers)
    found = set()
    for entry_point in metadata.entry_points(group=PLUGIN_GROUP):
        before = set(subparsers.choices)
        entry_point.load().register(subparsers)
        found |= set(subparsers.choices) - before
    for name in AUTHORING_COMMANDS:
        if name not in found:
            _register_missing(subparsers, name)
    return parser


def _register_missing(subparsers: argparse._SubParsersAction, name: str) -> None:
    """A command whose package is not installed: it says how to install it."""
    missing = subparsers.add_parser(name, help=f"(not installed) course {name} {AUTHORING_HINT}")
    missing.add_argument("rest", nargs=argparse.REMAINDER)
    missing.set_defaults(func=_not_installed, parser=missing)


def _not_installed(args: argparse.Namespace) -> int:
    raise CommandError(f"`course {args.command}` {AUTHORING_HINT}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The subcommand's own usage, not the top-level one.
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.command != "doctor":  # doctor reports it among the rest
            check_endpoint()  # else the Hugging Face libraries fail on import, with a traceback
        return int(args.func(args) or 0)
    except (CourseError, OSError) as err:
        print(f"course {args.command}: {one_paragraph(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"course {args.command}: interrupted", file=sys.stderr)
        return 130
