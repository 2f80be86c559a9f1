"""Kernel families that reach their hardware differently: vLLM's NVFP4 GEMMs against its Marlin ones, and the
M5 generation's GPU Neural Accelerators, which dense matmuls reach and MoE expert matmuls mostly do not.
Measured numbers are cited row by row; the tolerances are the classes' fit errors."""

from __future__ import annotations

import pytest

import rigfit
from rigfit.hardware.resolve import resolve_device
from rigfit.speedclass import apple_matrix_units, hardware_class
from rigfit.speedwork import device_work


@pytest.mark.parametrize(("chip", "cls"), [
    ("M5 10-core 16GB", "metal-na"), ("M5 Max 40-core 128GB", "metal-na"), ("M4 Max 40-core 128GB", "metal"),
    ("M1 Max 32-core 64GB", "metal"), ("M2 Ultra 76-core 192GB", "metal-ultra"),
])
def test_the_class_follows_the_chips_matrix_units(chip: str, cls: str) -> None:
    d = resolve_device(chip)
    assert apple_matrix_units(d) == (cls == "metal-na")
    assert hardware_class(d, "metal") == cls


@pytest.mark.parametrize(("model", "engine", "quant", "chip", "prompt", "measured", "tol"), [
    # weklund-agent/mlx_transformers_benchmark @e306df2 (MLX 0.31.2, mlx-lm 0.31.3, 2026-06-17), in the fit
    ("Qwen3.6-35B-A3B", "mlx", "MLX-4BIT", "M5 Max 40-core 128GB", 4096, 4153.2, 0.15),
    ("Qwen3-14B", "mlx", "MLX-4BIT", "M5 Max 40-core 128GB", 4096, 1609.7, 0.15),
    # jundot/omlx issue #2212 (2026-07-12): oMLX's reference figures for an M5 Pro, not in the fit
    ("Qwen3.5-35B-A3B", "mlx", "MLX-4BIT", "M5 Pro 20-core 48GB", 4096, 2380.0, 0.25),
    ("Qwen3.5-27B", "mlx", "MLX-4BIT", "M5 Pro 20-core 48GB", 4096, 478.0, 0.25),
    # ggml-org/llama.cpp PR #16634 (Metal 4 tensor API), an M5, llama-bench pp512 of Mistral 7B Q4_0: 608.05
    ("Mistral-7B-Instruct-v0.3", "llama.cpp", "Q4_0", "M5 10-core 16GB", 512, 608.05, 0.15),
])
def test_m5_prompts_against_published_runs(model: str, engine: str, quant: str, chip: str, prompt: int,
                                           measured: float, tol: float) -> None:
    r = rigfit.fit(model, engine=engine, quant=quant, hardware=[chip], prompt_tokens=prompt,
                   context_tokens=prompt + 512)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=tol)


def test_the_m5_max_runs_a_dense_prompt_faster_per_core_than_a_moe_one() -> None:
    """From an M4 Pro to an M5 Max the dense 14B's MLX prompt gained 7.2x, the 35B-A3B MoE's 4.3x (same harness,
    benchmarks/data/apple_matrix.csv): the experts' matmuls do not reach the accelerators' rate."""
    def pp(model: str, chip: str) -> float:
        r = rigfit.fit(model, engine="mlx", quant="MLX-4BIT", hardware=[chip], prompt_tokens=4096,
                       context_tokens=4608)
        assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
        return r.speed.prefill_tokens_per_s

    dense = pp("Qwen3-14B", "M5 Max 40-core 128GB") / pp("Qwen3-14B", "M4 Pro 20-core 64GB")
    moe = pp("Qwen3.6-35B-A3B", "M5 Max 40-core 128GB") / pp("Qwen3.6-35B-A3B", "M4 Pro 20-core 64GB")
    assert dense == pytest.approx(7.2, rel=0.2)
    assert moe == pytest.approx(4.3, rel=0.2)


