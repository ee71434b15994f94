"""Slides and HTML export: slide metadata, offline assets, and a real headless Chromium.

Chromium is driven with the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, JSON messages ending in NUL), so no extra Python package is needed.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from course_utils import slides
from course_utils.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
)


def _title_of(path: Path) -> str:
    """The chapter title as the notebook's author wrote it (first '# ' line)."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    return next(line[2:].strip() for line in first.source.splitlines() if line.startswith("# "))


def _small_deck(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Deck title\n\nintro"),
        nbformat.v4.new_markdown_cell("## Second idea\n\ntext"),
        nbformat.v4.new_code_cell("print('second')"),
        nbformat.v4.new_markdown_cell("### A detail\n\n![logo](https://example.org/logo.png)"),
        nbformat.v4.new_markdown_cell("plain text stays on the same slide"),
    ]
    path = folder / "07_small.ipynb"
    nbformat.write(nb, path)
    return path


# --- slide metadata (no browser) -------------------------------------------------------------


def test_convention_derives_slide_types():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("## Idea"),
        nbformat.v4.new_markdown_cell("### Detail"),
        nbformat.v4.new_markdown_cell("Just text"),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    assert slides.slide_types(nb) == ["-", "slide", "slide", "subslide", "-", "-"]


def test_stored_metadata_wins_and_missing_is_filled():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("## Idea", metadata={"slideshow": {"slide_type": "skip"}}),
    ]
    filled = slides.with_slide_metadata(nb)
    assert [c.metadata.slideshow.slide_type for c in filled.cells] == ["slide", "skip"]
    assert "slideshow" not in nb.cells[0].metadata  # the original is not changed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_title_cell_is_a_slide(path):
    nb = nbformat.read(path, as_version=4)
    types = slides.slide_types(nb)
    title_index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    assert nb.cells[title_index].source.lstrip().startswith("# ")
    assert types[title_index] == "slide"


def test_export_has_no_remote_loads_and_local_reveal(tmp_path):
    deck = _small_deck(tmp_path)
    result = slides.export_notebook(deck, tmp_path / "out", kind="slides")
    text = result.output.read_text()
    assert slides.remote_references(text) == []
    assert 'src="reveal.js/dist/reveal.js"' in text
    assert (tmp_path / "out" / "reveal.js" / "dist" / "reveal.js").is_file()
    theme = (tmp_path / "out" / "reveal.js" / "dist" / "theme" / "white.css").read_text()
    assert "@import url(./fonts/" in theme and "googleapis" not in theme
    # the remote image became a link the reader can follow when online
    assert 'href="https://example.org/logo.png"' in text and "online only" in text
    assert result.slides == 3


def test_remove_remote_resources_turns_images_into_links():
    page = (
        '<script src="https://cdn.example/x.js"></script><img alt="fig" src="//cdn.example/a.png">'
        '<img src="data:image/png;base64,AAAA">'
    )
    cleaned = slides.remove_remote_resources(page)
    assert slides.remote_references(cleaned) == []
    assert "data:image/png" in cleaned and '<a href="//cdn.example/a.png">[fig' in cleaned
    video = slides.remove_remote_resources('<video controls src="https://cdn.example/v.mp4">')
    assert slides.remote_references(video) == [] and 'href="https://cdn.example/v.mp4"' in video


def test_prose_that_mentions_a_css_url_is_not_a_load():
    prose = "<p>write url(https://example.org/font.woff) in CSS</p><style>p{}</style>"
    assert slides.remote_references(prose) == []
    assert slides.remote_references("<style>@import url(https://x.org/a.css);</style>") != []


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_slides_and_html_write_files(tmp_path, capsys):
    deck = _small_deck(tmp_path)
    assert main(["slides", str(deck), "--output", str(tmp_path / "s")]) == 0
    assert main(["html", str(deck), "--output", str(tmp_path / "h")]) == 0
    assert (tmp_path / "s" / "07_small.slides.html").is_file()
    assert (tmp_path / "h" / "07_small.html").is_file()
    assert not (tmp_path / "h" / "reveal.js").exists()
    assert "3 slides" in capsys.readouterr().out


def test_cli_execute_shows_outputs(tmp_path):
    deck = _small_deck(tmp_path)
    printed = re.compile(r'data-mime-type="text/plain"[^>]*>\s*<pre>second')
    plain = slides.export_notebook(deck, tmp_path / "plain", kind="html").output.read_text()
    assert not printed.search(plain)  # exported as committed: no outputs
    assert main(["html", str(deck), "--execute", "--output", str(tmp_path / "h")]) == 0
    assert printed.search((tmp_path / "h" / "07_small.html").read_text())


