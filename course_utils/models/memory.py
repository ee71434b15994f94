"""Know before you download: parameter counts and memory needs from a config alone.

:func:`estimate` takes a transformers config (and a label for reports) and nothing else:
turning a model name into a config is :mod:`course_utils.models.config`'s job. The model is
built with accelerate's ``init_empty_weights`` (PyTorch's ``meta`` device: shapes, no memory),
so a 141 B-parameter config is counted in about a second with no weights downloaded, and
accelerate's ``calculate_maximum_sizes`` finds the largest layer that cannot be split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import psutil
import torch

from course_utils.display import RowsReport, format_bytes, format_count
from course_utils.errors import CourseError, first_line

BYTES_PER_PARAM = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0, "int8": 1.0, "int4": 0.5}
# Also accepted (a load in float64 is rare, so reports do not list it).
_BYTES = {**BYTES_PER_PARAM, "float64": 8.0}
DTYPE_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
}
# Rule of thumb used by accelerate's estimator: activations, buffers and the CUDA context add
# roughly 20 % on top of the weights at inference time.
INFERENCE_OVERHEAD = 1.2
# A verdict of "tight" means the need is above this share of what is available.
TIGHT_SHARE = 0.8


class ModelTooLargeError(CourseError, MemoryError):
    """Raised before any download when a model cannot fit in this machine's memory."""


class DtypeError(CourseError, ValueError):
    """A dtype name the memory check does not know."""


class MemoryArgumentError(CourseError, ValueError, TypeError):
    """An argument of the memory check that is not what it takes (the message says what is)."""


class InvalidConfigError(CourseError, ValueError):
    """A config whose numbers cannot describe a model (a negative or zero size, a text)."""


# Sizes that must be whole numbers >= 1 wherever a config has them (read through the config's
# attribute_map, so GPT-2's n_embd is its hidden_size).
_SIZE_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "num_experts",
    "num_local_experts",
)


def normalize_dtype(dtype: str | torch.dtype) -> str:
    """The course's name for a dtype (``"bf16"``, ``torch.bfloat16`` -> ``"bfloat16"``)."""
    text = str(dtype).strip().lower().removeprefix("torch.")
    text = DTYPE_ALIASES.get(text, text)
    if text not in _BYTES:
        raise DtypeError(
            f'Unknown dtype {dtype!r}: use one of {", ".join(_BYTES)} (or "auto": '
            "the dtype the checkpoint is stored in)."
        )
    return text


def resolve_dtype(dtype, config) -> str:
    """``dtype``, or for ``"auto"`` the dtype the checkpoint is stored in (``config.dtype``, what
    ``from_pretrained`` loads by default; float32 when the config does not say)."""
    if dtype is None or (isinstance(dtype, str) and dtype.strip().lower() == "auto"):
        stored = getattr(config, "dtype", None)
        try:
            return normalize_dtype(stored) if stored else "float32"
        except DtypeError:
            return "float32"  # stored in a dtype the course does not list (float64...)
    return normalize_dtype(dtype)


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
        return int(self.num_parameters * _BYTES[normalize_dtype(dtype)])

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
        raise DtypeError(
            f"Full training in {dtype} is not possible: quantized weights are frozen. "
            "Estimate float32 or bfloat16 training, or use adapters (LoRA/QLoRA) on a quantized model."
        )
    if dtype in ("float32", "float64"):
        size, tag = int(_BYTES[dtype]), f"fp{int(_BYTES[dtype]) * 8}"
        return {
            f"weights ({tag})": num_params * size,
            f"gradients ({tag})": num_params * size,
            f"AdamW states (2 x {tag})": num_params * 2 * size,
        }
    # Mixed precision (autocast) keeps fp32 master weights, fp32 gradients and fp32 optimizer
    # states; the half-precision copy is extra. It saves activation memory, not weight memory.
    return {
        "master weights (fp32)": num_params * 4,
        f"{dtype} weight copy": num_params * 2,
        "gradients (fp32)": num_params * 4,
        "AdamW states (2 x fp32)": num_params * 8,
    }


def _build_on_meta(config):
    """The model of ``config`` with every tensor on the meta device (no memory, no weights)."""
    import transformers
    from accelerate import init_empty_weights
    from transformers import AutoModel

    architectures = getattr(config, "architectures", None) or []
    cls = getattr(transformers, architectures[0], None) if architectures else None
    with init_empty_weights(include_buffers=True):
        return cls(config) if cls is not None else AutoModel.from_config(config)