@pytest.mark.parametrize(("model", "measured"), [
    # localmaxxing.com via llmfit benchmark_cache.json (throughput_modern.csv), vLLM 0.20.1 on an RTX 5090, one
    # request: Qwen3.6-27B in NVFP4 55.4 tok/s; in GPTQ-Int4 (Marlin) the 35B-A3B MoE 291-305 tok/s
    ("nvidia/Qwen3.6-27B-NVFP4", 55.4),
    ("Qwen/Qwen3.6-35B-A3B-GPTQ-Int4", 298.0),
])
def test_vllm_nvfp4_decodes_below_its_marlin_rate(model: str, measured: float) -> None:
    r = rigfit.fit(model, engine="vllm", hardware=["RTX 5090"], context_tokens=8192, prompt_tokens=128,
                   gen_tokens=512)
    assert r.speed is not None
    assert r.speed.decode_tokens_per_s == pytest.approx(measured, rel=0.1)


def test_an_engine_not_seen_on_the_accelerators_prices_prompts_at_the_alu_rate() -> None:
    """ollama/ollama#17884 (2026-08-20): Ollama 0.32.9's GGUF runner on an M5 Max, qwen3.6:27b Q4_K_M, a prompt of
    about 2,349 tokens at 331-343 tok/s, an M4-class rate (Ollama's bundled ggml had disabled the Metal tensor
    API on M5 chips, ollama#15257): priced at the GPU's FP32 rate, and the plan says so."""
    r = rigfit.fit("qwen3.6:27b", engine="ollama", hardware=["M5 Max 40-core 128GB"], prompt_tokens=2349,
                   context_tokens=4096)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.classes == ("ollama-metal",)
    assert r.speed.prefill_tokens_per_s == pytest.approx(337.0, rel=0.2)
    assert any("Neural Accelerators" in n for n in r.speed.notes)


def test_vulkan_prompts_on_intel_arc_run_on_the_shader_alus() -> None:
    """ggml-org/llama.cpp PR #14001 (2025-06-04, Windows driver 32.0.101.6795): an Arc A770 16GB prefilled
    gemma-2-2b-it Q4_K_M at 975-978 tok/s (pp512) on both builds; priced at its XMX peak the plan said 6-9x that.
    At the FP32 ALU rate, within the Vulkan prompt prior's spread (20 % median, 75 % p90 on the published cards)."""
    r = rigfit.fit("gemma-2-2b-it", quant="Q4_K_M", hardware=["Arc A770 16GB"], backend="vulkan", prompt_tokens=512,
                   context_tokens=1024, headroom_bytes=0)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(976.0, rel=0.4)


@pytest.mark.parametrize(("vendor", "chip", "fp32", "alu"), [
    ("amd", "Navi 32", 37.3, 18.65),  # RX 7800 XT: its listed FP32 counts dual issue (VOPD)
    ("amd", "Navi 48", 48.7, 24.35),  # RDNA 4 likewise
    ("amd", "Navi 21", 23.0, 23.0),  # RDNA 2 lists single-issue FP32
    ("intel", "BMG-G21", 13.7, 13.7),  # Arc B580 (Vulkan without XMX)
])
def test_the_alu_rate_of_a_gpu_whose_matrix_units_go_unused(vendor: str, chip: str, fp32: float,
                                                              alu: float) -> None:
    from rigfit.hardware.rates import alu_prompt_tflops
    from rigfit.vocab import Vendor

    assert alu_prompt_tflops(Vendor(vendor), chip, fp32) == pytest.approx(alu)


@pytest.mark.parametrize(("card", "llamafile_tflops", "llamacpp_tflops"), [
    ("RX 7800 XT", 18.65, 74.6),  # RDNA 3: llamafile 0.9's MMQ on the ALUs, current llama.cpp on WMMA
    ("RX 6900 XT", 46.1, 46.1),  # RDNA 2 has no matrix units: both at its packed FP16 rate
])
def test_llamafile_prompts_on_radeons_run_on_the_alus(card: str, llamafile_tflops: float,
                                                      llamacpp_tflops: float) -> None:
    """llamafile 0.9's ggml predates llama.cpp's WMMA quantized matmuls for RDNA 3 / 4 (PRs #17576, #17156):
    LocalScore's RDNA 3 prompt rows ran 2.7x below the WMMA rate (throughput_modern.csv)."""
    from rigfit.speedwork import device_work

    for engine, tflops in (("llamafile", llamafile_tflops), ("llama.cpp", llamacpp_tflops)):
        r = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=[card], engine=engine)
        works = device_work(r.spec, r.memory, r.placement, system=r.system)  # type: ignore[arg-type]
        assert isinstance(works, list)
        assert works[0].tflops == pytest.approx(tflops, rel=0.01)


