"""Fine-tune a checkpoint on MRPC with Accelerate: the chapter 3 loop as a script.

One process:           python -m course_utils.train_mrpc --output-dir runs/mrpc
Two processes (CPU):   torchrun --nproc_per_node 2 -m course_utils.train_mrpc --output-dir runs/mrpc
Several GPUs/machines: accelerate config, then accelerate launch -m course_utils.train_mrpc ...
After a crash:         the same command with --resume

``--batch-size`` is the *global* batch: each of N processes gets batch_size / N pairs of every
batch, so one process and N processes take the same optimizer steps on the same data (dropout
masks differ, so the weights agree closely, not bit for bit). Checkpoints (model, optimizer,
scheduler, RNG states and the step) go to ``OUTPUT_DIR/checkpoints/step-N``, written to a
temporary folder first and renamed into place, so a half-written checkpoint is never the latest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_CHECKPOINT = "google-bert/bert-base-uncased"
CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.json"
TMP_PREFIX = ".tmp-"
STEP_DIR = re.compile(r"^step-(\d+)$")
# Settings that must match for --resume to continue the same run.
RUN_DEFINING = (
    "checkpoint",
    "epochs",
    "batch_size",
    "learning_rate",
    "seed",
    "max_steps",
    "train_subset",
    "max_length",
)


class TrainingSetupError(RuntimeError):
    """Bad settings or a checkpoint that cannot be resumed; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The script's flags (shared by ``python -m course_utils.train_mrpc`` and ``course``)."""
    parser.add_argument(
        "--checkpoint",
        default=DEFAULT_CHECKPOINT,
        help="model to fine-tune: Hub id, catalog name or local folder (default: %(default)s; "
        "offline, course_utils.resolve_checkpoint picks the cached copy or a stand-in)",
    )
    parser.add_argument("--output-dir", default="runs/mrpc", help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=3, help="default: %(default)s")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="global batch size, split across processes (default: %(default)s)",
    )
    parser.add_argument(
        "--eval-batch-size", type=int, default=None, help="default: twice --batch-size"
    )
    parser.add_argument("--learning-rate", "--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42, help="default: %(default)s")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="stop after this many optimizer steps"
    )
    parser.add_argument(
        "--train-subset", type=int, default=None, help="use only the first N training pairs"
    )
    parser.add_argument(
        "--eval-subset", type=int, default=None, help="use only the first N validation pairs"
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="truncate pairs to N tokens (default: 128)"
    )
    parser.add_argument(
        "--save-every",
        type=int,
        default=50,
        help="write a checkpoint every N optimizer steps, and at the end (default: %(default)s)",
    )
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        default=2,
        help="how many of the newest checkpoints to keep (default: %(default)s)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the latest complete checkpoint in OUTPUT_DIR/checkpoints",
    )
    parser.add_argument(
        "--cpu", action="store_true", help="train on the CPU even if a GPU is available"
    )
    parser.add_argument(
        "--mixed-precision",
        choices=["auto", "no", "fp16", "bf16"],
        default="auto",
        help="auto: bf16 (or fp16) on a GPU that supports it, none on CPU (default: auto)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.train_mrpc",
        description=__doc__.split("\n\n")[0],
        epilog="Multi-process: torchrun --nproc_per_node 2 -m course_utils.train_mrpc [FLAGS]",
    )
    add_arguments(parser)
    return parser


@dataclass(frozen=True)
class RunConfig:
    checkpoint: str
    output_dir: str
    epochs: int
    batch_size: int
    eval_batch_size: int
    learning_rate: float
    seed: int
    max_steps: int | None
    train_subset: int | None
    eval_subset: int | None
    max_length: int
    save_every: int
    keep_checkpoints: int
    resume: bool
    cpu: bool
    mixed_precision: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunConfig:
        values = {name: getattr(args, name) for name in cls.__dataclass_fields__}
        if values["eval_batch_size"] is None:
            values["eval_batch_size"] = 2 * values["batch_size"]
        config = cls(**values)
        config.validate()
        return config

    def to_argv(self) -> list[str]:
        """The command-line flags that give this configuration."""
        argv = []
        for name, value in asdict(self).items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                argv += [flag] if value else []
            elif value is not None:
                argv += [flag, str(value)]
        return argv

    def validate(self) -> None:
        positive = {
            "--epochs": self.epochs,
            "--batch-size": self.batch_size,
            "--eval-batch-size": self.eval_batch_size,
            "--max-length": self.max_length,
            "--save-every": self.save_every,
            "--keep-checkpoints": self.keep_checkpoints,
        }
        for optional in ("max_steps", "train_subset", "eval_subset"):
            if getattr(self, optional) is not None:
                positive["--" + optional.replace("_", "-")] = getattr(self, optional)
        bad = [f"{flag}={value}" for flag, value in positive.items() if value < 1]
        if bad:
            raise TrainingSetupError(f"these settings must be at least 1: {', '.join(bad)}")
        if self.learning_rate <= 0:
            raise TrainingSetupError(f"--learning-rate must be > 0, got {self.learning_rate}")


# ---------------------------------------------------------------------------------------------
# Checkpoint folders


