"""Speed model: decode and prefill time from bytes moved and FLOPs done per device, with fitted efficiencies.

Decode (one sequence, llama.cpp; engine-facts.md 3.1): the layers run in order, so device times add::

    t_token(p) = sum_d [ Bw_d / (BW_d e_w) + Bkv_d(p) / (BW_d e_kv) + L_d t_layer ] + hops t_hop (+ row-split sync)

``Bw_d`` = weights read per token on device d (MoE: shared part + n_used / n_expert of the experts; token_embd is
a row gather and is not read), ``Bkv_d(p)`` = the KV cache read at context position p (sliding layers capped at
the window), ``L_d`` = layers on d (kernel launches, norms, sampling scale with layers).  Where the rows tell
them apart, current builds add the unpacking of quantized weights at the ALU rate (``a_dq``: CPUs, M1 / M2 GPUs,
Vulkan), attention's arithmetic over the cache (``a_at``: 4 x query heads x head_dim per cached token and layer,
DECODE_ATTENTION_CLASSES) and a fixed cost per routed-expert matmul (``t_x``, DECODE_EXPERT_CLASSES).  Tensor
parallel: the slowest shard plus two all-reduces per layer (Megatron-LM, Shoeybi et al. 2019).
``speedwork.device_work`` counts each device's work (bytes, elements, rates); this module prices it.

Prefill (engine-facts.md 3.2): ``2 N P`` FLOPs for the weights (Kaplan et al. 2020; N the blocks' weight
elements from the tensor table, the output head for the last token only) plus ``4 L d_attn`` per query-key pair
for attention, at the device's dense FP16 tensor rate with fitted efficiency (quantized weights and F16 weights
use different kernels: MMQ vs cuBLAS), plus, without flash attention, the f32 score matrices written and read
per layer (``L n_head`` floats per pair), plus a fixed cost per micro-batch and layer, plus a hybrid model's
recurrent scan (``a_ss``) and a MoE micro-batch's cost per expert it touches (``moe_expert_overhead_s``).  Current
CUDA builds (CURRENT_PROMPT_CLASSES) price three more things apart: flash attention's FLOPs (``a_fa``; ROCm's and
Vulkan's too, ATTENTION_PROMPT_CLASSES), a MoE's routed experts' FLOPs (``a_fx``) and the matmuls' outputs crossing
memory (``a_ac``); sliding-window layers attend their window (llama.cpp keeps window + micro-batch cells for them).
Layer split pipelines the micro-batches of one batch over the GPUs (llama.cpp PR #6017, ``docs/multi-gpu.md``);
CPU-resident weights are streamed to the GPU over PCIe for each micro-batch (ggml-cuda offload, batch >= 32),
unless op offload is off (``--no-op-offload``): then the CPU computes them at its own rate.

The constants are fitted by ``benchmarks/fit_speed.py`` on ``calibration/throughput_llamacpp.csv`` per hardware
class (not per card) and stored with their residuals in ``data/speed_fit.toml``; the band is the 10th-90th
percentile of the fit's measured/predicted ratios for that class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .engines import get_engine
from .memory import MemoryBreakdown
from .microbatch import (
    expert_rate_share,
    fp16_convert_s,
    matmul_outputs,
    moe_expert_overhead_s,
    moe_ubatch_elements,
    scan_s,
    step_work,
    stream_s,
    ubatch_read_s,
)
from .models.spec import ModelSpec
from .network import network_terms, plan_nvlink, tp_allreduce_token_s
from .placement import Placement
from .speedclass import SpeedParams, class_params, era_class, hop_key, load_speed_params, stand_in_class, value
from .speedwork import (
    DEFAULT_CPU_BANDWIDTH_GB_S,
    F16_QUANTS,
    DeviceWork,
    SpeedUnknown,
    cache_step_bytes,
    core_limit_note,
    device_work,
    host_cpu,
    kv_copy_note,
)
from .system import System
from .vocab import Verdict

# 1 / the share of a GPU's PCIe link that weights streamed from RAM for a prompt micro-batch reach (the global
# ``a_pcie``, fitted by benchmarks/fit_speed.fit_stream; this prior where the file has none): llama.cpp maps the model
# file (mmap), so the copies start from pageable host memory, at about half of a pinned copy's rate.
A_PCIE = 2.5
# classes whose prompt constants differ by weight type (prefill_terms): the CPU's kernels, and ROCm's MMQ
# (speedwork.GPU_PROMPT_FAMILY; CUDA's rows fitted per family predicted held-out models no better)
TYPE_SPLIT_CLASSES = ("cpu", "rocm")
# ggml-cuda/mmq.cuh MMQ_DP4A_MAX_BATCH_SIZE: from this batch a chip with FP16 but no INT8 tensor cores uses cuBLAS
MMQ_MAX_BATCH = 64
# before PR #8075 (June 2024), ggml-cuda's MMQ_MAX_BATCH_SIZE: above it tensor-core chips took cuBLAS instead
OLD_MMQ_MAX_BATCH = 32
# Below this much weights a model runs at the engine's fixed costs per operation, which the per-layer constants (fitted
# on larger models) do not describe: the TinyStories GPT-2s prefill at 7,700 tok/s on a Ryzen 7 7840HS, not 100,000.
TINY_MODEL_BYTES = 50_000_000
# classes whose current builds' prompt constants were fitted on the 2025-2026 rows (fit_speed.fit_cuda_prompt) with
# two terms apart (prefill_terms): flash attention's FLOPs (``a_fa``; most of those rows ran with it, up to 131k
# tokens deep) and the activations the matmuls write and the next kernels read (``a_ac``); Ollama's are llama.cpp's
CURRENT_PROMPT_CLASSES = ("cuda", "ollama-cuda", "cuda-orin", "ollama-cuda-orin")
# classes whose MoE prompts price the routed experts' FLOPs apart (a_fx) without the rest of the current CUDA
# builds' split: Apple GPUs with matrix units, where MLX's expert matmuls (gather_qmm) stay far below the Neural
# Accelerators' rate the dense matmuls reach (benchmarks/data/apple_matrix.csv: Qwen3.6-35B-A3B gains 4.3x from an
# M4 Pro to an M5 Max, the dense models 6-8x); and llama.cpp's Vulkan shaders where they reach the matrix units,
# whose MoE matmuls (mul_mm_id) ran 2-3x below the dense rate on an RTX 3090 / 5090 (benchmarks/data/
# vulkan_discrete.csv: gpt-oss-20b, Qwen3.6-35B-A3B, GLM-4.7-Flash); on the ALUs both run at one rate
EXPERT_PROMPT_CLASSES = ("mlx-metal-na", "vulkan")
# classes whose current builds price flash attention's prompt FLOPs apart (a_fa) at the rate of the units its kernels
# run on (DeviceWork.attention_tflops): AMD and Intel GPUs on ROCm / Vulkan, NVIDIA's on Vulkan (fit_alu_attention)
ATTENTION_PROMPT_CLASSES = tuple(e + c for e in ("", "ollama-") for c in ("rocm", "rocm-apu", "vulkan", "vulkan-apu"))
ACTIVATION_BYTES = 8.0  # per matmul output value: written in F32 by one kernel, read by the next
# classes outside CURRENT_PROMPT_CLASSES whose current builds' prompts pay that activation traffic too (``a_ac``, the
# CUDA fit's constant: a count of ggml's F32 intermediate tensors per matmul output, not a property of the chip):
# llama.cpp's Metal backend (and Ollama's, the same ggml) and its ROCm one.  Measured: benchmarks/data/
# metal_current.csv's M1 7-core and M4 10-core prompts, 0.6B-12B models, 29.4 % fast at the median without it,
# 5.9 % with it (held out: no Metal constant was fitted on them), the M1 / M2 / M3 Ultra prompts 19.0 -> 13.4 %;
# the discrete Radeons' dense prompts (fit_rocm) 20.9 -> 18.1 % in-sample, 21.5 -> 19.0 % leave-one-card-out
ACTIVATION_CLASSES = ("metal", "metal-ultra", "ollama-metal", "rocm")
# classes whose older builds' rows pay it too, at their own constant: the A100 / H100 dies, whose May 2024 prompts
# ran 1.28-1.40x apart (H100 PCIe over A100 PCIe, 512- to 8192-token prompts, F16 and Q4_K_M alike) where their
# FP16 tensor rates differ 2.4x and their bandwidths 3 %: priced so, the class predicts each from the other
# 32.9 -> 23.0 % off (fit_speed.py)
ACTIVATION_EVERY_BUILD = ("cuda-datacenter",)
# classes whose current builds price decode's attention arithmetic apart from its KV bytes (``a_at``: 4 x query
# heads x head_dim FLOPs per cached token and layer, at the device's FP32 rate): the 2025-2026 CUDA rows, 4k-188k
# tokens deep on models with 1 to 12 query heads per KV head, tell the two apart (the KV read then fits near the
# weights' rate: it is the query heads sharing each KV head, not the bytes, that make a deep cache slow).  Ollama
# and llamafile run llama.cpp's CUDA attention; vLLM's holds llama.cpp's constant (no deep vLLM rows).  Metal
# too: ggerganov's M2 Ultra depth sweeps (benchmarks/data/metal_current.csv) lose 28 ms per token at 32k cached
# tokens of DeepSeek-V2-Lite (MLA: 16 heads share one 576-wide latent) where its KV bytes take 1.3 ms, and
# Qwen3-0.6B (2 query heads per KV head) twice its KV read time: the arithmetic, not the bytes, is what grows.
# AMD's too (the Strix Halo's ROCm and Vulkan sweeps, benchmarks/data/amd_depth.csv; discrete cards take their
# backend's).  The smaller Apple chips keep a KV term from the May 2024 rows (no current sweeps on them)
DECODE_ATTENTION_CLASSES = tuple(e + c for e in ("", "ollama-", "vllm-", "llamafile-") for c in ("cuda", "cuda-orin")) \
    + tuple(e + c for e in ("", "ollama-") for c in ("rocm-apu", "vulkan-apu", "vulkan", "rocm")) + ("metal-ultra",)
# classes whose current builds pay a fixed cost per routed-expert matmul in decode (``t_x``, seconds per expert a
# token uses per MoE layer): Metal's and Vulkan's mul_mat_id run each selected expert's small mat-vec on its own,
# so a MoE of many small experts (Qwen3.6-35B-A3B, Laguna XS: 512-wide experts) decodes well below its bytes;
# fitted on the 2025-2026 Metal rows and the Vulkan llama-bench rows (CUDA's and HIP's fused expert kernels show
# little of it: fitted there, it held out worse or no better); MLX's too (mlx-lm's SwitchGLU gathers each chosen
# expert's quantized mat-vec: 5.8 us each on the mlx_lm runs of four Macs, fit_speed.fit_mlx_decode)
DECODE_EXPERT_CLASSES = ("metal", "metal-ultra", "metal-na", "ollama-metal", "vulkan", "mlx-metal", "mlx-metal-na")
# classes whose FP4 weights (Engine.fp4_formats) decode through kernels of their own, ``a_w4`` per byte: vLLM's NVFP4
# GEMMs (a dense 27B on an RTX 5090 at three quarters of its GPTQ / AWQ Marlin rate per byte) and mlx-lm's mxfp4
# mat-vec (gpt-oss MXFP4 on M4 Pro / M4 Max / M5 Max 30-45 % below the affine 4-bit rate per byte)
FP4_KERNEL_CLASSES = ("vllm-cuda", "mlx-metal", "mlx-metal-na")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedEstimate:
    prompt_tokens: int
    gen_tokens: int
    depth_tokens: int
    prefill_tokens_per_s: float | None
    decode_tokens_per_s: float  # over gen_tokens from depth_tokens (llama-bench tgN @ dD)
    decode_after_prompt_tokens_per_s: float  # the same answer after the prompt: what a chat turn sees
    users: int  # sequences answering at once (the plan's parallel slots)
    per_user_decode_tokens_per_s: float  # each user's rate when all of them generate at once
    aggregate_decode_tokens_per_s: float  # all users together
    time_to_first_token_s: float | None
    total_time_s: float | None
    decode_band: tuple[float, float]
    prefill_band: tuple[float, float] | None
    per_device_ms: tuple[tuple[str, float], ...]  # decode ms per token spent on each device (at the mid position)
    roofline_tokens_per_s: float  # bandwidth / (weights + cache a token reads), no efficiency: the naive estimate
    classes: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    decode_layer_s: float = 0.0  # of the decode time per token, the fixed cost per layer (t_layer terms)
    calibrated_runs: int = 0  # runs of this machine the estimate was corrected with (rigfit.calibration)


def decode_terms(work: DeviceWork, position: float, window: int, batch: int = 1,
                 current: bool = True) -> dict[str, float]:
    """Linear coefficients of one device's decode time at context position ``position``: one step that makes a
    token for each of ``batch`` sequences reads the weights once and every sequence's cache.  ``current``: a
    current build (a class in DECODE_ATTENTION_CLASSES prices its attention arithmetic apart, one in
    DECODE_EXPERT_CLASSES its routed-expert matmuls)."""
    bw = work.bandwidth_gb_s * 1e9
    swa = min(position, window or position)
    kv = batch * sum(cache_step_bytes(work, position, window))
    # a_w prices every byte read (with the F16 copy a decode kernel makes of a quantized cache: DeviceWork
    # .kv_copy_bytes_per_pos); a_kv the extra cost of attention over the cache (>= 0: never cheaper than a weight
    # read; without flash attention the f32 scores add to it); a_dq the ALU work of unpacking quantized weights
    # where it is not hidden behind the memory stream (CPUs; Apple M1 and M2 GPUs, rates.apple_serial_dequant)
    dq = work.dequant_elements / (work.alu_tflops * 1e12) if work.alu_tflops else 0.0
    terms = {"a_w": (work.weights_read_bytes + kv) / bw, "a_kv": kv / bw, "t_layer": work.n_blocks, "a_dq": dq}
    if not current and 0 < work.f16_gemv_gb_s < work.bandwidth_gb_s:  # an older build's F16 GEMV ceiling (speedwork)
        terms["a_w"] += work.f16_weight_bytes * (1 / (work.f16_gemv_gb_s * 1e9) - 1 / bw)
    if current and work.cls in DECODE_ATTENTION_CLASSES and work.alu_tflops:
        # each query head's scores and weighted sum over the cache (the vector kernels run them on the FP32 / half2
        # ALUs; the layers whose kernel runs on the matrix units apart, DeviceWork.matrix_attn_dim_layers): 4 x
        # heads x head_dim per cached token, a window's worth in a sliding-window layer
        full = work.attn_dim_layers - work.swa_attn_dim_layers - work.matrix_attn_dim_layers
        flops = 4.0 * batch * (full * position + (work.swa_attn_dim_layers - work.matrix_swa_attn_dim_layers) * swa)
        terms["a_at"] = flops / (work.alu_tflops * 1e12)
    if work.cls in FP4_KERNEL_CLASSES and work.fp4_bytes:
        terms["a_w4"] = work.fp4_bytes / bw
    if current and work.cls in DECODE_EXPERT_CLASSES and work.expert_calls:
        # one sequence's experts: several sequences touch more of them, so for a batch this is a lower bound
        terms["t_x"] = work.expert_calls
    return terms


def current_mmq(work: DeviceWork, build: str) -> DeviceWork:
    """``work`` with its quantized-matmul rate at what current llama.cpp MMQ reaches on its chip against the cards
    the constants were fitted on (DeviceWork.mmq_share: TURING_MMQ_SHARE on Turing), for a current build of a class in
    CURRENT_PROMPT_CLASSES; else as it is."""
    if build == "current" and work.cls in CURRENT_PROMPT_CLASSES and work.quant_tops and work.mmq_share != 1.0:
        return replace(work, quant_tops=work.quant_tops * work.mmq_share, mmq_share=1.0)
    return work


def prefill_terms(work: DeviceWork, prompt: int, ubatch: int, flash_attention: bool, f16: bool,
                  start: int = 0, current: bool = False, expert_units: float = 0.0) -> dict[str, float]:
    """Linear coefficients of one device's time for a ``prompt``-token prefill after ``start`` cached tokens.
    ``current``: a current build of a class in CURRENT_PROMPT_CLASSES (flash attention and activations apart);
    ``expert_units``: the multiprocessors a MoE's routed-expert matmuls fill (expert_rate_share)."""
    # causal query-key pairs: each prompt token attends to the cache and the prompt before it (incl. ubatch
    # padding); in a sliding-window layer to at most the window and its micro-batch (the cells that layer keeps)
    pairs = prompt * start + prompt * prompt / 2 + prompt * min(ubatch, prompt) / 2
    swa_pairs = min(pairs, prompt * (work.window + min(ubatch, prompt) / 2)) if work.window else pairs
    flops_w = 2.0 * (work.params - work.output_elements) * prompt + 2.0 * work.output_elements
    flops_attn = 4.0 * ((work.attn_dim_layers - work.swa_attn_dim_layers) * pairs
                        + work.swa_attn_dim_layers * swa_pairs)
    if work.tflops is None:
        return {}
    tf = work.tflops * 1e12 * (1.0 if current else work.old_prompt_share)
    tq = (work.quant_tops or work.tflops) * 1e12 * (1.0 if current else work.old_prompt_share)
    # chips with FP16 matrix units but no INT8 ones (Volta): llama.cpp's MMQ serves batches under MMQ_MAX_BATCH
    # tokens, larger ones dequantize the weights to F16 for cuBLAS on the tensor cores (ggml-cuda/mmq.cu
    # ggml_cuda_should_use_mmq: NVIDIA with FP16 MMA -> ne11 < MMQ_DP4A_MAX_BATCH_SIZE): their FLOPs at the F16
    # matmuls' constant, and each micro-batch pays the conversion (microbatch.fp16_convert_s, a_cv)
    gemm16 = not f16 and work.fp16_gemm_prompts and (min(ubatch, prompt) >= MMQ_MAX_BATCH if current
                                                      else min(ubatch, prompt) > OLD_MMQ_MAX_BATCH)
    # flash attention's FLOPs at their own constant in the classes fitted so, else with the F16 matmuls'
    apart = current and work.cls in CURRENT_PROMPT_CLASSES
    fa_apart = flash_attention and (apart or (current and work.cls in ATTENTION_PROMPT_CLASSES))
    n_ub = math.ceil(prompt / ubatch)
    own = work.gemm_prompts and not f16  # an engine's own quantized GEMMs: at their rate, a_ff's efficiency
    terms = {"a_fq": 0.0 if f16 or gemm16 or own else flops_w / tq,
             "a_ff": (flops_w / tq if own else (flops_w if f16 or gemm16 else 0.0) / tf)
             + (0.0 if fa_apart else flops_attn / tf),
             "a_sc": 0.0 if flash_attention else 16.0 * ((work.n_heads_layers - work.swa_heads_layers) * pairs
                                                         + work.swa_heads_layers * swa_pairs)
             / (work.bandwidth_gb_s * 1e9),
             "t_ub": n_ub * work.n_blocks}
    if fa_apart:
        terms["a_fa"] = flops_attn / ((work.attention_tflops or work.tflops) * 1e12)
    if gemm16:
        terms["a_cv"] = n_ub * fp16_convert_s(work)
    expert_apart = current and work.cls in EXPERT_PROMPT_CLASSES and not work.alu_prompts
    if (apart or expert_apart) and not f16 and work.routed_elements:
        # a MoE model's routed experts run as one small matmul per expert (ggml mul_mat_id, a few dozen tokens
        # each): their FLOPs at their own constant, the dense matmuls' at a_fq (an engine's own GEMMs: a_ff)
        routed = 2.0 * work.routed_elements * prompt / tq
        terms["a_ff" if own else "a_fq"] -= routed
        terms["a_fx"] = routed / (expert_rate_share(work, expert_units) if apart else 1.0)
    if apart:
        # each micro-batch streams its dense weights from memory again, at the bandwidth, beside its arithmetic
        # (``a_rd``; the routed experts it touches are priced by moe_expert_overhead_s)
        terms["a_rd"] = n_ub * ubatch_read_s(work)
    if apart or (current and work.cls in ACTIVATION_CLASSES) or work.cls in ACTIVATION_EVERY_BUILD:
        # the matmuls' outputs cross memory: each written in F32 and read by the next kernel (norms, RoPE, the
        # gated activation, the quantization of activations for MMQ), at the device's bandwidth.  Per FLOP it
        # weighs 1 / width: what makes a 0.5B model's prompt run at a third of a 3B one's matmul rate on the
        # same card (throughput_modern.csv RTX 3060 rows)
        terms["a_ac"] = ACTIVATION_BYTES * matmul_outputs(work) * prompt / (work.bandwidth_gb_s * 1e9)
    if not f16 and not own and work.cls in TYPE_SPLIT_CLASSES:
        # the prompt kernels differ by weight type (speedwork.CPU_PROMPT_FAMILY, GPU_PROMPT_FAMILY): the blocks'
        # FLOPs of each family at its own constant a_fq_<family>
        blocks = 2.0 * (work.params - work.output_elements) * prompt / tq
        for fam, share in work.family_shares:
            terms[f"a_fq_{fam}"] = blocks * share
            terms["a_fq"] -= blocks * share
    if work.state_bytes:
        # the recurrent mixers' scan over the prompt (Mamba-2 ggml_ssm_scan, the gated delta rule): priced as each
        # token reading and writing the sequence's state at the device's bandwidth; ``a_ss`` (0 where not
        # fitted) is the share of that the kernels pay, which keep most of the state on chip
        terms["a_ss"] = scan_s(work, prompt)
    return terms


