"""Helpers for tests that execute a notebook somewhere other than nbval (JupyterLab in a
browser): is that client here, and do the executed notebook's checked cells hold what nbval
would compare?"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections import defaultdict

CHECK_TAG = "nbval-check-output"
# What nbval leaves out of a comparison (nbval.plugin.IPyNbFile.skip_compare, without --nbdime).
NBVAL_SKIPS = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}


def chromium() -> str | None:
    found = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium")
    return found or shutil.which("chromium-browser")


def why_no_browser_run() -> str | None:
    """Why tests/test_notebooks_in_browser.py cannot run here, or ``None`` when it can."""
    import tasks

    if os.name != "posix":
        return "the server is stopped with a POSIX process group"
    if chromium() is None:
        return (
            "Chromium not found: install Debian's chromium (`apt-get install -y chromium`, as "
            ".ci/run does) or set COURSE_CHROMIUM=/path/to/chromium"
        )
    if importlib.util.find_spec("playwright") is None:
        return "playwright (the dev extra) is not installed"
    if not tasks._covers(tasks.installed_set(), "notebooks"):
        return (
            "this repository's .venv does not hold the notebooks set, so `python3 tasks.py "
            "notebooks` would install it first: run `python3 tasks.py setup --dev` (or `python3 "
            "tasks.py test`, which does)"
        )
    return None


def nbval_view(outputs) -> dict[str, list]:
    """A cell's outputs as nbval compares them: consecutive writes to one stream as one text
    (nbval's kernel joins them), then every key and MIME type it does not skip, in order."""
    joined: list[dict] = []
    for out in outputs:
        if out.get("output_type") == "stream":
            if joined and joined[-1].get("stream") == out["name"]:
                joined[-1]["text"] += out["text"]
                continue
            joined.append({"stream": out["name"], "text": out["text"]})
        else:
            joined.append(dict(out))
    view: dict[str, list] = defaultdict(list)
    for out in joined:
        if "stream" in out:
            view[out["stream"]].append(out["text"])
            continue
        for key, value in out.items():
            if key in NBVAL_SKIPS:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in NBVAL_SKIPS:
                        view[mime].append(data)
            else:
                view[key].append(value)
    return dict(view)


def checked_outputs_that_differ(executed, committed) -> list[str]:
    """The cells tagged ``nbval-check-output`` whose output differs from the committed one."""
    differ = []
    for index, (run, stored) in enumerate(zip(executed.cells, committed.cells, strict=True)):
        if run.cell_type != "code" or CHECK_TAG not in stored.get("metadata", {}).get("tags", []):
            continue
        if nbval_view(run.outputs) != nbval_view(stored.outputs):
            first = stored.source.strip().splitlines()[0][:70] if stored.source.strip() else ""
            differ.append(
                f"cell {index} ({first}): {nbval_view(run.outputs)} instead of "
                f"{nbval_view(stored.outputs)}"
            )
    return differ
