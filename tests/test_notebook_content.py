"""What a learner reads in the notebooks, both editions, checked without running them.

No presenter text among the lesson text, no quote "from memory", every section linked to the
course section it follows, the chapter 0 download total as the catalog has it, config lessons
that call the real ``AutoConfig.from_pretrained``, intended errors that stop no client, and cells
that can be run twice.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from course_utils import catalog

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) + sorted(
    (NOTEBOOK_DIR / "zh-CN").glob("[0-9][0-9]_*.ipynb")
)
COURSE = "https://huggingface.co/learn/llm-course/"
ZH_COURSE = COURSE + "zh-CN/"


def notebook_id(path: Path) -> str:
    return str(path.relative_to(NOTEBOOK_DIR))


per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def is_zh(path: Path) -> bool:
    return path.parent.name == "zh-CN"


def python_of(cell) -> ast.Module:
    """A code cell as Python (IPython's ``%magic`` and ``!shell`` lines turned into calls)."""
    return ast.parse(TransformerManager().transform_cell(cell.source))


def code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


# --- presenter text ---------------------------------------------------------------------------


@per_notebook
def test_speaker_notes_are_not_lesson_text(path):
    """Notes live in a markdown cell's metadata (the slides show them in the speaker view)."""
    nb = read(path)
    for index, cell in enumerate(nb.cells):
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        assert kind != "notes", f"cell {index} is a speaker-notes cell that learners read as text"
        notes = cell.get("metadata", {}).get("course", {}).get("speaker_notes")
        if notes is not None:
            assert cell.cell_type == "markdown", f"cell {index}: notes belong to a markdown cell"
            assert notes.strip(), f"cell {index}: empty speaker notes"
    assert any(c.get("metadata", {}).get("course", {}).get("speaker_notes") for c in nb.cells), (
        "a chapter without speaker notes: the slides test wants notes on every section"
    )


# --- sources ----------------------------------------------------------------------------------

FROM_MEMORY = re.compile(r"from memory|凭记忆|憑記憶", re.I)


@per_notebook
def test_no_quote_from_memory(path):
    """A quoted output links the page it comes from; "quoted from memory" is no source."""
    nb = read(path)
    texts = [(i, c.source) for i, c in enumerate(nb.cells)]
    texts += [
        (i, c.metadata["course"]["speaker_notes"])
        for i, c in enumerate(nb.cells)
        if c.get("metadata", {}).get("course", {}).get("speaker_notes")
    ]
    found = [(i, m.group(0)) for i, text in texts for m in [FROM_MEMORY.search(text)] if m]
    assert not found, f"cells quoting from memory: {found}"


SUMMARY = re.compile(r"^## (Summary|Next|小结|下一步)")
NOT_IN_COURSE = ("Not in the course", "课程里没有这一节")


@per_notebook
def test_every_section_links_the_course_section_it_follows(path):
    """Each ``##`` section links a page of the course (the zh-CN edition: the Chinese course,
    or an English page where the Chinese course has none), or says that the course has none."""
    nb = read(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or not cell.source.startswith("## "):
            continue
        if SUMMARY.match(cell.source):
            continue
        heading = cell.source.splitlines()[0]
        links = re.findall(r"\]\((https://huggingface\.co/learn/llm-course/[^)]+)\)", cell.source)
        if not links:
            assert any(phrase in cell.source for phrase in NOT_IN_COURSE), (
                f"cell {index} {heading!r} links no course section and does not say it has none"
            )
            continue
        for link in links:
            assert re.fullmatch(COURSE + r"(zh-CN/)?chapter\d+/\d+", link), link
        if is_zh(path) and not cell.get("metadata", {}).get("course", {}).get("zh_only"):
            assert any(link.startswith(ZH_COURSE) for link in links), (
                f"cell {index} {heading!r}: the zh-CN edition links the Chinese course"
            )


def test_the_section_links_exist_in_the_course():
    """Chapter N, section M of the English course has the pages 1..M (the course's table of
    contents, checked when these links were written): a link past them is a typo."""
    sections = {0: 1, 1: 11, 2: 9, 3: 7, 4: 6, 6: 10}  # en: chapterN has sections 1..M
    zh_sections = {0: 1, 1: 10, 2: 8, 3: 6, 4: 6, 6: 10}
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        for zh, chapter, section in re.findall(
            r"huggingface\.co/learn/llm-course/(zh-CN/)?chapter(\d+)/(\d+)", text
        ):
            table = zh_sections if zh else sections
            assert int(chapter) in table and 1 <= int(section) <= table[int(chapter)], (
                f"{notebook_id(path)}: no course page chapter{chapter}/{section} ({zh or 'en'})"
            )


# --- chapter 0: the download total --------------------------------------------------------------


def catalog_download_lines() -> list[str]:
    """What chapter 0 must print: each chapter's downloads that no earlier chapter made."""
    lines, seen = [], set()
    for chapter in (1, 2, 3):
        new = [e for e in catalog.models_for(chapter) if not e.memory_only]
        new = [e for e in new if e.hub_id not in seen]
        seen.update(e.hub_id for e in new)
        total = sum(e.download_bytes for e in new)
        total += sum(d.download_bytes for d in catalog.datasets_for_chapter(chapter))
        shown = f"{total / 1e9:.1f} GB" if total >= 1e8 else f"{total / 1e6:.0f} MB"
        lines.append(f"chapter {chapter}: {shown}")
    return lines


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.name == "00_setup.ipynb"], ids=notebook_id
)
def test_chapter_0_prints_the_download_total_the_catalog_has(path):
    nb = read(path)
    printed = [
        "".join(o.get("text", "") for o in c.outputs)
        for _, c in code_cells(nb)
        if "catalog.models_for" in c.source
    ]
    assert len(printed) == 1, "chapter 0 prints the chapters' downloads from the catalog, once"
    got = [re.sub(r": .*?, ", ": ", line) for line in printed[0].splitlines()]
    assert got == catalog_download_lines()
    # no size written by hand in the text: "chapter 1 downloads about 6 GB" went stale once
    for index, cell in enumerate(nb.cells):
        sources = [cell.source, cell.get("metadata", {}).get("course", {}).get("speaker_notes", "")]
        for text in sources:
            assert not re.search(r"(download|下载)[^.。]{0,20}(about|约|大约) ?\d+ ?GB", text), (
                f"cell {index} states a download size by hand: print it from the catalog"
            )