def _apply(terms: dict[str, float], params: dict[str, float]) -> float:
    return sum(v * params[k] for k, v in terms.items())


def _add(acc: dict[str, float], cls: str, terms: dict[str, float], scale: float = 1.0) -> None:
    for k, v in terms.items():
        acc[f"{cls}:{k}"] = acc.get(f"{cls}:{k}", 0.0) + v * scale


def decode_linear(works: list[DeviceWork], plan: Placement, position: float, window: int,
                  split_mode: str | None = None, build: str = "current") -> dict[str, float]:
    """Decode seconds per token as a linear form {"class:param" or "global:param": coefficient}: the same
    form the fit (benchmarks/fit_speed.py) solves for."""
    mode = split_mode or plan.split_mode
    acc: dict[str, float] = {}
    n_acc = len([w for w in works if not w.on_cpu])
    if mode == "row" and n_acc > 1:
        # row split (llama.cpp default before b1875, Jan 2024): every matmul is split over the GPUs and the
        # results gathered on the main GPU, so bytes divide but each layer pays a synchronisation cost
        for w in works:
            _add(acc, era_class(w.cls, build), decode_terms(w, position, window, current=build == "current"),
                 1.0 / n_acc)
        acc["global:row_dec_a"] = float(plan.n_layers)
        acc["global:row_dec_b"] = float(plan.n_layers * n_acc)
        return acc
    for w in works:
        _add(acc, era_class(w.cls, build), decode_terms(w, position, window, current=build == "current"))
    acc[f"global:{hop_key(build)}"] = float(max(0, len(works) - 1))
    return acc


