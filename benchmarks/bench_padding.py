"""Dynamic padding vs padding everything to 128 tokens: training steps of the chapter-3 model
(the MiniLM BERT encoder offline, bert-base-uncased online) on MRPC (offline: the fixture).

Tokens are counted over the whole epoch; the steps are timed on a sample of its batches, spread
evenly over the epoch (the same batches for both collators), because timing the whole epoch
padded to 128 takes minutes on 2 cores and says nothing more.

    python -m benchmarks.bench_padding
"""

from __future__ import annotations

from benchmarks.common import Progress, interleaved, load_note, markdown_table, step_reporter

EXPECTED_SECONDS = 22
BATCH_SIZE = 16
SAMPLED_BATCHES = 5


def run(progress: Progress | None = None, repeats: int = 3) -> str:
    import torch
    from datasets.utils.logging import disable_progress_bar
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
    rows = [tokenized[i] for i in range(len(tokenized))]
    batches = [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]
    step = max(1, len(batches) // SAMPLED_BATCHES)
    sample = batches[::step][:SAMPLED_BATCHES]
    collators = {
        "dynamic padding": DataCollatorWithPadding(tokenizer),
        "pad to 128": DataCollatorWithPadding(tokenizer, padding="max_length", max_length=128),
    }
    tokens = {}
    for label, collate in collators.items():
        epoch = [collate(b) for b in batches]
        tokens[label] = (
            sum(b["input_ids"].numel() for b in epoch),
            sum(int(b["attention_mask"].sum()) for b in epoch),
        )
    sampled = {label: [collate(b) for b in sample] for label, collate in collators.items()}
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)

    def train_on(prepared):
        for batch in prepared:
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    report = step_reporter(progress, 0.1, 1.0)
    train_on(sampled["dynamic padding"][:1])  # warm-up: first-call costs
    train_on(sampled["pad to 128"][:1])
    timings = interleaved(
        {label: lambda p=prepared: train_on(p) for label, prepared in sampled.items()},
        repeats=repeats,
        min_repeats=2,
        warmup=0,
        progress=lambda done, planned: report(done, planned, f"round {done}"),
    )
    samples = sum(len(b) for b in sample)
    table, rates = [], {}
    for label, timing in timings.items():
        rates[label] = samples / timing.median
        table.append(
            [
                label,
                f"{tokens[label][0]:,}",
                f"{tokens[label][1]:,}",
                f"{timing.median / len(sample):.2f} s ± {timing.spread:.0%} (n={len(timing.seconds)})",
                f"{rates[label]:.1f}",
            ]
        )
    ratio = rates["dynamic padding"] / rates["pad to 128"]
    return (
        f"### Dynamic padding ({len(tokenized)} pairs, batch {BATCH_SIZE}, MiniLM-L6 BERT, "
        f"CPU; steps timed on {len(sample)} of the epoch's {len(batches)} batches)\n\n"
        + markdown_table(
            [
                "collator",
                "tokens per epoch (incl. padding)",
                "real tokens",
                "time per training step (median ± half-range)",
                "samples/s",
            ],
            table,
        )
        + f"\n\nDynamic padding: {ratio:.2f}x the samples per second (target ≥ 1.8x: "
        f"{'met' if ratio >= 1.8 else 'NOT met'}). " + load_note(timings.values()) + "\n"
    )


if __name__ == "__main__":
    print(run())
