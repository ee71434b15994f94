"""Hubs that misbehave (tests/fake_hubs.py): every course entry point ends quickly, with one
paragraph that says what happened and what to do, never a hang or a library's traceback.

Issue #23, round 3: a Hub that trickles (item 2), answers garbage or a web page (4, 8), an
unusable ``HF_ENDPOINT`` (5, 14), redirect loops and wrong paths (8), rate limits (11),
downloads cut short (12), full disks (13), odd ``HF_HUB_OFFLINE`` values (16), weights that are
unsafe pickles (17).

The test session is offline (conftest.py): in-process tests switch huggingface_hub online and
point it at a fake Hub (``online_at``), with ``COURSE_HUB_TIMEOUT=0.5``; what huggingface_hub
reads only at import (``HF_ENDPOINT``, ``HF_HUB_OFFLINE``) is tested in fresh processes. An
alarm turns a hang into a failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import fake_hubs
import faults
import huggingface_hub
import pytest
from huggingface_hub import constants

import course_utils
from course_utils import prefetch, settings
from course_utils.cli import main
from course_utils.cli import prefetch as prefetch_cli
from course_utils.hub import client as hub
from course_utils.hub import transport

pytest_plugins = ["online_fixtures"]  # the olah mirror, for the one test of a Hub that works

HANG_LIMIT_S = 120
FAST_S = 15.0  # far below the minutes these took before; imports (torch...) take seconds


@pytest.fixture(autouse=True)
def _fail_instead_of_hanging():
    with faults.fail_after(HANG_LIMIT_S, "a Hub call is not bounded"):
        yield


@pytest.fixture
def online_at(monkeypatch, tmp_path):
    """``point(url)``: online, huggingface_hub's Hub at ``url``, an empty HF cache of the
    test's own, and ``COURSE_HUB_TIMEOUT=0.5``."""

    def point(url: str) -> str:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", url)
        template = url + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setenv("COURSE_HUB_TIMEOUT", "0.5")
        monkeypatch.delenv("COURSE_FORCE_STANDINS", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        return url

    return point


def one_paragraph(text: str) -> str:
    """The command's error: exactly one line on stderr, no traceback."""
    assert "Traceback" not in text, text
    [line] = text.strip().splitlines()
    return line


def tiny_model_files() -> dict[str, bytes]:
    """A real (tiny, random) BERT as a Hub repository holds it: config and safetensors."""
    from safetensors.torch import save
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    state = {k: v.contiguous() for k, v in BertModel(config).state_dict().items()}
    return {"config.json": config.to_json_string().encode(), "model.safetensors": save(state)}


def a_model(repo_id: str = "someone/tiny") -> prefetch.PrefetchItem:
    return prefetch.PrefetchItem("model", repo_id, [3], files=["config.json", "model.safetensors"])


# --- item 2: a Hub that trickles -----------------------------------------------------------


def test_resolve_checkpoint_against_a_trickling_hub_ends_within_the_limit(online_at):
    with fake_hubs.trickling_hub(interval=0.05) as url:
        online_at(url)
        start = time.monotonic()
        with pytest.raises(hub.HubTooSlowError) as err:
            course_utils.resolve_checkpoint("some/model")
        seconds = time.monotonic() - start
    text = str(err.value)
    assert seconds < FAST_S, seconds
    assert f"the Hugging Face Hub at {url} answers, but too slowly" in text
    assert re.search(r"not complete after 0\.5 s \([\d,]+ bytes came, \d+ B/s\)", text), text
    assert "COURSE_HUB_TIMEOUT" in text and "HF_ENDPOINT" in text and "HF_HUB_OFFLINE=1" in text


@pytest.mark.slow
def test_prefetch_dry_run_against_a_trickling_hub_ends_with_one_paragraph(online_at, capsys):
    with fake_hubs.trickling_hub(interval=0.05) as url:
        online_at(url)
        start = time.monotonic()
        assert main(["prefetch", "3", "--dry-run"]) == 2
        seconds = time.monotonic() - start
    captured = capsys.readouterr()
    assert seconds < FAST_S, seconds
    assert "catalog" in captured.out  # the plan, with the catalog's sizes
    line = one_paragraph(captured.err)
    assert line.startswith("course prefetch: the sizes above are the catalog's estimates: ")
    assert "answers, but too slowly" in line


@pytest.mark.slow
def test_a_trickling_download_is_ended_with_its_rate_and_what_to_do(online_at):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 50_000}
    with fake_hubs.ModelRepoHub(
        "someone/tiny", files, trickle_files=("model.safetensors",), interval=0.05
    ) as fake:
        online_at(fake.url)
        start = time.monotonic()
        with pytest.raises(hub.DownloadFailedError) as err:
            prefetch.download(a_model())
        seconds = time.monotonic() - start
    text = str(err.value)
    assert seconds < FAST_S, seconds
    assert text.startswith("someone/tiny was not downloaded: the download made no useful progress")
    assert re.search(r"[\d,]+ bytes in \d+\.\d s \(\d+ B/s, under the 1\.0 KiB/s", text), text
    assert "HF_ENDPOINT=" in text and "run it again" in text