def checkpoints_root(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / CHECKPOINTS_DIR


def complete_checkpoints(output_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every complete checkpoint, oldest first.

    Complete means renamed into place (``step-N``) with its state file inside; temporary
    ``.tmp-*`` folders left by a crash never count.
    """
    root = checkpoints_root(output_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_DIR.match(child.name)
        if match and child.is_dir() and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint folder, or ``None``."""
    found = complete_checkpoints(output_dir)
    return found[-1][1] if found else None


def remove_partial_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Delete temporary folders a crashed run left behind; return what was removed."""
    root = checkpoints_root(output_dir)
    removed = []
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith(TMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed


# ---------------------------------------------------------------------------------------------
# Training


class EpochShuffleSampler:
    """Shuffles indices with a generator seeded by ``seed + epoch``.

    The order of every epoch depends only on the seed and the epoch number, so a resumed run
    and a run with more processes see exactly the same batches.
    """

    def __init__(self, num_rows: int, seed: int):
        self.num_rows = num_rows
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        import torch

        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.num_rows, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_rows


def resolve(checkpoint: str) -> str:
    """Where the weights come from: a local folder as is, otherwise resolve_checkpoint."""
    if Path(checkpoint).is_dir():
        return checkpoint
    from course_utils.checkpoints import resolve_checkpoint

    return resolve_checkpoint(checkpoint)


def mixed_precision_for(choice: str, use_cpu: bool) -> str:
    if choice != "auto":
        return choice
    if use_cpu:
        return "no"
    from course_utils.device import pick_device, supports_bf16

    device = pick_device()
    if device.type == "cpu":
        return "no"
    if supports_bf16(device):
        return "bf16"
    return "fp16" if device.type == "cuda" else "no"


def train(config: RunConfig) -> dict:
    """Run (or resume) training; return the final metrics (on every process)."""
    existing = latest_checkpoint(config.output_dir)
    if existing is not None and not config.resume:
        raise TrainingSetupError(
            f"{config.output_dir} already holds checkpoints (latest: {existing.name}). "
            "Add --resume to continue that run, or pick a new --output-dir."
        )
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from sklearn.metrics import accuracy_score, f1_score
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        get_scheduler,
    )
    from transformers.utils import logging as hf_logging

    from course_utils.device import pick_device
    from course_utils.mrpc import load_mrpc, tokenize_pairs

    # Accelerate only sets up several CPU processes (gloo) when told it runs on the CPU.
    use_cpu = config.cpu or pick_device().type == "cpu"
    accelerator = Accelerator(
        cpu=use_cpu,
        mixed_precision=mixed_precision_for(config.mixed_precision, use_cpu),
        # Every batch from the loader is the global batch; each process takes its slice.
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    n_proc = accelerator.num_processes
    for name, size in (
        ("--batch-size", config.batch_size),
        ("--eval-batch-size", config.eval_batch_size),
    ):
        if size % n_proc:
            raise TrainingSetupError(
                f"{name}={size} cannot be split evenly across {n_proc} processes: "
                f"use a multiple of {n_proc}."
            )
    if not accelerator.is_local_main_process:
        import datasets

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        datasets.disable_progress_bars()
    output_dir = Path(config.output_dir)

    resume_from = None
    if config.resume:
        if accelerator.is_main_process:
            for leftover in remove_partial_checkpoints(output_dir):
                accelerator.print(f"Removed a half-written checkpoint left by a crash: {leftover}")
        accelerator.wait_for_everyone()
        resume_from = latest_checkpoint(output_dir)
        if resume_from is None:
            accelerator.print(
                f"--resume: no checkpoint in {checkpoints_root(output_dir)}; starting fresh."
            )
        else:
            check_resumable(resume_from, config)

    set_seed(config.seed)
    source = resolve(config.checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(source)
    with accelerator.main_process_first():
        raw = load_mrpc(verbose=accelerator.is_main_process)
    train_rows = raw["train"]
    if config.train_subset is not None:
        train_rows = train_rows.select(range(min(config.train_subset, train_rows.num_rows)))
    eval_rows = raw["validation"]
    if config.eval_subset is not None:
        eval_rows = eval_rows.select(range(min(config.eval_subset, eval_rows.num_rows)))
    keep = ["input_ids", "token_type_ids", "attention_mask", "label"]

    def prepare(rows):
        tokenized = tokenize_pairs(rows, tokenizer, max_length=config.max_length)
        tokenized = tokenized.remove_columns([c for c in tokenized.column_names if c not in keep])
        return tokenized.rename_column("label", "labels").with_format("torch")

    train_data, eval_data = prepare(train_rows), prepare(eval_rows)
    if train_data.num_rows < config.batch_size:
        raise TrainingSetupError(
            f"only {train_data.num_rows} training pairs for a batch of {config.batch_size}: "
            "lower --batch-size or raise --train-subset."
        )
    collator = DataCollatorWithPadding(tokenizer)
    sampler = EpochShuffleSampler(train_data.num_rows, config.seed)
    # drop_last: every step sees a full global batch that splits evenly across processes.
    # Own generators: creating a loader iterator must not draw from the global RNG, or a
    # resumed run's dropout masks would drift from the uninterrupted run's.
    train_loader = DataLoader(
        train_data,
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=True,
        collate_fn=collator,
        generator=torch.Generator().manual_seed(config.seed),
    )
    eval_loader = DataLoader(
        eval_data,
        batch_size=config.eval_batch_size,
        collate_fn=collator,
        generator=torch.Generator().manual_seed(config.seed),
    )

    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=2, dtype=torch.float32
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = len(train_loader)
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_scheduler(
        "linear", optimizer=optimizer, num_warmup_steps=0, num_training_steps=total_steps
    )
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler
    )

    step = 0
    history: list[dict] = []
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        state = json.loads((resume_from / STATE_FILE).read_text())
        step, history = state["step"], state["history"]
        accelerator.print(f"Resumed from {resume_from} at step {step} of {total_steps}.")

    def evaluate(epoch: float) -> dict:
        model.eval()
        predictions, references = [], []
        for batch in eval_loader:
            with torch.no_grad():
                logits = model(**batch).logits
            preds, labels = accelerator.gather_for_metrics((logits.argmax(-1), batch["labels"]))
            predictions += preds.tolist()
            references += labels.tolist()
        model.train()
        return {
            "step": step,
            "epoch": round(epoch, 3),
            "eval_accuracy": accuracy_score(references, predictions),
            "eval_f1": f1_score(references, predictions),
            "eval_rows": len(references),
        }

    def save_checkpoint() -> Path:
        root = checkpoints_root(output_dir)
        final = root / f"step-{step:07d}"
        tmp = root / f"{TMP_PREFIX}step-{step:07d}"
        if accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))  # every process writes its own RNG state
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            state = {
                "step": step,
                "total_steps": total_steps,
                "history": history,
                "config": asdict(config),
                "num_processes": n_proc,
            }
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))
            if final.exists():  # only when re-saving a step that is already complete
                shutil.rmtree(final)
            os.replace(tmp, final)  # atomic: "latest" is always complete
            for _, old in complete_checkpoints(output_dir)[: -config.keep_checkpoints]:
                shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()
        return final

    accelerator.print(
        f"Training {source} on {train_data.num_rows} pairs: {total_steps} steps, "
        f"global batch {config.batch_size} over {n_proc} process(es), "
        f"{accelerator.device}, mixed precision {accelerator.mixed_precision}."
    )
    started = time.perf_counter()
    progress = tqdm(total=total_steps, initial=step, disable=not accelerator.is_local_main_process)
    model.train()
    while step < total_steps:
        epoch, done_in_epoch = divmod(step, steps_per_epoch)
        train_loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = (
            accelerator.skip_first_batches(train_loader, done_in_epoch)
            if done_in_epoch
            else train_loader
        )
        if done_in_epoch:
            loader.set_epoch(epoch)
        for batch in loader:
            loss = model(**batch).loss
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            progress.update(1)
            epoch_done = step % steps_per_epoch == 0
            if epoch_done or step == total_steps:
                history.append(evaluate(step / steps_per_epoch))
                accelerator.print(
                    f"epoch {history[-1]['epoch']:g} step {step}: "
                    f"accuracy {history[-1]['eval_accuracy']:.4f}, F1 {history[-1]['eval_f1']:.4f}"
                )
            if step % config.save_every == 0 or step == total_steps:
                save_checkpoint()
            if step >= total_steps:
                break
    progress.close()
    if not history or history[-1]["step"] != step:
        history.append(evaluate(step / steps_per_epoch))

    metrics = dict(history[-1])
    metrics.update(
        {
            "total_steps": total_steps,
            "num_processes": n_proc,
            "global_batch_size": config.batch_size,
            "train_rows": train_data.num_rows,
            "seconds_this_run": round(time.perf_counter() - started, 1),
            "history": history,
        }
    )
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        model_dir = output_dir / "model"
        accelerator.unwrap_model(model).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        accelerator.print(
            f"Done: step {step}, accuracy {metrics['eval_accuracy']:.4f}, "
            f"F1 {metrics['eval_f1']:.4f}. Model in {model_dir}, metrics in "
            f"{output_dir / 'metrics.json'}."
        )
    accelerator.end_training()
    return metrics


def check_resumable(folder: Path, config: RunConfig) -> None:
    """Refuse to resume a checkpoint written with different run-defining settings."""
    try:
        saved = json.loads((folder / STATE_FILE).read_text())["config"]
    except (OSError, ValueError, KeyError) as err:
        raise TrainingSetupError(f"cannot read {folder / STATE_FILE}: {err}") from None
    current = asdict(config)
    different = [
        f"--{name.replace('_', '-')} {saved.get(name)!r} -> {current[name]!r}"
        for name in RUN_DEFINING
        if saved.get(name) != current[name]
    ]
    if different:
        raise TrainingSetupError(
            f"the checkpoint {folder} was written with other settings ({'; '.join(different)}). "
            "Resume with the original flags, or use a new --output-dir to start a new run."
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    try:
        train(RunConfig.from_args(args))
    except TrainingSetupError as err:
        print(f"train-mrpc: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
