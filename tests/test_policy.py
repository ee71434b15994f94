"""The one decision of where weights and data come from (course_utils.hub.policy), and that
models and MRPC follow it alike: online -> the Hub; offline -> the cache, else a stand-in or
the fixture; COURSE_FORCE_STANDINS=1 -> the stand-in or fixture, even when the real one is cached.
"""

from pathlib import Path

import pytest

from course_utils import load_mrpc, resolve_checkpoint
from course_utils.hub import cache, policy
from course_utils.standins import store as standins

GPT2 = "openai-community/gpt2"


@pytest.fixture
def everything_cached(monkeypatch):
    """The HF cache holds every real model and dataset (the oracles say so)."""
    monkeypatch.setattr(cache, "model_is_cached", lambda repo_id: True)
    monkeypatch.setattr(cache, "dataset_is_cached", lambda repo_id, subset=None: True)


@pytest.mark.parametrize(
    ("offline", "forced", "cached", "expected"),
    [
        (False, False, False, ("hub", None)),
        (False, False, True, ("hub", None)),
        (True, False, True, ("cache", "offline")),
        (True, False, False, ("local", "offline")),
        (True, True, True, ("local", "COURSE_FORCE_STANDINS=1")),
        (False, True, True, ("local", "COURSE_FORCE_STANDINS=1")),
    ],
)
@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_the_decision_table(monkeypatch, kind, offline, forced, cached, expected):
    monkeypatch.setattr(policy, "offline_mode", lambda: offline)
    monkeypatch.setenv("COURSE_FORCE_STANDINS", "1" if forced else "0")
    monkeypatch.setattr(cache, "model_is_cached", lambda repo_id: cached)
    monkeypatch.setattr(cache, "dataset_is_cached", lambda repo_id, subset=None: cached)
    source = policy.decide("some/thing", kind, "sub" if kind == "dataset" else None)
    assert (source.origin, source.reason) == expected


def test_forced_and_cached_model_loads_the_stand_in(everything_cached, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FORCE_STANDINS", "1")
    assert Path(resolve_checkpoint("gpt2")) == standins.standin_dir(GPT2)
    assert capsys.readouterr().out.startswith(
        f"COURSE_FORCE_STANDINS=1: using a local stand-in for {GPT2}"
    )


def test_offline_and_cached_model_loads_the_real_one(everything_cached, capsys):
    assert resolve_checkpoint("gpt2") == GPT2
    assert capsys.readouterr().out == ""


def test_forced_and_cached_mrpc_loads_the_fixture(everything_cached, monkeypatch, capsys):
    import datasets

    monkeypatch.setenv("COURSE_FORCE_STANDINS", "1")
    monkeypatch.setattr(datasets, "load_dataset", pytest.fail)  # the cached copy is not read
    splits = load_mrpc()
    assert splits["train"].num_rows == 400
    out = capsys.readouterr().out
    assert "MRPC-shaped fixture" in out and "COURSE_FORCE_STANDINS=1" in out


def test_offline_and_cached_mrpc_loads_the_cache(everything_cached, monkeypatch, capsys):
    import datasets

    asked = []
    fixture = load_mrpc(verbose=False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a: asked.append(a) or fixture)
    load_mrpc()
    assert asked == [("nyu-mll/glue", "mrpc")]
    assert "MRPC from the cache (nyu-mll/glue" in capsys.readouterr().out
