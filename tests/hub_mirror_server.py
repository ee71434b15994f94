"""The Hub mirror's server process: olah's app, behind HubCompat unless ``--stock``.

Started by ``hub_mirror.HubMirror`` as ``python tests/hub_mirror_server.py serve --config
OLAH_TOML --fd FD``, on a listening socket that the test process bound. It imports only olah,
its dependencies and the standard library (plus ``hub_mirror``'s constants), so it can run under
another interpreter that has olah (``HUB_MIRROR_PYTHON``).

``HubCompat`` is a small ASGI middleware around olah's own FastAPI app: it corrects the answers
where stock olah 0.5.4, serving local git mirrors offline, differs from the Hub. Each case is
described, with its cause in olah's source, in docs/hub-mirror.md. It looks only at requests for
repositories that exist under a mirror root; everything else, unknown repositories included,
goes to olah untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

from hub_mirror import DEFAULT_BRANCH, OLAH_VERSION

_API_PATH = re.compile(r"^/api/(models|datasets|spaces)/([^/]+)/([^/]+)(?:/(.*))?$")
_RESOLVE_PATH = re.compile(r"^/(?:(models|datasets|spaces)/)?([^/]+)/([^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _error(status: int, code: str | None, message: str, extra: Mapping[str, str] | None = None):
    """(status, headers, body) of a Hub-style error answer."""
    headers = {"content-type": "application/json", "x-error-message": message}
    if code:
        headers["x-error-code"] = code
    headers.update(extra or {})
    return status, headers, json.dumps({"error": message}).encode()


class _MirrorRepo:
    """A mirrored git repository, read with GitPython (an olah dependency).

    Close it after use (it is a context manager): GitPython keeps ``git cat-file`` helper
    processes running for an open repository.
    """

    def __init__(self, path: Path) -> None:
        import git

        self.git = git.Repo(path)

    def __enter__(self) -> _MirrorRepo:
        return self

    def __exit__(self, *exc_info) -> None:
        self.git.close()

    def default_branch(self) -> str:
        try:
            return self.git.head.reference.name
        except TypeError:  # detached HEAD
            return DEFAULT_BRANCH

    def commit(self, revision: str):
        import gitdb

        try:
            return self.git.commit(revision)
        except (gitdb.exc.BadName, gitdb.exc.BadObject, ValueError):
            return None

    @staticmethod
    def entry(commit, path: str):
        path = path.strip("/")
        if not path:
            return commit.tree
        try:
            return commit.tree / path
        except KeyError:
            return None


class HubCompat:
    """ASGI middleware around olah's app that makes its offline-mirror answers Hub-like.

    1. Repo info without a revision (``GET /api/models/ORG/REPO``): olah answers 401; it is
       served as the info at the default branch, like the Hub.
    2. Tree listing of a path that is not a folder: olah answers 401 RepoNotFound; the Hub
       answers 404 EntryNotFound (``AutoTokenizer`` probes ``additional_chat_templates/``).
    3. A file that is not in the repo: olah answers HEAD with 401 RepoNotFound and GET with 500;
       the Hub answers 404 EntryNotFound with the commit in ``X-Repo-Commit``.
    4. An unknown revision of a mirrored repo: olah answers 401 RepoNotFound; the Hub answers
       404 RevisionNotFound.
    5. ``Range`` requests: olah sends the whole file (200); the Hub sends the range (206).
    6. ``files_metadata=True`` (``?blobs=true``): olah's siblings have no size; sizes and blob
       ids are added from git, like the Hub's.
    7. ``/api/models/ORG/REPO/auth-check`` does not exist in olah (its 404 handler tags every
       unknown route ``RepoNotFound``); for a mirrored (public) repo it answers 200, like the Hub.

    Only requests for repositories that exist under a mirror root are looked at; everything
    else, unknown repositories included, goes to olah untouched.
    """

    def __init__(self, app, mirrors: Iterable[Path | str]) -> None:
        self.app = app
        self.mirrors = [Path(m) for m in mirrors]

    # -- helpers ------------------------------------------------------------------------------

    def _open(self, repo_type: str, org: str, name: str) -> _MirrorRepo | None:
        for root in self.mirrors:
            path = root / repo_type / org / name
            if path.is_dir():
                try:
                    return _MirrorRepo(path)
                except Exception:  # not a git repository: leave it to olah
                    return None
        return None

    @staticmethod
    def _raw_path(scope) -> str:
        """The path with its percent-escapes (a revision may hold '%2F')."""
        raw = scope.get("raw_path") or scope["path"].encode()
        return raw.decode("latin-1")

    async def _send(self, send, method: str, status: int, headers: Mapping[str, str], body: bytes):
        header_list = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        header_list.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": header_list})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    async def _buffered(self, scope, receive):
        """Call olah and collect its whole answer: (status, headers, body)."""
        status, headers, chunks = 500, [], []

        async def capture(message):
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return status, headers, b"".join(chunks)

    @staticmethod
    def _with_path(scope, path: str):
        new = dict(scope)
        new["path"] = unquote(path)
        new["raw_path"] = path.encode("latin-1")
        return new

    # -- dispatch -----------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD", "POST"):
            return await self.app(scope, receive, send)
        path = self._raw_path(scope)
        match = _API_PATH.match(path)
        if match:
            return await self._api(scope, receive, send, path, *match.groups())
        match = _RESOLVE_PATH.match(path)
        if match and scope["method"] in ("GET", "HEAD"):
            return await self._resolve(scope, receive, send, *match.groups())
        return await self.app(scope, receive, send)

    async def _api(self, scope, receive, send, path, repo_type, org, name, rest):
        method = scope["method"]
        repo = self._open(repo_type, unquote(org), unquote(name))
        if repo is None:  # unknown repository: olah's own answer (401 RepoNotFound, as the Hub)
            return await self.app(scope, receive, send)
        parts = (rest or "").split("/")
        action = parts[0]
        answer = None  # (status, headers, body) sent instead of olah's answer
        with repo:
            if action == "auth-check":  # (7)
                answer = (200, {"content-type": "application/json"}, b"{}")
            elif action == "":  # (1) repo info at the default branch
                revision = quote(repo.default_branch(), safe="")
                scope = self._with_path(scope, f"{path.rstrip('/')}/revision/{revision}")
            elif action in ("revision", "tree", "paths-info", "commits") and len(parts) >= 2:
                revision = unquote(parts[1])
                commit = repo.commit(revision)
                if commit is None:  # (4)
                    answer = _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                elif action == "tree":  # (2)
                    inner = unquote("/".join(parts[2:])).strip("/")
                    entry = _MirrorRepo.entry(commit, inner)
                    if entry is None or entry.type != "tree":
                        message = f'{inner} does not exist on "{revision}"'
                        answer = _error(404, "EntryNotFound", message)
        if answer is not None:
            return await self._send(send, method, *answer)
        if action in ("", "revision"):
            return await self._info(scope, receive, send, repo_type, unquote(org), unquote(name))
        return await self.app(scope, receive, send)

    async def _info(self, scope, receive, send, repo_type, org, name):
        """Repo info from olah; with ``?blobs=true`` (files_metadata) sibling sizes are added (6)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        blobs = any(v.lower() in ("1", "true") for v in query.get("blobs", []))
        if not blobs or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        status, headers, body = await self._buffered(scope, receive)
        repo = self._open(repo_type, org, name) if status == 200 else None
        if repo is not None:
            with repo:
                info = json.loads(body)
                commit = repo.commit(info.get("sha", ""))
                for sibling in info.get("siblings", []) if commit is not None else []:
                    entry = _MirrorRepo.entry(commit, sibling.get("rfilename", ""))
                    if entry is not None and entry.type == "blob":
                        sibling["blobId"] = entry.hexsha
                        sibling["size"] = entry.size
            body = json.dumps(info).encode()
        kept = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k != b"content-length"
        }
        return await self._send(send, "GET", status, kept, body)

    async def _resolve(self, scope, receive, send, repo_type, org, name, revision, file_path):
        method = scope["method"]
        repo = self._open(repo_type or "models", unquote(org), unquote(name))
        if repo is None:
            return await self.app(scope, receive, send)
        revision, file_path = unquote(revision), unquote(file_path)
        answer = None
        with repo:
            commit = repo.commit(revision)
            if commit is None:  # (4)
                answer = _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            else:
                entry = _MirrorRepo.entry(commit, file_path)
                if entry is None or entry.type != "blob":  # (3)
                    message = f'{file_path} does not exist on "{revision}"'
                    extra = {"x-repo-commit": commit.hexsha}
                    answer = _error(404, "EntryNotFound", message, extra)
        if answer is not None:
            return await self._send(send, method, *answer)
        requested = dict(scope.get("headers", [])).get(b"range")
        if method == "GET" and requested is not None:  # (5)
            return await self._range(scope, receive, send, requested.decode("latin-1"))
        return await self.app(scope, receive, send)

    async def _range(self, scope, receive, send, requested: str):
        match = _RANGE.match(requested.strip())
        if match is None or match.groups() == ("", ""):
            # Several ranges or another unit: the full file, which HTTP allows.
            return await self.app(scope, receive, send)
        status, headers, body = await self._buffered(scope, receive)
        kept = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in headers
            if k not in (b"content-length", b"transfer-encoding", b"content-range")
        }
        if status != 200:
            return await self._send(send, "GET", status, kept, body)
        size = len(body)
        first, last = match.groups()
        if first == "":  # the last N bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start >= size or end < start:
            kept["content-range"] = f"bytes */{size}"
            return await self._send(send, "GET", 416, kept, b"")
        kept["content-range"] = f"bytes {start}-{end}/{size}"
        kept["accept-ranges"] = "bytes"
        return await self._send(send, "GET", 206, kept, body[start : end + 1])


