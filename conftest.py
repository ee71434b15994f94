"""Test-session setup: every test and every notebook kernel runs offline.

This runs before any test module (and so before huggingface_hub) is imported, and notebook
kernels started by nbval inherit this environment. A throwaway HF_HOME and stand-in cache
prove that nothing needs the network or a warm cache.
"""

import os
import tempfile

_session_home = tempfile.mkdtemp(prefix="hf-course-test-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = os.path.join(_session_home, "hf_home")
os.environ.setdefault("COURSE_CACHE", os.path.join(_session_home, "course_cache"))
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["MPLBACKEND"] = "Agg"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("COURSE_DEVICE", None)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One xdist worker per core (python3 tasks.py test): each keeps to one thread, it and the
    # processes it starts, or torch's threads would take turns with the other worker's
    # (benchmarks/results.md, threads under load). Outputs must not depend on it: learners'
    # thread counts differ too.
    os.environ["OMP_NUM_THREADS"] = "1"

# The zh-CN edition shares every code cell with the English notebooks, which nbval runs; its own
# cells (the Chinese-text sections) run in tests/test_zh_cn_edition.py. So nbval skips the folder.
collect_ignore_glob = ["notebooks/zh-CN/*"]


def pytest_collection_modifyitems(config, items):
    """Every nbval cell is in the ``notebook`` tier (tests/conftest.py marks the others)."""
    import pytest

    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
