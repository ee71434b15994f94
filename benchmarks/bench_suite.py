"""Wall time of the README's test command, split into unit tests and each notebook.

Runs ``pytest`` once (the same command CI runs) with a JUnit XML report and reads the per-test
times from it; nbval reports each notebook cell as a test, so the slowest cells can be named.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import nbformat

from benchmarks.common import markdown_table

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


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
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
    status = "passed" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    return (
        f"### The offline test suite (`pytest`, {status})\n\n"
        + markdown_table(["part", "time"], rows)
        + "\n\nSlowest notebook cells:\n\n"
        + markdown_table(["notebook", "cell", "time", "first line"], slow_rows)
        + f"\n\nTarget: under 4 minutes on 2 cores; measured {wall / 60:.1f} minutes.\n"
    )


if __name__ == "__main__":
    print(run())
