import dataclasses

import pytest

from course_utils import settings
from course_utils.environment import advice, environment_report, finetune_minutes_on_cpu
from course_utils.hub import client as hub

# Built by concatenation so no token-shaped literal sits in the repository.
FAKE_TOKEN = "hf_" + "FakeTokenForTestsOnly" + "1234567890abcdef"


def test_offline_report_does_not_contact_the_hub(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("the Hub must not be contacted offline")

    monkeypatch.setattr(hub, "probe", fail)
    monkeypatch.setattr(hub, "check_model_exists", fail)
    report = environment_report()
    assert report.offline is True
    assert report.hub_reachable is None
    assert "not checked" in str(report)


def test_report_lists_versions_memory_and_cache():
    report = environment_report()
    text = str(report)
    for name in ("torch", "transformers", "datasets", "RAM", "HF cache", "device"):
        assert name in text
    assert report.ram_total_bytes >= report.ram_available_bytes > 0
    assert report.disk_free_bytes > 0
    assert report._repr_html_().startswith("<table>")


def test_token_is_never_in_the_report(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    report = environment_report()
    assert report.token_present is True
    for rendering in (
        str(report),
        repr(report),
        report._repr_html_(),
        str(dataclasses.asdict(report)),
    ):
        assert FAKE_TOKEN not in rendering
        assert FAKE_TOKEN[3:12] not in rendering
    assert "a token is set" in str(report)


def test_online_login_shows_the_user_not_the_token(monkeypatch):
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    sent = []

    def whoami(request):
        sent.append(request)
        return httpx2.Response(200, json={"name": "learner"})

    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(whoami))
    )
    try:
        present, user = hub.login_status(online=True)
    finally:
        huggingface_hub.set_client_factory(_http.default_client_factory)
    assert (present, user) == (True, "learner")
    assert sent[0].url.path == "/api/whoami-v2"
    assert sent[0].extensions["timeout"]["read"] == settings.hub_timeout()


@pytest.mark.parametrize("cores", [2, 8])
def test_cpu_advice_gives_minutes_that_scale_with_cores(cores):
    low, high = finetune_minutes_on_cpu(cores=2)
    # bert-base on MRPC: 3 epochs x 230 steps, 4.8x MiniLM's parameters, 0.26-0.86 s a step
    assert (low, high) == pytest.approx((690 * 0.26 * 4.82 / 60, 690 * 0.86 * 4.82 / 60), rel=0.01)
    assert finetune_minutes_on_cpu(cores=cores) == pytest.approx(
        (low * 2 / cores, high * 2 / cores)
    )
    report = environment_report()
    report = dataclasses.replace(report, device="cpu", cpu_cores=cores)
    tips = " ".join(advice(report))
    scaled = finetune_minutes_on_cpu(cores=cores)
    assert f"{scaled[0]:.0f}-{scaled[1]:.0f} minutes" in tips


def test_the_step_times_are_the_padding_benchmarks():
    """The doctor's estimate quotes benchmarks/results.md: rerunning the benchmark with other
    figures fails this until the constants follow."""
    import re
    from pathlib import Path

    from course_utils import environment

    results = (Path(__file__).resolve().parents[1] / "benchmarks" / "results.md").read_text()
    measured = tuple(
        float(re.search(rf"^\| {row} \|[^\n]*?\| ([0-9.]+) s ±", results, re.M).group(1))
        for row in ("dynamic padding", "pad to 128")
    )
    assert environment.STEP_SECONDS_MINILM_2_CORES == measured
