"""environment.yml and pyproject.toml must name the same packages."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    name = re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-")


def _pyproject_names() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    return runtime, dev


def _environment_names() -> tuple[set[str], set[str]]:
    conda, pip = set(), set()
    in_pip = False
    in_dependencies = False
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line and not line.startswith(" "):
            in_dependencies = line.startswith("dependencies:")
            continue
        if not in_dependencies:
            continue
        if not line.strip().startswith("- "):
            continue
        item = line.strip()[2:].strip()
        indent = len(line) - len(line.lstrip())
        if item == "pip:":
            in_pip = True
            continue
        if indent <= 2:
            in_pip = False
        if in_pip:
            if not item.startswith("-e"):
                pip.add(_name(item))
        elif item not in ("pip", "pip:") and not item.startswith("python"):
            name = _name(item)
            conda.add(CONDA_TO_PIP.get(name, name))
    return conda, pip


def test_environment_yml_matches_pyproject():
    runtime, dev = _pyproject_names()
    conda, pip = _environment_names()
    # Runtime packages come from conda-forge where it has them, else from the pip section.
    pip_runtime = pip - dev
    assert conda | pip_runtime == runtime, (
        f"only in pyproject: {runtime - conda - pip_runtime}; "
        f"only in environment.yml: {(conda | pip_runtime) - runtime}"
    )
    assert not conda & pip, f"listed twice in environment.yml: {conda & pip}"
    assert dev <= pip, f"dev extra missing from environment.yml's pip section: {dev - pip}"


def test_console_script_points_at_a_real_function():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, func = project["scripts"]["course"].split(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), func))


def test_importing_the_package_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = (
        "import os, sys; before = set(os.listdir('.')); import course_utils; "
        "after = set(os.listdir('.')); sys.exit(0 if before == after else 1)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
