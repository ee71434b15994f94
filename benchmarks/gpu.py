"""GPU benchmarks: the memory estimate against CUDA, chapter-3 training throughput, pipeline batching.

    python -m benchmarks.gpu                       # on a CUDA machine: all three, a few minutes
    python -m benchmarks.gpu --only memory         # one part (memory, throughput, pipeline)
    python -m benchmarks.gpu --device cpu --smoke  # tiny shapes, a step or two: checks the code

On a CUDA machine the tables replace the GPU section of ``benchmarks/results.md`` (the CPU
tables of ``python -m benchmarks.run_all`` stay as they are) and are printed. Elsewhere, without
``--device cpu --smoke``, it refuses: these figures only mean something on a GPU.

Needs torch, transformers (with tokenizers) and psutil; not ``datasets``, not the network, not
the Hugging Face Hub. Models are built from configs with random weights. The text is the
course's MRPC fixture (``course_utils/data/mrpc_fixture/*.jsonl``, read as JSON lines),
tokenized with the bert-base-uncased vocabulary shipped in ``benchmarks/data/`` (the same ids as
the MiniLM tokenizer the CPU benchmarks use).

1. Memory: ``course_utils.models.memory.estimate_memory`` against ``torch.cuda.max_memory_allocated``,
   for inference and for a training step with AdamW, fp32 and bf16 (autocast, fp32 master
   weights), at BERT-base, GPT-2 and a 1.1 B Llama-style shape. The training totals
   (16 / 18 bytes per parameter) are checked against the device, within 15 %.
2. Throughput of the chapter-3 training loop (AdamW, linear schedule) on a BERT-base classifier:
   fp32 vs bf16 autocast, dynamic padding vs padding to 128, in samples per second.
3. Pipeline batching: the text-classification pipeline at batch size 1, 8, 32 and 128.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import markdown_table, package_version

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results.md"
VOCAB = Path(__file__).resolve().parent / "data" / "bert-base-uncased-vocab.txt.gz"
FIXTURE = ROOT / "course_utils" / "data" / "mrpc_fixture"
START_MARK = "<!-- gpu-results:start -->"
END_MARK = "<!-- gpu-results:end -->"
PARTS = ("memory", "throughput", "pipeline")
TOLERANCE = 0.15
COMMAND = "python -m benchmarks.gpu"

# name -> (model_type, config overrides, architecture); the smoke shapes keep the structure.
SHAPES = {
    "BERT-base": ("bert", {"num_labels": 2}, "BertForSequenceClassification"),
    "GPT-2": ("gpt2", {}, "GPT2LMHeadModel"),
    "Llama-style 1.1 B (TinyLlama shape)": (
        "llama",
        {
            "hidden_size": 2048,
            "intermediate_size": 5632,
            "num_hidden_layers": 22,
            "num_attention_heads": 32,
            "num_key_value_heads": 4,
            "vocab_size": 32000,
            "max_position_embeddings": 2048,
            "tie_word_embeddings": False,
        },
        "LlamaForCausalLM",
    ),
}
SMOKE_OVERRIDES = {
    "bert": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    },
    "gpt2": {"n_embd": 32, "n_layer": 2, "n_head": 2},
    "llama": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "vocab_size": 1000,
    },
}


class NoCudaError(RuntimeError):
    """These benchmarks need a CUDA GPU (or ``--device cpu --smoke`` to check the code)."""


@dataclass
class Settings:
    device: str
    smoke: bool
    batch_size: int = 32  # training throughput
    memory_batch: tuple[int, int] = (2, 128)  # (batch, tokens) of the memory benchmark's steps
    inference_batch: tuple[int, int] = (8, 128)
    rounds: int = 3
    epoch_samples: int = 1600  # the 400 fixture pairs, four times, per timed run
    warmup_steps: int = 5
    pipeline_batches: tuple[int, ...] = (1, 8, 32, 128)

    @classmethod
    def for_run(cls, device: str, smoke: bool) -> Settings:
        if not smoke:
            return cls(device, smoke)
        return cls(
            device,
            smoke,
            batch_size=4,
            memory_batch=(1, 16),
            inference_batch=(2, 16),
            rounds=1,
            epoch_samples=8,
            warmup_steps=1,
            pipeline_batches=(1, 8),
        )


# ----------------------------------------------------------------------------- shared pieces


def load_tokenizer():
    """A fast BERT tokenizer from the shipped bert-base-uncased vocabulary (no files, no Hub)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    words = gzip.decompress(VOCAB.read_bytes()).decode("utf-8").splitlines()
    vocab = {word: index for index, word in enumerate(words)}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    backend.decoder = decoders.WordPiece(prefix="##")
    return BertTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_max_length=512,
    )


