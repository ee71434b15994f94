"""A real Hub-compatible server for tests: olah serving local git repositories.

``olah`` (PyPI) is a Hugging Face Hub mirror. Given git repositories under its ``mirrors-path``
(``models/ORG/REPO``, ``datasets/ORG/REPO``) and ``[accessibility] offline = true``, it answers
the Hub's HTTP API from them and never contacts huggingface.co. Tests point ``HF_ENDPOINT`` at it,
so ``huggingface_hub``, ``transformers`` and ``datasets`` download for real, over HTTP, unmodified.

Stock olah 0.5.4 answers a few calls unlike the Hub when it serves local mirrors offline. The
server (``hub_mirror_server.py``) therefore runs olah's own FastAPI app behind ``HubCompat``,
a small ASGI middleware in the same process that corrects exactly those answers
(docs/hub-mirror.md lists each one, with its cause in olah's source).
``HubMirror(..., compat=False)`` runs stock olah, which the tests use to show each difference
before it is fixed.

What is here:

- ``add_model_repo`` / ``add_dataset_repo``: a git repository (branch ``main``) under a mirror root;
- ``add_course_models`` and ``add_mrpc_repo`` / ``mrpc_repo_files``: the course's checkpoints (its
  offline stand-ins, under their real Hub ids) and ``nyu-mll/glue`` with the ``mrpc`` config;
- ``HubMirror``: starts and stops the server (a subprocess in its own process group);
- ``online_env`` and ``run_online``: the environment and the runner for child processes that
  use the mirror (the test session itself is offline: see the root conftest.py).

The server process imports only olah and its dependencies, so it can run under another
interpreter (``HUB_MIRROR_PYTHON``) that has olah installed. This module imports only the
standard library at the top, the course's packages inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

OLAH_VERSION = "0.5.4"
REPO_TYPES = ("models", "datasets", "spaces")
DEFAULT_BRANCH = "main"
_READINESS_PATH = "/api/models/hub-mirror/readiness-probe/revision/main"
SERVER_SCRIPT = Path(__file__).resolve().with_name("hub_mirror_server.py")

MRPC_REPO = "nyu-mll/glue"
MRPC_SPLITS = ("train", "validation", "test")
MRPC_LABELS = ("not_equivalent", "equivalent")
STANDIN_MARKER = "standin.json"  # the stand-in's own bookkeeping, not part of a Hub repo

# Fixed author, committer and dates: the same files give the same commit SHAs in every run.
_GIT_IDENTITY = {"user.name": "Hub Mirror Tests", "user.email": "hub-mirror@example.invalid"}
_GIT_DATE = "2024-01-01T00:00:00+00:00"


# ---------------------------------------------------------------------------------------------
# Mirror repositories: plain git, one commit on branch main


def _git_env() -> dict[str, str]:
    """Git isolated from the user's and the system's configuration (hooks, LFS filters...)."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_DATE=_GIT_DATE,
        GIT_COMMITTER_DATE=_GIT_DATE,
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def _git(repo_dir: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo_dir,
        env=_git_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo_dir}:\n{done.stderr}")
    return done.stdout.strip()


def _split_repo_id(repo_id: str) -> tuple[str, str]:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"repo_id must be 'namespace/name', got {repo_id!r}")
    return parts[0], parts[1]


def repo_dir(root: Path | str, repo_type: str, repo_id: str) -> Path:
    """Where olah looks for ``repo_id`` under the mirror root ``root``."""
    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
    org, name = _split_repo_id(repo_id)
    return Path(root) / repo_type / org / name


def _commit_all(target: Path, message: str) -> str:
    _git(target, "init", "--quiet", "--initial-branch", DEFAULT_BRANCH)
    for key, value in _GIT_IDENTITY.items():
        _git(target, "config", key, value)  # local to this repository only
    # Uncompressed objects: a mirror is read locally, and compressing ~90 MB of weights costs
    # seconds for nothing.
    _git(target, "config", "core.compression", "0")
    _git(target, "add", "--all")
    _git(target, "commit", "--quiet", "--no-verify", "-m", message)
    return _git(target, "rev-parse", "HEAD")


