"""The course repository these tools work on: they are used from a clone (an editable install
of ``authoring/``), so the notebooks and the learner package are found next to them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
