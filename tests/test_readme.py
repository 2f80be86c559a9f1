"""The README stays true: its first two commands are the install/main-job and test lines that CI runs,
and every `rigfit` and `python benchmarks/...` line in its code blocks runs as shown."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
LINES = [ln.split("  #")[0].strip() for b in BLOCKS for ln in b.splitlines() if ln.strip()]


def test_readme_opens_with_the_two_commands() -> None:
    first, second = LINES[0], LINES[1]
    assert README.lstrip().startswith("# rigfit")
    assert first == "python -m pip install . && python -m rigfit"
    assert second == "python -m pip install '.[test,bench]' && python -m pytest"
    assert second in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("line", [ln for ln in LINES if ln.startswith("rigfit ") and " serve" not in ln])
def test_rigfit_lines_run(line: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    # each line with a calibration file of its own: a README calibration never reaches another test's plan
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    assert main(shlex.split(line)[1:]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("line", [ln for ln in LINES if ln.startswith("rigfit serve")])
def test_serve_lines_serve(line: str) -> None:
    """``rigfit serve`` runs until stopped: start it as shown, fetch the page and one API answer, stop it."""
    import time
    import urllib.request

    args = shlex.split(line)[1:]
    port = args[args.index("--port") + 1] if "--port" in args else "8765"
    with subprocess.Popen([sys.executable, "-m", "rigfit", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as proc:
        try:
            for _ in range(150):
                try:
                    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                    break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    time.sleep(0.1)
            assert b"rigfit" in page
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/hardware/3090", timeout=5) as resp:
                assert resp.status == 200
        finally:
            proc.terminate()


@pytest.mark.slow
@pytest.mark.parametrize("line", [ln for ln in LINES if ln.startswith("python benchmarks/")])
def test_benchmark_lines_run(line: str) -> None:
    if ("accuracy" in line or "fit_speed" in line) and not (ROOT.parent / "shared" / "calibration").exists():
        pytest.skip("../shared/calibration is not beside this checkout")
    proc = subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
