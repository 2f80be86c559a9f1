"""Launch commands realize the placement: each command is parsed back and compared with the plan."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

import pytest

from rigfit import fit
from rigfit.api import FitResult
from rigfit.errors import InvalidInput, UnknownName
from rigfit.launch import Launch, launch
from rigfit.report.launch_out import launch_text
from tests.conftest import run_cli


def _llama_server_parser() -> argparse.ArgumentParser:
    """The llama-server flags rigfit writes, as llama.cpp common/arg.cpp spells them."""
    p = argparse.ArgumentParser(prog="llama-server", add_help=False)
    p.add_argument("-m", required=True)
    p.add_argument("-c", type=int, required=True)
    p.add_argument("-np", type=int, default=1)
    p.add_argument("-ngl", type=int, required=True)
    p.add_argument("--n-cpu-moe", type=int, default=0)
    p.add_argument("--split-mode", choices=["none", "layer", "row"], default="layer")
    p.add_argument("--tensor-split", default="")
    p.add_argument("-fa", choices=["on", "off", "auto"], required=True)
    p.add_argument("-ctk", default="f16")
    p.add_argument("-ctv", default="f16")
    p.add_argument("-b", type=int, default=2048)
    p.add_argument("-ub", type=int, default=512)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    return p


def llama_cpp_assignment(n_layer: int, ngl: int, split: list[float]) -> list[list[int]]:
    """Which GPU llama.cpp gives each offloaded layer (output = n_layer): the first GPU whose cumulative share
    exceeds (il - i_gpu_start) / ngl (src/llama-model.cpp load_tensors, upper_bound over the split)."""
    first = n_layer + 1 - ngl
    total = sum(split)
    cum, acc = [], 0.0
    for s in split:
        acc += s / total
        cum.append(acc)
    out: list[list[int]] = [[] for _ in split]
    for il in range(first, n_layer + 1):
        frac = (il - first) / ngl
        gpu = next(i for i, c in enumerate(cum) if c > frac)
        out[gpu].append(il)
    return out


def planned_units(r: FitResult) -> list[list[int]]:
    assert r.placement is not None
    return [[*d.layers, *([r.spec.n_layers] if d.has_output else [])]
            for d in r.placement.devices if d.role == "gpu"]


LLAMA_CASES = [
    # model, quant, hardware, context, kv
    ("Qwen2.5-Coder-32B-Instruct", "Q4_K_M", ["RTX 3090"], 16384, None),
    ("Qwen2.5-Coder-32B-Instruct", "Q4_K_M", ["RTX 3090"], 32768, "q8_0"),
    ("Qwen2.5-Coder-32B-Instruct", "Q4_K_M", ["2x RTX 3060"], 16384, None),
    ("Llama-3.1-70B-Instruct", "Q4_K_M", ["RTX 3090"], 8192, None),
    ("Llama-3.1-70B-Instruct", "Q4_K_M", ["RTX 3090", "RTX 3060"], 8192, None),
    ("Llama-3.1-70B-Instruct", "Q4_K_M", ["M4 Pro 20-core 48GB"], 8192, None),
    ("Qwen3-30B-A3B", "Q8_0", ["RTX 3060"], 32768, None),
    ("Llama-3.1-8B-Instruct", "Q4_K_M", ["AMD AM5 desktop"], 8192, None),
]


@pytest.mark.parametrize(("model", "quant", "hw", "ctx", "kv"), LLAMA_CASES)
def test_llama_server_flags_realize_the_placement(model: str, quant: str, hw: list[str], ctx: int,
                                                  kv: str | None) -> None:
    r = fit(model, quant=quant, hardware=hw, context_tokens=ctx, kv_cache_type=kv)
    p = r.placement
    assert p is not None and p.verdict != "does_not_fit"
    lc = launch(r, "llama.cpp")
    assert lc.runnable and lc.argv[0] == "llama-server"
    assert lc.commands == (shlex.join(lc.argv),)
    a = _llama_server_parser().parse_args(list(lc.argv[1:]))
    assert a.c == ctx * r.memory.run.n_seq
    assert a.ngl == p.gpu_layers
    assert a.n_cpu_moe == p.n_cpu_moe
    assert a.ctk == a.ctv == r.memory.run.kv_cache_type
    assert a.fa == ("on" if r.memory.run.flash_attention else "off")
    gpus = [d for d in p.devices if d.role == "gpu"]
    if len(gpus) > 1:
        split = [float(x) for x in a.tensor_split.split(",")]
        assert llama_cpp_assignment(r.spec.n_layers, a.ngl, split) == planned_units(r)
    else:
        assert a.tensor_split == ""


LLAMAFILE_CASES = [
    # model, quant, hardware, backend, context, the --gpu mode llamafile takes (docs/cli_arguments.md)
    ("Qwen2.5-Coder-32B-Instruct", "Q4_K_M", ["RTX 3090"], None, 16384, "nvidia"),
    ("Qwen3-30B-A3B", "Q8_0", ["RTX 3060"], None, 32768, "nvidia"),
    ("Llama-3.1-8B-Instruct", "Q4_K_M", ["RX 7900 XTX"], None, 8192, "amd"),
    ("Llama-3.1-8B-Instruct", "Q4_K_M", ["RX 7900 XTX"], "vulkan", 8192, "vulkan"),
    ("Llama-3.1-70B-Instruct", "Q4_K_M", ["M4 Pro 20-core 48GB"], None, 8192, "apple"),
    ("Llama-3.1-8B-Instruct", "Q4_K_M", ["AMD AM5 desktop"], None, 8192, "disable"),
]


@pytest.mark.parametrize(("model", "quant", "hw", "backend", "ctx", "gpu"), LLAMAFILE_CASES)
def test_llamafile_server_realizes_the_placement(model: str, quant: str, hw: list[str], backend: str | None,
                                                 ctx: int, gpu: str) -> None:
    """llamafile --server takes llama-server's flags after its own --server and --gpu MODE."""
    r = fit(model, quant=quant, hardware=hw, context_tokens=ctx, engine="llamafile",
            **({"backend": backend} if backend else {}))
    p = r.placement
    assert p is not None and p.verdict != "does_not_fit"
    lc = launch(r, "llamafile")
    assert lc.runnable and lc.argv[:4] == ("llamafile", "--server", "--gpu", gpu)
    assert lc.commands == (shlex.join(lc.argv),)
    a = _llama_server_parser().parse_args(list(lc.argv[4:]))
    assert a.c == ctx and a.ngl == p.gpu_layers and a.n_cpu_moe == p.n_cpu_moe
    assert a.fa == ("on" if r.memory.run.flash_attention else "off")
    assert ("GPU backend (--gpu)", gpu) in lc.settings