def decode_time_s(works: list[DeviceWork], plan: Placement, position: float, window: int,
                  params: SpeedParams, split_mode: str | None = None,
                  nvlink: bool | None = None, build: str = "current", batch: int = 1,
                  allreduce_s: float | None = None, allreduce_token_s: float = 0.0) -> tuple[float, list[float]]:
    per = [_apply(decode_terms(step_work(w, batch), position, window, batch, current=build == "current"),
                  class_params(params, era_class(w.cls, build)))
           for w in works]
    if plan.tensor_parallel > 1:
        g = params.globals_
        stages = max(1, plan.pipeline_parallel)
        link = "t_allreduce_nvlink" if (plan_nvlink(plan) if nvlink is None else nvlink) else "t_allreduce_pcie"
        # the shards of a stage run together: the slowest shard, plus two all-reduces per layer
        ar = allreduce_s if allreduce_s is not None else g.get(link, 30e-6)  # a cluster's: over its network
        ar += batch * allreduce_token_s  # each sequence's activations over the link (network.tp_allreduce_token_s)
        t = max(per) * stages + 2 * plan.n_layers * ar + (stages - 1) * value(params, f"global:{hop_key(build)}")
        return t, per
    if batch > 1:  # the layers run in order, each device's step as above (layer split: the stages add up)
        return sum(per) + value(params, f"global:{hop_key(build)}") * max(0, len(works) - 1), per
    lin = decode_linear(works, plan, position, window, split_mode, build)
    return sum(v * value(params, k) for k, v in lin.items()), per