def _fresh(target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    return target


def add_model_repo(root: Path | str, repo_id: str, folder: Path | str) -> str:
    """Commit the files of ``folder`` as model repo ``repo_id`` under ``root``; returns the SHA.

    The stand-in marker file is left out: it is not part of the checkpoint.
    """
    target = _fresh(repo_dir(root, "models", repo_id))
    source = Path(folder)
    for path in sorted(source.rglob("*")):
        if path.is_dir() or path.name == STANDIN_MARKER or ".git" in path.parts:
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return _commit_all(target, f"Add {repo_id}")


def add_dataset_repo(
    root: Path | str, repo_id: str, files: Mapping[str, bytes | str | Path]
) -> str:
    """Commit ``files`` (path in repo -> bytes, text or a local file) as dataset ``repo_id``."""
    target = _fresh(repo_dir(root, "datasets", repo_id))
    for rel, content in files.items():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, dest)
        elif isinstance(content, str):
            dest.write_text(content, encoding="utf-8")
        else:
            dest.write_bytes(content)
    return _commit_all(target, f"Add {repo_id}")


def course_models() -> tuple[str, ...]:
    """Checkpoints the chapters download, served under their real Hub ids from the local
    stand-ins (every catalog model that has one)."""
    from course_utils import catalog

    return tuple(e.hub_id for e in catalog.ENTRIES if e.standin is not None and e.chapters)


def add_course_models(root: Path | str, hub_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Mirror repos for the course's checkpoints, from its offline stand-ins; id -> commit SHA."""
    from course_utils.standins import store as standins

    if hub_ids is None:
        hub_ids = course_models()
    return {
        hub_id: add_model_repo(root, hub_id, standins.ensure_standin(hub_id)) for hub_id in hub_ids
    }


def mrpc_fixture_dir() -> Path:
    """The course's shipped MRPC sample (``course_utils/data/mrpc_fixture``)."""
    from importlib import resources

    return Path(str(resources.files("course_utils") / "data" / "mrpc_fixture"))


def mrpc_features():
    from datasets import ClassLabel, Features, Value

    return Features(
        {
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=list(MRPC_LABELS)),
            "idx": Value("int32"),
        }
    )


def _mrpc_readme(counts: Mapping[str, int], sizes: Mapping[str, int]) -> str:
    """A dataset card like the real nyu-mll/glue one, reduced to its mrpc config."""
    splits = "".join(
        f"  - name: {split}\n    num_bytes: {sizes[split]}\n    num_examples: {counts[split]}\n"
        for split in MRPC_SPLITS
    )
    data_files = "".join(f"  - split: {split}\n    path: mrpc/{split}-*\n" for split in MRPC_SPLITS)
    labels = "".join(f"          '{i}': {name}\n" for i, name in enumerate(MRPC_LABELS))
    return (
        "---\n"
        "language:\n- en\n"
        "license: other\n"
        "pretty_name: GLUE (MRPC sample served by the test mirror)\n"
        "dataset_info:\n"
        "- config_name: mrpc\n"
        "  features:\n"
        "  - name: sentence1\n    dtype: string\n"
        "  - name: sentence2\n    dtype: string\n"
        "  - name: label\n    dtype:\n      class_label:\n        names:\n"
        f"{labels}"
        "  - name: idx\n    dtype: int32\n"
        "  splits:\n"
        f"{splits}"
        "configs:\n"
        "- config_name: mrpc\n"
        "  data_files:\n"
        f"{data_files}"
        "---\n\n"
        "# GLUE: MRPC (test sample)\n\n"
        "A small sample in the layout of https://huggingface.co/datasets/nyu-mll/glue, built from\n"
        "the course's offline MRPC fixture for the local Hub mirror used by its tests.\n"
    )


