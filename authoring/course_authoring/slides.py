"""Export chapter notebooks as reveal.js slides or plain HTML that work with no network.

Speaker notes live in a markdown cell's metadata (``metadata.course.speaker_notes``), so that
learners never read presenter text as lesson text; the slides put them in reveal.js's speaker
view (``<aside class="notes">``), and the HTML page leaves them out.

nbconvert's templates load reveal.js, require.js, jQuery, MathJax and mermaid from CDNs. Here
reveal.js and MathJax come from packages of the ``slides`` extra and are copied next to the
exported file (:mod:`course_authoring.assets`); the CDN scripts are left out, local images are
embedded, and any remaining ``http(s)`` image or frame becomes a plain link. The result opens
from ``file://``. Slides fit a 16:9 screen: see ``authoring/course_authoring/data/slides/fit.js``.
"""

from __future__ import annotations

import copy
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from course_authoring import assets as slide_assets
from course_authoring.assets import SlidesError
from course_authoring.repo import ROOT as REPO_ROOT
from course_utils.catalog import CHAPTERS

# The editions of the course: the language code and the folder of its notebooks in notebooks/.
LANGUAGES = {"en": ".", "zh-CN": "zh-CN"}
_NBVAL_MARKER = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.M)
_CODE_SPANS = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
# A dollar sign that neither nbconvert's markdown (which turns \$ into a bare $, then pairs it
# with the next one as a formula) nor MathJax takes for the start of a formula.
_LITERAL_DOLLAR = '<span class="tex2jax_ignore">&#36;</span>'

_REMOTE = r"""(?:https?:)?//[^"'\s>]+"""
_REMOTE_IMG = re.compile(
    r"<(?:img|video|audio|source|embed)\b[^>]*?\bsrc=[\"'](" + _REMOTE + r")[\"'][^>]*>", re.I
)
_REMOTE_FRAME = re.compile(
    r"<iframe\b[^>]*?\bsrc=[\"'](" + _REMOTE + r")[\"'][^>]*>.*?</iframe>", re.I | re.S
)
_REMOTE_TAG = re.compile(
    r"<(?:script|link)\b[^>]*?\b(?:src|href)=[\"']" + _REMOTE + r"[\"'][^>]*>(?:\s*</script>)?",
    re.I,
)
_ALT = re.compile(r"\balt=[\"']([^\"']*)[\"']", re.I)


@dataclass
class ExportResult:
    notebook: Path
    output: Path
    slides: int
    errors: list[str] = field(default_factory=list)  # cells that raised, when executed


# --- slide metadata -------------------------------------------------------------------------


def derive_slide_type(cell, is_title: bool = False) -> str:
    """The course's convention: title and ``##`` cells are slides, ``###`` subslides, rest "-"."""
    if cell.get("cell_type") != "markdown":
        return "-"
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    first = source.lstrip().split("\n", 1)[0]
    if is_title or first.startswith(("# ", "## ")):
        return "slide"
    if first.startswith("### "):
        return "subslide"
    return "-"


def slide_types(nb) -> list[str]:
    """The slide type of every cell: its ``metadata.slideshow`` if set, else the convention."""
    types = []
    title_seen = False
    for cell in nb.cells:
        is_title = cell.get("cell_type") == "markdown" and not title_seen
        title_seen = title_seen or is_title
        stored = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        types.append(stored or derive_slide_type(cell, is_title))
    return types


def with_slide_metadata(nb):
    """A copy of ``nb`` where every cell has ``metadata.slideshow.slide_type``."""
    from nbformat import NotebookNode

    nb = copy.deepcopy(nb)
    for cell, slide_type in zip(nb.cells, slide_types(nb), strict=True):
        metadata = cell.setdefault("metadata", NotebookNode())
        metadata.setdefault("slideshow", NotebookNode())["slide_type"] = slide_type
    return nb


# --- finding notebooks and reveal.js --------------------------------------------------------


