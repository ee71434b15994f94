"""Slides and HTML export: slide metadata, offline assets, and a real headless Chromium.

Chromium is driven with the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, JSON messages ending in NUL), so no extra Python package is needed.
In the browser, every slide of every chapter (and of the zh-CN edition, where it exists) is
measured on a 1280x720 screen; small decks made here prove that the checks can fail.
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
from course_authoring import assets as slide_assets
from course_authoring import slides

from course_utils.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# One deck of the zh-CN edition gets the same checks as the English decks: the one with the most
# Chinese text (its slides are the English ones translated, plus a Chinese section). All five
# would cost some 14 s more of the suite's 4-minute budget: COURSE_ALL_ZH_DECKS=1 checks them all
# (do it after editing a zh-CN notebook).
_ZH = sorted((ROOT / "notebooks" / "zh-CN").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS_ZH = (
    _ZH
    if os.environ.get("COURSE_ALL_ZH_DECKS")
    else [p for p in _ZH if p.name == "01_1_pipelines.ipynb"]
)
DECKS = [("en", p) for p in NOTEBOOKS] + [("zh-CN", p) for p in NOTEBOOKS_ZH]
PAGES = [("en", p) for p in NOTEBOOKS]  # a zh-CN page is made the same way: its slides suffice
SCREEN = (1280, 720)
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
    f"--window-size={SCREEN[0]},{SCREEN[1]}",
    "--remote-debugging-pipe",
)


def _deck_id(deck) -> str:
    lang, path = deck
    return f"{lang}/{path.stem}"


def _title_of(path: Path) -> str:
    """The chapter title as the notebook's author wrote it (first '# ' line)."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    return next(line[2:].strip() for line in first.source.splitlines() if line.startswith("# "))


def _notebook(folder: Path, name: str, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = folder / name
    nbformat.write(nb, path)
    return path


def _md(text: str, slide_type: str | None = None, notes: str | None = None):
    metadata = {"slideshow": {"slide_type": slide_type}} if slide_type else {}
    if notes:  # speaker notes live in the cell's metadata, as in the chapters
        metadata["course"] = {"speaker_notes": notes}
    return nbformat.v4.new_markdown_cell(text, metadata=metadata)


def _code(text: str, slide_type: str | None = None, tags=()):
    metadata = {"slideshow": {"slide_type": slide_type}} if slide_type else {}
    if tags:
        metadata["tags"] = list(tags)
    return nbformat.v4.new_code_cell(text, metadata=metadata)


def _small_deck(folder: Path) -> Path:
    return _notebook(
        folder,
        "07_small.ipynb",
        [
            _md("# Deck title\n\nintro"),
            _md("## Second idea\n\ntext"),
            _code("print('second')"),
            _code("# NBVAL_CHECK_OUTPUT\nprint('checked')", tags=["nbval-check-output"]),
            _code("print(round(0.1 + 0.2, 9) == 0.3)", slide_type="skip"),
            _md("### A detail\n\n![logo](https://example.org/logo.png)"),
            _md("plain text stays on the same slide", notes="Say the second idea slowly."),
        ],
    )


FORMULA = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V"


def _math_deck(folder: Path) -> Path:
    return _notebook(
        folder,
        "08_math.ipynb",
        [
            _md("# Formulas"),
            _md(f"## Attention\n\nScores $QK^T$, scaled:\n\n$${FORMULA}$$\n\nA price: \\$5."),
        ],
    )


def _long_deck(folder: Path) -> Path:
    """One slide that fits once shrunk, one far too long for any screen."""
    shrinks = "\n".join(f"value_{i} = {i}  # one line of a longer cell" for i in range(36))
    too_long = "\n".join(f"print({i})" for i in range(130))
    return _notebook(
        folder,
        "09_long.ipynb",
        [
            _md("# Long slides"),
            _md("## Shrinks to fit"),
            _code(shrinks),
            _md("## Far too long"),
            _code(too_long),
        ],
    )


CHINESE_TITLE = "第一章：管道能做什么"


def _chinese_deck(folder: Path) -> Path:
    return _notebook(
        folder,
        "07_zh.ipynb",
        [
            _md(f"# {CHINESE_TITLE}\n\n自然语言处理（NLP）研究的是理解和生成人类语言。"),
            _md(
                "## 情感分析\n\n管道把一句话分成**积极**或**消极**两类。",
                notes="先问大家：谁用过 PyTorch？",
            ),
            _code('classifier("我一直在等一门这样的课程。")'),
        ],
    )


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


@pytest.mark.parametrize("deck", DECKS, ids=_deck_id)
def test_every_notebook_title_cell_is_a_slide(deck):
    nb = nbformat.read(deck[1], as_version=4)
    types = slides.slide_types(nb)
    title_index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    assert nb.cells[title_index].source.lstrip().startswith("# ")
    assert types[title_index] == "slide"


def test_section_notes_are_shown_from_the_section_slide():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _md("## One"),
        _md("### One, detail"),
        _md("notes for one", slide_type="notes"),
        _md("## Two"),
        _md("notes for two", slide_type="notes"),
        _md("### Two, detail"),
        _md("notes for the detail", slide_type="notes"),
    ]
    moved = slides.with_section_notes_first(slides.with_slide_metadata(nb))
    sources = [c.source for c in moved.cells]
    assert sources == [
        "## One",
        "notes for one",  # a copy: the section's slide had no notes of its own
        "### One, detail",
        "notes for one",
        "## Two",
        "notes for two",  # its own notes: nothing is copied
        "### Two, detail",
        "notes for the detail",
    ]
    assert len({c.id for c in moved.cells}) == len(moved.cells)  # copies get their own ids


