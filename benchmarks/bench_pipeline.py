"""Pipeline batching: sentences through the sentiment pipeline, one by one vs batched.

Run on the offline SST-2 stand-in (tiny random DistilBERT) and on the real 22 M-parameter
MiniLM encoder with a (randomly initialised) classification head, the chapter-3 model.
Throughput is reported in sentences per second. The slow one-by-one calls run on an evenly
spaced subset of the sentences (every 8th, so the same spread of lengths), the batched calls on
all of them (the stand-in) or every second one (MiniLM).

    python -m benchmarks.bench_pipeline
"""

from __future__ import annotations

import random

from benchmarks.common import Progress, interleaved, load_note, markdown_table, step_reporter

EXPECTED_SECONDS = 40
WORDS = (
    "course model token attention library learner sentence weight batch padding "
    "transformer hub dataset training evaluation".split()
)
# model label -> (checkpoint name, every n-th sentence one by one, every n-th batched, rounds)
MODELS = {
    "SST-2 stand-in (random DistilBERT, tiny)": (
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        8,
        1,
        3,
    ),
    "MiniLM-L6 encoder + head (22.7 M)": ("google-bert/bert-base-uncased", 8, 2, 2),
}


def sentences(count: int = 256, seed: int = 0) -> list[str]:
    """Sentences of varied length (4 to 40 words), like real input."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))).capitalize() + "."
        for _ in range(count)
    ]


def run(progress: Progress | None = None, repeats: int | None = None) -> str:
    import torch
    from transformers import pipeline
    from transformers.utils import logging

    from course_utils import resolve_checkpoint

    logging.set_verbosity_error()
    torch.manual_seed(0)
    texts = sentences()
    rows, all_timings = [], []
    for index, (label, (name, single_every, batch_every, rounds)) in enumerate(MODELS.items()):
        classifier = pipeline(
            "text-classification", model=resolve_checkpoint(name, announce=False), device="cpu"
        )
        one_by_one, batched = texts[::single_every], texts[::batch_every]
        configs = {
            "one by one": (
                len(one_by_one),
                lambda c=classifier, x=one_by_one: [c(t) for t in x],
            ),
            "batch_size=8": (len(batched), lambda c=classifier, x=batched: c(x, batch_size=8)),
            "batch_size=32": (len(batched), lambda c=classifier, x=batched: c(x, batch_size=32)),
        }
        classifier(texts[:8])  # warm-up on a few sentences, not a whole run
        classifier(texts[:32], batch_size=32)
        report = step_reporter(progress, index / len(MODELS), (index + 1) / len(MODELS))
        timings = interleaved(
            {name: func for name, (_, func) in configs.items()},
            repeats=repeats or rounds,
            min_repeats=2,
            warmup=0,
            progress=lambda done, planned, m=label, r=report: r(
                done, planned, f"{m}, round {done}"
            ),
        )
        all_timings += timings.values()
        rates = {name: configs[name][0] / t.median for name, t in timings.items()}
        for name, timing in timings.items():
            rows.append(
                [
                    label,
                    name,
                    str(configs[name][0]),
                    timing.cell(),
                    f"{rates[name]:.0f}",
                    f"{rates[name] / rates['one by one']:.2f}x",
                ]
            )
    return (
        "### Pipeline batching (sentences of 4-40 words, sentiment pipeline, CPU)\n\n"
        + markdown_table(
            [
                "model",
                "calls",
                "sentences",
                "time (median ± half-range, n runs)",
                "sentences/s",
                "speed-up vs one by one",
            ],
            rows,
        )
        + "\n\n"
        + load_note(all_timings)
        + "\n"
    )


if __name__ == "__main__":
    print(run())