def notebooks_dir(lang: str = "en") -> Path:
    """The folder of an edition's notebooks (``notebooks/`` or ``notebooks/zh-CN/``)."""
    for candidate in (REPO_ROOT / "notebooks", Path.cwd() / "notebooks"):
        if candidate.is_dir():
            folder = (candidate / LANGUAGES[lang]).resolve()
            if not folder.is_dir():
                raise SlidesError(f"no {lang} edition here: {folder} does not exist")
            return folder
    raise SlidesError(
        "no notebooks/ folder found: run this from the course repository (git clone, then "
        "pip install -e .)"
    )


def chapter_notebooks(chapter: str, lang: str = "en") -> list[Path]:
    """Notebooks for ``"all"``, a chapter number, or a path to an .ipynb file; ``lang`` picks
    the edition (``LANGUAGES``)."""
    if lang not in LANGUAGES:
        raise SlidesError(f"unknown language {lang!r}: give one of {', '.join(LANGUAGES)}")
    text = str(chapter).strip()
    path = Path(text).expanduser()
    if text.endswith(".ipynb"):
        if not path.is_file():
            raise SlidesError(f"notebook {text!r} not found")
        return [path]
    if text.lower() != "all" and not (text.isdigit() and int(text) in CHAPTERS):
        raise SlidesError(
            f"unknown chapter {chapter!r}: give one of {', '.join(map(str, CHAPTERS))}, 'all' "
            "or a path to an .ipynb file"
        )
    folder = notebooks_dir(lang)
    pattern = "[0-9][0-9]_*.ipynb" if text.lower() == "all" else f"{int(text):02d}_*.ipynb"
    found = sorted(folder.glob(pattern))
    if not found:
        which = "chapter notebooks" if text.lower() == "all" else f"notebook for chapter {text}"
        raise SlidesError(f"no {which} in {folder}")
    return found


# --- export ----------------------------------------------------------------------------------


def remove_remote_resources(text: str) -> str:
    """Turn remote images and frames into links and drop remote scripts and stylesheets."""

    def image_link(match: re.Match) -> str:
        url = match.group(1)
        alt = _ALT.search(match.group(0))
        label = html.escape(alt.group(1) if alt and alt.group(1) else "image")
        return f'<a href="{url}">[{label}: online only]</a>'

    text = _REMOTE_IMG.sub(image_link, text)
    text = _REMOTE_FRAME.sub(
        lambda m: f'<a href="{m.group(1)}">[embedded page: online only]</a>', text
    )
    return _REMOTE_TAG.sub("", text)


def remote_references(text: str) -> list[str]:
    """URLs that a browser would fetch by itself (scripts, styles, images, frames, CSS url())."""
    loads = re.findall(r"<(?:script|img|iframe|link|source|video|audio)\b[^>]*>", text, re.I)
    found = [
        url
        for tag in loads
        for url in re.findall(r"\b(?:src|href)=[\"'](" + _REMOTE + r")", tag, re.I)
    ]
    styles = re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.I | re.S)
    styles += re.findall(r"\bstyle=\"([^\"]*)\"", text, re.I)
    for css in styles:
        found += re.findall(r"url\(\s*[\"']?(" + _REMOTE + r")", css, re.I)
        found += re.findall(r"@import\s+[\"'](" + _REMOTE + r")", css, re.I)
    return found


def _execute(nb, path: Path):
    from nbclient import NotebookClient

    # Offline, like the test suite: nothing is downloaded while exporting. The kernel gets its
    # own environment; this process's is left as it is.
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    client = NotebookClient(
        nb, timeout=900, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)
    return nb


def cell_errors(nb) -> list[str]:
    """``"cell N: Error: message"`` for every executed cell that raised, except the cells
    marked as expected to raise (tag ``raises-exception`` or ``# NBVAL_RAISES_EXCEPTION``)."""
    found = []
    for number, cell in enumerate(nb.cells, 1):
        tags = cell.get("metadata", {}).get("tags", [])
        lines = [line.strip() for line in str(cell.get("source", "")).splitlines()]
        if "raises-exception" in tags or "# NBVAL_RAISES_EXCEPTION" in lines:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = (str(output.get("evalue", "")).splitlines() or [""])[0]
                found.append(f"cell {number}: {output.get('ename', 'Error')}: {message}")
    return found


