"""``course slides`` and ``course html``: chapter notebooks as offline slides or pages."""

from __future__ import annotations

import argparse
from pathlib import Path

from course_utils.cli.errors import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    for kind, help_text, description in (
        (
            "slides",
            "export chapters as reveal.js slides that work offline",
            "Export chapter notebooks as reveal.js slides for presenting. reveal.js is copied "
            "from an installed package next to the slides, so they open from the folder with no "
            "network; formulas are typeset offline too, and every slide fits a 16:9 screen. "
            "Open OUTPUT/NN_name.slides.html in a browser; press S for speaker notes.",
        ),
        (
            "html",
            "export chapters as plain HTML pages that work offline",
            "Export chapter notebooks as self-contained HTML pages (no CDN, no network needed).",
        ),
    ):
        parser = subparsers.add_parser(kind, help=help_text, description=description)
        parser.add_argument(
            "chapter", metavar="CHAPTER", help="chapter number (0-3), 'all', or a .ipynb path"
        )
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            default=None,
            help=f"output folder (default: build/{kind}, or build/{kind}/LANG for another "
            "edition; git-ignored)",
        )
        parser.add_argument(
            "--lang",
            default="en",
            metavar="LANG",
            help="the edition: en (notebooks/, the default) or zh-CN (notebooks/zh-CN/)",
        )
        parser.add_argument(
            "--execute",
            action="store_true",
            help="run the notebooks first (offline, with stand-ins) so outputs are shown",
        )
        parser.set_defaults(func=run_export, kind=kind, parser=parser)


def run_export(args: argparse.Namespace) -> int:
    from course_authoring.slides import SlidesError, chapter_notebooks, export_notebook
    from course_utils.paths import writable_folder

    try:
        notebooks = chapter_notebooks(args.chapter, lang=args.lang)
    except SlidesError as err:
        raise CommandError(str(err)) from None
    default = Path("build") / args.kind
    output = args.output or (default if args.lang == "en" else default / args.lang)
    output = writable_folder(output, "--output")
    failed: list[str] = []
    for path in notebooks:
        try:
            result = export_notebook(
                path, output, kind=args.kind, execute=args.execute, lang=args.lang
            )
        except SlidesError as err:
            raise CommandError(str(err)) from None
        extra = f", {result.slides} slides" if args.kind == "slides" else ""
        print(f"{path.name} -> {result.output}{extra}")
        failed += [f"{path.name} {error}" for error in result.errors]
    print(f"open {output.resolve()} in a browser: it works with no network")
    if failed:
        raise CommandError(
            f"{len(failed)} cell(s) raised an error while running ({'; '.join(failed[:3])}"
            f"{'; ...' if len(failed) > 3 else ''}); the pages were written and show the errors"
        )
    return 0
