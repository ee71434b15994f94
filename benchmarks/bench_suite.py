"""Wall time of the README's test command, split into unit tests and each notebook.

Runs ``pytest`` once (the same command CI runs) with a JUnit XML report and reads the per-test
times from it; nbval reports each notebook cell as a test, so the slowest cells can be named.
One run only: the suite takes minutes, and its parts are many separate timings already. So
there is no spread to report; the other load during the run says how much to trust it.

    python -m benchmarks.bench_suite
"""

from __future__ import annotations

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

EXPECTED_SECONDS = 150

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


def run(progress: Progress | None = None) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
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
        wall = time.perf_counter() - start
        other = load.stop()
        returncode = child.returncode
        tree = ET.parse(report)
    groups: dict[str, float] = defaultdict(float)
    cells = []
    for case in tree.iter("testcase"):
        seconds = float(case.get("time", 0))
        classname = case.get("classname", "")
        if classname.endswith(".ipynb"):
            # "notebooks.00_setup.ipynb" -> "notebooks/00_setup.ipynb"
            notebook = classname.replace(".", "/", classname.count(".") - 1)
            groups[notebook] += seconds
            cells.append((seconds, notebook, case.get("name", "")))
        else:
            groups["unit tests (tests/)"] += seconds
    rows = [[name, f"{seconds:.1f} s"] for name, seconds in sorted(groups.items())]
    rows.append(["**total wall time** (incl. start-up and collection)", f"**{wall:.1f} s**"])
    slow = sorted(cells, reverse=True)[:5]
    slow_rows = [[nb, name, f"{s:.1f} s", f"`{_cell_source(nb, name)}`"] for s, nb, name in slow]
    status = "passed" if returncode == 0 else f"FAILED (exit {returncode})"
    return (
        f"### The offline test suite (`pytest`, {status})\n\n"
        + markdown_table(["part", "time"], rows)
        + "\n\nSlowest notebook cells:\n\n"
        + markdown_table(["notebook", "cell", "time", "first line"], slow_rows)
        + f"\n\nTarget: under 4 minutes on 2 cores; measured {wall / 60:.1f} minutes "
        f"({'met' if wall < 240 else 'NOT met'}), in one run. Other processes kept "
        f"{other:.2f} cores busy on average meanwhile.\n"
    )


if __name__ == "__main__":
    print(run())
