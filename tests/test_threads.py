"""Training threads follow the free cores (course_utils.training.threads)."""

import subprocess
import sys
import time

import pytest
import torch

from course_utils.training import threads


@pytest.mark.parametrize(
    ("others", "cores", "expected"),
    [(0.0, 2, 2), (0.3, 2, 2), (0.8, 2, 1), (1.0, 2, 1), (2.7, 2, 1), (1.0, 8, 7), (0.0, 1, 1)],
)
def test_one_thread_per_free_core(others, cores, expected):
    assert threads.threads_for(others, cores) == expected


class FakeMeter:
    def __init__(self, readings):
        self.readings = list(readings)

    def others(self):
        return self.readings.pop(0)


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_following_the_load_changes_torch_threads_and_says_so(restore_threads):
    said = []
    follow = threads.ThreadsFollowLoad(every=2, announce=said.append, cores=2)
    follow.meter = FakeMeter([1.0, 0.0, None])
    torch.set_num_threads(2)
    follow.threads = 2
    assert [follow.step() for _ in range(6)] == [2, 1, 1, 2, 2, 2]
    assert torch.get_num_threads() == 2
    assert said == [
        "CPU threads: 1 (other programs keep 1 of 2 cores busy)",
        "CPU threads: 2 (all 2 cores are free)",
    ]


def test_the_meter_sees_a_busy_process_and_not_this_one():
    meter = threads.CoreMeter()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.1)
        meter.others()  # from here on the loop runs
        end = time.perf_counter() + 0.6
        while time.perf_counter() < end:  # this process is busy too: not counted
            sum(range(1000))
        others = meter.others()
    finally:
        busy.kill()
        busy.wait()
    assert 0.6 <= others <= threads.usable_cores() + 0.2


def test_following_hooks_every_optimizer_step_on_the_cpu(restore_threads, monkeypatch):
    monkeypatch.setattr(threads, "measure_free_threads", lambda seconds=0.25, cores=None: 2)
    said = []
    torch.set_num_threads(2)
    try:
        assert threads.follow_free_cores(every=3, announce=said.append) == 2
        assert threads.follow_free_cores(every=3) == 2  # a second call adds no second hook
        threads._follow["follow"].meter = FakeMeter([1.0, 0.0])
        weight = torch.nn.Parameter(torch.zeros(2))
        optimizer = torch.optim.SGD([weight], lr=0.1)
        seen = []
        for _ in range(6):
            weight.sum().backward()
            optimizer.step()
            seen.append(torch.get_num_threads())
        assert seen == [2, 2, 1, 1, 1, 2]
        assert said == [
            "CPU threads: 1 (other programs keep 1 of 2 cores busy)",
            "CPU threads: 2 (all 2 cores are free)",
        ]
    finally:
        threads.stop_following()
    optimizer.step()  # no hook any more: nothing is measured
    assert "handle" not in threads._follow
