"""Speed model, first stage: what each device of a plan does per token and per prompt, before efficiencies.

``device_work`` turns a placement into one ``DeviceWork`` per device: the bytes decode reads (weights, with a MoE
model's active share; the KV cache per position; a hybrid model's recurrent state), the weight elements a prompt
multiplies (from the tensor table; the output head only for the tokens whose logits are returned), the rates the
device runs them at (bandwidth, tensor and quantized-matmul rates; NVIDIA MMQ on INT8 tensor cores), the weights
a prompt streams over PCIe from RAM, and the speed class whose fitted constants price it (``speedclass``).
``speed`` prices that work with the constants.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .engines import KV_ELEMENT_BYTES, get_engine
from .hardware.rates import (
    APPLE_SERIAL_PROMPT_SHARE,
    CPU_CORE_STREAM_GB_S,
    X86_ISAS,
    alu_prompt_tflops,
    apple_serial_dequant,
    busy_cores,
    cpu_prompt_tflops,
    cpu_stream_gb_s,
    fp16_tensor_only,
    geforce_halves_fp32_accumulate,
    has_matrix_units,
    mma_without_tensor_cores,
    mmq_int8_share,
    power_limited_share,
    unit_rate,
    vulkan_reaches_matrix_units,
)
from .hardware.spec import Device
from .memory import MemoryBreakdown, kv_layout
from .models.spec import ModelSpec
from .placement import Placement
from .speedclass import family_class, hardware_class
from .system import System, gpu_host_gb_s
from .vocab import Backend, DecodeKernel, LayerKind, Role, SpeedClass, Split, Vendor

DEFAULT_CPU_BANDWIDTH_GB_S = 89.6  # 2 channels DDR5-5600 (platforms.toml AM5 desktop): assumed when not given
DEFAULT_CPU_TFLOPS = 1.0  # a 16-core AVX-512 desktop CPU, FP32 FMA peak order of magnitude (assumed)
# llama.cpp's F16 matrix-vector kernel before PR #9816 (October 2024; ggml-cuda dmmv.cu, which read F16 weights with
# scalar loads) kept too few bytes in flight per multiprocessor to reach HBM bandwidth: the PR measured 1.27x on an
# H100 SXM's Llama-3-8B F16 decode and 1.01x on GDDR cards.  The May 2024 runs show the ceiling: F16 decode on an
# A100 PCIe reaches 880 GB/s of its 1,935 and on an H100 PCIe 1,090 of 2,039 (about their multiprocessor-clock
# ratio, 1.31), where GDDR cards reach 85-90 % of theirs.  Bytes per multiprocessor cycle the old kernel reaches,
# chosen on those runs held out device by device (benchmarks/fit_speed.py old_f16_gemv_grid).  It caps an H100 SXM
# (132 SMs at 1,830 MHz) at 2.4 of its 3.35 TB/s: the PR's 1.27x from lifting the cap is of that size
OLD_F16_GEMV_BYTES_PER_SM_CYCLE = 10.0
F16_QUANTS = ("F16", "BF16", "F32", "FP16", "FP32")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceWork:
    """What one device does per token (decode) and per prompt (prefill), before efficiencies."""

    name: str
    cls: str
    bandwidth_gb_s: float
    tflops: float | None
    n_layers: int
    # the layers' fixed per-token work in transformer layers: a layer with a token mixer and a feed-forward
    # block is 1; a block with only one of them (Nemotron-H's separate Mamba, MoE and attention blocks) is 1/2
    n_blocks: float
    weights_read_bytes: float  # per decode token
    kv_bytes_per_pos: float  # full-attention KV bytes read per token of context
    swa_bytes_per_pos: float  # sliding-window KV bytes per token of context (capped at window)
    # of a quantized cache, the bytes per token of context that the engine's decode attention converts into an F16
    # copy at each step and reads back (Engine.decode_kernel: not VECTOR): full-attention and sliding layers
    kv_copy_bytes_per_pos: float = 0.0
    swa_copy_bytes_per_pos: float = 0.0
    n_heads_layers: int  # sum over layers of attention heads (score matrices without FA)
    attn_dim_layers: int  # sum over layers of n_heads * head_dim (attention FLOPs)
    # of attn_dim_layers, the sliding-window layers' part, and their window: a prompt token attends to at most
    # the window there (llama.cpp keeps window + micro-batch cells for those layers, llama-kv-cache-iswa.cpp)
    swa_attn_dim_layers: int = 0
    swa_heads_layers: int = 0
    # of attn_dim_layers and of its sliding part, the layers whose heads only the matrix kernel takes (Engine
    # .decode_kernel MATRIX): speed.decode_terms leaves them out of the arithmetic term ``a_at``, fitted on heads of
    # 64-256 (Gemma 4's 512-wide layers slow with depth as their bytes say: tests/test_speed_depth.py, four sweeps)
    matrix_attn_dim_layers: int = 0
    matrix_swa_attn_dim_layers: int = 0
    window: int = 0
    hidden_size: int = 0  # the model's width: the inner dimension of most of its matmuls
    params: float  # weight elements used per token (for 2NP FLOPs)
    quant_tops: float | None = None  # rate the quantized-weight kernels run at (NVIDIA MMQ: INT8 tensor cores)
    # of quant_tops, the share current llama.cpp MMQ reaches here against the cards its constants were fitted on
    # (hardware.rates.mmq_int8_share: Turing 0.5); speed applies it to current builds' prompts
    mmq_share: float = 1.0
    streamed_bytes: float = 0.0  # weights in RAM that the GPU streams over PCIe per micro-batch
    pcie_gb_s: float = 0.0
    shard: int = 1
    # the weight elements held here (every expert, not the active share) and the routed experts' part of them:
    # a prompt micro-batch routes to nearly every expert, so the classes that fit ``a_x`` work through them all
    resident_elements: float = 0.0
    resident_expert_elements: float = 0.0
    # the routed experts a CPU keeps in RAM for layers that run on a GPU (--n-cpu-moe), bytes: its decode reads them
    ram_expert_bytes: float = 0.0
    expert_ratio: float = 1.0  # experts used per token / experts
    routed_elements: float = 0.0  # of ``params``, the routed experts' elements a token uses (MoE)
    # decode's dequantization work: quantized weight elements unpacked per token at the device's FP32 ALU rate
    # (0 for F16 / BF16 weights, which the GEMV reads as they are)
    alu_tflops: float | None = None
    dequant_elements: float = 0.0
    fp4_bytes: float = 0.0  # of weights_read_bytes, those in the engine's FP4 formats (speed.FP4_KERNEL_CLASSES)
    # the device has matrix units (an M5's Neural Accelerators) that no run of this engine's kernels shows in use:
    # its prompts are priced at the ALU rate (speed says so and widens the prefill band)
    matrix_units_unused: bool = False
    # quantized prompt batches of MMQ_MAX_BATCH tokens or more run as weights dequantized to F16 and a cuBLAS GEMM on
    # the FP16 tensor cores (chips with FP16 matrix units but no INT8 ones: NVIDIA Volta), on current builds
    fp16_gemm_prompts: bool = False
    # quantized prompt batches of more than OLD_MMQ_MAX_BATCH tokens ran as that dequantization and cuBLAS GEMM on
    # every chip with FP16 tensor cores (Volta and later) in llama.cpp builds before PR #8075 (June 2024), the
    # 2023-12 and 2024-05 build eras: CUDA_USE_TENSOR_CORES, on by default, capped MMQ at MMQ_MAX_BATCH_SIZE (32)
    cublas_era_prompts: bool = False
    # the share of the listed tensor rates the board's power limit lets its matrix units sustain (already applied to
    # tflops and quant_tops; rates.power_limited_share), for the estimate's note
    power_share: float = 1.0
    # the engine's prompt kernels do not reach the chip's matrix units (the Vulkan shaders on Intel Arc, an engine's
    # Engine.alu_prompt_vendors): its prompt matmuls, dense and routed experts alike, run on the shader ALUs
    alu_prompts: bool = False
    # the rate a prompt's flash-attention FLOPs run at: the matrix rate (tflops), or the ALU rate where the engine's
    # attention kernels for this backend and vendor do not reach the matrix units (Engine.alu_attention)
    attention_tflops: float | None = None
    # the engine's own prompt GEMMs (Engine.prompt_rates_tflops: vLLM's by weight format): every format's FLOPs at
    # its own tensor rate (quant_tops) with the 16-bit GEMMs' constant a_ff, not ggml's MMQ constant a_fq
    gemm_prompts: bool = False
    # a sequence's recurrent state in the layers held here (Mamba / Gated DeltaNet / short-conv mixers): each
    # decode step reads it and writes it back (llama.cpp ggml_ssm_scan / gated delta rule: f32 state in, out)
    state_bytes: float = 0.0
    # the output head's weight elements held here, which a prompt multiplies only for the tokens whose logits
    # are returned: the last one (llama.cpp keeps the rows of inp_out_ids before the final norm and the head,
    # src/llama-graph.cpp build_inp_out_ids, since PR #6122; a batch that names no outputs returns the last
    # token's, src/llama-batch.cpp llama_batch_allocr::init: llama-bench; llama-server asks for the last one);
    # 0 when every token's logits are computed (--logits-all: the head is then in ``params`` for each token)
    output_elements: float = 0.0
    # the blocks' matrix elements by prompt-kernel family (CPU_PROMPT_FAMILY on the CPU, else GPU_PROMPT_FAMILY), as
    # shares of the blocks' total; the rest run as the reference types do
    family_shares: tuple[tuple[str, float], ...] = ()
    # the work runs on the host CPU's cores (offloaded layers, or the CPU backend on an APU / SoC): what the speed
    # model asks instead of reading a class name, since an engine with CPU kernels of its own has its own class
    on_cpu: bool = False
    # routed-expert matmuls a decode step runs here: its MoE layers whose experts it holds x the experts a token uses
    expert_calls: float = 0.0
    # the GPU's streaming multiprocessors / compute units (0: not known, or a CPU): what a MoE prompt's expert
    # kernels fill (microbatch.expert_rate_share)
    units: int = 0
    # of weights_read_bytes, the F16 / BF16 weights a GPU's matrix-vector kernels read per decode step, and the rate
    # the F16 kernel of builds before llama.cpp PR #9816 reaches on this GPU (OLD_F16_GEMV_BYTES_PER_SM_CYCLE x its
    # multiprocessors x boost clock; 0: not an NVIDIA GPU on CUDA, or its multiprocessors or clock unknown)
    f16_weight_bytes: float = 0.0
    f16_gemv_gb_s: float = 0.0
    # the prompt kernels' rate here in builds of May 2024 and before against the chips their constants were fitted on:
    # an M3-or-later Apple GPU's gain over the M1 / M2 ones (1 / rates.APPLE_SERIAL_PROMPT_SHARE), else 1
    old_prompt_share: float = 1.0


# ggml-cpu's prompt matmuls by weight type, in the families whose rates the throughput_modern.csv CPU rows tell
# apart (one model in several quants on a Ryzen 7 7840HS, six models): the low-bit K and i-quants ("lo": Q2_K
# files about 1.6x the Q4_K_M time), Q8_0 ("q8": about 1.1x) and the 4-bit legacy types Q4_0 / IQ4_NL ("q4":
# about 0.93x).  ggml-cpu runs each type with its own dot kernels and repacks some of them into interleaved
# blocks for its GEMM (ggml/src/ggml-cpu/repack.cpp: block_q4_0x8, block_iq4_nlx8, block_q4_Kx8, block_q8_0x4,
# block_q2_Kx8, ...), which ones depending on the build and the ISA; the families are fitted, not derived.
# Other types price as the reference family (Q4_K / Q5_K / Q6_K).
CPU_PROMPT_FAMILY = {
    "Q2_K": "lo", "Q3_K": "lo", "IQ1_S": "lo", "IQ1_M": "lo", "IQ2_XXS": "lo", "IQ2_XS": "lo", "IQ2_S": "lo",
    "IQ3_XXS": "lo", "IQ3_S": "lo", "TQ1_0": "lo", "TQ2_0": "lo",
    "Q8_0": "q8",
    "Q4_0": "q4", "IQ4_NL": "q4",
}


# The GPU's quantized prompt matmuls (ggml-cuda's MMQ, which the HIP build shares) by weight type: the types whose
# tiles cost the kernels most to unpack ("mq": Q2_K and Q6_K with their many sub-block scales, the 1-2 bit
# i-quants with their grid lookups).  llama.cpp itself routes Q2_K, Q6_K and IQ2_XS / IQ2_S on RDNA 3 to
# dequantization + hipBLAS at large batches because MMQ's peak for them is lower (ggml/src/ggml-cuda/mmq.cu,
# ggml_cuda_should_use_mmq, 2026); benchmarks/data/rocm_current.csv shows it on RDNA 4 (Radeon AI PRO R9700: a
# Q2_K_S file at about half the Q4_K rate, Q6_K at 0.7) and on the MI50's DP4A path (IQ1_S / IQ2_XXS at 0.6 of
# IQ4_NL).  Fitted for the classes of speed.TYPE_SPLIT_CLASSES that run on a GPU.
GPU_PROMPT_FAMILY = {
    "Q2_K": "mq", "Q6_K": "mq", "IQ1_S": "mq", "IQ1_M": "mq", "IQ2_XXS": "mq", "IQ2_XS": "mq", "IQ2_S": "mq",
}


def family_shares(type_elements: tuple[tuple[str, int], ...], on_cpu: bool = True) -> tuple[tuple[str, float], ...]:
    """Shares of the blocks' matrix elements in each prompt-kernel family of the CPU's kernels (CPU_PROMPT_FAMILY)
    or, ``on_cpu`` false, a GPU's (GPU_PROMPT_FAMILY); the reference family left out."""
    families = CPU_PROMPT_FAMILY if on_cpu else GPU_PROMPT_FAMILY
    total = sum(n for _, n in type_elements)
    acc: dict[str, float] = {}
    for ty, n in type_elements:
        fam = families.get(ty)
        if fam and total:
            acc[fam] = acc.get(fam, 0.0) + n / total
    return tuple(sorted(acc.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedUnknown:
    """Why no speed can be estimated for a plan (it does not fit; a device's bandwidth is unknown)."""

    reason: str


def _kv_elem(mem: MemoryBreakdown) -> tuple[float, float]:
    """Bytes per cached element of the K cache and of the V cache."""
    f16 = KV_ELEMENT_BYTES["f16"]
    return (float(KV_ELEMENT_BYTES.get(mem.run.kv_cache_type, f16)),
            float(KV_ELEMENT_BYTES.get(mem.run.kv_type_v, f16)))


@functools.lru_cache(maxsize=1024)
def _kv_read_layout(engine_name: str, spec: ModelSpec) -> tuple[tuple[LayerKind, int, int], ...]:
    """Per layer: its kind and the K and V elements it *reads* per cached token.  A layer that shares an
    earlier layer's cache (Gemma 3n / Gemma 4 E models reuse the last layer of the same kind) stores nothing
    but still attends over that cache (llama.cpp llama-graph.cpp build_attn with a reused KV layer)."""
    out: list[tuple[LayerKind, int, int]] = []
    last: dict[LayerKind, tuple[LayerKind, int, int]] = {}  # the last layer of each kind with its own cache
    for il, (kind, k, v) in enumerate(kv_layout(engine_name, spec)):
        if (k or v) and spec.has_kv(il):
            last[kind] = (kind, k, v)
        shared = not k and not v and spec.has_attention(il) and not spec.has_kv(il)
        out.append(last.get(kind, (kind, k, v)) if shared else (kind, k, v))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _block_units(spec: ModelSpec) -> tuple[float, ...]:
    """Per layer: half a transformer layer for its token mixer (attention, recurrent or both) and half for its
    feed-forward block; kernel launches and norms come with each (the per-layer costs t_layer and t_ub)."""
    return tuple(0.5 * (spec.layer_kind(il) != LayerKind.NONE) + 0.5 * spec.has_ffn(il) for il in range(spec.n_layers))


@functools.lru_cache(maxsize=1024)
def _state_layers(spec: ModelSpec) -> tuple[bool, ...]:
    """Per layer: whether it keeps a recurrent state (ModelSpec.has_state), asked once per model structure."""
    return tuple(spec.has_state(il) for il in range(spec.n_layers))


@functools.lru_cache(maxsize=1024)
def _attention_widths(engine_name: str, spec: ModelSpec) -> tuple[int, ...]:
    """Per layer where it attends: query heads x the mean of the key and value head sizes (attention's FLOPs per
    cached token are 4 x this), else 0.  An engine that caches MLA's latent (``kv_layout``: no separate V)
    attends in it: each head's query is absorbed into the kv_lora_rank + rope key and its output is a
    kv_lora_rank-wide value (llama.cpp src/models/deepseek2.cpp, build_attn with wv_b; vLLM's MLA decode), 4x the
    work of 128-wide heads for DeepSeek V2 / V3."""
    layout = kv_layout(engine_name, spec)
    out = []
    for il in range(spec.n_layers):
        if not spec.has_attention(il):
            out.append(0)
        elif spec.uses_mla and layout[il][2] == 0:
            out.append(spec.heads(il) * (2 * spec.kv_lora_rank + spec.qk_rope_head_dim) // 2)
        else:
            out.append(spec.heads(il) * spec.head_dim_of(il))
    return tuple(out)


def _qk_head(spec: ModelSpec, il: int) -> int:
    """Layer ``il``'s query-key head size as the attention kernels see it: MLA attends in its kv_lora_rank + rope
    latent (llama.cpp's MQA form)."""
    return spec.kv_lora_rank + spec.qk_rope_head_dim if spec.uses_mla else spec.head_dim_of(il)


def _attention_shapes(spec: ModelSpec, layers: tuple[int, ...] | list[int]) -> set[tuple[int, int]]:
    """The (query-key head size, query heads per key head) pairs of the attention layers among ``layers``
    (_qk_head)."""
    if spec.uses_mla:
        return {(_qk_head(spec, 0), spec.n_heads)}
    if not (spec.head_dim_per_layer or spec.n_heads_per_layer or spec.n_kv_heads_per_layer):
        return {(spec.head_dim, spec.n_gqa)}
    return {(spec.head_dim_of(il), spec.heads(il) // max(1, spec.kv_heads(il))) for il in layers
            if spec.has_attention(il)}


_KERNELS: dict[tuple[str, int, str, str, str], tuple[ModelSpec, tuple[DecodeKernel, ...] | None]] = {}


def _decode_kernels(engine_name: str, spec: ModelSpec, backend: Backend, vendor: str,
                    chip: str) -> tuple[DecodeKernel, ...] | None:
    """Per layer: the kernel the engine's decode attention runs (Engine.decode_kernel), asked once per query-key
    head size (_qk_head); VECTOR for a layer without attention.  None where every layer
    runs the vector kernel (most models: nothing to add up).  Memoized by the spec's identity (``spec.structure``
    is memoized so): hashing a whole spec per call cost the advisor's search more than the lookup saves."""
    key = (engine_name, id(spec), str(backend), vendor, chip)
    got = _KERNELS.get(key)
    if got is not None and got[0] is spec:
        return got[1]
    engine = get_engine(engine_name)
    by_head: dict[int, DecodeKernel] = {}
    out = []
    for il in range(spec.n_layers):
        qk = _qk_head(spec, il)
        if spec.has_attention(il) and qk not in by_head:
            by_head[qk] = engine.decode_kernel(backend, Vendor.of(vendor), chip, qk)
        out.append(by_head[qk] if spec.has_attention(il) else DecodeKernel.VECTOR)
    result = tuple(out) if any(k != DecodeKernel.VECTOR for k in out) else None
    if len(_KERNELS) > 4096:
        _KERNELS.clear()
    _KERNELS[key] = (spec, result)
    return result


def _cpu_rate(dev: Device | None, assumed_tflops: float, threads: int | None = None) -> float:
    """A CPU's arithmetic rate from its busy cores and SIMD width where the catalog gives them, else the assumed
    one."""
    rate = cpu_prompt_tflops(busy_cores(dev.units, threads), dev.isa, dev.vendor) if dev is not None else None
    return rate or assumed_tflops


def host_cpu(system: System | None, cpu_bandwidth_gb_s: float | None = None,
             cpu_tflops: float | None = None, threads: int | None = None) -> tuple[float, float, bool]:
    """The host CPU's RAM bandwidth and prompt arithmetic rate: as given, else the system's CPU platform's
    (its channels x speed, at most what its busy cores draw; those cores x SIMD width, ``cpu_prompt_tflops``),
    else the assumed defaults; and whether the bandwidth is the assumed one.  ``threads``: the engine's CPU
    threads (``busy_cores``)."""
    cpu = system.cpu_device if system is not None else None
    bw = cpu_bandwidth_gb_s or (cpu.bandwidth_gb_s if cpu is not None else None)
    tf = cpu_tflops or _cpu_rate(cpu, DEFAULT_CPU_TFLOPS, threads)
    if bw and cpu is not None:  # what its cores draw of it (rates.CPU_CORE_STREAM_GB_S)
        bw = cpu_stream_gb_s(bw, cpu.units, cpu.isa, threads)
    return bw or DEFAULT_CPU_BANDWIDTH_GB_S, tf, not bw


def cache_step_bytes(w: DeviceWork, position: float, window: int) -> tuple[float, float]:
    """One sequence's cache bytes a decode step reads at context position ``position``: (the cache as stored and the
    recurrent state, the F16 copy a decode kernel makes of a quantized cache: DeviceWork.kv_copy_bytes_per_pos); a
    sliding-window layer's up to ``window`` cells."""
    swa = min(position, window or position)
    return (w.kv_bytes_per_pos * position + w.swa_bytes_per_pos * swa + w.state_bytes,
            w.kv_copy_bytes_per_pos * position + w.swa_copy_bytes_per_pos * swa)


def kv_copy_note(works: list[DeviceWork], position: float, kv_label: str) -> str:
    """A note where the F16 copy a decode kernel makes of a quantized cache (DeviceWork.kv_copy_bytes_per_pos) is a
    tenth or more of the bytes a token reads at context position ``position``, else ''."""
    parts = [cache_step_bytes(w, position, w.window) for w in works]
    copied = sum(copy for _, copy in parts)
    read = sum(w.weights_read_bytes + stored for w, (stored, _) in zip(works, parts, strict=True))
    share = copied / (copied + read) if copied else 0.0
    if share < 0.1:
        return ""
    return (f"KV cache {kv_label}: the layers whose head size the decode kernel takes only in F16 convert it to an "
            f"F16 copy at each step, {100 * share:.0f} % of the bytes a token reads here (an f16 cache is read as "
            "it is)")


def core_limit_note(plan: Placement, system: System | None, backend: str, threads: int | None = None) -> str:
    """A note where the CPU that runs layers cannot draw its platform's bandwidth with the cores it keeps busy
    (rates.cpu_stream_gb_s; ``threads`` as in ``host_cpu``), else ''."""
    cpus = [system.cpu_device if system is not None else None]
    cpus += [d.device for d in plan.devices if d.role == Role.CPU or backend == "cpu"]
    for cpu in cpus:
        if cpu is not None and cpu.bandwidth_gb_s:
            cores = busy_cores(cpu.units, threads)
            drawn = cpu_stream_gb_s(cpu.bandwidth_gb_s, cpu.units, cpu.isa, threads)
            if drawn < cpu.bandwidth_gb_s:
                who = (f"{cores} thread{'s draw' if cores != 1 else ' draws'}"
                       if threads is not None and cores != cpu.units else f"{cores} cores draw")
                rule = f"{CPU_CORE_STREAM_GB_S:g} GB/s per core" if cpu.isa in X86_ISAS else \
                    f"their share of its {cpu.units} cores"
                return (f"the CPU's {who} about {drawn:.4g} of its {cpu.bandwidth_gb_s:.4g} GB/s of "
                        f"memory bandwidth ({rule})")
    return ""


def device_work(spec: ModelSpec, mem: MemoryBreakdown, plan: Placement, *,
                cpu_bandwidth_gb_s: float | None = None,
                cpu_tflops: float | None = None,
                system: System | None = None) -> list[DeviceWork] | SpeedUnknown:
    """Per-device work, or a reason speed cannot be predicted (a device with unknown bandwidth).  ``system``
    gives the links (the first GPU's PCIe link carries RAM-resident weights; without it, the catalog's) and the
    host CPU (``host_cpu``: RAM bandwidth and arithmetic for layers kept in RAM, unless given here)."""
    threads = mem.run.n_threads
    cpu_bandwidth_gb_s, cpu_tflops, _ = host_cpu(system, cpu_bandwidth_gb_s, cpu_tflops, threads)
    structure = spec.structure
    layout = _kv_read_layout(mem.run.engine, structure)
    attention = _attention_widths(mem.run.engine, structure)
    units = _block_units(structure)
    states = _state_layers(structure)
    engine = get_engine(mem.run.engine)
    elem_k, elem_v = _kv_elem(mem)
    active = spec.n_experts_active / spec.n_experts if spec.n_experts else 1.0
    bpw = mem.bits_per_weight or 16.0
    # elements per byte of the blocks' weights (exact from the tensor table: the file's mean bits per weight
    # mixes in the embedding and the head, which K-quant mixes keep at other types than the blocks)
    layer_bytes = sum(lay.weights_bytes for lay in mem.layers)
    el_per_byte = mem.layer_elements / layer_bytes if mem.layer_elements and layer_bytes else 8 / bpw
    quantized = mem.quant.upper() not in F16_QUANTS
    gpus = [d for d in plan.devices if d.role != Role.CPU and (d.layers or d.has_output)]
    first = gpus[0].device if gpus else None
    pcie = 0.0
    if first is not None:
        pcie = gpu_host_gb_s(system, first) or 0.0
    out: list[DeviceWork] = []
    for d in plan.devices:
        if not (d.layers or d.has_output or d.expert_layers):
            continue
        dev: Device | None = d.device
        if d.role == Role.CPU:
            bw: float | None = (d.device.bandwidth_gb_s if d.device else None) or (
                plan.accelerators[0].device.bandwidth_gb_s if plan.split_mode == Split.UNIFIED
                and plan.accelerators[0].device else cpu_bandwidth_gb_s)
            # prompts at the CPU's cores x SIMD width; decode's unpacking at one assumed rate for every CPU:
            # it overlaps the weight stream, and tying it to the cores fitted the LocalScore CPU decode rows
            # worse (tg median 21.1 vs 19.8 %)
            tf: float | None = _cpu_rate(dev, cpu_tflops, threads)
            alu: float | None = DEFAULT_CPU_TFLOPS
            if bw and dev is not None:  # what its busy cores draw of it (host_cpu: the same)
                bw = cpu_stream_gb_s(bw, dev.units, dev.isa, threads)
        elif mem.run.backend == "cpu":  # the CPU backend on an APU / SoC: its RAM, the CPU's arithmetic
            bw = cpu_stream_gb_s(dev.bandwidth_gb_s, dev.units, dev.isa, threads) \
                if dev and dev.bandwidth_gb_s else None
            tf, alu = _cpu_rate(dev, cpu_tflops, threads), DEFAULT_CPU_TFLOPS
        else:
            bw = dev.bandwidth_gb_s if dev else None
            tf = (dev.fp16_tflops or dev.fp32_tflops) if dev else None
            alu = (dev.fp32_tflops or dev.fp16_tflops) if dev else None
            if dev is not None and dev.vendor == "apple" and not apple_serial_dequant(dev.vendor, dev.arch):
                alu = None  # M3 and later overlap the unpacking with the stream (rates.apple_serial_dequant)
            if dev is not None and tf and geforce_halves_fp32_accumulate(dev.vendor, dev.chip, dev.name):
                # ggml-cuda runs F16 GEMMs with FP16 accumulation (cublasGemmEx CUBLAS_COMPUTE_16F), which
                # GeForce parts do at twice the FP32-accumulate rate the catalog lists (Ada/Ampere whitepapers)
                tf *= 2
        alu_path = False
        if dev is not None and d.role != Role.CPU and dev.fp32_tflops:
            # matrix units the prompt kernels do not reach: the Vulkan shaders on Intel Arc's XMX; an engine's on
            # the chips of its Engine.alu_prompt_vendors that have them.  Prompts then run at the ALU rate
            vendor = Vendor.of(dev.vendor)
            if ((mem.run.backend == "vulkan" and not vulkan_reaches_matrix_units(vendor))
                    or (vendor in engine.alu_prompt_vendors and dev.chip and unit_rate(vendor, dev.chip))):
                tf = alu_prompt_tflops(vendor, dev.chip, dev.fp32_tflops)
                alu_path = True
        qt = tf
        mmq = 1.0
        volta = dev is not None and fp16_tensor_only(dev.vendor, dev.chip)  # FP16 tensor cores, no INT8 ones
        cublas_era = bool(dev is not None and dev.vendor == "nvidia" and d.role != Role.CPU and quantized
                          and mem.run.backend == "cuda" and dev.chip
                          and has_matrix_units(Vendor.of(dev.vendor), dev.chip))
        if (dev is not None and dev.vendor == "nvidia" and dev.int8_tops and d.role != Role.CPU
                and mem.run.backend != "cpu" and not volta):
            # quantized matmuls: MMQ on INT8 tensor cores (Turing+) or DP4A (Pascal); Volta dequantizes prompt
            # batches to FP16 for its tensor cores (ggml-cuda/mmq.cu ggml_cuda_should_use_mmq)
            qt = dev.int8_tops
            mmq = mmq_int8_share(dev.vendor, dev.chip)
            if mma_without_tensor_cores(Vendor.of(dev.vendor), dev.chip) and dev.fp16_tflops:
                qt, mmq = dev.fp16_tflops, 1.0  # the GTX 16 series runs MMQ's int8 MMA on its FP16 units
        own = engine.prompt_rates_tflops(mem.quant, dev) if (
            dev is not None and d.role != Role.CPU and mem.run.backend != "cpu") else None
        if own is not None:  # the engine's own prompt kernels (vLLM's by weight format), not ggml's
            (tf, qt), mmq, alu_path, cublas_era = own, 1.0, False, False
        fp16_gemm = cublas_era and volta  # Volta keeps that path in current builds (DeviceWork.fp16_gemm_prompts)
        power = power_limited_share(dev.vendor, dev.chip, dev.units, dev.boost_mhz, dev.tdp_w) if (
            dev is not None and d.role != Role.CPU and not alu_path) else 1.0
        if power < 1.0 and tf:  # the matrix units at the clock the board's power limit holds (rates.py)
            tf, qt = tf * power, (qt * power if qt else qt)
        attn = tf  # flash attention's prompt FLOPs: on the matrix units, or the ALUs (Engine.attention_on_alus)
        if dev is not None and d.role != Role.CPU and alu and any(
                engine.attention_on_alus(mem.run.backend, Vendor.of(dev.vendor), dev.chip or "", head, gqa)
                for head, gqa in _attention_shapes(spec, d.layers)):
            attn = alu
        if not bw:
            return SpeedUnknown(reason=f"bandwidth of {d.name} unknown: memory only, no speed")
        w = 0.0
        kv_pos = swa_pos = 0.0
        heads = adim = swa_adim = swa_heads = 0
        # every expert held here, for the classes that cost MoE prompts by the experts they touch: routed
        # experts kept in RAM (--n-cpu-moe on a GPU, the CPU's own expert layers) are not held on a GPU
        moe_ram = set(d.expert_layers) if d.role == Role.CPU else {il for il in d.layers if il < plan.n_cpu_moe}
        resident = resident_x = 0.0
        routed = 0.0  # the routed experts' bytes a token uses here (their share of w)
        state = 0.0
        calls = 0.0
        for il in d.layers:
            lay = mem.layers[il]
            w += lay.weights_bytes - lay.expert_bytes * (1 - active)
            routed += lay.expert_bytes * active
            in_ram = il in moe_ram
            if lay.expert_bytes and not in_ram:
                calls += spec.n_experts_active
            resident += lay.weights_bytes - (lay.expert_bytes if in_ram else 0)
            resident_x += 0 if in_ram else lay.expert_bytes
            kind, k, v = layout[il]
            if states[il]:
                state += spec.recurrent_state_bytes  # one sequence's (the cache holds n_seq of them)
            per = k * elem_k + v * elem_v
            if kind == LayerKind.SLIDING:
                swa_pos += per
            elif kind == LayerKind.FULL:
                kv_pos += per
            if attention[il]:
                heads += spec.heads(il)
                adim += attention[il]
                if kind == LayerKind.SLIDING and spec.sliding_window:
                    swa_adim += attention[il]
                    swa_heads += spec.heads(il)
        # the layers whose decode kernel reads F16 only (Engine.decode_kernel): the F16 copy of a quantized cache
        # (4 bytes per converted element, written and read back; K and V apart), and the matrix kernel's layers
        copy_pos = swa_copy_pos = 0.0
        matrix_adim = matrix_swa_adim = 0
        kernels = _decode_kernels(mem.run.engine, structure, mem.run.backend, dev.vendor, dev.chip or "") \
            if dev is not None and d.role != Role.CPU and mem.run.flash_attention else None
        if kernels:
            copy_k, copy_v = (4.0 * (t != "f16") for t in (mem.run.kv_cache_type, mem.run.kv_type_v))
            for il in d.layers:
                if kernels[il] == DecodeKernel.VECTOR or not attention[il]:
                    continue
                kind, k, v = layout[il]
                sliding = kind == LayerKind.SLIDING
                if sliding:
                    swa_copy_pos += k * copy_k + v * copy_v
                elif kind == LayerKind.FULL:
                    copy_pos += k * copy_k + v * copy_v
                if kernels[il] == DecodeKernel.MATRIX:
                    if sliding and spec.sliding_window:
                        matrix_swa_adim += attention[il]
                    else:
                        matrix_adim += attention[il]
        # routed experts kept in RAM for layers that otherwise run on the GPU (--n-cpu-moe): read by the CPU
        moved = ram_experts = 0.0
        if d.role == Role.CPU:
            moved = sum(mem.layers[il].expert_bytes * active for il in d.expert_layers)
            ram_experts = float(sum(mem.layers[il].expert_bytes for il in d.expert_layers))
            calls += len(d.expert_layers) * spec.n_experts_active
        elif plan.n_cpu_moe:
            moved = -sum(mem.layers[il].expert_bytes * active for il in d.layers if il < plan.n_cpu_moe)
        w += moved
        routed += moved
        elements = w * el_per_byte  # the blocks' weight elements used per token
        head = 0.0
        if d.has_output:
            w += mem.output_layer_bytes
            head = mem.output_elements or mem.output_layer_bytes * 8 / bpw
            elements += head
        shard = max(1, d.shard)
        role_cls = "cpu" if d.role == Role.CPU else hardware_class(dev, mem.run.backend)
        on_cpu = role_cls == "cpu"
        if engine.speed_class != SpeedClass.LLAMA_CPP and (not on_cpu or engine.own_cpu_kernels):
            # another engine's kernels: its own constants where fitted ("vllm-cuda"), else llama.cpp's stand in
            # (on the CPU too where it brings CPU kernels of its own: "llamafile-cpu")
            role_cls = f"{engine.speed_class}-{role_cls}"
        # matrix units no run shows this engine's kernels using (Ollama's bundled ggml and LM Studio's runtime
        # disabled llama.cpp's Metal tensor API on M5 chips for months: ollama#15257, lmstudio-bug-tracker #2040):
        # its prompts at the GPU's ALU rate, with its family's constants
        unused = family_class(role_cls) != role_cls and dev is not None and bool(dev.fp32_tflops)
        if unused and dev is not None:
            tf = qt = dev.fp32_tflops
        role_cls = family_class(role_cls)
        streamed = 0.0
        if d.role == Role.CPU and gpus and mem.run.backend in ("cuda", "rocm") and mem.run.op_offload:
            # a prompt micro-batch is computed on the GPU with the RAM-resident weights copied over (ggml-cuda
            # offload_op: matmuls of >= 32 rows); its tokens route to nearly every expert (1 - (1 - k/E)^512
            # of them), so all of a layer's experts cross the link, not the active share decode reads.  The output
            # head multiplies one row per sequence (llama.cpp gathers the rows it returns logits for first:
            # inp_out_ids), under the 32-row threshold, so the CPU computes it in place; with logits for every
            # token (--logits-all) it streams like the layers
            streamed = float(sum(mem.layers[il].weights_bytes for il in d.layers)
                             + sum(mem.layers[il].expert_bytes for il in d.expert_layers)
                             + (mem.output_layer_bytes if d.has_output and mem.run.logits_all else 0))
        out.append(DeviceWork(name=d.name, cls=role_cls, bandwidth_gb_s=bw, tflops=tf, n_layers=len(d.layers),
                              n_blocks=sum(units[il] for il in d.layers),
                              weights_read_bytes=w / shard, kv_bytes_per_pos=kv_pos / shard,
                              swa_bytes_per_pos=swa_pos / shard, n_heads_layers=heads // shard,
                              kv_copy_bytes_per_pos=copy_pos / shard, swa_copy_bytes_per_pos=swa_copy_pos / shard,
                              matrix_attn_dim_layers=matrix_adim // shard,
                              matrix_swa_attn_dim_layers=matrix_swa_adim // shard,
                              attn_dim_layers=adim // shard, swa_attn_dim_layers=swa_adim // shard,
                              swa_heads_layers=swa_heads // shard,
                              window=spec.sliding_window, hidden_size=spec.hidden_size,
                              params=elements / shard, quant_tops=qt, mmq_share=mmq,
                              streamed_bytes=streamed, pcie_gb_s=pcie, shard=shard,
                              resident_elements=resident * el_per_byte / shard,
                              resident_expert_elements=resident_x * el_per_byte / shard, expert_ratio=active,
                              ram_expert_bytes=ram_experts / shard,
                              routed_elements=routed * el_per_byte / shard,
                              alu_tflops=alu, dequant_elements=elements / shard if quantized else 0.0,
                              fp4_bytes=w / shard if mem.quant.upper() in engine.fp4_formats else 0.0,
                              matrix_units_unused=unused, fp16_gemm_prompts=fp16_gemm, alu_prompts=alu_path,
                              attention_tflops=attn,
                              cublas_era_prompts=cublas_era, power_share=power,
                              gemm_prompts=own is not None,
                              state_bytes=2.0 * state / shard,
                              output_elements=0.0 if mem.run.logits_all else head / shard,
                              family_shares=family_shares(mem.layer_type_elements, on_cpu),
                              on_cpu=on_cpu, expert_calls=calls,
                              units=(dev.units or 0) if dev is not None and not on_cpu else 0,
                              f16_weight_bytes=0.0 if quantized or on_cpu else w / shard,
                              f16_gemv_gb_s=OLD_F16_GEMV_BYTES_PER_SM_CYCLE * dev.units * dev.boost_mhz * 1e-3 if (
                                  dev is not None and not on_cpu and dev.vendor == "nvidia"
                                  and mem.run.backend == "cuda" and dev.units and dev.boost_mhz) else 0.0,
                              old_prompt_share=1 / APPLE_SERIAL_PROMPT_SHARE if (
                                  dev is not None and not on_cpu and dev.vendor == "apple"
                                  and not apple_serial_dequant(Vendor.of(dev.vendor), dev.arch)) else 1.0))
    return out
