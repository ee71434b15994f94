"""Keep the zh-CN edition (notebooks/zh-CN/) in step with the English notebooks.

    python authoring/course_authoring/sync_zh_cn.py            # update: copy code cells, flag what needs translating
    python authoring/course_authoring/sync_zh_cn.py --check    # CI: fail if anything drifted (tests/test_zh_cn.py)

A zh-CN notebook has the English notebook's cells in the same order, then its own section on
Chinese text, then the exercises, which end every notebook in both editions:

- a code cell is the English one verbatim (source, tags and stored outputs), so it runs and
  prints the same; it is tested once, in the English notebook;
- a markdown cell is its translation, and remembers the English text it translates
  (``metadata.course.translates``, a hash): when the English text changes, the translation is
  flagged (``metadata.course.needs_translation``) until a translator updates it;
- cells with ``metadata.course.zh_only`` are the Chinese-text section, which only the zh-CN
  edition has; it is self-contained (its own imports) and runs in the tests on its own;
- cells with ``metadata.course.exercise`` are the exercises (docs/exercises.md), the last cells
  of the English notebook. Their markdown is translated as above; their code is the English
  code with one declared difference, the edition argument (``exercises.chapter(2)`` becomes
  ``exercises.chapter(2, lang="zh-CN")``: :func:`for_edition`), and their stored outputs are
  the zh-CN edition's own (the checker answers in Chinese), so they are not compared with the
  English ones (tests/test_exercises.py runs them).

Update mode aligns the two notebooks by their English content, so inserted, deleted or moved
English cells are carried over (new markdown arrives in English, flagged for translation).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import re
import sys
from pathlib import Path

import nbformat

from course_authoring.repo import ROOT

ENGLISH = ROOT / "notebooks"
CHINESE = ENGLISH / "zh-CN"
EDITION = "zh-CN"
# The one difference allowed between an English exercise code cell and its zh-CN copy.
_CHAPTER_CALL = re.compile(r"\bexercises\.chapter\(([^()]*)\)")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def course_meta(cell) -> dict:
    return cell.get("metadata", {}).get("course", {})


def is_zh_only(cell) -> bool:
    return bool(course_meta(cell).get("zh_only"))


def is_exercise(cell) -> bool:
    return bool(course_meta(cell).get("exercise"))


def for_edition(source: str) -> str:
    """An English exercise cell's code as the zh-CN edition has it: the edition argument added."""

    def add_lang(match: re.Match) -> str:
        args = match.group(1).strip()
        if "lang=" in args:
            return match.group(0)
        return f'exercises.chapter({args + ", " if args else ""}lang="{EDITION}")'

    return _CHAPTER_CALL.sub(add_lang, source)


def split(cells) -> tuple[list, list, list]:
    """A notebook's cells as (shared, zh-only, exercises)."""
    shared = [c for c in cells if not is_zh_only(c) and not is_exercise(c)]
    return shared, [c for c in cells if is_zh_only(c)], [c for c in cells if is_exercise(c)]


TRANSLATION_KEYS = ("translates", "needs_translation")


def key(cell) -> tuple[str, str]:
    """What a shared cell stands for in the English notebook."""
    if cell.cell_type == "code":
        return ("code", digest(cell.source))
    return ("markdown", course_meta(cell).get("translates") or digest(cell.source))


def english_key(cell) -> tuple[str, str]:
    return (cell.cell_type, digest(cell.source))


def problems(english_path: Path, chinese_path: Path) -> list[str]:
    """Everything that keeps a zh-CN notebook from matching its English notebook."""
    if not chinese_path.is_file():
        return [f"{chinese_path} is missing: run python authoring/course_authoring/sync_zh_cn.py"]
    english_cells = nbformat.read(english_path, as_version=4).cells
    chinese = nbformat.read(chinese_path, as_version=4).cells
    english, _, english_exercises = split(english_cells)
    shared, zh_only, exercises = split(chinese)
    name = chinese_path.relative_to(ROOT) if chinese_path.is_relative_to(ROOT) else chinese_path
    found = []
    if _tail(english_cells, is_exercise) is None:
        found.append(f"{english_path.name}: the exercise cells must end the notebook")
    if [c.cell_type for c in shared] != [c.cell_type for c in english]:
        found.append(f"{name}: the cells differ from the English notebook's")
        return found
    for index, (en, zh) in enumerate(zip(english, shared, strict=True)):
        found += _cell_problems(f"{name} cell {index}", en, zh)
    if [c.cell_type for c in exercises] != [c.cell_type for c in english_exercises]:
        found.append(f"{name}: the exercise cells differ from the English notebook's")
    else:
        for index, (en, zh) in enumerate(zip(english_exercises, exercises, strict=True)):
            found += _cell_problems(f"{name} exercise cell {index}", en, zh, exercise=True)
    found += _order_problems(name, chinese, bool(zh_only))
    return found


