import json
import subprocess
import sys

import pytest

from course_utils.cli import main


def run_course(*args):
    return subprocess.run(
        [sys.executable, "-m", "course_utils.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_prints_report_and_advice(capsys):
    assert main(["doctor", "--no-hub"]) == 0
    out = capsys.readouterr().out
    assert "transformers" in out and "RAM" in out and "Advice:" in out


def test_estimate_local_config_folder(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert main(["estimate", str(tmp_path), "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "109,482,240" in out
    assert "FITS" in out


@pytest.mark.slow
def test_estimate_bad_model_exits_nonzero_with_one_line():
    result = run_course("estimate", "nobody/no-such-model-xyz")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("course estimate:")


@pytest.mark.parametrize("args", [["--help"], ["doctor", "--help"], ["estimate", "--help"]])
def test_help(args):
    result = run_course(*args)
    assert result.returncode == 0
    assert "usage: course" in result.stdout