def _check_config(config) -> None:
    from transformers import PretrainedConfig

    if not isinstance(config, PretrainedConfig):
        raise MemoryArgumentError(
            f"estimate() needs a transformers config, got {config!r}: for a model name use "
            "course_utils.estimate_memory(name)"
        )
    label = getattr(config, "_name_or_path", "") or f"this {type(config).__name__}"
    for name in _SIZE_FIELDS:
        value = getattr(config, name, None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidConfigError(
                f"{label} has {name}={value!r}, but a size must be a whole number of at least 1: "
                "fix it in config.json (or in the dict or config you passed), or save the model "
                "again with save_pretrained()"
            )


def check_training(training) -> None:
    if not isinstance(training, bool):
        raise MemoryArgumentError(f"training must be True or False, got {training!r}")


def estimate(
    config, label: str | None = None, dtype: str = "float32", training: bool = False
) -> MemoryEstimate:
    """What the model of ``config`` needs in memory, in ``dtype`` (``"auto"``: its stored dtype).

    Returns the parameter count, the weights' bytes, the largest layer that cannot be split,
    and the inference total (weights x 1.2) or the training total with AdamW (weights,
    gradients, two optimizer states; mixed precision keeps fp32 master weights). Activations of
    training depend on the batch and are not included.
    """
    from accelerate.utils import calculate_maximum_sizes

    _check_config(config)
    check_training(training)
    dtype = resolve_dtype(dtype, config)
    try:
        meta_model = _build_on_meta(config)
    except (RuntimeError, ValueError, TypeError, ArithmeticError, AttributeError) as err:
        # transformers' own checks (e.g. a hidden size that the heads do not divide) and
        # torch's (a shape it cannot build) say what is wrong; the course says what to do.
        raise InvalidConfigError(
            f"transformers cannot build a {getattr(config, 'model_type', '?')} model from "
            f"this config ({first_line(err)}): fix its numbers in config.json (or in the dict "
            "or config you passed)"
        ) from None
    num_params = sum(p.numel() for p in meta_model.parameters())
    per_param = _BYTES[dtype]
    weights = int(num_params * per_param)
    _, (largest_bytes, largest_names) = calculate_maximum_sizes(meta_model)
    # accelerate sizes the tensors as built (float32); integer buffers are counted as they are.
    largest_bytes = int(largest_bytes * per_param / 4)
    if training:
        breakdown = _training_breakdown(num_params, dtype)
        total = sum(breakdown.values())
    else:
        breakdown = {}
        total = int(weights * INFERENCE_OVERHEAD)
    return MemoryEstimate(
        model=label or getattr(config, "_name_or_path", "") or type(config).__name__,
        architecture=type(meta_model).__name__,
        num_parameters=int(num_params),
        dtype=dtype,
        training=training,
        weights_bytes=weights,
        largest_layer=largest_names[0] if largest_names else "(whole model)",
        largest_layer_bytes=largest_bytes,
        total_bytes=int(total),
        breakdown=breakdown,
    )


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
    from course_utils.models.device import accelerator_memory, pick_device

    device = pick_device(device)
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
    if not isinstance(estimate, MemoryEstimate):
        raise MemoryArgumentError(
            f"check_fits() needs the result of estimate_memory(), got {estimate!r}"
        )
    if available_bytes is None:
        if total_bytes is not None:
            raise MemoryArgumentError("total_bytes= needs available_bytes= too (or pass neither)")
        available, total, kind = available_memory(device)
    else:
        total = available_bytes if total_bytes is None else total_bytes
        _check_byte_counts(available_bytes, total)
        available, kind = available_bytes, "memory"
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
            if BYTES_PER_PARAM[d] < _BYTES[estimate.dtype]
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


def _check_byte_counts(available, total) -> None:
    for name, value in (("available_bytes", available), ("total_bytes", total)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise MemoryArgumentError(
                f"{name} must be a finite number of bytes >= 0, got {value!r}: e.g. "
                "check_fits(estimate, available_bytes=16 * 1024**3) for 16 GiB"
            )
    if total < available:
        raise MemoryArgumentError(
            f"total_bytes ({total}) cannot be less than available_bytes ({available})"
        )
