"""Dynamic padding vs padding everything to 128 tokens: one training epoch of the chapter-3
model (the MiniLM BERT encoder offline, bert-base-uncased online) on MRPC (offline: the fixture).
"""

from __future__ import annotations

import time

from benchmarks.common import markdown_table


def _epoch(model, loader, optimizer) -> tuple[float, int, int]:
    model.train()
    start = time.perf_counter()
    padded_tokens = real_tokens = 0
    for batch in loader:
        padded_tokens += batch["input_ids"].numel()
        real_tokens += int(batch["attention_mask"].sum())
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return time.perf_counter() - start, padded_tokens, real_tokens


def run(repeats: int = 3, batch_size: int = 16) -> str:
    import statistics

    import torch
    from datasets.utils.logging import disable_progress_bar
    from torch.utils.data import DataLoader
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
    )
    from transformers.utils import logging

    from course_utils import resolve_checkpoint
    from course_utils.mrpc import load_mrpc, tokenize_pairs

    disable_progress_bar()
    logging.set_verbosity_error()
    torch.manual_seed(0)
    checkpoint = resolve_checkpoint("google-bert/bert-base-uncased", announce=False)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    train = load_mrpc(verbose=False)["train"]
    tokenized = tokenize_pairs(train, tokenizer).remove_columns(["sentence1", "sentence2", "idx"])
    tokenized = tokenized.rename_column("label", "labels")
    dynamic = DataLoader(
        tokenized,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=DataCollatorWithPadding(tokenizer),
    )
    fixed = DataLoader(
        tokenized,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=DataCollatorWithPadding(tokenizer, padding="max_length", max_length=128),
    )
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    results: dict[str, list] = {"dynamic padding": [], "pad to 128": []}
    for _ in range(repeats):  # alternate the two so machine noise hits both
        results["dynamic padding"].append(_epoch(model, dynamic, optimizer))
        results["pad to 128"].append(_epoch(model, fixed, optimizer))
    rows, rates = [], {}
    for label, runs in results.items():
        seconds = [r[0] for r in runs]
        median = statistics.median(seconds)
        spread = (max(seconds) - min(seconds)) / 2 / median
        rates[label] = len(tokenized) / median
        rows.append(
            [
                label,
                f"{runs[0][1]:,}",
                f"{runs[0][2]:,}",
                f"{median:.1f} s ± {spread:.0%}",
                f"{rates[label]:.1f}",
            ]
        )
    ratio = rates["dynamic padding"] / rates["pad to 128"]
    return (
        f"### Dynamic padding (one epoch, {len(tokenized)} pairs, batch {batch_size}, "
        "MiniLM-L6 BERT, CPU)\n\n"
        + markdown_table(
            [
                "collator",
                "tokens processed (incl. padding)",
                "real tokens",
                "epoch time",
                "samples/s",
            ],
            rows,
        )
        + f"\n\nDynamic padding: {ratio:.2f}x the samples per second (target ≥ 1.8x).\n"
    )


if __name__ == "__main__":
    print(run())
