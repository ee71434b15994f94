"""A Hub that does not answer: every course entry point fails fast, once, with the way out.

Three local endpoints stand in for a broken network (nothing leaves the machine):

- ``refused``: a port nobody listens on, so every connection is refused at once (no network,
  a firewall, a mirror that is down);
- ``stalled``: a server that accepts connections and never sends a byte (a stalled proxy or
  mirror), so only a timeout ends a request;
- ``trickling``: a server that answers a byte at a time, so no single read times out and only
  the course's total deadline per answer ends a request (tests/test_hub_faults.py has more).

The test session is offline (conftest.py), so each test switches huggingface_hub online in this
process and points it at the endpoint; ``COURSE_HUB_TIMEOUT=0.5`` keeps a stalled answer to
half a second. An alarm turns a hang into a failure instead of a stuck test run.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading

import faults
import pytest
from huggingface_hub import constants

import course_utils
from benchmarks import bench_hub_failures
from course_utils.cli import main
from course_utils.hub import client as hub

HANG_LIMIT_S = 60  # far above any bounded failure here; only a hang reaches it


@pytest.fixture(autouse=True)
def _fail_instead_of_hanging():
    with faults.fail_after(HANG_LIMIT_S, "a Hub call is not bounded"):
        yield


@pytest.fixture(scope="module")
def dead_endpoints():
    with bench_hub_failures.dead_endpoints() as endpoints:  # the benchmark's, the same three
        yield endpoints


@pytest.fixture(scope="module")
def trickling_endpoint():
    # A byte every 0.1 s: well inside any single read's limit, never a whole answer in 0.5 s.
    with bench_hub_failures.trickling_endpoint(interval=0.1) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def refused_endpoint(dead_endpoints):
    return dead_endpoints["refused"]


@pytest.fixture(scope="module")
def stalled_endpoint(dead_endpoints):
    return dead_endpoints["stalled"]


@pytest.fixture(params=["refused", "stalled", "trickling"])
def dead_hub(request, monkeypatch):
    """Online, with HF_ENDPOINT at an endpoint that never answers; yields (kind, endpoint)."""
    endpoint = request.getfixturevalue(f"{request.param}_endpoint")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setenv("COURSE_HUB_TIMEOUT", "0.5")
    monkeypatch.delenv("COURSE_FORCE_STANDINS", raising=False)
    return request.param, endpoint


def assert_says_why_and_what_to_do(text: str, kind: str, endpoint: str) -> None:
    assert "HF_ENDPOINT" in text and "HF_HUB_OFFLINE=1" in text, text
    assert re.search(r"(after|in) \d+\.\d s", text), text  # how long it waited
    assert "Traceback" not in text and "spelling" not in text, text
    if kind == "trickling":
        assert f"the Hugging Face Hub at {endpoint} answers, but too slowly" in text, text
        assert re.search(r"\d+ B/s", text) and "COURSE_HUB_TIMEOUT" in text, text
        return
    assert f"the Hugging Face Hub at {endpoint} could not be reached" in text, text
    if kind == "stalled":
        assert "no answer in" in text and "COURSE_HUB_TIMEOUT" in text, text
    else:
        assert "ConnectError" in text, text


@pytest.mark.parametrize("name", ["distilgpt2", "someone/their-model"])
def test_resolve_checkpoint_fails_once_with_the_way_out(dead_hub, name, capsys):
    kind, endpoint = dead_hub
    with pytest.raises(hub.HubUnreachableError) as err:
        course_utils.resolve_checkpoint(name)
    assert_says_why_and_what_to_do(str(err.value), kind, endpoint)
    assert capsys.readouterr().out == ""  # no stand-in was substituted


def test_pipeline_fails_before_loading_and_names_the_mirror(dead_hub, monkeypatch, capsys):
    import transformers

    kind, endpoint = dead_hub
    monkeypatch.setattr(transformers, "pipeline", pytest.fail)  # never reached
    with pytest.raises(hub.HubUnreachableError) as err:
        course_utils.pipeline("sentiment-analysis")
    assert_says_why_and_what_to_do(str(err.value), kind, endpoint)
    hub_id = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    # The announcement points at the Hub in use (HF_ENDPOINT), not at huggingface.co.
    assert capsys.readouterr().out == (
        f"No model was supplied, defaulted to {hub_id} ({endpoint}/{hub_id}).\n"
    )


def test_unknown_name_is_a_network_error_not_a_spelling_mistake(dead_hub):
    kind, endpoint = dead_hub
    with pytest.raises(hub.HubUnreachableError) as err:
        course_utils.estimate_memory("distillgpt2")
    assert_says_why_and_what_to_do(str(err.value), kind, endpoint)


def test_load_mrpc_says_both_ways_out(dead_hub):
    kind, endpoint = dead_hub
    with pytest.raises(hub.HubUnreachableError) as err:
        course_utils.load_mrpc()
    assert_says_why_and_what_to_do(str(err.value), kind, endpoint)


def test_access_check_reads_as_offline(dead_hub):
    kind, endpoint = dead_hub
    result = course_utils.check_repo_access("openai-community/gpt2")
    assert result.status == "offline"
    assert re.search(r"(after|in) \d+\.\d s", result.message) and "HF_ENDPOINT" in result.message


@pytest.mark.parametrize(
    "args",
    [["estimate", "distillgpt2"], ["prefetch", "3"], ["train-mrpc", "--max-steps", "1"]],
    ids=["estimate", "prefetch", "train-mrpc"],
)
def test_cli_fails_with_one_paragraph(dead_hub, args, tmp_path, capsys):
    kind, endpoint = dead_hub
    if args[0] == "train-mrpc":
        args = [*args, "--output-dir", str(tmp_path / "run")]
    assert main(args) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"course {args[0]}: ")
    assert_says_why_and_what_to_do(line, kind, endpoint)
    assert "Training" not in captured.out  # train-mrpc stopped before its first step


def test_doctor_reports_the_hub_and_both_ways_out(dead_hub, capsys):
    kind, endpoint = dead_hub
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    hub_line = next(line for line in out.splitlines() if line.startswith("Hugging Face Hub"))
    if kind == "trickling":
        assert f"{endpoint} answers too slowly (one answer was not complete" in hub_line
    else:
        assert f"{endpoint} NOT reachable" in hub_line
        assert re.search(r"(no answer|ConnectError) after \d+\.\d s", hub_line), hub_line
    assert "HF_ENDPOINT" in out and "HF_HUB_OFFLINE=1" in out


@pytest.mark.slow
def test_a_fresh_process_honours_hf_endpoint(refused_endpoint, tmp_path):
    """HF_ENDPOINT and HF_HUB_OFFLINE are read at import: the real thing, in a child process."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=refused_endpoint, HF_HOME=str(tmp_path / "hf"), NO_PROXY="127.0.0.1")
    code = """
import course_utils
for call in (
    lambda: course_utils.resolve_checkpoint("distilgpt2"),
    lambda: course_utils.load_mrpc(),
):
    try:
        call()
    except Exception as err:
        print(type(err).__name__, "|", err)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    errors = [line for line in done.stdout.splitlines() if " | " in line]
    assert [line.split(" | ")[0] for line in errors] == [
        "HubUnreachableError",
        "HubUnreachableError",
    ], done.stdout + done.stderr
    for line in errors:
        assert_says_why_and_what_to_do(line, "refused", refused_endpoint)
    assert "Retrying" not in done.stderr  # one request, not huggingface_hub's back-off


@pytest.mark.slow
def test_a_stalled_hub_gets_one_bare_probe_before_anything_else(tmp_path):
    """The first Hub request of a process builds huggingface_hub's headers, which fetch an
    agent registry from the Hub with their own 3 s limit: a stalled Hub would cost that on top
    of COURSE_HUB_TIMEOUT. The course probes first, with a bare request, so a Hub that does not
    answer is asked exactly once. A fresh process: the registry is loaded once per process."""
    import os

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    requests: list[bytes] = []

    def record_and_say_nothing():
        held = []
        while True:
            try:
                conn = server.accept()[0]
            except OSError:
                break  # the server socket was closed
            held.append(conn)
            requests.append(conn.recv(4096).split(b"\r\n", 1)[0])
        for conn in held:
            conn.close()

    threading.Thread(target=record_and_say_nothing, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env.update(
        HF_ENDPOINT=f"http://127.0.0.1:{server.getsockname()[1]}",
        HF_HOME=str(tmp_path / "hf"),  # no cached registry
        COURSE_HUB_TIMEOUT="1",
        NO_PROXY="127.0.0.1",
    )
    code = """
from course_utils.hub import client as hub
try:
    hub.check_model_exists("someone/their-model")
except hub.HubUnreachableError as err:
    print("unreachable |", err)
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        server.close()
    assert "unreachable | " in done.stdout, done.stdout + done.stderr
    assert requests == [b"HEAD /someone/their-model/resolve/main/config.json HTTP/1.1"]


def test_hub_timeout_setting_is_checked(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_HUB_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="COURSE_HUB_TIMEOUT='soon'"):
        hub.request_timeout()
    monkeypatch.setenv("COURSE_HUB_TIMEOUT", "2.5")
    assert hub.request_timeout() == 2.5


def test_a_proxy_that_cannot_reach_the_hub_counts_as_no_answer(monkeypatch):
    """A proxy or mirror answers 502/504 when it cannot reach the Hub itself."""
    import httpx2
    import huggingface_hub
    from huggingface_hub.utils import _http

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("COURSE_FORCE_STANDINS", raising=False)
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(502)))
    )
    try:
        with pytest.raises(hub.HubUnreachableError, match=r"could not be reached \(HTTP 502 after"):
            course_utils.resolve_checkpoint("distilgpt2")
    finally:
        huggingface_hub.set_client_factory(_http.default_client_factory)
