"""What a chapter 3 training run works on: the checkpoint's tokenizer and model, and MRPC.

Each loader checks what it loads and fails with one line that says what to change (a flag),
before the first training step.
"""

from __future__ import annotations

import contextlib

from course_utils.errors import CourseError, first_line
from course_utils.training.options import RunConfig, TrainingSetupError

KEEP_COLUMNS = ("input_ids", "token_type_ids", "attention_mask", "label")


def _loading(source: str):
    """A load from ``source`` with the Hub's deadlines, whose known failures (a download cut
    short, unsafe pickles, a damaged file...) are the course's own errors."""
    from course_utils.hub import client as hub
    from course_utils.models import load_errors

    stack = contextlib.ExitStack()
    stack.enter_context(load_errors.translated(source))
    stack.enter_context(hub.deadlines())
    return stack


def load_tokenizer(source: str, accelerator):
    """The checkpoint's tokenizer, with a padding token (batches of pairs are padded)."""
    from transformers import AutoTokenizer

    try:
        with _loading(source):
            tokenizer = AutoTokenizer.from_pretrained(source)
    except CourseError:
        raise
    except Exception as err:  # noqa: BLE001 - any load failure: one line that names the source
        raise TrainingSetupError(
            f"cannot load the tokenizer of {source} ({first_line(err)}): check --checkpoint"
        ) from None
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise TrainingSetupError(
                f"the tokenizer of {source} has no padding token and no end-of-text token to "
                "pad with: pick a --checkpoint made for classification (e.g. a BERT)"
            )
        tokenizer.pad_token = tokenizer.eos_token
        accelerator.print(
            f"The tokenizer of {source} has no padding token: padding with its end-of-text "
            f"token {tokenizer.eos_token!r} (tokenizer.pad_token = tokenizer.eos_token)."
        )
    return tokenizer


def load_model(source: str, tokenizer):
    """A two-label sequence classifier from the checkpoint, in float32, told the padding id."""
    import torch
    from transformers import AutoModelForSequenceClassification

    try:
        with _loading(source):
            model = AutoModelForSequenceClassification.from_pretrained(
                source, num_labels=2, dtype=torch.float32
            )
    except CourseError:
        raise
    except Exception as err:  # noqa: BLE001 - any load failure: one line that names the source
        raise TrainingSetupError(
            f"cannot load {source} as a sequence classifier ({first_line(err)}): check --checkpoint"
        ) from None
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def load_data(config: RunConfig, tokenizer, accelerator):
    """MRPC (offline: from the cache, else the fixture), cut to the subsets asked for, tokenized, in torch format."""
    from course_utils.mrpc import load_mrpc, tokenize_pairs

    with accelerator.main_process_first():
        raw = load_mrpc(verbose=accelerator.is_main_process)
    splits = []
    for split, subset in (("train", config.train_subset), ("validation", config.eval_subset)):
        rows = raw[split]
        if subset is not None:
            rows = rows.select(range(min(subset, rows.num_rows)))
        tokenized = tokenize_pairs(rows, tokenizer, max_length=config.max_length)
        drop = [c for c in tokenized.column_names if c not in KEEP_COLUMNS]
        splits.append(
            tokenized.remove_columns(drop).rename_column("label", "labels").with_format("torch")
        )
    train_data, eval_data = splits
    if train_data.num_rows < config.batch_size:
        raise TrainingSetupError(
            f"only {train_data.num_rows} training pairs for a batch of {config.batch_size}: "
            "lower --batch-size or raise --train-subset."
        )
    return train_data, eval_data
