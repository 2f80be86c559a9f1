"""What one prompt micro-batch does on a device beyond its arithmetic: the weights it reads again, the routed
experts it touches, the RAM-resident weights it copies over PCIe and the recurrent state it scans, each in
seconds at the device's rates (speed.prefill_time_s and speed.prefill_linear price them with the class's
constants)."""

from __future__ import annotations

from dataclasses import replace

from .speedwork import DeviceWork


def moe_expert_overhead_s(w: DeviceWork, prompt: int, ubatch: int, a_xt: float, a_f: float,
                          share: float = 1.0) -> float:
    """The fixed cost a MoE prompt pays per expert it touches, beyond its active FLOPs, in seconds.  A micro-batch
    splits its tokens over the experts they route to (ggml mul_mat_id), and each touched expert runs a matmul of
    about tokens x k / E columns; the matrix kernels work in column tiles (Metal kernel_mul_mm_id: 32 columns;
    CUDA MMQ: 8-128) and load the expert's weights once, a cost the active FLOPs do not see.  Priced as ``a_xt``
    tokens' worth of each touched expert's matmul per micro-batch at the quantized rate (touched: 1 - (1 - k/E)^n
    of them for n tokens), but never more than the micro-batch's routed FLOPs again (``a_f``: the class's matmul
    efficiency): a short micro-batch gives each touched expert a token or two, and its cost stays near theirs.
    ``share``: of the quantized rate, what the expert kernels reach on this GPU (expert_rate_share).  0 for a
    dense model."""
    tq = (w.quant_tops or w.tflops or 0.0) * 1e12 * share
    if not (w.resident_expert_elements and w.expert_ratio < 1 and tq and a_xt):
        return 0.0
    total = 0.0
    for n, count in ((ubatch, prompt // ubatch), (prompt % ubatch, 1)):
        if n and count:
            per = a_xt * 2.0 * w.resident_expert_elements * touched_share(w, n) / tq
            cap = a_f * 2.0 * w.resident_expert_elements * w.expert_ratio * n / tq
            total += count * min(per, cap)
    return total


def expert_rate_share(w: DeviceWork, expert_units: float) -> float:
    """The share of a GPU's matmul rate a MoE prompt's routed-expert kernels reach in the current CUDA builds (the
    caller asks only for those: speed.CURRENT_PROMPT_CLASSES): ``expert_units`` multiprocessors' worth (the global
    ``moe_prompt_units``, which fit_speed.fit_moe_units sets from the published MoE prompts of twelve cards, 65:
    past that many SMs, more bring the expert matmuls no faster: an RTX 4080 SUPER, RTX 4090 and RTX 5080 all run
    gpt-oss-20b's 2,048-token prompts at 7,500-8,100 tok/s, an RTX 5090 at 9,800, where their tensor rates run
    1 : 2 : 1.1 : 2.5); 1 on a smaller GPU or one whose SM count the catalog does not give."""
    return expert_units / w.units if expert_units and w.units > expert_units else 1.0


def matmul_outputs(work: DeviceWork) -> float:
    """The values the blocks' matmuls write per token: their weight elements over the model's width (each matmul's
    output size where its inner dimension is the width; exact for Q, K, V, gate and up, an overcount for the
    output and down projections, whose inner dimension is wider)."""
    return (work.params - work.output_elements) / work.hidden_size if work.hidden_size else 0.0


def touched_share(w: DeviceWork, tokens: int) -> float:
    """The share of ``w``'s routed experts that ``tokens`` tokens route to (each picks k of E: 1 - (1 - k/E)^n)."""
    return 1.0 - (1.0 - w.expert_ratio) ** tokens


def step_work(w: DeviceWork, tokens: int) -> DeviceWork:
    """``w`` as one step over ``tokens`` tokens reads it: a MoE's routed experts that any of them routes to
    (touched_share), each read once, where one token reads its k (a GPU's own experts, and those a CPU keeps in RAM
    for the GPU's layers); unchanged for one token or a dense model."""
    if tokens <= 1 or not ((w.resident_expert_elements or w.ram_expert_bytes) and w.params):
        return w
    held = w.resident_expert_elements * w.weights_read_bytes / w.params + w.ram_expert_bytes  # bytes
    extra = held * max(0.0, touched_share(w, tokens) - w.expert_ratio)
    return replace(w, weights_read_bytes=w.weights_read_bytes + extra)


def ubatch_read_s(w: DeviceWork) -> float:
    """Seconds one prompt micro-batch takes to read its dense weights (every weight but the routed experts', at
    the bytes per element the device's decode reads) at the device's bandwidth.  A MoE's touched experts are
    priced apart (moe_expert_overhead_s): on the RTX 3060 and RTX 4070 rows their per-micro-batch cost follows
    the matmul rate, not the bandwidth (priced by bytes, one card's rows predicted the other's 16 % off, 3 %
    priced by the rate)."""
    if not (w.params and w.bandwidth_gb_s):
        return 0.0
    dense = w.resident_elements - w.resident_expert_elements
    return dense * (w.weights_read_bytes / w.params) / (w.bandwidth_gb_s * 1e9)


def fp16_convert_s(w: DeviceWork) -> float:
    """Seconds one prompt micro-batch spends turning ``w``'s dense quantized weights into F16 for a cuBLAS GEMM
    (DeviceWork.fp16_gemm_prompts), at the device's bandwidth: each matrix read at its own bytes per element,
    written as F16 to llama.cpp's pool and read back by the GEMM (ggml-cuda.cu ggml_cuda_op_mul_mat_cublas:
    to_fp16_cuda on src0, then cublasGemmEx), 4 bytes per element on top of the quantized read (ubatch_read_s)."""
    if not (w.params and w.bandwidth_gb_s):
        return 0.0
    dense = w.resident_elements - w.resident_expert_elements
    return ubatch_read_s(w) + dense * 4.0 / (w.bandwidth_gb_s * 1e9)


def moe_ubatch_elements(w: DeviceWork, tokens: int) -> float:
    """The weight elements a prompt micro-batch of ``tokens`` works through on ``w``: every dense weight, of the
    routed experts the 1 - (1 - k/E)^tokens its tokens route to.  Classes with a fitted ``a_x`` (the Strix Halo
    APUs, where MoE prompts run 2-4x below their active-parameter FLOPs: benchmarks/data/strix_halo.csv) take
    ``elements x a_x / bandwidth`` over the active-FLOPs price when it is slower.  Elements, not bytes: there a
    Q8_0 file of Qwen3-30B-A3B prefills at the speed of its Q4_K_M file (601 vs 608 tok/s on ROCm, 823-910 vs
    1,142 on Vulkan, public llama-bench tables), so the small per-expert matmuls, not their bytes, set the time."""
    return w.resident_elements - w.resident_expert_elements * (1.0 - touched_share(w, tokens))


def stream_s(w: DeviceWork, prompt: int, n_ubatch: int, start: int) -> float:
    """Seconds one prompt micro-batch spends copying ``w``'s RAM-resident weights to the GPU at the link's full
    rate (times ``a_pcie`` in the prompt's time): once per micro-batch, with the KV cache the RAM layers' attention
    reads, which the scheduler runs on the GPU beside their offloaded matmuls (ggml-backend.cpp: the GPU's
    assignment spreads up to the attention op, whose cache views are then copied in): the cells a micro-batch
    attends, on average over the prompt's.  0 where nothing streams (a GPU's own layers, --no-op-offload)."""
    if not (w.streamed_bytes and w.pcie_gb_s):
        return 0.0
    cells = start + (prompt + min(prompt, n_ubatch)) / 2
    kv = w.kv_bytes_per_pos * cells + w.swa_bytes_per_pos * min(cells, (w.window or cells) + n_ubatch)
    return (w.streamed_bytes + kv) / (w.pcie_gb_s * 1e9)


def scan_s(work: DeviceWork, prompt: int) -> float:
    """Seconds for ``prompt`` tokens each to read and write the recurrent state of ``work``'s layers at its
    bandwidth (times ``a_ss`` in prefill_terms)."""
    return prompt * work.state_bytes / (work.bandwidth_gb_s * 1e9)
