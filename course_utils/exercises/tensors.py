"""Comparing the learner's tensors with a reference: with tolerances, never printed floats."""

from __future__ import annotations

from course_utils.exercises.core import NotYet

ATOL = 1e-5
RTOL = 1e-4


def as_tensor(value, expected_shape: tuple[int, ...] | None = None):
    """``value`` as a float tensor (a tuple's first element: ``(output, weights)``)."""
    import torch

    if isinstance(value, tuple | list) and value and isinstance(value[0], torch.Tensor):
        value = value[0]
    if not isinstance(value, torch.Tensor):
        raise NotYet("wrong_type", expected="a torch.Tensor", got=type(value).__name__)
    if expected_shape is not None and tuple(value.shape) != tuple(expected_shape):
        raise NotYet("wrong_shape", expected=tuple(expected_shape), got=tuple(value.shape))
    return value.detach().to("cpu", torch.float64)


def close(got, want, atol: float = ATOL, rtol: float = RTOL) -> bool:
    import torch

    want = want.detach().to("cpu", torch.float64)
    return got.shape == want.shape and bool(torch.allclose(got, want, atol=atol, rtol=rtol))