@pytest.mark.parametrize(("card", "quant_tflops"), [
    ("GTX 1660", 10.1),  # TU116: MMQ's int8 MMA on its FP16 units, not its 20.1 DP4A TOPS
    ("GTX 1650", None),  # TU117 likewise (its FP16 rate)
    ("GTX 1070", 26.0),  # Pascal: DP4A, 4x its FP32 rate
    ("RTX 2080 Ti", None),  # Turing with tensor cores: its INT8 tensor rate
])
def test_the_gtx_16_series_runs_quantized_prompts_at_its_fp16_rate(card: str, quant_tflops: float | None) -> None:
    from rigfit.hardware.rates import mma_without_tensor_cores
    from rigfit.speedwork import device_work
    from rigfit.vocab import Vendor

    dev = resolve_device(card)
    assert mma_without_tensor_cores(Vendor.NVIDIA, dev.chip) == dev.chip.startswith(("TU116", "TU117"))
    r = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=[card], context_tokens=2048)
    works = device_work(r.spec, r.memory, r.placement, system=r.system)  # type: ignore[arg-type]
    assert isinstance(works, list)
    expected = quant_tflops or (dev.fp16_tflops if mma_without_tensor_cores(Vendor.NVIDIA, dev.chip)
                                else dev.int8_tops)
    assert works[0].quant_tops == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize(("card", "measured"), [
    # ggml-org/llama.cpp discussion 15396 (ggerganov's gpt-oss guide, builds 6208-6210, August 2025): gpt-oss-20b
    # MXFP4, llama-bench -fa 1 -ub 2048, pp2048 at depth 0
    ("RTX 5060 Ti 16GB", 3839.21),
    ("RTX 4090", 8022.33),
    ("RTX 5090", 9848.38),
])
def test_moe_prompts_stop_scaling_past_the_expert_kernels_units(card: str, measured: float) -> None:
    """A MoE prompt's routed-expert matmuls fill about 65 SMs in current CUDA builds (microbatch.expert_rate_share):
    the RTX 5090 (170 SMs) runs gpt-oss-20b's prompts 1.2x an RTX 4090's (128), not the 1.5x of their tensor
    rates, and the 5060 Ti (36) at its full rate.  Within 15 % of each run; priced at the full rate the 5090
    came out 61 % fast."""
    r = rigfit.fit("gpt-oss-20b", quant="MXFP4", hardware=[card], backend="cuda", headroom_bytes=0,
                   context_tokens=2048 + 256, prompt_tokens=2048, n_ubatch=2048, flash_attention=True)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.15)


@pytest.mark.parametrize(("model", "quant", "measured"), [
    # ikawrakow/ik_llama.cpp issue 1075 (2025-12-19): mainline llama.cpp on a Ryzen 9 7950X, 16 threads, pp512
    ("Qwen3-30B-A3B", "Q4_K_M", 210.37),
    ("gpt-oss-20b", "MXFP4", 148.73),
])
def test_cpu_moe_prompts_pay_per_touched_expert(model: str, quant: str, measured: float) -> None:
    """ggml-cpu's mul_mat_id runs each routed expert's rows as a matmul of its own: at the active FLOPs' price these
    prompts came 46 % and 86 % fast; the CPU class's cost per touched expert (a_xt, fit_speed.fit_cpu_moe_prompts)
    brings them within 20 %."""
    r = rigfit.fit(model, quant=quant, hardware=["Ryzen 9 7950X"], backend="cpu", n_threads=16,
                   context_tokens=512 + 256, prompt_tokens=512)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.2)


