"""llama.cpp, and Ollama and LM Studio, which run it: GGUF weights, ggml KV types, llama.cpp's cell padding
and compute graph, layer split with CPU and MoE-expert offload, and each one's launch recipe.

Sources: ggml-org/llama.cpp ``src/llama-context.cpp`` (sched_reserve, output_reserve), ``src/llama-kv-cache.cpp``
and ``src/llama-kv-cache-iswa.cpp`` (n_ctx padded to 256, SWA cells), ``src/llama-model.cpp`` load_tensors
(output layer offloaded first), ``common/arg.cpp`` (flags, builds from late 2025 on); Ollama ``ml/device.go``
(457 MiB per CUDA/ROCm GPU, 512 MiB on Metal), ``server/routes.go`` (default num_ctx by GPU memory: 4096,
32768 from 23 GiB, 262144 from 47), ``server/sched.go`` (num_batch by context, the next lower context when a
load runs out of memory), ``docs/modelfile.md``, ``llm/llama_server.go`` (-b and -ub both num_batch); LM Studio
lmstudio.ai/docs/cli/load (``lms load --gpu max|off|0-1 --context-length N``) and its load panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig
from ..errors import InvalidInput
from ..hardware.rates import amd_mfma_chip, amd_wmma_chip, fp16_tensor_only, has_matrix_units
from ..quant import GGML_TYPES, GGUF_FILE_TYPES, GGUFFileType, QuantScheme
from ..units import GIB, MIB
from ..vocab import (
    Backend,
    ClusterMode,
    Component,
    DecodeKernel,
    LayerKind,
    Location,
    PlacementStyle,
    SpeedClass,
    Vendor,
    Verdict,
    WeightFormat,
)
from .base import UNQUANTIZED_KV, ClusterRules, Engine, PlacementRules, head_kv_dims, pad

if TYPE_CHECKING:
    from ..api import FitResult
    from ..models.spec import ModelSpec
    from .recipe import Launch

LLAMA_KV_TYPES = ("f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")
GGUF_LADDER = ("BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "IQ4_XS", "Q3_K_M", "IQ3_M", "Q3_K_S",
               "IQ3_XXS", "Q2_K", "IQ2_M", "IQ2_XS", "IQ1_M")  # llama.cpp tools/quantize/README.md perplexity order
_SHOWN = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M")
# Per-process memory outside llama.cpp's own buffers (CUDA context, cuBLAS/hipBLAS workspaces):
# Ollama reserves MinimumMemory() = 457 MiB per CUDA/ROCm GPU and 512 MiB on Metal (ml/device.go).
LLAMA_OVERHEAD = {Backend.CUDA: 457 * MIB, Backend.ROCM: 457 * MIB, Backend.VULKAN: 457 * MIB,
                  Backend.SYCL: 457 * MIB, Backend.METAL: 512 * MIB, Backend.CPU: 0}
LLAMA_OVERHEAD_SOURCE = ("the GPU runtime's context and BLAS workspaces: 457 MiB per GPU (512 on Metal), as Ollama "
                         "reserves (ml/device.go)")
LAYER_SPLIT = PlacementRules(style=PlacementStyle.LAYER_SPLIT, cpu_offload=True, expert_offload=True,
                             gpu_layers=True, tensor_split=True, row_split=True)
# Ollama's only placement setting is how many layers go to the GPUs (Modelfile num_gpu, api/types.go
# Runner.NumGPU): no --n-cpu-moe, tensor split or row split of its own.  Left unset (the default), it passes no
# -ngl and llama-server fits the model itself, keeping MoE experts in RAM where the model does not fit
# (llm/llama_server.go since ollama/ollama#16031, 2026-05-29; llama_params_fit, ggml-org/llama.cpp#16653): the
# plan llama.cpp's own fit gives
OLLAMA_SPLIT = PlacementRules(style=PlacementStyle.LAYER_SPLIT, cpu_offload=True, expert_offload=True,
                              gpu_layers=True, tensor_split=False, row_split=False)


def llamacpp_compute_bytes(spec: ModelSpec, run: RunConfig, *, build: str = "current") -> tuple[int, int]:
    """(device, host) bytes of llama.cpp's compute buffers for a fully offloaded model.

    sched_reserve (src/llama-context.cpp) sizes the worst-case prompt graph: n_tokens =
    min(n_ctx, n_ubatch) tokens, all producing logits, over the whole KV cache.  ggml-alloc reuses
    memory, so the buffer is the largest set of f32 intermediates alive at once.  Per token:
      output stage     n_vocab + 2*n_embd (logits, normed hidden state)
      FFN stage        4*n_embd + 3*n_ff + KQ mask (f16 with flash attention, f32 without)
                       (+ min(2*n_embd_kv, n_embd) without flash attention)
      attention stage  without flash attention: n_kv*(n_head+1) (f32 KQ scores and mask) + 3*n_embd
                       + 2*n_embd_q + 2*n_embd_kv
    Derived by reading the graph and checked against llama.cpp @0c1e570 (llama-cpp-python 0.3.36,
    no_alloc, CPU backend) on 13 architectures x 8 settings: exact to 5 floats/token on llama, qwen2,
    qwen3, qwen3moe and mistral shapes (benchmarks/llamacpp_probe.py).  ``build="2023-12"`` is the
    graph of the Dec 2023 builds (b1619-b1691) in the calibration set, fitted on its five models:
    max(n_vocab + n_embd + 3*n_ctx, 2*n_embd + 2*n_ff + 4*n_ctx) + 97.
    """
    # the graph is reserved for one sequence's micro-batch over one KV stream (sched_reserve worst case:
    # n_seqs = 1), n_ctx_seq cells
    n_kv = pad(run.context_tokens, 256)
    n_tok = min(n_kv, run.n_ubatch)
    e = spec.hidden_size
    ff = spec.ffn_size
    if spec.is_moe:
        ff = max(ff if spec.n_dense_layers else 0, spec.n_experts_active * (spec.expert_ffn_size or spec.ffn_size))
    if spec.uses_mla:
        q_dim = spec.n_heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim)
        kv_dim = spec.kv_lora_rank + spec.qk_rope_head_dim
    else:
        q_dim = spec.n_heads * spec.head_dim
        kv_dim = spec.n_kv_heads * spec.head_dim
    vocab = spec.embedding_rows
    host = 4 * vocab * run.n_seq  # output (logits) buffer, llama_context::output_reserve
    if build == "2023-12":
        n_ctx = run.context_tokens
        per_token = max(vocab + e + 3 * n_ctx, 2 * e + 2 * ff + 4 * n_ctx) + 97
        return 4 * min(n_ctx, run.n_batch) * per_token, host
    kinds = {spec.layer_kind(il) for il in range(spec.n_layers)}
    swa = 0
    if LayerKind.SLIDING in kinds and spec.sliding_window and not run.swa_full:
        swa = min(n_kv, pad(spec.sliding_window + run.n_ubatch, 256))
    kv_cells = n_kv if LayerKind.FULL in kinds else (swa or n_kv)
    masks = (kv_cells if LayerKind.FULL in kinds else 0) + swa
    fa = run.flash_attention
    hidden = 2 * e + (e if spec.arch in ("gemma2", "gemma3") and not fa else 0)
    ffn_stage = 4 * e + 3 * ff + (masks // 2 if fa else masks + min(2 * kv_dim, e)) + 5
    attn_stage = 0 if fa else kv_cells * (spec.n_heads + 1) + 3 * e + 2 * q_dim + 2 * kv_dim + 5 + swa
    if run.logits_all:  # the reserved graph computes logits for every token of the micro-batch
        return 4 * n_tok * max(vocab + hidden, ffn_stage, attn_stage), host
    # llama-server (llama.cpp PR #23861, 2026-06): the graph is reserved for n_outputs_max = n_seq_max outputs
    # (llama-context.cpp graph_reserve / output_reserve; server-context.cpp server_n_outputs_max), so the
    # output stage holds the micro-batch's hidden rows and one vocab-wide row per sequence
    out_bytes = 4 * (n_tok * hidden + min(n_tok, run.n_seq) * vocab)
    return max(out_bytes, 4 * n_tok * max(ffn_stage, attn_stage)), host


class LlamaCpp(Engine):
    """llama-server itself."""

    def attention_on_alus(self, backend: Backend, vendor: Vendor, chip: str, head_dim: int, gqa: int) -> bool:
        # the HIP build picks its prompt kernel per layer (ggml-cuda/fattn.cu ggml_cuda_get_best_fattn_kernel,
        # llama.cpp @00a2d60, late 2026): CDNA's MFMA for heads up to 256, RDNA 3 / 3.5 / 4's WMMA for heads up to
        # 128 whose key heads serve two or more query heads (gqa_opt_applies); else the tile kernel on the ALUs
        # (Qwen3.5 / 3.6's and Gemma's 256-wide heads, MLA's 576, Llama 2's one query head per key head).  Builds
        # of 2025 ran the tile kernel on RDNA for every head size (benchmarks/data: an RX 7900 XT / GRE's
        # gpt-oss-20b 32k prompts, Dec 2025 R9700 depth sweeps)
        if backend == Backend.ROCM and vendor == Vendor.AMD and chip:
            if amd_mfma_chip(chip):
                return head_dim > 256
            if amd_wmma_chip(chip):
                return head_dim > 128 or gqa < 2
        return super().attention_on_alus(backend, vendor, chip, head_dim, gqa)

    def overlaps_prompt_stages(self, experts_in_ram: bool) -> bool:
        # src/llama-context.cpp: pipeline_parallel needs !model.has_tensor_overrides(), and --n-cpu-moe / --cpu-moe
        # keep the experts in RAM as tensor buffer overrides (common/arg.cpp): the GPUs then take turns
        return not experts_in_ram

    def decode_kernel(self, backend: Backend, vendor: Vendor, chip: str, head_dim: int) -> DecodeKernel:
        # ggml-cuda/fattn.cu (ggml_cuda_get_best_fattn_kernel, ggml_cuda_flash_attn_ext_get_alloc_size, llama.cpp
        # @00a2d60): its vector kernel, which reads a q8_0 / q4_0 cache as it is, takes one-token batches for heads
        # of 64, 128 and 256 only; other heads (Gemma 4's 512-wide full-attention layers since b8609, PR #20998;
        # MLA's 576-wide latent; 192, 320, 80, 96) run the MMA kernel on Turing and later, else the tile kernel
        # (Volta, Pascal, the HIP build's AMD GPUs), which need F16 K and V: ggml converts the layer's cache into
        # an F16 buffer at every step.  An F16 cache of 64- to 256-wide heads may take the MMA kernel too (Ampere
        # for key heads shared by 2+ query heads; Ada and later past 8192 cells with more than 4, PR #15035): left
        # as VECTOR, as nothing is copied and that PR measured the two kernels alike (Qwen2.5-3B, RTX 4090, tg128
        # @ d4096-32768: 0.98-1.00x), so the fitted arithmetic term a_at covers both for those heads
        if backend in (Backend.CUDA, Backend.ROCM) and not (head_dim <= 256 and head_dim % 64 == 0
                                                            and head_dim != 192):
            turing = vendor == Vendor.NVIDIA and has_matrix_units(vendor, chip) and not fp16_tensor_only(vendor, chip)
            return DecodeKernel.MATRIX if turing else DecodeKernel.TILE
        return super().decode_kernel(backend, vendor, chip, head_dim)

    def check_run(self, run: RunConfig) -> None:
        # llama-context.cpp: a quantized V cache needs flash attention; a quantized K cache alone does not
        if run.kv_type_v not in UNQUANTIZED_KV and not run.flash_attention:
            what = "KV-cache" if run.kv_type_v == run.kv_cache_type else "V-cache"
            raise InvalidInput(f"{what} type {run.kv_type_v} needs flash attention in {self.name} "
                               "(llama-context.cpp: quantized V cache requires Flash Attention)")

    def run_warnings(self, run: RunConfig) -> tuple[str, ...]:
        # ggml-cuda/fattn.cu (ggml_cuda_get_best_fattn_kernel, ggml_cuda_fattn_kv_type_supported): stock CUDA
        # builds have flash-attention kernels for K and V of one type among f16, bf16, q8_0 and q4_0 only; other
        # pairs need a GGML_CUDA_FA_ALL_QUANTS build, else the scheduler runs attention on the CPU
        if run.backend != Backend.CUDA or not run.flash_attention:
            return ()
        stock = ("f16", "bf16", "q8_0", "q4_0")
        if run.kv_type_v == run.kv_cache_type and run.kv_cache_type in stock:
            return ()
        return (f"KV cache {run.kv_label}: stock CUDA builds of llama.cpp have no flash-attention kernel for it "
                "(ggml-cuda/fattn.cu) and run attention on the CPU, far slower than this estimate; build with "
                "GGML_CUDA_FA_ALL_QUANTS=ON, or give K and V one type of f16, bf16, q8_0, q4_0",)

    def loads(self, quant: QuantScheme) -> bool:
        return isinstance(quant, GGUFFileType)

    def formats_text(self) -> str:
        return ", ".join(f for f in self.formats if f in _SHOWN) + " and the other GGUF types"

    def embeddings_on_host(self, run: RunConfig, quant: QuantScheme) -> bool:
        return run.backend.discrete  # token_embd stays in RAM (a row gather, llama-model.cpp)

    def duplicates_tied_output(self, run: RunConfig) -> bool:
        # Tied embeddings: llama.cpp creates output from token_embd (TENSOR_DUPLICATED, src/models/*.cpp),
        # a second copy in the output layer's device buffer.
        return run.backend.discrete

    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        return head_kv_dims(spec, il, decompress_mla=False)  # deepseek2 with MLA caches the latent

    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        # one KV stream per sequence (llama-server -np N and the bindings leave kv_unified off): each holds
        # n_ctx_seq = GGML_PAD(n_ctx / n_seq, 256) cells (llama-context.cpp), a sliding-window layer
        # GGML_PAD(min(n_ctx_seq, n_swa + n_ubatch), 256) unless --swa-full (llama-kv-cache-iswa.cpp, llama.cpp
        # b11434 via llama-cpp-python 0.3.36; benchmarks/llamacpp_probe.py matches it to the byte)
        per_seq = pad(run.context_tokens, 256)
        w = spec.sliding_window
        if spec.layer_kind(il) == LayerKind.SLIDING and w and not run.swa_full:
            per_seq = min(per_seq, pad(w + run.n_ubatch, 256))
        return per_seq * run.n_seq

    def kv_layer_bytes(self, k: int, v: int, cells: int, kv_type: str, kv_type_v: str) -> int:
        tk, tv = GGML_TYPES[kv_type.upper()], GGML_TYPES[kv_type_v.upper()]  # -ctk, -ctv (llama-kv-cache.cpp)
        return (tk.row_bytes(k) if k else 0) * cells + (tv.row_bytes(v) if v else 0) * cells

    def compressed_layer_bytes(self, spec: ModelSpec, il: int, run: RunConfig) -> int | None:
        # DeepSeek V4 in llama.cpp (src/llama-kv-cache-dsv4.cpp, b11434), one stream per sequence: every layer
        # keeps a K-only sliding window of GGML_PAD(min(n_ctx_seq, n_swa + n_ubatch), 256) cells; a ratio-4
        # (CSA) layer adds ceil(n_ctx_seq / 4) compressed keys and as many lightning-indexer keys, each padded
        # to 256, and f32 compressor states (kv and score) of 8 rows x 2 head widths; a ratio-128 (HCA) layer
        # adds ceil(n_ctx_seq / 128) compressed keys and a 128-row f32 state of one head width
        t = GGML_TYPES[run.kv_cache_type.upper()]
        per_seq = pad(run.context_tokens, 256)
        d = spec.head_dim_of(il)
        window = per_seq if run.swa_full else pad(min(per_seq, spec.sliding_window + run.n_ubatch), 256)
        b = t.row_bytes(d) * window
        r = spec.compress_ratios[il]
        if r:
            comp = pad(max(1, -(-per_seq // r)), 256)
            b += t.row_bytes(d) * comp
            if r == 4:
                b += t.row_bytes(spec.indexer_head_dim) * comp + 2 * 4 * 2 * r * (2 * d + 2 * spec.indexer_head_dim)
            else:
                b += 2 * 4 * r * d
        return b * run.n_seq

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        dev, host = llamacpp_compute_bytes(spec, run)
        loc = Location.HOST if run.backend == Backend.CPU else Location.DEVICE
        return [
            MemoryItem(component=Component.COMPUTE, name="compute buffer", n_bytes=dev, location=loc,
                       note=f"graph for {min(run.n_ubatch, run.context_tokens)} tokens, flash attention "
                       + ("on" if run.flash_attention else "off")),
            MemoryItem(component=Component.COMPUTE, name="output buffer", n_bytes=host, location=Location.HOST,
                       note="logits for one token per sequence"),
        ]

    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        return items, ""  # llama.cpp allocates exactly the cells asked for

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        args, settings, notes = llama_server_args(r)
        commands: list[str] = []
        system = r.system
        if system is not None and system.is_cluster:
            # tools/rpc/README.md: rpc-server on each worker (-c keeps a local cache of the tensors it was sent),
            # the main host lists them with --rpc
            workers = [f"{n.name.replace(' ', '')}:{RPC_PORT}" for n in system.nodes[1:]]
            for n in system.nodes[1:]:
                commands += [f"# on {n.name} (a worker):",
                             shlex.join(["rpc-server", "--host", "0.0.0.0", "--port", str(RPC_PORT), "-c"])]
            args = [*args, "--rpc", ",".join(workers)]
            settings.append(("rpc", ",".join(workers)))
            commands.append("# on node 1 (the main host):")
            notes.append("node2, node3, ...: the workers' addresses; build llama.cpp with -DGGML_RPC=ON on every "
                         "machine; rpc-server has no authentication, so keep it on a private network")
        argv = ("llama-server", "-m", gguf_path(r), *args, "--host", host, "--port", str(port))
        commands.append(shlex.join(argv))
        if r.spec.gguf is None:
            notes.append(f"-m: the path of your {r.quant.name} GGUF file of {r.spec.name}")
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=True), argv=argv,
                      commands=tuple(commands), settings=tuple(settings), notes=tuple(notes + _backend_note(r)))


class Ollama(LlamaCpp):
    """Ollama: llama.cpp's server behind a Modelfile and environment settings."""

    def context_choices(self, spec: ModelSpec, gpu_bytes: int) -> tuple[tuple[int, str], ...]:
        return ollama_context_choices(spec, gpu_bytes)

    def batch_for(self, context_tokens: int, predicted_bytes: int, gpu_bytes: int, run: RunConfig) -> int:
        # server/sched.go automaticGenerationBatch: num_batch (passed as -b and -ub) 512 up to 4,096 tokens of
        # context, 1,024 to 32,768, 2,048 above, lowered while the predicted load leaves too little room (over
        # 80 % of the memory, over 75 % at 1,024 or 60 % at 2,048, or no room for its 768 MiB / 2 GiB surcharge);
        # 512 on CUDA without flash attention (256 there on a card of 8 GiB or less above 4,096 tokens)
        if not run.flash_attention and run.backend == Backend.CUDA:
            return 256 if context_tokens > 4096 and 0 < gpu_bytes <= 8 * GIB else 512
        batch = 2048 if context_tokens > 32768 else 1024 if context_tokens > 4096 else 512
        threshold = gpu_bytes * 80 // 100
        while batch > 512:
            share, surcharge = (60, 2 * GIB) if batch >= 2048 else (75, 768 * MIB)
            if predicted_bytes <= threshold and predicted_bytes <= gpu_bytes * share // 100 \
                    and surcharge <= threshold - predicted_bytes:
                break
            batch //= 2
        return batch

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, LaunchFile, plan_summary

        run = r.memory.run
        ngl, notes = _gpu_layers(r)
        src, from_notes = _ollama_from(r)
        # num_ctx is each sequence's, as the plan's context is: Ollama starts llama-server with -c num_ctx x
        # OLLAMA_NUM_PARALLEL (server/sched.go effectiveLlamaServerContext)
        params = [("num_ctx", str(run.context_tokens))]
        p = r.placement
        if r.request.gpu_layers is not None or p is None:
            params.append(("num_gpu", str(ngl)))  # layers asked for: -ngl, and llama-server fits no further
        elif p.verdict == Verdict.CPU and r.system is not None and r.system.accelerators:
            params.append(("num_gpu", "0"))  # planned on the CPU beside a GPU: no layer on it
        elif p.verdict == Verdict.PARTIAL_OFFLOAD:
            kept = f", keeping the experts of {p.n_cpu_moe} layers in RAM" if p.n_cpu_moe else ""
            notes.append(f"num_gpu unset: Ollama passes no -ngl and llama-server fits the model to the GPUs itself "
                         f"({ngl} of {p.n_layers + 1} layers on them{kept}), as planned")
        if run.n_batch != self.default_n_batch:
            params.append(("num_batch", str(run.n_batch)))
        if run.n_threads is not None:
            params.append(("num_thread", str(run.n_threads)))
        modelfile = "\n".join([f"FROM {src}", *(f"PARAMETER {k} {v}" for k, v in params)]) + "\n"
        env = [f"OLLAMA_HOST={host}:{port}", f"OLLAMA_FLASH_ATTENTION={1 if run.flash_attention else 0}"]
        if run.kv_cache_type != "f16":
            env.append(f"OLLAMA_KV_CACHE_TYPE={run.kv_cache_type}")
        if run.n_seq > 1:
            env.append(f"OLLAMA_NUM_PARALLEL={run.n_seq}")
        name = f"{r.spec.name.lower()}-{r.quant.name.lower()}-{_ctx_label(run.context_tokens)}"
        argv = ("env", *env, "ollama", "serve")
        commands = (shlex.join(argv), f"ollama create {shlex.quote(name)} -f Modelfile",
                    f"ollama run {shlex.quote(name)}")
        notes += from_notes
        counts = _layer_counts(r)
        if counts:
            notes.append("Ollama splits layers over the GPUs itself (no tensor-split setting); "
                         f"the plan puts {counts} layers on the GPUs in order")
        settings = (*params, *((e.split("=", 1)[0], e.split("=", 1)[1]) for e in env))
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=True), argv=argv,
                      commands=commands, files=(LaunchFile(name="Modelfile", content=modelfile),),
                      settings=tuple(settings), notes=tuple(notes))


