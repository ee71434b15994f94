"""``course standins build|clear|list``: manage the offline stand-in models."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "standins",
        help="build, list or clear the local stand-ins used offline",
        description="Offline, every course model without a copy in the HF cache is replaced by a "
        "small local stand-in (same class, tokenizer family and labels; random weights), built "
        "on first use into $COURSE_CACHE/standins (default ~/.cache/hf-course/standins).",
    )
    parser.set_defaults(parser=parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    build = actions.add_parser(
        "build", help="build stand-ins now (all by default)", description="Build stand-ins."
    )
    build.add_argument("names", nargs="*", metavar="MODEL", help="catalog names (default: all)")
    build.add_argument(
        "--force", action="store_true", help="rebuild even those already built and intact"
    )
    build.set_defaults(func=run_build, parser=build)

    clear = actions.add_parser(
        "clear", help="delete stand-ins (all by default)", description="Delete stand-ins."
    )
    clear.add_argument("names", nargs="*", metavar="MODEL", help="catalog names (default: all)")
    clear.set_defaults(func=run_clear, parser=clear)

    listing = actions.add_parser(
        "list",
        help="every stand-in: real Hub id, folder, size, built or not",
        description="List every stand-in with the real checkpoint it replaces.",
    )
    listing.set_defaults(func=run_list, parser=listing)


def _hub_ids(names: list[str]) -> list[str]:
    from course_utils.standins import store as standins

    if not names:
        return standins.standin_names()
    return [standins.entry_for(name).hub_id for name in names]


def _say_removed(paths: list, file=None) -> None:
    for path in paths:
        print(f"removed {path}, left by an interrupted build", file=file or sys.stdout)


def run_build(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from course_utils.display import format_bytes
    from course_utils.paths import folder_size
    from course_utils.standins import store as standins

    hub_ids = _hub_ids(args.names)
    standins.check_cache_writable()
    _say_removed(standins.remove_stale_temporaries())
    start = time.perf_counter()
    with tqdm(hub_ids, desc="stand-ins", unit="model", leave=False) as bar:
        for hub_id in bar:
            bar.set_postfix_str(hub_id, refresh=True)
            t0 = time.perf_counter()
            if args.force or not standins.is_built(hub_id):
                folder, what = standins.build_standin(hub_id, args.force), "built"
            else:
                folder, what = standins.standin_dir(hub_id), "ok   "
            seconds = time.perf_counter() - t0
            size = format_bytes(folder_size(folder))
            bar.write(f"{what} {hub_id:58} {seconds:6.2f} s {size:>9}  {folder}")
    print(f"{len(hub_ids)} stand-in(s) ready in {time.perf_counter() - start:.1f} s")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from course_utils.standins import store as standins

    if args.names:
        removed = [p for hub_id in _hub_ids(args.names) for p in standins.clear_standins(hub_id)]
    else:
        removed = standins.clear_standins()
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} folder(s) removed from {standins.standins_root()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from course_utils import catalog
    from course_utils.display import format_bytes
    from course_utils.paths import folder_size
    from course_utils.standins import store as standins

    _say_removed(standins.remove_stale_temporaries(), file=sys.stderr)  # stdout: the table
    rows = [("NAME", "REAL HUB ID", "BUILT", "SIZE", "FOLDER")]
    for hub_id in standins.standin_names():
        folder = standins.standin_dir(hub_id)
        built = standins.is_built(hub_id)
        size = format_bytes(folder_size(folder)) if built else "-"
        rows.append(
            (catalog.find(hub_id).short_name, hub_id, "yes" if built else "no", size, str(folder))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4])
    return 0