def test_moe_case_really_keeps_experts_in_ram() -> None:
    r = fit("Qwen3-30B-A3B", quant="Q8_0", hardware=["RTX 3060"], context_tokens=32768)
    assert r.placement is not None and r.placement.n_cpu_moe > 0
    assert f"--n-cpu-moe {r.placement.n_cpu_moe}" in launch(r, "llama.cpp").commands[0]


def test_cpu_only_plan_offloads_nothing() -> None:
    r = fit("Llama-3.1-8B-Instruct", quant="Q4_K_M", hardware=["AMD AM5 desktop"], context_tokens=8192)
    assert r.placement is not None and r.placement.verdict == "cpu"
    assert " -ngl 0 " in launch(r, "llama.cpp").commands[0]


def _modelfile(lc: Launch) -> dict[str, str]:
    (f,) = lc.files
    assert f.name == "Modelfile"
    lines = f.content.splitlines()
    assert lines[0].startswith("FROM ")
    out = {"FROM": lines[0].split(" ", 1)[1]}
    for line in lines[1:]:
        kw, key, value = line.split(" ")
        assert kw == "PARAMETER"
        out[key] = value
    return out


@pytest.mark.parametrize(("quant", "hw", "ctx", "kv", "want_from"), [
    ("Q4_K_M", ["RTX 3090"], 16384, "q8_0", "qwen2.5-coder:32b"),
    ("Q5_K_M", ["RTX 3090"], 8192, None, "./Qwen2.5-Coder-32B-Instruct-Q5_K_M.gguf"),
    ("Q4_K_M", ["RTX 3060"], 8192, None, "qwen2.5-coder:32b"),
])
def test_ollama_modelfile_and_environment(quant: str, hw: list[str], ctx: int, kv: str | None,
                                          want_from: str) -> None:
    r = fit("Qwen2.5-Coder-32B-Instruct", quant=quant, hardware=hw, context_tokens=ctx, kv_cache_type=kv,
            engine="ollama")
    assert r.placement is not None
    lc = launch(r, "ollama")
    mf = _modelfile(lc)
    # num_gpu left unset: Ollama passes no -ngl and llama-server fits the layers, as the plan does
    assert mf == {"FROM": want_from, "num_ctx": str(ctx)}
    env = dict(x.split("=", 1) for x in lc.argv if "=" in x)
    assert env["OLLAMA_FLASH_ATTENTION"] == "1"
    assert env.get("OLLAMA_KV_CACHE_TYPE", "f16") == r.memory.run.kv_cache_type
    assert lc.argv[-2:] == ("ollama", "serve")
    assert lc.commands[1].startswith("ollama create ") and lc.commands[1].endswith(" -f Modelfile")


