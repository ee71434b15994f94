"""Notebooks are committed with outputs cleared, except the cells nbval compares."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MARKERS = (
    "# NBVAL_CHECK_OUTPUT",
    "# NBVAL_SKIP",
    "# NBVAL_IGNORE_OUTPUT",
    "# NBVAL_RAISES_EXCEPTION",
)


def test_there_is_a_notebook_per_chapter():
    names = [p.name for p in NOTEBOOKS]
    for chapter in ("00_", "01_", "02_", "03_"):
        assert any(n.startswith(chapter) for n in names), f"no notebook for chapter {chapter}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_only_in_checked_cells(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = [line.strip() for line in cell.source.splitlines()]
        for line in lines:
            if any(line.startswith(m) for m in MARKERS):
                assert line in MARKERS, (
                    f"cell {index}: text after an nbval marker breaks it: {line!r}"
                )
        checked = "# NBVAL_CHECK_OUTPUT" in lines
        if checked:
            assert cell.outputs, f"cell {index} is checked by nbval but has no stored output"
            assert cell.execution_count is not None, (
                f"cell {index}: outputs need an execution_count"
            )
        else:
            assert not cell.outputs, (
                f"cell {index} has outputs but is not marked # NBVAL_CHECK_OUTPUT"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_token_or_trust_remote_code_in_notebooks(path):
    text = path.read_text()
    assert "trust_remote_code=True" not in text
    assert not re.search(r"hf_[A-Za-z0-9]{30,}", text), "a Hugging Face token is in the notebook"