@pytest.mark.parametrize(
    "args, reason",
    [
        (["slides", "9"], "unknown chapter '9'"),
        (["html", "nope"], "unknown chapter 'nope'"),
        (["slides", "missing.ipynb"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line(args, reason, tmp_path, capsys):
    assert main([*args, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"course {args[0]}:") and reason in err[0]


def test_missing_reveal_package_is_one_clear_line(monkeypatch, tmp_path, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sphinx_revealjs" else real_find_spec(name, *a),
    )
    assert main(["slides", str(_small_deck(tmp_path)), "--output", str(tmp_path / "s")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "course-utils[slides]" in line and "slides` extra" in line


def test_cli_output_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["slides", "0", "--output", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["slides", "html"])
def test_cli_help(kind, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([kind, "--help"])
    assert exit_info.value.code == 0
    assert "--output" in capsys.readouterr().out


# --- headless Chromium -------------------------------------------------------------------------


def _find_chromium() -> str | None:
    for candidate in (
        os.environ.get("COURSE_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class Browser:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe."""

    def __init__(self, executable: str, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        import fcntl  # POSIX only: the browser fixture skips elsewhere

        def child_fds():
            # Chromium reads commands on fd 3 and writes replies on fd 4. Move both ends above
            # fd 10 first so that neither is overwritten by the other's dup2.
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=child_fds,
            close_fds=False,  # the other descriptors are non-inheritable anyway (PEP 446)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise ConnectionError("Chromium closed the pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, timeout: float = 20, **kw) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        session = kw.get("session", self.session)
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"never true: {expression}")

    def open(self, url: str) -> list[str]:
        """Open ``url`` in a fresh tab; return every URL the page requested."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=None)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=None,
        )
        self.session = attached["sessionId"]
        self.events.clear()
        for domain in ("Network", "Page", "Runtime"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        return self.requests()

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def key(self, key: str, code: int):
        for kind in ("rawKeyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code},
            )

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.send("Browser.close", session=None, timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if os.name != "posix":
        pytest.skip("the Chromium driver passes pipes as file descriptors 3 and 4 (POSIX only)")
    executable = _find_chromium()
    if executable is None:
        pytest.skip(
            "Chromium not found: install Debian's chromium (`apt-get install -y chromium`, as "
            ".ci/run does) or set COURSE_CHROMIUM=/path/to/chromium to run the browser checks"
        )
    instance = Browser(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        instance.send("Browser.getVersion", session=None, timeout=30)
    except (TimeoutError, ConnectionError) as err:
        instance.proc.kill()
        stderr = instance.proc.stderr.read().decode(errors="replace").strip().splitlines()
        pytest.skip(f"Chromium at {executable} did not start ({err}): {' '.join(stderr[-2:])}")
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    for path in NOTEBOOKS:
        slides.export_notebook(path, out / "slides", kind="slides")
        slides.export_notebook(path, out / "html", kind="html")
    return out


def _only_local(requests: list[str]) -> list[str]:
    return [u for u in requests if not u.startswith(("file://", "data:"))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_slides_in_chromium(browser, exported, path, tmp_path):
    page = exported / "slides" / f"{path.stem}.slides.html"
    requests = browser.open(page.as_uri())
    browser.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")

    title = _title_of(path)
    shown = browser.evaluate(
        "(() => { const h = document.querySelector('.reveal .slides section.present h1');"
        " if (!h) return null; const r = h.getBoundingClientRect();"
        " return {text: h.textContent, visible: r.width > 0 && r.height > 0 && r.top >= 0 &&"
        " r.bottom <= window.innerHeight}; })()"
    )
    assert shown is not None, "no title (h1) on the first slide"
    assert title in shown["text"] and shown["visible"]
    assert browser.evaluate("JSON.stringify(Reveal.getIndices())") == '{"h":0,"v":0}'

    shot = browser.screenshot(tmp_path / f"{path.stem}.slides.png")
    assert shot.stat().st_size > 5000

    total = browser.evaluate("Reveal.getTotalSlides()")
    if total > 1:
        browser.key("ArrowRight", 39)
        browser.wait_for("Reveal.getIndices().h === 1")
        time.sleep(1)  # let the slide transition finish before the second screenshot
        browser.screenshot(tmp_path / f"{path.stem}.slide2.png")
    assert _only_local(browser.requests() + requests) == []
    assert any(u.endswith("reveal.js/dist/reveal.js") for u in browser.requests())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_html_in_chromium(browser, exported, path, tmp_path):
    page = exported / "html" / f"{path.stem}.html"
    browser.open(page.as_uri())
    title = _title_of(path)
    shown = browser.wait_for(
        "(() => { const h = document.querySelector('h1'); if (!h) return null;"
        " const r = h.getBoundingClientRect();"
        " return r.width > 0 && r.height > 0 ? h.textContent : null; })()"
    )
    assert title in shown
    shot = browser.screenshot(tmp_path / f"{path.stem}.png")
    assert shot.stat().st_size > 5000
    assert _only_local(browser.requests()) == []


def test_chromium_sees_a_remote_request(browser, tmp_path):
    """The request recorder works: a page that loads a remote image is caught."""
    page = tmp_path / "remote.html"
    page.write_text('<html><body><h1>x</h1><img src="https://example.invalid/a.png"></body></html>')
    requests = browser.open(page.as_uri())
    time.sleep(0.3)
    assert "https://example.invalid/a.png" in _only_local(requests + browser.requests())


def test_small_deck_navigation_in_chromium(browser, tmp_path):
    out = tmp_path / "out"
    result = slides.export_notebook(_small_deck(tmp_path), out, kind="slides")
    browser.open(result.output.as_uri())
    browser.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
    assert browser.evaluate("Reveal.getTotalSlides()") == 3
    browser.key("ArrowRight", 39)
    browser.wait_for("Reveal.getIndices().h === 1")
    heading = browser.evaluate("document.querySelector('section.present h2').textContent")
    assert "Second idea" in heading
    browser.key("ArrowDown", 40)
    browser.wait_for("Reveal.getIndices().v === 1")
    detail = browser.evaluate(
        "document.querySelector('section.present section.present').textContent"
    )
    assert "A detail" in detail and "online only" in detail
    time.sleep(1)  # let the slide transition finish before the screenshot
    browser.screenshot(tmp_path / "small.png")
    assert _only_local(browser.requests()) == []
