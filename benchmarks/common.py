"""Shared helpers for the benchmarks: repeated timing, other load, progress, Markdown tables.

Every comparison is timed side by side: the configurations take turns, in alternating order
(A B C, C B A, A B C ...), so that drift and position effects fall on all of them alike. The
objects alive when a comparison starts (torch, transformers, datasets: some 400,000) are frozen
(``gc.freeze()``), and the garbage collector runs before each timed call: so no call pays for
the garbage of the one before, and a full collection no longer costs 0.1-0.5 s of scanning that
heap inside whichever call it happens to fall on. (That is what made the course's default look
1.5-1.8x slower than the identical "batched, 1 process" in earlier runs: it always ran right
after ``num_proc=16``, whose leftovers made a full collection due.)

Each timed call also records how busy the machine's other processes kept its cores (in cores,
from the system's CPU counters minus this process and its children), so a table can say whether
it was measured on a quiet machine.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

# An other-load median above this (in cores) marks a figure as taken on a busy machine.
QUIET_OTHER_LOAD = 0.25


@dataclass
class Timing:
    """Repeated measurements of one configuration."""

    label: str
    seconds: list[float] = field(default_factory=list)
    other_load: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        """Half the range, as a share of the median (noise indicator)."""
        if len(self.seconds) < 2 or not self.median:
            return 0.0
        return (max(self.seconds) - min(self.seconds)) / 2 / self.median

    @property
    def load(self) -> float:
        """Median number of cores other processes kept busy while this was timed."""
        return statistics.median(self.other_load) if self.other_load else 0.0

    def cell(self, digits: int = 3) -> str:
        return f"{self.median:.{digits}f} s ± {self.spread * 100:.0f} % (n={len(self.seconds)})"


class OtherLoad:
    """Cores kept busy by other processes between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self.start()

    def _busy(self) -> float:
        t = self._psutil.cpu_times()
        return (
            t.user
            + t.system
            + getattr(t, "nice", 0.0)
            + getattr(t, "irq", 0.0)
            + getattr(t, "softirq", 0.0)
        )

    def _own(self) -> float:
        t = self._me.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self) -> None:
        self._t0, self._busy0, self._own0 = time.perf_counter(), self._busy(), self._own()

    def stop(self) -> float:
        wall = time.perf_counter() - self._t0
        others = (self._busy() - self._busy0) - (self._own() - self._own0)
        return max(0.0, others / wall) if wall > 0 else 0.0


def interleaved(
    funcs: dict[str, Callable[[], object]],
    repeats: int = 5,
    warmup: int = 1,
    min_repeats: int | None = None,
    target_spread: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Timing]:
    """Time configurations side by side; see the module docstring.

    Runs ``repeats`` rounds, or stops after ``min_repeats`` rounds once every configuration's
    spread (half-range / median) is at most ``target_spread``. ``progress(done, planned)`` is
    called after each round.
    """
    min_repeats = repeats if min_repeats is None else min(min_repeats, repeats)
    for func in funcs.values():
        for _ in range(warmup):
            func()
    results = {label: Timing(label) for label in funcs}
    labels = list(funcs)
    load = OtherLoad()
    gc.collect()
    gc.freeze()
    try:
        _rounds(funcs, labels, results, load, repeats, min_repeats, target_spread, progress)
    finally:
        gc.unfreeze()
    return results


def _rounds(funcs, labels, results, load, repeats, min_repeats, target_spread, progress) -> None:
    for round_index in range(repeats):
        order = labels if round_index % 2 == 0 else labels[::-1]
        for label in order:
            gc.collect()
            load.start()
            start = time.perf_counter()
            funcs[label]()
            results[label].seconds.append(time.perf_counter() - start)
            results[label].other_load.append(load.stop())
        done = round_index + 1
        if progress is not None:
            progress(done, repeats)
        if done >= min_repeats and all(t.spread <= target_spread for t in results.values()):
            break