def ollama_context_choices(spec: ModelSpec, gpu_bytes: int) -> tuple[tuple[int, str], ...]:
    """Ollama's default num_ctx (server/routes.go, ollama/ollama fb30760, 2026-08-21): by the GPUs' total memory,
    262,144 from 47 GiB, 32,768 from 23 GiB, else 4,096; at most the model's trained context; a load that runs
    out of memory retries at the next lower tier (server/sched.go nextLowerAutoNumCtx)."""
    tier = next(ctx for floor, ctx in OLLAMA_CONTEXT_TIERS if gpu_bytes >= floor)
    why = (f"Ollama's default context for {gpu_bytes / GIB:.0f} GiB of GPU memory (4,096 below 23 GiB, 32,768 "
           "from 23, 262,144 from 47: server/routes.go)")
    out = [(min(tier, spec.max_context), why)]
    for _, ctx in OLLAMA_CONTEXT_TIERS:
        if ctx < out[-1][0]:
            out.append((ctx, f"Ollama's next lower default context: the model does not load at {out[-1][0]:,} "
                             "(server/sched.go nextLowerAutoNumCtx)"))
    return tuple(out)


class LMStudio(LlamaCpp):
    """LM Studio: its llama.cpp runtime, loaded with ``lms load`` and the model's load settings."""

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        run, p = r.memory.run, r.placement
        ngl, notes = _gpu_layers(r)
        n = r.spec.n_layers
        key = r.spec.name.lower()
        if ngl >= n + 1:
            gpu, offload = "max", f"{n} / {n} (max)"
        elif ngl == 0:
            gpu, offload = "off", f"0 / {n}"
        else:
            gpu, offload = f"{ngl / (n + 1):.2f}", f"{ngl} / {n}"
            notes.append(f"--gpu is a fraction: check that the GPU Offload slider reads {ngl}")
        argv = ("lms", "load", key, "--gpu", gpu, "--context-length", str(run.context_tokens), "--identifier", key)
        settings: list[tuple[str, str]] = [("Context Length", str(run.context_tokens)), ("GPU Offload", offload),
                                           ("Flash Attention", "on" if run.flash_attention else "off")]
        if run.kv_cache_type != "f16" or run.kv_type_v != "f16":
            settings += [("K Cache Quantization Type", run.kv_cache_type),
                         ("V Cache Quantization Type", run.kv_type_v)]
        if p is not None and p.n_cpu_moe:
            settings.append(("Number of layers for which to force MoE weights onto CPU", str(p.n_cpu_moe)))
        if run.n_seq > 1:
            settings.append(("Max Concurrent Predictions", str(run.n_seq)))
        if run.n_batch != self.default_n_batch:
            settings.append(("Evaluation Batch Size", str(run.n_batch)))
        if run.n_threads is not None:
            settings.append(("CPU Thread Pool Size", str(run.n_threads)))
        commands = (f"lms server start --port {port}", shlex.join(argv))
        notes.append(f"{key}: the model key `lms ls` shows for your {r.quant.name} download of {r.spec.name}")
        notes.append("flash attention, KV-cache types and the CPU thread pool are set in the model's load settings "
                     "(Developer tab or My Models), not by lms load")
        if host not in ("127.0.0.1", "localhost"):
            notes.append("serve on the network: enable 'Serve on Local Network' in LM Studio's server settings")
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=True), argv=argv,
                      commands=commands, settings=tuple(settings), notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Launch helpers of the llama.cpp family
