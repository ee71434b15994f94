"""``--resume``: which checkpoint to continue from, past damaged ones, and loading it.

Every complete checkpoint is checked first (:func:`course_utils.training.checkpoints.checkpoint_problems`):
the newest intact one is used, and each newer one that was passed over is named with what is
wrong with it. A checkpoint whose only problem is an RNG state is used only when no intact one
is left, with a warning that the random state could not be restored.
"""

from __future__ import annotations

from pathlib import Path

from course_utils.errors import first_line
from course_utils.training import checkpoints as ckpt
from course_utils.training.options import RunConfig, TrainingSetupError, check_resumable


def resume_candidates(accelerator, config: RunConfig) -> list[tuple[Path, list[str]]]:
    """With ``--resume``: (folder, RNG problems) to try, best first; ``[]`` to start fresh."""
    if not config.resume:
        return []
    output_dir = Path(config.output_dir)
    if accelerator.is_main_process:
        for leftover in ckpt.remove_partial_checkpoints(output_dir):
            accelerator.print(f"Removed a half-written checkpoint left by a crash: {leftover}")
    accelerator.wait_for_everyone()
    found = ckpt.complete_checkpoints(output_dir)
    if not found:
        accelerator.print(
            f"--resume: no checkpoint in {ckpt.checkpoints_root(output_dir)}; starting fresh."
        )
        return []
    intact, rng_only, damaged = [], [], []
    for _, folder in reversed(found):
        hard, rng = ckpt.checkpoint_problems(folder, accelerator.num_processes)
        if hard:
            damaged.append(f"{folder.name}: {'; '.join(hard)}")
        else:
            (rng_only if rng else intact).append((folder, rng))
    candidates = intact + rng_only
    if not candidates:
        raise TrainingSetupError(
            f"--resume: every checkpoint in {ckpt.checkpoints_root(output_dir)} is damaged "
            f"({' / '.join(damaged)}). Start a new run with another --output-dir, or delete "
            "that folder to start this run again from the beginning."
        )
    check_resumable(candidates[0][0], config)
    return candidates


def load_checkpoint(run, candidates: list[tuple[Path, list[str]]]) -> None:
    """Load the first candidate that loads into ``run``; say what was passed over and why."""
    accelerator = run.accelerator
    for folder, rng in candidates:
        try:
            accelerator.load_state(str(folder))
            state = ckpt.read_state(folder)
        except Exception as err:  # noqa: BLE001 - a damaged checkpoint: try the next one
            accelerator.print(
                f"--resume: {folder.name} could not be loaded ({first_line(err)}); "
                "trying an older checkpoint."
            )
            continue
        _report(run, folder, rng)
        run.step, run.history = state["step"], state["history"]
        accelerator.print(f"Resumed from {folder} at step {run.step} of {run.total_steps}.")
        return
    raise TrainingSetupError(
        f"--resume: no checkpoint in {ckpt.checkpoints_root(run.config.output_dir)} could be "
        "loaded (see above). Start a new run with another --output-dir."
    )


def _report(run, folder: Path, rng: list[str]) -> None:
    """Warn about the newer checkpoints passed over, and about an RNG state not restored."""
    accelerator = run.accelerator
    newer = [f for _, f in ckpt.complete_checkpoints(run.config.output_dir) if f.name > folder.name]
    for other in reversed(newer):
        hard, other_rng = ckpt.checkpoint_problems(other, accelerator.num_processes)
        why = "; ".join(hard + other_rng) or "it could not be loaded"
        accelerator.print(f"Warning: checkpoint {other.name} is damaged ({why}).")
    if newer:
        accelerator.print(
            f"Falling back to {folder.name}, the newest intact checkpoint: the steps after it "
            "are trained again."
        )
    if rng:
        accelerator.print(
            f"Warning: the random state cannot be restored from {folder.name} "
            f"({'; '.join(rng)}): dropout masks will differ from an uninterrupted run, so the "
            "final weights will differ slightly."
        )
