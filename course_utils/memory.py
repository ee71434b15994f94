"""Know before you download: parameter counts and memory needs from a config alone.

The model is built on PyTorch's ``meta`` device, which records shapes but allocates nothing,
so a 141 B-parameter config is counted in about a second with no weights downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import torch

from course_utils import catalog, settings
from course_utils.checkpoints import Checkpoint, ModelName
from course_utils.display import RowsReport, format_bytes, format_count

BYTES_PER_PARAM = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0, "int8": 1.0, "int4": 0.5}
DTYPE_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
    "torch.float32": "float32",
    "torch.float16": "float16",
    "torch.bfloat16": "bfloat16",
}
# Rule of thumb used by accelerate's estimator: activations, buffers and the CUDA context add
# roughly 20 % on top of the weights at inference time.
INFERENCE_OVERHEAD = 1.2
# A verdict of "tight" means the need is above this share of what is available.
TIGHT_SHARE = 0.8


class ModelTooLargeError(MemoryError):
    """Raised before any download when a model cannot fit in this machine's memory."""


class ConfigUnavailableError(RuntimeError):
    """No config could be found for a model name (offline with nothing cached, or a bad name)."""


def normalize_dtype(dtype: str | torch.dtype) -> str:
    text = str(dtype).lower()
    text = DTYPE_ALIASES.get(text, text)
    if text not in BYTES_PER_PARAM:
        raise ValueError(f"Unknown dtype {dtype!r}: use one of {', '.join(BYTES_PER_PARAM)}.")
    return text


@dataclass
class MemoryEstimate(RowsReport):
    """What a model needs in memory, computed without loading its weights."""

    model: str
    architecture: str
    num_parameters: int
    dtype: str
    training: bool
    weights_bytes: int
    largest_layer: str
    largest_layer_bytes: int
    total_bytes: int
    breakdown: dict[str, int] = field(default_factory=dict)
    source: str = "config"

    @property
    def inference_bytes(self) -> int:
        return int(self.weights_bytes * INFERENCE_OVERHEAD)

    def bytes_at(self, dtype: str) -> int:
        return int(self.num_parameters * BYTES_PER_PARAM[normalize_dtype(dtype)])

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("model", self.model),
            ("architecture", self.architecture),
            ("parameters", f"{self.num_parameters:,} ({format_count(self.num_parameters)})"),
            ("counted from", self.source),
            ("dtype", self.dtype),
            ("weights", format_bytes(self.weights_bytes)),
            ("largest layer", f"{self.largest_layer} ({format_bytes(self.largest_layer_bytes)})"),
        ]
        rows += [(f"  {name}", format_bytes(size)) for name, size in self.breakdown.items()]
        label = "training total (AdamW, no activations)" if self.training else "inference total"
        rows.append((label, format_bytes(self.total_bytes)))
        rows.append(
            (
                "weights per dtype",
                ", ".join(f"{d} {format_bytes(self.bytes_at(d))}" for d in BYTES_PER_PARAM),
            )
        )
        return rows


def _training_breakdown(num_params: int, dtype: str) -> dict[str, int]:
    if dtype in ("int8", "int4"):
        raise ValueError(
            f"Full training in {dtype} is not possible: quantized weights are frozen. "
            "Estimate float32 or bfloat16 training, or use adapters (LoRA/QLoRA) on a quantized model."
        )
    if dtype == "float32":
        return {
            "weights (fp32)": num_params * 4,
            "gradients (fp32)": num_params * 4,
            "AdamW states (2 x fp32)": num_params * 8,
        }
    # Mixed precision (autocast) keeps fp32 master weights, fp32 gradients and fp32 optimizer
    # states; the half-precision copy is extra. It saves activation memory, not weight memory.
    return {
        "master weights (fp32)": num_params * 4,
        f"{dtype} weight copy": num_params * 2,
        "gradients (fp32)": num_params * 4,
        "AdamW states (2 x fp32)": num_params * 8,
    }


def _config_from_dict(data: dict):
    from transformers import AutoConfig

    data = dict(data)
    model_type = data.pop("model_type", None)
    if model_type is None:
        raise ConfigUnavailableError(
            "config has no 'model_type'; is it a transformers config.json?"
        )
    return AutoConfig.for_model(model_type, **data)


