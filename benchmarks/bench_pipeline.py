"""Pipeline batching: 256 sentences through the sentiment pipeline, one by one vs batched.

Run on the offline SST-2 stand-in (tiny random DistilBERT) and on the real 22 M-parameter
MiniLM encoder with a (randomly initialised) classification head, the chapter-3 model.
"""

from __future__ import annotations

import random

from benchmarks.common import interleaved, markdown_table

WORDS = (
    "course model token attention library learner sentence weight batch padding "
    "transformer hub dataset training evaluation".split()
)


def sentences(count: int = 256, seed: int = 0) -> list[str]:
    """Sentences of varied length (4 to 40 words), like real input."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))).capitalize() + "."
        for _ in range(count)
    ]


def run(repeats: int = 5) -> str:
    import torch
    from transformers import pipeline
    from transformers.utils import logging

    from course_utils import resolve_checkpoint

    logging.set_verbosity_error()
    torch.manual_seed(0)
    texts = sentences()
    models = {
        "SST-2 stand-in (random DistilBERT, tiny)": resolve_checkpoint(
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english", announce=False
        ),
        "MiniLM-L6 encoder + head (22.7 M)": resolve_checkpoint(
            "google-bert/bert-base-uncased", announce=False
        ),
    }
    rows = []
    for label, checkpoint in models.items():
        classifier = pipeline("text-classification", model=checkpoint, device="cpu")
        configs = {
            "one by one": lambda c=classifier: [c(t) for t in texts],
            "batch_size=8": lambda c=classifier: c(texts, batch_size=8),
            "batch_size=32": lambda c=classifier: c(texts, batch_size=32),
        }
        timings = interleaved(configs, repeats=repeats)
        base = timings["one by one"].median
        for name, timing in timings.items():
            rows.append(
                [
                    label,
                    name,
                    timing.cell(),
                    f"{len(texts) / timing.median:.0f}",
                    f"{base / timing.median:.2f}x",
                ]
            )
    return (
        "### Pipeline batching (256 sentences of 4-40 words, sentiment pipeline, CPU)\n\n"
        + markdown_table(
            [
                "model",
                "calls",
                "time (median ± half-range)",
                "sentences/s",
                "speed-up vs one by one",
            ],
            rows,
        )
        + "\n"
    )


if __name__ == "__main__":
    print(run())
