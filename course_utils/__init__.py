"""Helpers for the Hugging Face NLP course companion (chapters 0-3).

Organised by subsystem (docs/architecture.md draws the floors); importing this package has no
side effects and imports neither torch nor transformers: each public name below is loaded from
its module on first use, so the ``course`` command answers ``--help`` at once.

| subsystem | concern |
| --- | --- |
| ``errors`` / ``settings`` / ``paths`` / ``display`` | the course's errors; the environment; folders; formatting |
| ``catalog`` | every model and dataset the course uses, with the real checkpoints' numbers |
| ``hub/`` | every request to the Hugging Face Hub (``HF_ENDPOINT``), the cache, where things come from |
| ``standins/`` | the offline stand-ins |
| ``models/`` | where a model's weights come from, its config, will it fit, which device |
| ``pipelines/`` | the course's ``pipeline()`` and the pipelines transformers 5 removed |
| ``mrpc`` / ``training/`` | chapter 3's data and training script |
| ``tokenizer_lab`` / ``fonts`` | chapter 2's tokenizer comparison; Chinese labels in plots |
| ``environment`` / ``prefetch`` / ``cli/`` | ``course doctor``, downloads ahead of time, the ``course`` command |
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public name -> the module that defines it.
_EXPORTS = {
    "AccessResult": "course_utils.hub.access",
    "check_repo_access": "course_utils.hub.access",
    "HubError": "course_utils.hub.client",
    "Checkpoint": "course_utils.models.resolve",
    "CheckpointError": "course_utils.models.resolve",
    "locate": "course_utils.models.resolve",
    "resolve_checkpoint": "course_utils.models.resolve",
    "format_bytes": "course_utils.display",
    "use_chinese_font": "course_utils.fonts",
    "pick_device": "course_utils.models.device",
    "supports_bf16": "course_utils.models.device",
    "EnvironmentReport": "course_utils.environment",
    "advice": "course_utils.environment",
    "environment_report": "course_utils.environment",
    "FitVerdict": "course_utils.models.memory",
    "MemoryEstimate": "course_utils.models.memory",
    "ModelTooLargeError": "course_utils.models.memory",
    "check_fits": "course_utils.models.memory",
    "ensure_fits": "course_utils.models.fit",
    "estimate_memory": "course_utils.models.fit",
    "choose_num_proc": "course_utils.mrpc",
    "load_mrpc": "course_utils.mrpc",
    "tokenize_pairs": "course_utils.mrpc",
    "pipeline": "course_utils.pipelines.factory",
    "follow_free_cores": "course_utils.training.threads",
    "force_standins": "course_utils.hub.policy",
    "offline_mode": "course_utils.hub.policy",
    "compare_tokenizers": "course_utils.tokenizer_lab",
    "load_corpus": "course_utils.tokenizer_lab",
    "train_tokenizer": "course_utils.tokenizer_lab",
}
__all__ = [
    "AccessResult",
    "Checkpoint",
    "CheckpointError",
    "EnvironmentReport",
    "FitVerdict",
    "HubError",
    "MemoryEstimate",
    "ModelTooLargeError",
    "advice",
    "check_fits",
    "check_repo_access",
    "choose_num_proc",
    "compare_tokenizers",
    "ensure_fits",
    "environment_report",
    "estimate_memory",
    "follow_free_cores",
    "force_standins",
    "format_bytes",
    "load_corpus",
    "load_mrpc",
    "locate",
    "offline_mode",
    "pick_device",
    "pipeline",
    "resolve_checkpoint",
    "supports_bf16",
    "tokenize_pairs",
    "train_tokenizer",
    "use_chinese_font",
]

if TYPE_CHECKING:  # what type checkers and readers see; nothing of this runs
    from course_utils.display import format_bytes
    from course_utils.environment import EnvironmentReport, advice, environment_report
    from course_utils.fonts import use_chinese_font
    from course_utils.hub.access import AccessResult, check_repo_access
    from course_utils.hub.client import HubError
    from course_utils.hub.policy import force_standins, offline_mode
    from course_utils.models.device import pick_device, supports_bf16
    from course_utils.models.fit import ensure_fits, estimate_memory
    from course_utils.models.memory import (
        FitVerdict,
        MemoryEstimate,
        ModelTooLargeError,
        check_fits,
    )
    from course_utils.models.resolve import Checkpoint, CheckpointError, locate, resolve_checkpoint
    from course_utils.mrpc import choose_num_proc, load_mrpc, tokenize_pairs
    from course_utils.pipelines.factory import pipeline
    from course_utils.tokenizer_lab import compare_tokenizers, load_corpus, train_tokenizer
    from course_utils.training.threads import follow_free_cores


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
