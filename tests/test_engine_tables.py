"""Exact per-engine tables: each number is worked out by hand from the engine rule it cites, so a one-line
change to a rule (a cap, a padding, a constant) fails here.

Shapes (catalog, from each model's config.json): gemma-2-9b-it 42 layers alternating sliding (window 4,096)
and full attention, 8 KV heads x 256; Llama-3.1-8B 32 layers, 8 KV heads x 128, vocab 128,256, FFN 14,336;
Qwen3-30B-A3B 128 routed experts, 8 used per token.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import rigfit
from rigfit.hardware.resolve import resolve_device
from rigfit.hardware.usable import usable_memory
from rigfit.launch import launch
from rigfit.network import AR_PCIE_SHARE
from rigfit.request import make_request
from rigfit.speedwork import device_work
from rigfit.system import make_system
from rigfit.training import FineTune, training_memory
from rigfit.units import GIB
from rigfit.vocab import Component

GEMMA_ROW = 2 * 8 * 256  # K + V elements per token per layer


def _kv(model: str, engine: str, quant: str, ctx: int, n_seq: int = 1) -> dict[str, int]:
    r = rigfit.fit(model, engine=engine, quant=quant, context_tokens=ctx, n_seq=n_seq)
    return {i.name: i.n_bytes for i in r.memory.items if i.component == Component.KV_CACHE}


@pytest.mark.parametrize(("engine", "quant", "n_seq", "sliding_cells"), [
    # llama.cpp: one stream per sequence (kv_unified off, as llama-server -np N and the bindings run it), each
    # GGML_PAD(min(n_ctx_seq, n_swa + n_ubatch), 256) cells (src/llama-kv-cache-iswa.cpp, llama.cpp b11434;
    # checked against llama-cpp-python 0.3.36 by benchmarks/llamacpp_probe.py)
    ("llama.cpp", "F16", 1, 4608), ("llama.cpp", "F16", 2, 2 * 4608),
    # vLLM: the window rounded to 16-token blocks plus one block being filled, per sequence
    ("vllm", "BF16", 1, 4112), ("vllm", "BF16", 2, 2 * 4112),
    # MLX: RotatingKVCache(max_size=sliding_window) per sequence (mlx_lm/models/cache.py)
    ("mlx", "BF16", 1, 4096), ("mlx", "BF16", 2, 2 * 4096),
    # transformers: the sliding layers keep the window (DynamicCache with sliding layers)
    ("transformers", "BF16", 1, 4096),
])
def test_sliding_window_caps(engine: str, quant: str, n_seq: int, sliding_cells: int) -> None:
    kv = _kv("gemma-2-9b-it", engine, quant, 16384, n_seq)
    assert kv["KV cache, sliding-window layers"] == 21 * sliding_cells * GEMMA_ROW * 2  # 16-bit elements
    full_cells = 16384 * n_seq  # multiples of 256 and of 16 already
    assert kv["KV cache, full-attention layers"] == 21 * full_cells * GEMMA_ROW * 2


@pytest.mark.parametrize(("ctx", "cells"), [(1000, 1024), (1024, 1024), (1025, 1280), (4000, 4096)])
def test_exl2_pages(ctx: int, cells: int) -> None:
    """exllamav2 allocates its cache in pages of 256 tokens (exllamav2/cache.py)."""
    kv = _kv("Llama-3.1-8B-Instruct", "exllamav2", "EXL2-4.0", ctx)
    assert kv["KV cache, full-attention layers"] == 32 * cells * (2 * 8 * 128) * 2


@pytest.mark.parametrize(("hardware", "seqs", "n_bytes"), [
    # ceil(max_num_seqs x vocab x 38.4 B): 256 seqs below 70 GiB of GPU memory, 1,024 above
    # (vllm/engine/arg_utils.py get_batch_defaults; 38.4 B per (seq x vocab) fitted in engine-facts.md 2.4)
    ("RTX 4090", 256, 1_260_807_783), ("H100 SXM", 1024, 5_043_231_130),
])
def test_vllm_sampler_buffer(hardware: str, seqs: int, n_bytes: int) -> None:
    r = rigfit.fit("Llama-3.1-8B-Instruct", engine="vllm", quant="BF16", context_tokens=8192, hardware=[hardware])
    assert r.memory.run.max_num_seqs == seqs
    assert r.memory.total(Component.COMPUTE) == n_bytes  # > 8,192 tokens x (2 x 14,336 + 4 x 4,096) x 2 B


@pytest.mark.parametrize(("device", "os_name", "usable_bytes"), [
    ("RTX 4090", "windows", 24 * GIB - 24 * GIB // 20),  # WDDM keeps max(0.5 GiB, 5 %): 5 % here
    ("RTX 4060", "windows", 8 * GIB - GIB // 2),  # 5 % = 0.4 GiB < 0.5 GiB
    ("RTX 4090", "linux", 24 * GIB),  # no desktop reserve without a display
])
def test_windows_wddm_reserve(device: str, os_name: str, usable_bytes: int) -> None:
    assert usable_memory(resolve_device(device), os_name=os_name).usable_bytes == usable_bytes


@pytest.mark.parametrize("method", ["qlora", "lora", "full"])
def test_training_allocator_margin(method: str) -> None:
    """The PyTorch caching allocator's margin: 10 % of what each step allocates (activations, gradients,
    optimizer state), training.ALLOCATOR_MARGIN."""
    tm = training_memory(rigfit.fit("Llama-3.1-8B-Instruct").spec, FineTune(method=method, seq_len=2048))
    step = sum(i.n_bytes for i in tm.items
               if i.component in (Component.ACTIVATIONS, Component.GRADIENTS, Component.OPTIMIZER))
    margin = next(i.n_bytes for i in tm.items if i.name.startswith("allocator margin"))
    assert margin == round(step * 0.10)


@pytest.mark.parametrize(("engine", "hardware", "expect"), [
    ("llama.cpp", "RTX 4090", ["-c", "32768", "-np", "4"]),  # -c is the total over the -np slots
    ("vllm", "RTX 4090", ["--max-num-seqs", "4"]),
])
def test_parallel_sequences_in_commands(engine: str, hardware: str, expect: list[str]) -> None:
    r = rigfit.fit("Llama-3.1-8B-Instruct", engine=engine, quant="Q4_K_M" if engine == "llama.cpp" else "AWQ",
                   context_tokens=8192, n_seq=4, hardware=[hardware])
    argv = list(launch(r).argv)
    for flag, value in zip(expect[::2], expect[1::2], strict=True):
        assert argv[argv.index(flag) + 1] == value


def test_parallel_sequences_in_ollama_and_mlx() -> None:
    ol = launch(rigfit.fit("Llama-3.1-8B-Instruct", engine="ollama", quant="Q4_K_M", context_tokens=8192, n_seq=3,
                           hardware=["RTX 4090"]))
    assert "OLLAMA_NUM_PARALLEL=3" in ol.argv
    mx = launch(rigfit.fit("Llama-3.1-8B-Instruct", engine="mlx", quant="MLX-4BIT", context_tokens=8192, n_seq=3,
                           hardware=["M4 Max 40-core 128GB"]))
    assert mx.argv[mx.argv.index("--decode-concurrency") + 1] == "3"


@pytest.mark.parametrize(("engine", "typed", "quant"), [("mlx", "nvfp4", "MLX-NVFP4"), ("mlx", "MXFP4", "MLX-MXFP4"),
                                                       ("mlx", "mxfp8", "MLX-MXFP8"),
                                                       ("ollama-mlx", "nvfp4", "OLLAMA-NVFP4")])
def test_mlx_floating_point_modes(engine: str, typed: str, quant: str) -> None:
    """mlx-lm's --q-mode mxfp4 / nvfp4 / mxfp8 (mlx_lm/convert.py) as typed; Ollama's MLX runner keeps its own
    policy for the same words."""
    r = rigfit.fit("Qwen3-8B", engine=engine, quant=typed, hardware=["M4 Max 40-core 128GB"])
    assert r.quant.name == quant
    if engine == "mlx":
        assert launch(r).commands[0] == (f"mlx_lm.convert --hf-path Qwen/Qwen3-8B --mlx-path Qwen3-8B-{typed.lower()} "
                                         f"-q --q-mode {typed.lower()}")


def test_tensor_parallel_all_reduce_cost() -> None:
    """Two all-reduces per layer per token (Megatron-LM): over PCIe 30 us, over NVLink 10 us
    (data/speed_fit.toml priors), and over PCIe (5.0 x16, 63 GB/s) the ring's 2 x 1/2 of the token's 4,096 BF16
    activations at AR_PCIE_SHARE of the link, so the token time differs by 2 x 32 x that on the same two GPUs."""
    h100 = resolve_device("H100 SXM")
    times = []
    for nvlink in (True, False):
        system = make_system([(replace(h100, nvlink=nvlink), 2)])
        req = make_request("Llama-3.1-8B-Instruct", engine="vllm", quant="BF16", context_tokens=8192, system=system)
        sp = rigfit.api.fit(req).speed
        assert sp is not None
        times.append(1 / sp.decode_tokens_per_s)
    assert times[1] - times[0] == pytest.approx(2 * 32 * (20e-6 + 4096 * 2 / (63e9 * AR_PCIE_SHARE)), rel=1e-9)


def test_moe_decode_reads_the_active_experts() -> None:
    """Per token a MoE layer reads its shared tensors and n_used / n_expert of its routed experts (8 / 128 for
    Qwen3-30B-A3B); the output layer is read whole."""
    r = rigfit.fit("Qwen3-30B-A3B", quant="Q4_K_M", context_tokens=4096, hardware=["H100 SXM"])
    assert r.placement is not None
    works = device_work(r.spec, r.memory, r.placement)
    assert isinstance(works, list) and len(works) == 1
    layers = r.memory.layers
    expected = sum(lay.weights_bytes - lay.expert_bytes for lay in layers) \
        + sum(lay.expert_bytes for lay in layers) * 8 / 128 + r.memory.output_layer_bytes
    assert works[0].weights_read_bytes == pytest.approx(expected, rel=1e-12)
    assert sum(lay.expert_bytes for lay in layers) > 0.8 * r.memory.weights_bytes  # experts dominate the file


@pytest.mark.parametrize(("engine", "quant", "hardware"), [
    ("vllm", "AWQ", "Radeon RX 7900 XTX"), ("transformers", "BF16", "RTX 4090"), ("exllamav2", "EXL2-4.0", "RTX 4090"),
])
def test_engines_without_their_own_speed_fit_say_so(engine: str, quant: str, hardware: str) -> None:
    """The speed constants are fitted on llama.cpp runs, vLLM's decode on CUDA and MLX on Apple GPUs
    (Engine.speed_class): other engines and backends get the note and at least the unfitted band (0.6-1.6 x
    decode)."""
    r = rigfit.fit("Llama-3.1-8B-Instruct", engine=engine, quant=quant, context_tokens=8192, hardware=[hardware])
    assert r.speed is not None
    assert any("no speed constants fitted on its own runs" in n for n in r.speed.notes)
    lo, hi = r.speed.decode_band
    assert lo <= 0.6 * r.speed.decode_tokens_per_s and hi >= 1.6 * r.speed.decode_tokens_per_s
    own = rigfit.fit("Llama-3.1-8B-Instruct", quant="Q4_K_M", context_tokens=8192, hardware=["RTX 4090"]).speed
    assert own is not None and not any("no speed constants" in n for n in own.notes)


def test_mlx_has_its_own_constants_fitted_on_its_runs() -> None:
    """mlx_lm on an M4 Pro 24 GB (throughput_modern.csv, llmfit community, llmfit 1.1.8): Qwen2.5-7B-Instruct-4bit
    answered 214 tokens at 51.57 tok/s over the whole request (a short prompt, decode and HTTP)."""
    r = rigfit.fit("Qwen2.5-7B-Instruct", engine="mlx", quant="MLX-4BIT", hardware=["Apple M4 Pro 24GB"],
                   prompt_tokens=45, gen_tokens=214)
    assert r.speed is not None and r.speed.classes == ("mlx-metal",) and r.speed.total_time_s
    assert not any("no speed constants" in n for n in r.speed.notes)
    assert 214 / r.speed.total_time_s == pytest.approx(51.57, rel=0.15)


@pytest.mark.parametrize(("model", "quant", "mac", "prompt", "gen", "measured"), [
    # itsmostafa/inference-speed-tests @3664dbf (mlx-lm 0.31.1, M4 Max 40-core 128GB): the decode after a short
    # prompt and after a ~21k-token one; with Metal's 2024 KV term the second came out 18.8 tok/s
    ("Qwen3-8B", "MLX-4BIT", "M4 Max 40-core 128GB", 16, 512, 95.9),
    ("Qwen3-8B", "MLX-4BIT", "M4 Max 40-core 128GB", 21000, 512, 51.91),
    # ml-explore/mlx-lm BENCHMARKS.md @a4c6470 (M4 Max 64GB, mlx_lm.benchmark -p 2048 -g 128)
    ("Qwen3-4B-Instruct-2507", "MLX-4BIT", "M4 Max 40-core 64GB", 2048, 128, 134.52),
    # lablup/mlxcel model_tests_m5max.md (mlx-lm baseline column, a short chat prompt): gpt-oss-120b's MXFP4 experts
    # decode below its affine 4-bit copy though they are fewer bytes
    ("gpt-oss-120b", "MXFP4", "M5 Max 40-core 128GB", 73, 128, 92.95),
    ("gpt-oss-120b", "MLX-4BIT", "M5 Max 40-core 128GB", 64, 128, 110.35),
])
def test_mlx_decode_after_long_prompts_and_in_mxfp4(model: str, quant: str, mac: str, prompt: int, gen: int,
                                                    measured: float) -> None:
    """MLX decode fitted on mlx_lm runs of four Macs (fit_speed.fit_mlx_decode): the cache read at depth, the mxfp4
    kernels' cost per byte (a_w4), the routed experts' mat-vecs (t_x); within 15 % of each published run."""
    r = rigfit.fit(model, engine="mlx", quant=quant, hardware=[mac], context_tokens=prompt + gen + 256,
                   prompt_tokens=prompt, gen_tokens=gen)
    assert r.speed is not None and r.speed.decode_after_prompt_tokens_per_s is not None
    assert r.speed.decode_after_prompt_tokens_per_s == pytest.approx(measured, rel=0.15)


def test_the_systems_pcie_link_carries_ram_resident_weights() -> None:
    """Prefill with layers in RAM is floored by the PCIe link in the System (PCI-SIG: gen 3 x16 15.75 GB/s,
    gen 4 x16 31.5 GB/s): the same plan on a gen 3 link prefills no faster than on gen 4."""
    card = resolve_device("RTX 3090")
    rates = []
    for gen in (3, 4):
        system = make_system([(replace(card, pcie_gen=gen), 1)], ram_bytes=128 * GIB)
        assert system.host_link_gb_s(card.name) == {3: 15.75, 4: 31.5}[gen]
        r = rigfit.api.fit(make_request("Llama-3.3-70B-Instruct", quant="Q4_K_M", context_tokens=4096, system=system,
                                        prompt_tokens=2048))
        assert r.placement is not None and r.placement.verdict == "partial_offload" and r.speed is not None
        assert r.speed.prefill_tokens_per_s is not None
        rates.append(r.speed.prefill_tokens_per_s)
    assert rates[0] < rates[1]


def test_vllm_on_cuda_has_its_own_decode_fit() -> None:
    """vllm-cuda: decode fitted on the 2025-2026 vLLM rows (RTX 5090, t_layer 45 us against llama.cpp's 79 us:
    CUDA graphs), a band of at least +-40 % (one device), no stand-in note."""
    r = rigfit.fit("Llama-3.1-8B-Instruct", engine="vllm", quant="AWQ", context_tokens=8192, hardware=["RTX 5090"])
    lcpp = rigfit.fit("Llama-3.1-8B-Instruct", quant="Q4_K_M", context_tokens=8192, hardware=["RTX 5090"])
    assert r.speed is not None and lcpp.speed is not None and r.speed.classes == ("vllm-cuda",)
    assert not any("no speed constants" in n for n in r.speed.notes)
    lo, hi = r.speed.decode_band
    assert lo <= 0.6 * r.speed.decode_tokens_per_s and hi >= 1.4 * r.speed.decode_tokens_per_s


@pytest.mark.parametrize(("model", "quant", "hardware", "prompt", "measured"), [
    # throughput_modern.csv, Ollama eval_count / eval_duration: localmaxxing (SgtPooki, 2026-07-22) on an M1 Max
    # 64 GB; llmfit community (llmfit 1.1.9) on an M5 Max 48 GB
    ("Qwen/Qwen3-30B-A3B", "Q4_K_M", "Apple M1 Max 64GB", 30, 62.6),
    ("Qwen/Qwen3-14B", "Q4_K_M", "Apple M1 Max 64GB", 32, 24.8),
    ("llama3.1:8b", None, "Apple M5 Max 48GB", 45, 89.26),
])
def test_ollama_on_apple_gpus_has_its_own_decode_constants(model: str, quant: str | None, hardware: str,
                                                           prompt: int, measured: float) -> None:
    """Ollama's runner decodes below llama.cpp's rate on the same Macs: its own class, Metal's decode time times
    one factor fitted on its Metal runs (fit_speed.fit_ollama_metal: 1.15; in-sample 8 %, leave-one-device-out
    12 % median error)."""
    r = rigfit.fit(model, quant=quant, engine="ollama", hardware=[hardware], prompt_tokens=prompt, gen_tokens=256)
    assert r.speed is not None and r.speed.classes == ("ollama-metal",)
    assert not any("no speed constants" in n for n in r.speed.notes)
    assert r.speed.decode_tokens_per_s == pytest.approx(measured, rel=0.2)
    lo, hi = r.speed.decode_band
    assert lo <= measured <= hi
