"""Run every CPU benchmark and write one Markdown results file.

    python -m benchmarks.run_all                  # all, writes benchmarks/results.md
    python -m benchmarks.run_all --suite-report suite.xml   # the suite's times from a run made
    python -m benchmarks.run_all --only memory padding
    python -m benchmarks.run_all --only hub       # on request: entry points against a dead Hub

Benchmarks run offline (stand-ins and the MRPC fixture) unless you are online and unset
HF_HUB_OFFLINE. They are not tests: nothing here asserts a time. Each comparison is measured side
by side in the same run, repeated, and reported as median and spread (half the range, as a share
of the median) with the number of runs; quote the ratios, since shared machines are noisy. Each
section also says how busy other processes kept the cores meanwhile.

Progress goes to stderr, with an estimate of the time left. With ``--only``, the sections of
the other benchmarks already in the results file are kept, each with the date it was measured. The GPU benchmarks are a separate
command (``python -m benchmarks.gpu``, on a CUDA machine): this one keeps the GPU section of the
results file as it is.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time
import traceback
from pathlib import Path

BENCHMARKS = {
    "mapping": "benchmarks.bench_mapping",
    "padding": "benchmarks.bench_padding",
    "pipeline": "benchmarks.bench_pipeline",
    "memory": "benchmarks.bench_memory",
    "suite": "benchmarks.bench_suite",
    "suite-avx2": "benchmarks.bench_suite_avx2",
    "threads": "benchmarks.bench_threads",
    "hub": "benchmarks.bench_hub_failures",
}
# Run only when named with --only (each about 3 minutes here): ``hub`` (mostly waits for
# timeouts), ``threads`` (busy processes on purpose) and ``suite-avx2`` (the suite again on
# torch's AVX2 kernels). A run without --only runs the rest.
ON_REQUEST = ("hub", "threads", "suite-avx2")
DEFAULT = tuple(name for name in BENCHMARKS if name not in ON_REQUEST)
RESULTS = Path(__file__).resolve().parent / "results.md"


def wrap_section(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body.strip()}\n<!-- /bench:{name} -->"


def section_of(text: str, name: str) -> str | None:
    """The body of benchmark ``name``'s section in a results file, or ``None``."""
    match = re.search(rf"<!-- bench:{name} -->\n(.*?)\n<!-- /bench:{name} -->", text, re.S)
    return match.group(1) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--suite-report",
        type=Path,
        help="JUnit XML of a test run already made (python3 tasks.py test --junitxml=FILE): "
        "the suite's timings are read from it instead of running pytest again",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from benchmarks.common import Progress, machine_description, markdown_table
    from benchmarks.gpu import gpu_section, not_recorded_section, replace_gpu_section

    machine = machine_description()  # before the run: its load average is the one at the start
    load_at_start = next(f"load average {v} at the start" for k, v in machine if "load" in k)
    names = args.only or list(DEFAULT)
    modules = {name: importlib.import_module(BENCHMARKS[name]) for name in names}
    plan = {name: modules[name].EXPECTED_SECONDS for name in names}
    kwargs: dict[str, dict] = {name: {} for name in names}
    if args.suite_report is not None and "suite" in names:
        plan["suite"] = modules["suite"].REPORT_EXPECTED_SECONDS
        kwargs["suite"] = {"report": args.suite_report}
    progress = Progress(plan)
    sections, durations = {}, {}
    for name in names:
        progress.start(name)
        try:
            body = modules[name].run(progress=progress, **kwargs[name])
        except Exception:  # noqa: BLE001 - one broken benchmark must not lose the others
            error = traceback.format_exc().strip().splitlines()
            print("\n".join(error), file=sys.stderr)
            body = f"### {name}: FAILED\n\n```text\n" + "\n".join(error[-6:]) + "\n```\n"
        durations[name] = progress.finish()
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        if args.only:
            stamp += f", re-run alone (`--only`, {durations[name]:.0f} s; {load_at_start})"
        sections[name] = f"{body.rstrip()}\n\n_Measured {stamp}._"
    total = time.perf_counter() - progress.started
    timing_rows = [[name, f"{seconds:.0f} s"] for name, seconds in durations.items()]
    timing_rows.append(["**total**", f"**{total:.0f} s ({total / 60:.1f} min)**"])
    existing = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
    kept = {n: b for n in BENCHMARKS if n not in sections and (b := section_of(existing, n))}
    header = (
        "## Benchmark results\n\n"
        + markdown_table(["", ""], [list(row) for row in machine])
        + "\n\n`python -m benchmarks.run_all"
        + (f" --only {' '.join(names)}" if args.only else "")
        + (f" --suite-report {args.suite_report}" if args.suite_report else "")
        + "` took:\n\n"
        + markdown_table(["benchmark", "time"], timing_rows)
    )
    first = existing.find("<!-- bench:")
    if args.only and first > 0:  # keep the header of the full run the other sections are from
        header = existing[:first].rstrip()
    text = (
        header
        + "\n\n"
        + "\n\n".join(
            wrap_section(n, sections[n] if n in sections else kept[n])
            for n in BENCHMARKS
            if n in sections or n in kept
        )
        + "\n"
    )
    gpu = gpu_section(existing)
    if gpu is None:
        gpu_text = not_recorded_section(_why_no_gpu_table())
        text = replace_gpu_section(text, gpu_text)
    else:
        text = text.rstrip() + "\n\n" + gpu + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


def _why_no_gpu_table() -> str:
    import torch

    if torch.cuda.is_available():
        return "`python -m benchmarks.gpu` was not run on the machine that wrote this file"
    return "the machine that wrote this file has no GPU"


if __name__ == "__main__":
    sys.exit(main())