# --- config lessons -----------------------------------------------------------------------------


def _calls(node, attribute: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == attribute
    ]


@per_notebook
def test_config_lessons_call_from_pretrained_and_fall_back_visibly(path):
    """A config read from the course catalog (``stored_config()``) is only the fallback of a real
    ``AutoConfig.from_pretrained`` call, in its ``except`` clause; the cell or the function's
    caller says so (a print, or a list of the fallbacks that a cell prints)."""
    nb = read(path)
    for index, cell in code_cells(nb):
        tree = python_of(cell)
        stored = _calls(tree, "stored_config")
        if not stored:
            continue
        guarded = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                _calls(statement, "from_pretrained") for statement in node.body
            ):
                for handler in node.handlers:
                    guarded.update(id(call) for call in _calls(handler, "stored_config"))
                    assert any(
                        isinstance(n, ast.Call)
                        and (
                            (isinstance(n.func, ast.Name) and n.func.id == "print")
                            or (isinstance(n.func, ast.Attribute) and n.func.attr == "append")
                        )
                        for n in ast.walk(handler)
                    ), f"cell {index}: the fallback to the catalog is silent"
        assert all(id(call) in guarded for call in stored), (
            f"cell {index} reads a config from the catalog without trying "
            "AutoConfig.from_pretrained first"
        )


# --- clients: intended errors, re-running -------------------------------------------------------


OUTPUT_ONLY_TAGS = {"nbval-check-output", "offline-output"}


