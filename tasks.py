"""Set up the course and run it: one command each, from a fresh clone, on Linux, macOS or Windows.

    python3 tasks.py notebooks   # create .venv (first time), install the course, open Jupyter Lab
    python3 tasks.py test        # create .venv (first time) with the dev tools, lint, run every test
    python3 tasks.py setup       # only create / update .venv (add --dev for the test tools)
    python3 tasks.py lint        # ruff check + ruff format --check (notebooks included)
    python3 tasks.py lock        # maintainers: resolve anew and rewrite constraints.txt

It uses only the standard library. PyTorch is installed first, for this machine: on Linux without
an NVIDIA GPU the CPU build (about 200 MB instead of several GB of CUDA packages); elsewhere the
default build from PyPI (CUDA on Linux with a GPU, MPS on Apple silicon). The tested versions of
everything are pinned in constraints.txt. A second, small environment (.venv-mirror) holds the
local Hub mirror server that the online tests start (olah, whose pins clash with Jupyter's).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIRROR_VENV = ROOT / ".venv-mirror"
CONSTRAINTS = ROOT / "constraints.txt"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MIRROR_REQUIREMENT = "olah==0.5.4"


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


def pinned(name: str) -> str:
    """The tested version of ``name`` from constraints.txt, as ``name==version``."""
    for line in CONSTRAINTS.read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.split("#")[0].strip()
    sys.exit(f"tasks.py: {name} is not pinned in {CONSTRAINTS.name}")


def has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


def install_torch(pip: list[str]) -> None:
    """The tested PyTorch, the right build for this machine."""
    torch = pinned("torch")
    if platform.system() == "Linux" and not has_nvidia_gpu():
        # CPU build; if download.pytorch.org is unreachable, pip's own configuration decides.
        cpu = [*pip, "install", "--retries", "1", "--timeout", "20", torch]
        if subprocess.run([*cpu, "--index-url", TORCH_CPU_INDEX]).returncode == 0:
            return
        print("tasks.py: the PyTorch CPU index did not answer; trying the default index")
    run(*pip, "install", torch)


def fingerprint(extras: str) -> str:
    digest = hashlib.sha256(extras.encode())
    for path in (ROOT / "pyproject.toml", ROOT / "authoring" / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def setup(dev: bool) -> Path:
    """Create or update .venv; return its Python. Does nothing when already up to date."""
    extras = ".[dev]" if dev else "."
    stamp = VENV / f".course-setup-{'dev' if dev else 'runtime'}"
    python = bin_path(VENV, "python")
    if stamp.is_file() and stamp.read_text() == fingerprint(extras) and python.exists():
        return python
    if not python.exists():
        print(f"Creating {VENV.name} (Python {platform.python_version()})", flush=True)
        venv.create(VENV, with_pip=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "install", "--quiet", "--upgrade", "pip")
    if subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode:
        install_torch(pip)
    # The instructors' tools (slides, notebook refresh, zh-CN sync) are a package of their own.
    authoring = ["-e", str(ROOT / "authoring")] if dev else []
    run(*pip, "install", "--quiet", "-e", extras, *authoring, "-c", CONSTRAINTS)
    stamp.write_text(fingerprint(extras))
    return python


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


def test(pytest_args: list[str]) -> int:
    python = setup(dev=True)
    env = dict(os.environ, HUB_MIRROR_PYTHON=str(setup_mirror()))
    lint(python)
    code = subprocess.run([str(python), "-m", "pytest", *pytest_args], env=env).returncode
    line = browser_line()
    bar = "=" * len(line) if "SKIPPED" in line else ""
    print("\n".join(filter(None, [bar, line, bar])), flush=True)
    return code


def lock() -> int:
    """Install the newest versions the requirements allow into a throwaway environment (with
    the pinned PyTorch) and write what it resolved to constraints.txt."""
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "env"
        venv.create(env, with_pip=True)
        pip = [str(bin_path(env, "python")), "-m", "pip", "--disable-pip-version-check"]
        install_torch(pip)
        run(*pip, "install", "--quiet", "-e", ".[dev]", "-e", str(ROOT / "authoring"))
        frozen = subprocess.run(
            [*pip, "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
        ).stdout
    # A local label such as +cpu is dropped: ==2.13.0 matches the CPU, CUDA and macOS builds.
    pins = sorted(line.split("+")[0] for line in frozen.splitlines() if "==" in line)
    header = (
        "# The versions the tests run with (python3 tasks.py lock rewrites this file).\n"
        "# pip install -e '.[dev]' -e ./authoring -c constraints.txt reproduces the tested set.\n"
    )
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {len(pins)} pins to {CONSTRAINTS.name}")
    return 0


def notebooks() -> int:
    setup(dev=False)
    return subprocess.run(
        [str(bin_path(VENV, "jupyter")), "lab", str(ROOT / "notebooks")]
    ).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("notebooks", help="set up, then open the notebooks in Jupyter Lab")
    commands.add_parser(
        "test",
        help="set up with the dev tools, lint, run every test (extra arguments go to pytest)",
    )
    setting_up = commands.add_parser("setup", help="only create or update .venv")
    setting_up.add_argument("--dev", action="store_true", help="with the test and slide tools")
    commands.add_parser("lint", help="ruff check and ruff format --check")
    commands.add_parser("lock", help="resolve anew and rewrite constraints.txt (maintainers)")
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        return test(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "notebooks":
        return notebooks()
    if args.command == "setup":
        setup(dev=args.dev)
        return 0
    if args.command == "lock":
        return lock()
    lint(setup(dev=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
