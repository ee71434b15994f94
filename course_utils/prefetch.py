"""What a chapter downloads: the plan (files and sizes from Hub metadata), the cache and the
downloads themselves.

Only the files a course notebook loads are fetched: safetensors weights (never the .bin / .h5 /
.msgpack copies of the same weights), the config and the tokenizer files. A repository with no
safetensors at all gets its pickled weights, and the plan says so before anything is
downloaded. The plan is huggingface_hub's own dry run (``snapshot_download(..., dry_run=True)``:
each file's size, and whether it is cached already), asked of no repository once the Hub
stopped answering; the catalog's numbers are the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course_utils import catalog
from course_utils.display import format_bytes
from course_utils.errors import first_line
from course_utils.hub import cache
from course_utils.hub import client as hub

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
FALLBACK_WEIGHTS = cache.PICKLED_FILES
# What the dry run is asked about; select_files() then keeps what from_pretrained needs.
MODEL_PATTERNS = sorted(
    {*CONFIG_FILES, *TOKENIZER_FILES, *cache.SAFETENSORS_FILES, "*.safetensors", *FALLBACK_WEIGHTS}
)


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
    cached: set[str] = field(default_factory=set)  # files the dry run found in the cache
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


# What makes the Hub unusable for every repository, not just one: then it is not asked again.
HUB_UNUSABLE = (hub.HubUnreachableError, hub.HubRateLimitedError)


@dataclass
class HubState:
    """What the planning learned about the Hub: once it stops answering (or answers too
    slowly, not as a Hub, or rate-limited), it is not asked again (so a silent Hub costs one
    timeout, not one per repository)."""

    unreachable: hub.HubError | None = None

    @classmethod
    def probe(cls) -> HubState:
        """One bounded request before anything else, so a silent Hub is known at once."""
        try:
            hub.ensure_reachable("nothing can be listed or downloaded")
        except HUB_UNUSABLE as err:
            return cls(err)
        return cls()

    def file_sizes(self, item: PrefetchItem, patterns: list[str]) -> dict[str, int | None] | None:
        """The files a download would fetch and their sizes (huggingface_hub's dry run), and
        how many bytes are cached already; ``None`` (with a note on the item) on failure."""
        if self.unreachable is not None:
            item.notes.append("the Hub did not answer; catalog size shown")
            return None
        try:
            files = hub.dry_run(item.repo_id, patterns, item.kind)
        except HUB_UNUSABLE as err:
            self.unreachable = err
            item.notes.append("the Hub did not answer; catalog size shown")
        except hub.HubError as err:
            item.notes.append(f"Hub metadata unavailable ({first_line(err)}); catalog size shown")
        else:
            item.cached = {f.filename for f in files if f.is_cached}
            return {f.filename: f.file_size for f in files}
        return None


def plan_model(
    entry: catalog.CatalogEntry, chapters: list[int], state: HubState | None = None
) -> PrefetchItem:
    """Files and size of one checkpoint, from Hub metadata (catalog size if the Hub fails)."""
    item = PrefetchItem("model", entry.hub_id, chapters, size=entry.download_bytes)
    sizes = (state or HubState()).file_sizes(item, MODEL_PATTERNS)
    if sizes is None:
        return item
    item.files = select_files(list(sizes))
    if item.files and not any(f.endswith(".safetensors") for f in item.files):
        item.notes.append(
            "this repository has no safetensors weights, only pickled ones (pytorch_model.bin): "
            "they are downloaded, and transformers loads them with torch's weights_only loader, "
            "which refuses anything but tensors"
        )
    if item.files and all(sizes[f] is not None for f in item.files):
        item.size = sum(sizes[f] for f in item.files)
        item.size_from = "Hub"
    return item


def plan_dataset(
    dataset: catalog.DatasetEntry, chapters: list[int], state: HubState | None = None
) -> PrefetchItem:
    """Data files of one dataset subset, from Hub metadata (a stored estimate if the Hub fails)."""
    item = PrefetchItem(
        "dataset", dataset.repo_id, chapters, size=dataset.download_bytes, subset=dataset.subset
    )
    sizes = (state or HubState()).file_sizes(item, [f"{dataset.subset}/*"])
    if sizes is None:
        return item
    files = {name: size for name, size in sizes.items() if name.startswith(f"{dataset.subset}/")}
    item.files = sorted(files)
    if files and all(size is not None for size in files.values()):
        item.size = sum(files.values())
        item.size_from = "Hub"
    return item


def chapter_models(
    chapters: list[int], edition: str = "en"
) -> tuple[dict[str, list[int]], list[str]]:
    """Models to fetch (hub id -> chapters) and messages for memory-only entries."""
    wanted: dict[str, list[int]] = {}
    skipped: list[str] = []
    for chapter in chapters:
        for entry in catalog.models_for(chapter, edition):
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


def downloads_anything(chapters: list[int], edition: str = "en") -> bool:
    """Whether the chapters use any checkpoint or dataset that can be downloaded."""
    wanted, _ = chapter_models(chapters, edition)
    return bool(wanted) or any(catalog.datasets_for_chapter(c) for c in chapters)


def _memory_verdict(hub_id: str) -> tuple[bool, str]:
    from course_utils.models.fit import estimate_memory
    from course_utils.models.memory import check_fits

    # "auto": the dtype the checkpoint is stored in, which is what from_pretrained loads.
    verdict = check_fits(estimate_memory(hub_id, dtype="auto"))
    return verdict.fits, str(verdict).splitlines()[0]


def build_plan(
    chapters: list[int],
    allow_too_large: bool,
    state: HubState | None = None,
    edition: str = "en",
) -> tuple[list[PrefetchItem], list[str], HubState]:
    """Items to fetch, the messages of what is skipped (memory-only or too large), and what
    the Hub answered (``state.unreachable`` is set when it did not)."""
    wanted, skipped = chapter_models(chapters, edition)
    state = state or HubState()
    items: list[PrefetchItem] = []
    for hub_id, used_in in wanted.items():
        fits, verdict = _memory_verdict(hub_id)
        if not fits and not allow_too_large:
            skipped.append(
                f"skip {hub_id}: {verdict} (pass --allow-too-large to download it anyway)"
            )
            continue
        items.append(plan_model(catalog.find(hub_id), used_in, state))
    for chapter in chapters:
        for dataset in catalog.datasets_for_chapter(chapter):
            items.append(plan_dataset(dataset, [chapter], state))
    return items, skipped, state


# --- the cache -------------------------------------------------------------------------------


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


# --- downloads -------------------------------------------------------------------------------


def download_model(item: PrefetchItem) -> None:
    import huggingface_hub

    # Main revision, so that offline from_pretrained(hub_id) finds it (refs/main).
    with hub.deadlines():
        huggingface_hub.snapshot_download(item.repo_id, allow_patterns=item.files or None)
    if item.files and not any(f.endswith(".safetensors") for f in item.files):
        # Pickled weights only: the cache records that there are no safetensors, which is what
        # lets the course (hub.cache.model_is_cached) and transformers use the pickled copy offline.
        hub.confirm_absent(item.repo_id, cache.SAFETENSORS_FILES)


def download_dataset(item: PrefetchItem) -> None:
    # load_dataset downloads (with progress bars) and prepares the subset, which is what lets
    # load_dataset(repo, subset) work offline later.
    from datasets import load_dataset

    with hub.deadlines():
        load_dataset(item.repo_id, item.subset)


def download(item: PrefetchItem) -> None:
    """Download one item. A failure the course knows (too slow, cut short, a full disk,
    rate-limited, a Hub that stopped answering...) is the course's error (see
    :func:`hub.translate`); anything else, a local ``OSError`` included, is raised as it is."""
    try:
        (download_dataset if item.kind == "dataset" else download_model)(item)
    except Exception as err:
        what = f"{item.label} was not downloaded"
        error = hub.download_failure(err, item.repo_id, what)
        if error is None and not isinstance(err, OSError):
            error = hub.translate(err, item.repo_id, what)
        if error is None or error is err:
            raise
        raise error from None
