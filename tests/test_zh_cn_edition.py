"""The zh-CN edition: in step with the English notebooks, and its Chinese-text sections run.

CI runs every English notebook once (nbval). A zh-CN notebook shares its code cells verbatim with
the English one (checked here), so only the cells that the zh-CN edition alone has — the
Chinese-text section at the end of each chapter — are executed again, all in one kernel.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
from course_authoring import sync_zh_cn as sync  # noqa: E402


def test_every_chapter_has_a_zh_cn_edition_in_step():
    pairs = sync.pairs()
    assert len(pairs) >= 5
    found = [p for en, zh in pairs for p in sync.problems(en, zh)]
    assert not found, (
        "\n".join(found)
        + "\n(python authoring/course_authoring/sync_zh_cn.py updates; see its doc)"
    )


def test_the_chinese_sections_run_and_match_their_stored_outputs(tmp_path):
    """The zh-CN edition's own cells, chapter by chapter in one kernel: its Chinese-text
    sections, then its exercises (in Chinese: their setup cells say lang="zh-CN")."""
    cells = []
    for _, zh_path in sync.pairs():
        chapter = nbformat.read(zh_path, as_version=4).cells
        cells += [c for c in chapter if sync.is_zh_only(c) or sync.is_exercise(c)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = nbformat.read(sync.pairs()[0][1], as_version=4).metadata
    path = tmp_path / "zh_sections.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "--nbval-lax", "--nbval-current-env", "--rootdir", str(tmp_path), str(path)],
        cwd=ROOT / "notebooks" / "zh-CN",
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _quick_start(readme: str, heading: str) -> str:
    text = (ROOT / readme).read_text(encoding="utf-8")
    start = text.index(heading)
    return text[start : text.index("\n## ", start + 1)]


def test_the_zh_readme_links_open_zh_notebooks():
    text = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]*\.ipynb)\)", text)
    assert len(links) >= 10, links  # the quick start and the table (GitHub and Colab)
    english = [link for link in links if "notebooks/zh-CN/" not in link]
    assert not english, f"README.zh-CN.md links English notebooks: {english}"


def test_the_zh_quick_start_sets_the_mirrors_before_the_first_command():
    quick = _quick_start("README.zh-CN.md", "## 快速开始")
    first_command = quick.index("python3 tasks.py")
    for variable in ("HF_ENDPOINT", "PIP_INDEX_URL", "COURSE_TORCH_INDEX"):
        assert f"export {variable}=" in quick[:first_command], f"{variable} comes too late"
    assert "pip config list" in quick and "pip index versions torch" in quick  # how to check
    first_notebook = re.search(r"\]\((notebooks/[^)]+\.ipynb)\)", quick).group(1)
    assert first_notebook == "notebooks/zh-CN/00_setup.ipynb"