@pytest.mark.slow
def test_transformers_downloads_get_the_same_limits_and_the_same_message(online_at):
    """What pipeline() needs at its call site: from_pretrained inside hub.deadlines(), and
    hub.translate() on what it raises (transformers' own OSError, raised from ours)."""
    from transformers import AutoModel

    files = tiny_model_files()
    with fake_hubs.ModelRepoHub(
        "someone/tiny", files, trickle_files=("model.safetensors",), interval=0.05
    ) as fake:
        online_at(fake.url)
        start = time.monotonic()
        with pytest.raises(OSError) as err, hub.deadlines():
            AutoModel.from_pretrained("someone/tiny")
        seconds = time.monotonic() - start
    assert seconds < FAST_S, seconds
    assert "pytorch_model.bin" in str(err.value)  # transformers' misleading hint...
    error = hub.translate(err.value, "someone/tiny", "someone/tiny cannot be loaded")
    assert isinstance(error, hub.DownloadFailedError)  # ...and what it came from
    assert "no useful progress" in str(error) and "pytorch_model.bin" not in str(error)


@pytest.mark.slow
def test_a_slow_but_steady_download_is_not_capped(online_at):
    """A download longer than the per-answer limit, at a rate above the floor, completes: a
    big file on a slow link is not a trickle."""
    from huggingface_hub import hf_hub_download

    data = bytes(range(256)) * 600  # 150 KiB at 2 KiB per 25 ms: about 2 s
    with fake_hubs.ModelRepoHub(
        "someone/tiny",
        {"config.json": b"{}", "model.safetensors": data},
        trickle_files=("model.safetensors",),
        interval=0.025,
        chunk=2048,
    ) as fake:
        online_at(fake.url)
        start = time.monotonic()
        with hub.deadlines():
            path = hf_hub_download("someone/tiny", "model.safetensors")
        seconds = time.monotonic() - start
    assert seconds > transport.WINDOW_FACTOR * 0.5  # longer than a progress window, and...
    assert open(path, "rb").read() == data  # ...complete


def test_the_course_client_is_there_only_during_a_course_call():
    from huggingface_hub.utils import _http, get_session

    assert _http._GLOBAL_CLIENT_FACTORY is _http.default_client_factory
    with hub.deadlines():
        assert isinstance(get_session()._transport, transport.DeadlineTransport)
        with hub.deadlines(1.0):  # nested: the outer limit stays
            assert get_session()._transport.seconds == settings.hub_timeout()
    assert _http._GLOBAL_CLIENT_FACTORY is _http.default_client_factory
    assert not isinstance(get_session()._transport, transport.DeadlineTransport)


def test_a_learners_own_client_factory_is_left_alone():
    import httpx2
    from huggingface_hub.utils import _http, get_session

    def own_factory():
        return httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(204)))

    huggingface_hub.set_client_factory(own_factory)
    try:
        with hub.deadlines():
            assert isinstance(get_session()._transport, httpx2.MockTransport)
        assert _http._GLOBAL_CLIENT_FACTORY is own_factory
    finally:
        huggingface_hub.set_client_factory(_http.default_client_factory)