def test_export_has_no_remote_loads_and_local_reveal_and_mathjax(tmp_path):
    deck = _small_deck(tmp_path)
    result = slides.export_notebook(deck, tmp_path / "out", kind="slides")
    text = result.output.read_text()
    assert slides.remote_references(text) == []
    assert 'src="reveal.js/dist/reveal.js"' in text
    assert f'src="{slide_assets.MATHJAX_URL}"' in text
    assert (tmp_path / "out" / "reveal.js" / "dist" / "reveal.js").is_file()
    assert (tmp_path / "out" / "mathjax" / "MathJax.js").is_file()
    woff = list((tmp_path / "out" / "mathjax" / "fonts").rglob("*.woff"))
    assert woff, "MathJax's STIX web fonts were not copied"
    theme = (tmp_path / "out" / "reveal.js" / "dist" / "theme" / "white.css").read_text()
    assert "@import url(./fonts/" in theme and "googleapis" not in theme
    # the remote image became a link the reader can follow when online
    assert 'href="https://example.org/logo.png"' in text and "online only" in text
    assert result.slides == 3


def test_export_leaves_test_scaffolding_out_and_keeps_notes(tmp_path):
    deck = _small_deck(tmp_path)
    ids = {c.source: c.id for c in nbformat.read(deck, as_version=4).cells}
    text = slides.export_notebook(deck, tmp_path, kind="slides").output.read_text()
    skipped, shown = ids["print(round(0.1 + 0.2, 9) == 0.3)"], ids["print('second')"]
    assert f'id="cell-id={skipped}"' not in text and f'id="cell-id={shown}"' in text
    assert "NBVAL" not in text
    assert "checked" in text  # the tagged cell itself is shown, without its marker line
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', text, re.S)
    assert notes and "Say the second idea slowly." in notes[0]
    page = slides.export_notebook(deck, tmp_path, kind="html").output.read_text()
    assert "NBVAL" not in page
    assert "Say the second idea slowly." not in page  # the learner's page has no presenter text


def test_notes_kept_in_metadata_become_notes_cells_for_the_slides():
    nb = nbformat.v4.new_notebook()
    nb.cells = [_md("## Idea", notes="Say it slowly."), _code("x = 1"), _md("text")]
    nb.cells[0].id = "idea"
    cells = slides.with_notes_cells(nb).cells
    assert [c.source for c in cells] == ["## Idea", "Say it slowly.", "x = 1", "text"]
    assert cells[1].metadata.slideshow.slide_type == "notes" and cells[1].id == "idea-notes"
    assert len(nb.cells) == 3  # the notebook itself is not changed


def test_escaped_dollars_stay_dollars_and_code_is_untouched():
    nb = nbformat.v4.new_notebook()
    nb.cells = [_md("about \\$1/hour, then \\$16/hour; `a \\$ in code` and $x^2$")]
    [cell] = slides.with_literal_dollars(nb).cells
    assert cell.source.count('<span class="tex2jax_ignore">&#36;</span>') == 2
    assert "`a \\$ in code`" in cell.source and "$x^2$" in cell.source


