"""The local Hub mirror (olah + HubCompat: hub_mirror.py) against the real client libraries.

Online calls run in child processes (this session is offline: see the root conftest.py), each
with its own empty HF_HOME, so every file really comes over HTTP from the mirror. The tests of
the adaptations ask stock olah too and check that it still answers unlike the Hub: when an olah
release fixes one, its test fails and says which adaptation can go. docs/hub-mirror.md explains
each one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
import urllib.error
import urllib.request
from math import prod
from pathlib import Path

import hub_mirror as hm
import pytest
from hub_mirror import run_online

pytestmark = pytest.mark.online

pytest_plugins = ["online_fixtures"]

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
UNKNOWN = "nobody/no-such-model"


# ---------------------------------------------------------------------------------------------
# helpers


def _child(code: str, env: dict, *args: str, timeout: float = 60) -> dict:
    """Run ``code`` in a child process; its last line of output is a JSON object."""
    done = run_online(code, env, timeout=timeout, args=args)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _http(endpoint: str, path: str, method: str = "GET", headers: dict | None = None):
    """One plain HTTP request, no proxy: (status, lower-cased headers, body)."""
    request = urllib.request.Request(endpoint + path, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _model_dir(repos, repo_id: str) -> Path:
    return hm.repo_dir(repos.root, "models", repo_id)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _committed_files(folder: Path) -> dict[str, str]:
    """Path -> SHA-256 of every file of a mirror repository's working tree."""
    return {
        p.relative_to(folder).as_posix(): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def _safetensors_parameter_count(path: Path) -> dict[str, int]:
    """Parameters per dtype, read from a safetensors header (8-byte length, then JSON)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    counts: dict[str, int] = {}
    for name, tensor in header.items():
        if name != "__metadata__":
            counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + prod(tensor["shape"])
    return counts


# ---------------------------------------------------------------------------------------------
# the mirror's repositories


def test_repositories_are_git_repos_on_main_without_the_standin_marker(hub_mirror_repos):
    assert set(hub_mirror_repos.shas) == {*hm.course_models(), hm.MRPC_REPO}
    for repo_id in hm.course_models():
        folder = _model_dir(hub_mirror_repos, repo_id)
        assert hm._git(folder, "rev-parse", "--abbrev-ref", "HEAD") == "main"
        assert hm._git(folder, "rev-parse", "HEAD") == hub_mirror_repos.shas[repo_id]
        tracked = hm._git(folder, "ls-files").splitlines()
        assert {"config.json", "model.safetensors"} <= set(tracked), repo_id
        assert hm.STANDIN_MARKER not in tracked
        assert hm._git(folder, "status", "--porcelain") == ""
    glue = hm.repo_dir(hub_mirror_repos.root, "datasets", hm.MRPC_REPO)
    assert sorted(hm._git(glue, "ls-files").splitlines()) == [
        "README.md",
        "mrpc/test-00000-of-00001.parquet",
        "mrpc/train-00000-of-00001.parquet",
        "mrpc/validation-00000-of-00001.parquet",
    ]


def test_a_repo_added_while_the_server_runs_is_served(hub_mirror_repos, hub_mirror, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "sub" / "notes.txt").write_text("hello")
    (folder / hm.STANDIN_MARKER).write_text("{}")
    repo_id = f"added-by-tests/model-{tmp_path.name}"
    sha = hm.add_model_repo(hub_mirror_repos.root, repo_id, folder)
    status, _, body = _http(hub_mirror.endpoint, f"/api/models/{repo_id}")
    assert status == 200
    info = json.loads(body)
    assert info["sha"] == sha
    assert sorted(s["rfilename"] for s in info["siblings"]) == ["config.json", "sub/notes.txt"]
    file_url = f"/{repo_id}/resolve/main/sub/notes.txt"
    status, headers, _ = _http(hub_mirror.endpoint, file_url, "HEAD")
    assert (status, headers["x-repo-commit"], headers["content-length"]) == (200, sha, "5")
    assert _http(hub_mirror.endpoint, file_url)[::2] == (200, b"hello")


def test_online_env_is_online_tokenless_and_bypasses_proxies(tmp_path):
    base = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_TOKEN": "hf_" + "x" * 8,
        "HF_HUB_CACHE": "/elsewhere",
        "NO_PROXY": "example.org",
        "PATH": "/usr/bin",
    }
    env = hm.online_env("http://127.0.0.1:1234", tmp_path / "home", base=base)
    assert env["HF_ENDPOINT"] == "http://127.0.0.1:1234"
    assert env["HF_HOME"] == str(tmp_path / "home")
    assert env["HF_HUB_DISABLE_TELEMETRY"] == "1"
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
        assert name not in env
    assert "HF_HUB_CACHE" not in env
    assert env["NO_PROXY"].split(",")[0] == "127.0.0.1" and "example.org" in env["NO_PROXY"]
    assert "127.0.0.1" in env["no_proxy"]
    assert env["PATH"] == "/usr/bin"


# ---------------------------------------------------------------------------------------------
# huggingface_hub against the mirror


def test_hf_hub_download_and_snapshot_download_fetch_the_committed_files(
    hub_mirror_repos, hub_online_env
):
    out = _child(
        """
        import json, os, sys
        from huggingface_hub import hf_hub_download, snapshot_download
        repo = sys.argv[1]
        config = hf_hub_download(repo, "config.json")
        snapshot = snapshot_download(repo)
        files = sorted(
            os.path.relpath(os.path.join(d, f), snapshot)
            for d, _, fs in os.walk(snapshot) for f in fs
        )
        print(json.dumps({"config": config, "snapshot": snapshot, "files": files}))
        """,
        hub_online_env,
        SST2,
    )
    folder = _model_dir(hub_mirror_repos, SST2)
    sha = hub_mirror_repos.shas[SST2]
    assert Path(out["config"]).read_bytes() == (folder / "config.json").read_bytes()
    assert out["snapshot"].endswith(f"/snapshots/{sha}")
    assert out["snapshot"].startswith(hub_online_env["HF_HOME"])
    expected = _committed_files(folder)
    assert out["files"] == sorted(expected)
    assert {f: _sha256(Path(out["snapshot"]) / f) for f in out["files"]} == expected


def test_model_info_with_and_without_revision(hub_mirror_repos, hub_online_env):
    out = _child(
        """
        import json, sys
        from huggingface_hub import HfApi
        api, repo = HfApi(), sys.argv[1]
        plain = api.model_info(repo)
        at_main = api.model_info(repo, revision="main")
        with_sizes = api.model_info(repo, files_metadata=True)
        print(json.dumps({
            "sha": [plain.sha, at_main.sha, with_sizes.sha],
            "id": plain.id,
            "files": sorted(s.rfilename for s in plain.siblings),
            "sizes": {s.rfilename: s.size for s in with_sizes.siblings},
        }))
        """,
        hub_online_env,
        SST2,
    )
    folder = _model_dir(hub_mirror_repos, SST2)
    assert out["sha"] == [hub_mirror_repos.shas[SST2]] * 3
    assert out["id"] == SST2
    assert out["files"] == sorted(_committed_files(folder))
    assert out["sizes"] == {f: (folder / f).stat().st_size for f in out["files"]}


def test_every_course_model_is_served_under_its_hub_id(hub_mirror_repos, hub_online_env):
    out = _child(
        """
        import json, sys
        from huggingface_hub import HfApi
        api = HfApi()
        print(json.dumps({
            repo: [api.model_info(repo).sha, sorted(s.rfilename for s in api.model_info(repo).siblings)]
            for repo in sys.argv[1:]
        }))
        """,
        hub_online_env,
        *hm.course_models(),
    )
    for repo_id in hm.course_models():
        sha, files = out[repo_id]
        assert sha == hub_mirror_repos.shas[repo_id]
        assert files == sorted(_committed_files(_model_dir(hub_mirror_repos, repo_id)))


def test_get_safetensors_metadata_counts_the_parameters(hub_mirror_repos, hub_online_env):
    out = _child(
        """
        import json, sys
        from huggingface_hub import get_safetensors_metadata
        print(json.dumps(get_safetensors_metadata(sys.argv[1]).parameter_count))
        """,
        hub_online_env,
        SST2,
    )
    expected = _safetensors_parameter_count(
        _model_dir(hub_mirror_repos, SST2) / "model.safetensors"
    )
    assert out == expected and sum(out.values()) > 0


def test_unknown_repo_raises_repository_not_found(hub_mirror, hub_online_env):
    out = _child(
        """
        import json, sys
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import RepositoryNotFoundError
        result = {}
        for name, call in {
            "model_info": lambda: HfApi().model_info(sys.argv[1]),
            "hf_hub_download": lambda: hf_hub_download(sys.argv[1], "config.json"),
        }.items():
            try:
                call()
                result[name] = "no error"
            except RepositoryNotFoundError as err:
                result[name] = [type(err).__name__, err.response.status_code]
        print(json.dumps(result))
        """,
        hub_online_env,
        UNKNOWN,
    )
    # 401 with X-Error-Code: RepoNotFound is what the Hub answers a client without a token.
    assert out == {
        "model_info": ["RepositoryNotFoundError", 401],
        "hf_hub_download": ["RepositoryNotFoundError", 401],
    }
    status, headers, _ = _http(hub_mirror.endpoint, f"/api/models/{UNKNOWN}")
    assert (status, headers.get("x-error-code")) == (401, "RepoNotFound")


def test_missing_file_and_unknown_revision_raise_hub_errors(hub_online_env):
    out = _child(
        """
        import json, sys
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError
        repo, result = sys.argv[1], {}
        try:
            hf_hub_download(repo, "no-such-file.json")
        except EntryNotFoundError as err:
            result["missing file"] = type(err).__name__
        try:
            hf_hub_download(repo, "config.json", revision="no-such-branch")
        except RevisionNotFoundError as err:
            result["unknown revision"] = type(err).__name__
        result["file_exists"] = [
            HfApi().file_exists(repo, "config.json"), HfApi().file_exists(repo, "nope.json")
        ]
        print(json.dumps(result))
        """,
        hub_online_env,
        SST2,
    )
    assert out == {
        "missing file": "RemoteEntryNotFoundError",
        "unknown revision": "RevisionNotFoundError",
        "file_exists": [True, False],
    }


# ---------------------------------------------------------------------------------------------
# transformers and datasets against the mirror


def test_transformers_auto_classes_and_pipeline_download_from_the_mirror(
    hub_mirror_repos, hub_online_env
):
    out = _child(
        """
        import json, os, sys
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
        repo, local = sys.argv[1], sys.argv[2]
        torch.manual_seed(0)
        text = "I've been waiting for a HuggingFace course my whole life."
        tokenizer = AutoTokenizer.from_pretrained(repo)
        model = AutoModelForSequenceClassification.from_pretrained(repo)
        local_tokenizer = AutoTokenizer.from_pretrained(local)
        local_model = AutoModelForSequenceClassification.from_pretrained(local)
        ids = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            logits, local_logits = model(**ids).logits, local_model(**ids).logits
        classifier = pipeline("text-classification", model=repo)
        prediction = classifier(text)[0]
        print(json.dumps({
            "ids": ids["input_ids"][0].tolist(),
            "local_ids": local_tokenizer(text)["input_ids"],
            "same_logits": bool(torch.allclose(logits, local_logits)),
            "labels": model.config.id2label,
            "prediction": prediction,
            "expected_score": torch.softmax(local_logits, -1).max().item(),
            "cache": os.listdir(os.path.join(os.environ["HF_HOME"], "hub")),
        }))
        """,
        hub_online_env,
        SST2,
        str(_model_dir(hub_mirror_repos, SST2)),
        timeout=120,
    )
    assert out["ids"] == out["local_ids"] and out["ids"][0] == 101
    assert out["same_logits"]
    assert set(out["labels"].values()) == {"NEGATIVE", "POSITIVE"}
    assert out["prediction"]["label"] in {"NEGATIVE", "POSITIVE"}
    assert out["prediction"]["score"] == pytest.approx(out["expected_score"], abs=1e-5)
    assert "models--distilbert--distilbert-base-uncased-finetuned-sst-2-english" in out["cache"]


def test_load_dataset_glue_mrpc_from_the_mirror(hub_online_env):
    out = _child(
        """
        import json
        from datasets import load_dataset
        mrpc = load_dataset("nyu-mll/glue", "mrpc")
        label = mrpc["train"].features["label"]
        print(json.dumps({
            "rows": {split: mrpc[split].num_rows for split in mrpc},
            "label": [type(label).__name__, label.names],
            "idx": str(mrpc["train"].features["idx"].dtype),
            "first": {split: mrpc[split][0] for split in mrpc},
        }))
        """,
        hub_online_env,
        timeout=90,
    )
    fixture = {
        split: [
            json.loads(line)
            for line in (hm.mrpc_fixture_dir() / f"{split}.jsonl").read_text().splitlines()
            if line.strip()
        ]
        for split in hm.MRPC_SPLITS
    }
    assert out["rows"] == {split: len(rows) for split, rows in fixture.items()}
    assert out["label"] == ["ClassLabel", ["not_equivalent", "equivalent"]]
    assert out["idx"] == "int32"
    assert out["first"] == {split: rows[0] for split, rows in fixture.items()}


# ---------------------------------------------------------------------------------------------
# the server's life cycle


def test_a_stopped_mirror_gives_a_quick_connection_error(hub_mirror_repos, tmp_path):
    mirror = hm.HubMirror(hub_mirror_repos.root, tmp_path / "server")
    with mirror:
        env = hm.online_env(mirror.endpoint, tmp_path / "hf_home")
        status, _, _ = _http(mirror.endpoint, f"/api/models/{SST2}/revision/main")
        assert status == 200
        pid = mirror._proc.pid
    assert not mirror.running
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole process group is gone
    started = time.monotonic()
    out = _child(
        """
        import json, sys, time
        from huggingface_hub import HfApi
        started = time.monotonic()
        try:
            HfApi().model_info(sys.argv[1])
            error = None
        except Exception as err:
            error = type(err).__name__
        print(json.dumps({"error": error, "seconds": time.monotonic() - started}))
        """,
        env,
        SST2,
        timeout=30,
    )
    assert out["error"] == "ConnectError"
    assert out["seconds"] < 5
    assert time.monotonic() - started < 30


def test_a_server_that_cannot_start_reports_its_log(hub_mirror_repos, tmp_path):
    mirror = hm.HubMirror(hub_mirror_repos.root, tmp_path / "server", python=shutil.which("false"))
    with pytest.raises(RuntimeError, match="exited with 1 while starting"):
        mirror.start()
    assert not mirror.running


# ---------------------------------------------------------------------------------------------
# Each HubCompat adaptation: stock olah's answer, then the Hub-like one

R = f"/api/models/{SST2}"
F = f"/{SST2}/resolve/main"

# (what, method, path, request headers, stock (status, X-Error-Code), fixed (status, X-Error-Code))
DIFFERENCES = [
    ("repo info without revision", "GET", R, {}, (401, "RepoNotFound"), (200, None)),
    (
        "tree of a missing folder",
        "GET",
        f"{R}/tree/main/additional_chat_templates?recursive=false&expand=false",
        {},
        (401, "RepoNotFound"),
        (404, "EntryNotFound"),
    ),
    ("GET of a missing file", "GET", f"{F}/nope.json", {}, (500, None), (404, "EntryNotFound")),
    (
        "HEAD of a missing file",
        "HEAD",
        f"{F}/nope.json",
        {},
        (401, "RepoNotFound"),
        (404, "EntryNotFound"),
    ),
    (
        "unknown revision (API)",
        "GET",
        f"{R}/revision/no-such-branch",
        {},
        (401, "RepoNotFound"),
        (404, "RevisionNotFound"),
    ),
    (
        "unknown revision (file)",
        "HEAD",
        f"/{SST2}/resolve/no-such-branch/config.json",
        {},
        (401, "RepoNotFound"),
        (404, "RevisionNotFound"),
    ),
    ("Range request", "GET", f"{F}/config.json", {"Range": "bytes=2-11"}, (200, None), (206, None)),
    ("auth-check", "GET", f"{R}/auth-check", {}, (404, "RepoNotFound"), (200, None)),
]


@pytest.mark.parametrize(
    "what, method, path, headers, stock, fixed", DIFFERENCES, ids=[d[0] for d in DIFFERENCES]
)
def test_stock_olah_differs_and_hubcompat_answers_like_the_hub(
    stock_hub_mirror, hub_mirror, what, method, path, headers, stock, fixed
):
    status, got, _ = _http(stock_hub_mirror.endpoint, path, method, headers)
    assert (status, got.get("x-error-code")) == stock, f"stock olah changed its answer to: {what}"
    status, got, _ = _http(hub_mirror.endpoint, path, method, headers)
    assert (status, got.get("x-error-code")) == fixed


def test_repo_info_without_revision_is_the_default_branch(hub_mirror_repos, hub_mirror):
    status, _, body = _http(hub_mirror.endpoint, R)
    assert status == 200
    assert json.loads(body)["sha"] == hub_mirror_repos.shas[SST2]


def test_missing_file_answer_names_the_commit(hub_mirror_repos, hub_mirror):
    for method in ("GET", "HEAD"):
        status, headers, _ = _http(hub_mirror.endpoint, f"{F}/nope.json", method)
        assert status == 404
        assert headers["x-repo-commit"] == hub_mirror_repos.shas[SST2]


def test_range_requests_get_exactly_the_bytes_asked_for(hub_mirror_repos, hub_mirror):
    data = (_model_dir(hub_mirror_repos, SST2) / "config.json").read_bytes()
    size = len(data)
    cases = {
        "bytes=2-11": (206, data[2:12], f"bytes 2-11/{size}"),
        "bytes=-5": (206, data[-5:], f"bytes {size - 5}-{size - 1}/{size}"),
        f"bytes={size - 3}-": (206, data[-3:], f"bytes {size - 3}-{size - 1}/{size}"),
        f"bytes=0-{size + 100}": (206, data, f"bytes 0-{size - 1}/{size}"),
        f"bytes={size}-": (416, b"", f"bytes */{size}"),
    }
    for requested, (status, body, content_range) in cases.items():
        got_status, headers, got_body = _http(
            hub_mirror.endpoint, f"{F}/config.json", headers={"Range": requested}
        )
        assert (got_status, got_body, headers.get("content-range")) == (
            status,
            body,
            content_range,
        ), requested
    status, _, whole = _http(hub_mirror.endpoint, f"{F}/config.json")
    assert (status, whole) == (200, data)


def test_files_metadata_sizes(hub_mirror_repos, stock_hub_mirror, hub_mirror):
    path = f"{R}/revision/main?blobs=true"
    _, _, body = _http(stock_hub_mirror.endpoint, path)
    assert all("size" not in s for s in json.loads(body)["siblings"])  # stock olah: no sizes
    _, _, body = _http(hub_mirror.endpoint, path)
    folder = _model_dir(hub_mirror_repos, SST2)
    siblings = json.loads(body)["siblings"]
    assert {s["rfilename"]: s["size"] for s in siblings} == {
        f: (folder / f).stat().st_size for f in _committed_files(folder)
    }
    assert all(len(s["blobId"]) == 40 for s in siblings)


# What the differences do to the client library: the same child code, stock olah and HubCompat.
CLIENT_CHECKS = """
import json, sys
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download

repo, result = sys.argv[1], {}
def outcome(call):
    try:
        return ["ok", call()]
    except Exception as err:
        return [type(err).__name__, None]
result["model_info()"] = outcome(lambda: HfApi().model_info(repo).sha)
# transformers' AutoTokenizer lists this folder, and fails on anything but "not found" errors
result["list_repo_tree(missing folder)"] = outcome(
    lambda: list(HfApi().list_repo_tree(repo, path_in_repo="additional_chat_templates"))
)
result["hf_hub_download(missing file)"] = outcome(lambda: hf_hub_download(repo, "nope.json"))
with HfFileSystem().open(f"{repo}@main/config.json", block_size=16) as f:
    f.seek(2)
    result["HfFileSystem seek+read"] = ["ok", f.read(10).decode()]
print(json.dumps(result))
"""


def test_client_library_sees_the_differences(
    hub_mirror_repos, stock_hub_mirror, hub_mirror, tmp_path
):
    expected_bytes = (
        (_model_dir(hub_mirror_repos, SST2) / "config.json").read_bytes()[2:12].decode()
    )
    stock = _child(CLIENT_CHECKS, hm.online_env(stock_hub_mirror.endpoint, tmp_path / "a"), SST2)
    fixed = _child(CLIENT_CHECKS, hm.online_env(hub_mirror.endpoint, tmp_path / "b"), SST2)
    assert stock["model_info()"][0] == "RepositoryNotFoundError"
    assert stock["list_repo_tree(missing folder)"][0] == "RepositoryNotFoundError"
    assert stock["hf_hub_download(missing file)"][0] == "RepositoryNotFoundError"
    assert stock["HfFileSystem seek+read"][1] != expected_bytes  # the file's first bytes instead
    assert fixed == {
        "model_info()": ["ok", hub_mirror_repos.shas[SST2]],
        "list_repo_tree(missing folder)": ["RemoteEntryNotFoundError", None],
        "hf_hub_download(missing file)": ["RemoteEntryNotFoundError", None],
        "HfFileSystem seek+read": ["ok", expected_bytes],
    }


def test_auto_tokenizer_fails_on_stock_olah(stock_hub_mirror, tmp_path):
    """What the adaptations are for: transformers' AutoTokenizer cannot load from stock olah."""
    out = _child(
        """
        import json, sys
        from huggingface_hub.errors import RepositoryNotFoundError
        from transformers import AutoTokenizer
        try:
            AutoTokenizer.from_pretrained(sys.argv[1])
            print(json.dumps("loaded"))
        except RepositoryNotFoundError as err:
            print(json.dumps(err.response.url.path))
        """,
        hm.online_env(stock_hub_mirror.endpoint, tmp_path / "hf_home"),
        SST2,
    )
    assert out == f"/api/models/{SST2}/tree/main/additional_chat_templates"


def test_the_server_script_imports_without_the_course_package():
    """The server may run under another interpreter (HUB_MIRROR_PYTHON, e.g. CI's .venv-mirror)
    that has olah but not course_utils: its imports must not reach the course package."""
    import subprocess
    import sys

    tests_dir = Path(hm.__file__).resolve().parent
    code = (
        "import sys; sys.modules['course_utils'] = None; "  # any import of it now fails
        f"sys.path.insert(0, {str(tests_dir)!r}); "
        "import hub_mirror; from hub_mirror import DEFAULT_BRANCH, OLAH_VERSION; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
