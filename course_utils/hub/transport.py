"""Total deadlines for the Hub requests the course causes: its own, and those huggingface_hub,
transformers and 🤗 Datasets send on its behalf while a course call runs.

huggingface_hub's HTTP client has no total timeout: its limits are per read, and a read that
gets one byte starts the clock again, so a server that trickles a byte a second keeps a request
going for ever. While a course call runs (:func:`installed`), huggingface_hub's client factory is
replaced by one whose transport enforces, for every request:

- until the answer's headers have arrived: at most ``seconds`` (``COURSE_HUB_TIMEOUT``), in all;
- a metadata answer (anything but a file download): complete within ``seconds``, in all;
- a file download (a GET of a Hub file, or of the storage it redirects to): no total limit (a
  multi-GB file may take an hour), but at least :data:`MIN_RATE` bytes per second over each
  :data:`WINDOW_FACTOR` x ``seconds`` spent waiting for data, else it has made no useful progress;
- HTTP 429 (rate-limited) ends the request at once, with the server's ``Retry-After``, instead of
  huggingface_hub's waiting and retrying several times in silence.

The errors raised are httpx2 transport errors that carry what the course tells the learner
(:class:`CourseTransportError`); ``course_utils.hub.client.translate`` turns them into course
errors. A slow metadata answer is a ``ReadTimeout`` too, so the libraries fall back to the HF
cache as they do for any timeout; the others are not retried.

Our own transport because only the network stream sees every read, and httpx2's
``HTTPTransport`` cannot be given a network backend; proxies come from the environment as the
standard library reads them (``urllib.request.getproxies``, ``proxy_bypass``). Files that
huggingface_hub fetches through ``hf_xet`` do not use this client (they have their own limits).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
import urllib.request
from collections.abc import Iterator

import httpcore2
import httpx2

MIN_RATE = 1024  # bytes per second: below it, a download makes no useful progress
WINDOW_FACTOR = 3  # the progress window, in multiples of the per-answer limit (30 s by default)
_LIMITS = {"max_connections": 100, "max_keepalive_connections": 20, "keepalive_expiry": 5.0}


class CourseTransportError(httpx2.TransportError):
    """A request the course's transport ended; ``summary`` says why, in the learner's words."""

    def __init__(self, summary: str, url: str, seconds: float, received: int = 0):
        super().__init__(summary)
        self.summary, self.url, self.seconds, self.received = summary, url, seconds, received


class AnswerTooSlowError(httpx2.ReadTimeout, CourseTransportError):
    """A metadata answer (or an answer's headers) not complete within the limit."""

    def __init__(self, summary: str, url: str, seconds: float, received: int = 0):
        CourseTransportError.__init__(self, summary, url, seconds, received)


class DownloadTooSlowError(CourseTransportError):
    """A file download that made no useful progress; ``rate`` in bytes per second."""

    def __init__(self, summary: str, url: str, seconds: float, received: int, rate: float):
        super().__init__(summary, url, seconds, received)
        self.rate = rate


class RateLimitedError(CourseTransportError):
    """HTTP 429; ``retry_after``: the seconds the server asked to wait (None: it did not say)."""

    def __init__(self, summary: str, url: str, seconds: float, retry_after: int | None):
        super().__init__(summary, url, seconds)
        self.retry_after = retry_after


def format_rate(rate: float) -> str:
    if rate < 1024:
        return f"{rate:.0f} B/s"
    return f"{rate / 1024:.1f} KiB/s" if rate < 1024**2 else f"{rate / 1024**2:.1f} MiB/s"


class Budget:
    """The limits of one request, checked at every read and write of its connection."""

    def __init__(self, url: str, seconds: float, download: bool):
        self.url, self.seconds, self.download = url, seconds, download
        self.start = time.monotonic()
        self.deadline: float | None = self.start + seconds  # None once a download has started
        self.received = 0
        self._window_bytes = 0
        self._window_wait = 0.0

    def headers_arrived(self) -> None:
        if self.download:
            self.deadline = None  # from here on, progress counts, not the total time

    def limit(self, timeout: float | None) -> float | None:
        """The timeout for the next read or write: the caller's, or less if the deadline is
        nearer; raises when the deadline has passed."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.too_slow()
        return left if timeout is None else min(timeout, left)

    def too_slow(self) -> Exception:
        """The error for a deadline that ran out: a plain timeout when nothing at all came
        (a stalled server, as the libraries report it), else what trickled in."""
        if self.received == 0:
            return httpcore2.ReadTimeout("timed out")
        elapsed = time.monotonic() - self.start
        got = f"{self.received:,} bytes"
        if self.download:
            summary = (
                f"the download did not start within {self.seconds:g} s (only {got} of its "
                "headers came)"
            )
            return DownloadTooSlowError(summary, self.url, elapsed, self.received, 0.0)
        rate = format_rate(self.received / max(elapsed, 1e-9))
        summary = f"one answer was not complete after {self.seconds:g} s ({got} came, {rate})"
        return AnswerTooSlowError(summary, self.url, elapsed, self.received)

    def record(self, size: int, waited: float) -> None:
        """Bytes that arrived after ``waited`` seconds of waiting; a download whose rate over
        the last window stayed under MIN_RATE is ended."""
        self.received += size
        if self.deadline is not None:
            return
        self._window_bytes += size
        self._window_wait += waited
        window = WINDOW_FACTOR * self.seconds
        if self._window_wait < window:
            return
        rate = self._window_bytes / self._window_wait
        if rate < MIN_RATE:
            summary = (
                f"the download made no useful progress: {self._window_bytes:,} bytes in "
                f"{self._window_wait:.1f} s ({format_rate(rate)}, under the "
                f"{format_rate(MIN_RATE)} the course waits for)"
            )
            raise DownloadTooSlowError(
                summary, self.url, time.monotonic() - self.start, self.received, rate
            )
        self._window_bytes, self._window_wait = 0, 0.0


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("budget", default=None)


class _Stream(httpcore2.NetworkStream):
    """A connection whose reads and writes obey the budget of the request using it."""

    def __init__(self, stream: httpcore2.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _BUDGET.get()
        if budget is None:
            return self._stream.read(max_bytes, timeout)
        limit = budget.limit(timeout)
        start = time.monotonic()
        try:
            data = self._stream.read(max_bytes, limit)
        except httpcore2.ReadTimeout:
            if limit != timeout and budget.received:  # the deadline ran out, mid-answer
                raise budget.too_slow() from None
            raise
        budget.record(len(data), time.monotonic() - start)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = _BUDGET.get()
        self._stream.write(buffer, timeout if budget is None else budget.limit(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> _Stream:
        budget = _BUDGET.get()
        limit = timeout if budget is None else budget.limit(timeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self):
        self._backend = httpcore2.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        budget = _BUDGET.get()
        limit = timeout if budget is None else budget.limit(timeout)
        return _Stream(self._backend.connect_tcp(host, port, limit, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _as_httpx(err: Exception) -> Exception:
    """httpcore2's exceptions as httpx2's, as httpx2's own transport maps them."""
    if not type(err).__module__.startswith("httpcore2"):
        return err
    mapped = getattr(httpx2, type(err).__name__, None)
    if not (isinstance(mapped, type) and issubclass(mapped, httpx2.TransportError)):
        mapped = httpx2.TransportError
    return mapped(str(err))


@contextlib.contextmanager
def _spending(budget: Budget) -> Iterator[None]:
    """Network reads inside count against ``budget``; httpcore2's errors leave as httpx2's."""
    token = _BUDGET.set(budget)
    try:
        yield
    except Exception as err:
        mapped = _as_httpx(err)
        if mapped is err:
            raise
        raise mapped from err
    finally:
        _BUDGET.reset(token)


class _Body(httpx2.SyncByteStream):
    def __init__(self, stream, budget: Budget):
        self._stream = stream
        self._budget = budget

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            with _spending(self._budget):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        if hasattr(self._stream, "close"):
            self._stream.close()


def _retry_after(response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else None


class DeadlineTransport(httpx2.BaseTransport):
    """An httpx2 transport with the limits described above (``seconds`` per answer)."""

    def __init__(self, seconds: float, hub_host: str):
        self.seconds, self.hub_host = seconds, hub_host
        self._ssl_context = httpx2.create_ssl_context()
        self._pools: dict[str | None, httpcore2.ConnectionPool] = {}
        self._lock = threading.Lock()
        self._backend = _Backend()

    def is_download(self, request: httpx2.Request) -> bool:
        """A GET of a Hub file (``/resolve/``) or of the storage a file redirects to."""
        if request.method != "GET":
            return False
        return "/resolve/" in request.url.path or request.url.host != self.hub_host

    def _pool(self, url: httpx2.URL) -> httpcore2.ConnectionPool:
        proxy = None
        if not urllib.request.proxy_bypass(url.host):
            proxies = urllib.request.getproxies()
            proxy = proxies.get(url.scheme) or proxies.get("all")
            if proxy and "://" not in proxy:
                proxy = f"http://{proxy}"
        with self._lock:
            if proxy not in self._pools:
                self._pools[proxy] = httpcore2.ConnectionPool(
                    ssl_context=self._ssl_context,
                    proxy=self._proxy(proxy) if proxy else None,
                    network_backend=self._backend,
                    **_LIMITS,
                )
            return self._pools[proxy]

    def _proxy(self, proxy: str) -> httpcore2.Proxy:
        url = httpx2.URL(proxy)
        auth = (url.username, url.password) if url.username else None
        bare = url.copy_with(username=None, password=None)
        ssl_context = self._ssl_context if url.scheme == "https" else None
        return httpcore2.Proxy(url=str(bare), auth=auth, ssl_context=ssl_context)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        budget = Budget(str(request.url), self.seconds, self.is_download(request))
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _spending(budget):
            answer = self._pool(request.url).handle_request(core_request)
        budget.headers_arrived()
        response = httpx2.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, budget),
            extensions=answer.extensions,
        )
        if response.status_code == 429:
            response.close()
            wait = _retry_after(response)
            asks = f", and asks to wait {wait} s (Retry-After)" if wait is not None else ""
            raise RateLimitedError(
                f"the server answered HTTP 429 (too many requests){asks}",
                str(request.url),
                time.monotonic() - budget.start,
                wait,
            )
        return response

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


