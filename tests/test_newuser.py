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


# 4. 80 columns: names cut to "Qwen2.5-…", wrapped lines without their indentation, --help examples
#    broken mid-command (the help examples: tests/test_cli.py::test_every_command_has_help_with_example)
def _names_in_table(text: str, first: str) -> list[str]:
    """Whole names read back from a folded plain table: a line with a second-column cell starts a row (that
    column never folds), any other line continues the row above it."""
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith(first + " "))
    width = len(lines[head]) - len(lines[head][len(first):].lstrip()) - 1  # the first column's width
    names: list[str] = []
    for ln in lines[head + 2:]:
        if not ln.strip():
            break
        piece, second = ln[:width].rstrip(), ln[width:width + 6].strip()
        if second:
            names.append(piece)
        else:
            names[-1] += piece
    return names


@pytest.fixture
def width80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


@pytest.mark.usefixtures("width80")
def test_the_catalog_table_keeps_every_name_whole_at_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    from rigfit.models.catalog import default_catalog

    text = run_text(capsys, "models")
    assert max(len(ln) for ln in text.splitlines()) <= 80
    names = _names_in_table(text, "name")
    assert names == [s.name for s in default_catalog().models]  # whole, in order, hence distinguishable
    assert "\u2026" not in text


@pytest.mark.usefixtures("width80")
@pytest.mark.parametrize("hardware", ["3090", "RTX 4060", "M4 Pro 48GB"])
def test_the_hardware_listing_keeps_every_name_whole_at_80_columns(
        capsys: pytest.CaptureFixture[str], hardware: str) -> None:
    text = run_text(capsys, "models", "-H", hardware)
    assert max(len(ln) for ln in text.splitlines()) <= 80
    names = _names_in_table(text, "model")
    listed = [m["model"] for m in run_json(capsys, "models", "-H", hardware)["models"]]
    assert names == listed and len(set(names)) == len(names)


@pytest.mark.parametrize(("line", "width", "expected"), [
    ("  note: one two three four five six", 20, ["  note: one two", "        three four", "        five six"]),
    ("[3] alpha beta gamma delta", 14, ["[3] alpha beta", "    gamma", "    delta"]),
    ("decode 79.1 tok/s over 128 tokens", 20, ["decode 79.1 tok/s", "  over 128 tokens"]),
    ("short", 80, ["short"]),
])
def test_a_wrapped_line_keeps_its_indentation(line: str, width: int, expected: list[str]) -> None:
    from rigfit.report.text import hang

    assert hang(line, width) == expected


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("NVIDIA-Nemotron-3-Super-120B-A12B-Base-BF16", 28, ["NVIDIA-Nemotron-3-Super-", "120B-A12B-Base-BF16"]),
    ("Qwen2.5-Coder-7B-Instruct", 28, ["Qwen2.5-Coder-7B-Instruct"]),
    ("MoE 8/384, MLA", 10, ["MoE 8/384,", "MLA"]),
    ("abcdefghijkl", 5, ["abcde", "fghij", "kl"]),
])
def test_fold_breaks_after_hyphens_and_never_drops_a_character(text: str, width: int, expected: list[str]) -> None:
    from rigfit.report.text import fold

    assert fold(text, width) == expected
    assert all(len(p) <= width for p in fold(text, width))


@pytest.mark.usefixtures("width80")
@pytest.mark.parametrize("args", [
    ("fit", "qwen3.6:35b-a3b", "-H", "4070", "--ram", "32GB", "--ctx", "32k"),
    ("fit", "gpt-oss:120b", "-H", "DGX Spark"),
    ("fit", "llama3.1:8b", "-H", "2x RTX 3060", "--curve"),
    ("models", "-H", "M4 Pro 48GB"),
    ("recommend", "-m", "qwen2.5-coder:32b", "--budget", "3000"),
])
def test_terminal_output_fits_80_columns(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    code = main(list(args))
    out = capsys.readouterr().out
    assert code in (0, 2)
    too_wide = [ln for ln in out.splitlines() if len(ln) > 80]
    assert not too_wide