def test_slides_show_code_with_single_empty_lines():
    nb = nbformat.v4.new_notebook()
    nb.cells = [_code("import os\n\n\ndef f():\n    return 1\n\n    \n\nf()"), _md("a\n\n\nb")]
    code, text = slides.with_compact_code(nb).cells
    assert code.source == "import os\n\ndef f():\n    return 1\n\nf()"
    assert text.source == "a\n\n\nb"  # markdown is left alone


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


# --- editions ----------------------------------------------------------------------------------


def test_zh_cn_edition_is_found_in_its_folder(tmp_path, monkeypatch):
    (tmp_path / "notebooks" / "zh-CN").mkdir(parents=True)
    _chinese_deck(tmp_path / "notebooks" / "zh-CN").rename(
        tmp_path / "notebooks" / "zh-CN" / "01_1_pipelines.ipynb"
    )
    _small_deck(tmp_path / "notebooks").rename(tmp_path / "notebooks" / "01_1_pipelines.ipynb")
    monkeypatch.setattr(slides, "REPO_ROOT", tmp_path)
    [chinese] = slides.chapter_notebooks("1", lang="zh-CN")
    assert chinese.parent.name == "zh-CN"
    assert slides.chapter_notebooks("all") == [tmp_path / "notebooks" / "01_1_pipelines.ipynb"]
    with pytest.raises(slides.SlidesError, match="no notebook for chapter 2"):
        slides.chapter_notebooks("2", lang="zh-CN")


