"""Execute notebooks offline and store only the outputs nbval checks.

    python tools/refresh_notebooks.py notebooks/02_using_transformers.ipynb [...]
    python tools/refresh_notebooks.py --clear-only notebooks/*.ipynb

Runs each notebook top to bottom in the same offline environment as the test suite
(HF_HUB_OFFLINE=1, throwaway HF_HOME), then keeps outputs (plots included) only in cells tagged
``nbval-check-output`` (or holding a line that is exactly ``# NBVAL_CHECK_OUTPUT``); every other
cell is cleared, and notebook-level widget state is dropped. Fails if a cell raises (except cells
tagged ``raises-exception`` or marked ``# NBVAL_RAISES_EXCEPTION``) or if a checked cell wrote to
stderr (nbval would compare that too).
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from pathlib import Path

import nbformat

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
CHECK_TAG = "nbval-check-output"


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output (so it is committed with it)."""
    if cell.cell_type != "code":
        return False
    tagged = CHECK_TAG in cell.get("metadata", {}).get("tags", [])
    return tagged or any(line.strip() == CHECK_MARKER for line in cell.source.splitlines())


def offline_env() -> None:
    """The test suite's offline environment, from the one place that defines it."""
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "conftest.py"))


def clean(nb) -> None:
    nb.metadata.pop("widgets", None)
    counter = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if is_checked(cell):
            counter += 1
            cell.execution_count = counter
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = counter
                out.pop("metadata", None) if out.get("output_type") == "stream" else None
        else:
            cell.outputs = []
            cell.execution_count = None


def check_stderr(path: Path, nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if is_checked(cell):
            for out in cell.outputs:
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    problems.append(
                        f"{path}: checked cell {index} wrote to stderr: {out['text'][:200]!r}"
                    )
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
            problems += check_stderr(path, nb)
        clean(nb)
        nbformat.write(nb, path)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
