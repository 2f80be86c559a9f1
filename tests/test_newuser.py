"""What a new user tripped over (issue 17), each with the check that would have caught it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rigfit.cli import main
from rigfit.hardware import detect as detect_mod
from rigfit.hardware.detect import DetectedSystem

GIB = 1024**3

CPU_ONLY = DetectedSystem(os_name="Linux", cpu_model="AMD Ryzen 7 5800X 8-Core Processor", cpu_cores=8,
                          cpu_flags=("avx2", "fma"), ram_total_bytes=32 * GIB, ram_available_bytes=28 * GIB,
                          disk_free_bytes=500 * GIB, devices=(), notes=("no GPU found: CPU only",))


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def run_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


# 1. `models --this-machine` without a GPU printed `?` and `None/25` for every row, verdict null in JSON
def test_this_machine_without_a_gpu_plans_every_model_on_the_cpu(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(detect_mod, "detect", lambda: CPU_ONLY)
    doc = run_json(capsys, "models", "--this-machine")
    runs = [m for m in doc["models"] if m["verdict"] == "cpu"]
    assert len(runs) > 150  # 32 GiB of RAM holds most of the catalog at some quant
    for m in doc["models"]:
        assert m["verdict"] in ("cpu", "does_not_fit"), m
        assert m["gpu_layers"] == 0, m
    assert all(m["decode_tokens_per_s"] > 0 and m["prefill_tokens_per_s"] > 0 for m in runs)
    text = run_text(capsys, "models", "--this-machine")
    assert "None" not in text and " ? " not in text
    assert text.splitlines()[0] == "What runs on 1x CPU (AMD Ryzen 7 5800X 8-Core Processor, 8 threads)"
