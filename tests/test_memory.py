"""Itemized memory: KV cache exact, compute buffers vs real llama.cpp, engine rules."""

from __future__ import annotations

import json

import pytest

from rigfit import fit
from rigfit.engines import get_engine
from rigfit.engines.llamacpp import llamacpp_compute_bytes
from rigfit.errors import InvalidInput, UnknownName
from rigfit.memory import RunConfig

from .conftest import DATA, spec

MIB, GIB = 1024**2, 1024**3


# llama.cpp "llama_kv_cache: size = X MiB" on a Llama-3-8B-shaped GGUF (engine-facts.md 2.2, measured).
@pytest.mark.parametrize(("ctx", "kv", "n_seq", "mib"), [
    (4096, "f16", 1, 512), (4096, "q8_0", 1, 272), (4096, "q4_0", 1, 144), (4000, "f16", 1, 512),
    (4096, "f16", 4, 2048), (131072, "f16", 1, 16384)], ids=["f16", "q8_0", "q4_0", "padded", "4seq", "128k"])
def test_kv_cache_llama3_8b(ctx: int, kv: str, n_seq: int, mib: int) -> None:
    r = fit("Llama-3.1-8B-Instruct", context_tokens=ctx, kv_cache_type=kv, n_seq=n_seq)
    assert r.memory.kv_cache_bytes == mib * MIB


# "KV self size" lines of the Dec 2023 llama.cpp logs, n_ctx = 512 (calibration/memory_llamacpp.csv).
@pytest.mark.parametrize(("model", "mib"), [("LLaMA-1-7B", 256), ("LLaMA-1-13B", 400), ("LLaMA-1-30B", 780),
                                            ("LLaMA-1-65B", 1280), ("Llama-2-70B", 160)])
def test_kv_cache_calibration(model: str, mib: int) -> None:
    assert fit(model, context_tokens=512).memory.kv_cache_bytes == mib * MIB


def test_sliding_window_kv_gemma3() -> None:
    # 62 layers: 52 sliding (1024 window -> pad(1024 + 512, 256) = 1536 cells) + 10 full, head 128, 16 KV heads.
    r = fit("gemma-3-27b-it", context_tokens=32768, kv_cache_type="f16")
    per_cell = 2 * 16 * 128 * 2
    assert r.memory.kv_cache_bytes == per_cell * (52 * 1536 + 10 * 32768)


def test_mla_caches_the_latent() -> None:
    # llama.cpp deepseek2: (kv_lora_rank 512 + rope 64) f16 per token per layer, 61 layers.
    r = fit("DeepSeek-V3", context_tokens=4096, kv_cache_type="f16")
    assert r.memory.kv_cache_bytes == 61 * 576 * 2 * 4096
    assert float(r.memory.kv_bytes_per_token) == 61 * 576 * 2


