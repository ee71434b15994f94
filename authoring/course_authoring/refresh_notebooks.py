"""Execute notebooks offline and store only the outputs nbval checks.

    python authoring/course_authoring/refresh_notebooks.py notebooks/02_using_transformers.ipynb [...]
    python authoring/course_authoring/refresh_notebooks.py --clear-only notebooks/*.ipynb

Runs each notebook top to bottom in the same offline environment as the test suite
(HF_HUB_OFFLINE=1, throwaway HF_HOME), then keeps outputs (plots included) only in cells tagged
``nbval-check-output``; every other cell is cleared, and notebook-level widget state is dropped.
Refuses notebooks that still hold ``# NBVAL_...`` comment lines (use cell tags: they do not show
on GitHub or on slides). Fails if a cell raises (except cells tagged ``raises-exception``), or if
a checked cell wrote to stderr or stored a widget (nbval would compare those too).
"""

from __future__ import annotations

import argparse
import re
import runpy
import sys
import time
from pathlib import Path

import nbformat

from course_authoring.repo import ROOT

CHECK_TAG = "nbval-check-output"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NBVAL_COMMENT = re.compile(r"^\s*#+\s*NBVAL_\w*", re.MULTILINE)


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output (so it is committed with it)."""
    return cell.cell_type == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def comment_markers(path: Path, nb) -> list[str]:
    """``# NBVAL_...`` comment lines: the notebooks use cell tags instead."""
    return [
        f"{path}: cell {index} holds {found.group(0).strip()!r}: delete the line and tag the "
        f"cell instead ({CHECK_TAG} for # NBVAL_CHECK_OUTPUT, raises-exception for "
        "# NBVAL_RAISES_EXCEPTION)"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for found in [NBVAL_COMMENT.search(cell.source)]
        if found
    ]


def offline_env() -> None:
    """The test suite's offline environment, from the one place that defines it."""
    runpy.run_path(str(ROOT / "conftest.py"))


def merge_streams(outputs: list) -> list:
    """Consecutive writes to one stream as one output, as Jupyter shows them."""
    merged: list = []
    for out in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and out.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == out.get("name")
        ):
            previous["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def clean(nb) -> None:
    """Keep outputs only in checked cells, numbered 1, 2, ...; drop widget state."""
    nb.metadata.pop("widgets", None)
    counter = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if is_checked(cell):
            counter += 1
            cell.execution_count = counter
            cell.outputs = merge_streams(cell.outputs)
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = counter
                out.pop("metadata", None) if out.get("output_type") == "stream" else None
        else:
            cell.outputs = []
            cell.execution_count = None


def check_outputs(path: Path, nb) -> list[str]:
    """Checked cells must store something nbval can compare the same way on every run."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if is_checked(cell):
            for out in cell.outputs:
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    problems.append(
                        f"{path}: checked cell {index} wrote to stderr: {out['text'][:200]!r}"
                    )
                if WIDGET_MIME in out.get("data", {}):
                    problems.append(f"{path}: checked cell {index} shows a widget (progress bar?)")
            if not cell.outputs:
                problems.append(f"{path}: checked cell {index} has no output to compare")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--clear-only", action="store_true", help="do not execute, only clean")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    offline_env()
    problems: list[str] = []
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        markers = comment_markers(path, nb)
        if markers:
            problems += markers
            continue
        if not args.clear_only:
            from nbclient import NotebookClient

            start = time.perf_counter()
            client = NotebookClient(
                nb,
                timeout=args.timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            client.execute()
            print(f"{path}: executed in {time.perf_counter() - start:.1f} s")
            problems += check_outputs(path, nb)
        clean(nb)
        nbformat.write(nb, path)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