def batched_step_s(works: list[DeviceWork], memory_s: float, compute_s: float) -> float:
    """One decode step for several sequences from its memory-bound time (weights once, every sequence's cache)
    and its matmul time (batch_compute_s).  A GPU overlaps the two (the step is the slower); on a CPU the threads
    that stream the weights also do the arithmetic (ggml-cpu: each thread unpacks and multiplies its rows), so
    the step pays both: on the CPU runs with 2-64 users in throughput_modern.csv the sum fits with a median error
    of 20 % where the larger of the two fits with 32 %."""
    if works and all(w.on_cpu for w in works):
        return memory_s + compute_s
    return max(memory_s, compute_s)


def batch_compute_s(works: list[DeviceWork], batch: int, params: SpeedParams, build: str = "current") -> float:
    """The matmul floor of one decode step for ``batch`` sequences: 2 x active parameters x batch FLOPs per
    device at its quantized-matmul rate and fitted prefill efficiency, times ``a_bd``: how much slower a
    batch of single-token rows runs than a prompt's micro-batch (fitted on llama-server runs with 2-64 users
    on a CPU, about 2: the vector-dot path, not the prompt's tiled GEMM; 1 where no batched runs exist)."""
    total = 0.0
    for w in (current_mmq(x, build) for x in works):
        tq = (w.quant_tops or w.tflops or 0.0) * 1e12
        if tq:
            cp = class_params(params, era_class(w.cls, build))
            # the prompt kernels' price of one step's matmuls: their FLOPs, and their outputs' traffic where the
            # class prices it (a_ac, prefill_terms)
            act = cp.get("a_ac", 0.0) * ACTIVATION_BYTES * matmul_outputs(w) * batch / (w.bandwidth_gb_s * 1e9)
            total += (2.0 * w.params * batch / tq * cp.get("a_fq", 1.0) + act) * cp.get("a_bd", 1.0)
    return total


