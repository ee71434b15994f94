"""The chapter 3 Accelerate loop, in named steps: data, model, loop, evaluation, checkpoints.

``--batch-size`` is the *global* batch: each of N processes gets batch_size / N pairs of every
batch (``split_batches=True``), so one process and N processes take the same optimizer steps on
the same data (dropout masks differ, so the weights agree closely, not bit for bit).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from course_utils.paths import writable_folder
from course_utils.training import checkpoints as ckpt
from course_utils.training.collective import first_message, stop_everywhere
from course_utils.training.guards import stop_if_loss_not_finite, stop_if_weights_not_finite
from course_utils.training.inputs import load_data, load_model, load_tokenizer
from course_utils.training.lock import output_dir_lock
from course_utils.training.options import RunConfig, TrainingSetupError
from course_utils.training.resume import load_checkpoint, resume_candidates


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


@dataclass
class Run:
    """Everything one training run works with, prepared by Accelerate."""

    config: RunConfig
    accelerator: object
    source: str
    tokenizer: object
    model: object
    optimizer: object
    scheduler: object
    train_loader: object
    eval_loader: object
    sampler: EpochShuffleSampler
    train_rows: int
    steps_per_epoch: int
    total_steps: int
    step: int = 0
    history: list | None = None


def mixed_precision_for(choice: str, use_cpu: bool) -> str:
    """``--mixed-precision auto``: bf16 (or fp16) on a GPU that supports it, none on CPU."""
    if choice != "auto":
        return choice
    if use_cpu:
        return "no"
    from course_utils.models.device import pick_device, supports_bf16

    device = pick_device()
    if device.type == "cpu":
        return "no"
    if supports_bf16(device):
        return "bf16"
    return "fp16" if device.type == "cuda" else "no"


def train(config: RunConfig) -> dict:
    """Run (or resume) training; return the final metrics (on every process).

    Everything that can be checked is checked before the first step: the output folder, the
    checkpoint to resume, the model name, the tokenizer, the data.
    """
    existing = ckpt.latest_checkpoint(config.output_dir)
    if existing is not None and not config.resume:
        raise TrainingSetupError(
            f"{config.output_dir} already holds checkpoints (latest: {existing.name}). "
            "Add --resume to continue that run, or pick a new --output-dir."
        )
    check_output_dir(config.output_dir)
    accelerator = make_accelerator(config)
    with output_dir_lock(accelerator, config.output_dir):  # before anything is written there
        candidates = resume_candidates(accelerator, config)
        run = prepare_run(config, accelerator)
        if candidates:
            load_checkpoint(run, candidates)
        started = time.perf_counter()
        with threads_follow_the_load(accelerator):
            train_steps(run)
        metrics = final_metrics(run, time.perf_counter() - started)
        save_final(run, metrics)
    accelerator.end_training()
    return metrics


@contextlib.contextmanager
def threads_follow_the_load(accelerator):
    """One process on the CPU: torch's threads follow the cores other programs leave free
    (course_utils.training.threads). Several processes split the cores already (torchrun gives
    each one thread), and a GPU does not care."""
    from course_utils.training import threads

    alone_on_cpu = accelerator.num_processes == 1 and accelerator.device.type == "cpu"
    if alone_on_cpu:
        threads.follow_free_cores(announce=accelerator.print)
    try:
        yield
    finally:
        if alone_on_cpu:
            threads.stop_following()


def check_output_dir(output_dir: str) -> None:
    """The output folder and its checkpoints folder can be written (a file is in the way, or a
    read-only place, fails here, not at the first save)."""
    writable_folder(output_dir, "--output-dir")
    writable_folder(ckpt.checkpoints_root(output_dir), "--output-dir")
    for name in ("model", "metrics.json"):
        path = Path(output_dir) / name
        if path.exists() and path.is_dir() != (name == "model"):
            raise TrainingSetupError(
                f"{path} is in the way of the trained model's files: move it away, or pick "
                "another --output-dir"
            )


def make_accelerator(config: RunConfig):
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    from course_utils.models.device import pick_device

    # Accelerate only sets up several CPU processes (gloo) when told it runs on the CPU.
    use_cpu = config.cpu or pick_device().type == "cpu"
    accelerator = Accelerator(
        cpu=use_cpu,
        mixed_precision=mixed_precision_for(config.mixed_precision, use_cpu),
        # Every batch from the loader is the global batch; each process takes its slice.
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    n_proc = accelerator.num_processes
    for flag, size in (
        ("--batch-size", config.batch_size),
        ("--eval-batch-size", config.eval_batch_size),
    ):
        if size % n_proc:  # the same on every process: each raises, the main one prints
            stop_everywhere(
                accelerator,
                TrainingSetupError(
                    f"{flag}={size} cannot be split evenly across {n_proc} processes: "
                    f"use a multiple of {n_proc}."
                ),
            )
    if not accelerator.is_local_main_process:
        import datasets
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        datasets.disable_progress_bars()
    return accelerator


def prepare_run(config: RunConfig, accelerator) -> Run:
    """Tokenizer, data loaders, model, optimizer and scheduler, prepared by Accelerate."""
    import torch
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding, get_scheduler

    from course_utils.models.resolve import resolve_checkpoint

    set_seed(config.seed)
    with accelerator.main_process_first():  # one process builds a stand-in, the others reuse it
        source = resolve_checkpoint(config.checkpoint, announce=accelerator.is_main_process)
    tokenizer = load_tokenizer(source, accelerator)
    train_data, eval_data = load_data(config, tokenizer, accelerator)
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
    model = load_model(source, tokenizer)
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
    return Run(
        config=config,
        accelerator=accelerator,
        source=source,
        tokenizer=tokenizer,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        train_loader=train_loader,
        eval_loader=eval_loader,
        sampler=sampler,
        train_rows=train_data.num_rows,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        history=[],
    )


def train_steps(run: Run) -> None:
    """Optimizer steps until ``run.total_steps``: evaluate after each epoch, save regularly."""
    from tqdm.auto import tqdm

    accelerator = run.accelerator
    accelerator.print(
        f"Training {run.source} on {run.train_rows} pairs: {run.total_steps} steps, "
        f"global batch {run.config.batch_size} over {accelerator.num_processes} process(es), "
        f"{accelerator.device}, mixed precision {accelerator.mixed_precision}."
    )
    progress = tqdm(
        total=run.total_steps, initial=run.step, disable=not accelerator.is_local_main_process
    )
    run.model.train()
    try:
        while run.step < run.total_steps:
            for batch in epoch_batches(run):
                loss = run.model(**batch).loss
                stop_if_loss_not_finite(run, loss)  # before a NaN gradient reaches the weights
                accelerator.backward(loss)
                run.optimizer.step()
                run.scheduler.step()
                run.optimizer.zero_grad()
                run.step += 1
                progress.update(1)
                end_of_epoch = run.step % run.steps_per_epoch == 0 or run.step == run.total_steps
                checkpoint_due = run.step % run.config.save_every == 0
                if end_of_epoch or checkpoint_due:
                    stop_if_weights_not_finite(run)  # never evaluate or save broken weights
                if end_of_epoch:
                    record_evaluation(run)
                if checkpoint_due or run.step == run.total_steps:
                    save(run)
                if run.step >= run.total_steps:
                    break
    finally:
        progress.close()
    if not run.history or run.history[-1]["step"] != run.step:
        run.history.append(evaluate(run))


def epoch_batches(run: Run):
    """The batches of the current epoch still to do (a resumed run skips those already done)."""
    epoch, done_in_epoch = divmod(run.step, run.steps_per_epoch)
    run.train_loader.set_epoch(epoch)
    run.sampler.set_epoch(epoch)
    if not done_in_epoch:
        return run.train_loader
    loader = run.accelerator.skip_first_batches(run.train_loader, done_in_epoch)
    loader.set_epoch(epoch)
    return loader


def evaluate(run: Run) -> dict:
    """Accuracy and F1 on the validation split, gathered from every process."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    run.model.eval()
    predictions, references = [], []
    for batch in run.eval_loader:
        with torch.no_grad():
            logits = run.model(**batch).logits
        preds, labels = run.accelerator.gather_for_metrics((logits.argmax(-1), batch["labels"]))
        predictions += preds.tolist()
        references += labels.tolist()
    run.model.train()
    return {
        "step": run.step,
        "epoch": round(run.step / run.steps_per_epoch, 3),
        "eval_accuracy": accuracy_score(references, predictions),
        "eval_f1": f1_score(references, predictions),
        "eval_rows": len(references),
    }


