"""Hubs that misbehave, as small HTTP servers on 127.0.0.1 (nothing leaves the machine).

Each is a context manager that yields its URL (what ``HF_ENDPOINT`` is set to) and stops when
the block ends, or by itself after ``lifetime`` seconds, whichever comes first, so a test that
hangs cannot leave a server behind. Every connection gets ``Connection: close``.

- :func:`trickling_hub`: answers every request one byte at a time (the status line too), a byte
  every ``interval`` seconds, so no single read ever times out;
- :func:`garbage_json_hub`: answers like the Hub in its headers, with a body that is not JSON;
- :func:`captive_portal`: redirects every request to a login page (HTML), as hotel Wi-Fi does;
- :func:`redirect_loop_hub`: every path redirects to itself;
- :func:`wrong_path_hub`: a web server that knows no Hub path (404, plain text), as when
  ``HF_ENDPOINT`` has a wrong path;
- :func:`rate_limited_hub`: HTTP 429 with ``Retry-After`` for every request;
- :class:`ModelRepoHub`: one model repository answered as the Hub does (model_info, tree,
  HEAD/GET of files) whose file downloads can be cut short (``truncate``) or trickle
  (``trickle_files``): enough for ``snapshot_download`` and the course's prefetch plan.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

LIFETIME_S = 120.0
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Reply:
    """One HTTP answer. ``trickle``: seconds between bytes of the whole answer (status line
    included); ``trickle_body``: the same for the body only, ``chunk`` bytes at a time;
    ``send_bytes``: how much of the body to send before closing (a truncated answer)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    trickle: float | None = None
    trickle_body: float | None = None
    chunk: int = 1
    send_bytes: int | None = None


_REASONS = {200: "OK", 302: "Found", 307: "Temporary Redirect", 404: "Not Found", 429: "Too Many"}


class FakeServer:
    """A threaded HTTP/1.1 server whose answers come from ``respond(method, path) -> Reply``."""

    def __init__(self, respond: Callable[[str, str], Reply], lifetime: float = LIFETIME_S):
        self.respond = respond
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def start(self) -> FakeServer:
        threading.Thread(target=self._accept, daemon=True).start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._timer.cancel()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                method, path, _ = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                self.requests.append((method, path))
                self._send(conn, method, self.respond(method, path))
            except OSError:
                return  # the client went away (a timeout on its side)

    def _send(self, conn: socket.socket, method: str, reply: Reply) -> None:
        headers = {"Content-Length": str(len(reply.body)), **reply.headers, "Connection": "close"}
        head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        body = b"" if method == "HEAD" else reply.body[: reply.send_bytes]
        if reply.trickle is not None:
            self._trickle(conn, head.encode() + body, reply.trickle)
            return
        conn.sendall(head.encode())
        if reply.trickle_body is not None:
            self._trickle(conn, body, reply.trickle_body, reply.chunk)
        else:
            conn.sendall(body)

    def _trickle(self, conn: socket.socket, data: bytes, interval: float, chunk: int = 1) -> None:
        for i in range(0, len(data), chunk):
            if self._stop.wait(interval):
                return
            conn.sendall(data[i : i + chunk])


@contextlib.contextmanager
def serving(respond: Callable[[str, str], Reply], lifetime: float = LIFETIME_S):
    server = FakeServer(respond, lifetime).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _hub(respond, lifetime: float) -> Iterator[str]:
    with serving(respond, lifetime) as server:
        yield server.url


def trickling_hub(interval: float = 0.1, lifetime: float = LIFETIME_S):
    """Every answer a byte at a time, ``interval`` seconds apart, forever (in practice: a JSON
    body far longer than any test waits)."""
    body = json.dumps({"id": "x", "padding": "." * 100_000}).encode()
    return _hub(
        lambda method, path: Reply(200, {"Content-Type": "application/json"}, body, interval),
        lifetime,
    )


def _hub_headers(size: int, etag: str = '"abc"') -> dict[str, str]:
    return {"X-Repo-Commit": COMMIT, "ETag": etag, "Content-Length": str(size)}


