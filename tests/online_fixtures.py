"""pytest fixtures for online checks against a local Hub mirror (olah): see tests/hub_mirror.py.

A test module opts in with ``pytest_plugins = ["online_fixtures"]``, or tests/conftest.py makes
them available everywhere with ``from online_fixtures import *  # noqa: F403``.

- ``hub_mirror_repos`` (session): the course's repositories built once as git repos under a
  temporary mirror root: ``.root``, ``.shas`` (repo id -> commit SHA), ``.models``.
- ``hub_mirror`` (session): a running olah server on 127.0.0.1 serving them, with the HubCompat
  adaptations; ``.endpoint`` is its URL. Skips the test when olah is not installed.
- ``stock_hub_mirror`` (session): the same repositories served by stock olah (no adaptations),
  for tests that show what each adaptation fixes.
- ``hub_online_env`` (per test): an environment for child processes, online, pointed at
  ``hub_mirror``, with an empty HF_HOME of the test's own (so every download is real).

Online checks must run in child processes: the test session itself is offline (the root
conftest.py sets HF_HUB_OFFLINE=1, which huggingface_hub reads once, at import). Example::

    pytest_plugins = ["online_fixtures"]
    from hub_mirror import run_online

    def test_download(hub_online_env):
        done = run_online(
            '''
            from huggingface_hub import hf_hub_download
            print(hf_hub_download("distilbert/distilgpt2", "config.json"))
            ''',
            hub_online_env,
            timeout=60,
        )
        assert "config.json" in done.stdout
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import hub_mirror as hm
import pytest

__all__ = ["hub_mirror_repos", "hub_mirror", "stock_hub_mirror", "hub_online_env", "MirrorRepos"]


@dataclass
class MirrorRepos:
    root: Path
    shas: dict[str, str] = field(default_factory=dict)
    models: tuple[str, ...] = field(default_factory=hm.course_models)


def _require_server_tools() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the Hub mirror serves git repositories")
    if hm.olah_python() is None:
        pytest.skip(
            f"olah is not installed: pip install olah=={hm.OLAH_VERSION} "
            "(or set HUB_MIRROR_PYTHON to a Python that has it)"
        )


@pytest.fixture(scope="session")
def hub_mirror_repos(tmp_path_factory) -> MirrorRepos:
    _require_server_tools()
    base = tmp_path_factory.mktemp("hub-mirror-repos")
    root = base / "mirrors"
    shas = hm.build_course_mirror(root, base / "build")
    return MirrorRepos(root=root, shas=shas)


def _serve(repos: MirrorRepos, workdir: Path, compat: bool):
    mirror = hm.HubMirror(repos.root, workdir, compat=compat)
    mirror.start()
    try:
        yield mirror
    finally:
        mirror.stop()


@pytest.fixture(scope="session")
def hub_mirror(hub_mirror_repos, tmp_path_factory):
    yield from _serve(hub_mirror_repos, tmp_path_factory.mktemp("hub-mirror-server"), True)


@pytest.fixture(scope="session")
def stock_hub_mirror(hub_mirror_repos, tmp_path_factory):
    yield from _serve(hub_mirror_repos, tmp_path_factory.mktemp("stock-olah-server"), False)


@pytest.fixture
def hub_online_env(hub_mirror, tmp_path) -> dict[str, str]:
    return hm.online_env(hub_mirror.endpoint, tmp_path / "hf_home")
