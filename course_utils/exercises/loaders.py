"""The models and tokenizers the checks run on, loaded once per session, quietly, on the CPU.

They come from the course's own resolution (:func:`course_utils.models.resolve.locate`), like
the learner's ``resolve_checkpoint(name)``: online the real checkpoint, offline the cached one
or the local stand-in. So a reference is always computed on the model the learner uses.
"""

from __future__ import annotations

import contextlib
import functools

from course_utils.exercises.messages import Text
from course_utils.models.resolve import Checkpoint, locate


@functools.cache
def checkpoint(name: str) -> Checkpoint:
    return locate(name)


def model_label(name: str) -> Text:
    """How a verdict names the model it checked on (a stand-in says so)."""
    real = checkpoint(name).real_name
    if checkpoint(name).is_standin:
        return Text(
            f"the local stand-in for {real} (offline: random weights)",
            f"{real} 的本地替身模型（离线：权重是随机的）",
        )
    return Text(real, real)


@contextlib.contextmanager
def quietly():
    """No progress bars or load reports while a check loads a model or maps a dataset."""
    from datasets.utils import logging as datasets_logging
    from transformers.utils import logging

    libraries = (logging, datasets_logging)
    bars = [library.is_progress_bar_enabled() for library in libraries]
    verbosities = [library.get_verbosity() for library in libraries]
    for library in libraries:
        library.disable_progress_bar()
        library.set_verbosity_error()
    try:
        yield
    finally:
        for library, bar, verbosity in zip(libraries, bars, verbosities, strict=True):
            library.set_verbosity(verbosity)
            if bar:
                library.enable_progress_bar()


@functools.cache
def tokenizer(name: str):
    from transformers import AutoTokenizer

    with quietly():
        return AutoTokenizer.from_pretrained(checkpoint(name).source)


@functools.cache
def sequence_classifier(name: str):
    from transformers import AutoModelForSequenceClassification

    with quietly():
        return AutoModelForSequenceClassification.from_pretrained(checkpoint(name).source).eval()


@functools.cache
def task_pipeline(task: str, name: str):
    from transformers import pipeline

    with quietly():
        return pipeline(task, model=checkpoint(name).source, device="cpu")