def test_missing_edition_folder_is_one_clear_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(slides, "REPO_ROOT", tmp_path)
    assert main(["slides", "all", "--lang", "zh-CN", "--output", str(tmp_path / "s")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "zh-CN" in line and "does not exist" in line


def test_cli_zh_cn_export_goes_to_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    deck = _chinese_deck(tmp_path)
    assert main(["slides", str(deck), "--lang", "zh-CN"]) == 0
    page = tmp_path / "build" / "slides" / "zh-CN" / "07_zh.slides.html"
    text = page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text and CHINESE_TITLE in text


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_slides_and_html_write_files(tmp_path, capsys):
    deck = _small_deck(tmp_path)
    assert main(["slides", str(deck), "--output", str(tmp_path / "s")]) == 0
    assert main(["html", str(deck), "--output", str(tmp_path / "h")]) == 0
    assert (tmp_path / "s" / "07_small.slides.html").is_file()
    assert (tmp_path / "h" / "07_small.html").is_file()
    assert (tmp_path / "h" / "mathjax" / "MathJax.js").is_file()
    assert not (tmp_path / "h" / "reveal.js").exists()
    assert "3 slides" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_execute_shows_outputs(tmp_path):
    deck = _small_deck(tmp_path)
    printed = re.compile(r'data-mime-type="text/plain"[^>]*>\s*<pre>second')
    plain = slides.export_notebook(deck, tmp_path / "plain", kind="html").output.read_text()
    assert not printed.search(plain)  # exported as committed: no outputs
    assert main(["html", str(deck), "--execute", "--output", str(tmp_path / "h")]) == 0
    assert printed.search((tmp_path / "h" / "07_small.html").read_text())


@pytest.mark.slow
def test_executing_runs_the_kernel_offline_and_leaves_this_process_alone(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Offline?"),
            nbformat.v4.new_code_cell(
                "import os\nprint('kernel sees', os.environ['HF_HUB_OFFLINE'])"
            ),
        ]
    )
    deck = tmp_path / "07_env.ipynb"
    nbformat.write(nb, deck)
    out = slides.export_notebook(deck, tmp_path / "h", kind="html", execute=True).output
    assert "kernel sees 1" in out.read_text()
    assert os.environ["HF_HUB_OFFLINE"] == "0"


@pytest.mark.parametrize(
    "args, reason",
    [
        (["slides", "9"], "unknown chapter '9'"),
        (["html", "nope"], "unknown chapter 'nope'"),
        (["slides", "missing.ipynb"], "not found"),
        (["slides", "1", "--lang", "xx"], "unknown language 'xx': give one of en, zh-CN"),
        (["html", "all", "--lang", "fr"], "unknown language 'fr': give one of en, zh-CN"),
    ],
)
def test_cli_bad_input_is_one_line(args, reason, tmp_path, capsys):
    assert main([*args, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"course {args[0]}:") and reason in err[0]


def test_missing_mathjax_package_is_one_clear_line(monkeypatch, tmp_path, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "jupyter_server_mathjax" else real_find_spec(name, *a),
    )
    assert main(["slides", str(_small_deck(tmp_path)), "--output", str(tmp_path / "s")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "jupyter_server_mathjax not found" in line and "pip install -e ./authoring" in line


def test_missing_vendored_reveal_is_one_clear_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(slide_assets, "VENDOR_DIR", tmp_path / "nothing-here")
    assert main(["slides", str(_small_deck(tmp_path)), "--output", str(tmp_path / "s")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "reveal.js is missing" in line and "python3 tasks.py setup --dev" in line


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
    out = capsys.readouterr().out
    assert "--output" in out and "--lang" in out and "zh-CN" in out


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
        width, height = SCREEN
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        return self.requests()

    def attach(self, target_id: str) -> str:
        """Talk to another tab (e.g. a window the page opened); return the previous session."""
        previous = self.session
        attached = self.send(
            "Target.attachToTarget", {"targetId": target_id, "flatten": True}, session=None
        )
        self.session = attached["sessionId"]
        self.send("Runtime.enable")
        return previous

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
    """Every deck and page exported once: the chapters, the zh-CN edition where it exists, and
    the small decks made here (notebooks in ``made-from/``, slides in ``made/``)."""
    out = tmp_path_factory.mktemp("export")
    for lang, path in DECKS:
        slides.export_notebook(path, out / lang / "slides", kind="slides", lang=lang)
    for lang, path in PAGES:
        slides.export_notebook(path, out / lang / "html", kind="html", lang=lang)
    decks = out / "made-from"
    decks.mkdir()
    for make, lang in (
        (_small_deck, "en"),
        (_math_deck, "en"),
        (_long_deck, "en"),
        (_chinese_deck, "zh-CN"),
    ):
        slides.export_notebook(make(decks), out / "made", kind="slides", lang=lang)
    return out


def _only_local(requests: list[str]) -> list[str]:
    """Requests that leave the machine (``about:blank`` is a frame MathJax makes)."""
    return [u for u in requests if not u.startswith(("file://", "data:", "about:"))]


def _open_deck(browser, page: Path) -> list[str]:
    """Open a deck or page and wait until fonts, images and formulas are laid out and every
    slide is fitted (fit.js marks <html> data-course-ready, or MathJax data-course-math)."""
    requests = browser.open(page.as_uri())
    marker = "data-course-ready" if page.name.endswith(".slides.html") else "data-course-math"
    browser.wait_for(f"document.documentElement.hasAttribute('{marker}')", timeout=60)
    return requests


# Every slide in turn, as shown on the screen: where its box lies, whether any content is cut
# off or scrolls, and the height of each of its cells. Transitions are off, so each slide is
# measured where it stops. MathJax's own layout boxes (struts, screen-reader copies) are not
# content and are left out of the check for cut-off elements.
MEASURE_SLIDES = r"""
(() => {
  const [W, H] = [window.innerWidth, window.innerHeight];
  const notContent = 'aside.notes, .MathJax, .MathJax_Display, .MJX_Assistive_MathML';
  Reveal.configure({transition: 'none', backgroundTransition: 'none'});
  const leaves = [...document.querySelectorAll('.reveal .slides section')]
    .filter(s => !s.querySelector('section'));
  return leaves.map(slide => {
    const at = Reveal.getIndices(slide);
    Reveal.slide(at.h, at.v || 0);
    const box = slide.getBoundingClientRect();
    const problems = [];
    if (box.top < -1 || box.left < -1 || box.bottom > H + 1 || box.right > W + 1)
      problems.push(`spans ${Math.round(box.left)},${Math.round(box.top)} to ` +
        `${Math.round(box.right)},${Math.round(box.bottom)} on a ${W}x${H} screen`);
    if (slide.scrollHeight > slide.clientHeight + 1 || slide.scrollWidth > slide.clientWidth + 1)
      problems.push(`its content (${slide.scrollWidth}x${slide.scrollHeight}) scrolls in ` +
        `${slide.clientWidth}x${slide.clientHeight}`);
    for (const el of slide.querySelectorAll('*')) {
      if (el.closest(notContent)) continue;
      const style = getComputedStyle(el);
      if ((style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) ||
          (style.overflowY !== 'visible' && el.scrollHeight > el.clientHeight + 1)) {
        problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} cuts off ` +
          `or scrolls its content`);
        break;
      }
    }
    const page = document.scrollingElement;
    if (page.scrollWidth > W || page.scrollHeight > H) problems.push('the page scrolls');
    const heading = slide.querySelector('h1, h2, h3');
    return {
      h: at.h, v: at.v || 0, problems,
      heading: heading ? heading.textContent.replace('\u00b6', '').trim() : '',
      scale: slide.getAttribute('data-course-scale'),
      tooLong: slide.getAttribute('data-course-too-long'),
      cells: [...slide.children].filter(c => c.id).map(
        c => [c.id.replace('cell-id=', ''), Math.round(c.getBoundingClientRect().height)]),
    };
  });
})()
"""


def _overflows(rows: list[dict], path: Path) -> list[str]:
    """One line per slide that does not fit, naming its longest cell (notebook index)."""
    cells = nbformat.read(path, as_version=4).cells
    index = {cell.get("id"): number for number, cell in enumerate(cells)}
    found = []
    for row in rows:
        if not row["problems"]:
            continue
        cell_id, height = max(row["cells"], key=lambda c: c[1], default=("?", 0))
        number = index.get(cell_id.removesuffix("-top"))
        first = cells[number].source.splitlines()[0] if number is not None else "?"
        found.append(
            f"slide {row['h']}.{row['v']} {row['heading']!r}: {'; '.join(row['problems'])}; "
            f"longest cell: {number} ({height} px on screen), {first!r}"
        )
    return found


SECTIONS_WITHOUT_NOTES = r"""
[...document.querySelectorAll('.reveal .slides section')]
  .filter(s => !s.querySelector('section'))
  .filter(s => { const h = s.querySelector('h1, h2, h3'); return h && h.tagName === 'H2'; })
  .filter(s => !Reveal.getSlideNotes(s).trim())
  .map(s => s.querySelector('h2').textContent)
"""
SHOWN_TEXT = r"""
[...document.querySelectorAll('.reveal .slides .jp-Cell')]
  .filter(c => !c.closest('aside.notes')).map(c => c.textContent).join('\n')
"""


def _skipped_code(path: Path) -> list[str]:
    """The code of cells marked ``skip`` that no shown cell repeats."""
    nb = slides.with_slide_metadata(nbformat.read(path, as_version=4))
    shown = [c.source for c in nb.cells if c.metadata.slideshow.slide_type != "skip"]
    return [
        c.source.strip()
        for c in nb.cells
        if c.cell_type == "code"
        and c.metadata.slideshow.slide_type == "skip"
        and not any(c.source.strip() in other for other in shown)
    ]


@pytest.mark.parametrize("deck", DECKS, ids=_deck_id)
def test_slides_in_chromium(browser, exported, deck, tmp_path):
    lang, path = deck
    page = exported / lang / "slides" / f"{path.stem}.slides.html"
    requests = _open_deck(browser, page)

    shown = browser.evaluate(
        "(() => { const h = document.querySelector('.reveal .slides section.present h1');"
        " if (!h) return null; const r = h.getBoundingClientRect();"
        " return {text: h.textContent, visible: r.width > 0 && r.height > 0 && r.top >= 0 &&"
        " r.bottom <= window.innerHeight}; })()"
    )
    assert shown is not None, "no title (h1) on the first slide"
    assert _title_of(path) in shown["text"] and shown["visible"]
    assert browser.evaluate("JSON.stringify(Reveal.getIndices())") == '{"h":0,"v":0}'
    assert browser.evaluate("document.documentElement.lang") == lang
    browser.screenshot(tmp_path / f"{path.stem}.slides.png")

    if browser.evaluate("Reveal.getTotalSlides()") > 1:
        browser.key("ArrowRight", 39)
        browser.wait_for("Reveal.getIndices().h === 1")

    assert browser.evaluate(SECTIONS_WITHOUT_NOTES) == [], "sections without speaker notes"
    text = browser.evaluate(SHOWN_TEXT)
    assert "NBVAL" not in text and "nbval" not in text
    assert [code for code in _skipped_code(path) if code in text] == []
    assert _only_local(browser.requests() + requests) == []
    assert any(u.endswith("reveal.js/dist/reveal.js") for u in browser.requests())

    rows = browser.evaluate(MEASURE_SLIDES)
    assert len(rows) == browser.evaluate("Reveal.getTotalSlides()")
    overflowing = _overflows(rows, path)
    assert not overflowing, f"{len(overflowing)} slide(s) do not fit 1280x720:\n" + "\n".join(
        overflowing
    )


# Text outside code, formulas and scripts: a "$" left there is TeX that was not typeset.
RAW_DOLLARS = r"""
(() => {
  const skip = 'pre, code, script, style, .MathJax, .MathJax_Display, .MJX_Assistive_MathML,' +
    ' .MathJax_Preview, .anchor-link, .aria-status';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let count = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest(skip)) count += (node.textContent.match(/\$/g) || []).length;
  }
  return count;
})()
"""
MATH_SHOWN = "document.querySelectorAll('.MathJax, .MathJax_Display').length"
MATH_ERRORS = "document.querySelectorAll('.MathJax_Error, .merror, .noError').length"


def _dollars(path: Path) -> tuple[int, int]:
    """``$`` signs in the notebook's markdown outside code: (all, escaped as ``\\$``)."""
    text = "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
    )
    text = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    return text.count("$"), text.count("\\$")


@pytest.mark.parametrize("deck", PAGES, ids=_deck_id)
def test_html_in_chromium(browser, exported, deck, tmp_path):
    lang, path = deck
    page = exported / lang / "html" / f"{path.stem}.html"
    requests = _open_deck(browser, page)
    shown = browser.wait_for(
        "(() => { const h = document.querySelector('h1'); if (!h) return null;"
        " const r = h.getBoundingClientRect();"
        " return r.width > 0 && r.height > 0 ? h.textContent : null; })()"
    )
    assert _title_of(path) in shown
    browser.screenshot(tmp_path / f"{path.stem}.png")
    assert _only_local(browser.requests() + requests) == []

    dollars, escaped = _dollars(path)
    assert browser.evaluate(RAW_DOLLARS) == escaped, "formulas left as raw TeX"
    assert browser.evaluate(MATH_ERRORS) == 0
    if dollars > escaped:
        assert browser.evaluate(MATH_SHOWN) > 0


def test_formulas_are_typeset_offline(browser, exported, tmp_path):
    requests = _open_deck(browser, exported / "made" / "08_math.slides.html")
    browser.evaluate("Reveal.configure({transition: 'none'}); Reveal.slide(1, 0)")
    slide = "document.querySelector('.reveal .slides section.present')"
    inline = f"{slide}.querySelectorAll('.MathJax:not(.MathJax_Display .MathJax)').length"
    assert browser.evaluate(inline) == 1  # $QK^T$
    assert browser.evaluate(f"{slide}.querySelectorAll('.MathJax_Display').length") == 1
    assert browser.evaluate(RAW_DOLLARS) == 1  # only the escaped price, \$5, shows a "$"
    text = browser.evaluate(f"{slide}.innerText")
    assert "\\frac" not in text and "QK^T" not in text and "$5" in text
    # typeset with the STIX web fonts copied next to the slides, not image fonts or a CDN
    assert browser.evaluate("MathJax.OutputJax['HTML-CSS'].fontInUse") == "STIX-Web"
    fonts = browser.evaluate(
        "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
    )
    assert any("STIX" in family for family in fonts)
    assert _only_local(browser.requests() + requests) == []
    browser.screenshot(tmp_path / "math.png")
    # the count sees TeX that nothing typeset
    browser.evaluate(f"{slide}.insertAdjacentHTML('beforeend', '<p>raw $x^2$</p>')")
    assert browser.evaluate(RAW_DOLLARS) == 3


def test_overflow_check_catches_a_slide_that_is_too_long(browser, exported, tmp_path):
    path = exported / "made-from" / "09_long.ipynb"
    _open_deck(browser, exported / "made" / "09_long.slides.html")
    rows = {row["heading"]: row for row in browser.evaluate(MEASURE_SLIDES)}

    shrunk = rows["Shrinks to fit"]
    assert shrunk["problems"] == [] and 0.6 <= float(shrunk["scale"]) < 1
    too_long = rows["Far too long"]
    assert too_long["problems"] and too_long["scale"] is None
    [report] = _overflows([too_long], path)
    assert "longest cell: 4 " in report and "'print(0)'" in report
    cells = nbformat.read(path, as_version=4).cells
    assert too_long["tooLong"] == cells[4].id  # the slide names the cell to split

    # Without the fit, the slide that now fits would be cut off too.
    browser.evaluate(
        "Reveal.slide(1, 0); Reveal.getCurrentSlide().querySelectorAll('.jp-Cell')"
        ".forEach(c => c.style.zoom = ''); Reveal.layout()"
    )
    unfitted = browser.evaluate(MEASURE_SLIDES)[1]
    assert unfitted["heading"] == "Shrinks to fit" and unfitted["problems"]
    browser.screenshot(tmp_path / "long.png")


# How many different pictures the given characters make in the element's font: characters
# that no installed font has are all drawn as the same empty box.
GLYPHS = r"""
((selector, chars) => {
  const style = getComputedStyle(document.querySelector(selector));
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const pen = canvas.getContext('2d');
  pen.font = `${style.fontSize} ${style.fontFamily}`;
  pen.textBaseline = 'top';
  const pictures = new Set();
  for (const ch of chars) {
    pen.clearRect(0, 0, 64, 64);
    pen.fillText(ch, 2, 2);
    pictures.add(pen.getImageData(0, 0, 64, 64).data.join(','));
  }
  return pictures.size;
})
"""


def test_chinese_text_renders_with_real_glyphs(browser, exported, tmp_path):
    requests = _open_deck(browser, exported / "made" / "07_zh.slides.html")
    assert browser.evaluate("document.documentElement.lang") == "zh-CN"
    title = browser.evaluate("document.querySelector('section.present h1').textContent")
    assert CHINESE_TITLE in title
    heading = "'.reveal section.present h1'"
    # four different characters, four different glyphs; the control: private-use code points,
    # which no font draws, come out as one box
    assert browser.evaluate(f"{GLYPHS}({heading}, '管道能做')") == 4, (
        "Chinese text is drawn as empty boxes: install a CJK font (Debian: fonts-wqy-microhei)"
    )
    assert browser.evaluate(f"{GLYPHS}({heading}, '\\ue000\\ue001\\ue002\\ue003')") == 1
    assert _only_local(browser.requests() + requests) == []
    browser.screenshot(tmp_path / "zh.png")


def test_chromium_sees_a_remote_request(browser, tmp_path):
    """The request recorder works: a page that loads a remote image is caught."""
    page = tmp_path / "remote.html"
    page.write_text('<html><body><h1>x</h1><img src="https://example.invalid/a.png"></body></html>')
    requests = browser.open(page.as_uri())
    time.sleep(0.3)
    assert "https://example.invalid/a.png" in _only_local(requests + browser.requests())


def test_small_deck_navigation_in_chromium(browser, exported, tmp_path):
    _open_deck(browser, exported / "made" / "07_small.slides.html")
    assert browser.evaluate("Reveal.getTotalSlides()") == 3
    browser.key("ArrowRight", 39)
    browser.wait_for("Reveal.getIndices().h === 1")
    heading = browser.evaluate("document.querySelector('section.present h2').textContent")
    assert "Second idea" in heading
    assert "0.1 + 0.2" not in browser.evaluate(SHOWN_TEXT)  # the skipped cell
    browser.key("ArrowDown", 40)
    browser.wait_for("Reveal.getIndices().v === 1")
    detail = browser.evaluate(
        "document.querySelector('section.present section.present').textContent"
    )
    assert "A detail" in detail and "online only" in detail
    time.sleep(1)  # let the slide transition finish before the screenshot
    browser.screenshot(tmp_path / "small.png")
    assert _only_local(browser.requests()) == []


def test_speaker_view_shows_the_notes(browser, exported):
    """`S` opens reveal.js's speaker view, which shows the section's notes from file://."""
    _open_deck(browser, exported / "made" / "07_small.slides.html")
    browser.evaluate("Reveal.slide(1, 0)")
    browser.send("Target.setDiscoverTargets", {"discover": True}, session=None)
    browser.key("s", 83)
    deadline = time.monotonic() + 20
    while True:
        info = browser.wait_event("Target.targetCreated", timeout=deadline - time.monotonic())
        info = info["params"]["targetInfo"]
        if info["type"] == "page" and info.get("openerId"):
            break
    deck_session = browser.attach(info["targetId"])
    try:
        notes = browser.wait_for(
            "(() => { const n = document.querySelector('.speaker-controls-notes .value');"
            " return n && n.textContent.trim(); })()",
            timeout=30,
        )
    finally:
        browser.send("Target.closeTarget", {"targetId": info["targetId"]}, session=None)
        browser.send("Target.setDiscoverTargets", {"discover": False}, session=None)
        browser.session = deck_session
    assert "Say the second idea slowly." in notes
