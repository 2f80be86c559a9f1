"""The CLI: parsed --json, exact error lines, exit codes, help with examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import click
import pytest

from rigfit.cli import main_group
from tests.conftest import run_cli


def test_fit_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "qwen2.5-coder:32b", "--ctx", "16k", "--json")
    assert code == 0
    doc = json.loads(out)
    mem = doc["memory"]
    for key in ("weights_bytes", "kv_cache_bytes", "compute_bytes", "overhead_bytes", "total_bytes"):
        assert isinstance(mem[key], int) and mem[key] > 0
    assert mem["total_bytes"] == sum(mem[k] for k in ("weights_bytes", "kv_cache_bytes", "compute_bytes",
                                                      "overhead_bytes"))
    assert doc["settings"]["context_tokens"] == 16384
    assert mem["kv_cache_bytes"] == 4 * 1024**3  # 64 layers x 8 KV heads x 128 x 2 x 2 B x 16384
    assert doc["quant"] == "Q4_K_M" and doc["engine"] == "llama.cpp"


def test_fit_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "llama3.1:8b", "--ctx", "4096")
    assert code == 0
    assert "Llama-3.1-8B-Instruct" in out and "KV cache" in out and "total" in out and "GiB" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "nosuchmodel"], "rigfit: error: unknown model 'nosuchmodel'"),
        (["fit", "qwen2.5-coder-32", "--json"], "rigfit: error: unknown model 'qwen2.5-coder-32'; did you mean: "),
        (["fit", "llama3.1:8b", "--quant", "Q4_K_MM"], "rigfit: error: unknown quantization 'Q4_K_MM'; did you mean:"),
        (["fit", "llama3.1:8b", "--ctx", "-1"],
         "rigfit: error: context length must be a positive number of tokens, got -1"),
        (["fit", "llama3.1:8b", "--ctx", "0"],
         "rigfit: error: context length must be a positive number of tokens, got 0"),
        (["fit", "llama3.1:8b", "--ctx", "999999999"], "rigfit: error: context length 999,999,999 tokens is beyond"),
        (["fit", "llama3.1:8b", "--ctx", "lots"], "rigfit: error: context length 'lots' is not a number"),
        (["fit", "llama3.1:8b", "--engine", "vllm", "--quant", "Q4_K_M"], "rigfit: error: vllm does not load Q4_K_M"),
        (["fit", "llama3.1:8b", "--engine", "nope"], "rigfit: error: unknown engine 'nope'"),
        (["fit", "./missing.gguf"], "rigfit: error: ./missing.gguf: no such file or folder"),
        (["fit", "llama3.1:8b", "--bogus"], "rigfit: error: No such option '--bogus'"),
        (["fit"], "rigfit: error: Missing argument 'MODEL'."),
    ],
    ids=["unknown", "close", "quant", "negative", "zero", "absurd", "word", "engine-quant", "engine", "file",
         "option", "missing"],
)
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1  # exactly one line
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "kind", "name"), [
    (["fit", "llama3.1:8b", "--hardware", "nosuchgpu"], "hardware", "nosuchgpu"),
    (["fit", "zzzzqqq"], "model", "zzzzqqq"),
    (["fit", "llama3.1:8b", "--quant", "ZZZ"], "quantization", "ZZZ"),
])
def test_unknown_name_without_close_match_says_so(capsys: pytest.CaptureFixture[str], args: list[str], kind: str,
                                                  name: str) -> None:
    """A name with no close match among hundreds says so, with the count and three examples, instead of a list cut
    at twelve names that reads as the whole catalog."""
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.match(rf"rigfit: error: unknown {kind} '{name}'; no close match among [0-9,]+ known names \(such as "
                    r"[^,]+, [^,]+, [^,)]+\)", err), err
    assert "valid:" not in err and "..." not in err


def test_bad_gguf_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "broken.gguf"
    p.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    code, _, err = run_cli(capsys, "fit", str(p))
    assert code == 2 and err.startswith(f"rigfit: error: {p}: corrupt GGUF header") and err.count("\n") == 1


def test_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "models", "--json")
    names = [m["name"] for m in json.loads(out)["models"]]
    assert code == 0 and len(names) >= 40 and "Qwen2.5-Coder-32B-Instruct" in names


def test_no_arguments_runs_default_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "stack", "--json")
    assert code == 0
    names = [r["model"]["name"] for r in json.loads(out)["results"]]
    assert names == ["Qwen2.5-Coder-32B-Instruct", "DeepSeek-R1-Distill-Qwen-32B"]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
    return out


def _leaf(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = main_group
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("command", _commands(main_group), ids=" ".join)
def test_every_command_has_help_with_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            command: tuple[str, ...]) -> None:
    """Each help ends in whole example commands (issue 17: they wrapped mid-command), within 80 columns, and
    each example parses: its subcommand exists and its options and values are accepted."""
    import shlex

    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= 80
    start = next(i for i, ln in enumerate(lines) if ln.strip() in ("Example:", "Examples:"))
    examples = [ln.strip() for ln in lines[start + 1:] if ln.strip().startswith("rigfit ")]
    assert examples
    for ex in examples:
        argv = shlex.split(ex)[1:]
        cmd: click.Command = main_group
        while isinstance(cmd, click.Group) and argv and argv[0] in cmd.commands:
            cmd = cmd.commands[argv.pop(0)]
        if not isinstance(cmd, click.Group):
            cmd.make_context(cmd.name or "", argv)  # raises on an unknown option or a missing value


@pytest.mark.parametrize("command", [c for c in _commands(main_group) if not isinstance(_leaf(c), click.Group)],
                         ids=" ".join)
def test_every_command_has_json(command: tuple[str, ...]) -> None:
    assert any(p.name == "as_json" for p in _leaf(command).params)


def test_console_script_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "rigfit", "fit", "nosuch"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("rigfit: error: unknown model 'nosuch'")


def test_swa_full_is_a_fit_option(capsys: pytest.CaptureFixture[str]) -> None:
    """llama.cpp --swa-full: the sliding-window layers of Gemma 3 27B get full-size caches (52 of 62 layers
    x 16 KV heads x 128 x 2 x 2 bytes x 32,768 cells = 13.0 GiB instead of their 1,024-cell window)."""
    def sliding(*extra: str) -> int:
        code, out, _ = run_cli(capsys, "fit", "gemma-3-27b-it", "--ctx", "32k", "--json", *extra)
        assert code == 0
        items = json.loads(out)["memory"]["items"]
        return next(i["bytes"] for i in items if i["name"] == "KV cache, sliding-window layers")

    assert sliding("--swa-full") == 52 * 16 * 128 * 2 * 2 * 32768 > 10 * sliding()
    code, _, err = run_cli(capsys, "fit", "llama3.1:8b", "-e", "vllm", "--swa-full")
    assert code == 2 and err == "rigfit: error: vLLM has no setting for a full-size sliding-window cache " \
                                "(--swa-full, --engine)\n"


def test_mmproj_adds_the_vision_tower(capsys: pytest.CaptureFixture[str]) -> None:
    """llama.cpp --mmproj: the F16 vision tower (Qwen3-VL-8B: 575.9M parameters counted from its
    vision_config, 576.4M published) is loaded beside the text model."""
    def items(*extra: str) -> dict[str, int]:
        code, out, _ = run_cli(capsys, "fit", "qwen3-vl-8b", "--json", *extra)
        assert code == 0
        return {i["name"]: i["bytes"] for i in json.loads(out)["memory"]["items"]}

    with_tower, without = items("--mmproj"), items()
    assert with_tower["vision encoder (mmproj)"] == 2 * 575_926_272
    assert "vision encoder (mmproj)" not in without
    code, _, err = run_cli(capsys, "fit", "llama3.1:8b", "--mmproj")
    assert code == 2 and err.startswith("rigfit: error: Llama-3.1-8B-Instruct has no vision tower") \
        and err.endswith("(--mmproj)\n")
    code, _, err = run_cli(capsys, "fit", "qwen3-vl-8b", "-e", "vllm", "--mmproj")
    assert code == 2 and err == "rigfit: error: vLLM has no setting for a separate vision projector file " \
                                "(--mmproj, --engine)\n"


def test_models_hardware_table_reads_in_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "models", "--hardware", "RTX 3090", "--min-params", "200B")
    lines = out.splitlines()
    assert code == 0 and max(len(line) for line in lines) <= 80
    assert lines[0] == "What runs on 1x NVIDIA GeForce RTX 3090"
    assert lines[2] == "model                           quant      runs     layers    GiB decode prefill"
    assert lines[3] == "-" * 80
    assert lines[-1] == "context 8,192 tokens; memory in GiB; decode and prefill in tokens/s"
    deepseek = next(line for line in lines if line.startswith("DeepSeek-V3.1 "))
    assert deepseek.split()[1:3] == ["IQ1_M", "no"]  # 671B does not fit 24 GiB + 64 GiB of RAM
