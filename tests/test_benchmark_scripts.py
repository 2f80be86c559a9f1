"""The fitting and accuracy scripts on a checkout without the calibration set: one line naming the missing
file, exit code 2, no traceback (they need ../shared/calibration; rigfit and its tests do not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("args", "missing"), [
    (["fit_speed.py", "--check"], "throughput_llamacpp.csv"),
    (["fit_speed.py"], "throughput_llamacpp.csv"),
    (["accuracy.py"], "memory_llamacpp.csv"),
    (["accuracy.py", "speed"], "throughput_llamacpp.csv"),
    (["accuracy.py", "modern"], "throughput_modern.csv"),
])
def test_a_missing_calibration_set_is_one_line(tmp_path: Path, args: list[str], missing: str) -> None:
    env = {**os.environ, "RIGFIT_CALIBRATION_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"calibration file not found: {tmp_path / missing}")
    assert "RIGFIT_CALIBRATION_DIR" in lines[0]
