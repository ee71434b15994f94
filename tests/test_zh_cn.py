"""authoring/course_authoring/sync_zh_cn.py, which keeps the zh-CN edition in step with the English notebooks."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
from course_authoring import sync_zh_cn as sync  # noqa: E402

# --- the sync tool itself, on small notebooks ------------------------------------------------


def _notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _md(text, **course):
    cell = nbformat.v4.new_markdown_cell(text)
    if course:
        cell.metadata["course"] = course
    return cell


def _code(text):
    return nbformat.v4.new_code_cell(text)


@pytest.fixture
def pair(tmp_path):
    english = _notebook(_md("# Title"), _code("x = 1"), _md("Some text."))
    en, zh = tmp_path / "00_x.ipynb", tmp_path / "zh.ipynb"
    nbformat.write(english, en)
    chinese = sync.synced(english, _notebook(_md("## 中文", zh_only=True)))
    for cell in chinese.cells:
        if cell.metadata.get("course", {}).pop("needs_translation", None):
            cell.source = "（译文）" + cell.source
    nbformat.write(chinese, zh)
    return en, zh


def test_a_translated_notebook_in_step_has_no_problems(pair):
    assert sync.problems(*pair) == []


def test_changed_english_code_or_text_is_reported(pair):
    en, zh = pair
    english = nbformat.read(en, as_version=4)
    english.cells[1].source = "x = 2"
    english.cells[2].source = "Other text."
    nbformat.write(english, en)
    found = sync.problems(en, zh)
    assert any("cell 1: the code differs" in p for p in found)
    assert any("cell 2: the English text changed" in p for p in found)


def test_sync_carries_code_over_keeps_translations_and_flags_new_text(pair):
    en, zh = pair
    english = nbformat.read(en, as_version=4)
    english.cells.insert(1, _md("A new paragraph."))
    english.cells[2].source = "x = 3"
    nbformat.write(english, en)
    updated = sync.synced(english, nbformat.read(zh, as_version=4))
    assert [c.source for c in updated.cells] == [
        "（译文）# Title",
        "A new paragraph.",
        "x = 3",
        "（译文）Some text.",
        "## 中文",
    ]
    assert updated.cells[1].metadata["course"]["needs_translation"] is True
    nbformat.write(updated, zh)
    assert [p.split(": ", 1)[1] for p in sync.problems(en, zh)] == ["not translated yet"]


def test_the_chinese_section_must_come_last(pair):
    en, zh = pair
    chinese = nbformat.read(zh, as_version=4)
    chinese.cells.insert(0, chinese.cells.pop())
    nbformat.write(chinese, zh)
    assert any("must come last" in p for p in sync.problems(en, zh))