def fixture_rows(split: str = "train") -> list[dict]:
    with (FIXTURE / f"{split}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def tokenized_pairs(tokenizer, max_length: int = 128) -> list[dict]:
    """The fixture's training pairs as token ids (what chapter 3's ``tokenize_pairs`` gives)."""
    rows = fixture_rows("train")
    encoded = tokenizer(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        truncation=True,
        max_length=max_length,
    )
    return [
        {
            "input_ids": encoded["input_ids"][i],
            "token_type_ids": encoded["token_type_ids"][i],
            "label": rows[i]["label"],
        }
        for i in range(len(rows))
    ]


def collate(examples: list[dict], pad_to: int | None = None) -> dict:
    """Pad a batch to its longest pair (dynamic padding) or to ``pad_to`` tokens."""
    import torch

    length = pad_to or max(len(e["input_ids"]) for e in examples)
    ids = torch.zeros((len(examples), length), dtype=torch.long)  # [PAD] is id 0
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, example in enumerate(examples):
        n = len(example["input_ids"])
        ids[row, :n] = torch.tensor(example["input_ids"])
        types[row, :n] = torch.tensor(example["token_type_ids"])
        mask[row, :n] = 1
    labels = torch.tensor([e["label"] for e in examples])
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels}


def make_config(name: str, smoke: bool):
    from transformers import AutoConfig

    model_type, overrides, architecture = SHAPES[name]
    overrides = {**overrides, **(SMOKE_OVERRIDES[model_type] if smoke else {})}
    config = AutoConfig.for_model(model_type, **overrides)
    config.architectures = [architecture]
    return config


def build_model(config, device: str, dtype=None):
    """A model with random weights, built on ``device`` (and cast to ``dtype``)."""
    import torch
    import transformers

    torch.manual_seed(0)
    with torch.device(device):
        model = getattr(transformers, config.architectures[0])(config)
    return model.to(dtype) if dtype is not None else model


