"""Dataset mapping: tokenizing MRPC-sized data (3,668 pairs) and ten times that.

Compares unbatched, batched in one process, batched with 2 processes, the notes' num_proc=16,
and course_utils' default (``tokenize_pairs`` with ``num_proc="auto"``), side by side.
Offline the pairs are the project's MRPC-shaped fixture, repeated to the target size.
"""

from __future__ import annotations

from benchmarks.common import interleaved, markdown_table

SIZES = {"MRPC size (3,668 pairs)": 3668, "10x (36,680 pairs)": 36680}


def _pairs(num_rows: int):
    from datasets import Dataset

    from course_utils.mrpc import load_mrpc

    train = load_mrpc(verbose=False)["train"]
    s1, s2 = train["sentence1"], train["sentence2"]
    return Dataset.from_dict(
        {
            "sentence1": [s1[i % len(s1)] for i in range(num_rows)],
            "sentence2": [s2[i % len(s2)] for i in range(num_rows)],
            "label": [0] * num_rows,
        }
    )


def run(repeats: int = 3) -> str:
    from datasets.utils.logging import disable_progress_bar
    from transformers import AutoTokenizer

    from course_utils import resolve_checkpoint
    from course_utils.mrpc import choose_num_proc, tokenize_pairs

    disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_checkpoint("google-bert/bert-base-uncased", announce=False)
    )

    def tok(batch):
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True)

    rows, verdicts = [], []
    for size_label, num_rows in SIZES.items():
        data = _pairs(num_rows)
        configs = {
            "unbatched": lambda d=data: d.map(tok, batched=False),
            "batched, 1 process": lambda d=data: d.map(tok, batched=True),
            "batched, num_proc=2": lambda d=data: d.map(tok, batched=True, num_proc=2),
            "batched, num_proc=16 (the notes)": lambda d=data: d.map(
                tok, batched=True, num_proc=16
            ),
            f"course default (num_proc={choose_num_proc(num_rows)})": lambda d=data: tokenize_pairs(
                d, tokenizer
            ),
        }
        timings = interleaved(configs, repeats=repeats, warmup=0)
        fastest = min(t.median for t in timings.values())
        default = next(t for label, t in timings.items() if label.startswith("course default"))
        notes16 = timings["batched, num_proc=16 (the notes)"]
        for label, timing in timings.items():
            rows.append([size_label, label, timing.cell(), f"{timing.median / fastest:.2f}x"])
        verdicts.append(
            f"{size_label}: default is {default.median / fastest:.2f}x the fastest "
            f"(target ≤ 1.10x), and {notes16.median / default.median:.1f}x faster than "
            "num_proc=16" + (" (target ≥ 3x)" if num_rows == 3668 else "")
        )
    return (
        "### Dataset mapping (fast BERT tokenizer, `Dataset.map`)\n\n"
        + markdown_table(
            ["data", "configuration", "time (median ± half-range)", "vs fastest"], rows
        )
        + "\n\n"
        + "\n".join(f"- {v}" for v in verdicts)
        + "\n"
    )


if __name__ == "__main__":
    print(run())