# ---------------------------------------------------------------------------------------------


def gguf_path(r: FitResult) -> str:
    """The GGUF file the command loads: the one the plan was read from, else a name for the user's own file."""
    if r.spec.gguf is not None:
        return r.spec.gguf.path
    return f"{r.spec.name}-{r.quant.name}.gguf"


def _gpu_layers(r: FitResult) -> tuple[int, list[str]]:
    """-ngl for the plan (n_layer + 1 when no hardware was given: everything offloaded)."""
    if r.placement is not None:
        return r.placement.gpu_layers, []
    if r.memory.run.backend == Backend.CPU:
        return 0, []
    return r.spec.n_layers + 1, ["no hardware given: every layer offloaded (-ngl n_layer + 1); "
                                 "give the hardware to plan a partial offload"]


def _layer_counts(r: FitResult) -> list[int]:
    """Per-GPU units (repeating layers plus the output layer) of a multi-GPU layer split, in device order."""
    p = r.placement
    if p is None:
        return []
    gpus = [d for d in p.devices if d.role == "gpu"]
    if len(gpus) < 2:
        return []
    return [len(d.layers) + (1 if d.has_output else 0) for d in gpus]


def llama_server_args(r: FitResult) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """llama-server's flags for the plan (every llama.cpp-family server takes them), the settings they set, and
    notes."""
    run, p = r.memory.run, r.placement
    ngl, notes = _gpu_layers(r)
    args = ["-c", str(run.context_tokens * run.n_seq)]
    settings = [("context tokens per sequence", str(run.context_tokens))]
    if run.n_seq > 1:
        args += ["-np", str(run.n_seq)]
        settings.append(("parallel sequences", str(run.n_seq)))
    args += ["-ngl", str(ngl)]
    settings.append(("GPU layers (output layer counts)", f"{ngl} of {r.spec.n_layers + 1}"))
    if p is not None and p.n_cpu_moe:
        args += ["--n-cpu-moe", str(p.n_cpu_moe)]
        settings.append(("MoE layers with experts in RAM", str(p.n_cpu_moe)))
    counts = _layer_counts(r)
    if counts:
        assert p is not None
        args += ["--split-mode", p.split_mode if p.split_mode in ("layer", "row") else "layer",
                 "--tensor-split", ",".join(str(c) for c in counts)]
        settings.append(("tensor split (layers per GPU)", ",".join(str(c) for c in counts)))
    args += ["-fa", "on" if run.flash_attention else "off"]
    settings.append(("flash attention", "on" if run.flash_attention else "off"))
    if run.n_threads is not None:
        args += ["-t", str(run.n_threads)]
        settings.append(("CPU threads", str(run.n_threads)))
    if not run.op_offload:
        args.append("--no-op-offload")
        settings.append(("op offload", "off: prompts run RAM-resident weights on the CPU"))
    if run.kv_cache_type != "f16" or run.kv_type_v != "f16":
        args += ["-ctk", run.kv_cache_type, "-ctv", run.kv_type_v]
    settings.append(("KV cache type", run.kv_label))
    if run.n_batch != 2048:
        args += ["-b", str(run.n_batch)]
    if run.n_ubatch != 512:
        args += ["-ub", str(run.n_ubatch)]
    return args, settings, notes


