"""K and V caches of different types (llama.cpp -ctk / -ctv, common/arg.cpp --cache-type-k / --cache-type-v):
bytes, the flash-attention rule, the launch command, engines that set one type for both, and CUDA's kernels."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

import rigfit
from rigfit.measured import parse_llama_bench_json
from rigfit.web.app import create_app
from tests.conftest import run_cli

GIB = 1024**3


# Llama 3.1 8B: 32 layers, 8 KV heads x 128 = 1,024 K and 1,024 V elements per token and layer.  ggml row sizes
# (ggml.c type traits): q8_0 34 bytes per 32 elements -> 1,088 per row; f16 2 bytes -> 2,048; q4_0 18 per 32 -> 576
@pytest.mark.parametrize(("k", "v", "row_bytes"), [
    ("q8_0", "f16", 1088 + 2048), ("f16", "q8_0", 2048 + 1088), ("q8_0", "q4_0", 1088 + 576),
    ("q8_0", "q8_0", 1088 + 1088), ("f16", None, 2048 + 2048),
])
def test_kv_bytes_follow_each_caches_type(k: str, v: str | None, row_bytes: int) -> None:
    r = rigfit.fit("llama3.1:8b", quant="Q4_K_M", context_tokens=32768, kv_cache_type=k, kv_cache_type_v=v)
    assert r.memory.kv_cache_bytes == 32 * 32768 * row_bytes
    assert r.memory.run.kv_cache_type == k and r.memory.run.kv_type_v == (v or k)


def test_the_label_names_both_types_only_when_they_differ() -> None:
    mixed = rigfit.fit("llama3.1:8b", quant="Q4_K_M", kv_cache_type="q8_0", kv_cache_type_v="f16")
    same = rigfit.fit("llama3.1:8b", quant="Q4_K_M", kv_cache_type="q8_0", kv_cache_type_v="q8_0")
    assert mixed.memory.run.kv_label == "K q8_0 / V f16"
    assert same.memory.run.kv_label == "q8_0" and same.memory.run.kv_cache_type_v == ""


def test_a_quantized_k_cache_alone_needs_no_flash_attention(capsys: pytest.CaptureFixture[str]) -> None:
    """llama-context.cpp refuses a quantized V cache without flash attention; a quantized K cache it takes."""
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-q", "Q4_K_M", "--kv-cache", "q8_0", "--kv-cache-v", "f16",
                             "--flash-attn", "off", "-H", "3090", "--command", "llama.cpp")
    assert code == 0, err
    assert " -fa off -ctk q8_0 -ctv f16 " in out
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-q", "Q4_K_M", "--kv-cache-v", "q4_0", "--flash-attn",
                             "off", "-H", "3090")
    assert (code, out) == (2, "")
    assert err == ("rigfit: error: V-cache type q4_0 needs flash attention in llama.cpp (llama-context.cpp: "
                   "quantized V cache requires Flash Attention)\n")


@pytest.mark.parametrize(("engine", "line"), [
    ("ollama", "rigfit: error: Ollama has no setting for a V-cache type apart from the K cache's (--kv-cache-v, "
               "--engine)\n"),
    ("vllm", "rigfit: error: vLLM has no setting for a V-cache type apart from the K cache's (--kv-cache-v, "
             "--engine)\n"),
])
def test_engines_with_one_cache_type_refuse_two(capsys: pytest.CaptureFixture[str], engine: str, line: str) -> None:
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-e", engine, "--kv-cache-v", "q8_0", "-H", "3090")
    assert (code, out, err) == (2, "", line)


def test_a_bad_v_type_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "--kv-cache-v", "q9", "-H", "3090")
    assert (code, out) == (2, "")
    assert err.startswith("rigfit: error: unknown KV-cache type for llama.cpp 'q9'; valid: f32, f16, bf16, q8_0")


def test_lm_studio_sets_the_two_types_apart(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-q", "Q4_K_M", "--kv-cache", "q8_0", "--kv-cache-v",
                             "q4_0", "-H", "3090", "--command", "lmstudio")
    assert code == 0, err
    assert "K Cache Quantization Type" in out and "q8_0" in out and "V Cache Quantization Type" in out


# ggml-cuda/fattn.cu (ggml_cuda_get_best_fattn_kernel): stock builds decline K->type != V->type and q4_1 / q5_0 /
# q5_1 caches; the scheduler then runs the attention op on the CPU
@pytest.mark.parametrize(("k", "v", "backend", "warned"), [
    ("q8_0", "f16", "cuda", True), ("q5_1", None, "cuda", True), ("q8_0", None, "cuda", False),
    ("q4_0", None, "cuda", False), ("q8_0", "f16", "metal", False), ("q8_0", "f16", "vulkan", False),
])
def test_cuda_pairs_without_a_stock_kernel_are_warned(k: str, v: str | None, backend: str, warned: bool) -> None:
    hw = "M4 Max 64GB" if backend == "metal" else "RTX 3090"
    r = rigfit.fit("llama3.1:8b", quant="Q4_K_M", kv_cache_type=k, kv_cache_type_v=v, hardware=[hw],
                   backend=backend)
    assert any("GGML_CUDA_FA_ALL_QUANTS" in w for w in r.memory.warnings) == warned


def test_the_page_api_takes_the_v_type(capsys: pytest.CaptureFixture[str]) -> None:
    client = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    resp = client.get("/api/fit", params={"model": "llama3.1:8b", "quant": "Q4_K_M", "kv_cache": "q8_0",
                                          "kv_cache_v": "f16", "hardware": "3090"})
    assert resp.status_code == 200
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-q", "Q4_K_M", "--kv-cache", "q8_0", "--kv-cache-v",
                             "f16", "-H", "3090", "--json")
    assert code == 0, err
    assert resp.json() == json.loads(out)
    assert resp.json()["settings"]["kv_cache_type_v"] == "f16"
    bad = client.get("/api/fit", params={"model": "llama3.1:8b", "engine": "ollama", "kv_cache_v": "q8_0"})
    assert bad.status_code == 422 and "kv_cache_v" in json.dumps(bad.json())


def test_llama_bench_type_v_is_read() -> None:
    row = {"build_commit": "abc", "build_number": 9033, "model_filename": "Llama-3.1-8B-Instruct-Q4_K_M.gguf",
           "model_type": "llama 8B Q4_K - Medium", "n_prompt": 0, "n_gen": 128, "n_depth": 0, "avg_ts": 30.5,
           "type_k": "q8_0", "type_v": "f16", "flash_attn": True, "n_gpu_layers": 99, "backends": "CUDA",
           "gpu_info": "NVIDIA GeForce RTX 3090"}
    (run,) = parse_llama_bench_json(json.dumps([row]))
    assert (run.kv_cache_type, run.kv_cache_type_v) == ("q8_0", "f16")
    (same,) = parse_llama_bench_json(json.dumps([{**row, "type_v": "q8_0"}]))
    assert (same.kv_cache_type, same.kv_cache_type_v) == ("q8_0", None)
