"""Memory estimate accuracy: estimated weight bytes vs measured growth of process memory.

Each model is built with random weights in a fresh process; the resident set size (RSS) is read
after the imports and after the build. Also times the 141 B-parameter estimate (no weights).
"""

from __future__ import annotations

import json

from benchmarks.common import markdown_table, run_python

MODELS = {
    "MiniLM-L6 (BERT, 384 wide)": dict(
        model_type="bert",
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
    ),
    "BERT-base": dict(model_type="bert"),
    "GPT-2 medium": dict(model_type="gpt2", n_embd=1024, n_layer=24, n_head=16),
}

_BUILD = """
import json, gc, psutil, torch
from transformers import AutoConfig, AutoModel
from course_utils.memory import estimate_memory
data = json.loads({data!r})
config = AutoConfig.for_model(data.pop("model_type"), **data)
estimate = estimate_memory(config, dtype={dtype!r})
dtype = getattr(torch, {dtype!r})
proc = psutil.Process()
gc.collect()
before = proc.memory_info().rss
model = AutoModel.from_config(config, dtype=dtype)
after = proc.memory_info().rss
print(json.dumps(dict(estimate=estimate.weights_bytes, measured=after - before,
                      params=estimate.num_parameters,
                      actual=sum(p.numel() * p.element_size() for p in model.parameters()))))
"""

_BIG = """
import json, time, psutil
proc = psutil.Process()
import torch, transformers, accelerate
from course_utils.memory import estimate_memory
before = proc.memory_info().rss
start = time.perf_counter()
est = estimate_memory("alpindale/WizardLM-2-8x22B", dtype="bfloat16")
seconds = time.perf_counter() - start
print(json.dumps(dict(seconds=seconds, rss_growth=proc.memory_info().rss - before,
                      peak_rss=proc.memory_info().rss, params=est.num_parameters)))
"""


def run(repeats: int = 3) -> str:
    rows = []
    for name, config in MODELS.items():
        for dtype in ("float32", "bfloat16"):
            results = [
                json.loads(run_python(_BUILD.format(data=json.dumps(config), dtype=dtype)))
                for _ in range(repeats)
            ]
            measured = sorted(r["measured"] for r in results)[len(results) // 2]
            estimate = results[0]["estimate"]
            error = (estimate - measured) / measured
            rows.append(
                [
                    name,
                    dtype,
                    f"{results[0]['params'] / 1e6:.1f} M",
                    f"{estimate / 2**20:.0f} MiB",
                    f"{measured / 2**20:.0f} MiB",
                    f"{error * 100:+.1f} %",
                    "yes" if abs(error) <= 0.15 else "NO",
                ]
            )
    big = [json.loads(run_python(_BIG)) for _ in range(repeats)]
    seconds = sorted(b["seconds"] for b in big)
    growth = sorted(b["rss_growth"] for b in big)
    table = markdown_table(
        [
            "model (random weights)",
            "dtype",
            "parameters",
            "estimate",
            "measured RSS growth",
            "error",
            "within 15 %",
        ],
        rows,
    )
    return (
        "### Memory estimate accuracy\n\n" + table + "\n\n"
        f"The 141 B-parameter WizardLM-2-8x22B estimate (meta device, no weights): "
        f"median {seconds[len(seconds) // 2]:.2f} s (range {seconds[0]:.2f}–{seconds[-1]:.2f} s), "
        f"process memory growth median {growth[len(growth) // 2] / 2**20:.0f} MiB "
        f"over {repeats} runs (target: under 3 s and 300 MB).\n"
    )


if __name__ == "__main__":
    print(run())