def with_notes_cells(nb):
    """``nb`` with a notes cell (slide type ``notes``, which nbconvert turns into reveal.js's
    ``<aside class="notes">``) after every cell whose ``metadata.course.speaker_notes`` holds
    speaker notes. The notebooks keep notes in metadata so that no reader sees them as text."""
    import nbformat

    cells = []
    for cell in nb.cells:
        cells.append(cell)
        notes = cell.get("metadata", {}).get("course", {}).get("speaker_notes")
        if notes:
            aside = nbformat.v4.new_markdown_cell(
                notes, metadata={"slideshow": {"slide_type": "notes"}}
            )
            if "id" in cell:
                aside["id"] = f"{cell['id'][:58]}-notes"  # cell ids are unique in a notebook
            cells.append(aside)
    nb = copy.copy(nb)
    nb.cells = cells
    return nb


def with_section_notes_first(nb):
    """``nb`` where every slide that opens a section shows the section's speaker notes: a
    ``slide`` cell with no notes cell before the next slide or sub-slide gets a copy of the
    section's notes cells (those of its sub-slides, which keep theirs). Needs slide metadata."""
    kinds = [cell.metadata.slideshow.slide_type for cell in nb.cells]
    cells = []
    for start, kind in enumerate(kinds):
        cells.append(nb.cells[start])
        if kind != "slide":
            continue
        own_end = next(
            (i for i in range(start + 1, len(kinds)) if kinds[i] in ("slide", "subslide")),
            len(kinds),
        )
        section_end = next(
            (i for i in range(start + 1, len(kinds)) if kinds[i] == "slide"), len(kinds)
        )
        if "notes" not in kinds[start + 1 : own_end]:
            later = range(own_end, section_end)
            cells += [_copied(nb.cells[i]) for i in later if kinds[i] == "notes"]
    nb.cells = cells
    return nb


def _copied(cell):
    twin = copy.deepcopy(cell)
    if "id" in twin:
        twin["id"] = f"{twin['id'][:60]}-top"  # cell ids are unique in a notebook
    return twin


def without_test_markers(nb):
    """``nb`` with nbval's comment markers (``# NBVAL_CHECK_OUTPUT`` ...) deleted from its code:
    test scaffolding that a slide or page should not show (the course uses cell tags)."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and "NBVAL_" in cell.get("source", ""):
            cell["source"] = _NBVAL_MARKER.sub("", cell["source"])
    return nb


def with_literal_dollars(nb):
    """``nb`` where ``\\$`` in markdown text (a dollar sign, not math) stays a dollar sign once
    exported: nbconvert's markdown unescapes it, and MathJax would pair it with the next one."""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and "\\$" in cell.get("source", ""):
            parts = _CODE_SPANS.split(cell["source"])
            parts[::2] = [part.replace("\\$", _LITERAL_DOLLAR) for part in parts[::2]]
            cell["source"] = "".join(parts)
    return nb


