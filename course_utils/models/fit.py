""" "Will it fit?" for anything that names a model: :func:`estimate_memory` and
:func:`ensure_fits`, the public face of :mod:`course_utils.models.memory`.

A name becomes a config in :func:`course_utils.models.config.describe` (offline too, for catalog
models), and the config an estimate in :func:`course_utils.models.memory.estimate`.
"""

from __future__ import annotations

import torch

from course_utils import settings
from course_utils.display import format_bytes
from course_utils.models import memory
from course_utils.models.config import ConfigUnavailableError, describe
from course_utils.models.memory import (
    DtypeError,
    FitVerdict,
    MemoryEstimate,
    ModelTooLargeError,
    normalize_dtype,
)


def estimate_memory(model, dtype: str = "float32", training: bool = False) -> MemoryEstimate:
    """Estimate memory for a Hub id, a catalog name, a folder / config.json, a config (or dict)
    or a ``Checkpoint``, without downloading weights (see :func:`memory.estimate`).

    ``dtype="auto"``: the dtype the checkpoint is stored in, which is what ``from_pretrained``
    loads by default.
    """
    if not (dtype is None or isinstance(dtype, str | torch.dtype)):
        raise DtypeError(f"dtype must be a name such as 'bfloat16' or a torch.dtype, got {dtype!r}")
    if isinstance(dtype, str) and dtype.strip().lower() != "auto":
        normalize_dtype(dtype)  # a bad name fails before any config is fetched
    memory.check_training(training)
    spec = describe(model)
    return memory.estimate(spec.config, spec.label, dtype=dtype, training=training)


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
    ``dtype="auto"`` checks the dtype the checkpoint is stored in (what ``from_pretrained``
    loads by default). Returns ``None`` when the config of a Hub model cannot be read (the
    later load reports that error itself); a local folder or file that cannot be read raises.
    """
    try:
        spec = describe(model)
    except ConfigUnavailableError:
        if _names_a_local_file(model):
            raise
        return None
    estimate = memory.estimate(spec.config, spec.label, dtype=dtype, training=training)
    verdict = memory.check_fits(estimate, device=device)
    if verdict.fits or allow_too_large or settings.allow_too_large():
        return verdict
    raise ModelTooLargeError(
        f"{estimate.model} needs about {format_bytes(estimate.total_bytes)} in {estimate.dtype} "
        f"but only {format_bytes(verdict.available_bytes)} {verdict.memory_kind} is free, so "
        "loading it would fail or get the process killed. Nothing was downloaded.\n"
        + "\n".join(f"  - {a}" for a in verdict.advice)
        + "\nTo try anyway, pass allow_too_large=True or set COURSE_ALLOW_TOO_LARGE=1."
    )


def _names_a_local_file(model) -> bool:
    import os
    from pathlib import Path

    from course_utils.models.resolve import Checkpoint, ModelName

    if isinstance(model, Checkpoint):
        return model.origin in ("folder", "standin")
    if isinstance(model, ModelName):
        return model.folder is not None
    return isinstance(model, str | os.PathLike) and Path(os.fspath(model)).expanduser().exists()