@pytest.mark.parametrize(("model", "hw", "want_gpu"), [
    ("Qwen2.5-Coder-32B-Instruct", ["RTX 3090"], "max"),
    ("Llama-3.1-70B-Instruct", ["RTX 3090"], None),  # partial: a fraction
])
def test_lmstudio_load_command_and_settings(model: str, hw: list[str], want_gpu: str | None) -> None:
    r = fit(model, quant="Q4_K_M", hardware=hw, context_tokens=8192, engine="lmstudio", kv_cache_type="q8_0")
    p = r.placement
    assert p is not None
    lc = launch(r, "lmstudio")
    argv = list(lc.argv)
    assert argv[:2] == ["lms", "load"]
    gpu = argv[argv.index("--gpu") + 1]
    assert argv[argv.index("--context-length") + 1] == "8192"
    settings = dict(lc.settings)
    if want_gpu:
        assert gpu == want_gpu and settings["GPU Offload"].endswith("(max)")
    else:
        # the fraction, turned back into layers, gives the planned -ngl (rounded to 2 digits: within 1 layer)
        assert abs(float(gpu) * (r.spec.n_layers + 1) - p.gpu_layers) <= 1
        assert settings["GPU Offload"] == f"{p.gpu_layers} / {r.spec.n_layers}"
    assert settings["K Cache Quantization Type"] == settings["V Cache Quantization Type"] == "q8_0"
    assert settings["Context Length"] == "8192"


def _vllm_args(lc: Launch) -> dict[str, str]:
    argv = list(lc.argv)
    assert argv[:2] == ["vllm", "serve"]
    flags = argv[3:]
    return dict(zip(flags[::2], flags[1::2], strict=True))


@pytest.mark.parametrize(("model", "quant", "hw", "ctx", "kv", "want_repo"), [
    ("Qwen2.5-Coder-32B-Instruct", "AWQ", ["2x RTX 4090"], 32768, None, "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"),
    ("Llama-3.1-8B-Instruct", "BF16", ["RTX 4090"], 16384, "fp8", "meta-llama/Llama-3.1-8B-Instruct"),
    ("Llama-3.1-70B-Instruct", "FP8", ["4x RTX 4090"], 8192, None, "meta-llama/Llama-3.1-70B-Instruct"),
])
def test_vllm_serve_realizes_parallelism_and_pool(model: str, quant: str, hw: list[str], ctx: int, kv: str | None,
                                                   want_repo: str) -> None:
    r = fit(model, quant=quant, hardware=hw, context_tokens=ctx, kv_cache_type=kv, engine="vllm")
    p = r.placement
    assert p is not None and p.verdict == "gpu"
    lc = launch(r, "vllm")
    assert lc.argv[2] == want_repo
    a = _vllm_args(lc)
    assert int(a["--max-model-len"]) == ctx
    assert float(a["--gpu-memory-utilization"]) == r.memory.run.gpu_memory_utilization
    assert int(a.get("--tensor-parallel-size", "1")) == p.tensor_parallel
    assert int(a.get("--pipeline-parallel-size", "1")) == p.pipeline_parallel
    assert a.get("--kv-cache-dtype", "auto") == ("fp8" if r.memory.run.kv_cache_type == "fp8" else "auto")
    if quant == "FP8":
        assert a["--quantization"] == "fp8"


