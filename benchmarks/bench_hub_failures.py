"""How long each course entry point takes to fail when the Hub does not answer, or trickles.

Three local endpoints stand in for a broken network (nothing leaves the machine): ``refused`` (a
port nobody listens on: no network, a firewall, a mirror that is down), ``stalled`` (a server
that accepts connections and never answers: a stalled proxy or mirror) and ``trickling`` (a
server that answers one byte per second, so no single read ever times out: a throttling proxy
or captive network). Each entry point runs in
a fresh Python process, online, with ``HF_ENDPOINT`` at the endpoint, an empty Hugging Face
cache and the default ``COURSE_HUB_TIMEOUT`` (10 s), as a learner would meet it. The time is
the process's whole life (start, imports, the wait, the message), one run each: the figure is
dominated by the timeout, not by anything a repeat would average out.

Not part of ``run_all``'s default set (it waits more than it computes, about 3 minutes):

    python -m benchmarks.run_all --only hub
    python -m benchmarks.bench_hub_failures
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Progress, markdown_table

EXPECTED_SECONDS = 200
TRICKLE_INTERVAL_S = 1.0
TARGET_SECONDS = 15.0
ROOT = Path(__file__).resolve().parents[1]

_CATCH = """
import sys
try:
    {call}
except Exception as err:  # the learner sees this message
    print(type(err).__name__ + ": " + str(err), file=sys.stderr)
    sys.exit(1)
"""
ENTRY_POINTS = {
    "`resolve_checkpoint('bert-base-uncased')`": [
        "-c",
        _CATCH.format(
            call="from course_utils import resolve_checkpoint; resolve_checkpoint('bert-base-uncased')"
        ),
    ],
    "`pipeline('sentiment-analysis')`": [
        "-c",
        _CATCH.format(call="from course_utils import pipeline; pipeline('sentiment-analysis')"),
    ],
    "`load_mrpc()`": [
        "-c",
        _CATCH.format(call="from course_utils import load_mrpc; load_mrpc()"),
    ],
    "`course doctor`": ["-m", "course_utils.cli", "doctor"],
    "`course prefetch 1`": ["-m", "course_utils.cli", "prefetch", "1"],
    "`course prefetch 3 --dry-run`": ["-m", "course_utils.cli", "prefetch", "3", "--dry-run"],
    "`course estimate Qwen/Qwen2.5-0.5B`": [
        "-m",
        "course_utils.cli",
        "estimate",
        "Qwen/Qwen2.5-0.5B",
    ],
}
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
_DROPPED = (*_OFFLINE_VARS, "COURSE_HUB_TIMEOUT", "COURSE_FORCE_STANDINS", "HF_TOKEN")


def _trickle(conn: socket.socket, stop: threading.Event, interval: float) -> None:
    """Read the request, then answer a byte every ``interval`` seconds until stopped."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    answer += b"{" + b" " * 99_998 + b"}"
    try:
        conn.recv(65536)
        for i in range(len(answer)):
            if stop.wait(interval):
                return
            conn.sendall(answer[i : i + 1])
    except OSError:
        return  # the client gave up
    finally:
        conn.close()


@contextmanager
def trickling_endpoint(interval: float = TRICKLE_INTERVAL_S) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every request a byte per ``interval`` seconds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()

    def accept() -> None:
        while True:
            try:
                conn = server.accept()[0]
            except OSError:
                return  # the server socket was closed
            threading.Thread(target=_trickle, args=(conn, stop, interval), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


@contextmanager
def dead_endpoints() -> Iterator[dict[str, str]]:
    """``{"refused": url, "stalled": url, "trickling": url}``, all on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed again on exit
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return  # the server socket was closed

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    try:
        with trickling_endpoint() as trickling:
            yield {
                "refused": refused,
                "stalled": f"http://127.0.0.1:{server.getsockname()[1]}",
                "trickling": trickling,
            }
    finally:
        server.close()
        for conn in held:
            conn.close()


def _environment(endpoint: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home / "hf"), COURSE_CACHE=str(home / "course"))
    return env


def _outcome(done: subprocess.CompletedProcess) -> str:
    """What the learner is told, in short: the exit status and the message's first words."""
    text = (done.stderr.strip() or done.stdout.strip()).splitlines()
    if "Traceback" in done.stderr:
        return f"exit {done.returncode}, a traceback"
    says = "names HF_ENDPOINT and HF_HUB_OFFLINE" if _names_ways_out(done) else "no way out named"
    return f"exit {done.returncode}, {says}" if text else f"exit {done.returncode}, silent"


def _names_ways_out(done: subprocess.CompletedProcess) -> bool:
    text = done.stdout + done.stderr
    return "HF_ENDPOINT" in text and "HF_HUB_OFFLINE" in text


def measure(args: list[str], endpoint: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *args],
            env=_environment(endpoint, Path(tmp)),
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return time.perf_counter() - start, _outcome(done)


def run(progress: Progress | None = None) -> str:
    rows = []
    worst: dict[str, tuple[float, str]] = {}
    with dead_endpoints() as endpoints:
        planned = len(endpoints) * len(ENTRY_POINTS)
        for label, args in ENTRY_POINTS.items():
            row = [label]
            for kind, endpoint in endpoints.items():
                seconds, outcome = measure(args, endpoint)
                if seconds > worst.get(kind, (0.0, ""))[0]:
                    worst[kind] = (seconds, label)
                row.append(f"{seconds:.1f} s ({outcome})")
                if progress is not None:
                    done = len(rows) * len(endpoints) + len(row) - 1
                    progress.update(done / planned, f"{label} against the {kind} endpoint")
            rows.append(row)
    slowest = max(seconds for seconds, _ in worst.values())
    verdict = "met" if slowest <= TARGET_SECONDS else "NOT met"
    per_kind = "; ".join(f"{kind}: {s:.1f} s, {label}" for kind, (s, label) in worst.items())
    return (
        "### When the Hub does not answer, or trickles (time until the entry point fails)\n\n"
        + markdown_table(
            [
                "entry point",
                "refused connection",
                "stalled (never answers)",
                f"trickling (a byte every {TRICKLE_INTERVAL_S:g} s)",
            ],
            rows,
        )
        + f"\n\nSlowest per endpoint: {per_kind}. Slowest of all: {slowest:.1f} s (target: at most "
        f"about {TARGET_SECONDS:.0f} s: {verdict}). Each time is a fresh process's whole life, "
        "Python start and imports included, with the default COURSE_HUB_TIMEOUT of 10 s (a total "
        "deadline per answer, so a trickle ends like a stall); one run each."
    )


if __name__ == "__main__":
    print(run())
