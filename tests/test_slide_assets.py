"""The files a deck loads: the vendored reveal.js, and copies of it and MathJax that are complete
or redone (course_authoring/assets.py)."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from course_authoring import assets

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "authoring" / "course_authoring" / "vendor"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _expected_mathjax() -> dict[str, int]:
    return assets._listing(assets.mathjax_source(), assets._MATHJAX_FILES, assets._MATHJAX_SKIPPED)


# --- the vendored reveal.js -----------------------------------------------------------------


def test_vendored_files_are_the_ones_the_readme_lists_with_their_checksums():
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, re.M))
    folder = VENDOR / "reveal.js"
    actual = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in _files(folder)
    }
    assert actual == table, "vendor/README.md's table and the vendored files differ"
    version = re.search(r"^# Vendored: reveal\.js (\S+)$", readme, re.M).group(1)
    assert f'"{version}"' in (folder / "dist" / "reveal.js").read_text(encoding="utf-8")
    assert "MIT" in readme and "Permission is hereby granted" in (folder / "LICENSE").read_text()
    font_licence = folder / "dist" / "theme" / "fonts" / "source-sans-pro" / "LICENSE"
    assert "SIL Open Font License" in font_licence.read_text(encoding="utf-8")


def test_every_local_file_the_theme_and_decks_load_is_vendored():
    folder = VENDOR / "reveal.js"
    theme = (folder / "dist" / "theme" / f"{assets.REVEAL_THEME}.css").read_text()
    [font_css] = re.findall(r"@import url\(\./([^)]+)\)", theme)
    fonts = (folder / "dist" / "theme" / font_css).read_text()
    woff = re.findall(r"url\('\./([^']+\.woff)'\)", fonts)
    assert len(woff) == 4
    for name in woff:
        assert (folder / "dist" / "theme" / Path(font_css).parent / name).is_file()
    for script in re.findall(r'src="\{\{ reveal_url_prefix \}\}/([^"]+)"', assets.SLIDES_TEMPLATE):
        assert (folder / script).is_file(), script


@pytest.mark.slow
def test_a_wheel_of_the_authoring_tools_carries_reveal_js(tmp_path):
    """A non-editable install finds the vendored files as an editable one does."""
    source = tmp_path / "authoring"
    shutil.copytree(ROOT / "authoring", source, ignore=shutil.ignore_patterns("*.egg-info"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        + ["-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "wheel").glob("course_authoring-*.whl")
    shutil.unpack_archive(wheel, tmp_path / "unpacked", format="zip")
    packed = tmp_path / "unpacked" / "course_authoring" / "vendor" / "reveal.js"
    assert _files(packed) == _files(VENDOR / "reveal.js")
    assert (tmp_path / "unpacked" / "course_authoring" / "data" / "slides" / "fit.js").is_file()


# --- copies that are complete, or redone ----------------------------------------------------


def test_copy_is_complete_and_not_redone(tmp_path, monkeypatch):
    target = assets.copy_mathjax(tmp_path)
    expected = _expected_mathjax()
    assert _files(target) == set(expected) | {assets.MANIFEST_NAME}
    assert len(expected) > 150
    copies = []
    monkeypatch.setattr(shutil, "copy2", lambda *a, **k: copies.append(a))
    assets.copy_mathjax(tmp_path)
    assert copies == []  # a complete copy is trusted


def test_a_partial_copy_left_by_the_old_exporter_is_redone(tmp_path):
    """The state a killed `course slides` left before: MathJax.js (the old proof that all was
    there) and 83 of the files, no manifest."""
    source, expected = assets.mathjax_source(), sorted(_expected_mathjax())
    target = tmp_path / assets.MATHJAX_DIRNAME
    for name in ["MathJax.js", *expected[:83]]:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)
    assert not assets.is_complete(target, _expected_mathjax())
    assets.copy_mathjax(tmp_path)
    assert assets.is_complete(target, _expected_mathjax())
    assert _files(target) == set(expected) | {assets.MANIFEST_NAME}


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_damaged_copy_is_redone(tmp_path, damage):
    target = assets.copy_mathjax(tmp_path)
    victim = target / "MathJax.js"
    if damage == "deleted":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[:100])
    assets.copy_mathjax(tmp_path)
    assert victim.read_bytes() == (assets.mathjax_source() / "MathJax.js").read_bytes()


_SLOW_COPY = """
import shutil, sys, time
from pathlib import Path
from course_authoring import assets
real = shutil.copy2
def slow(src, dst, **kw):
    time.sleep(0.02)
    return real(src, dst, **kw)
shutil.copy2 = slow
assets.copy_mathjax(Path(sys.argv[1]))
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_an_export_killed_mid_copy_leaves_no_half_folder_and_the_next_one_completes(tmp_path):
    out = tmp_path / "slides"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "authoring")]))
    child = subprocess.Popen([sys.executable, "-c", _SLOW_COPY, str(out)], env=env)
    deadline = time.monotonic() + 60
    copied = 0
    while copied < 40 and time.monotonic() < deadline and child.poll() is None:
        partial = list(out.glob(".mathjax.partial-*"))
        copied = len(_files(partial[0])) if partial else 0
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL and copied >= 40, "killed too late to prove it"
    assert not (out / "mathjax").exists()  # the half copy never took the real name
    assets.copy_mathjax(out)  # the next export
    assert assets.is_complete(out / "mathjax", _expected_mathjax())
    assert sorted(p.name for p in out.iterdir()) == ["mathjax"]  # the leftover is gone


def test_an_outdated_copy_is_replaced(tmp_path):
    target = assets.copy_reveal(tmp_path)
    (target / assets.MANIFEST_NAME).write_text('{"dist/reveal.js": 1}')
    (target / "old-file.js").write_text("from another version")
    assets.copy_reveal(tmp_path)
    assert _files(target) == _files(assets.reveal_source()) | {assets.MANIFEST_NAME}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reveal.js"]
