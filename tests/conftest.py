"""Fixtures shared by the unit tests."""

import logging
import sys

import pytest
import torch

# Fixtures that mark what a test is: it talks to the local Hub mirror, or it drives Chromium.
ONLINE_FIXTURES = {"hub_mirror", "stock_hub_mirror", "hub_online_env", "hub_mirror_repos"}
BROWSER_FIXTURES = {"browser", "jupyterlab_page"}


# Chapter 3 runs in JupyterLab in tests/test_notebooks_in_browser.py, which compares its checked
# cells as nbval does: when that test is in the session and can run, nbval's own run of the
# chapter is left out, so the notebook (about a minute on 2 cores) runs once, not twice.
RUN_ONCE_IN_THE_BROWSER = {
    "notebooks/03_fine_tuning.ipynb": "tests/test_notebooks_in_browser.py::"
    "test_run_all_cells_in_jupyterlab_has_no_unintended_error[03_fine_tuning.ipynb]",
}


class _CurrentStderr:
    """A stream that writes to whatever ``sys.stderr`` is at the time (pytest swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def pytest_configure(config):
    """The HF libraries' log handlers keep the ``sys.stderr`` of the moment they are made. Made
    inside a test that captures stderr (``capsys``), they write to its closed stream afterwards,
    and whichever test logs next in that process gets "--- Logging error ---" tracebacks in its
    output (which tests/test_train_guards.py, rightly, refuses), depending on which files a
    worker was given. Make them now, writing to the current stderr, as in a learner's process."""
    # datasets and huggingface_hub add their handler when imported, transformers when first asked
    import datasets.utils.logging  # noqa: F401
    import huggingface_hub.utils.logging  # noqa: F401
    from transformers.utils import logging as transformers_logging

    transformers_logging.get_verbosity()
    for name in ("transformers", "datasets", "huggingface_hub"):
        for handler in logging.getLogger(name).handlers:
            if type(handler) is logging.StreamHandler:
                handler.__dict__.pop("flush", None)  # transformers binds flush to that stderr
                handler.setStream(_CurrentStderr())


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & ONLINE_FIXTURES:
            item.add_marker(pytest.mark.online)
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
    _run_in_the_browser_only(config, items)


def _run_in_the_browser_only(config, items) -> None:
    from notebook_runs import why_no_browser_run

    ids = {item.nodeid for item in items}
    notebooks = [nb for nb, browser in RUN_ONCE_IN_THE_BROWSER.items() if browser in ids]
    if not notebooks or why_no_browser_run() is not None:
        return
    left_out = [item for item in items if item.nodeid.split("::")[0] in notebooks]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
        config._course_run_in_browser = notebooks


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for notebook in getattr(config, "_course_run_in_browser", []):
        terminalreporter.write_line(
            f"{notebook}: run once, in JupyterLab (tests/test_notebooks_in_browser.py), which "
            "compared its checked cells as nbval does"
        )


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one thread is faster and steadier."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _forget_confirmed_repositories():
    """The course remembers, per process, which repositories the Hub confirmed; tests mock
    Hubs that answer differently, so each test starts with nothing remembered."""
    from course_utils.hub import client

    client._confirmed.clear()
    yield
    client._confirmed.clear()