def _prefill_stage_terms(works: list[DeviceWork], prompt: int, n_ubatch: int, flash_attention: bool,
                         f16: bool, build: str = "current", start: int = 0, expert_units: float = 0.0
                         ) -> list[tuple[str, dict[str, float], DeviceWork, dict[str, float]]]:
    """Per device: the class whose constants price its prompt work, the linear terms, the work as it runs (a CPU's
    layers whose weights are streamed to the GPU run at the GPU's rates) and the terms its own class prices at its
    own rates (the recurrent scan of a hybrid's layers kept in RAM, below; else none)."""
    n_ub = math.ceil(prompt / n_ubatch)
    out = []
    gpu = next((w for w in works if not w.on_cpu), None)
    for w in works:
        on, own = w, {}
        if w.on_cpu and w.streamed_bytes and gpu is not None:
            # CPU-resident layers of a prompt batch run on the GPU at the GPU's rates, their weights streamed
            # over PCIe (ggml-cuda offload_op for batches >= 32; the copies' time is in prefill_time_s) - but for
            # a hybrid model's recurrent scan, which reads and writes the state its layers keep in RAM (the
            # recurrent cache is allocated on each layer's device): priced on the CPU.  The RTX 4070's
            # Qwen3.6-27B prompts with 22 of 64 layers in RAM (48 of them Gated DeltaNet; throughput_modern.csv,
            # llama-bench 512 @ 4k-131k) take 0.3-0.5 s more per micro-batch than the copies and the GPU's work,
            # which the CPU's scan of those layers' state accounts for; the MoE and dense rows then agree on one
            # PCIe copy rate (fit_speed.fit_stream)
            on = replace(w, cls=gpu.cls, tflops=gpu.tflops, quant_tops=gpu.quant_tops, units=gpu.units, on_cpu=False,
                         attention_tflops=gpu.attention_tflops, bandwidth_gb_s=gpu.bandwidth_gb_s, state_bytes=0.0)
            own = {"a_ss": scan_s(w, prompt) / n_ub} if w.state_bytes else {}
        on = current_mmq(on, build)
        if build != "current" and on.cublas_era_prompts:
            on = replace(on, fp16_gemm_prompts=True)
        if build == "2023-12":
            # builds before llama.cpp PR #6122 (March 2024) ran the output head over every prompt token
            on = replace(on, output_elements=0.0)
        terms = prefill_terms(on, prompt, n_ubatch, flash_attention, f16, start, current=build == "current",
                              expert_units=expert_units)
        cls = on.cls
        cls = era_class(cls, build)  # prefill kernels changed a lot between llama.cpp builds (MMQ rewrites, 2024)
        out.append((cls, {k: v / n_ub for k, v in terms.items()}, on, own))
    return out


