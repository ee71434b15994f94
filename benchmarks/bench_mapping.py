"""Dataset mapping: tokenizing MRPC-sized data (3,668 pairs) and ten times that.

At MRPC size: unbatched, batched in one process, batched with 2 processes, the notes'
``num_proc=16``, and the course's default (``tokenize_pairs`` with ``num_proc="auto"``), side by
side. At 10x: batched with 1 and 2 processes and the default (unbatched and ``num_proc=16`` are
left out there: their verdict is made at MRPC size, and they would double this benchmark's
time). Then the threshold of ``choose_num_proc``: one process vs two either side of it.
Offline the pairs are the project's MRPC-shaped fixture, repeated to the target size.

    python -m benchmarks.bench_mapping
"""

from __future__ import annotations

from benchmarks.common import Progress, interleaved, load_note, markdown_table, step_reporter

EXPECTED_SECONDS = 40
MRPC_ROWS = 3668
SIZES = {"MRPC size (3,668 pairs)": MRPC_ROWS, "10x (36,680 pairs)": 10 * MRPC_ROWS}


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


def run(progress: Progress | None = None, repeats: int = 5) -> str:
    from datasets.utils.logging import disable_progress_bar
    from transformers import AutoTokenizer

    from course_utils import resolve_checkpoint
    from course_utils.mrpc import MULTIPROCESS_MIN_ROWS, choose_num_proc, tokenize_pairs

    disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_checkpoint("google-bert/bert-base-uncased", announce=False)
    )

    def tok(batch):  # what a learner writes: a function that captures the tokenizer
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True)

    rows, verdicts, all_timings = [], [], []
    parts = {MRPC_ROWS: (0.0, 0.3), 10 * MRPC_ROWS: (0.3, 0.8)}
    for size_label, num_rows in SIZES.items():
        data = _pairs(num_rows)
        default_label = f"course default (num_proc={choose_num_proc(num_rows)})"
        configs = {
            "unbatched": lambda d=data: d.map(tok, batched=False),
            "batched, 1 process": lambda d=data: d.map(tok, batched=True),
            "batched, num_proc=2": lambda d=data: d.map(tok, batched=True, num_proc=2),
            "batched, num_proc=16 (the notes)": lambda d=data: d.map(
                tok, batched=True, num_proc=16
            ),
            default_label: lambda d=data: tokenize_pairs(d, tokenizer),
        }
        if num_rows != MRPC_ROWS:
            del configs["unbatched"], configs["batched, num_proc=16 (the notes)"]
        report = step_reporter(progress, *parts[num_rows])
        timings = interleaved(
            configs,
            # At 10x the spreads were 1-2 %: two rounds suffice unless a spread exceeds 5 %.
            repeats=repeats if num_rows == MRPC_ROWS else min(repeats, 3),
            min_repeats=3 if num_rows == MRPC_ROWS else 2,
            warmup=0,
            progress=lambda done, planned, s=size_label, report=report: report(
                done, planned, f"{s}, round {done}"
            ),
        )
        all_timings += timings.values()
        fastest = min(t.median for t in timings.values())
        default = timings[default_label]
        for label, timing in timings.items():
            rows.append([size_label, label, timing.cell(), f"{timing.median / fastest:.2f}x"])
        verdict = (
            f"{size_label}: the default is {default.median / fastest:.2f}x the fastest "
            f"(target ≤ 1.10x: {'met' if default.median <= 1.10 * fastest else 'NOT met'})"
        )
        if "batched, num_proc=16 (the notes)" in timings:
            notes16 = timings["batched, num_proc=16 (the notes)"]
            verdict += f", and {notes16.median / default.median:.1f}x faster than num_proc=16"
        verdicts.append(verdict)

    # The threshold: one process vs two, below and at MULTIPROCESS_MIN_ROWS.
    threshold_rows = []
    sizes = (MULTIPROCESS_MIN_ROWS // 2, MULTIPROCESS_MIN_ROWS)
    report = step_reporter(progress, 0.8, 1.0)
    configs = {}
    datasets = {n: _pairs(n) for n in sizes}
    for n in sizes:
        for procs in (None, 2):
            configs[(n, procs)] = lambda d=datasets[n], p=procs: tokenize_pairs(
                d, tokenizer, num_proc=p
            )
    timings = interleaved(
        {f"{n}-{p}": f for (n, p), f in configs.items()},
        repeats=3,
        warmup=0,
        progress=lambda done, planned: report(done, planned, f"threshold, round {done}"),
    )
    all_timings += timings.values()
    for n in sizes:
        one, two = timings[f"{n}-None"], timings[f"{n}-2"]
        threshold_rows.append(
            [
                f"{n:,}",
                one.cell(),
                two.cell(),
                f"{one.median / two.median:.2f}x",
                str(choose_num_proc(n, cpu_count=2)),
            ]
        )
    return (
        "### Dataset mapping (fast BERT tokenizer, `Dataset.map`)\n\n"
        + markdown_table(
            ["data", "configuration", "time (median ± half-range, n runs)", "vs fastest"], rows
        )
        + "\n\n"
        + "\n".join(f"- {v}" for v in verdicts)
        + "\n\n"
        + f"`choose_num_proc`'s threshold ({MULTIPROCESS_MIN_ROWS:,} rows), "
        "`tokenize_pairs` with one process vs two:\n\n"
        + markdown_table(
            ["pairs", "1 process", "2 processes", "speed-up with 2", "default on 2 cores"],
            threshold_rows,
        )
        + "\n\n"
        + load_note(all_timings)
        + "\n"
    )


if __name__ == "__main__":
    print(run())
