"""Wall time of the test suite, split into unit tests and each notebook, from a single run.

Reads the per-test times of one ``pytest`` run from its JUnit XML report; nbval reports each
notebook cell as a test, so the slowest cells can be named. One run only: the suite takes
minutes, and its parts are many separate timings already, so there is no spread to report.

By default this runs ``pytest`` once (the same command CI runs). Given the report of a run
already made (``--suite-report FILE``, e.g. from ``python3 tasks.py test --junitxml=FILE``),
it reads that instead and runs nothing: the suite alone now takes longer than the rest of
``run_all`` together.

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

EXPECTED_SECONDS = 220
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


def _run_pytest(report: Path, progress: Progress | None) -> tuple[float, float]:
    """Run the suite once; return its wall time and the other load meanwhile."""
    load = OtherLoad()
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as child:
        for line in child.stdout:  # "....   [ 42%]" after each test file
            match = re.search(r"\[\s*(\d+)%\]\s*$", line)
            if match and progress is not None:
                progress.update(int(match.group(1)) / 100, f"pytest {match.group(1)} %")
    return time.perf_counter() - start, load.stop()


def run(progress: Progress | None = None, report: Path | None = None) -> str:
    if report is not None:
        return _section(ET.parse(report), None, None, f"read from `{report}`")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junit.xml"
        wall, other = _run_pytest(path, progress)
        tree = ET.parse(path)
    return _section(tree, wall, other, "timed here, in one run")


def _section(tree, wall: float | None, other: float | None, source: str) -> str:
    groups: dict[str, float] = defaultdict(float)
    cells, failed = [], []
    for case in tree.iter("testcase"):
        seconds = float(case.get("time", 0))
        classname = case.get("classname", "")
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{classname}::{case.get('name', '')}")
        if classname.endswith(".ipynb"):
            # "notebooks.00_setup.ipynb" -> "notebooks/00_setup.ipynb"
            notebook = classname.replace(".", "/", classname.count(".") - 1)
            groups[notebook] += seconds
            cells.append((seconds, notebook, case.get("name", "")))
        else:
            groups["unit tests (tests/)"] += seconds
    if wall is None:  # a report made elsewhere: pytest's own session time
        suites = [tree.getroot()] + list(tree.getroot().iter("testsuite"))
        wall = max(float(s.get("time", 0) or 0) for s in suites)
    rows = [[name, f"{seconds:.1f} s"] for name, seconds in sorted(groups.items())]
    total = "**total wall time**" if "timed here" in source else "**pytest's session time**"
    rows.append([total, f"**{wall:.1f} s**"])
    slow = sorted(cells, reverse=True)[:5]
    slow_rows = [[nb, name, f"{s:.1f} s", f"`{_cell_source(nb, name)}`"] for s, nb, name in slow]
    status = "passed" if not failed else f"{len(failed)} FAILED"
    failures = "".join(f"\n- `{name}`" for name in failed[:10])
    load = "" if other is None else f" Other processes kept {other:.2f} cores busy on average."
    return (
        f"### The offline test suite (`pytest`, {status}; {source})\n\n"
        + markdown_table(["part", "time"], rows)
        + "\n\nSlowest notebook cells:\n\n"
        + markdown_table(["notebook", "cell", "time", "first line"], slow_rows)
        + (f"\n\nFailed:{failures}" if failed else "")
        + f"\n\nTarget: under 4 minutes on 2 cores; measured {wall / 60:.1f} minutes "
        f"({'met' if wall < 240 else 'NOT met'}), one run.{load}\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite-report", type=Path, help="JUnit XML of a pytest run to read")
    print(run(report=parser.parse_args().suite_report))