def mrpc_repo_files(workdir: Path | str) -> dict[str, Path | str]:
    """The files of the ``nyu-mll/glue`` mirror: mrpc parquet shards and a README with configs.

    The parquet files are written by ``datasets``, so they carry the features (the ClassLabel
    names) in their schema metadata, as the Hub's do. ``workdir`` receives them.
    """
    from datasets import Dataset

    features = mrpc_features()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path | str] = {}
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for split in MRPC_SPLITS:
        lines = (mrpc_fixture_dir() / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        columns = {name: [row[name] for row in rows] for name in features}
        dataset = Dataset.from_dict(columns, features=features)
        shard = workdir / f"{split}-00000-of-00001.parquet"
        dataset.to_parquet(str(shard))
        files[f"mrpc/{shard.name}"] = shard
        counts[split] = len(dataset)
        sizes[split] = dataset.data.nbytes
    files["README.md"] = _mrpc_readme(counts, sizes)
    return files


def add_mrpc_repo(root: Path | str, workdir: Path | str) -> str:
    """The ``nyu-mll/glue`` dataset repo (mrpc config) under ``root``; returns the commit SHA."""
    return add_dataset_repo(root, MRPC_REPO, mrpc_repo_files(workdir))


def build_course_mirror(
    root: Path | str, workdir: Path | str, models: Iterable[str] | None = None
) -> dict[str, str]:
    """Everything the course downloads: its checkpoints and MRPC. Returns repo id -> SHA."""
    shas = add_course_models(root, models)
    shas[MRPC_REPO] = add_mrpc_repo(root, workdir)
    return shas


# ---------------------------------------------------------------------------------------------
# Environment for child processes


_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
# Anything that would send a token, or move a cache out of the given HF_HOME.
_DROPPED_VARS = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "TRANSFORMERS_CACHE",
)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def online_env(
    endpoint: str, hf_home: Path | str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for a child process that talks to the mirror at ``endpoint``.

    Starts from ``base`` (default: this process's environment), switches the HF libraries
    online, points them at the mirror, gives them their own ``HF_HOME``, removes any token and
    keeps proxies away from the loopback address.
    """
    env = dict(os.environ if base is None else base)
    for name in _OFFLINE_VARS + _DROPPED_VARS:
        env.pop(name, None)
    env["HF_ENDPOINT"] = endpoint
    env["HF_HOME"] = str(hf_home)
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    for name in ("NO_PROXY", "no_proxy"):
        existing = [h for h in env.get(name, "").split(",") if h.strip()]
        env[name] = ",".join(dict.fromkeys([*_LOOPBACK, *existing]))
    return env


def run_online(
    code: str,
    env: Mapping[str, str],
    timeout: float = 60,
    cwd: Path | str | None = None,
    args: Iterable[str] = (),
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python with ``env`` (see :func:`online_env`), bounded in time.

    ``args`` become ``sys.argv[1:]`` in the child. The working directory defaults to the parent
    of the environment's HF_HOME (a temporary folder, so nothing lands in the repository).
    Raises ``AssertionError`` with the child's output if it fails or runs past ``timeout``.
    """
    argv = [sys.executable, "-c", textwrap.dedent(code), *args]
    if cwd is None and env.get("HF_HOME"):
        cwd = Path(env["HF_HOME"]).parent
        cwd.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as err:
        raise AssertionError(
            f"child process ran past {timeout} s\nstdout:\n{err.stdout}\nstderr:\n{err.stderr}"
        ) from None
    if done.returncode != 0:
        raise AssertionError(
            f"child process exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-6000:]}"
        )
    return done


# ---------------------------------------------------------------------------------------------
# The server process


def olah_python() -> str | None:
    """The interpreter that runs the server: ``$HUB_MIRROR_PYTHON``, else this one if it has olah."""
    configured = os.environ.get("HUB_MIRROR_PYTHON")
    if configured:
        return configured
    from importlib.util import find_spec

    return sys.executable if find_spec("olah") is not None else None


def olah_config_toml(port: int, mirrors: Iterable[Path | str], cache: Path | str) -> str:
    """olah's configuration for an offline mirror of local git repositories on 127.0.0.1."""
    mirror_list = ", ".join(json.dumps(str(m)) for m in mirrors)
    return textwrap.dedent(
        f"""\
        [basic]
        host = "127.0.0.1"
        port = {port}
        repos-path = {json.dumps(str(cache))}
        mirrors-path = [{mirror_list}]

        [accessibility]
        offline = true
        """
    )


class HubMirror:
    """An olah server on 127.0.0.1 (an ephemeral port) serving the mirror root ``mirrors``.

    Use it as a context manager, or call ``start()`` and ``stop()``. ``compat=False`` runs stock
    olah without the ``HubCompat`` adaptations (see hub_mirror_server.py). The server's output
    goes to ``log_path``; a failed start raises ``RuntimeError`` with the log.
    """

    def __init__(
        self,
        mirrors: Path | str,
        workdir: Path | str,
        *,
        compat: bool = True,
        startup_timeout: float = 30.0,
        python: str | None = None,
    ) -> None:
        self.mirrors = Path(mirrors)
        self.workdir = Path(workdir)
        self.compat = compat
        self.startup_timeout = startup_timeout
        self.python = python or olah_python()
        self.log_path = self.workdir / "olah.log"
        self.config_path = self.workdir / "olah.toml"
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("the mirror is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def start(self) -> HubMirror:
        if self.running:
            return self
        if self.python is None:
            raise RuntimeError(
                f"olah is not installed: pip install olah=={OLAH_VERSION} "
                "(or set HUB_MIRROR_PYTHON to a Python that has it)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Bind the port here and hand the listening socket to the server: no race for the port,
        # and the endpoint is known before the child starts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            sock.set_inheritable(True)
            self.port = sock.getsockname()[1]
            self.config_path.write_text(
                olah_config_toml(self.port, [self.mirrors], self.workdir / "cache"),
                encoding="utf-8",
            )
            argv = [
                self.python,
                str(SERVER_SCRIPT),
                "serve",
                "--config",
                str(self.config_path),
                "--fd",
                str(sock.fileno()),
                "--parent-pid",
                str(os.getpid()),
            ]
            if not self.compat:
                argv.append("--stock")
            env = {k: v for k, v in os.environ.items() if k != "OLAH_CONFIG"}
            env["PYTHONUNBUFFERED"] = "1"
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,  # anything olah writes to a relative path lands here
                    env=env,
                    pass_fds=(sock.fileno(),),
                    start_new_session=True,  # its own process group, so stop() ends it all
                )
        finally:
            sock.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"the olah server exited with {self._proc.returncode} while starting; "
                    f"its log ({self.log_path}):\n{self.log_text()[-8000:]}"
                )
            try:
                # Any HTTP answer means the server is up. (Not "/": olah 0.5.4's index page fails
                # with the Starlette that its FastAPI pulls in.) Offline, olah answers this
                # unknown repository itself, without any network.
                with opener.open(self.endpoint + _READINESS_PATH, timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError) as err:
                last_error = err
            time.sleep(0.05)
        raise RuntimeError(
            f"the olah server did not answer within {self.startup_timeout} s ({last_error}); "
            f"its log ({self.log_path}):\n{self.log_text()[-8000:]}"
        )

    def stop(self) -> None:
        """End the server's whole process group (olah's git helpers too); bounded in time."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # SIGTERM to the server alone: it shuts down and reaps its git helpers itself.
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # anything left in the group, the server included
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        proc.wait(timeout=5)

    def __enter__(self) -> HubMirror:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