def prefill_linear(works: list[DeviceWork], plan: Placement, prompt: int, n_ubatch: int,
                   flash_attention: bool, f16: bool, split_mode: str | None = None,
                   overlap: float = 1.0, build: str = "current", start: int = 0,
                   expert_units: float | None = None) -> dict[str, float]:
    """Prefill seconds as a linear form (pipelined stages taken as equal: exact for identical GPUs).
    ``overlap``: the fraction of the ideal pipeline overlap the engine achieves (fitted); ``expert_units``: the
    multiprocessors a MoE's expert matmuls fill (expert_rate_share; None: the fitted file's)."""
    mode = split_mode or plan.split_mode
    n_ub = math.ceil(prompt / n_ubatch)
    units = load_speed_params().globals_.get("moe_prompt_units", 0.0) if expert_units is None else expert_units
    stages = _prefill_stage_terms(works, prompt, n_ubatch, flash_attention, f16, build, start, units)
    streamed = sum(stream_s(w, prompt, n_ubatch, start) for w in works)
    # weights kept in RAM cross the link each micro-batch, before the GPU computes with them (prefill_time_s)
    acc: dict[str, float] = {"global:a_pcie": n_ub * streamed} if streamed else {}
    n_acc = len([w for w in works if not w.on_cpu])
    if mode == "row" and n_acc > 1:
        for (cls, t, _, own), w in zip(stages, works, strict=True):
            _add(acc, cls, t, n_ub / n_acc)
            _add(acc, w.cls, own, n_ub)
        # each matmul's input goes to every GPU and its slices of the output come back to the main one (ggml-cuda's
        # split buffers, ggml_cuda_op_mul_mat): per token, layer and GPU a copy as wide as the model.  The Dec 2023
        # 2-6x RTX 4090 runs: 7B at ~1e-5 s and 65B-70B at 2.2-2.5e-5 s per layer, token and GPU (twice the width)
        width = max(w.hidden_size for w in works)
        acc["global:row_pp_a"] = float(plan.n_layers * prompt)
        acc["global:row_pp_b"] = float(plan.n_layers * prompt * n_acc * width)
        return acc
    scale = float(n_ub)
    if mode == "layer" and len(stages) > 1 and pipelined(works, plan):
        # the prompt's n_ub micro-batches through g stages: their sum + (n_ub - 1) x one stage (pipelined)
        scale = overlap * (1 + (n_ub - 1) / len(stages)) + (1 - overlap) * n_ub
    for (cls, t, _, own), w in zip(stages, works, strict=True):
        _add(acc, cls, t, scale)
        _add(acc, w.cls, own, scale)
    return acc


def pipelined(works: list[DeviceWork], plan: Placement) -> bool:
    """Whether a prompt's micro-batches overlap across the plan's stages: where two or more GPUs hold layers, one
    GPU starts the next micro-batch while the next GPU works on this one (ggml-backend.cpp's scheduler copies,
    src/llama-context.cpp pipeline_parallel), unless the engine stops it (Engine.overlaps_prompt_stages: llama.cpp
    with experts in RAM).  The dual RTX 3060 llama-bench runs in throughput_modern.csv show it even with -ngl at the
    layer count, one layer in RAM (a 2,048-token prompt at 1.4x a 512-token one's rate; one card: flat).  A single
    GPU has nothing to overlap: the layers it streams from RAM run on it too, after its own.  The overlap runs over
    the whole prompt, not one n_batch: llama_decode returns with the graph still running and llama-bench's
    test_prompt synchronizes once after its last batch (tools/llama-bench/llama-bench.cpp); four RTX 4090s take
    Llama-3-8B's 8,192-token prompt at 2.7x one card's rate (XiongjieDai's tables), past the 2.3x that four
    micro-batches per 2,048-token batch would allow."""
    return sum(not w.on_cpu for w in works) > 1 and get_engine(plan.engine).overlaps_prompt_stages(plan.n_cpu_moe > 0)