@pytest.mark.parametrize(("kv", "want"), [(None, ("--max-kv-size", "16384")), ("q4", ("--kv-bits", "4"))])
def test_mlx_server_bounds_the_planned_cache(kv: str | None, want: tuple[str, str]) -> None:
    r = fit("Qwen2.5-Coder-32B-Instruct", quant="MLX-4BIT", hardware=["M4 Max 40-core 64GB"], context_tokens=16384,
            kv_cache_type=kv, engine="mlx")
    lc = launch(r, "mlx")
    convert, serve = (shlex.split(c) for c in lc.commands)
    assert convert[:3] == ["mlx_lm.convert", "--hf-path", "Qwen/Qwen2.5-Coder-32B-Instruct"]
    assert convert[convert.index("--q-bits") + 1] == "4"
    assert serve[serve.index("--model") + 1] == convert[convert.index("--mlx-path") + 1]
    assert serve[serve.index(want[0]) + 1] == want[1]
    assert not ("--max-kv-size" in serve and "--kv-bits" in serve)  # mlx_lm.server rejects the pair
    assert serve[serve.index("--decode-concurrency") + 1] == str(r.memory.run.n_seq)


def test_plan_that_does_not_fit_gets_no_command() -> None:
    r = fit("Llama-3.1-70B-Instruct", quant="BF16", hardware=["RTX 3060"], context_tokens=8192, engine="vllm")
    assert r.placement is not None and r.placement.verdict == "does_not_fit"
    lc = launch(r, "vllm")
    assert not lc.runnable and lc.commands == () and lc.argv == ()
    assert lc.notes[0].startswith("no command: Llama-3.1-70B-Instruct BF16 does not fit")


@pytest.mark.parametrize(("command", "exc", "message"), [
    ("foo", UnknownName, "unknown launch command engine 'foo'; valid: llama.cpp, ollama, ollama-mlx, lmstudio, "
                             "llamafile, vllm, mlx, exo"),
    ("exllamav2", InvalidInput, "no launch command for exllamav2; rigfit writes commands for llama.cpp, ollama, "
                                "ollama-mlx, lmstudio, llamafile, vllm, mlx, exo"),
    ("ollama", InvalidInput, "the ollama command needs a plan for ollama, but this fit was planned for llama.cpp"),
])
def test_bad_command_names(command: str, exc: type[Exception], message: str) -> None:
    r = fit("Llama-3.1-8B-Instruct", quant="Q4_K_M", hardware=["RTX 3090"])
    with pytest.raises(exc) as info:
        launch(r, command)
    assert str(info.value) == message




def test_cli_command_exact_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "fit", "qwen2.5-coder:32b", "--ctx", "16k", "-H", "2x RTX 3060",
                             "--command", "llama.cpp")
    assert code == 0 and err == ""
    assert out == (
        "# llama.cpp: Qwen2.5-Coder-32B-Instruct Q4_K_M on 2x NVIDIA GeForce RTX 3060 12GB, 16,384 tokens; "
        "gpu, 65 of 65 layers on the GPU\n"
        "llama-server -m Qwen2.5-Coder-32B-Instruct-Q4_K_M.gguf -c 16384 -ngl 65 --split-mode layer "
        "--tensor-split 33,32 -fa on -ctk q8_0 -ctv q8_0 --host 127.0.0.1 --port 8080\n"
        "# -m: the path of your Q4_K_M GGUF file of Qwen2.5-Coder-32B-Instruct\n"
        "# backend cuda: use a CUDA build of llama.cpp\n"
    )


def test_cli_command_picks_the_engine_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "qwen2.5-coder:32b", "-q", "Q4_K_M", "--ctx", "8k", "-H", "3090",
                           "--command", "ollama", "--json")
    assert code == 0
    doc: dict[str, Any] = json.loads(out)
    assert doc["engine"] == "ollama"
    launch_doc = doc["launch"]
    assert launch_doc["engine"] == "ollama" and launch_doc["runnable"] is True
    assert launch_doc["files"][0]["content"].splitlines()[1:] == ["PARAMETER num_ctx 8192"]


@pytest.mark.parametrize(("args", "message"), [
    (["--command", "tabby"], "rigfit: error: unknown launch command engine 'tabby'; valid: llama.cpp, ollama, "
                             "ollama-mlx, lmstudio, llamafile, vllm, mlx, exo\n"),
    (["--engine", "vllm", "--command", "ollama"],
     "rigfit: error: the ollama command needs a plan for ollama, but this fit was planned for vllm "
     "(--command, --engine)\n"),
])
def test_cli_command_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-H", "3090", *args)
    assert code == 2 and out == "" and err == message


def test_text_lists_lmstudio_settings() -> None:
    r = fit("Llama-3.1-8B-Instruct", quant="Q4_K_M", hardware=["RTX 3090"], engine="lmstudio")
    text = launch_text(launch(r, "lmstudio"))
    assert "#   GPU Offload: 32 / 32 (max)\n" in text and "#   Context Length: 4096\n" in text
