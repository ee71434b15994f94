"""Export chapter notebooks as reveal.js slides or plain HTML that work with no network.

nbconvert's templates load reveal.js, require.js, jQuery, MathJax and mermaid from CDNs. Here
reveal.js comes from the ``sphinx-revealjs`` package (installed with the course) and is copied
next to the exported file; the CDN scripts are left out, local images are embedded, and any
remaining ``http(s)`` image or frame becomes a plain link. The result opens from ``file://``.
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.errors import CourseError
from course_utils.settings import CHAPTERS

REPO_ROOT = Path(__file__).resolve().parents[1]
REVEAL_DIRNAME = "reveal.js"

# Files of reveal.js that the slides load (theme fonts included); source maps and unused
# plugins stay behind.
# The white theme is used because its fonts are local files (several others import web fonts).
REVEAL_THEME = "white"
_REVEAL_FILES = (
    "LICENSE",
    "dist/reveal.css",
    "dist/reveal.js",
    f"dist/theme/{REVEAL_THEME}.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes",
)

_NO_CDN_BLOCKS = """
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
"""

_SLIDES_TEMPLATE = (
    "{%- extends 'index.html.j2' -%}"
    + _NO_CDN_BLOCKS
    + """
{% block footer_js %}
<script src="{{ reveal_url_prefix }}/dist/reveal.js"></script>
<script src="{{ reveal_url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true,
  progress: true,
  history: true,
  hash: true,
  transition: "{{ reveal_transition }}",
  slideNumber: "c/t",
  plugins: [RevealNotes],
  width: {{ reveal_width }},
  height: {{ reveal_height }}
});
// A slide taller than the presentation scrolls instead of being cut off.
function courseFitSlide() {
  var slide = Reveal.getCurrentSlide();
  var limit = Reveal.getConfig().height;
  if (slide && !slide.querySelector("section") && slide.scrollHeight > limit) {
    slide.style.height = limit + "px";
    slide.style.overflowY = "auto";
    Reveal.layout();
  }
}
Reveal.on("ready", courseFitSlide);
Reveal.on("slidechanged", courseFitSlide);
</script>
{% endblock footer_js %}
"""
)
_HTML_TEMPLATE = "{%- extends 'index.html.j2' -%}" + _NO_CDN_BLOCKS

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


class SlidesError(CourseError, RuntimeError):
    """Export cannot go on; the message says what to do next."""


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


def notebooks_dir() -> Path:
    for candidate in (REPO_ROOT / "notebooks", Path.cwd() / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise SlidesError(
        "no notebooks/ folder found: run this from the course repository (git clone, then "
        "pip install -e .)"
    )


def chapter_notebooks(chapter: str) -> list[Path]:
    """Notebooks for ``"all"``, a chapter number, or a path to an .ipynb file."""
    text = str(chapter).strip()
    path = Path(text).expanduser()
    if text.endswith(".ipynb"):
        if not path.is_file():
            raise SlidesError(f"notebook {text!r} not found")
        return [path]
    if text.lower() == "all":
        found = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
        if not found:
            raise SlidesError(f"no chapter notebooks in {notebooks_dir()}")
        return found
    if not (text.isdigit() and int(text) in CHAPTERS):
        raise SlidesError(
            f"unknown chapter {chapter!r}: give one of {', '.join(map(str, CHAPTERS))}, 'all' "
            "or a path to an .ipynb file"
        )
    found = sorted(notebooks_dir().glob(f"{int(text):02d}_*.ipynb"))
    if not found:
        raise SlidesError(f"no notebook for chapter {text} in {notebooks_dir()}")
    return found


def reveal_source() -> Path:
    """The reveal.js folder shipped inside the sphinx-revealjs package (no CDN, no npm)."""
    import importlib.util

    # Only the package's files are used; importing it would import Sphinx for nothing.
    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or not spec.submodule_search_locations:
        raise SlidesError(
            "reveal.js not found: the slides need the course's `slides` extra (it ships reveal.js "
            'inside sphinx-revealjs): run `pip install "course-utils[slides]"`, or '
            '`pip install -e ".[slides]"` in the course repository'
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "_static" / "revealjs"
    if not (folder / "dist" / "reveal.js").is_file():
        raise SlidesError(
            f"sphinx-revealjs is installed but {folder} has no dist/reveal.js; reinstall it"
        )
    return folder


def copy_reveal(output_dir: Path) -> Path:
    """Copy the reveal.js files the slides use into ``output_dir/reveal.js``."""
    source = reveal_source()
    target = output_dir / REVEAL_DIRNAME
    for name in _REVEAL_FILES:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(
                src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.map", "*.esm.js")
            )
        elif src.is_file():
            shutil.copy2(src, dst)
    return target


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
    from nbconvert.preprocessors import ExecutePreprocessor

    # Offline, like the test suite: nothing is downloaded while exporting.
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        ExecutePreprocessor(timeout=900, allow_errors=True).preprocess(
            nb, {"metadata": {"path": str(path.parent)}}
        )
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved
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


def export_notebook(
    path: Path, output_dir: Path, kind: str = "slides", execute: bool = False
) -> ExportResult:
    """Export one notebook (``kind`` "slides" or "html") into ``output_dir``; no network needed."""
    import nbformat
    from jinja2 import DictLoader

    try:
        from nbconvert import HTMLExporter, SlidesExporter
    except ImportError:
        raise SlidesError(
            "nbconvert is missing: the slides need the course's `slides` extra: run "
            '`pip install "course-utils[slides]"`'
        ) from None

    if kind not in ("slides", "html"):
        raise ValueError(f"kind must be 'slides' or 'html', not {kind!r}")
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - unreadable notebook: one clear line
        raise SlidesError(f"cannot read {path}: {err}") from None
    nb = with_slide_metadata(nb)
    if execute:
        nb = _execute(nb, path)

    output_dir.mkdir(parents=True, exist_ok=True)
    title = _title(nb) or path.stem
    resources = {"metadata": {"name": title, "path": str(path.parent)}}
    if kind == "slides":
        copy_reveal(output_dir)
        exporter = SlidesExporter(
            extra_loaders=[DictLoader({"course_slides.html.j2": _SLIDES_TEMPLATE})],
            template_file="course_slides.html.j2",
            reveal_url_prefix=REVEAL_DIRNAME,
            reveal_theme=REVEAL_THEME,
            embed_images=True,
        )
        target = output_dir / f"{path.stem}.slides.html"
    else:
        exporter = HTMLExporter(
            extra_loaders=[DictLoader({"course_page.html.j2": _HTML_TEMPLATE})],
            template_file="course_page.html.j2",
            embed_images=True,
        )
        target = output_dir / f"{path.stem}.html"
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = remove_remote_resources(body)
    body = _link_exported_notebooks(body, ".slides.html" if kind == "slides" else ".html")
    left = remote_references(body)
    if left:
        raise SlidesError(f"{path.name}: the export still loads {left[0]}; please report this")
    target.write_text(body, encoding="utf-8")
    count = sum(1 for t in slide_types(nb) if t in ("slide", "subslide"))
    return ExportResult(path, target, count, cell_errors(nb) if execute else [])


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