def random_batch(config, device: str, batch: int, tokens: int) -> dict:
    import torch

    generator = torch.Generator().manual_seed(0)
    low = min(1000, config.vocab_size // 2)  # past the special tokens
    ids = torch.randint(low, config.vocab_size, (batch, tokens), generator=generator)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if config.model_type == "bert":
        inputs["labels"] = torch.randint(0, 2, (batch,), generator=generator)
    else:
        inputs["labels"] = ids.clone()
    return {k: v.to(device) for k, v in inputs.items()}


class DeviceMemory:
    """Allocated and peak memory on a CUDA device; ``None`` figures elsewhere (smoke runs)."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.cuda = device.startswith("cuda")
        self.device = device

    def reset(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.device)
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats(self.device)

    def allocated(self) -> int | None:
        return self.torch.cuda.memory_allocated(self.device) if self.cuda else None

    def peak(self) -> int | None:
        if not self.cuda:
            return None
        self.torch.cuda.synchronize(self.device)
        return self.torch.cuda.max_memory_allocated(self.device)


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def describe(settings: Settings) -> str:
    """The device and versions, one line, for the head of each table."""
    import torch

    parts = []
    if settings.device.startswith("cuda"):
        props = torch.cuda.get_device_properties(settings.device)
        parts.append(
            f"{props.name} ({props.total_memory / 2**30:.0f} GiB, compute capability "
            f"{props.major}.{props.minor})"
        )
        parts.append(f"CUDA {torch.version.cuda}, driver {_driver_version()}")
    else:
        parts.append(
            f"{settings.device} ({platform.machine()})" + (", smoke run" if settings.smoke else "")
        )
    versions = ", ".join(
        f"{name} {package_version(name)}" for name in ("torch", "transformers", "tokenizers")
    )
    parts.append(f"{versions}, Python {platform.python_version()}")
    parts.append(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    return "; ".join(parts)


def _driver_version() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else "unknown"
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def _gib(num_bytes: int | None) -> str:
    return "n/a" if num_bytes is None else f"{num_bytes / 2**30:.2f} GiB"


def _error(estimate: int, measured: int | None) -> tuple[str, str]:
    if measured is None or measured == 0:
        return "n/a", "n/a"
    error = (estimate - measured) / measured
    return f"{error * 100:+.1f} %", "yes" if abs(error) <= TOLERANCE else "NO"


def _median_spread(values: list[float]) -> tuple[float, float]:
    median = statistics.median(values)
    spread = (max(values) - min(values)) / 2 / median if len(values) > 1 and median else 0.0
    return median, spread


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- 1. memory


def _training_step(model, optimizer, inputs, autocast: bool, device: str) -> None:
    import torch

    with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
        loss = model(**inputs).loss
    loss.backward()
    optimizer.step()


def _measure_training(config, settings: Settings, mixed: bool, fused: bool) -> dict:
    """Peak and steady memory of training steps 2 and 3 (step 1 creates AdamW's states)."""
    import torch

    memory = DeviceMemory(settings.device)
    memory.reset()
    base = memory.allocated()
    model = build_model(config, settings.device)  # fp32 weights: with autocast, the masters
    model.train()
    kwargs = {"fused": True} if fused else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, **kwargs)
    inputs = random_batch(config, settings.device, *settings.memory_batch)
    peaks, steady = [], []
    for step in range(2 if settings.smoke else 3):
        optimizer.zero_grad(set_to_none=True)
        memory.reset()
        _training_step(model, optimizer, inputs, mixed, settings.device)
        if step > 0:
            peak, allocated = memory.peak(), memory.allocated()
            if peak is not None:
                peaks.append(peak - base)
                steady.append(allocated - base)
    del model, optimizer, inputs
    memory.reset()
    return {"peaks": peaks, "steady": steady}


def _measure_inference(config, settings: Settings, dtype) -> dict:
    import torch

    memory = DeviceMemory(settings.device)
    memory.reset()
    base = memory.allocated()
    model = build_model(config, settings.device, dtype)
    model.eval()
    memory.reset()
    weights = memory.allocated()
    inputs = random_batch(config, settings.device, *settings.inference_batch)
    inputs.pop("labels")
    with torch.no_grad():
        model(**inputs)
    peak = memory.peak()
    del model, inputs
    memory.reset()
    return {
        "weights": None if weights is None else weights - base,
        "peak": None if peak is None else peak - base,
    }


def _out_of_memory_safe(measure, *args):
    """``measure(*args)``, or ``None`` when the device runs out of memory."""
    import gc

    import torch

    try:
        return measure(*args)
    except torch.cuda.OutOfMemoryError:
        gc.collect()
        torch.cuda.empty_cache()
        return None


def _memory_rows(name: str, config, precision: str, settings: Settings) -> tuple[list, list]:
    """Table rows for one shape at one precision, and the training checks made."""
    import torch

    from course_utils.models.fit import estimate_memory

    dtype_name = {"fp32": "float32", "bf16": "bfloat16"}[precision]
    inference = estimate_memory(config, dtype=dtype_name)
    training = estimate_memory(config, dtype=dtype_name, training=True)
    params = training.num_parameters
    measured = _out_of_memory_safe(
        _measure_inference, config, settings, getattr(torch, dtype_name)
    ) or {"weights": "out of memory", "peak": "out of memory"}
    batch, tokens = settings.inference_batch
    rows = [
        [name, f"{params / 1e6:,.0f} M", f"{precision} weights", inference.weights_bytes]
        + [measured["weights"]],
        [
            name,
            "",
            f"{precision} inference peak (batch {batch}×{tokens}; estimate = weights × 1.2)",
            inference.total_bytes,
            measured["peak"],
        ],
    ]
    mixed = precision == "bf16"
    label = "bf16 autocast, fp32 masters" if mixed else "fp32"
    per_param = training.total_bytes / params
    variants = [("AdamW (default)", False)]
    if settings.device.startswith("cuda"):
        variants.append(("AdamW(fused=True)", True))
    checks = []
    b, t = settings.memory_batch
    for optimizer_label, fused in variants:
        result = _out_of_memory_safe(_measure_training, config, settings, mixed, fused)
        peaks = (result or {}).get("peaks") or []
        steady = (result or {}).get("steady") or []
        what = f"{label}, {optimizer_label}"
        rows.append(
            [
                name,
                "",
                f"training step peak, {what}, batch {b}×{t} (estimate {per_param:.0f} B/param)",
                training.total_bytes,
                max(peaks) if peaks else None,
                min(peaks) if peaks else None,
            ]
        )
        rows.append(
            [
                name,
                "",
                f"after the step (weights + gradients + AdamW states), {what}",
                training.total_bytes,
                max(steady) if steady else None,
            ]
        )
        if not fused:
            checks.append(_error(training.total_bytes, max(peaks) if peaks else None)[1])
        if result is None:
            rows[-2][4] = rows[-1][4] = "out of memory"
    return rows, checks


def _format_memory_row(row: list) -> list[str]:
    name, params, what, estimate, measured, *low = row
    if isinstance(measured, str):  # "out of memory"
        return [name, params, what, _gib(estimate), measured, "n/a", "n/a"]
    cell = _gib(measured)
    if low and low[0] is not None and measured is not None and low[0] != measured:
        cell += f" (steps 2–3: {_gib(low[0])}–{_gib(measured)})"
    return [name, params, what, _gib(estimate), cell, *_error(estimate, measured)]


def bench_memory(settings: Settings) -> str:
    rows, checks = [], []
    for name in SHAPES:
        config = make_config(name, settings.smoke)
        for precision in ("fp32", "bf16"):
            log(f"memory: {name}, {precision}")
            more_rows, more_checks = _memory_rows(name, config, precision, settings)
            rows += more_rows
            checks += more_checks
    if all(ok == "n/a" for ok in checks):
        verdict = "Smoke run or no measurement: nothing to compare."
    else:
        verdict = (
            "Training totals (16 B/param fp32, 18 B/param bf16 mixed precision) against the peak "
            f"of a training step with the default AdamW: {checks.count('yes')} of {len(checks)} "
            f"within {TOLERANCE:.0%}."
        )
    header = ["model", "parameters", "what", "estimate", "measured", "error"]
    return (
        f"#### Memory: estimate vs `torch.cuda.max_memory_allocated`\n\n{describe(settings)}\n\n"
        + markdown_table(
            header + [f"within {TOLERANCE:.0%}"], [_format_memory_row(r) for r in rows]
        )
        + f"\n\n{verdict} Memory figures are counts of bytes, not timings: repeated steps give "
        "the same bytes (a range is shown where they did not).\n"
    )


# ----------------------------------------------------------------------------- 2. throughput


def bench_throughput(settings: Settings, tokenizer) -> str:
    import torch
    from transformers import get_scheduler

    pairs = tokenized_pairs(tokenizer)
    rng = random.Random(0)
    examples = [pairs[i % len(pairs)] for i in range(settings.epoch_samples)]
    rng.shuffle(examples)
    size = settings.batch_size
    chunks = [examples[i : i + size] for i in range(0, len(examples), size)]
    batches = {
        "dynamic padding": [collate(c) for c in chunks],
        "pad to 128": [collate(c, pad_to=128) for c in chunks],
    }
    config = make_config("BERT-base", settings.smoke)
    model = build_model(config, settings.device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=10**9)
    device_type = settings.device.split(":")[0]

    def epoch(prepared, mixed: bool, steps: int | None = None):
        for batch in prepared[:steps]:
            batch = {k: v.to(settings.device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=mixed):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        synchronize(settings.device)

    bf16 = not settings.device.startswith("cuda") or torch.cuda.is_bf16_supported()
    precisions = ("fp32", "bf16 autocast") if bf16 else ("fp32",)
    configs = {
        (precision, padding): (batches[padding], precision == "bf16 autocast")
        for precision in precisions
        for padding in batches
    }
    for prepared, mixed in configs.values():
        epoch(prepared, mixed, settings.warmup_steps)
    seconds: dict = {key: [] for key in configs}
    keys = list(configs)
    for round_index in range(settings.rounds):
        log(f"throughput: round {round_index + 1}/{settings.rounds}")
        for key in keys if round_index % 2 == 0 else keys[::-1]:
            start = time.perf_counter()
            epoch(*configs[key])
            seconds[key].append(time.perf_counter() - start)
    rows, rates = [], {}
    for key, values in seconds.items():
        median, spread = _median_spread(values)
        rates[key] = len(examples) / median
        padded = sum(b["input_ids"].numel() for b in configs[key][0])
        rows.append(
            [
                key[0],
                key[1],
                f"{padded / len(examples):.0f}",
                f"{rates[key]:,.0f}",
                f"± {spread:.0%} (n={len(values)})",
            ]
        )
    base = rates[("fp32", "pad to 128")]
    for row, key in zip(rows, seconds, strict=True):
        row.append(f"{rates[key] / base:.2f}x")
    padding_gain = rates[("fp32", "dynamic padding")] / rates[("fp32", "pad to 128")]
    summary = (
        f"Dynamic padding: {padding_gain:.2f}x the samples per second of padding to 128 (fp32)."
    )
    if bf16:
        gain = rates[("bf16 autocast", "dynamic padding")] / rates[("fp32", "dynamic padding")]
        summary += f" bf16 autocast: {gain:.2f}x fp32 (both with dynamic padding)."
    else:
        summary += " This GPU does not support bf16: no bf16 rows."
    return (
        f"#### Training throughput: the chapter-3 loop (BERT-base classifier, random weights, "
        f"batch {size}, {len(examples)} samples per run)\n\n{describe(settings)}\n\n"
        + markdown_table(
            [
                "precision",
                "padding",
                "tokens per sample (incl. padding)",
                "samples/s (median)",
                "spread",
                "vs fp32 padded to 128",
            ],
            rows,
        )
        + f"\n\n{summary} Times include copying each batch to the device; batches are padded "
        "on the CPU beforehand.\n"
    )


# ----------------------------------------------------------------------------- 3. pipeline


def bench_pipeline(settings: Settings, tokenizer) -> str:
    from transformers import pipeline
    from transformers.utils import logging

    logging.set_verbosity_error()
    texts = [
        row[column]
        for split in ("train", "validation", "test")
        for row in fixture_rows(split)
        for column in ("sentence1", "sentence2")
    ]
    if settings.smoke:
        texts = texts[:16]
    config = make_config("BERT-base", settings.smoke)
    model = build_model(config, settings.device)
    model.eval()
    classifier = pipeline(
        "text-classification", model=model, tokenizer=tokenizer, device=settings.device
    )
    sizes = settings.pipeline_batches
    for size in sizes:  # warm-up: kernels, tokenizer, allocator
        classifier(texts[: max(size, 8)], batch_size=size)
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for round_index in range(settings.rounds):
        log(f"pipeline: round {round_index + 1}/{settings.rounds}")
        for size in sizes if round_index % 2 == 0 else sizes[::-1]:
            start = time.perf_counter()
            classifier(texts, batch_size=size)
            synchronize(settings.device)
            seconds[size].append(time.perf_counter() - start)
    rows, rates = [], {}
    for size, values in seconds.items():
        median, spread = _median_spread(values)
        rates[size] = len(texts) / median
        rows.append(
            [
                str(size),
                f"{median:.2f} s ± {spread:.0%} (n={len(values)})",
                f"{rates[size]:,.0f}",
                f"{rates[size] / rates[sizes[0]]:.2f}x",
            ]
        )
    return (
        f"#### Pipeline batching: text-classification, BERT-base (random weights), "
        f"{len(texts)} fixture sentences\n\n{describe(settings)}\n\n"
        + markdown_table(
            ["batch_size", "time (median ± half-range)", "sentences/s", "vs batch 1"], rows
        )
        + "\n"
    )


# ----------------------------------------------------------------------------- command


def run(settings: Settings, parts=PARTS) -> str:
    tokenizer = load_tokenizer() if {"throughput", "pipeline"} & set(parts) else None
    sections = []
    if "memory" in parts:
        sections.append(bench_memory(settings))
    if "throughput" in parts:
        sections.append(bench_throughput(settings, tokenizer))
    if "pipeline" in parts:
        sections.append(bench_pipeline(settings, tokenizer))
    return "\n".join(sections)


def not_recorded_section(reason: str) -> str:
    return (
        f"### On a GPU\n\nNot recorded: {reason}. On a machine with a CUDA GPU, one command runs "
        f"all three GPU benchmarks (memory estimate vs the device, chapter-3 training throughput, "
        f"pipeline batching) and writes their tables here:\n\n    {COMMAND}\n\n"
        "It needs torch, transformers and psutil, but neither `datasets` nor the network. "
        "See docs/benchmarks.md.\n"
    )


def replace_gpu_section(text: str, section: str) -> str:
    """``text`` with its GPU block (between the markers) replaced by ``section``."""
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}"
    pattern = re.compile(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def gpu_section(text: str) -> str | None:
    """The GPU block of a results file, markers included, or ``None``."""
    match = re.search(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), text, re.S)
    return match.group(0) if match else None


def check_device(device: str | None, smoke: bool) -> str:
    import torch

    if device is None:
        if not torch.cuda.is_available():
            raise NoCudaError(
                f"No CUDA GPU here (torch {torch.__version__}, CUDA build "
                f"{torch.version.cuda or 'none'}): these benchmarks measure a GPU and record "
                f"nothing elsewhere. Run `{COMMAND}` on a machine with one. To check that the "
                f"code runs, on any machine: {COMMAND} --device cpu --smoke"
            )
        return "cuda"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NoCudaError(f"--device {device}: no CUDA GPU is available here.")
        return device
    if not smoke:
        raise NoCudaError(
            f"--device {device} runs only with --smoke: full-size shapes off a GPU would take "
            "hours and measure nothing this file is about."
        )
    return device


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument("--device", help="cuda (default), cuda:N, or cpu with --smoke")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, a step or two")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"results file whose GPU section to replace (default for a full run on a GPU: "
        f"benchmarks/{RESULTS.name}; --only and --smoke runs write only where this is given)",
    )
    args = parser.parse_args(argv)
    try:
        device = check_device(args.device, args.smoke)
    except NoCudaError as err:
        print(f"benchmarks.gpu: {err}", file=sys.stderr)
        return 2
    settings = Settings.for_run(device, args.smoke)
    if args.smoke and not device.startswith("cuda"):
        import torch

        torch.set_num_threads(1)  # tiny shapes: threads only wait on each other on a busy machine
    start = time.perf_counter()
    section = run(settings, args.only or PARTS)
    heading = "### On a GPU" + (" (smoke run: tiny shapes, nothing to quote)" if args.smoke else "")
    section = f"{heading}\n\n`{COMMAND}` took {time.perf_counter() - start:.0f} s.\n\n{section}"
    # The results file gets the full set only: a partial or smoke run writes where it is told.
    full_run = not args.smoke and not args.only
    output = args.output if args.output is not None else (RESULTS if full_run else None)
    if output is not None:
        existing = output.read_text(encoding="utf-8") if output.is_file() else ""
        output.write_text(replace_gpu_section(existing, section), encoding="utf-8")
        log(f"wrote the GPU section of {output}")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
