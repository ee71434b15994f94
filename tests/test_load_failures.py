"""Weights that cannot be loaded, said in the course's words (issue #23, items 12 and 17).

Real files every time: a model.safetensors cut short in a local folder and in an HF cache
snapshot, a download that a (fake, in-process) Hub cuts short, and pickled weights that would
run code, which torch's safe loader refuses before anything runs.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import httpx2
import huggingface_hub
import pytest
import torch
from huggingface_hub import constants
from huggingface_hub.utils import _http

import course_utils
from course_utils.hub import policy
from course_utils.models.load_errors import IncompleteDownloadError, UnsafeWeightsError
from course_utils.standins import store as standins

REPO = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"  # catalog, chapter 1
COMMIT = "c" * 40

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_files() -> Path:
    """A real, loadable text-classification model folder (the catalog model's stand-in)."""
    return standins.ensure_standin(REPO)


def _copy_model(model_files: Path, folder: Path) -> Path:
    shutil.copytree(model_files, folder, ignore=shutil.ignore_patterns("standin.json"))
    return folder


def _cut(path: Path, keep: float = 0.5) -> int:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return len(data)


def _hf_cache_with(tmp_path: Path, model_files: Path, monkeypatch) -> Path:
    """An HF cache holding REPO as a download leaves it (blobs, a snapshot of links,
    refs/main); returns the snapshot folder."""
    cache = tmp_path / "hub"
    repo = cache / f"models--{REPO.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for path in sorted(model_files.iterdir()):
        if path.name == "standin.json":
            continue
        blob = repo / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
        shutil.copyfile(path, blob)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return snapshot


# --- item 12: a weights file cut short --------------------------------------------------------


@pytest.mark.parametrize("keep", [0.5, 0.00001], ids=["half", "header-cut"])
def test_a_truncated_safetensors_in_a_folder_is_named(model_files, tmp_path, keep):
    folder = _copy_model(model_files, tmp_path / "my-model")
    weights = folder / "model.safetensors"
    _cut(weights, keep)
    with pytest.raises(IncompleteDownloadError) as err:
        course_utils.pipeline("text-classification", model=str(folder), device="cpu")
    message = str(err.value)
    assert f"the weights file {weights} (" in message and "is incomplete" in message
    assert "save_pretrained()" in message and "pytorch_model.bin" not in message
    assert "Error while deserializing header" in message  # safetensors' own words, quoted
    assert isinstance(err.value, OSError)  # what transformers raised for a bad file before


def test_a_truncated_safetensors_in_the_hf_cache_says_how_to_delete_it(
    model_files, tmp_path, monkeypatch
):
    snapshot = _hf_cache_with(tmp_path, model_files, monkeypatch)
    _cut(snapshot / "model.safetensors")
    with pytest.raises(IncompleteDownloadError) as err:
        course_utils.pipeline("text-classification", model=REPO, device="cpu")  # offline: cache
    message = str(err.value)
    assert f"model.safetensors of {REPO} in your HF cache" in message
    assert str(snapshot / "model.safetensors") in message
    command = f"hf cache rm hf://models/{REPO}/model.safetensors"
    assert f"`{command}`" in message and "`course prefetch 1`" in message

    # The command it names does remove the damaged file (link and blob), nothing else.
    blob = (snapshot / "model.safetensors").resolve()
    hf = Path(sys.executable).with_name("hf")  # installed with huggingface_hub
    env = {**os.environ, "HF_HUB_CACHE": constants.HF_HUB_CACHE}
    done = subprocess.run([hf, *command.split()[1:], "--yes"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert not (snapshot / "model.safetensors").exists() and not blob.exists()
    assert (snapshot / "config.json").is_file()


class CuttingHub:
    """An in-process Hub (httpx MockTransport) serving one repository's files, except that
    every download of ``model.safetensors`` stops after 1 kB, as a server that drops the
    connection does."""

    def __init__(self, repo_id: str, folder: Path):
        self.repo_id = repo_id
        self.files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "standin.json"}
        self.requests: list[str] = []

    def _headers(self, name: str) -> dict:
        data = self.files[name]
        return {
            "X-Repo-Commit": COMMIT,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Length": str(len(data)),
        }

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        prefix = f"/{self.repo_id}/resolve/"
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/", 1)[1]
            if name not in self.files:
                return httpx2.Response(404, headers={"X-Error-Code": "EntryNotFound"})
            if request.method == "HEAD":
                return httpx2.Response(200, headers=self._headers(name))
            if name == "model.safetensors":
                return httpx2.Response(200, headers=self._headers(name), stream=_Cut(request))
            return httpx2.Response(200, headers=self._headers(name), content=self.files[name])
        if path.startswith(f"/api/models/{self.repo_id}"):
            siblings = [{"rfilename": name} for name in sorted(self.files)]
            info = {"id": self.repo_id, "sha": COMMIT, "siblings": siblings}
            return httpx2.Response(200, json=info)
        return httpx2.Response(404, headers={"X-Error-Code": "RepoNotFound"})


class _Cut(httpx2.SyncByteStream):
    def __init__(self, request: httpx2.Request):
        self.request = request

    def __iter__(self):
        yield b"\0" * 1024
        raise httpx2.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=self.request
        )


QA_REPO = "distilbert/distilbert-base-cased-distilled-squad"  # a restored pipeline's model


@pytest.fixture
def cutting_hub(tmp_path, monkeypatch):
    """Online, against a CuttingHub for the repository the test names: ``cutting_hub(repo)``."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(policy, "offline_mode", lambda: False)
    monkeypatch.delenv("COURSE_FORCE_STANDINS", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    # huggingface_hub waits 1 s before each of its retries; the test need not.
    monkeypatch.setattr("huggingface_hub.file_download.time.sleep", lambda seconds: None)

    def serve(repo_id: str) -> CuttingHub:
        hub = CuttingHub(repo_id, standins.ensure_standin(repo_id))
        huggingface_hub.set_client_factory(
            lambda: httpx2.Client(transport=httpx2.MockTransport(hub), follow_redirects=True)
        )
        return hub

    yield serve
    huggingface_hub.set_client_factory(_http.default_client_factory)


@pytest.mark.parametrize(
    "task, repo_id, what",
    [
        ("text-classification", REPO, f"{REPO}'s weights"),  # through transformers.pipeline
        ("question-answering", QA_REPO, f"model.safetensors of {QA_REPO}"),  # restored
    ],
    ids=["transformers-pipeline", "restored-pipeline"],
)
def test_a_download_the_server_cuts_short_says_so_not_pytorch_model_bin(
    cutting_hub, task, repo_id, what
):
    hub = cutting_hub(repo_id)
    with pytest.raises(IncompleteDownloadError) as err:
        course_utils.pipeline(task, model=repo_id, device="cpu")
    message = str(err.value)
    assert f"the download of {what} was cut short" in message, message
    assert "RemoteProtocolError: peer closed connection" in message
    assert "Run the same call again" in message and "`course prefetch 1`" in message
    assert "pytorch_model.bin" not in message
    # It really was the weights download that failed, after huggingface_hub's own retries.
    weights = [r for r in hub.requests if r.endswith("/model.safetensors")]
    assert sum(r.startswith("GET") for r in weights) > 1


def test_the_cut_download_is_what_transformers_reports_as_pytorch_model_bin(cutting_hub):
    """The error the issue saw, from transformers itself (so the test above is about it)."""
    import transformers

    cutting_hub(REPO)
    with pytest.raises(ValueError, match="pytorch_model.bin") as err:
        transformers.pipeline("text-classification", model=REPO, device="cpu")
    assert "RemoteProtocolError" in str(err.value)


# --- item 17: pickled weights that would run code ---------------------------------------------


class RunsCode:
    """Unpickling this calls os.system: what a malicious pytorch_model.bin does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    "writer",
    ["torch.save", "pickle-protocol-4"],
    ids=["torch-save", "plain-pickle"],
)
def test_a_malicious_pickle_is_refused_and_nothing_runs(model_files, tmp_path, writer):
    folder = _copy_model(model_files, tmp_path / "old-model")
    (folder / "model.safetensors").unlink()  # only pickled weights, as old repositories
    weights = folder / "pytorch_model.bin"
    marker = tmp_path / "code-ran"
    if writer == "torch.save":
        torch.save({"distilbert.embeddings.word_embeddings.weight": RunsCode(marker)}, weights)
    else:  # a bare pickle: torch's safe loader stops at its first FRAME instruction
        weights.write_bytes(pickle.dumps({"weight": RunsCode(marker)}, protocol=4))
    with pytest.raises(UnsafeWeightsError) as err:
        course_utils.pipeline("text-classification", model=str(folder), device="cpu")
    assert not marker.exists()  # nothing in the pickle ran
    message = str(err.value)
    assert f"the weights in {weights} were refused as unsafe pickles" in message
    assert "model.safetensors" in message and "weights_only=False" in message
    why = "asks to call posix.system" if writer == "torch.save" else "pickle instruction 149"
    assert why in message, message
    assert "please file an issue" not in message.lower()


def test_plain_tensor_pickles_still_load(model_files, tmp_path):
    """Refusing code is not refusing pickles: tensors saved by torch.save load as before."""
    from safetensors.torch import load_file

    folder = _copy_model(model_files, tmp_path / "old-model")
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    pickled = course_utils.pipeline("text-classification", model=str(folder), device="cpu")
    safe = course_utils.pipeline("text-classification", model=str(model_files), device="cpu")
    assert pickled("a test") == safe("a test")  # the same weights, whichever file held them