def _cell_problems(where: str, en, zh, exercise: bool = False) -> list[str]:
    if en.cell_type == "code":
        if exercise and zh.source != for_edition(en.source):
            return [
                f"{where}: the code differs from the English notebook's (an exercise cell may "
                f'differ only by the edition argument, lang="{EDITION}")'
            ]
        if not exercise and zh.source != en.source:
            return [f"{where}: the code differs from the English notebook's"]
        if _tags(zh) != _tags(en) or (not exercise and _outputs(zh) != _outputs(en)):
            return [f"{where}: stored outputs or tags differ from the English notebook's"]
        return []
    if course_meta(zh).get("translates") != digest(en.source):
        return [f"{where}: the English text changed since it was translated"]
    if course_meta(zh).get("needs_translation"):
        return [f"{where}: not translated yet"]
    return []


def _tail(cells, belongs) -> int | None:
    """Where the cells that ``belongs`` selects start, if they are the last ones; else None."""
    marked = [i for i, c in enumerate(cells) if belongs(c)]
    start = len(cells) - len(marked)
    return start if marked == list(range(start, len(cells))) else None


def _order_problems(name, chinese, has_zh_only: bool) -> list[str]:
    exercises_start = _tail(chinese, is_exercise)
    if exercises_start is None:
        return [f"{name}: the exercise cells must end the notebook"]
    if not has_zh_only:
        return [f"{name}: no Chinese-text section (cells with metadata.course.zh_only)"]
    if _tail(chinese[:exercises_start], is_zh_only) is None:
        return [
            f"{name}: the Chinese-text section must come last, right before the exercises "
            "(if the notebook has any)"
        ]
    return []


def _outputs(cell) -> list:
    return [{k: v for k, v in out.items() if k != "execution_count"} for out in cell.outputs]


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def synced(english_nb, chinese_nb):
    """The zh-CN notebook updated from the English one (translations kept where still valid)."""
    english, _, english_exercises = split(english_nb.cells)
    shared, zh_only, exercises = split(chinese_nb.cells)
    result = copy.deepcopy(english_nb)
    result.cells = _aligned(english, shared) + zh_only + _aligned(english_exercises, exercises)
    result.metadata["language_info"] = english_nb.metadata.get("language_info", {})
    return result


def _aligned(english: list, chinese: list) -> list:
    """The English cells, each paired with its zh-CN counterpart where there is one."""
    by_key = {key(c): c for c in chinese}
    matcher = difflib.SequenceMatcher(
        a=[key(c) for c in chinese], b=[_english_key(c) for c in english], autojunk=False
    )
    matched = {b + i: chinese[a + i] for a, b, n in matcher.get_matching_blocks() for i in range(n)}
    return [
        _shared_cell(en, matched.get(index) or by_key.get(_english_key(en)))
        for index, en in enumerate(english)
    ]


def _english_key(cell) -> tuple[str, str]:
    """The key of the zh-CN cell that an English cell becomes (exercise code gains its lang)."""
    if cell.cell_type == "code" and is_exercise(cell):
        return ("code", digest(for_edition(cell.source)))
    return english_key(cell)


def _shared_cell(en, zh):
    if en.cell_type == "code":
        cell = copy.deepcopy(en)
        if is_exercise(en):  # the zh-CN edition's own outputs, while its code is unchanged
            cell.source = for_edition(en.source)
            kept = zh is not None and zh.cell_type == "code" and zh.source == cell.source
            cell.outputs = copy.deepcopy(zh.outputs) if kept else []
            cell.execution_count = zh.execution_count if kept else None
        return cell
    if zh is not None and zh.cell_type == "markdown":
        cell = copy.deepcopy(zh)
        translation = {k: v for k, v in course_meta(zh).items() if k in TRANSLATION_KEYS}
        cell.metadata = copy.deepcopy(en.metadata)
        cell.metadata["course"] = {**course_meta(en), **translation}
        return cell
    cell = copy.deepcopy(en)
    cell.metadata.setdefault("course", {}).update(
        translates=digest(en.source), needs_translation=True
    )
    return cell


def pairs() -> list[tuple[Path, Path]]:
    return [(path, CHINESE / path.name) for path in sorted(ENGLISH.glob("[0-9][0-9]_*.ipynb"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = [p for en, zh in pairs() for p in problems(en, zh)]
        print("\n".join(found) or "zh-CN edition in step with the English notebooks")
        return 1 if found else 0
    CHINESE.mkdir(exist_ok=True)
    for en_path, zh_path in pairs():
        english = nbformat.read(en_path, as_version=4)
        chinese = (
            nbformat.read(zh_path, as_version=4)
            if zh_path.is_file()
            else nbformat.v4.new_notebook()
        )
        nbformat.write(synced(english, chinese), zh_path)
        left = [p for p in problems(en_path, zh_path) if "not translated" in p]
        print(f"{zh_path.relative_to(ROOT)}: {len(left)} markdown cell(s) to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