def test_the_course_transport_honours_the_proxy_settings(online_at, monkeypatch):
    """Learners behind a proxy: HTTP(S)_PROXY and NO_PROXY work inside a course call as they
    do in huggingface_hub's own client (a forward proxy gets the absolute URL)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)

    def forward(method, url):  # what a proxy answers when the Hub behind it answers
        return fake_hubs.Reply(200, {"X-Repo-Commit": fake_hubs.COMMIT, "ETag": '"e"'})

    with fake_hubs.serving(forward) as proxy:
        online_at("http://hub.invalid")
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert hub.probe().reachable
        assert proxy.requests == [
            ("HEAD", "http://hub.invalid/openai-community/gpt2/resolve/main/config.json")
        ]
        monkeypatch.setenv("NO_PROXY", "hub.invalid")
        assert not hub.probe().answered  # sent directly: hub.invalid does not exist
        assert len(proxy.requests) == 1


# --- items 4 and 8: something answers, but not as a Hub does --------------------------------

NOT_HUBS = {
    "garbage JSON": (fake_hubs.garbage_json_hub, "not JSON"),
    "captive portal": (fake_hubs.captive_portal, "web page (HTML)"),
    "redirect loop": (fake_hubs.redirect_loop_hub, "redirects in a loop"),
    "wrong path": (fake_hubs.wrong_path_hub, "HTTP 404"),
}


@pytest.fixture(params=list(NOT_HUBS))
def not_a_hub(request, online_at):
    """(url, what the message must say it answered), online at a server that is not a Hub."""
    server, says = NOT_HUBS[request.param]
    with server() as url:
        if request.param == "wrong path":
            url += "/not-the-hub"  # HF_ENDPOINT with a wrong path
        yield online_at(url), says


def test_resolve_checkpoint_says_the_endpoint_is_not_a_hub_and_does_not_blame_the_model(
    not_a_hub,
):
    url, says = not_a_hub
    with pytest.raises(hub.NotAHubError) as err:
        course_utils.resolve_checkpoint("some/model")
    text = str(err.value)
    assert f"something answers at {url}, but not as a Hugging Face Hub does" in text
    assert says in text and "captive portal" in text and "HF_ENDPOINT" in text
    assert "not found" not in text  # the model is not the problem


def test_prefetch_against_something_that_is_not_a_hub(not_a_hub, capsys):
    url, says = not_a_hub
    assert main(["prefetch", "3", "--dry-run"]) == 2
    line = one_paragraph(capsys.readouterr().err)
    assert "not as a Hugging Face Hub does" in line and says in line
    assert main(["prefetch", "3"]) == 2
    line = one_paragraph(capsys.readouterr().err)
    assert line.startswith("course prefetch: nothing was downloaded: something answers at")


def test_doctor_does_not_call_it_reachable(not_a_hub, capsys):
    url, says = not_a_hub
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    hub_line = next(line for line in out.splitlines() if line.startswith("Hugging Face Hub"))
    assert f"{url} answers, but NOT as a Hub" in hub_line, hub_line
    assert " reachable" not in hub_line
    assert says in out and "captive portal" in out


def test_pipeline_under_a_redirect_loop_is_the_courses_error(online_at, monkeypatch, capsys):
    import transformers

    monkeypatch.setattr(transformers, "pipeline", pytest.fail)  # never reached
    with fake_hubs.redirect_loop_hub() as url:
        online_at(url)
        with pytest.raises(hub.NotAHubError, match="redirects in a loop"):
            course_utils.pipeline("sentiment-analysis")


# --- item 11: a rate-limited Hub ------------------------------------------------------------


def test_a_rate_limited_hub_says_so_and_how_long_to_wait(online_at, monkeypatch, capsys):
    import transformers

    monkeypatch.setattr(transformers, "pipeline", pytest.fail)
    with fake_hubs.rate_limited_hub(retry_after=30) as url:
        online_at(url)
        start = time.monotonic()
        for call in (
            lambda: course_utils.resolve_checkpoint("some/model"),
            lambda: course_utils.pipeline("sentiment-analysis"),
        ):
            with pytest.raises(hub.HubRateLimitedError) as err:
                call()
            assert "is rate-limiting this machine (HTTP 429" in str(err.value)
            assert "wait 30 s" in str(err.value) and "hf auth login" in str(err.value)
        assert main(["prefetch", "3"]) == 2
        access = course_utils.check_repo_access("openai-community/gpt2")
        seconds = time.monotonic() - start
    line = one_paragraph(capsys.readouterr().err)
    assert "rate-limiting" in line and "wait 30 s" in line
    assert access.status == "error" and "wait 30 s" in access.message
    assert "Couldn't find any data file" not in line
    assert seconds < FAST_S, seconds  # not huggingface_hub's 5 x 31 s of waiting


def test_a_rate_limited_download_is_not_waited_for(online_at):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 1000}
    with fake_hubs.ModelRepoHub("someone/tiny", files, limited=("model.safetensors",)) as fake:
        online_at(fake.url)
        start = time.monotonic()
        with pytest.raises(hub.HubRateLimitedError, match="wait 30 s"):
            prefetch.download(a_model())
        assert time.monotonic() - start < FAST_S


# --- item 12: a download cut short ----------------------------------------------------------


@pytest.mark.slow
def test_a_download_cut_short_says_how_much_came(online_at, capsys):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 200_000}
    with fake_hubs.ModelRepoHub("someone/tiny", files, truncate=("model.safetensors",)) as fake:
        online_at(fake.url)
        with pytest.raises(prefetch_cli.CommandError) as err:
            prefetch_cli._download_all([a_model()])
    text = str(err.value)
    assert "cut a file short (100,000 of 200,000 bytes came)" in text
    assert "run it again" in text and "kept in the HF cache" in text
    assert "failed: someone/tiny was not downloaded: the server at" in capsys.readouterr().out


@pytest.mark.slow
def test_transformers_on_a_cut_short_download_gets_the_same_message(online_at):
    """The reusable translation for pipeline(): not transformers' "no file named
    pytorch_model.bin" when the repository has safetensors that were cut short."""
    from transformers import AutoModel

    with fake_hubs.ModelRepoHub(
        "someone/tiny", tiny_model_files(), truncate=("model.safetensors",)
    ) as fake:
        online_at(fake.url)
        with pytest.raises(Exception) as err, hub.deadlines():
            AutoModel.from_pretrained("someone/tiny")
    error = hub.translate(err.value, "someone/tiny", "someone/tiny cannot be loaded")
    assert isinstance(error, hub.DownloadFailedError), err.value
    assert "cut a file short" in str(error) and "pytorch_model.bin" not in str(error)


