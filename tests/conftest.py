"""Fixtures shared by the unit tests."""

import pytest
import torch

# Fixtures that mark what a test is: it talks to the local Hub mirror, or it drives Chromium.
ONLINE_FIXTURES = {"hub_mirror", "stock_hub_mirror", "hub_online_env", "hub_mirror_repos"}
BROWSER_FIXTURES = {"browser", "jupyterlab_page"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & ONLINE_FIXTURES:
            item.add_marker(pytest.mark.online)
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


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
