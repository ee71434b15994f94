"""What the local caches hold, asked through the libraries' public API (no network, no folder
layouts of our own).

- :func:`model_is_cached`: a Hub model's config, weights and tokenizer, as the HF cache records
  them (``huggingface_hub.try_to_load_from_cache``);
- :func:`dataset_is_cached`: a dataset subset prepared by 🤗 Datasets, as ``load_dataset`` would
  find it offline (``datasets.load_dataset_builder``).
"""

from __future__ import annotations

# Weights the course loads; pickled copies count only where a repository has nothing else.
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLED_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# A tokenizer needs its vocabulary: one of these (a config file alone does not load).
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "source.spm",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)


def _lookup(repo_id: str, filenames: tuple[str, ...], repo_type: str = "model") -> dict:
    """``filename -> path`` (a str), ``None`` (the cache knows nothing of it) or another
    object (huggingface_hub's marker that the Hub has no such file)."""
    from huggingface_hub import try_to_load_from_cache

    return {f: try_to_load_from_cache(repo_id, f, repo_type=repo_type) for f in filenames}


def model_is_cached(repo_id: str) -> bool:
    """True when the HF cache holds what ``from_pretrained`` and ``AutoTokenizer`` need offline:
    the config, the weights and a tokenizer vocabulary.

    Safetensors weights count. Pickled weights (``pytorch_model.bin``) count only where the cache
    records that the repository has no safetensors (``course prefetch`` and transformers record
    it when they look); transformers loads them with torch's ``weights_only`` loader.
    """
    from huggingface_hub.errors import HFValidationError

    try:
        if not isinstance(_lookup(repo_id, ("config.json",))["config.json"], str):
            return False
        if not any(isinstance(p, str) for p in _lookup(repo_id, TOKENIZER_FILES).values()):
            return False
        weights = _lookup(repo_id, SAFETENSORS_FILES)
        if any(isinstance(path, str) for path in weights.values()):
            return True
        if any(path is None for path in weights.values()):
            return False  # safetensors may exist upstream: pickled copies do not count
        return any(isinstance(p, str) for p in _lookup(repo_id, PICKLED_FILES).values())
    except HFValidationError:
        return False


def dataset_is_cached(repo_id: str, subset: str | None = None) -> bool:
    """True when ``load_dataset(repo_id, subset)`` finds the prepared data offline.

    Asks 🤗 Datasets itself, offline: ``load_dataset_builder`` answers from the cache (and
    raises when the subset was never prepared). Call it only with ``HF_HUB_OFFLINE=1``: online
    it would ask the Hub.
    """
    from pathlib import Path

    import datasets

    level = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity_error()  # "Using the latest cached version..." is expected
    try:
        builder = datasets.load_dataset_builder(repo_id, subset)
    except Exception:  # noqa: BLE001 - any failure to find it means: not usable offline
        return False
    finally:
        datasets.logging.set_verbosity(level)
    return bool(builder.info.splits) and Path(builder.cache_dir).is_dir()