def with_compact_code(nb):
    """``nb`` whose code shows at most one empty line in a row (the formatter's two empty lines
    around functions cost a slide two lines each; the code is the same)."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and "\n\n\n" in cell.get("source", ""):
            cell["source"] = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", cell["source"])
    return nb


def _exporter(kind: str, lang: str):
    from jinja2 import DictLoader

    try:
        from nbconvert import HTMLExporter, SlidesExporter
    except ImportError:
        raise SlidesError(
            "nbconvert is missing: the slides need the authoring tools' requirements: run "
            "`python3 tasks.py setup --dev` (or `pip install -e ./authoring`)"
        ) from None
    if kind == "slides":
        return SlidesExporter(
            extra_loaders=[DictLoader({"course_slides.html.j2": slide_assets.SLIDES_TEMPLATE})],
            template_file="course_slides.html.j2",
            reveal_url_prefix=slide_assets.REVEAL_DIRNAME,
            reveal_theme=slide_assets.REVEAL_THEME,
            embed_images=True,
            language_code=lang.split("-")[0],
        )
    return HTMLExporter(
        extra_loaders=[DictLoader({"course_page.html.j2": slide_assets.PAGE_TEMPLATE})],
        template_file="course_page.html.j2",
        embed_images=True,
        language_code=lang.split("-")[0],  # nbconvert takes ISO 639-1 codes only
    )


def _course_resources(kind: str) -> dict:
    """What the course's templates write into the page: MathJax and, for slides, the style
    sheet and the script that fits each slide into the screen."""
    found = {
        "mathjax_url": slide_assets.MATHJAX_URL,
        "mathjax_config": slide_assets.course_file("mathjax_config.js"),
    }
    if kind == "slides":
        found |= {
            "css": slide_assets.course_file("slides.css"),
            "fit_js": slide_assets.course_file("fit.js"),
            "width": slide_assets.SLIDE_WIDTH,
            "height": slide_assets.SLIDE_HEIGHT,
            "min_scale": slide_assets.MIN_FIT_SCALE,
        }
    return found


def _read(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - unreadable notebook: one clear line
        raise SlidesError(f"cannot read {path}: {err}") from None


def export_notebook(
    path: Path,
    output_dir: Path,
    kind: str = "slides",
    execute: bool = False,
    lang: str = "en",
) -> ExportResult:
    """Export one notebook (``kind`` "slides" or "html") into ``output_dir``; no network needed.
    ``lang`` is the language of its text (``"en"`` or ``"zh-CN"``), for the browser's fonts."""
    if kind not in ("slides", "html"):
        raise ValueError(f"kind must be 'slides' or 'html', not {kind!r}")
    if lang not in LANGUAGES:
        raise SlidesError(f"unknown language {lang!r}: give one of {', '.join(LANGUAGES)}")
    path = Path(path)
    exporter = _exporter(kind, lang)
    nb = _read(path)
    if kind == "slides":
        nb = with_notes_cells(nb)
    nb = with_slide_metadata(nb)
    if execute:
        nb = _execute(nb, path)
    errors = cell_errors(nb) if execute else []
    nb = with_literal_dollars(without_test_markers(nb))
    if kind == "slides":
        nb = with_compact_code(with_section_notes_first(nb))

    output_dir.mkdir(parents=True, exist_ok=True)
    slide_assets.copy_mathjax(output_dir)
    if kind == "slides":
        slide_assets.copy_reveal(output_dir)
    resources = {
        "metadata": {"name": _title(nb) or path.stem, "path": str(path.parent)},
        "course": _course_resources(kind),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    # the whole tag, e.g. zh-CN, so that the browser picks the fonts of simplified Chinese
    body = body.replace(f'<html lang="{lang.split("-")[0]}">', f'<html lang="{lang}">', 1)
    body = remove_remote_resources(body)
    suffix = ".slides.html" if kind == "slides" else ".html"
    body = _link_exported_notebooks(body, suffix)
    left = remote_references(body)
    if left:
        raise SlidesError(f"{path.name}: the export still loads {left[0]}; please report this")
    target = output_dir / f"{path.stem}{suffix}"
    target.write_text(body, encoding="utf-8")
    count = sum(1 for t in slide_types(nb) if t in ("slide", "subslide"))
    return ExportResult(path, target, count, errors)


def _link_exported_notebooks(text: str, suffix: str) -> str:
    """Links to sibling notebooks (``href="01_x.ipynb"``) point at their exported files."""
    return re.sub(
        r"""href=(["'])([\w.-]+)\.ipynb(#[^"']*)?\1""",
        lambda m: f"href={m.group(1)}{m.group(2)}{suffix}{m.group(3) or ''}{m.group(1)}",
        text,
    )


def _title(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            return None
    return None
