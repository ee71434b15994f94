"""What an exported slide deck or page loads, all from files next to it (no CDN, no network).

- reveal.js 5.2.1, vendored in ``course_authoring/vendor/reveal.js`` (MIT; where it came from
  and what was left out: ``vendor/README.md``), copied to ``OUTPUT/reveal.js``;
- MathJax 2, from the ``jupyter-server-mathjax`` package, copied to ``OUTPUT/mathjax``: formulas
  in markdown (``$...$``, ``$$...$$``) are typeset in the browser with its STIX web fonts;
- the course's own style sheet and the script that fits every slide into the screen
  (``course_authoring/data/slides/``), written into the exported file itself.

Each asset folder is built under a temporary name and renamed into place only when complete,
with a manifest of its files written last; a later export trusts a folder only when its manifest
matches the source and every file listed is there, whole. So an export killed mid-copy costs a
copy next time, never a deck with half of MathJax.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from course_utils.errors import CourseError

REVEAL_DIRNAME = "reveal.js"
MATHJAX_DIRNAME = "mathjax"
# The white theme's fonts are local files (several other themes import web fonts).
REVEAL_THEME = "white"
# The presentation's own size: a 16:9 screen such as 1280x720 shows it at about 1:1.
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
# A slide taller than the screen is shrunk to fit, down to this scale; below it the slide is
# left too tall (and the browser test names it): its notebook cell should be split instead.
MIN_FIT_SCALE = 0.6

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
# MathJax 2.7 with the TeX input, HTML-CSS output and its STIX web fonts; the accessibility
# extensions, the SVG output, MathML input and the translations of its menus stay behind.
_MATHJAX_FILES = (
    "LICENSE",
    "MathJax.js",
    "config/TeX-AMS-MML_HTMLorMML-full.js",
    "config/Safe.js",
    "extensions",
    "jax/element",
    "jax/input/TeX",
    "jax/output/HTML-CSS",
    "fonts/HTML-CSS/STIX-Web/woff",
)
_MATHJAX_SKIPPED = ("a11y", "MathML")
MATHJAX_URL = f"{MATHJAX_DIRNAME}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
MANIFEST_NAME = ".course-assets.json"
_PARTIAL = ".partial-"  # in the name of a folder still being copied
_COURSE_FILES = Path(__file__).resolve().parent / "data" / "slides"
_REINSTALL = "run `python3 tasks.py setup --dev` (or `pip install -e ./authoring`)"


class SlidesError(CourseError, RuntimeError):
    """Export cannot go on; the message says what to do next."""


def reveal_source() -> Path:
    """The vendored reveal.js folder inside this package."""
    folder = VENDOR_DIR / REVEAL_DIRNAME
    if not (folder / "dist" / "reveal.js").is_file():
        raise SlidesError(
            f"reveal.js is missing from the authoring tools ({folder} has no dist/reveal.js): "
            f"reinstall them: {_REINSTALL}"
        )
    return folder


def mathjax_source() -> Path:
    """The MathJax 2 folder shipped inside the jupyter-server-mathjax package (found without
    importing it, which would import Jupyter Server for nothing)."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise SlidesError(
            "jupyter_server_mathjax not found: the slides take MathJax from that package, "
            f"which comes with the authoring tools: {_REINSTALL}"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "static"
    if not (folder / "MathJax.js").is_file():
        raise SlidesError(
            f"jupyter-server-mathjax is installed but {folder} has no MathJax.js; reinstall it"
        )
    return folder


def _listing(source: Path, names: tuple[str, ...], skipped: tuple[str, ...]) -> dict[str, int]:
    """Every file to copy, relative to ``source``, with its size."""
    files = {}
    for name in names:
        top = source / name
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            relative = path.relative_to(source)
            if path.is_file() and not path.name.endswith((".map", ".esm.js")):
                if not set(skipped) & set(relative.parts):
                    files[relative.as_posix()] = path.stat().st_size
    return files


def is_complete(target: Path, files: dict[str, int]) -> bool:
    """True when ``target`` holds a manifest equal to ``files`` and every file it lists, whole."""
    try:
        recorded = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded != files:
        return False
    for name, size in files.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def _install(source: Path, names: tuple[str, ...], target: Path, skipped=()) -> Path:
    """Copy ``names`` from ``source`` to ``target`` unless a complete copy is already there."""
    files = _listing(source, names, skipped)
    if is_complete(target, files):
        return target  # already there (an export of several chapters copies it once)
    parent = target.parent
    for leftover in parent.glob(f".{target.name}{_PARTIAL}*"):
        shutil.rmtree(leftover, ignore_errors=True)  # an earlier export killed mid-copy
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}{_PARTIAL}", dir=parent))
    try:
        for name in files:
            (building / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, building / name)
        manifest = json.dumps(files, indent=0, sort_keys=True)
        (building / MANIFEST_NAME).write_text(manifest, encoding="utf-8")
        # An incomplete or outdated copy moves aside, then the new one takes its name.
        if target.exists():
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}{_PARTIAL}old-", dir=parent))
            target.rename(stale / target.name)
            shutil.rmtree(stale, ignore_errors=True)
        building.rename(target)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return target


def copy_reveal(output_dir: Path) -> Path:
    """Copy the vendored reveal.js into ``output_dir/reveal.js``."""
    return _install(reveal_source(), ("LICENSE", "dist", "plugin"), output_dir / REVEAL_DIRNAME)


def copy_mathjax(output_dir: Path) -> Path:
    """Copy the MathJax files that typeset TeX into ``output_dir/mathjax``."""
    return _install(
        mathjax_source(), _MATHJAX_FILES, output_dir / MATHJAX_DIRNAME, _MATHJAX_SKIPPED
    )


def course_file(name: str) -> str:
    """One of the course's own files written into every export (style sheet, scripts)."""
    return (_COURSE_FILES / name).read_text(encoding="utf-8")


# --- templates -------------------------------------------------------------------------------

_NO_CDN_BLOCKS = """
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
{{ resources.course.mathjax_config }}
</script>
<script src="{{ resources.course.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
"""

SLIDES_TEMPLATE = (
    "{%- extends 'index.html.j2' -%}"
    + _NO_CDN_BLOCKS
    + """
{%- block html_head_css -%}
<style type="text/css">
{{ resources.course.css }}
</style>
{%- endblock html_head_css -%}
{% block footer_js %}
<script src="{{ reveal_url_prefix }}/dist/reveal.js"></script>
<script src="{{ reveal_url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  // no arrows drawn over the slide's corner: keys, space, a clicker or a swipe move on
  controls: false,
  progress: true,
  history: true,
  hash: true,
  center: true,
  transition: "{{ reveal_transition }}",
  slideNumber: "c/t",
  plugins: [RevealNotes],
  width: {{ resources.course.width }},
  height: {{ resources.course.height }},
  margin: 0.04,
  // every slide stays laid out, so that formulas are typeset and slides measured once
  viewDistance: 1000,
  mobileViewDistance: 1000
});
var COURSE_MIN_SCALE = {{ resources.course.min_scale }};
{{ resources.course.fit_js }}
</script>
{% endblock footer_js %}
"""
)
PAGE_TEMPLATE = "{%- extends 'index.html.j2' -%}" + _NO_CDN_BLOCKS
