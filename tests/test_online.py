"""The course's online code paths, for real, against a local Hub mirror (docs/hub-mirror.md).

Each check runs in a child process whose environment is online (HF_HUB_OFFLINE unset) with
HF_ENDPOINT pointing at the mirror and an empty HF_HOME of its own, so every file comes over HTTP
from the mirror. Nothing here touches the internet.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import hub_mirror as hm
import pytest
from hub_mirror import run_online

pytestmark = [pytest.mark.slow, pytest.mark.online]

pytest_plugins = ["online_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


def course(env: dict, *args: str, timeout: float = 60, check: bool = True):
    """``course ARGS`` in a child process with ``env``; its CompletedProcess."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "course_utils.cli", *args],
        env=env,
        cwd=Path(env["HF_HOME"]).parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_resolve_pipeline_typo_and_mrpc_against_the_mirror(hub_online_env):
    """One child process (each pays the torch/transformers import): the course's own online
    paths, every file downloaded from the mirror."""
    done = run_online(
        """
        from huggingface_hub import scan_cache_dir

        from course_utils import HubError, load_mrpc, pipeline, resolve_checkpoint

        print("resolved:", resolve_checkpoint("distilbert-base-uncased-finetuned-sst-2-english"))
        classifier = pipeline("sentiment-analysis", device="cpu")
        print("label:", classifier("I've been waiting for a HuggingFace course my whole life.")[0]["label"])
        try:
            resolve_checkpoint("distilbert/distilgtp2")
        except HubError as err:
            print("typo error:", err)
        mrpc = load_mrpc()
        print("rows:", {split: mrpc[split].num_rows for split in mrpc})
        print("cached:", sorted(r.repo_id for r in scan_cache_dir().repos))
        """,
        hub_online_env,
    )
    out = done.stdout
    assert f"resolved: {SST2}" in out
    assert re.search(r"label: (NEGATIVE|POSITIVE)", out)
    assert "stand-in" not in out + done.stderr  # the real (mirrored) repository was used
    assert hub_online_env["HF_ENDPOINT"] in out  # "No model was supplied ... (URL)"
    typo = out.split("typo error:", 1)[1].split("\n", 1)[0]
    # The did-you-mean comes from the Hub's answer (RepositoryNotFound), not from a guess.
    assert "was not found on the Hub at " + hub_online_env["HF_ENDPOINT"] in typo
    assert "'distilbert/distilgpt2'" in typo
    assert "Loaded MRPC from the Hub (nyu-mll/glue" in out
    assert "rows: {'train': 400, 'validation': 100, 'test': 100}" in out
    cached = out.split("cached:", 1)[1]
    assert SST2 in cached and "nyu-mll/glue" in cached


def test_prefetch_sizes_come_from_the_mirror_then_offline_uses_the_downloads(
    hub_online_env, hub_mirror_repos
):
    done = course(hub_online_env, "prefetch", "3", timeout=120)
    bert = next(
        line for line in done.stdout.splitlines() if "google-bert/bert-base-uncased" in line
    )
    assert bert.rstrip().endswith("Hub"), bert  # sizes from the mirror's file metadata
    repo = hm.repo_dir(hub_mirror_repos.root, "models", "google-bert/bert-base-uncased")
    from course_utils.display import format_bytes

    assert format_bytes(sum(p.stat().st_size for p in repo.iterdir() if p.is_file())) in bert
    assert "nyu-mll/glue (mrpc)" in done.stdout
    offline = dict(hub_online_env, HF_HUB_OFFLINE="1")
    done = run_online(
        """
        from course_utils import load_mrpc, resolve_checkpoint

        print("checkpoint:", resolve_checkpoint("bert-base-uncased"))
        mrpc = load_mrpc()
        print("features:", mrpc["train"].features["label"].names)
        """,
        offline,
    )
    assert "checkpoint: google-bert/bert-base-uncased" in done.stdout  # from the cache
    assert "stand-in" not in done.stdout
    assert "Loaded MRPC from the cache" in done.stdout
    assert "features: ['not_equivalent', 'equivalent']" in done.stdout


def test_doctor_reports_the_mirror_reachable(hub_online_env):
    done = course(hub_online_env, "doctor")
    line = next(x for x in done.stdout.splitlines() if x.startswith("Hugging Face Hub"))
    assert line.split(None, 3)[-1].startswith(f"{hub_online_env['HF_ENDPOINT']} reachable")


def test_doctor_with_the_mirror_stopped_names_both_ways_out(hub_mirror_repos, tmp_path):
    with hm.HubMirror(hub_mirror_repos.root, tmp_path / "server") as mirror:
        endpoint = mirror.endpoint
    env = hm.online_env(endpoint, tmp_path / "hf_home")
    done = course(env, "doctor", check=False)
    assert done.returncode == 1  # a problem was found
    assert f"{endpoint} NOT reachable" in done.stdout
    advice = done.stdout.split("Advice:", 1)[1]
    assert "HF_ENDPOINT" in advice and "HF_HUB_OFFLINE=1" in advice


def test_chapter_2_runs_online_with_the_same_stored_outputs(hub_online_env):
    """The notebook, executed online from the mirror: no stand-in, and every stored output
    (the cells whose output is the same online and offline) comes out the same."""
    notebook = ROOT / "notebooks" / "02_using_transformers.ipynb"
    done = run_online(
        """
        import json, sys

        import nbformat
        from nbclient import NotebookClient

        path = sys.argv[1]
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, resources={"metadata": {"path": sys.argv[2]}}).execute()
        print(json.dumps([[c.source, c.get("outputs", [])] for c in nb.cells if c.cell_type == "code"]))
        """,
        hub_online_env,
        timeout=300,
        args=[str(notebook), str(notebook.parent)],
    )
    executed = json.loads(done.stdout.strip().splitlines()[-1])
    import nbformat

    stored = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert len(executed) == len(stored)
    everything = json.dumps(executed)
    assert "using a local stand-in" not in everything
    fetched = False  # a cell has read configs from the Hub into `configs`
    for cell, (source, outputs) in zip(stored, executed, strict=True):
        fetched = fetched or SERVED_CONFIGS in source
        if "nbval-check-output" not in cell.metadata.get("tags", []):
            continue
        if fetched and "configs" in source:
            # The mirror serves the stand-ins (built by our code) under the real ids, so a
            # config read from it has their numbers; the real Hub has the real checkpoint's,
            # which the catalog stores and the offline run prints. Same rows, same models.
            online, offline = ("".join(_texts(o)).splitlines() for o in (outputs, cell.outputs))
            assert [r.split()[0] for r in online] == [r.split()[0] for r in offline], source
            assert "offline" not in "".join(online).lower(), source  # the Hub was asked
            continue
        assert _texts(outputs) == _texts(cell.outputs), source[:200]


SERVED_CONFIGS = "AutoConfig.from_pretrained"


def _texts(outputs) -> list[str]:
    """What nbval compares: text of each output, consecutive stream chunks merged (the kernel
    splits printed text into chunks differently from run to run), images aside."""
    texts: list[str] = []
    last_stream = None
    for out in outputs:
        if out.get("output_type") == "stream":
            if last_stream == out["name"]:
                texts[-1] += out["text"]
            else:
                texts.append(out["text"])
            last_stream = out["name"]
            continue
        last_stream = None
        if "data" in out:
            texts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            texts.append(f"{out['ename']}: {out['evalue']}")
    return texts
