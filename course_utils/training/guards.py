"""A run that diverges stops at once, on every process, and never saves a broken model.

The loss is checked at every step, before its gradients are applied (one scalar all-reduce);
the weights are checked before each evaluation, checkpoint and the final save (a loss can stay
finite while some weights, e.g. rows of the embedding no batch used, are already NaN).
"""

from __future__ import annotations

from pathlib import Path

from course_utils.errors import CourseError
from course_utils.training import checkpoints as ckpt
from course_utils.training.collective import stop_everywhere
from course_utils.training.options import DEFAULT_LEARNING_RATE


class TrainingDivergedError(CourseError, RuntimeError):
    """The loss or the weights stopped being finite numbers; nothing was saved as the result."""


def stop_if_loss_not_finite(run, loss) -> None:
    """Stop every process when the loss of this step is NaN or infinite on any of them."""
    import torch

    total = run.accelerator.reduce(loss.detach().float(), reduction="sum")
    if bool(torch.isfinite(total)):
        return
    if run.step == 0:  # the very first step: the weights are the checkpoint's own
        stop_everywhere(run.accelerator, TrainingDivergedError(_broken_from_the_start(run, total)))
    what = f"at step {run.step + 1} of {run.total_steps} the loss is {float(total)}"
    stop_everywhere(run.accelerator, TrainingDivergedError(_diverged(run, what)))


def stop_if_weights_not_finite(run) -> None:
    """Stop every process when any weight is NaN or infinite (before it is evaluated or saved)."""
    import torch

    model = run.accelerator.unwrap_model(run.model)
    bad = sum(int(torch.count_nonzero(~torch.isfinite(p.detach()))) for p in model.parameters())
    votes = torch.tensor([float(bad)], device=run.accelerator.device)
    bad = int(run.accelerator.reduce(votes, reduction="max").item())
    if not bad:
        return
    total = sum(p.numel() for p in model.parameters())
    what = (
        f"after step {run.step} of {run.total_steps}, {bad:,} of the model's {total:,} weights "
        "are NaN or infinite"
    )
    stop_everywhere(run.accelerator, TrainingDivergedError(_diverged(run, what)))


def _diverged(run, what: str) -> str:
    config = run.config
    return (
        f"training diverged: {what}, so the run stopped without saving a broken model (no "
        f"{Path(config.output_dir) / 'model'}, no metrics.json). The learning rate is too "
        f"high: this run used --learning-rate {config.learning_rate:g}; fine-tuning usually "
        f"uses 1e-5 to 1e-4 (the default is {DEFAULT_LEARNING_RATE:g}){_fp16_hint(run)}. Lower "
        f"it and {_start_again(config.output_dir)}."
    )


def _broken_from_the_start(run, total) -> str:
    config = run.config
    precision = run.accelerator.mixed_precision
    try_precision = "" if precision == "no" else f", or try --mixed-precision no (not {precision})"
    return (
        f"the loss of the very first step is {float(total)}, before any weight was updated, so "
        f"the learning rate is not the cause: the weights of {run.source} (--checkpoint "
        f"{config.checkpoint}) or the numeric precision are. Check that checkpoint (a complete "
        f"download? a model trained in float32 or bfloat16?){try_precision}; nothing was saved."
    )


def _fp16_hint(run) -> str:
    if run.accelerator.mixed_precision != "fp16":
        return ""
    return "; with --mixed-precision fp16, large values overflow: bf16 or no is safer"


def _start_again(output_dir: str) -> str:
    latest = ckpt.latest_checkpoint(output_dir)
    if latest is None:
        return "run again (this --output-dir holds no checkpoint yet, so it can be reused)"
    return (
        f"start again in a new --output-dir (or delete {ckpt.checkpoints_root(output_dir)} "
        f"first: its checkpoints, up to {latest.name}, were written with this learning rate, "
        "which --resume would keep)"
    )
