"""Pipeline batching: sentences through the sentiment pipeline, one by one vs batched.

Run on the offline SST-2 stand-in (tiny random DistilBERT) and on the real 22 M-parameter
MiniLM encoder with a (randomly initialised) classification head, the chapter-3 model.
Throughput is reported in sentences per second; all three ways of calling a model get the same
sentences (all 256 for the stand-in, every second one for MiniLM).

On a quiet machine a one-by-one call costs about 1 ms (stand-in) or 12 ms (MiniLM). On a busy
one it costs far more: torch's threads wait for a core at every small operation, and many small
calls suffer most (earlier runs measured 160 ms and 500 ms per call, ± 43 %). So read this table
with its other-load note.

    python -m benchmarks.bench_pipeline
"""

from __future__ import annotations

import random

from benchmarks.common import Progress, interleaved, load_note, markdown_table, step_reporter

EXPECTED_SECONDS = 10
WORDS = (
    "course model token attention library learner sentence weight batch padding "
    "transformer hub dataset training evaluation".split()
)
# model label -> (checkpoint name, every n-th sentence, rounds)
MODELS = {
    "SST-2 stand-in (random DistilBERT, tiny)": (
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        1,
        3,
    ),
    "MiniLM-L6 encoder + head (22.7 M)": ("google-bert/bert-base-uncased", 2, 3),
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
    for index, (label, (name, every, rounds)) in enumerate(MODELS.items()):
        classifier = pipeline(
            "text-classification", model=resolve_checkpoint(name, announce=False), device="cpu"
        )
        chosen = texts[::every]
        configs = {
            "one by one": lambda c=classifier, x=chosen: [c(t) for t in x],
            "batch_size=8": lambda c=classifier, x=chosen: c(x, batch_size=8),
            "batch_size=32": lambda c=classifier, x=chosen: c(x, batch_size=32),
        }
        classifier(texts[:8])  # warm-up on a few sentences, not a whole run
        classifier(texts[:32], batch_size=32)
        report = step_reporter(progress, index / len(MODELS), (index + 1) / len(MODELS))
        timings = interleaved(
            configs,
            repeats=repeats or rounds,
            min_repeats=2,
            warmup=0,
            progress=lambda done, planned, m=label, r=report: r(
                done, planned, f"{m}, round {done}"
            ),
        )
        all_timings += timings.values()
        rates = {name: len(chosen) / t.median for name, t in timings.items()}
        for name, timing in timings.items():
            rows.append(
                [
                    label,
                    name,
                    str(len(chosen)),
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
