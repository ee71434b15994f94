"""Execute notebooks offline and store the outputs a reader should see without running them.

    python -m course_authoring.refresh_notebooks notebooks/03_fine_tuning.ipynb [...]
    python -m course_authoring.refresh_notebooks --clear-only notebooks/*.ipynb

Runs each notebook top to bottom in the same offline environment as the test suite
(HF_HUB_OFFLINE=1, throwaway HF_HOME), then keeps outputs (plots included) in two kinds of cells:

- ``nbval-check-output``: the output is the same offline and online, on every CPU; nbval
  compares it whenever the tests run the notebook;
- ``offline-output``: the output of the offline quick run (stand-in models, the MRPC fixture),
  stored so that the page reads without running (a Trainer log, metrics, a loss curve). It is
  not compared (timings, float noise); the markdown next to it labels it as the offline run.
  Its stderr (warnings) and widget outputs (progress bars) are dropped.

Every other cell is cleared, notebook-level widget state is dropped, and progress bars drawn
with carriage returns keep only their last state. Refuses notebooks that still hold
``# NBVAL_...`` comment lines (use cell tags: they do not show on GitHub or on slides). Fails if
a cell raises, or if a checked cell wrote to stderr or stored a widget (nbval would compare those
too), or if an offline-output cell is left with nothing to show.
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
OFFLINE_TAG = "offline-output"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NBVAL_COMMENT = re.compile(r"^\s*#+\s*NBVAL_\w*", re.MULTILINE)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output (so it is committed with it)."""
    return cell.cell_type == "code" and CHECK_TAG in _tags(cell)


def is_offline_output(cell) -> bool:
    """Whether the cell keeps the offline quick run's output for readers (not compared)."""
    return cell.cell_type == "code" and OFFLINE_TAG in _tags(cell)


def is_stored(cell) -> bool:
    return is_checked(cell) or is_offline_output(cell)


def last_state(text: str) -> str:
    """Each line as a terminal would leave it: a progress bar rewrites its line after ``\\r``."""
    return "\n".join(
        next((part for part in reversed(line.split("\r")) if part), "") for line in text.split("\n")
    )


def shows_something(out) -> bool:
    """False for outputs a reader cannot see: a widget, or an empty HTML display."""
    data = out.get("data", {})
    if WIDGET_MIME in data:
        return False
    return not ("text/html" in data and not str(data["text/html"]).strip())


def comment_markers(path: Path, nb) -> list[str]:
    """``# NBVAL_...`` comment lines: the notebooks use cell tags instead."""
    return [
        f"{path}: cell {index} holds {found.group(0).strip()!r}: delete the line and tag the "
        f"cell instead ({CHECK_TAG} for # NBVAL_CHECK_OUTPUT); for # NBVAL_RAISES_EXCEPTION, "
        "catch the intended error and print it in the cell (Colab ignores tags)"
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
    """Keep outputs only in checked and offline-output cells, numbered 1, 2, ...; drop widget
    state; keep the last state of progress bars; an offline-output cell loses its stderr and
    widgets (a checked one keeps them, so that :func:`check_outputs` can refuse them)."""
    nb.metadata.pop("widgets", None)
    counter = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if is_stored(cell):
            counter += 1
            cell.execution_count = counter
            outputs = cell.outputs
            if not is_checked(cell):
                outputs = [
                    out
                    for out in outputs
                    if shows_something(out)
                    and not (out.get("output_type") == "stream" and out.get("name") == "stderr")
                ]
            cell.outputs = merge_streams(outputs)
            for out in cell.outputs:
                if out.get("output_type") == "stream" and "\r" in out.get("text", ""):
                    out["text"] = last_state(out["text"])
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
        elif is_offline_output(cell) and not any(shows_something(o) for o in cell.outputs):
            problems.append(f"{path}: offline-output cell {index} shows nothing to store")
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
            clean(nb)
            problems += check_outputs(path, nb)
        else:
            clean(nb)
        nbformat.write(nb, path)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
