"""Wall time of the test suite (the main stage of ``python3 tasks.py test``: pytest over tests/
and the notebooks, one xdist worker per core), and of its fast tier (``--fast``).

The suite runs as two back-to-back pytest runs of the same command: the fast tier first, then
everything else (``-m "slow or online or browser or notebook"``). Their sum is the full suite's
time (plus one more start of the workers: an upper bound of a single run), and the first is what
``python3 tasks.py test --fast`` takes. The JUnit XML reports give each test's time, so the ten
slowest items can be named (with several workers, test times add up to more than the wall time).
One run only: the suite takes minutes, and its parts are many separate timings already.

Given the report of a run already made (``--suite-report FILE``, e.g. from
``python3 tasks.py test --junitxml=FILE``), it reads that instead and runs nothing.

    python -m benchmarks.bench_suite
    python -m benchmarks.bench_suite --suite-report suite.xml
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import nbformat

from benchmarks.common import OtherLoad, Progress, markdown_table

EXPECTED_SECONDS = 260
REPORT_EXPECTED_SECONDS = 1

ROOT = Path(__file__).resolve().parents[1]


def _cell_source(notebook: str, cell_name: str) -> str:
    try:
        index = int(cell_name.rsplit(" ", 1)[-1])
        nb = nbformat.read(ROOT / notebook, as_version=4)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        first = code_cells[index].source.strip().splitlines()
        lines = [line for line in first if line.strip() and not line.startswith("#")]
        return (lines[0] if lines else first[0])[:70]
    except (ValueError, IndexError, OSError):
        return ""


def _command(report: Path, tier: str, capability: str | None) -> tuple[list[str], dict]:
    """The main stage's pytest command and environment, as ``python3 tasks.py test`` runs it
    (``capability``: torch's CPU kernels forced to another set, e.g. ``avx2``)."""
    import tasks

    mirror = tasks.bin_path(tasks.MIRROR_VENV, "python")
    env = tasks.pytest_env(mirror if mirror.exists() else None)
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    command = [sys.executable, "-m", "pytest", "-q", *tasks.workers([]), "-m", tier]
    return [*command, f"--junitxml={report}"], env


def _run_pytest(report: Path, tier: str, part: str, progress, share, capability=None) -> float:
    """Run one tier of the suite; return its wall time."""
    command, env = _command(report, tier, capability)
    start = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as child:
        for line in child.stdout:  # "....   [ 42%]" as tests finish
            match = re.search(r"\[\s*(\d+)%\]\s*$", line)
            if match and progress is not None:
                done = share[0] + (share[1] - share[0]) * int(match.group(1)) / 100
                progress.update(done, f"pytest {match.group(1)} % ({part})")
    return time.perf_counter() - start


def run(
    progress: Progress | None = None, report: Path | None = None, capability: str | None = None
) -> str:
    import tasks

    if report is not None:
        return _section([ET.parse(report)], None, None, None, f"read from `{report}`")
    rest = f"not ({tasks.FAST_TIER})"
    load = OtherLoad()
    with tempfile.TemporaryDirectory() as tmp:
        fast_report, rest_report = Path(tmp) / "fast.xml", Path(tmp) / "rest.xml"
        fast = _run_pytest(
            fast_report, tasks.FAST_TIER, "the fast tier", progress, (0.0, 0.2), capability
        )
        slow = _run_pytest(rest_report, rest, "the rest", progress, (0.2, 1.0), capability)
        trees = [ET.parse(fast_report), ET.parse(rest_report)]
    how = f"timed here, ATEN_CPU_CAPABILITY={capability}" if capability else "timed here"
    title = f"The offline test suite on {capability.upper()} kernels" if capability else None
    return _section(trees, fast, slow, load.stop(), how, title)


def run_avx2(progress: Progress | None = None) -> str:
    """The same, with torch's AVX2 kernels (what an AMD Zen 3 or an older Intel CPU uses)."""
    return run(progress, capability="avx2")


def _section(trees, fast, slow, other, source: str, title: str | None = None) -> str:
    groups: dict[str, float] = defaultdict(float)
    items, failed = [], []
    for tree in trees:
        for case in tree.iter("testcase"):
            seconds = float(case.get("time", 0))
            classname, name = case.get("classname", ""), case.get("name", "")
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(f"{classname}::{name}")
            if classname.endswith(".ipynb"):
                # "notebooks.00_setup.ipynb" -> "notebooks/00_setup.ipynb"
                notebook = classname.replace(".", "/", classname.count(".") - 1)
                groups[notebook] += seconds
                items.append((seconds, f"{notebook} {name}", _cell_source(notebook, name)))
            else:
                groups["unit tests (tests/)"] += seconds
                module = classname.rsplit(".", 1)[-1]
                items.append((seconds, f"tests/{module}.py::{name}", ""))
    rows = [[name, f"{seconds:.1f} s"] for name, seconds in sorted(groups.items())]
    if fast is None:  # a report made elsewhere: pytest's own session time
        suites = [t.getroot() for t in trees] + [
            s for t in trees for s in t.getroot().iter("testsuite")
        ]
        wall = max(float(s.get("time", 0) or 0) for s in suites)
        rows.append(["**pytest's session time**", f"**{wall:.1f} s**"])
        timing = f"measured {wall / 60:.1f} minutes ({'met' if wall <= 240 else 'NOT met'})"
    else:
        wall = fast + slow
        rows.append(
            ["**the fast tier (`python3 tasks.py test --fast`), wall**", f"**{fast:.1f} s**"]
        )
        rows.append(["**the rest, wall**", f"**{slow:.1f} s**"])
        rows.append(["**the full suite (both), wall**", f"**{wall:.1f} s**"])
        timing = (
            f"the full suite {wall:.0f} s (target ≤ 240 s: {'met' if wall <= 240 else 'NOT met'}), "
            f"the fast tier {fast:.0f} s (target ≤ 60 s: {'met' if fast <= 60 else 'NOT met'})"
        )
    slowest = sorted(items, reverse=True)[:10]
    slow_rows = [[item, f"{s:.1f} s", f"`{first}`" if first else ""] for s, item, first in slowest]
    status = "passed" if not failed else f"{len(failed)} FAILED"
    failures = "".join(f"\n- `{name}`" for name in failed[:10])
    load = "" if other is None else f" Other processes kept {other:.2f} cores busy on average."
    return (
        f"### {title or 'The offline test suite'} (`pytest`, {status}; {source})\n\n"
        + "Time in tests, summed over the workers, then the wall times:\n\n"
        + markdown_table(["part", "time"], rows)
        + "\n\nThe ten slowest items:\n\n"
        + markdown_table(["item", "time", "cell's first line"], slow_rows)
        + (f"\n\nFailed:{failures}" if failed else "")
        + f"\n\nOn 2 cores: {timing}; one run.{load}\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite-report", type=Path, help="JUnit XML of a pytest run to read")
    print(run(report=parser.parse_args().suite_report))
