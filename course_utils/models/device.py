"""Pick the device to run on: CUDA, then Apple MPS, then Intel XPU, then CPU.

Set ``COURSE_DEVICE`` (``cuda``, ``cuda:1``, ``mps``, ``xpu``, ``cpu``) to override the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_utils import settings
from course_utils.errors import CourseError

DEVICE_ENV_VAR = settings.DEVICE_VAR
KNOWN_DEVICE_TYPES = ("cuda", "mps", "xpu", "cpu")


class DeviceError(CourseError, RuntimeError):
    """The requested device is unknown or not available on this machine."""


def is_available(device_type: str) -> bool:
    """Whether a device type can be used in this process: the CPU always; otherwise it must be
    the accelerator this PyTorch build was made for (``torch.accelerator``: CUDA, MPS, XPU...)
    and be usable."""
    if device_type == "cpu":
        return True
    current = torch.accelerator.current_accelerator(check_available=True)
    return current is not None and current.type == device_type


def _parse_override(value: str, label: str = DEVICE_ENV_VAR) -> torch.device:
    """``value`` as a device available here; ``label`` names where it came from."""
    text = value.strip().lower()
    device_type = text.split(":", 1)[0]
    instead = f"unset {DEVICE_ENV_VAR}" if label == DEVICE_ENV_VAR else f"leave {label} out"
    # A flag reads as written on the command line; a variable or argument as an assignment.
    given = f"{label} {value!r}" if label.startswith("--") else f"{label}={value!r}"
    if device_type not in KNOWN_DEVICE_TYPES:
        raise DeviceError(
            f"{given} is not a device this course knows. "
            f"Use one of {', '.join(KNOWN_DEVICE_TYPES)} (optionally with an index, e.g. cuda:1), "
            f"or {instead} to pick automatically."
        )
    try:
        device = torch.device(text)
    except RuntimeError as err:
        raise DeviceError(f"{given} is not a valid device string: {err}") from None
    if not is_available(device_type):
        raise DeviceError(
            f"{given} asks for {device_type}, but no {device_type} device is "
            f"available in this process. {instead.capitalize()} to pick automatically."
        )
    count = _device_count(device_type)
    if count is not None and device.index is not None and device.index >= count:
        raise DeviceError(
            f"{given}: this machine has {count} {device_type.upper()} device(s), "
            f"{device_type}:0 to {device_type}:{count - 1}. {instead.capitalize()} to pick "
            "automatically."
        )
    return device


def _device_count(device_type: str) -> int | None:
    if device_type == "cuda":
        return torch.cuda.device_count()
    if device_type in ("mps", "xpu"):
        return torch.accelerator.device_count()
    return None


def pick_device(
    preferred: str | int | torch.device | None = None, *, source: str = "device"
) -> torch.device:
    """Return the best available device, or the one named by ``preferred`` / ``COURSE_DEVICE``.

    ``preferred`` may be a name (``"cuda:1"``), a ``torch.device``, or an index as transformers'
    pipelines take it: ``0``, ``1``... for this machine's accelerator, ``-1`` for the CPU. A
    device that is not here is a :class:`DeviceError`, never a silent CPU. ``source`` names
    where ``preferred`` came from in error messages (e.g. ``"--device"``).
    """
    if preferred is not None:
        return _parse_override(_device_text(preferred, source), source)
    override = settings.device_override()
    if override and override.strip():
        return _parse_override(override, DEVICE_ENV_VAR)
    for device_type in ("cuda", "mps", "xpu"):
        if is_available(device_type):
            return torch.device(device_type)
    return torch.device("cpu")


def _device_text(preferred, source: str) -> str:
    """A device given as a name, a ``torch.device`` or an index, as a name."""
    if isinstance(preferred, torch.device):
        return str(preferred)
    if isinstance(preferred, str):
        if not preferred.strip():
            raise DeviceError(
                f"{source}={preferred!r} is empty: name a device (cuda, mps, xpu, cpu) or "
                f"leave {source} out to pick automatically."
            )
        return preferred
    if isinstance(preferred, int) and not isinstance(preferred, bool):
        if preferred == -1:
            return "cpu"  # transformers' pipelines: -1 is the CPU
        if preferred < 0:
            raise DeviceError(
                f"{source}={preferred!r} is not a device: use -1 (or 'cpu') for the CPU, 0, 1, "
                f"... for this machine's GPUs, or leave {source} out to pick automatically."
            )
        # As transformers' pipelines read an index: a device of this machine's accelerator.
        current = next((kind for kind in ("cuda", "mps", "xpu") if is_available(kind)), None)
        if current is None:
            raise DeviceError(
                f"{source}={preferred} asks for GPU number {preferred}, but PyTorch sees no GPU "
                f"(CUDA, MPS or XPU) in this process. Use {source}='cpu' (or -1), or leave "
                f"{source} out to pick automatically."
            )
        return f"{current}:{preferred}"
    raise DeviceError(
        f"{source}={preferred!r} is not a device: pass a name such as 'cuda', 'cuda:1', 'mps' "
        f"or 'cpu', a torch.device, an index (0, 1, ...; -1 for the CPU), or leave {source} out "
        "to pick automatically."
    )


@dataclass(frozen=True)
class DeviceMemory:
    total_bytes: int | None
    free_bytes: int | None


def device_name(device: torch.device) -> str:
    """A readable name for the device (GPU model, or the CPU description)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "xpu":
        return torch.xpu.get_device_name(device)
    if device.type == "mps":
        return "Apple silicon GPU (MPS, shares system RAM)"
    import platform

    return platform.processor() or platform.machine() or "CPU"


def accelerator_memory(device: torch.device) -> DeviceMemory:
    """Total and free memory of a CUDA or XPU device; ``None`` where it cannot be measured."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return DeviceMemory(int(total), int(free))
    if device.type == "xpu" and hasattr(torch.xpu, "mem_get_info"):
        free, total = torch.xpu.mem_get_info(device)
        return DeviceMemory(int(total), int(free))
    return DeviceMemory(None, None)


def supports_bf16(device: torch.device) -> bool:
    """Whether mixed precision in bfloat16 is worth using on this device."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "xpu"
