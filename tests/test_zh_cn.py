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


# --- the exercise section: last in both editions, code differing only by the edition ----------


def _exercise(cell, marker="q1"):
    cell.metadata["course"] = {**cell.metadata.get("course", {}), "exercise": marker}
    return cell


def _checked(cell, text):
    cell.metadata["tags"] = ["nbval-check-output"]
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return cell


@pytest.fixture
def with_exercises(tmp_path):
    """An English notebook ending with exercises, and its zh-CN edition in step."""
    english = _notebook(
        _md("# Title"),
        _code("x = 1"),
        _exercise(
            _code("from course_utils import exercises\n\nex = exercises.chapter(2)"), "setup"
        ),
        _exercise(_md("### Exercise 1")),
        _exercise(_checked(_code("ex.q1.check(...)"), "not yet: ...\n")),
    )
    en, zh = tmp_path / "02_x.ipynb", tmp_path / "zh.ipynb"
    nbformat.write(english, en)
    chinese = sync.synced(english, _notebook(_md("## 中文", zh_only=True)))
    for cell in chinese.cells:
        if cell.metadata.get("course", {}).pop("needs_translation", None):
            cell.source = "（译文）" + cell.source
    _checked(chinese.cells[-1], "还没通过：……\n")  # the zh-CN edition's own output
    nbformat.write(chinese, zh)
    return en, zh


def test_for_edition_adds_the_language_to_the_chapter_call_only():
    assert (
        sync.for_edition("ex = exercises.chapter(2)") == 'ex = exercises.chapter(2, lang="zh-CN")'
    )
    assert sync.for_edition('exercises.chapter("1.1")\nx = f(2)') == (
        'exercises.chapter("1.1", lang="zh-CN")\nx = f(2)'
    )
    already = 'exercises.chapter(3, lang="zh-CN")'
    assert sync.for_edition(already) == already
    assert sync.for_edition("ex.q1.check(answer)") == "ex.q1.check(answer)"


def test_the_exercises_come_last_after_the_chinese_section(with_exercises):
    en, zh = with_exercises
    chinese = nbformat.read(zh, as_version=4)
    assert [sync.is_zh_only(c) for c in chinese.cells] == [False, False, True, False, False, False]
    assert (
        chinese.cells[3].source
        == 'from course_utils import exercises\n\nex = exercises.chapter(2, lang="zh-CN")'
    )
    assert chinese.cells[4].source == "（译文）### Exercise 1"
    assert sync.problems(en, zh) == []  # its own stored output is allowed


def test_exercise_code_may_differ_only_by_the_edition_argument(with_exercises):
    en, zh = with_exercises
    chinese = nbformat.read(zh, as_version=4)
    chinese.cells[3].source = "from course_utils import exercises\n\nex = exercises.chapter(2)"
    chinese.cells[5].metadata["tags"] = []
    nbformat.write(chinese, zh)
    found = sync.problems(en, zh)
    assert any("exercise cell 0: the code differs" in p and 'lang="zh-CN"' in p for p in found)
    assert any("exercise cell 2: stored outputs or tags differ" in p for p in found)


def test_exercises_must_end_both_editions(with_exercises):
    en, zh = with_exercises
    chinese = nbformat.read(zh, as_version=4)
    chinese.cells.append(chinese.cells.pop(2))  # the Chinese section after the exercises
    nbformat.write(chinese, zh)
    assert any("exercise cells must end the notebook" in p for p in sync.problems(en, zh))
    english = nbformat.read(en, as_version=4)
    english.cells.append(_code("y = 2"))
    nbformat.write(english, en)
    assert any(
        p.startswith("02_x.ipynb: the exercise cells must end") for p in sync.problems(en, zh)
    )


def test_sync_keeps_the_editions_outputs_until_the_exercise_code_changes(with_exercises):
    en, zh = with_exercises
    english = nbformat.read(en, as_version=4)
    unchanged = sync.synced(english, nbformat.read(zh, as_version=4))
    assert unchanged.cells[-1].outputs[0]["text"] == "还没通过：……\n"
    english.cells[-1].source = "ex.q1.check(None)"
    english.cells.insert(-1, _exercise(_md("A new hint."), "q1"))
    updated = sync.synced(english, nbformat.read(zh, as_version=4))
    assert updated.cells[-1].source == "ex.q1.check(None)"
    assert updated.cells[-1].outputs == [] and updated.cells[-1].execution_count is None
    assert updated.cells[-2].metadata["course"] == {
        "exercise": "q1",
        "translates": sync.digest("A new hint."),
        "needs_translation": True,
    }
    assert updated.cells[-3].source == "（译文）### Exercise 1"