def prefill_time_s(works: list[DeviceWork], plan: Placement, prompt: int, n_ubatch: int,
                   flash_attention: bool, f16: bool, params: SpeedParams, split_mode: str | None = None,
                   build: str = "current", start: int = 0, overlap: float | None = None,
                   allreduce_token_s: float = 0.0) -> float:
    mode = split_mode or plan.split_mode
    n_ub = math.ceil(prompt / n_ubatch)
    units = params.globals_.get("moe_prompt_units", 0.0)
    stage = []
    for (cls, t, on, own), w in zip(_prefill_stage_terms(works, prompt, n_ubatch, flash_attention, f16, build,
                                                         start, units), works, strict=True):
        cp = class_params(params, cls)
        s = _apply(t, cp) + (_apply(own, class_params(params, w.cls)) if own else 0.0)
        # the stage is one micro-batch's time (the prompt's over n_ub)
        s += moe_expert_overhead_s(on, prompt, n_ubatch, cp.get("a_xt", 0.0), cp["a_ff" if f16 else "a_fx"],
                                   expert_rate_share(on, units)
                                   if build == "current" and on.cls in CURRENT_PROMPT_CLASSES else 1.0) / n_ub
        if on is w:
            # a micro-batch reads the device's weights at least once: a short prompt is memory-bound, never faster
            # than one decode step (LocalScore's 16- and 64-token tests).  With one token's experts: the servers'
            # short-prompt TTFT rows run faster than reading the experts n tokens touch (step_work) would allow
            s = max(s, _apply(decode_terms(w, start, w.window, current=build == "current"), cp))
        # the RAM-resident weights' copies come before the GPU computes with them (one stream, ggml-backend.cpp
        # ggml_backend_sched_compute_splits copies a split's inputs, then runs it): their time adds
        s += params.globals_.get("a_pcie", A_PCIE) * stream_s(w, prompt, n_ubatch, start)
        a_x = cp.get("a_x", 0.0)
        if a_x and w.resident_expert_elements and not w.on_cpu:
            s = max(s, moe_ubatch_elements(w, min(prompt, n_ubatch)) * a_x / (w.bandwidth_gb_s * 1e9))
        stage.append(s)
    if plan.tensor_parallel > 1:
        # two all-reduces per layer and micro-batch: a fixed cost each, and every prompt token's activations
        return n_ub * max(stage) * max(1, plan.pipeline_parallel) + 2 * plan.n_layers * (
            n_ub * params.globals_.get("t_allreduce_pcie", 30e-6) + prompt * allreduce_token_s)
    if mode == "layer" and len(stage) > 1 and pipelined(works, plan):
        rho = params.globals_.get("pipe_overlap", 1.0) if overlap is None else overlap
        return rho * (sum(stage) + (n_ub - 1) * max(stage)) + (1 - rho) * n_ub * sum(stage)
    if mode == "row" and len([w for w in works if not w.on_cpu]) > 1:
        lin = prefill_linear(works, plan, prompt, n_ubatch, flash_attention, f16, mode, build=build,
                             start=start)
        return sum(v * value(params, k) for k, v in lin.items())
    return n_ub * sum(stage)