@per_notebook
def test_intended_errors_stop_no_client(path):
    """Colab ignores cell tags and VS Code has no ``raises-exception``: an intended error is
    caught and printed with the library's own message, and no ``%xmode`` shortens every
    traceback of the session."""
    nb = read(path)
    for index, cell in code_cells(nb):
        tags = set(cell.get("metadata", {}).get("tags", []))
        # Only tags that decide what is stored or compared, never whether or how a cell runs:
        # so nbval (lax: every cell runs, any exception fails) runs exactly what Colab runs,
        # and tests/test_notebook_clients.py need not run the English notebooks again.
        assert tags <= OUTPUT_ONLY_TAGS, (
            f"cell {index} is tagged {sorted(tags - OUTPUT_ONLY_TAGS)}: a client that ignores "
            "tags would run it differently"
        )
        assert not re.search(r"^\s*#\s*NBVAL_", cell.source, re.M), (
            f"cell {index} holds an # NBVAL_ marker, which nbval obeys and Colab ignores"
        )
        assert "%xmode" not in cell.source, f"cell {index} sets %xmode for the whole session"
        assert not re.search(r"except( (Exception|BaseException)\b|:)", cell.source), (
            f"cell {index} catches every error: name the one the lesson expects"
        )


LIBRARIES = {"evaluate", "datasets", "transformers", "tokenizers", "torch", "accelerate"}


@per_notebook
def test_no_name_shadows_a_library_of_the_course(path):
    """``def evaluate(...)`` hid the 🤗 Evaluate library that the course itself uses."""
    nb = read(path)
    for index, cell in code_cells(nb):
        for node in ast.walk(python_of(cell)):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                assert node.name not in LIBRARIES, f"cell {index} defines {node.name!r}"
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assert node.id not in LIBRARIES, f"cell {index} assigns {node.id!r}"


def _rebinds_what_it_reads(tree: ast.Module) -> list[str]:
    """Top-level names a cell assigns from their own earlier value (``x = x.f()``), before the
    cell has assigned them itself: running such a cell twice applies the change twice."""
    assigned: set[str] = set()
    found = []
    for statement in tree.body:
        targets = []
        if isinstance(statement, ast.Assign):
            targets = [
                n.id
                for t in statement.targets
                for n in ast.walk(t)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            ]
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            targets = [statement.target.id]
        if not targets:
            continue
        value = statement.value
        read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        if isinstance(statement, ast.AugAssign):
            read |= set(targets)
        found += [name for name in targets if name in read and name not in assigned]
        assigned.update(targets)
    return found


@per_notebook
def test_every_cell_can_run_twice(path):
    """A cell that rewrites a variable it did not create (``tokenized_datasets =
    tokenized_datasets.remove_columns(...)``) fails or changes the result when run again."""
    nb = read(path)
    for index, cell in code_cells(nb):
        found = _rebinds_what_it_reads(python_of(cell))
        assert not found, f"cell {index} rebinds {found} from their own value: use a new name"


def test_the_rerun_check_sees_the_pattern():
    bad = ast.parse('t = t.remove_columns(["a"])\nt = t.rename_column("b", "c")')
    good = ast.parse('u = t.remove_columns(["a"])\nu = u.rename_column("b", "c")\nn = 0\nn += 1')
    assert _rebinds_what_it_reads(bad) == ["t"]
    assert _rebinds_what_it_reads(good) == []
    assert _rebinds_what_it_reads(ast.parse("x += 1")) == ["x"]
    assert _rebinds_what_it_reads(ast.parse("a, b = [], 0\na += [b]")) == []


def test_the_quick_start_starts_at_chapter_0_and_shows_what_ci_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text[
        text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 1)
    ]
    first_notebook = re.search(r"\]\((notebooks/[^)]+\.ipynb)\)", quick).group(1)
    assert first_notebook == "notebooks/00_setup.ipynb"
    test_line = next(line for line in quick.splitlines() if "tasks.py test" in line)
    assert "what CI runs" in test_line
