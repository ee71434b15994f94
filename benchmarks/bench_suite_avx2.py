"""The test suite's timings on torch's AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2``): what an AMD
Zen 3 or an older Intel CPU runs, measured on any CPU that has AVX2 (see bench_suite).

    python -m benchmarks.run_all --only suite-avx2
"""

from __future__ import annotations

from benchmarks.bench_suite import EXPECTED_SECONDS, run_avx2

run = run_avx2
__all__ = ["EXPECTED_SECONDS", "run"]
