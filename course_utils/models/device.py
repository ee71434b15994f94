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
    count = torch.cuda.device_count() if device_type == "cuda" else None
    if count is not None and device.index is not None and device.index >= count:
        raise DeviceError(
            f"{given}: this machine has {count} CUDA device(s), cuda:0 to "
            f"cuda:{count - 1}. {instead.capitalize()} to pick automatically."
        )
    return device


def pick_device(preferred: str | None = None, *, source: str = "device") -> torch.device:
    """Return the best available device, or the one named by ``preferred`` / ``COURSE_DEVICE``.

    ``source`` names where ``preferred`` came from in error messages (e.g. ``"--device"``).
    """
    override = preferred if preferred is not None else settings.device_override()
    if override and override.strip():
        return _parse_override(override, source if preferred is not None else DEVICE_ENV_VAR)
    for device_type in ("cuda", "mps", "xpu"):
        if is_available(device_type):
            return torch.device(device_type)
    return torch.device("cpu")


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
