"""pyproject.toml, constraints.txt, environment.yml, the README and CI agree with each other."""

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
AUTHORING = tomllib.loads((ROOT / "authoring" / "pyproject.toml").read_text())["project"]
# Installed first, for the machine's hardware: in environment.yml and constraints.txt, never
# claimed in pyproject.toml (see the comment there).
INSTALLED_FIRST = {"torch"}
CONDA_TO_PIP = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    name = re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-")


def _requirements() -> dict[str, list[str]]:
    groups = {"runtime": PROJECT["dependencies"]}
    groups.update(PROJECT["optional-dependencies"])
    groups["authoring"] = [r for r in AUTHORING["dependencies"] if _name(r) != "course-utils"]
    return groups


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[_name(name)] = version
    return pins


def _environment_names() -> tuple[set[str], set[str]]:
    conda, pip = set(), set()
    in_pip = in_dependencies = False
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line and not line.startswith(" "):
            in_dependencies = line.startswith("dependencies:")
            continue
        if not in_dependencies or not line.strip().startswith("- "):
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


def test_every_lower_bound_is_the_tested_version():
    pins = _pins()
    for group, requirements in _requirements().items():
        for requirement in requirements:
            name = _name(requirement)
            assert name in pins, f"{name} ({group}) is not pinned in constraints.txt"
            bound = re.search(r"(>=|==)\s*([\w.]+)", requirement)
            assert bound, f"{requirement!r} ({group}) claims no lower bound"
            assert Version(bound.group(2)) == Version(pins[name]), (
                f"{requirement!r} claims {bound.group(2)} but the tests run {pins[name]}: "
                "tighten the bound or run python3 tasks.py lock"
            )
    assert not INSTALLED_FIRST & {_name(r) for r in PROJECT["dependencies"]}
    assert INSTALLED_FIRST <= set(pins)


def test_environment_yml_matches_pyproject():
    groups = {k: {_name(r) for r in v} for k, v in _requirements().items()}
    conda, pip = _environment_names()
    extras = groups["dev"] | groups["authoring"]
    assert (conda - INSTALLED_FIRST) | (pip - extras) == groups["runtime"]
    assert INSTALLED_FIRST <= conda
    assert not conda & pip, f"listed twice in environment.yml: {conda & pip}"
    assert extras <= pip, f"extras missing from environment.yml's pip section: {extras - pip}"


def test_slides_tools_are_not_in_the_learners_install():
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    assert not {"sphinx", "sphinx-revealjs", "nbconvert"} & runtime
    assert "sphinx-revealjs" in {_name(r) for r in AUTHORING["dependencies"]}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 tasks\.py \w+)", readme, re.M)
    assert "python3 tasks.py test" in commands and "python3 tasks.py notebooks" in commands
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith("python3 tasks.py")
    ]
    assert ci == ["python3 tasks.py test"]


def test_console_script_points_at_a_real_function():
    module, func = PROJECT["scripts"]["course"].split(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_importing_the_package_has_no_side_effects_and_no_heavy_imports(tmp_path):
    code = (
        "import os, sys; before = set(os.listdir('.')); import course_utils, course_utils.cli; "
        "after = set(os.listdir('.')); heavy = {'torch', 'transformers'} & set(sys.modules); "
        "sys.exit(f'files: {after ^ before}, heavy: {heavy}' if before != after or heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_course_version_is_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.cli", "--version"], capture_output=True, text=True
    )
    assert result.stdout.strip() == f"course {PROJECT['version']}"