# --- item 13: full disks --------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: a config fits, weights do not."""
    yield from faults.small_tmpfs(tmp_path, "64k")


def test_a_full_disk_during_prefetch_names_the_hf_cache(online_at, small_disk, monkeypatch):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 300_000}
    with fake_hubs.ModelRepoHub("someone/tiny", files) as fake:
        online_at(fake.url)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(small_disk / "hub"))
        with pytest.raises(prefetch_cli.CommandError) as err:
            prefetch_cli._download_all([a_model(), a_model("someone/other")])
    text = str(err.value)
    assert f"the disk that holds the HF cache ({small_disk / 'hub'}," in text
    assert "is full" in text and "HF_HOME" in text and "hf cache" in text
    assert "(1 more not tried" in text  # the next download would fail the same way
    assert "connection" not in text


def test_a_full_disk_while_building_a_standin_names_the_cache_folder(
    small_disk, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_CACHE", str(small_disk))
    assert main(["standins", "build", "bert-base-uncased"]) == 2
    err = capsys.readouterr().err  # the progress bar's lines (carriage returns), then the error
    line = one_paragraph(err.rsplit("\r", 1)[-1])
    assert f"the stand-ins folder {small_disk / 'standins'} is full" in line
    assert "COURSE_CACHE" in line and "site-packages" not in line
    assert not any(small_disk.joinpath("standins").iterdir())  # nothing half-built kept


# --- items 5 and 14: an HF_ENDPOINT that cannot work ----------------------------------------


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("http://127.0.0.1:99999", "is not a number between 1 and 65535"),
        ("http://127.0.0.1:http", "is not a number between 1 and 65535"),
        ("127.0.0.1:8080", "write HF_ENDPOINT=http://127.0.0.1:8080"),
        ("hf-mirror.com", "write HF_ENDPOINT=https://hf-mirror.com"),
        (" http://127.0.0.1:8080", "without them, HF_ENDPOINT=http://127.0.0.1:8080"),
        ("https://hf-mirror.com ", "without them, HF_ENDPOINT=https://hf-mirror.com"),
        ("ftp://mirror.example", "only http:// and https://"),
    ],
)
def test_an_unusable_endpoint_is_named_with_the_fix(value, hint):
    assert hint in settings.endpoint_problem(value)


@pytest.mark.parametrize(
    "value", ["https://huggingface.co", "http://127.0.0.1:8080/", "http://[::1]:80"]
)
def test_usable_endpoints_pass(value):
    assert settings.endpoint_problem(value) is None


_ENTRY_POINTS = """
import contextlib, io, json, sys
from course_utils import resolve_checkpoint
from course_utils.cli import main

def command(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

try:
    resolve_checkpoint("some/model")
    resolved = "no error"
except Exception as err:
    resolved = type(err).__name__ + ": " + str(err)
print(json.dumps({"resolve": resolved, "prefetch": command("prefetch", "3"),
                  "estimate": command("estimate", "distilgpt2"), "doctor": command("doctor")}))
"""