# --- installed while a course call runs -------------------------------------------------------

_lock = threading.Lock()
_depth = 0
_previous = None


def _client_factory(seconds: float, hub_host: str, base_factory):
    def factory() -> httpx2.Client:
        # The default client's hooks (offline check, request ids, the Hub's download counter)
        # and its settings, read from one it builds.
        with base_factory() as base:
            hooks, redirects, headers = base.event_hooks, base.follow_redirects, base.headers
        return httpx2.Client(
            transport=DeadlineTransport(seconds, hub_host),
            event_hooks=hooks,
            follow_redirects=redirects,
            headers=headers,
            timeout=None,
        )

    return factory


@contextlib.contextmanager
def installed(seconds: float, hub_host: str) -> Iterator[None]:
    """huggingface_hub's client, with the limits above, while the block runs (re-entrant: an
    inner block changes nothing). The factory in place before is put back afterwards. A factory
    the learner set themselves (``set_client_factory``) is left as it is: their client, their
    limits."""
    import huggingface_hub
    from huggingface_hub.utils import _http as hf_http

    global _depth, _previous
    with _lock:
        outer = _depth == 0
        current = getattr(hf_http, "_GLOBAL_CLIENT_FACTORY")  # noqa: B009 - no public getter
        ours = outer and current is hf_http.default_client_factory
        if ours:
            _previous = current
            huggingface_hub.set_client_factory(_client_factory(seconds, hub_host, current))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _previous is not None:
                huggingface_hub.set_client_factory(_previous)
                _previous = None
