"""Run every benchmark and write one Markdown results table.

    python -m benchmarks.run_all                  # all, writes benchmarks/results.md
    python -m benchmarks.run_all --only memory padding --repeats 3

Benchmarks run offline (stand-ins and the MRPC fixture) unless you are online and unset
HF_HUB_OFFLINE. They are not tests: nothing here asserts a time. Each comparison is measured side
by side in the same run, repeated, and reported as median and spread; quote the ratios, since
shared machines are noisy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

BENCHMARKS = {
    "mapping": "benchmarks.bench_mapping",
    "padding": "benchmarks.bench_padding",
    "pipeline": "benchmarks.bench_pipeline",
    "memory": "benchmarks.bench_memory",
    "suite": "benchmarks.bench_suite",
    "gpu": "benchmarks.bench_gpu_training",
}
RESULTS = Path(__file__).resolve().parent / "results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per configuration")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from benchmarks.common import machine_description, markdown_table

    sections = []
    for name in args.only or BENCHMARKS:
        print(f"[{time.strftime('%H:%M:%S')}] running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        start = time.perf_counter()
        kwargs = {} if name == "suite" else {"repeats": args.repeats}
        sections.append(module.run(**kwargs))
        print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    text = (
        "## Benchmark results\n\n"
        + markdown_table(["", ""], [list(row) for row in machine_description()])
        + "\n\n"
        + "\n".join(sections)
    )
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
