"""Keep the zh-CN edition (notebooks/zh-CN/) in step with the English notebooks.

    python authoring/course_authoring/sync_zh_cn.py            # update: copy code cells, flag what needs translating
    python authoring/course_authoring/sync_zh_cn.py --check    # CI: fail if anything drifted (tests/test_zh_cn.py)

A zh-CN notebook has the English notebook's cells in the same order, then its own section on
Chinese text at the end:

- a code cell is the English one verbatim (source, tags and stored outputs), so it runs and
  prints the same; it is tested once, in the English notebook;
- a markdown cell is its translation, and remembers the English text it translates
  (``metadata.course.translates``, a hash): when the English text changes, the translation is
  flagged (``metadata.course.needs_translation``) until a translator updates it;
- cells with ``metadata.course.zh_only`` are the Chinese-text section, which only the zh-CN
  edition has; it is self-contained (its own imports) and runs in the tests on its own.

Update mode aligns the two notebooks by their English content, so inserted, deleted or moved
English cells are carried over (new markdown arrives in English, flagged for translation).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import sys
from pathlib import Path

import nbformat

from course_authoring.repo import ROOT

ENGLISH = ROOT / "notebooks"
CHINESE = ENGLISH / "zh-CN"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def course_meta(cell) -> dict:
    return cell.get("metadata", {}).get("course", {})


def is_zh_only(cell) -> bool:
    return bool(course_meta(cell).get("zh_only"))


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
    english = nbformat.read(english_path, as_version=4).cells
    chinese = nbformat.read(chinese_path, as_version=4).cells
    shared = [c for c in chinese if not is_zh_only(c)]
    name = chinese_path.relative_to(ROOT) if chinese_path.is_relative_to(ROOT) else chinese_path
    found = []
    if [c.cell_type for c in shared] != [c.cell_type for c in english]:
        found.append(f"{name}: the cells differ from the English notebook's")
        return found
    for index, (en, zh) in enumerate(zip(english, shared, strict=True)):
        where = f"{name} cell {index}"
        if en.cell_type == "code":
            if zh.source != en.source:
                found.append(f"{where}: the code differs from the English notebook's")
            elif _outputs(zh) != _outputs(en) or _tags(zh) != _tags(en):
                found.append(f"{where}: stored outputs or tags differ from the English notebook's")
        elif course_meta(zh).get("translates") != digest(en.source):
            found.append(f"{where}: the English text changed since it was translated")
        elif course_meta(zh).get("needs_translation"):
            found.append(f"{where}: not translated yet")
    zh_only = [i for i, c in enumerate(chinese) if is_zh_only(c)]
    if not zh_only:
        found.append(f"{name}: no Chinese-text section (cells with metadata.course.zh_only)")
    elif zh_only != list(range(len(chinese) - len(zh_only), len(chinese))):
        found.append(f"{name}: the Chinese-text section must come last")
    return found


def _outputs(cell) -> list:
    return [{k: v for k, v in out.items() if k != "execution_count"} for out in cell.outputs]


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def synced(english_nb, chinese_nb):
    """The zh-CN notebook updated from the English one (translations kept where still valid)."""
    english = english_nb.cells
    shared = [c for c in chinese_nb.cells if not is_zh_only(c)]
    zh_only = [c for c in chinese_nb.cells if is_zh_only(c)]
    by_key = {key(c): c for c in shared}
    matcher = difflib.SequenceMatcher(
        a=[key(c) for c in shared], b=[english_key(c) for c in english], autojunk=False
    )
    matched = {b + i: shared[a + i] for a, b, n in matcher.get_matching_blocks() for i in range(n)}
    cells = []
    for index, en in enumerate(english):
        zh = matched.get(index) or by_key.get(english_key(en))
        cells.append(_shared_cell(en, zh))
    result = copy.deepcopy(english_nb)
    result.cells = cells + zh_only
    result.metadata["language_info"] = english_nb.metadata.get("language_info", {})
    return result


def _shared_cell(en, zh):
    if en.cell_type == "code":
        return copy.deepcopy(en)
    if zh is not None and zh.cell_type == "markdown":
        cell = copy.deepcopy(zh)
        cell.metadata = copy.deepcopy(en.metadata) | {"course": course_meta(zh)}
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