def load_config(model):
    """Turn a name, folder, config.json path, config, ModelName or Checkpoint into a config.

    Catalog models (and their stand-ins) use the real checkpoint's stored numbers, so this works
    offline; other Hub ids fetch only their config.json (a few kB), never weights.
    """
    from transformers import PretrainedConfig

    if isinstance(model, PretrainedConfig):
        return model
    if isinstance(model, dict):
        return _config_from_dict(model)
    if isinstance(model, Checkpoint | ModelName):
        if model.entry is not None and model.entry.config:
            return _config_from_dict(model.entry.stored_config())
        model = model.source if isinstance(model, Checkpoint) else model.text
    path = Path(os.fspath(model)).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    if path.is_file():
        return _config_from_dict(json.loads(path.read_text()))
    name = str(model)
    entry = catalog.find(name)
    if entry is not None and entry.config:
        return _config_from_dict(entry.stored_config())
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(catalog.hub_id(name), trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - turned into one clear message
        hint = (
            "You are offline (HF_HUB_OFFLINE=1) and its config is not in the HF cache: go online once, "
            "or pass a local folder / config.json."
            if settings.offline_mode()
            else f"Check the spelling (did you mean {catalog.did_you_mean(name)}?) or pass a local "
            "folder / config.json."
        )
        raise ConfigUnavailableError(f"Could not get a config for {name!r}. {hint}") from err


def _build_on_meta(config):
    from transformers import AutoModel

    architectures = getattr(config, "architectures", None) or []
    with torch.device("meta"):
        if architectures:
            import transformers

            cls = getattr(transformers, architectures[0], None)
            if cls is not None:
                return cls._from_config(config)
        return AutoModel.from_config(config)


def _largest_layer(model, dtype_bytes: float) -> tuple[str, int]:
    """Largest unit that cannot be split across devices (a decoder block, an embedding...)."""
    no_split = set(getattr(model, "_no_split_modules", None) or [])
    best_name, best = "", 0
    for name, module in model.named_modules():
        is_block = type(module).__name__ in no_split
        is_leaf = next(module.children(), None) is None
        if not (is_block or is_leaf):
            continue
        if not is_block and any(name.startswith(f"{b}.") for b in _blocks(model, no_split)):
            continue
        size = sum(p.numel() for p in module.parameters())
        if size > best:
            best_name, best = name, size
    return best_name, int(best * dtype_bytes)


def _blocks(model, no_split: set[str]) -> list[str]:
    cache = getattr(model, "_course_block_names", None)
    if cache is None:
        cache = [n for n, m in model.named_modules() if type(m).__name__ in no_split]
        model._course_block_names = cache
    return cache


def estimate_memory(model, dtype: str = "float32", training: bool = False) -> MemoryEstimate:
    """Estimate memory for a Hub id, a folder / config.json, a config or a ``Checkpoint``.

    Returns parameter count, weight bytes at ``dtype``, the largest layer, and the inference
    total (weights x 1.2) or training total with AdamW (weights, gradients, two optimizer states;
    mixed precision keeps fp32 master weights). Activations of training depend on batch size and
    are not included.
    """
    dtype = normalize_dtype(dtype)
    config = load_config(model)
    meta_model = _build_on_meta(config)
    num_params = sum(p.numel() for p in meta_model.parameters())
    per_param = BYTES_PER_PARAM[dtype]
    weights = int(num_params * per_param)
    largest_name, largest_bytes = _largest_layer(meta_model, per_param)
    if training:
        breakdown = _training_breakdown(num_params, dtype)
        total = sum(breakdown.values())
    else:
        breakdown = {}
        total = int(weights * INFERENCE_OVERHEAD)
    label = _label(model, config)
    return MemoryEstimate(
        model=str(label) or type(config).__name__,
        architecture=type(meta_model).__name__,
        num_parameters=int(num_params),
        dtype=dtype,
        training=training,
        weights_bytes=weights,
        largest_layer=largest_name or "(whole model)",
        largest_layer_bytes=largest_bytes,
        total_bytes=int(total),
        breakdown=breakdown,
    )


def _label(model, config) -> str:
    if isinstance(model, Checkpoint | ModelName):
        return model.real_name
    if isinstance(model, str | os.PathLike):
        return os.fspath(model)
    return getattr(config, "_name_or_path", "") or "config"


@dataclass
class FitVerdict:
    """Whether an estimate fits this machine's memory, and what to do if it does not."""

    verdict: str  # "fits", "tight" or "does not fit"
    needed_bytes: int
    available_bytes: int
    total_bytes: int
    memory_kind: str
    advice: list[str]

    @property
    def fits(self) -> bool:
        return self.verdict != "does not fit"

    def __str__(self) -> str:
        head = (
            f"{self.verdict.upper()}: needs {format_bytes(self.needed_bytes)}, "
            f"{format_bytes(self.available_bytes)} of {format_bytes(self.total_bytes)} "
            f"{self.memory_kind} available."
        )
        return "\n".join([head, *[f"  - {line}" for line in self.advice]])

    def _repr_html_(self) -> str:
        from html import escape

        colour = {"fits": "#2e7d32", "tight": "#ef6c00"}.get(self.verdict, "#c62828")
        items = "".join(f"<li>{escape(a)}</li>" for a in self.advice)
        head = escape(str(self).splitlines()[0])
        return f"<div><b style='color:{colour}'>{head}</b><ul>{items}</ul></div>"


def available_memory(device=None) -> tuple[int, int, str]:
    """(available, total, kind) bytes for the device: free GPU memory, or system RAM."""
    from course_utils.device import accelerator_memory, pick_device

    device = torch.device(device) if device is not None else pick_device()
    if device.type in ("cuda", "xpu"):
        mem = accelerator_memory(device)
        if mem.total_bytes is not None:
            return mem.free_bytes, mem.total_bytes, f"{device.type} GPU memory"
    vm = psutil.virtual_memory()
    kind = "unified memory (RAM)" if device.type == "mps" else "RAM"
    return int(vm.available), int(vm.total), kind


def check_fits(
    estimate: MemoryEstimate,
    device=None,
    *,
    available_bytes: int | None = None,
    total_bytes: int | None = None,
) -> FitVerdict:
    """Compare an estimate with free memory on ``device`` (default: the picked device).

    ``available_bytes`` / ``total_bytes`` replace the measurement (for "what if" questions and tests).
    """
    if available_bytes is None:
        available, total, kind = available_memory(device)
    else:
        available, total, kind = available_bytes, total_bytes or available_bytes, "memory"
    need = estimate.total_bytes
    if need <= TIGHT_SHARE * available:
        verdict = "fits"
    elif need <= available:
        verdict = "tight"
    else:
        verdict = "does not fit"
    advice: list[str] = []
    if verdict != "fits":
        smaller = [
            d
            for d in BYTES_PER_PARAM
            if BYTES_PER_PARAM[d] < BYTES_PER_PARAM[estimate.dtype]
            and estimate.bytes_at(d) * (1 if estimate.training else INFERENCE_OVERHEAD)
            <= TIGHT_SHARE * available
        ]
        if smaller and not estimate.training:
            advice.append(
                f"Load in a smaller dtype: {smaller[0]} needs about "
                f"{format_bytes(estimate.bytes_at(smaller[0]) * INFERENCE_OVERHEAD)} "
                f"(from_pretrained(..., dtype=torch.{smaller[0]})"
                + (" or a quantization config" if smaller[0].startswith("int") else "")
                + ")."
            )
        if estimate.training:
            advice.append(
                "Train with adapters (LoRA/PEFT) on a frozen, smaller-dtype model, or pick a smaller model."
            )
        if "GPU" in kind:
            advice.append(
                'Offload what does not fit to CPU RAM and disk: from_pretrained(..., device_map="auto").'
            )
        advice.append("Pick a smaller model of the same family (e.g. a 7B or distilled variant).")
        advice.append(
            "Run it remotely: Hugging Face Inference Providers or a paid Inference Endpoint."
        )
    if verdict == "tight":
        advice.insert(0, "It may load, but close other programs first; the OS may swap or kill it.")
    return FitVerdict(verdict, int(need), int(available), int(total), kind, advice)


def ensure_fits(
    model,
    dtype: str = "float32",
    *,
    training: bool = False,
    device=None,
    allow_too_large: bool = False,
) -> FitVerdict | None:
    """Raise :class:`ModelTooLargeError` before any download if ``model`` cannot fit.

    Pass ``allow_too_large=True`` (or set ``COURSE_ALLOW_TOO_LARGE=1``) to go ahead anyway.
    Returns ``None`` when no config can be read (the later load reports that error itself).
    """
    try:
        estimate = estimate_memory(model, dtype=dtype, training=training)
    except ConfigUnavailableError:
        return None
    verdict = check_fits(estimate, device=device)
    if verdict.fits or allow_too_large or settings.allow_too_large():
        return verdict
    raise ModelTooLargeError(
        f"{estimate.model} needs about {format_bytes(estimate.total_bytes)} in {estimate.dtype} "
        f"but only {format_bytes(verdict.available_bytes)} {verdict.memory_kind} is free, so "
        "loading it would fail or get the process killed. Nothing was downloaded.\n"
        + "\n".join(f"  - {a}" for a in verdict.advice)
        + "\nTo try anyway, pass allow_too_large=True or set COURSE_ALLOW_TOO_LARGE=1."
    )
