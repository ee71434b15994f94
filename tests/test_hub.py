"""check_repo_access against a mocked Hub: real huggingface_hub request and error parsing,
fake HTTP answers (httpx MockTransport). Nothing leaves the machine."""

import dataclasses

import httpx2
import huggingface_hub
import pytest
from huggingface_hub import constants
from huggingface_hub.utils import _http

from course_utils.hub import policy
from course_utils.hub.access import check_repo_access

# Built by concatenation so no token-shaped literal sits in the repository.
FAKE_TOKEN = "hf_" + "FakeTokenForTestsOnly" + "1234567890abcdef"
GATED = "meta-llama/Meta-Llama-3-8B"


class FakeHub:
    """Answers the auth-check endpoint like the Hub does; records what it was sent."""

    def __init__(self, status=200, headers=None, raise_exc=None):
        self.status = status
        self.headers = headers or {}
        self.raise_exc = raise_exc
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.raise_exc is not None:
            raise self.raise_exc
        return httpx2.Response(self.status, headers=self.headers, json={"error": "mocked"})


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Pretend the Hub is reachable and nobody is logged in; requests go to the FakeHub returned."""
    monkeypatch.setattr(policy, "offline_mode", lambda: False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    fake = FakeHub()
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(fake), follow_redirects=True)
    )
    yield fake
    huggingface_hub.set_client_factory(_http.default_client_factory)


def log_in(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)


def test_offline_sends_nothing_and_says_offline(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("no request may be sent offline")

    monkeypatch.setattr(huggingface_hub.utils, "get_session", fail)
    result = check_repo_access(GATED)  # conftest sets HF_HUB_OFFLINE=1
    assert result.status == "offline"
    assert not result.ok
    assert "HF_HUB_OFFLINE" in result.message
    assert result.url == "https://huggingface.co/meta-llama/Meta-Llama-3-8B"


def test_public_repo_is_ok_without_login(online):
    result = check_repo_access("openai-community/gpt2")
    assert result.ok and result.status == "ok"
    assert online.requests[0].url.path == "/api/models/openai-community/gpt2/auth-check"
    assert "authorization" not in online.requests[0].headers


def test_gated_repo_without_login_says_log_in_then_request(online):
    online.status, online.headers = 401, {"X-Error-Code": "GatedRepo"}
    result = check_repo_access(GATED)
    assert result.status == "not logged in"
    assert "hf auth login" in result.message and "notebook_login" in result.message
    assert "https://huggingface.co/meta-llama/Meta-Llama-3-8B" in result.message


def test_gated_repo_logged_in_without_access_says_where_to_request(online, monkeypatch):
    log_in(monkeypatch)
    online.status, online.headers = 403, {"X-Error-Code": "GatedRepo"}
    result = check_repo_access(GATED)
    assert result.status == "no access"
    assert result.logged_in is True
    assert "request it on https://huggingface.co/meta-llama/Meta-Llama-3-8B" in result.message
    assert online.requests[0].headers["authorization"] == f"Bearer {FAKE_TOKEN}"


def test_pending_request_is_reported_as_awaiting_review(online, monkeypatch):
    log_in(monkeypatch)
    online.status = 403
    online.headers = {
        "X-Error-Code": "GatedRepo",
        "X-Error-Message": "Your request to access model meta-llama/Meta-Llama-3-8B is awaiting a review.",
    }
    result = check_repo_access(GATED)
    assert result.status == "no access"
    assert "awaiting review" in result.message


def test_gated_repo_with_access_is_ok(online, monkeypatch):
    log_in(monkeypatch)
    result = check_repo_access(GATED)
    assert result.ok
    assert "your login has access" in result.message


def test_unknown_repo_is_not_found_with_login_hint(online):
    online.status, online.headers = 404, {"X-Error-Code": "RepoNotFound"}
    result = check_repo_access("someone/does-not-exist")
    assert result.status == "not found"
    assert "log in" in result.message


def test_rejected_token_asks_to_log_in_again(online, monkeypatch):
    log_in(monkeypatch)
    online.status = 401
    online.headers = {"X-Error-Message": "Invalid credentials in Authorization header"}
    result = check_repo_access("openai-community/gpt2")
    assert result.status == "not logged in"
    assert "expired or revoked" in result.message


def test_server_error_is_an_error_not_a_verdict(online):
    online.status = 503
    result = check_repo_access("openai-community/gpt2")
    assert result.status == "error"
    assert "503" in result.message


def test_unreachable_hub_reads_as_offline(online):
    online.raise_exc = httpx2.ConnectError("Could not resolve host: huggingface.co")
    result = check_repo_access(GATED)
    assert result.status == "offline"
    assert "could not be reached" in result.message


@pytest.mark.parametrize("status", [200, 401, 403, 404])
def test_token_never_appears_in_the_answer(online, monkeypatch, status):
    log_in(monkeypatch)
    online.status = status
    online.headers = {"X-Error-Code": "GatedRepo"} if status in (401, 403) else {}
    result = check_repo_access(GATED)
    for text in (str(result), repr(result), str(dataclasses.asdict(result))):
        assert FAKE_TOKEN not in text
        assert FAKE_TOKEN[3:12] not in text


@pytest.mark.parametrize("bad", ["Meta-Llama-3-8B", "meta llama/llama 3", "a/b/c", ""])
def test_bad_repo_id_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="namespace/name"):
        check_repo_access(bad)


def test_bad_repo_type_is_a_clear_error():
    with pytest.raises(ValueError, match="'model', 'dataset' or 'space'"):
        check_repo_access(GATED, repo_type="models")
