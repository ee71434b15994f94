"""The notebooks as a newcomer runs them: `python3 tasks.py notebooks` started headless, a
chapter opened in JupyterLab in a real Chromium (driven by Playwright), Run All Cells clicked in
the menu, and then every cell has run, with no error output except the intended ones and no
`ModuleNotFoundError` or `command not found` from a `!` command.

Heavy: as long as chapter 3 itself runs (63 s on the quiet 2-core machine, 2026-12-02). So this
run is chapter 3's nbval run too: its checked cells are compared with the committed outputs as
nbval compares them, and tests/conftest.py leaves nbval's own run of chapter 3 out of a session
that holds this test and can run it (the notebook then runs once, not twice). The server runs on a
copy of the notebook in a temporary folder, with its own Jupyter config, data and runtime
folders, so the repository stays as it was (JupyterLab writes .ipynb_checkpoints and saves the notebook). The
environment is the test session's (offline, a throwaway HF_HOME) without PYTHONPATH and without
.venv on PATH: whatever the `!` commands find, tasks.py put there.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from notebook_runs import checked_outputs_that_differ, chromium, why_no_browser_run

import tasks

pytestmark = [pytest.mark.slow, pytest.mark.browser]


ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["03_fine_tuning.ipynb"]  # the chapter with `!` commands
RAISES_TAG = "raises-exception"
# What a `!` command prints when the shell finds another Python, or no such command.
NOT_FOUND = ("ModuleNotFoundError", "No module named", "command not found", ": not found")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S, RUN_ALL_S = 180, 900


def _chromium() -> str | None:
    return chromium()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(config: Path) -> None:
    """JupyterLab user settings: every cell attached to the page, no update checks."""
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    for name, values in {
        "notebook-extension/tracker": {"windowingMode": "none", "recordTiming": True},
        "apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
    }.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _server_env(home: Path) -> dict:
    scripts = str(tasks.bin_path(tasks.VENV, "python").parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != scripts)
    for variable, folder in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
    }.items():
        env[variable] = str(home / folder)
        (home / folder).mkdir(parents=True, exist_ok=True)
    _settings(home / "config")
    return env


class Lab:
    """`python3 tasks.py notebooks` serving a folder, and what it printed."""

    def __init__(self, folder: Path, home: Path):
        self.folder, self.port, self.token = folder, _free_port(), secrets.token_hex(16)
        self.log: list[str] = []
        command = [
            sys.executable,
            str(ROOT / "tasks.py"),
            "notebooks",
            "--no-browser",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--notebook-dir={folder}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.port_retries=0",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.proc = subprocess.Popen(
            command,
            env=_server_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # tasks.py and Jupyter stop together
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        url = f"http://127.0.0.1:{self.port}/"
        while not any(url in line for line in self.log):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(self.log[-30:])
                pytest.fail(f"`python3 tasks.py notebooks` did not serve {url}:\n{tail}")
            time.sleep(0.2)

    def kernel_state(self, notebook: str) -> str | None:
        """The execution state of the notebook's kernel, from the server's sessions API."""
        url = f"http://127.0.0.1:{self.port}/api/sessions?token={self.token}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            sessions = json.loads(answer.read())
        states = [s["kernel"]["execution_state"] for s in sessions if s["path"] == notebook]
        return states[0] if states else None

    def url(self, notebook: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?token={self.token}"

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    missing = why_no_browser_run()
    if missing is not None:
        pytest.skip(missing)
    chromium = _chromium()
    home = tmp_path_factory.mktemp("jupyter-home")
    folder = tmp_path_factory.mktemp("notebooks")
    for name in CHAPTERS:
        shutil.copy2(ROOT / "notebooks" / name, folder / name)
    server = Lab(folder, home)
    server.wait_ready()
    server.chromium = chromium
    yield server
    server.stop()


def test_tasks_py_notebooks_says_when_it_passes_allow_root(lab):
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    said = [line for line in lab.log if line.startswith("tasks.py: running as root")]
    assert len(said) == (1 if root else 0), lab.log[:10]
    assert not any(line.startswith("$ ") for line in lab.log), "it installed again"


_PROMPTS = """() => {
  const prompts = [...document.querySelectorAll(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return {
    running: prompts.filter(t => t.includes('*')).length,
    done: prompts.filter(t => /\\[\\d+\\]/.test(t)).length,
    cells: prompts.length,
  };
}"""
_KERNEL_IDLE = """() => {
  const status = document.querySelector(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return status !== null && status.getAttribute('data-status') === 'idle';
}"""


def _open_with_a_kernel(page, lab, name: str, shots: Path) -> None:
    """Open the notebook and wait for its kernel; where JupyterLab asks which kernel to start
    (its default since 4.x), pick the one it offers, as a person would."""
    page.goto(lab.url(name))
    deadline = time.monotonic() + SERVER_START_S
    while not (lab.kernel_state(name) == "idle" and page.evaluate(_KERNEL_IDLE)):
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            text = dialog.first.inner_text()
            if not text.startswith("Select Kernel") or "Python 3 (ipykernel)" not in text:
                pytest.fail(f"{name}: JupyterLab asks: {text}")
            dialog.locator("button.jp-mod-accept").click()
        if time.monotonic() > deadline:
            page.screenshot(path=str(shots / f"{name}.png"))
            pytest.fail(f"{name}: no idle kernel after {SERVER_START_S} s")
        time.sleep(0.5)


def _run_all_and_save(page, lab, name: str, shots: Path) -> None:
    _open_with_a_kernel(page, lab, name, shots)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline, quiet = time.monotonic() + RUN_ALL_S, 0
    while quiet < 3:  # three looks in a row with nothing queued and the kernel idle
        state = page.evaluate(_PROMPTS)
        idle = page.evaluate(_KERNEL_IDLE)
        quiet = quiet + 1 if idle and not state["running"] and state["done"] else 0
        if time.monotonic() > deadline:
            page.screenshot(path=str(shots / f"{name}.png"))
            pytest.fail(f"{name}: Run All Cells still running after {RUN_ALL_S} s: {state}")
        time.sleep(1)
    dialogs = page.locator(".jp-Dialog").all_inner_texts()
    if dialogs:
        page.screenshot(path=str(shots / f"{name}.png"))
        pytest.fail(f"{name}: JupyterLab shows a dialog after Run All Cells: {dialogs}")
    before = (lab.folder / name).stat().st_mtime_ns
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Save Notebook").first.click()
    deadline = time.monotonic() + 60
    while (lab.folder / name).stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the save is one write; let it finish
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join([output.ename, output.evalue, *output.traceback])
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


def _timing(nb) -> str:
    """How long the kernel took, from the timestamps JupyterLab records (recordTiming)."""
    spans = []
    for index, cell in enumerate(nb.cells):
        execution = cell.metadata.get("execution", {})
        if "iopub.execute_input" in execution and "shell.execute_reply" in execution:
            start, end = (
                datetime.fromisoformat(execution[key].replace("Z", "+00:00"))
                for key in ("iopub.execute_input", "shell.execute_reply")
            )
            spans.append((start, end, index))
    if not spans:
        return "no timing recorded"
    total = (max(e for _, e, _ in spans) - min(s for s, _, _ in spans)).total_seconds()
    slowest = sorted(spans, key=lambda s: s[0] - s[1])[:3]
    cells = ", ".join(f"cell {i} {(e - s).total_seconds():.0f} s" for s, e, i in slowest)
    return f"kernel busy for {total:.0f} s; slowest: {cells}"


def _problems(nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        intended = RAISES_TAG in cell.metadata.get("tags", [])
        first_line = cell.source.strip().splitlines()[0][:70]
        if cell.execution_count is None:
            problems.append(f"cell {index} never ran (Run All stopped before it): {first_line}")
            continue
        for output in cell.outputs:
            text = _text(output)
            if output.output_type == "error" and not intended:
                problems.append(f"cell {index} raised {output.ename}: {output.evalue[:200]}")
            elif not intended and any(marker in text for marker in NOT_FOUND):
                problems.append(f"cell {index} ({first_line}) printed: {text.strip()[:300]}")
        if cell.source.lstrip().startswith("!") and not "".join(map(_text, cell.outputs)).strip():
            problems.append(f"cell {index} ({first_line}) printed nothing")
    return problems


@pytest.mark.parametrize("name", CHAPTERS)
def test_run_all_cells_in_jupyterlab_has_no_unintended_error(lab, name, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=lab.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            _run_all_and_save(page, lab, name, tmp_path)
        finally:
            browser.close()
    nb = nbformat.read(lab.folder / name, as_version=4)
    print(_timing(nb))
    problems = _problems(nb)
    assert not problems, f"{name} in JupyterLab (screenshot: {tmp_path}):\n" + "\n".join(problems)
    shell = [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith("!")]
    assert shell, f"{name} has no `!` command left to check"
    for cell in shell:
        if "course_utils.training --help" in cell.source:
            assert "usage:" in "".join(map(_text, cell.outputs))
    # This run is the chapter's nbval run too (tests/conftest.py leaves nbval's own out of a
    # session that has this test): its checked cells hold what nbval would compare.
    committed = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    differ = checked_outputs_that_differ(nb, committed)
    assert not differ, f"{name}: checked outputs differ from the committed ones:\n" + "\n".join(
        differ
    )