def _backend_note(r: FitResult) -> list[str]:
    be = r.memory.run.backend
    build = {Backend.CUDA: "a CUDA build", Backend.ROCM: "a ROCm (HIP) build",
             Backend.METAL: "the Metal build (macOS default)", Backend.VULKAN: "a Vulkan build",
             Backend.SYCL: "a SYCL build", Backend.CPU: "any build"}.get(be, be)
    return [f"backend {be}: use {build} of llama.cpp"]


def _ollama_from(r: FitResult) -> tuple[str, list[str]]:
    tags = [a for a in r.spec.aliases if ":" in a and "/" not in a]
    if r.spec.gguf is None and tags and r.quant.name == "Q4_K_M":
        return tags[0], [f"FROM {tags[0]}: Ollama library tags without a quant suffix are Q4_K_M"]
    path = gguf_path(r)
    return (path if path.startswith(("/", ".")) else f"./{path}"), \
        [f"FROM: the path of your {r.quant.name} GGUF file of {r.spec.name}"]


def _ctx_label(tokens: int) -> str:
    return f"{tokens // 1024}k" if tokens % 1024 == 0 else str(tokens)


_GGUF = tuple(GGUF_FILE_TYPES)
# fitted by benchmarks/fit_cluster.py --fit (least squares on the relative error of the Thunderbolt 5 runs)
RPC_PORT = 50052  # rpc-server's default port (tools/rpc/README.md)
RPC_ROUND_TRIPS_PER_HOP = 11.16  # link round trips per stage boundary per token (RPC commands)
RPC_REMOTE_OVERHEAD_S = 1.04e-3  # once per token when any stage is remote (remote graphs sent and rebuilt)