def estimate_speed(spec: ModelSpec, mem: MemoryBreakdown, plan: Placement, *, prompt_tokens: int = 512,
                   gen_tokens: int = 128, depth_tokens: int = 0, cpu_bandwidth_gb_s: float | None = None,
                   cpu_tflops: float | None = None, params: SpeedParams | None = None,
                   split_mode: str | None = None, build: str = "current",
                   system: System | None = None) -> SpeedEstimate | SpeedUnknown:
    """Prefill rate over a ``prompt_tokens`` prompt and decode rate over ``gen_tokens``, each from
    ``depth_tokens`` already cached (as llama-bench ``ppP @ dD`` and ``tgN @ dD``), the decode rate after the
    prompt, time to first token and total time for prompt + answer."""
    params = params or load_speed_params()
    if plan.verdict == Verdict.DOES_NOT_FIT:
        return SpeedUnknown(reason="does not fit: no speed")
    works = device_work(spec, mem, plan, cpu_bandwidth_gb_s=cpu_bandwidth_gb_s, cpu_tflops=cpu_tflops, system=system)
    nvlink = system.nvlink if system is not None else None
    if isinstance(works, SpeedUnknown):
        return works
    window = spec.sliding_window
    run = mem.run
    mid = (gen_tokens - 1) / 2
    net = network_terms(spec, plan, system, run.n_ubatch) if system is not None and system.is_cluster else None
    ar = net.allreduce_s if net is not None else None
    ar_tok = tp_allreduce_token_s(spec, plan, system) if net is None else 0.0
    net_s = net.decode_s if net is not None else 0.0
    t_mid, per = decode_time_s(works, plan, depth_tokens + mid, window, params, split_mode, nvlink, build,
                               allreduce_s=ar, allreduce_token_s=ar_tok)
    t_mid += net_s
    decode = 1.0 / t_mid
    # after the prompt: decode positions depth + prompt .. depth + prompt + gen
    t_after, _ = decode_time_s(works, plan, depth_tokens + prompt_tokens + mid, window, params, split_mode, nvlink,
                               build, allreduce_s=ar, allreduce_token_s=ar_tok)
    t_after += net_s
    # run.n_seq users answering at once (llama-server -np N slots, each after its prompt): one step reads
    # the weights once and every user's cache, and runs the batch's matmuls (batched_step_s)
    users = max(1, run.n_seq)
    t_step = t_after
    if users > 1:
        t_step = batched_step_s(works, decode_time_s(works, plan, depth_tokens + prompt_tokens + mid, window, params,
                                                     split_mode, nvlink, build, batch=users, allreduce_s=ar,
                                                     allreduce_token_s=ar_tok)[0] + net_s,
                                batch_compute_s(works, users, params, build))
    f16 = mem.quant.upper() in F16_QUANTS
    notes: list[str] = []
    if any(w.tflops is None for w in works):
        t_pp = None
        notes.append("dense FP16 rate unknown for a device: no prefill estimate")
    else:
        t_pp = prefill_time_s(works, plan, prompt_tokens, run.n_ubatch, run.flash_attention, f16,
                              params, split_mode, build, depth_tokens,
                              overlap=0.0 if net is not None and not net.overlapped else None,
                              allreduce_token_s=ar_tok)
        if net is not None:
            t_pp += math.ceil(prompt_tokens / run.n_ubatch) * net.prefill_ubatch_s
        if ar_tok and t_pp:
            share = 100 * 2 * plan.n_layers * prompt_tokens * ar_tok / t_pp
            notes.append(f"tensor parallel {plan.tensor_parallel} over PCIe: the prompt's all-reduces (two per "
                         f"layer, every token's activations) take {share:.0f} % of its time")
    classes = tuple(dict.fromkeys(w.cls for w in works))
    worst = max(classes, key=lambda c: params.bands.get(c, {}).get("tg", (1, 1))[1])
    tg_band = params.bands.get(worst, {}).get("tg", (0.7, 1.3))
    pp_band = params.bands.get(worst, {}).get("pp", (0.7, 1.3))
    engine = get_engine(run.engine)
    unfitted = [f"{c}: efficiencies are priors, not fitted on measurements (wider band)"
                for c in classes if c in params.classes and not params.fitted.get(c, False)]
    # (a prompt-prior class may still have its MoE experts' rate fitted: Vulkan's a_fx, fit_speed.fit_vulkan)
    unfitted += [f"{c}: prompt efficiencies are priors for the dense matmuls, not fitted on measurements (wider "
                 "prefill band)" for c in classes if c in params.prompt_prior and params.fitted.get(c, False)]
    if mem.weights_bytes < TINY_MODEL_BYTES:
        unfitted.append(f"a model under {TINY_MODEL_BYTES // 1_000_000} MB runs at the engine's fixed cost per "
                        "operation, which the constants do not describe: a prior (wider band)")
    if engine.speed_stand_in:
        unfitted.append(engine.speed_stand_in)
    if any(w.matrix_units_unused for w in works):
        notes.append(f"{engine.title} on the M5's GPU Neural Accelerators: no runs show its kernels using them; "
                     "prompts priced at the GPU's FP32 rate, a floor (wider prefill band)")
        pp_band = (min(pp_band[0], 0.5), max(pp_band[1], 2.5))
    limited = sorted({(w.name, w.power_share) for w in works if w.power_share < 1.0})
    if limited:
        notes.append("; ".join(f"{name}: prompt matmuls at {100 * share:.0f} % of its listed tensor rate (its "
                               "power limit holds a lower clock through them)" for name, share in limited))
    missing = [c for c in classes if c not in params.classes]
    if missing:
        # no constants fitted on this engine's own runs on this hardware: another class's stand in
        subs = sorted({stand_in_class(params, c) for c in missing})
        unfitted.append(f"{engine.title}: no speed constants fitted on its own runs on this hardware yet; those of "
                        f"{', '.join(subs)} stand in (wider band)")
    if net is not None:
        notes.append(net.note)
        if net.prior:
            unfitted.append(f"{get_engine(run.engine).title} across machines: network costs are priors, not "
                            "fitted on its cluster runs (wider band)")
    if users > 1:
        unbatched = [c for c in classes if c not in params.batched_fitted]
        if unbatched:  # information only: single-stream decode keeps its band
            notes.append(f"{users} users: the batched matmul cost is a prior for {', '.join(unbatched)} "
                         "(fitted only where runs with several users exist)")
    for note in unfitted:
        notes.append(note)
        tg_band = (min(tg_band[0], 0.6), max(tg_band[1], 1.6))
        pp_band = (min(pp_band[0], 0.5), max(pp_band[1], 2.0))
    if any(w.on_cpu for w in works) and host_cpu(system, cpu_bandwidth_gb_s)[2] and plan.split_mode != "unified":
        notes.append(f"system RAM bandwidth assumed {DEFAULT_CPU_BANDWIDTH_GB_S:g} GB/s (2-channel DDR5-5600)")
    if any(w.on_cpu for w in works) and (limit := core_limit_note(plan, system, mem.run.backend,
                                                                       mem.run.n_threads)):
        notes.append(limit)
    if copy_note := kv_copy_note(works, depth_tokens + mid, run.kv_label):
        notes.append(copy_note)
    roof_s = sum((w.weights_read_bytes + cache_step_bytes(w, depth_tokens + mid, window)[0]) / (w.bandwidth_gb_s * 1e9)
                 for w in works)
    lin = decode_linear(works, plan, depth_tokens + mid, window, split_mode, build)
    layer_s = min(sum(v * value(params, k) for k, v in lin.items() if k.endswith(":t_layer")), t_mid)
    return SpeedEstimate(
        prompt_tokens=prompt_tokens, gen_tokens=gen_tokens, depth_tokens=depth_tokens,
        prefill_tokens_per_s=prompt_tokens / t_pp if t_pp else None, decode_tokens_per_s=decode,
        decode_after_prompt_tokens_per_s=1.0 / t_after, users=users,
        per_user_decode_tokens_per_s=1.0 / t_step, aggregate_decode_tokens_per_s=users / t_step,
        time_to_first_token_s=t_pp, total_time_s=(t_pp + gen_tokens * t_after) if t_pp is not None else None,
        decode_band=(decode * tg_band[0], decode * tg_band[1]),
        prefill_band=(prompt_tokens / t_pp * pp_band[0], prompt_tokens / t_pp * pp_band[1]) if t_pp else None,
        per_device_ms=tuple((w.name, 1000 * t) for w, t in zip(works, per, strict=True)),
        roofline_tokens_per_s=1.0 / roof_s if roof_s else 0.0, classes=classes, notes=tuple(notes),
        decode_layer_s=layer_s)

