"""What a chapter downloads: the plan (files and sizes from Hub metadata), the cache and the
downloads themselves.

Only the files a course notebook loads are fetched: safetensors weights (never the .bin / .h5 /
.msgpack copies of the same weights), the config and the tokenizer files. Sizes come from the
Hub's file metadata before anything is downloaded; the catalog's numbers are the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course_utils import catalog, hub
from course_utils.display import format_bytes

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


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def plan_model(entry: catalog.CatalogEntry, chapters: list[int]) -> PrefetchItem:
    """Files and size of one checkpoint, from Hub metadata (catalog size if the Hub fails)."""
    from huggingface_hub import HfApi

    item = PrefetchItem("model", entry.hub_id, chapters, size=entry.download_bytes)
    try:
        info = HfApi().model_info(entry.hub_id, files_metadata=True, timeout=hub.TIMEOUT)
    except Exception as err:  # noqa: BLE001 - any Hub failure falls back to the catalog
        item.notes.append(f"Hub metadata unavailable ({one_line(err)}); catalog size shown")
        return item
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    item.files = select_files(list(sizes))
    if not any(f.endswith(".safetensors") for f in item.files):
        item.notes.append("no safetensors weights in this repository: fetching pytorch_model.bin")
    if item.files and all(sizes[f] is not None for f in item.files):
        item.size = sum(sizes[f] for f in item.files)
        item.size_from = "Hub"
    return item


def plan_dataset(dataset: catalog.DatasetEntry, chapters: list[int]) -> PrefetchItem:
    """Data files of one dataset subset, from Hub metadata (a stored estimate if the Hub fails)."""
    from huggingface_hub import HfApi

    item = PrefetchItem(
        "dataset", dataset.repo_id, chapters, size=dataset.download_bytes, subset=dataset.subset
    )
    try:
        info = HfApi().dataset_info(dataset.repo_id, files_metadata=True, timeout=hub.TIMEOUT)
    except Exception as err:  # noqa: BLE001 - any Hub failure falls back to the estimate
        item.notes.append(f"Hub metadata unavailable ({one_line(err)}); estimated size shown")
        return item
    files = [s for s in info.siblings or [] if s.rfilename.startswith(f"{dataset.subset}/")]
    item.files = sorted(s.rfilename for s in files)
    if files and all(s.size is not None for s in files):
        item.size = sum(s.size for s in files)
        item.size_from = "Hub"
    return item


def chapter_models(chapters: list[int]) -> tuple[dict[str, list[int]], list[str]]:
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


def build_plan(chapters: list[int], allow_too_large: bool) -> tuple[list[PrefetchItem], list[str]]:
    """Items to fetch and the messages of what is skipped (memory-only or too large)."""
    wanted, skipped = chapter_models(chapters)
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
        for dataset in catalog.datasets_for_chapter(chapter):
            items.append(plan_dataset(dataset, [chapter]))
    return items, skipped


# --- the cache -------------------------------------------------------------------------------


def cached_dataset_repos() -> set[str]:
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


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


# --- downloads -------------------------------------------------------------------------------


def download_model(item: PrefetchItem) -> None:
    import huggingface_hub

    # Main revision, so that offline from_pretrained(hub_id) finds it (refs/main).
    huggingface_hub.snapshot_download(item.repo_id, allow_patterns=item.files or None)


def download_dataset(item: PrefetchItem) -> None:
    # load_dataset downloads (with progress bars) and prepares the subset, which is what lets
    # load_dataset(repo, subset) work offline later.
    from datasets import load_dataset

    load_dataset(item.repo_id, item.subset)


def download(item: PrefetchItem) -> None:
    (download_dataset if item.kind == "dataset" else download_model)(item)