# the data every engine that runs llama.cpp shares (llama.cpp, Ollama, LM Studio, llamafile)
LLAMA_FAMILY = dict(weights=WeightFormat.GGUF, formats=_GGUF, default_quant="Q4_K_M", quant_ladder=GGUF_LADDER,
                    runtime_overhead_bytes=LLAMA_OVERHEAD, overhead_source=LLAMA_OVERHEAD_SOURCE,
                    placement=LAYER_SPLIT, speed_class=SpeedClass.LLAMA_CPP,
                    # flash attention's prompt kernels: ggml-cuda's on NVIDIA run on the tensor cores (fattn-mma);
                    # ggml-vulkan's take VK_NV_cooperative_matrix2 where the driver has it (NVIDIA), else the
                    # KHR_cooperative_matrix shader or the scalar one (ggml-vulkan.cpp ggml_vk_flash_attn: coopmat2 >
                    # coopmat1_fa_support > FA_SCALAR), and the HIP build's on AMD its tile kernel
                    # (ggml-cuda/fattn-tile.cu) on the vector ALUs but for the layers LlamaCpp.attention_on_alus
                    # routes to its MMA kernel.  Measured: prompts after 16-65k cached tokens on
                    # a Radeon 8060S (ROCm and Vulkan), an R9700, RX 7900 XT / GRE, RX 9070 XT and Radeon Pro VII
                    # slow down as attention at one share of the ALU rate does (benchmarks/fit_speed.py
                    # fit_alu_attention), where their matrix rates differ 2-4x per ALU FLOP
                    alu_attention=((Backend.ROCM, Vendor.AMD), (Backend.VULKAN, Vendor.AMD),
                                   (Backend.VULKAN, Vendor.INTEL)),
                    # n_threads: llama-server -t (common/arg.cpp --threads; -tb follows it), Ollama's num_thread
                    # (docs/modelfile.md), LM Studio's "CPU Thread Pool Size" load setting, llamafile -t
                    settings=frozenset({"flash_attention", "n_batch", "n_ubatch", "swa_full", "logits_all",
                                        "mmproj", "n_threads"}))