def _serve(argv: list[str]) -> None:
    """Server process: olah's app on the inherited socket, behind HubCompat unless --stock."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="hub_mirror_server.py serve")
    parser.add_argument("--config", required=True)
    parser.add_argument("--fd", type=int, required=True, help="a listening socket to serve on")
    parser.add_argument("--stock", action="store_true", help="stock olah, no HubCompat")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)

    if args.parent_pid:
        import threading

        def orphan_watch() -> None:
            # A test run killed without cleanup must not leave its server behind.
            while os.getppid() == args.parent_pid:
                time.sleep(0.5)
            os.killpg(0, signal.SIGKILL)  # this process group: the server and git helpers

        threading.Thread(target=orphan_watch, daemon=True).start()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import uvicorn
    from olah import server as olah_server
    from olah.configs import OlahConfig

    config = OlahConfig(args.config)
    # What olah's own CLI (olah.server.init) sets up, minus its argument parsing and its logger,
    # which replaces sys.stdout/stderr and writes ./logs: here logging goes to stderr, captured.
    olah_server.app.state.logger = logging.getLogger("olah")
    olah_server.app.state.app_settings = olah_server.AppSettings(config=config)
    app = olah_server.app if args.stock else HubCompat(olah_server.app, config.mirrors_path)
    sock = socket.socket(fileno=args.fd)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=True))
    print(
        f"hub mirror: olah {OLAH_VERSION} on http://127.0.0.1:{sock.getsockname()[1]} "
        f"({'stock' if args.stock else 'with HubCompat'})",
        flush=True,
    )
    # uvicorn shuts down on SIGTERM, then re-raises it with the handler found at start: this one,
    # which reaps the git helpers before the process ends.
    signal.signal(signal.SIGTERM, lambda *_: (_reap_children(), os._exit(0)))
    server.run(sockets=[sock])
    _reap_children()


def _reap_children() -> None:
    """End and reap the server's child processes (GitPython's ``git cat-file`` helpers).

    Left to themselves they would outlive the server as orphans, and linger as zombies in its
    process group until the system reaps them. Collecting olah's unreachable ``git.Repo``
    objects closes their helpers; any that remain are killed and waited for here.
    """
    import gc

    gc.collect()
    try:
        import psutil  # installed with olah (fastapi-utils needs it)
    except ImportError:
        return
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=2)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        _serve(sys.argv[2:])
    else:
        sys.exit(
            "usage: python tests/hub_mirror_server.py serve --config OLAH_TOML --fd FD [--stock]"
        )