def _fresh_process(env_updates: dict[str, str], tmp_path, code: str = _ENTRY_POINTS):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env.update(HF_HOME=str(tmp_path / "hf"), NO_PROXY="127.0.0.1", COURSE_HUB_TIMEOUT="1")
    env.update(env_updates)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("http://127.0.0.1:99999", "its port (99999) is not a number between 1 and 65535"),
        ("127.0.0.1:8080", "write HF_ENDPOINT=http://127.0.0.1:8080"),
        (" http://127.0.0.1:8080", "write it without them, HF_ENDPOINT=http://127.0.0.1:8080"),
    ],
)
def test_an_unusable_hf_endpoint_is_reported_by_every_entry_point(value, hint, tmp_path):
    done = _fresh_process({"HF_ENDPOINT": value}, tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["resolve"].startswith(f"InvalidEndpointError: HF_ENDPOINT={value!r} cannot be used")
    assert hint in seen["resolve"] and "restart Python" in seen["resolve"]
    for name in ("prefetch", "estimate"):  # every subcommand but doctor: one paragraph
        assert seen[name]["code"] == 2
        assert hint in one_paragraph(seen[name]["err"])
    assert seen["doctor"]["code"] == 1 and "NOT usable" in seen["doctor"]["out"]
    assert hint in seen["doctor"]["out"]


# --- item 16: HF_HUB_OFFLINE values the libraries ignore ------------------------------------

_OFFLINE_VIEWS = """
import json
import datasets, huggingface_hub.constants as c, transformers.utils.hub as th
from course_utils.hub import policy
print(json.dumps({"huggingface_hub": c.HF_HUB_OFFLINE, "datasets": datasets.config.HF_HUB_OFFLINE,
                  "transformers": th.is_offline_mode(), "course": policy.offline_mode()}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("value", ["true ", " 1", "2"])
def test_an_ignored_offline_value_means_online_everywhere_and_doctor_says_so(value, tmp_path):
    with fake_hubs.wrong_path_hub() as url:  # anything: the doctor's Hub row is not the point
        views = _fresh_process(
            {"HF_HUB_OFFLINE": value, "HF_ENDPOINT": url}, tmp_path, _OFFLINE_VIEWS
        )
        doctor = _fresh_process(
            {"HF_HUB_OFFLINE": value, "HF_ENDPOINT": url},
            tmp_path,
            "from course_utils.cli import main; main(['doctor'])",
        )
    assert json.loads(views.stdout.strip().splitlines()[-1]) == {
        "huggingface_hub": False,
        "datasets": False,
        "transformers": False,
        "course": False,
    }, views.stderr
    out = doctor.stdout
    assert f"HF_HUB_OFFLINE={value!r} is ignored (online)" in out
    assert f"HF_HUB_OFFLINE={value!r} is ignored: the Hugging Face libraries read only 1" in out
    assert "write exactly HF_HUB_OFFLINE=1" in out
    # ...and where the way out says "set HF_HUB_OFFLINE=1", it says why it is not set now
    assert f"HF_HUB_OFFLINE=1 (exactly 1: HF_HUB_OFFLINE={value!r} is set now" in out


# --- a Hub that works: the limits change nothing ---------------------------------------------


def test_real_downloads_through_the_course_transport_are_unchanged(hub_online_env):
    """transformers' pipeline and 🤗 Datasets' load_dataset, inside hub.deadlines(), download
    everything from the local olah mirror (tests/hub_mirror.py) as they do without it: what
    pipeline() and load_mrpc() get once their call sites use the limits."""
    from hub_mirror import run_online

    done = run_online(
        """
        import transformers
        from datasets import load_dataset
        from huggingface_hub.utils import get_session

        from course_utils.hub import client as hub
        from course_utils.hub import transport

        with hub.deadlines():
            assert isinstance(get_session()._transport, transport.DeadlineTransport)
            classifier = transformers.pipeline(
                "sentiment-analysis",
                model="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                device="cpu",
            )
            mrpc = load_dataset("nyu-mll/glue", "mrpc")
        print("label:", classifier("What a wonderful course.")[0]["label"])
        print("rows:", mrpc["train"].num_rows)
        """,
        hub_online_env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "label: " in done.stdout and "rows: " in done.stdout, done.stdout