def record_evaluation(run: Run) -> None:
    result = evaluate(run)
    run.history.append(result)
    run.accelerator.print(
        f"epoch {result['epoch']:g} step {run.step}: accuracy {result['eval_accuracy']:.4f}, "
        f"F1 {result['eval_f1']:.4f}"
    )


def save(run: Run) -> Path:
    state = {
        "step": run.step,
        "total_steps": run.total_steps,
        "history": run.history,
        "config": asdict(run.config),
        "num_processes": run.accelerator.num_processes,
    }
    return ckpt.save_checkpoint(
        run.accelerator, Path(run.config.output_dir), run.step, state, run.config.keep_checkpoints
    )


def final_metrics(run: Run, seconds: float) -> dict:
    metrics = dict(run.history[-1])
    metrics.update(
        {
            "total_steps": run.total_steps,
            "num_processes": run.accelerator.num_processes,
            "global_batch_size": run.config.batch_size,
            "train_rows": run.train_rows,
            "seconds_this_run": round(seconds, 1),
            "history": run.history,
        }
    )
    return metrics


def save_final(run: Run, metrics: dict) -> None:
    """The fine-tuned model (safetensors + tokenizer) and metrics.json, from the main process.

    Both are written next to their place and renamed into it, so a failed write (a full disk)
    never leaves a half-written model where a finished one is expected.
    """
    import json

    accelerator = run.accelerator
    stop_if_weights_not_finite(run)
    output_dir = Path(run.config.output_dir)
    model_dir = output_dir / "model"
    metrics_file = output_dir / "metrics.json"
    tmp_model = output_dir / f"{ckpt.TMP_PREFIX}model"
    tmp_metrics = output_dir / f"{ckpt.TMP_PREFIX}metrics.json"

    def write():
        shutil.rmtree(tmp_model, ignore_errors=True)
        accelerator.unwrap_model(run.model).save_pretrained(tmp_model)
        run.tokenizer.save_pretrained(tmp_model)
        tmp_metrics.write_text(json.dumps(metrics, indent=2))
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(tmp_model, model_dir)
        os.replace(tmp_metrics, metrics_file)

    message = None
    if accelerator.is_main_process:
        try:
            write()
        except Exception as err:  # noqa: BLE001 - safetensors, tokenizers and the OS all fail here
            shutil.rmtree(tmp_model, ignore_errors=True)
            tmp_metrics.unlink(missing_ok=True)
            message = ckpt.write_failure("the trained model", output_dir, err)
    message = first_message(accelerator, message)
    if message is not None:
        stop_everywhere(accelerator, ckpt.CheckpointWriteError(message))
    accelerator.print(
        f"Done: step {run.step}, accuracy {metrics['eval_accuracy']:.4f}, "
        f"F1 {metrics['eval_f1']:.4f}. Model in {model_dir}, metrics in {metrics_file}."
    )