# The RPC backend (tools/rpc/README.md @038514c): rpc-server on each worker; the client treats every remote
# device as one more device and splits the layers over all of them by memory (a pipeline that one token walks
# through stage by stage); RPC devices are listed before the local ones, so the main host runs the last
# layers and the output.  Each token crosses every boundary with a handful of RPC commands (set_tensor,
# graph_compute, get_tensor: round trips of the link) and the remote graphs are sent again each time; the two
# constants are fitted on Jeff Geerling's 4 x M3 Ultra runs over Thunderbolt 5 IP (exo
# docs/benchmarks/jeffgeerling: Qwen3-235B 8-bit 20.4 / 17.2 / 15.2, DeepSeek V3.1 8-bit - / 16.0 / 14.6,
# Kimi K2 4-bit - / 18.5 / 16.4 tok/s on 1 / 2 / 4 nodes); tests/test_cluster.py holds every anchor.
RPC_CLUSTER = ClusterRules(
    how="llama.cpp RPC: rpc-server on every worker, the layers split over all devices by memory, the main "
        "host (node 1) runs the last layers and the output",
    modes=(ClusterMode.PIPELINE,), default_mode=ClusterMode.PIPELINE, main_host_last=True, mixed_backends=True,
    round_trips_per_hop=RPC_ROUND_TRIPS_PER_HOP, hop_overhead_s=0.0, remote_overhead_s=RPC_REMOTE_OVERHEAD_S,
    # prompt micro-batches overlap across the machines as across local GPUs: the Strix Halo pair of llama.cpp
    # PR #20590 prefills Qwen3-Coder-Next Q8_0 at 651 tok/s, where one box runs its Q4_K_M at 531-535
    # (benchmarks/data/strix_halo.csv) and each box holds half the bytes
    activation_bytes=4, overlapped=True, fitted=True,
    source="ggml-org/llama.cpp tools/rpc/README.md @038514c; costs fitted on Jeff Geerling's 4 x M3 Ultra RPC "
           "runs over Thunderbolt 5 (exo docs/benchmarks/jeffgeerling)")

