"""How many threads PyTorch should train with on a CPU that other programs share.

PyTorch starts one thread per core. When another program keeps a core busy, those threads take
turns with it, and every operation waits for its slowest thread: on 2 cores with one other busy
process, a training step with 2 threads took 2.5x as long as with 1 (benchmarks/results.md,
"Threads under load"). So the course trains with one thread per core that is free: measured
from the system's CPU counters (cores busy minus what this process used), before training and
again every few steps while it runs, since the load changes. On a GPU nothing changes.

:func:`follow_free_cores` does it for every optimizer of the process (the Trainer's, a loop's
own, Accelerate's): it registers a hook that PyTorch calls after each ``optimizer.step()``, in
the training's own thread, between two steps.
"""

from __future__ import annotations

import math
import os
import time

# Re-measure every this many optimizer steps (a step takes 0.1-2 s on a laptop CPU).
EVERY_STEPS = 10


def usable_cores() -> int:
    """The cores this process may run on (a container may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class CoreMeter:
    """Cores kept busy by *other* processes since the last reading (no sleeping, no threads)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._last = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        busy = self._psutil.cpu_times()
        mine = self._me.cpu_times()
        busy_total = sum(
            getattr(busy, name, 0.0) for name in ("user", "system", "nice", "irq", "softirq")
        )
        own = mine.user + mine.system + mine.children_user + mine.children_system
        return time.perf_counter(), busy_total, own

    def others(self) -> float | None:
        """Busy cores of other processes since the last call; ``None`` if too little time passed."""
        now = self._snapshot()
        wall = now[0] - self._last[0]
        if wall < 0.05:
            return None
        busy = (now[1] - self._last[1]) - (now[2] - self._last[2])
        self._last = now
        return max(0.0, busy / wall)


def threads_for(others_busy: float, cores: int | None = None) -> int:
    """One thread per core that other processes leave free (at least one)."""
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores, math.floor(cores - others_busy + 0.5)))


def measure_free_threads(seconds: float = 0.25, cores: int | None = None) -> int:
    """Threads to use now: other processes' load measured over ``seconds`` (this process idle)."""
    meter = CoreMeter()
    time.sleep(seconds)
    return threads_for(meter.others() or 0.0, cores)


class ThreadsFollowLoad:
    """Keeps ``torch``'s thread count at the free cores while training runs on the CPU.

    Call :meth:`step` after each optimizer step; every ``every`` steps it re-measures. Prints one
    line when the count changes (``announce``), so a learner sees why a step got faster or slower.
    """

    def __init__(self, every: int = EVERY_STEPS, announce=print, cores: int | None = None):
        import torch

        self._torch = torch
        self.every = every
        self.announce = announce
        self.cores = usable_cores() if cores is None else cores
        self.meter = CoreMeter()
        self.steps = 0
        self.threads = torch.get_num_threads()

    def start(self) -> int:
        """Set the threads from a short measurement before the first step."""
        return self._set(measure_free_threads(cores=self.cores), first=True)

    def step(self) -> int:
        self.steps += 1
        if self.steps % self.every == 0:
            others = self.meter.others()
            if others is not None:
                self._set(threads_for(others, self.cores))
        return self.threads

    def _set(self, threads: int, first: bool = False) -> int:
        if threads != self.threads or first:
            if threads != self.threads and self.announce is not None:
                busy = self.cores - threads
                why = (
                    f"other programs keep {busy} of {self.cores} cores busy"
                    if busy
                    else (f"all {self.cores} cores are free")
                )
                self.announce(f"CPU threads: {threads} ({why})")
            self._torch.set_num_threads(threads)
            self.threads = threads
        return threads


_follow: dict = {}  # the process's one hook and its state, while it is registered


def follow_free_cores(every: int = EVERY_STEPS, announce=print) -> int:
    """From now on, every ``every`` optimizer steps of a model on the CPU, set PyTorch's
    threads to the cores other programs leave free (and say so when the number changes).
    Returns the threads set now. Calling it again changes nothing; :func:`stop_following`
    removes the hook."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    if "handle" in _follow:
        return torch.get_num_threads()
    follow = ThreadsFollowLoad(every=every, announce=announce)

    def after_step(optimizer, args, kwargs) -> None:
        if _on_cpu(optimizer):
            follow.step()

    _follow.update(handle=register_optimizer_step_post_hook(after_step), follow=follow)
    return follow.start()


def stop_following() -> None:
    """Remove :func:`follow_free_cores`'s hook (the threads stay as they are)."""
    handle = _follow.pop("handle", None)
    _follow.pop("follow", None)
    if handle is not None:
        handle.remove()


def _on_cpu(optimizer) -> bool:
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            return parameter.device.type == "cpu"
    return False
