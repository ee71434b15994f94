"""Helpers for the Hugging Face NLP course companion (chapters 0-3).

One small module per concern; importing this package has no side effects.
"""

from course_utils.checkpoints import CheckpointError, resolve_checkpoint
from course_utils.device import pick_device
from course_utils.environment import EnvironmentReport, environment_report
from course_utils.hub_access import AccessResult, check_repo_access
from course_utils.memory import (
    FitVerdict,
    MemoryEstimate,
    ModelTooLargeError,
    check_fits,
    ensure_fits,
    estimate_memory,
)
from course_utils.mrpc import load_mrpc, tokenize_pairs
from course_utils.offline import offline_mode
from course_utils.pipelines import pipeline
from course_utils.tokenizer_lab import compare_tokenizers, load_corpus, train_tokenizer

__all__ = [
    "AccessResult",
    "CheckpointError",
    "EnvironmentReport",
    "FitVerdict",
    "MemoryEstimate",
    "ModelTooLargeError",
    "check_fits",
    "check_repo_access",
    "compare_tokenizers",
    "ensure_fits",
    "environment_report",
    "estimate_memory",
    "load_corpus",
    "load_mrpc",
    "offline_mode",
    "pick_device",
    "pipeline",
    "resolve_checkpoint",
    "tokenize_pairs",
    "train_tokenizer",
]
