"""PyTorch threads on a CPU that other programs share: training steps with 0, 1 and 3 competing
busy processes, each with torch's default (one thread per core), one thread, and the course's
policy (one thread per free core, re-measured while training: course_utils.training.threads);
then chapter 3's quick mode (the whole notebook, executed) quiet and with one busy process.

    python -m benchmarks.run_all --only threads     (or: python -m benchmarks.bench_threads)

The busy processes are plain Python loops (``while True: pass``), one core each when they get it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Progress, interleaved, markdown_table, step_reporter

EXPECTED_SECONDS = 170
LOADS = (0, 1, 3)
BATCH_SIZE = 16
TOKENS = 64
STEPS = 4  # timed training steps per call
CHAPTER3 = Path(__file__).resolve().parents[1] / "notebooks" / "03_fine_tuning.ipynb"


@contextmanager
def busy_processes(count: int):
    """``count`` processes that keep a core busy each, stopped on exit."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5 if count else 0)  # let them get going
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def _training_step():
    """One optimizer step of the chapter-3 model (the MiniLM BERT offline), batch 16 x 64."""
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    from course_utils import resolve_checkpoint

    logging.set_verbosity_error()
    torch.manual_seed(0)
    checkpoint = resolve_checkpoint("google-bert/bert-base-uncased", announce=False)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    batch = {
        "input_ids": torch.randint(1000, 2000, (BATCH_SIZE, TOKENS)),
        "attention_mask": torch.ones(BATCH_SIZE, TOKENS, dtype=torch.long),
        "labels": torch.randint(0, 2, (BATCH_SIZE,)),
    }

    def steps():
        for _ in range(STEPS):
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    return steps


def step_table(progress: Progress | None = None, repeats: int = 3) -> tuple[list, dict]:
    import torch

    from course_utils.training.threads import ThreadsFollowLoad, usable_cores

    cores = usable_cores()
    steps = _training_step()
    steps()  # warm-up
    rows, medians = [], {}
    report = step_reporter(progress, 0.0, 0.5)
    for index, load in enumerate(LOADS):
        with busy_processes(load):
            # The policy measures the load once before training (outside the timing, as in
            # chapter 3), then re-measures between steps; here the load stays the same.
            follow = ThreadsFollowLoad(announce=None, cores=cores)
            follow.start()
            chosen = follow.threads

            def course_policy(threads=chosen):
                torch.set_num_threads(threads)
                steps()

            configs = {
                f"{cores} threads (torch's default)": lambda: (
                    torch.set_num_threads(cores),
                    steps(),
                ),
                "1 thread": lambda: (torch.set_num_threads(1), steps()),
                "course policy": course_policy,
            }
            timings = interleaved(
                configs,
                repeats=repeats,
                min_repeats=2,
                warmup=0,
                progress=lambda done, planned, i=index, n=load: report(
                    i * planned + done, len(LOADS) * planned, f"{n} busy, round {done}"
                ),
            )
        torch.set_num_threads(cores)
        for label, timing in timings.items():
            medians[(load, label)] = timing.median / STEPS
        default = timings[f"{cores} threads (torch's default)"].median
        rows.append(
            [
                str(load),
                *(f"{t.median / STEPS:.2f} s ± {t.spread:.0%}" for t in timings.values()),
                f"{chosen}",
                f"{default / timings['course policy'].median:.2f}x",
            ]
        )
    return rows, medians


def chapter3_run(busy: int, timeout: int = 600) -> float:
    """Seconds to execute chapter 3 top to bottom (offline, in a fresh kernel)."""
    import os

    code = (
        "import runpy, sys, time, nbformat; from nbclient import NotebookClient; "
        f"runpy.run_path({str(CHAPTER3.parents[1] / 'conftest.py')!r}); "
        f"nb = nbformat.read({str(CHAPTER3)!r}, as_version=4); t = time.perf_counter(); "
        f"NotebookClient(nb, timeout={timeout}, kernel_name='python3', "
        f"resources={{'metadata': {{'path': {str(CHAPTER3.parent)!r}}}}}).execute(); "
        "print(time.perf_counter() - t)"
    )
    with busy_processes(busy):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout + 60,
            env=dict(os.environ),
        )
    if done.returncode:
        raise RuntimeError(f"chapter 3 failed under {busy} busy: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def run(progress: Progress | None = None, repeats: int = 3) -> str:
    from course_utils.training.threads import usable_cores

    cores = usable_cores()
    rows, _ = step_table(progress, repeats)
    report = step_reporter(progress, 0.5, 1.0)
    quiet = chapter3_run(0)
    report(1, 2, "chapter 3, quiet")
    loaded = chapter3_run(1)
    report(2, 2, "chapter 3, one busy process")
    ok_quiet, ok_loaded = quiet <= 60, loaded <= 2 * quiet
    return (
        f"### Threads under load (one training step of the MiniLM BERT, batch {BATCH_SIZE} x "
        f"{TOKENS} tokens, {cores} usable cores)\n\n"
        + markdown_table(
            [
                "busy processes",
                f"{cores} threads (torch's default)",
                "1 thread",
                "course policy",
                "threads it chose",
                "policy vs default",
            ],
            rows,
        )
        + f"\n\nChapter 3 executed top to bottom (offline, fresh kernel): {quiet:.0f} s quiet "
        f"(target ≤ 60 s: {'met' if ok_quiet else 'NOT met'}), {loaded:.0f} s with one busy "
        f"process ({loaded / quiet:.2f}x; target ≤ 2x: {'met' if ok_loaded else 'NOT met'}).\n"
    )


if __name__ == "__main__":
    print(run())
