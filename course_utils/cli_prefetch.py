"""``course prefetch CHAPTER|all [--dry-run]``: download what a chapter uses, sizes first.

Only the files a course notebook loads are fetched: safetensors weights (never the .bin / .h5 /
.msgpack copies of the same weights), the config and the tokenizer files. Sizes come from the
Hub's file metadata before anything is downloaded; the catalog's numbers are the fallback.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from course_utils import catalog
from course_utils.cli import CommandError
from course_utils.environment import CHAPTER_DATASETS, CHAPTERS
from course_utils.memory import format_bytes
from course_utils.offline import offline_mode

CONFIG_FILES = frozenset({"config.json", "generation_config.json"})
TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "source.spm",
        "target.spm",
        "spiece.model",
        "sentencepiece.bpe.model",
        "tokenizer.model",
        "chat_template.jinja",
    }
)
# Used only when a repository has no safetensors weights at all.
FALLBACK_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


@dataclass
class PrefetchItem:
    """One repository to fetch, with the files and their size."""

    kind: str  # "model" or "dataset"
    repo_id: str
    chapters: list[int]
    files: list[str] = field(default_factory=list)
    size: int = 0
    size_from: str = "catalog"
    subset: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.repo_id} ({self.subset})" if self.subset else self.repo_id


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
    parser.set_defaults(func=run_prefetch)


def parse_chapters(value: str) -> list[int]:
    """``"all"`` or one chapter number; anything else is a :class:`CommandError`."""
    text = str(value).strip().lower()
    if text == "all":
        return list(CHAPTERS)
    if text.isdigit() and int(text) in CHAPTERS:
        return [int(text)]
    raise CommandError(
        f"unknown chapter {value!r}: give one of {', '.join(map(str, CHAPTERS))} or 'all'"
    )


def select_files(filenames: list[str]) -> list[str]:
    """The files ``from_pretrained`` needs: safetensors weights, config and tokenizer files."""
    top_level = [name for name in filenames if "/" not in name]
    weights = [
        n for n in top_level if n.endswith(".safetensors") or n == "model.safetensors.index.json"
    ]
    if not weights:
        weights = [n for n in top_level if n in FALLBACK_WEIGHTS]
    extra = [n for n in top_level if n in CONFIG_FILES or n in TOKENIZER_FILES]
    return sorted(set(weights) | set(extra))


def _hub_api():
    import huggingface_hub

    return huggingface_hub.HfApi()


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def plan_model(entry: catalog.CatalogEntry, chapters: list[int]) -> PrefetchItem:
    """Files and size of one checkpoint, from Hub metadata (catalog size if the Hub fails)."""
    item = PrefetchItem("model", entry.hub_id, chapters, size=entry.download_bytes)
    try:
        info = _hub_api().model_info(entry.hub_id, files_metadata=True)
    except Exception as err:  # noqa: BLE001 - any Hub failure falls back to the catalog
        item.notes.append(f"Hub metadata unavailable ({_one_line(err)}); catalog size shown")
        return item
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    item.files = select_files(list(sizes))
    if not any(f.endswith(".safetensors") for f in item.files):
        item.notes.append("no safetensors weights in this repository: fetching pytorch_model.bin")
    if item.files and all(sizes[f] is not None for f in item.files):
        item.size = sum(sizes[f] for f in item.files)
        item.size_from = "Hub"
    return item


def plan_dataset(repo_id: str, subset: str, approx: int, chapters: list[int]) -> PrefetchItem:
    """Data files of one dataset subset, from Hub metadata (a stored estimate if the Hub fails)."""
    item = PrefetchItem("dataset", repo_id, chapters, size=approx, subset=subset)
    try:
        info = _hub_api().dataset_info(repo_id, files_metadata=True)
    except Exception as err:  # noqa: BLE001 - any Hub failure falls back to the estimate
        item.notes.append(f"Hub metadata unavailable ({_one_line(err)}); estimated size shown")
        return item
    files = [s for s in info.siblings or [] if s.rfilename.startswith(f"{subset}/")]
    item.files = sorted(s.rfilename for s in files)
    if files and all(s.size is not None for s in files):
        item.size = sum(s.size for s in files)
        item.size_from = "Hub"
    return item


def _chapter_models(chapters: list[int]) -> tuple[dict[str, list[int]], list[str]]:
    """Models to fetch (hub id -> chapters) and messages for memory-only entries."""
    wanted: dict[str, list[int]] = {}
    skipped: list[str] = []
    for chapter in chapters:
        for entry in catalog.for_chapter(chapter):
            if entry.memory_only:
                message = (
                    f"skip {entry.hub_id}: used for memory checks only "
                    f"({format_bytes(entry.download_bytes)}), never downloaded by the course"
                )
                if message not in skipped:
                    skipped.append(message)
                continue
            wanted.setdefault(entry.hub_id, []).append(chapter)
    return wanted, skipped


def _memory_verdict(hub_id: str) -> tuple[bool, str]:
    from course_utils.memory import check_fits, estimate_memory

    verdict = check_fits(estimate_memory(hub_id, dtype="float32"))
    return verdict.fits, str(verdict).splitlines()[0]


def _is_model_cached(repo_id: str) -> bool:
    from course_utils.checkpoints import is_cached

    return is_cached(repo_id)


def _cached_dataset_repos() -> set[str]:
    """Dataset repositories in the HF hub cache or prepared in the datasets cache."""
    found: set[str] = set()
    try:
        import huggingface_hub

        info = huggingface_hub.scan_cache_dir()
        found |= {r.repo_id for r in info.repos if r.repo_type == "dataset"}
    except Exception:  # noqa: BLE001 - no cache folder yet means nothing cached
        pass
    try:
        from datasets import config

        root = Path(config.HF_DATASETS_CACHE)
        if root.is_dir():
            found |= {p.name.replace("___", "/") for p in root.iterdir() if "___" in p.name}
    except Exception:  # noqa: BLE001 - datasets missing or unreadable cache: nothing found
        pass
    return found


def _hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _download_model(item: PrefetchItem) -> None:
    import huggingface_hub

    # Main revision, so that offline from_pretrained(hub_id) finds it (refs/main).
    huggingface_hub.snapshot_download(item.repo_id, allow_patterns=item.files or None)


def _download_dataset(item: PrefetchItem) -> None:
    # load_dataset downloads (with progress bars) and prepares the subset, which is what lets
    # load_dataset(repo, subset) work offline later.
    from datasets import load_dataset

    load_dataset(item.repo_id, item.subset)


def list_cached(chapters: list[int]) -> int:
    """Print what the chapters use and whether it is in the cache; return how many are cached."""
    wanted, skipped = _chapter_models(chapters)
    dataset_repos = _cached_dataset_repos()
    cached = 0
    print(
        f"Offline (HF_HUB_OFFLINE=1): nothing can be downloaded. What chapter "
        f"{_chapters_text(chapters)} uses, and whether it is already cached:"
    )
    for hub_id, used_in in wanted.items():
        here = _is_model_cached(hub_id)
        cached += here
        size = format_bytes(catalog.find(hub_id).download_bytes)
        state = "cached" if here else "missing"
        print(f"  [{state:7}] {hub_id}  (chapter {_chapters_text(used_in)}, about {size})")
    for chapter in chapters:
        for repo_id, subset, approx in CHAPTER_DATASETS.get(chapter, ()):
            here = repo_id in dataset_repos
            cached += here
            state = "cached" if here else "missing"
            print(
                f"  [{state:7}] {repo_id} ({subset})  (chapter {chapter}, about "
                f"{format_bytes(approx)})"
            )
    for message in skipped:
        print(f"  {message}")
    return cached


def _chapters_text(chapters: list[int]) -> str:
    return ", ".join(map(str, chapters))


def build_plan(chapters: list[int], allow_too_large: bool) -> tuple[list[PrefetchItem], list[str]]:
    """Items to fetch and the messages of what is skipped (memory-only or too large)."""
    wanted, skipped = _chapter_models(chapters)
    items: list[PrefetchItem] = []
    for hub_id, used_in in wanted.items():
        fits, verdict = _memory_verdict(hub_id)
        if not fits and not allow_too_large:
            skipped.append(
                f"skip {hub_id}: {verdict} (pass --allow-too-large to download it anyway)"
            )
            continue
        items.append(plan_model(catalog.find(hub_id), used_in))
    for chapter in chapters:
        for repo_id, subset, approx in CHAPTER_DATASETS.get(chapter, ()):
            items.append(plan_dataset(repo_id, subset, approx, [chapter]))
    return items, skipped


def print_plan(items: list[PrefetchItem], skipped: list[str]) -> int:
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
    if offline_mode():
        cached = list_cached(chapters)
        if args.dry_run:
            print(f"{cached} cached; sizes are the catalog's estimates (the Hub was not asked)")
            return 0
        raise CommandError(
            "offline (HF_HUB_OFFLINE=1): nothing can be downloaded; unset HF_HUB_OFFLINE and "
            "run it again (the list above shows what is already cached)"
        )

    print(f"Chapter {_chapters_text(chapters)}: checking sizes on the Hub (no weights yet)...")
    items, skipped = build_plan(chapters, args.allow_too_large)
    total = print_plan(items, skipped)
    if args.dry_run:
        print("dry run: nothing downloaded")
        return 0
    if not items:
        return 0
    if all(item.size_from != "Hub" for item in items):
        raise CommandError(
            "the Hub did not answer, so nothing was downloaded; check your connection or proxy "
            "(or set HF_HUB_OFFLINE=1 to work with the cache and stand-ins)"
        )

    cache = _hf_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache).free
    if total > free:
        raise CommandError(
            f"needs about {format_bytes(total)} but only {format_bytes(free)} is free in {cache}; "
            "free some space or point HF_HOME at a larger disk"
        )

    failed: list[str] = []
    for number, item in enumerate(items, 1):
        print(f"[{number}/{len(items)}] {item.label}: {format_bytes(item.size)}", flush=True)
        try:
            if item.kind == "dataset":
                _download_dataset(item)
            else:
                _download_model(item)
        except Exception as err:  # noqa: BLE001 - report and go on with the others
            print(f"  failed: {_one_line(err)}")
            failed.append(item.label)
    if failed:
        raise CommandError(
            f"{len(failed)} of {len(items)} downloads failed ({', '.join(failed)}); "
            "check your connection and run the same command again (finished files are kept)"
        )
    print(f"done: chapter {_chapters_text(chapters)} can now run offline (HF_HUB_OFFLINE=1)")
    return 0
