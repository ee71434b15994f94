"""An environment report: versions, device, memory, disk, HF cache, Hub reachability, login.

The Hugging Face token is never printed, logged or returned: only whether one is set and,
online, the account name it belongs to.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

from course_utils import catalog
from course_utils.display import RowsReport, format_bytes
from course_utils.hub import client as hub
from course_utils.hub import policy
from course_utils.models.device import accelerator_memory, device_name, pick_device
from course_utils.paths import folder_size

HUB_CHECK_SECONDS = 3.0
UNUSABLE = "NOT usable"  # the Hub row's verdict for an HF_ENDPOINT nothing can be sent to
LIBRARIES = (
    "torch",
    "transformers",
    "datasets",
    "tokenizers",
    "huggingface_hub",
    "accelerate",
    "sentencepiece",
    "safetensors",
    "scikit-learn",
    "nbval",
)


@dataclass
class EnvironmentReport(RowsReport):
    python: str
    platform: str
    versions: dict[str, str | None]
    device: str
    device_name: str
    cpu_cores: int
    ram_total_bytes: int
    ram_available_bytes: int
    gpu_total_bytes: int | None
    gpu_free_bytes: int | None
    hf_home: str
    hf_cache: str
    hf_cache_bytes: int
    disk_free_bytes: int
    offline: bool
    force_standins: bool
    hub_endpoint: str
    hub_reachable: bool | None  # None: not checked (offline mode)
    logged_in_as: str | None
    token_present: bool
    notes: list[str] = field(default_factory=list)
    hub_detail: str = ""  # how the Hub answered, or what happened instead, and how fast
    hub_verdict: str = ""  # "reachable", "NOT reachable", "NOT a Hub", "rate-limited"...
    hub_advice: str = ""  # what to do about it, when it is not reachable
    ignored_offline: tuple[str, str] | None = None  # (variable, value) the libraries ignore

    def rows(self) -> list[tuple[str, str]]:
        gpu = (
            f"{format_bytes(self.gpu_free_bytes)} free of {format_bytes(self.gpu_total_bytes)}"
            if self.gpu_total_bytes is not None
            else "none"
        )
        if self.hub_verdict == UNUSABLE:  # the libraries cannot work with it, offline either
            hub_state = f"{self.hub_endpoint!r} {UNUSABLE} ({self.hub_detail})"
        elif self.offline:
            hub_state = "not checked (HF_HUB_OFFLINE=1: stand-ins are used)"
        elif self.hub_reachable is None:
            hub_state = f"{self.hub_endpoint} (not checked)"
        else:
            state = self.hub_verdict or ("reachable" if self.hub_reachable else "NOT reachable")
            detail = f" ({self.hub_detail})" if self.hub_detail else ""
            hub_state = f"{self.hub_endpoint} {state}{detail}"
        if self.ignored_offline is not None:
            name, value = self.ignored_offline
            hub_state += f"; {name}={value!r} is ignored (online)"
        if self.logged_in_as:
            login = self.logged_in_as
        elif self.token_present:
            login = "a token is set (not verified)"
        else:
            login = "not logged in"
        rows = [
            ("python", self.python),
            ("platform", self.platform),
            *[(name, version or "not installed") for name, version in self.versions.items()],
            ("device", f"{self.device} ({self.device_name})"),
            ("cpu cores", str(self.cpu_cores)),
            (
                "RAM",
                f"{format_bytes(self.ram_available_bytes)} available of "
                f"{format_bytes(self.ram_total_bytes)}",
            ),
            ("GPU memory", gpu),
            ("HF_HOME", self.hf_home),
            ("HF cache", f"{self.hf_cache} ({format_bytes(self.hf_cache_bytes)})"),
            ("disk free (cache)", format_bytes(self.disk_free_bytes)),
            ("Hugging Face Hub", hub_state),
            ("logged in", login),
        ]
        if self.force_standins:
            rows.append(("stand-ins", "forced (COURSE_FORCE_STANDINS=1)"))
        return rows


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment_report(check_hub: bool = True) -> EnvironmentReport:
    """Collect the report. The Hub (``HF_ENDPOINT``) is asked only when online, once, for at
    most 3 s (or ``COURSE_HUB_TIMEOUT`` if that is shorter)."""
    from huggingface_hub import constants

    device = pick_device()
    mem = accelerator_memory(device)
    vm = psutil.virtual_memory()
    cache = Path(constants.HF_HUB_CACHE)
    disk_probe = cache
    while not disk_probe.exists() and disk_probe != disk_probe.parent:
        disk_probe = disk_probe.parent
    offline = policy.offline_mode()
    probe, broken = None, None
    try:
        hub.check_endpoint()
    except hub.InvalidEndpointError as err:
        broken = err  # the libraries cannot send anything with it (nor be imported)
    if broken is None and not offline and check_hub:
        seconds = min(HUB_CHECK_SECONDS, hub.request_timeout())
        probe = hub.probe(timeout=seconds)
        if probe.reachable:  # its files answer as the Hub's; and its API?
            problem = hub.api_problem(seconds)
            if problem is not None:
                probe = dataclasses.replace(probe, not_hub=problem)
    reachable = None if probe is None else probe.reachable
    verdict, detail, what_to_do = _hub_verdict(probe)
    if broken is not None:
        reachable, verdict, what_to_do = False, UNUSABLE, str(broken)
        detail = "HF_ENDPOINT is not a valid address"
        token_present, user = False, None
    else:
        token_present, user = hub.login_status(online=bool(reachable))
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=platform.platform(),
        versions={name: _version(name) for name in LIBRARIES},
        device=str(device),
        device_name=device_name(device),
        cpu_cores=os.cpu_count() or 1,
        ram_total_bytes=int(vm.total),
        ram_available_bytes=int(vm.available),
        gpu_total_bytes=mem.total_bytes,
        gpu_free_bytes=mem.free_bytes,
        hf_home=str(constants.HF_HOME),
        hf_cache=str(cache),
        hf_cache_bytes=folder_size(cache),
        disk_free_bytes=int(shutil.disk_usage(disk_probe).free),
        offline=offline,
        force_standins=policy.force_standins(),
        hub_endpoint=hub.endpoint(),
        hub_reachable=reachable,
        logged_in_as=user,
        token_present=token_present,
        hub_detail=detail,
        hub_verdict=verdict,
        hub_advice=what_to_do,
        ignored_offline=policy.ignored_offline_value(),
    )


def _hub_verdict(probe: hub.Probe | None) -> tuple[str, str, str]:
    """(the state, how it answered and how fast, what to do) for the Hub row and the advice."""
    if probe is None:
        return "", "", ""
    after = f"{probe.seconds:.1f} s"
    what = "the course cannot download anything"
    if probe.reachable:
        return "reachable", f"HTTP {probe.status} in {after}", ""
    if probe.rate_limited:
        wait = f", retry after {probe.retry_after} s" if probe.retry_after is not None else ""
        error = hub.rate_limited_error(probe.retry_after, what)
        return "rate-limited", f"HTTP 429{wait}", str(error)
    if probe.not_hub is not None:
        return (
            "answers, but NOT as a Hub",
            probe.not_hub,
            str(hub.not_a_hub_error(probe.not_hub, what)),
        )
    if probe.too_slow is not None:
        return "answers too slowly", probe.too_slow, str(hub.too_slow_error(probe.too_slow, what))
    said = "no answer" if "timeout" in (probe.error or "").lower() else probe.error
    return "NOT reachable", f"{said} after {after}", ""


# One training step of the 22.7 M-parameter MiniLM BERT, batch 16, on 2 CPU cores, as
# benchmarks/results.md's padding benchmark measured it (tests/test_environment.py keeps the two
# in step): with dynamic padding (pairs of the course's fixture, 39 tokens a batch on average) and
# padded to 128 tokens. Real MRPC pairs are longer than the fixture's, so the truth lies between.
STEP_SECONDS_MINILM_2_CORES = (0.26, 0.86)
MINILM_PARAMETERS = 22_713_216


def finetune_minutes_on_cpu(
    num_parameters: int = 109_483_778,
    examples: int = 3668,
    epochs: int = 3,
    batch_size: int = 16,
    cores: int | None = None,
) -> tuple[float, float]:
    """Rough time (low, high) in minutes of the chapter-3 fine-tuning on CPU, from the step
    times measured for the MiniLM BERT: compute scales with parameters and inversely with
    cores."""
    cores = cores or os.cpu_count() or 1
    steps = epochs * -(-examples // batch_size)
    scale = (num_parameters / MINILM_PARAMETERS) * (2 / cores)
    low, high = (steps * seconds * scale / 60 for seconds in STEP_SECONDS_MINILM_2_CORES)
    return low, high


def _minutes(span: tuple[float, float]) -> str:
    return f"{span[0]:.0f}-{span[1]:.0f} minutes"


def advice(report: EnvironmentReport) -> list[str]:
    """Concrete next steps for what the report shows."""
    tips: list[str] = []
    if report.device == "cpu":
        minutes = finetune_minutes_on_cpu(cores=report.cpu_cores)
        tips.append(
            f"No GPU: chapter 3 full fine-tuning of bert-base-uncased (3 epochs) takes roughly "
            f"{_minutes(minutes)} on these {report.cpu_cores} CPU cores (from step times "
            "measured on 2 cores); on a GPU a few minutes. "
            "The notebook's quick mode trains a subset in a few minutes."
        )
    else:
        tips.append(f"GPU found ({report.device_name}): chapter 3 trains in a few minutes.")
    if report.ram_total_bytes < 8 * 1024**3:
        tips.append("Under 8 GiB of RAM: close other programs before chapter 1's larger pipelines.")
    if report.ignored_offline is not None:
        name, value = report.ignored_offline
        tips.append(
            f"{name}={value!r} is ignored: the Hugging Face libraries read only 1, true, yes or "
            "on (any case, no spaces) as offline, so this session is online, and the course "
            f"agrees with them. To work offline, write exactly {name}=1 (before Python or "
            f"Jupyter starts); to be online, unset {name}."
        )
    if report.hub_reachable is False and report.hub_advice:  # an unusable HF_ENDPOINT too
        tips.append(report.hub_advice[0].upper() + report.hub_advice[1:] + ".")
    elif report.offline:
        tips.append(
            "Offline: notebooks use the real checkpoint where it is cached, otherwise a small local "
            "stand-in (their outputs are not the real model's). Unset HF_HUB_OFFLINE to use the Hub."
        )
    elif report.hub_reachable is False:
        tips.append(
            f"The Hub at {report.hub_endpoint} is not reachable ({report.hub_detail}): check "
            f"your connection or proxy, or {hub.ways_out()}."
        )
    if not report.token_present:
        tips.append(
            "Not logged in: public models work; for gated ones (Meta-Llama-3-8B) run "
            "`hf auth login` or notebook_login()."
        )
    if report.disk_free_bytes < 10 * 1024**3:
        tips.append(
            f"Only {format_bytes(report.disk_free_bytes)} free where the HF cache lives: chapter 1 "
            "downloads about 6 GB. Point HF_HOME at a larger disk."
        )
    return tips


def _edition_extra(chapter: int, english: list) -> str:
    """What the zh-CN edition's Chinese section adds to a chapter's downloads."""
    extra = [e for e in catalog.for_edition("zh-CN", chapter) if e not in english]
    if not extra:
        return ""
    size = format_bytes(sum(e.download_bytes for e in extra))
    return f" (the zh-CN edition adds about {size}: `course prefetch {chapter} --edition zh-CN`)"


def chapter_needs() -> list[str]:
    """One line per chapter: what it downloads (catalog sizes) and, for chapter 3, CPU time."""
    lines = []
    for chapter in catalog.CHAPTERS:
        entries = [e for e in catalog.for_chapter(chapter) if not e.memory_only]
        datasets = catalog.datasets_for_chapter(chapter)
        total = sum(e.download_bytes for e in entries) + sum(d.download_bytes for d in datasets)
        parts = [f"{len(entries)} checkpoint{'s' if len(entries) != 1 else ''}"]
        if datasets:
            parts.append(f"{len(datasets)} dataset{'s' if len(datasets) != 1 else ''}")
        if total:
            line = (
                f"chapter {chapter} will download about {format_bytes(total)} ({', '.join(parts)})"
            )
        else:
            line = f"chapter {chapter} downloads no weights"
        line += _edition_extra(chapter, entries)
        if chapter == 3:
            bert = catalog.find("google-bert/bert-base-uncased")
            minutes = finetune_minutes_on_cpu(num_parameters=bert.approx_parameters)
            line += f"; on CPU its full fine-tuning (3 epochs) takes roughly {_minutes(minutes)}"
        lines.append(line)
    lines.append("`course prefetch CHAPTER --dry-run` shows exact sizes from the Hub")
    return lines