def garbage_json_hub(lifetime: float = LIFETIME_S):
    """File answers carry the Hub's headers; API answers say JSON and are not."""
    garbage = b"{'id': not json, <html>"

    def respond(method: str, path: str) -> Reply:
        if "/resolve/" in path:
            return Reply(200, _hub_headers(len(garbage)), garbage)
        return Reply(200, {"Content-Type": "application/json"}, garbage)

    return _hub(respond, lifetime)


PORTAL_PAGE = (
    b"<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body>Log in</body></html>"
)


def captive_portal(lifetime: float = LIFETIME_S):
    def respond(method: str, path: str) -> Reply:
        if path.startswith("/portal/login"):
            return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, PORTAL_PAGE)
        return Reply(302, {"Location": "/portal/login?from=hub"})

    return _hub(respond, lifetime)


def redirect_loop_hub(lifetime: float = LIFETIME_S):
    return _hub(lambda method, path: Reply(302, {"Location": path}), lifetime)


def wrong_path_hub(lifetime: float = LIFETIME_S):
    return _hub(
        lambda method, path: Reply(404, {"Content-Type": "text/plain"}, b"404 page not found"),
        lifetime,
    )


def rate_limited_hub(retry_after: int = 30, lifetime: float = LIFETIME_S):
    body = json.dumps({"error": "You have been rate-limited; retry later."}).encode()
    headers = {"Retry-After": str(retry_after), "Content-Type": "application/json"}
    return _hub(lambda method, path: Reply(429, headers, body), lifetime)


class ModelRepoHub:
    """One model repository served as the Hub serves it, from ``files`` (name -> bytes).

    Downloads (GET of a file under ``/resolve/``) of the names in ``truncate`` stop after half
    the bytes; those in ``trickle_files`` send ``chunk`` bytes every ``interval`` seconds; those
    in ``limited`` get HTTP 429 with ``Retry-After: 30``. HEAD answers (the metadata the
    libraries ask first) are always complete and quick.
    """

    def __init__(
        self,
        repo_id: str,
        files: dict[str, bytes],
        truncate: tuple[str, ...] = (),
        trickle_files: tuple[str, ...] = (),
        interval: float = 0.1,
        chunk: int = 1,
        limited: tuple[str, ...] = (),
        lifetime: float = LIFETIME_S,
    ):
        self.repo_id, self.files = repo_id, files
        self.truncate, self.trickle_files, self.limited = truncate, trickle_files, limited
        self.interval, self.chunk = interval, chunk
        self._server = FakeServer(self.respond, lifetime)
        self.url = self._server.url
        self.requests = self._server.requests

    def __enter__(self) -> ModelRepoHub:
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()

    def _etag(self, name: str) -> str:
        return '"' + hashlib.sha256(self.files[name]).hexdigest() + '"'

    def _json(self, data) -> Reply:
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(data).encode())

    def respond(self, method: str, path: str) -> Reply:
        path = path.split("?", 1)[0]
        api = f"/api/models/{self.repo_id}"
        siblings = [{"rfilename": name} for name in self.files]
        if path in (api, f"{api}/revision/main", f"{api}/revision/{COMMIT}"):
            return self._json({"id": self.repo_id, "sha": COMMIT, "siblings": siblings})
        if path.startswith(f"{api}/tree/"):
            return self._json(
                [
                    {"type": "file", "path": name, "size": len(data), "oid": self._etag(name)[1:9]}
                    for name, data in self.files.items()
                ]
            )
        for revision in ("main", COMMIT):
            prefix = f"/{self.repo_id}/resolve/{revision}/"
            if path.startswith(prefix) and path[len(prefix) :] in self.files:
                name = path[len(prefix) :]
                data = self.files[name]
                reply = Reply(200, _hub_headers(len(data), self._etag(name)), data)
                if method == "GET" and name in self.truncate:
                    reply.send_bytes = len(data) // 2
                if method == "GET" and name in self.trickle_files:
                    reply.trickle_body, reply.chunk = self.interval, self.chunk
                if method == "GET" and name in self.limited:
                    return Reply(429, {"Retry-After": "30"}, b'{"error": "rate limited"}')
                return reply
        error = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}
        if not path.startswith((api, f"/{self.repo_id}/")):
            error = {"X-Error-Code": "RepoNotFound"}
        return Reply(404, {**error, "Content-Type": "application/json"}, b'{"error": "not found"}')


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
