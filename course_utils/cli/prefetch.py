"""``course prefetch CHAPTER|all [--dry-run]``: download what a chapter uses, sizes first."""

from __future__ import annotations

import argparse
import shutil

from course_utils import catalog, prefetch
from course_utils.cli.errors import CommandError
from course_utils.display import format_bytes
from course_utils.errors import CourseError, first_line
from course_utils.hub import client as hub
from course_utils.hub import policy


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prefetch",
        help="download the checkpoints and datasets a chapter uses",
        description="Download exactly the checkpoints (safetensors weights, config, tokenizer) "
        "and datasets that a chapter uses, so it later runs offline. Sizes are shown before "
        "anything is fetched, and models that cannot fit in memory here are skipped. "
        "Offline, it lists what is already in the HF cache.",
    )
    parser.add_argument("chapter", metavar="CHAPTER", help="chapter number (0-3) or 'all'")
    parser.add_argument(
        "--dry-run", action="store_true", help="only report sizes (from Hub metadata)"
    )
    parser.add_argument(
        "--allow-too-large",
        action="store_true",
        help="download models even when the memory check says they do not fit",
    )
    parser.add_argument(
        "--edition",
        choices=catalog.EDITIONS,
        default="en",
        help="zh-CN: also the Chinese models of the zh-CN edition's sections (default: en)",
    )
    parser.set_defaults(func=run_prefetch, parser=parser)


def parse_chapters(value: str) -> list[int]:
    """``"all"`` or one chapter number; anything else is a :class:`CommandError`."""
    text = str(value).strip().lower()
    if text == "all":
        return list(catalog.CHAPTERS)
    if text.isdigit() and int(text) in catalog.CHAPTERS:
        return [int(text)]
    choices = ", ".join(map(str, catalog.CHAPTERS))
    raise CommandError(f"unknown chapter {value!r}: give one of {choices} or 'all'")


def _chapters_text(chapters: list[int]) -> str:
    return ", ".join(map(str, chapters))


def list_cached(chapters: list[int], edition: str = "en") -> int:
    """Print what the chapters use and whether it is in the cache; return how many are cached."""
    from course_utils.hub import cache

    wanted, skipped = prefetch.chapter_models(chapters, edition)
    cached = 0
    print(
        f"Offline (HF_HUB_OFFLINE=1): nothing can be downloaded. What chapter "
        f"{_chapters_text(chapters)} uses, and whether it is already cached:"
    )
    for hub_id, used_in in wanted.items():
        here = cache.model_is_cached(hub_id)
        cached += here
        size = format_bytes(catalog.find(hub_id).download_bytes)
        state = "cached" if here else "missing"
        print(f"  [{state:7}] {hub_id}  (chapter {_chapters_text(used_in)}, about {size})")
    for chapter in chapters:
        for dataset in catalog.datasets_for_chapter(chapter):
            here = cache.dataset_is_cached(dataset.repo_id, dataset.subset)
            cached += here
            state = "cached" if here else "missing"
            print(
                f"  [{state:7}] {dataset.repo_id} ({dataset.subset})  (chapter {chapter}, about "
                f"{format_bytes(dataset.download_bytes)})"
            )
    for message in skipped:
        print(f"  {message}")
    return cached


def print_plan(items: list[prefetch.PrefetchItem], skipped: list[str]) -> int:
    """Print the table of what would be downloaded; return the total size in bytes."""
    total = sum(item.size for item in items)
    if items:
        width = max(len(item.label) for item in items)
        print(f"{'what':<{width}}  {'chapter':>7}  {'files':>5}  {'size':>10}  size from")
        for item in items:
            files = str(len(item.files)) if item.files else "?"
            print(
                f"{item.label:<{width}}  {_chapters_text(item.chapters):>7}  {files:>5}  "
                f"{format_bytes(item.size):>10}  {item.size_from}"
            )
            if item.cached:
                print(
                    f"{'':<{width}}    {len(item.cached)} of these files are in the cache already"
                )
            for note in item.notes:
                print(f"{'':<{width}}    note: {note}")
        print(f"total: about {format_bytes(total)} in {len(items)} repositories")
    else:
        print("nothing to download")
    for message in skipped:
        print(message)
    return total


def run_prefetch(args: argparse.Namespace) -> int:
    chapters = parse_chapters(args.chapter)
    hub.check_endpoint()  # the libraries cannot even look in the cache with a broken one
    if policy.offline_mode():
        cached = list_cached(chapters, args.edition)
        if args.dry_run:
            print(f"{cached} cached; sizes are the catalog's estimates (the Hub was not asked)")
            return 0
        raise CommandError(
            "offline (HF_HUB_OFFLINE=1): nothing can be downloaded; unset HF_HUB_OFFLINE and "
            "run it again (the list above shows what is already cached)"
        )

    print(f"Chapter {_chapters_text(chapters)}: checking sizes on the Hub (no weights yet)...")
    downloads = prefetch.downloads_anything(chapters, args.edition)
    state = prefetch.HubState.probe() if downloads else None
    if state is not None and state.unreachable is not None and not args.dry_run:
        raise CommandError(f"nothing was downloaded: {state.unreachable}")
    items, skipped, state = prefetch.build_plan(chapters, args.allow_too_large, state, args.edition)
    total = print_plan(items, skipped)
    if args.dry_run:
        print("dry run: nothing downloaded")
        if state.unreachable is not None:
            raise CommandError(f"the sizes above are the catalog's estimates: {state.unreachable}")
        return 0
    if not items:
        return 0
    if state.unreachable is not None:
        raise CommandError(f"nothing was downloaded: {state.unreachable}")
    _check_disk(total)
    _download_all(items)
    print(f"done: chapter {_chapters_text(chapters)} can now run offline (HF_HUB_OFFLINE=1)")
    return 0


def _check_disk(total: int) -> None:
    from course_utils.paths import writable_folder

    cache = writable_folder(prefetch.hf_cache_dir(), "HF_HOME (or HF_HUB_CACHE)")
    free = shutil.disk_usage(cache).free
    if total > free:
        raise CommandError(
            f"needs about {format_bytes(total)} but only {format_bytes(free)} is free in {cache}; "
            "free some space or point HF_HOME at a larger disk"
        )


# Failures that would end every other download the same way: stop at the first.
_FATAL = (*prefetch.HUB_UNUSABLE, hub.CacheDiskFullError)


def _download_all(items: list[prefetch.PrefetchItem]) -> None:
    failed: list[str] = []
    known: list[CourseError] = []
    for number, item in enumerate(items, 1):
        print(f"[{number}/{len(items)}] {item.label}: {format_bytes(item.size)}", flush=True)
        try:
            prefetch.download(item)
        except Exception as err:  # noqa: BLE001 - report and go on with the others
            print(f"  failed: {first_line(err, with_type=not isinstance(err, CourseError))}")
            failed.append(item.label)
            if isinstance(err, CourseError):
                known.append(err)
            if isinstance(err, _FATAL):  # e.g. "X was not downloaded: the disk ... is full"
                left = len(items) - number
                rest = f" ({left} more not tried; finished files are kept)" if left else ""
                raise CommandError(f"{err}{rest}") from None
    if not failed:
        return
    summary = f"{len(failed)} of {len(items)} downloads failed ({', '.join(failed)})"
    if known and len(known) == len(failed) and len({type(e) for e in known}) == 1:
        raise CommandError(f"{summary}: {known[-1]}")
    raise CommandError(
        f"{summary}; check your connection and run the same command again (finished files are kept)"
    )
