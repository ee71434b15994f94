"""Shared helpers for the benchmarks: repeated timing, machine description, Markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata


@dataclass
class Timing:
    """Repeated measurements of one configuration."""

    label: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        """Half the range, as a share of the median (noise indicator)."""
        return (max(self.seconds) - min(self.seconds)) / 2 / self.median if self.median else 0.0

    def cell(self) -> str:
        return f"{self.median:.3f} s ± {self.spread * 100:.0f} %"


def time_repeated(
    label: str, func: Callable[[], object], repeats: int = 5, warmup: int = 1
) -> Timing:
    for _ in range(warmup):
        func()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        seconds.append(time.perf_counter() - start)
    return Timing(label, seconds)


def interleaved(
    funcs: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1
) -> dict[str, Timing]:
    """Time several configurations side by side, alternating them so drift hits all equally."""
    for func in funcs.values():
        for _ in range(warmup):
            func()
    results = {label: Timing(label, []) for label in funcs}
    for _ in range(repeats):
        for label, func in funcs.items():
            start = time.perf_counter()
            func()
            results[label].seconds.append(time.perf_counter() - start)
    return results


def machine_description() -> list[tuple[str, str]]:
    import psutil
    import torch

    from course_utils.device import device_name, pick_device

    device = pick_device()
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("torch", "transformers", "datasets", "tokenizers", "accelerate")
    )
    return [
        (
            "machine",
            f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 1024**3:.1f} GiB RAM",
        ),
        ("device", f"{device} ({device_name(device)})"),
        ("python", sys.version.split()[0]),
        ("libraries", versions),
        ("torch threads", str(torch.get_num_threads())),
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
    ]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def run_python(code: str, timeout: int = 600, env: dict | None = None) -> str:
    """Run code in a fresh interpreter (clean memory measurements); return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{result.stderr[-2000:]}")
    return result.stdout
