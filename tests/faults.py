"""Faults that several test modules inject: a small disk, and a limit that turns a hang into a
failure."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def small_tmpfs(tmp_path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``"64k"``) mounted under ``tmp_path``, unmounted afterwards: a
    real full disk. Skips the test where it cannot be mounted (not root, no mount allowed)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs mount, which needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@contextlib.contextmanager
def fail_after(seconds: int, what: str) -> Iterator[None]:
    """Raise ``TimeoutError`` in the test after ``seconds`` (``what`` says what hung)."""

    def hung(*_args):
        raise TimeoutError(f"still running after {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