LLAMA_CPP = LlamaCpp(
    name="llama.cpp", title="llama.cpp", aliases=("llamacpp", "llama-cpp", "llama-server", "llama-cli"),
    kv_types=LLAMA_KV_TYPES, default_port=8080, cluster=RPC_CLUSTER,
    request_overhead_s=0.008, request_overhead_source=(
        "llama-server request latency: median of measured - predicted time to first token over the 18 "
        "throughput_modern.csv llama-server rows with prompts under 256 tokens (localmaxxing, 2026)"),
    source="ggml-org/llama.cpp src/llama-context.cpp, src/llama-kv-cache.cpp (n_ctx padded to 256)",
    # llama-server --no-op-offload (common/arg.cpp; llama_context_params.op_offload); Ollama and LM Studio
    # expose no such setting
    # --n-cpu-moe N (common/arg.cpp: the experts of the first N layers stay in RAM); -ctk / -ctv set the K and V
    # caches' types apart (common/arg.cpp --cache-type-k, --cache-type-v); Ollama sets one type for both
    # (OLLAMA_KV_CACHE_TYPE)
    **{**LLAMA_FAMILY, "settings": LLAMA_FAMILY["settings"] | {"op_offload", "n_cpu_moe",  # type: ignore[operator]
                                                               "kv_cache_type_v"}},
)
OLLAMA_BACKENDS = (Backend.CUDA, Backend.ROCM, Backend.METAL, Backend.VULKAN, Backend.CPU)
# (GPU memory from, default num_ctx): server/routes.go, "vram-based default context" (ollama/ollama 0334ffa, 2026-01)
OLLAMA_CONTEXT_TIERS = ((47 * GIB, 262144), (23 * GIB, 32768), (0, 4096))
OLLAMA = Ollama(
    name="ollama", title="Ollama", aliases=("ollama-server",), kv_types=("f16", "q8_0", "q4_0"), default_ctx=4096,
    default_n_batch=512, default_port=11434, quant_from_name=True, mlx_tags_engine="ollama-mlx",
    ubatch_is_batch=True,
    source="ollama runs llama-server (PR #16031) with -b and -ub both num_batch (llm/llama_server.go); num_ctx "
    "4096 below 23 GiB of GPU memory, 32768 from 23, 262144 from 47 (server/routes.go); num_batch 512 / 1024 / "
    "2048 by context (server/sched.go); OLLAMA_KV_CACHE_TYPE f16|q8_0|q4_0",
    # no SYCL build: Intel GPUs run through Vulkan (ollama/ollama#12889, #13265), on by default since #16031
    # (2026-05-29: envconfig OLLAMA_VULKAN defaults to true; docs/gpu.mdx "Vulkan is enabled by default").  On
    # Windows the GPU drivers bring the Vulkan runtime; "most Linux distributions require installing additional
    # components" (docs/gpu.mdx), and an Ultra 7 258V under Linux decoded at CPU speed in throughput_modern.csv
    fallback_backend=Backend.VULKAN, fallback_os=("windows",),
    **{**LLAMA_FAMILY, "placement": OLLAMA_SPLIT, "speed_class": SpeedClass.OLLAMA,  # type: ignore[arg-type]
       "backends": OLLAMA_BACKENDS, "runtime_overhead_bytes": {b: LLAMA_OVERHEAD[b] for b in OLLAMA_BACKENDS}},
)
LM_STUDIO = LMStudio(
    name="lmstudio", title="LM Studio", aliases=("lm-studio", "lms", "lm studio"), kv_types=LLAMA_KV_TYPES,
    default_ctx=4096, default_port=1234,
    source="LM Studio's llama.cpp runtime (default context length 4096 in its load settings)",
    # its load setting "Number of layers for which to force MoE weights onto CPU" is --n-cpu-moe; it sets the K
    # and V cache quantization types apart
    **{**LLAMA_FAMILY, "settings": LLAMA_FAMILY["settings"] | {"n_cpu_moe", "kv_cache_type_v"}},  # type: ignore[operator]
)
