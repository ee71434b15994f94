"""What an exported slide deck or page loads, all from files next to it (no CDN, no network).

- reveal.js, from the ``sphinx-revealjs`` package, copied to ``OUTPUT/reveal.js``;
- MathJax 2, from the ``jupyter-server-mathjax`` package, copied to ``OUTPUT/mathjax``: formulas
  in markdown (``$...$``, ``$$...$$``) are typeset in the browser with its STIX web fonts;
- the course's own style sheet and the script that fits every slide into the screen
  (``authoring/course_authoring/data/slides/``), written into the exported file itself.

Both packages come with the course's ``slides`` extra. Only the files that are used are copied.
"""

from __future__ import annotations

import filecmp
import importlib.util
import shutil
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

_REVEAL_FILES = (
    "LICENSE",
    "dist/reveal.css",
    "dist/reveal.js",
    f"dist/theme/{REVEAL_THEME}.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes",
)
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
_SKIPPED = shutil.ignore_patterns("*.map", "*.esm.js", "a11y", "MathML")
MATHJAX_URL = f"{MATHJAX_DIRNAME}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
_COURSE_FILES = Path(__file__).resolve().parent / "data" / "slides"


class SlidesError(CourseError, RuntimeError):
    """Export cannot go on; the message says what to do next."""


def _installed_folder(package: str, *inside: str) -> Path:
    """A folder inside an installed package, found without importing the package (importing
    sphinx_revealjs would import Sphinx for nothing)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SlidesError(
            f"{package} not found: the slides need the course's `slides` extra (reveal.js and "
            'MathJax come inside its packages): run `pip install "course-utils[slides]"`, or '
            '`pip install -e ".[slides]"` in the course repository'
        )
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*inside)


def reveal_source() -> Path:
    """The reveal.js folder shipped inside the sphinx-revealjs package."""
    folder = _installed_folder("sphinx_revealjs", "_static", "revealjs")
    if not (folder / "dist" / "reveal.js").is_file():
        raise SlidesError(
            f"sphinx-revealjs is installed but {folder} has no dist/reveal.js; reinstall it"
        )
    return folder


def mathjax_source() -> Path:
    """The MathJax 2 folder shipped inside the jupyter-server-mathjax package."""
    folder = _installed_folder("jupyter_server_mathjax", "static")
    if not (folder / "MathJax.js").is_file():
        raise SlidesError(
            f"jupyter-server-mathjax is installed but {folder} has no MathJax.js; reinstall it"
        )
    return folder


def _copy(source: Path, names: tuple[str, ...], target: Path) -> Path:
    for name in names:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True, ignore=_SKIPPED)
        elif src.is_file() and not (dst.is_file() and filecmp.cmp(src, dst, shallow=True)):
            shutil.copy2(src, dst)
    return target


def copy_reveal(output_dir: Path) -> Path:
    """Copy the reveal.js files the slides use into ``output_dir/reveal.js``."""
    return _copy(reveal_source(), _REVEAL_FILES, output_dir / REVEAL_DIRNAME)


def copy_mathjax(output_dir: Path) -> Path:
    """Copy the MathJax files that typeset TeX into ``output_dir/mathjax``."""
    target = output_dir / MATHJAX_DIRNAME
    source = mathjax_source()
    marker = target / "MathJax.js"
    if marker.is_file() and filecmp.cmp(source / "MathJax.js", marker, shallow=True):
        return target  # already there (an export of several chapters copies it once)
    return _copy(source, _MATHJAX_FILES, target)


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