@pytest.mark.parametrize(("model", "quant", "card", "backend", "prompt", "depth", "ubatch", "measured"), [
    # kyuz0/amd-strix-halo-toolboxes benchmark/results @08aa7bc (May 2026, build 9187): llama-bench -fa 1
    # -p 2048 -d 32768 on a Framework Desktop 128GB, Vulkan RADV and ROCm 7.2.3 (-ub 2048)
    ("gemma-4-31B-it", "UD-Q4_K_XL", "Framework Desktop (Ryzen AI Max+ 395, 128GB)", "vulkan", 2048, 32768, None,
     146.08),
    ("gemma-4-31B-it", "UD-Q4_K_XL", "Framework Desktop (Ryzen AI Max+ 395, 128GB)", "rocm", 2048, 32768, 2048,
     150.43),
    # kyuz0/amd-strix-halo-toolboxes benchmark/ryzen_ai_halo @a7c71e9 (July 2026, build 9927): ROCm 7.2.4, -ub 256
    ("Qwen3.6-27B", "Q8_0", "AMD Ryzen AI Max+ 395 128GB", "rocm", 2048, 32768, 256, 197.60),
    # ggml-org/llama.cpp PR 26284 (IMbackK, July 2026, 't/s master' column): the WMMA attention kernel's 128-wide
    # heads on an R9700
    ("Llama-3.1-8B-Instruct", "Q4_K_M", "Radeon AI PRO R9700", "rocm", 2048, 4096, None, 3381.67),
    # ggml-org/llama.cpp PR 19309 (jeffbolznv, Feb 2026): the "before" table, Vulkan with NV_coopmat2
    ("GLM-4.7-Flash", "Q4_K_M", "RTX 5090", "vulkan", 512, 16384, None, 1989.70),
    # ggml-org/llama.cpp discussion 15396 (mkukec, Nov 2025, b7083): a 32k-token prompt from an empty cache
    ("gpt-oss-20b", "MXFP4", "RX 9070 XT", "vulkan", 32768, 0, 2048, 1417.87),
])
def test_amd_and_vulkan_prompts_after_a_filled_cache(model: str, quant: str, card: str, backend: str, prompt: int,
                                                     depth: int, ubatch: int | None, measured: float) -> None:
    """Flash attention's prompt kernels on AMD GPUs (ROCm's tile kernel, Vulkan's coopmat1 / scalar shaders) run
    at a share of the ALU rate, ROCm's WMMA kernel (RDNA, heads up to 128) and NVIDIA's under Vulkan (coopmat2) on
    the matrix units: one a_fa against those units (fit_speed.fit_alu_attention).  Within 20 % of each run; priced
    as the F16 matmuls at the matrix rate the 16-32k-token ones came 35-85 % fast."""
    kw = {"n_ubatch": ubatch} if ubatch else {}
    r = rigfit.fit(model, quant=quant, hardware=[card], backend=backend, headroom_bytes=0,
                   context_tokens=depth + prompt + 256, prompt_tokens=prompt, depth_tokens=depth,
                   flash_attention=True, **kw)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.2)


@pytest.mark.parametrize(("model", "card", "backend", "on_alus"), [
    ("Meta-Llama-3-8B", "Radeon AI PRO R9700", "rocm", False),  # WMMA: 128-wide heads, 4 query heads per key head
    ("Qwen3.6-27B", "Radeon AI PRO R9700", "rocm", True),  # 256-wide heads: the tile kernel
    ("Llama-2-7B", "RX 7900 XTX", "rocm", True),  # one query head per key head: the tile kernel
    ("Meta-Llama-3-8B", "Framework Desktop (Ryzen AI Max+ 395, 128GB)", "rocm", False),  # gfx1151: RDNA 3.5
    ("Qwen3.6-27B", "MI100", "rocm", False),  # CDNA's MFMA: heads up to 256
    ("Meta-Llama-3-8B", "RX 9070 XT", "vulkan", True),
    ("Meta-Llama-3-8B", "Framework Desktop (Ryzen AI Max+ 395, 128GB)", "vulkan", True),
    ("Meta-Llama-3-8B", "RTX 5090", "vulkan", False),
    ("Meta-Llama-3-8B", "RTX 5090", "cuda", False),
])
def test_flash_attention_runs_on_the_units_its_kernels_reach(model: str, card: str, backend: str,
                                                             on_alus: bool) -> None:
    """llama.cpp's attention kernels reach NVIDIA's matrix units (CUDA mma, Vulkan coopmat2), AMD's through the HIP
    build's MMA kernel where it takes the layer's head size (Engine.attention_on_alus), and not through Vulkan's
    coopmat1 / scalar shaders: the rate a prompt's attention FLOPs are priced at follows."""
    r = rigfit.fit(model, quant="Q4_0", hardware=[card], backend=backend, headroom_bytes=0)
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list)
    w = works[0]
    assert w.attention_tflops == (w.alu_tflops if on_alus else w.tflops)
    assert w.alu_tflops is not None and w.tflops is not None and w.alu_tflops < w.tflops