def load_note(timings) -> str:
    """One sentence on how quiet the machine was while ``timings`` were taken."""
    loads = [x for t in timings for x in t.other_load]
    if not loads:
        return ""
    median = statistics.median(loads)
    busy = sum(1 for x in loads if x > QUIET_OTHER_LOAD)
    quiet = median <= QUIET_OTHER_LOAD and busy <= 0.2 * len(loads)
    verdict = "quiet" if quiet else "BUSY: treat these figures with care"
    return (
        f"Other processes kept {median:.2f} cores busy (median over the {len(loads)} timed calls; "
        f"more than {QUIET_OTHER_LOAD} cores during {busy} of them): {verdict}."
    )


class Progress:
    """Progress lines on stderr with an estimate of the time left.

    ``plan`` maps each step (benchmark) to its expected seconds. Within a step, ``update(f)``
    says that a share ``f`` of it is done; the estimate then scales the rest of the plan by how
    fast the run has gone so far.
    """

    def __init__(self, plan: dict[str, float], stream=None) -> None:
        self.plan = dict(plan)
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self.done_expected = 0.0  # expected seconds of the finished steps
        self.done_actual = 0.0
        self.current: str | None = None
        self.current_start = 0.0

    def start(self, name: str) -> None:
        self.current, self.current_start = name, time.perf_counter()
        self._print(f"{name}: started (about {self.plan.get(name, 0):.0f} s expected)", 0.0)

    def update(self, fraction: float, note: str = "") -> None:
        if self.current is not None:
            self._print(f"{self.current}: {note}" if note else self.current, fraction)

    def finish(self) -> float:
        seconds = time.perf_counter() - self.current_start
        self.done_expected += self.plan.get(self.current, 0.0)
        self.done_actual += seconds
        self._print(f"{self.current}: done in {seconds:.0f} s", 1.0)
        self.current = None
        return seconds

    def left(self, fraction: float) -> float:
        names = list(self.plan)
        later = names[names.index(self.current) + 1 :] if self.current in names else []
        pace = self.done_actual / self.done_expected if self.done_expected > 0 else 1.0
        here = self.plan.get(self.current, 0.0)
        elapsed = time.perf_counter() - self.current_start
        if 0.05 < fraction < 1.0:
            current_left = elapsed * (1 - fraction) / fraction
        else:
            current_left = max(0.0, here * pace - elapsed) if fraction < 1.0 else 0.0
        return current_left + pace * sum(self.plan[n] for n in later)

    def _print(self, message: str, fraction: float) -> None:
        elapsed = time.perf_counter() - self.started
        left = self.left(fraction)
        print(
            f"[{_mmss(elapsed)} elapsed, ~{_mmss(left)} left] {message}",
            file=self.stream,
            flush=True,
        )


def _mmss(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def step_reporter(progress: Progress | None, start: float = 0.0, end: float = 1.0):
    """A ``(done, planned)`` callback mapping a loop onto ``[start, end]`` of the current step."""

    def report(done: int, planned: int, note: str = "") -> None:
        if progress is not None:
            share = start + (end - start) * done / max(planned, 1)
            progress.update(share, note or f"{done}/{planned}")

    return report


def machine_description() -> list[tuple[str, str]]:
    import psutil
    import torch

    from course_utils.models.device import device_name, pick_device

    device = pick_device()
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("torch", "transformers", "datasets", "tokenizers", "accelerate")
    )
    load1, load5, _ = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    capability = torch.backends.cpu.get_cpu_capability()
    forced = os.environ.get("ATEN_CPU_CAPABILITY")
    return [
        (
            "machine",
            f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 1024**3:.1f} GiB RAM",
        ),
        (
            "torch's CPU kernels",
            capability + (f" (forced: ATEN_CPU_CAPABILITY={forced})" if forced else ""),
        ),
        ("device", f"{device} ({device_name(device)})"),
        ("python", sys.version.split()[0]),
        ("libraries", versions),
        ("torch threads", str(torch.get_num_threads())),
        ("load average at start (1 / 5 min)", f"{load1:.2f} / {load5:.2f}"),
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
    ]


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), so figures from two CPUs can be told apart."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU model unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


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