def _buffers() -> list[dict[str, object]]:
    return [json.loads(line) for line in (DATA / "llamacpp_cpu_buffers.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("row", _buffers(), ids=lambda r: f"{r['model']}-{r['ctx']}-{r['ubatch']}-fa{int(r['fa'])}")
def test_compute_buffer_matches_llamacpp(row: dict[str, object]) -> None:
    """Compute buffers measured with benchmarks/llamacpp_probe.py (llama.cpp @0c1e570 via llama-cpp-python
    0.3.36, no_alloc, CPU backend).  Within 0.5 %, except phi3's fused QKV/up graph (within 12 %)."""
    s = spec(str(row["model"]))
    run = RunConfig(context_tokens=int(row["ctx"]), n_ubatch=int(row["ubatch"]), flash_attention=bool(row["fa"]),
                    logits_all=True)  # llama-cpp-python reserves logits for the whole micro-batch
    dev, host = llamacpp_compute_bytes(s, run)
    tol = 0.12 if s.arch == "phi3" else 0.02 if s.arch == "gemma2" else 0.01
    assert dev / MIB == pytest.approx(float(row["compute"]), rel=tol)  # type: ignore[arg-type]
    assert host / MIB == pytest.approx(float(row["output"]), abs=0.01)  # type: ignore[arg-type]


def test_items_sum_to_totals() -> None:
    m = fit("Qwen2.5-Coder-32B-Instruct", context_tokens=16384).memory
    assert m.total_bytes == m.weights_bytes + m.kv_cache_bytes + m.compute_bytes + m.overhead_bytes
    assert m.total_bytes == m.device_bytes + m.host_bytes
    assert {i.component for i in m.items} == {"weights", "kv_cache", "compute", "overhead"}


def test_seed_claim_32b_q4_k_m_is_about_19_to_20_gb() -> None:
    # Seed 000: "At 4-bit Quantization (Q4_K_M), it shrinks to ~19-20GB."  Computed: 19.85 GB file.
    r = fit("Qwen2.5-Coder-32B-Instruct", quant="Q4_K_M")
    assert 19.0e9 <= r.memory.model_file_bytes <= 20.0e9


def test_seed_claim_32b_fp16_needs_about_64_gb() -> None:
    r = fit("Qwen2.5-Coder-32B-Instruct", quant="F16")
    assert r.memory.model_file_bytes == pytest.approx(65.5e9, rel=0.01)  # 32.76 B params x 2 B


@pytest.mark.parametrize(("engine", "quant", "ok"), [
    ("llama.cpp", "Q4_K_M", True), ("ollama", "Q8_0", True), ("vllm", "AWQ", True), ("vllm", "Q4_K_M", False),
    ("mlx", "MLX-4BIT", True), ("mlx", "AWQ", False), ("transformers", "NF4", True), ("exllamav2", "EXL2-4.5", True),
    ("exllamav2", "Q4_K_M", False), ("llama.cpp", "AWQ", False)])
def test_engine_accepts_quant(engine: str, quant: str, ok: bool) -> None:
    if ok:
        assert fit("Llama-3.1-8B-Instruct", engine=engine, quant=quant, context_tokens=4096).memory.total_bytes > 0
    else:
        with pytest.raises(InvalidInput, match=f"{engine} does not load"):
            fit("Llama-3.1-8B-Instruct", engine=engine, quant=quant, context_tokens=4096)


@pytest.mark.parametrize(("ctx", "message"), [(0, "positive"), (-5, "positive"), (10**9, "beyond any model")])
def test_bad_context(ctx: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        fit("Llama-3.1-8B-Instruct", context_tokens=ctx)


def test_quantized_v_needs_flash_attention() -> None:
    with pytest.raises(InvalidInput, match="needs flash attention"):
        fit("Llama-3.1-8B-Instruct", kv_cache_type="q8_0", flash_attention=False)


def test_unknown_kv_type_for_engine() -> None:
    with pytest.raises(UnknownName, match="KV-cache type for ollama"):
        fit("Llama-3.1-8B-Instruct", engine="ollama", kv_cache_type="q5_1")


def test_vllm_defaults_to_model_context_and_bf16() -> None:
    r = fit("Llama-3.1-8B-Instruct", engine="vllm")
    assert r.memory.run.context_tokens == 131072 and r.quant.name == "BF16"
    assert r.memory.weights_bytes == pytest.approx(8.03e9 * 2, rel=0.01)


def test_exllamav2_keeps_embeddings_on_host() -> None:
    r = fit("Llama-3.1-8B-Instruct", engine="exllamav2", quant="EXL2-4.0", context_tokens=8192)
    embd = next(i for i in r.memory.items if i.name == "token embeddings")
    assert embd.location == "host"


def test_engine_aliases() -> None:
    assert get_engine("llama-server").name == "llama.cpp" and get_engine("LM Studio").name == "lmstudio"


def test_vllm_preallocates_its_pool() -> None:
    # requested = ceil(total x gpu_memory_utilization); the KV pool is the remainder (gpu_worker.py).
    total = 80 * GIB
    r = fit("Llama-3.1-8B-Instruct", engine="vllm", context_tokens=32768, gpu_memory_bytes=total,
            gpu_memory_utilization=0.9)
    assert r.memory.device_bytes == -(-total * 9 // 10)
    assert any(i.name == "KV cache pool (preallocated)" for i in r.memory.items)
    assert r.memory.run.max_num_seqs == 1024  # >= 70 GiB GPUs (arg_utils.get_batch_defaults)


def test_vllm_refuses_a_context_the_pool_cannot_hold() -> None:
    r = fit("Llama-3.1-8B-Instruct", engine="vllm", gpu_memory_bytes=24 * GIB)  # max_model_len 131072
    assert any("vLLM would not start" in w and "max_model_len" in w for w in r.memory.warnings)


def test_vllm_bad_utilization() -> None:
    with pytest.raises(InvalidInput, match="gpu_memory_utilization"):
        fit("Llama-3.1-8B-Instruct", engine="vllm", gpu_memory_bytes=24 * GIB, gpu_memory_utilization=1.5)


def test_mlx_4bit_size_matches_model_card() -> None:
    # mlx-community Qwen2.5-7B-Instruct-4bit (group 64): 4.3 GB (HF model card, engine-facts.md 2.5).
    r = fit("Qwen2.5-7B-Instruct", engine="mlx", quant="MLX-4BIT", context_tokens=512)
    assert r.memory.weights_bytes / 1e9 == pytest.approx(4.3, abs=0.05)
    assert r.memory.run.backend == "metal"


@pytest.mark.parametrize(("model", "per_token_bytes"), [
    # glm4_moe_lite / deepseek_v3 modules: the latent (kv_lora_rank 512) and the rope key (64), bf16, per layer
    ("GLM-4.7-Flash", 47 * (512 + 64) * 2),
    ("DeepSeek-V3", 61 * (512 + 64) * 2),
    # deepseek_v2 module: 16 heads' keys (128 + 64) and values (128) out of kv_b_proj
    ("DeepSeek-V2-Lite-Chat", 27 * 16 * (128 + 64 + 128) * 2),
])
def test_mlx_caches_mla_as_its_module_does(model: str, per_token_bytes: int) -> None:
    """mlx-lm's deepseek_v3 module caches MLA's latent since PR #839 (v0.30.6), as do the modules built on it;
    deepseek_v2's still caches per-head keys and values (engines/mlx.py PER_HEAD_MLA_TYPES)."""
    r = fit(model, engine="mlx", quant="MLX-4BIT", context_tokens=4096)
    assert r.memory.kv_bytes_per_token == per_token_bytes


def test_llama_server_reserves_logits_for_one_token_per_sequence() -> None:
    """llama-server (llama.cpp PR #23861, June 2026) reserves its graph for n_outputs_max = n_seq outputs;
    the bindings (llama-cpp-python) for every token of the micro-batch.  Llama-3.1-8B, 8k, FA on, ubatch 512:
    bindings 4 x 512 x (128,256 vocab + 2 x 4,096) bytes; server: the FFN stage 4 x 512 x (4 x 4,096 + 3 x
    14,336 + 8,192 / 2 + 5) is now the largest."""
    s = spec("Llama-3.1-8B-Instruct")
    server, _ = llamacpp_compute_bytes(s, RunConfig(context_tokens=8192))
    bindings, _ = llamacpp_compute_bytes(s, RunConfig(context_tokens=8192, logits_all=True))
    assert bindings == 4 * 512 * (128256 + 2 * 4096)
    assert server == 4 * 512 * (4 * 4096 + 3 * 14336 + 8192 // 2 + 5)
    r = fit("Llama-3.1-8B-Instruct", context_tokens=8192, logits_all=True)
    assert r.memory.compute_bytes - fit("Llama-3.1-8B-Instruct", context_tokens=8192).memory.compute_bytes \
        == bindings - server
