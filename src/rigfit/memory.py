"""Itemized memory model: weights, KV cache, compute buffers and runtime overhead, per engine.

``estimate_memory`` is a pure function of (ModelSpec, QuantScheme, RunConfig) that returns every
allocation as a ``MemoryItem`` (component, what, bytes, device or host); totals are sums taken in a
separate step (``MemoryBreakdown.total``).  Each formula names the engine behaviour it follows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from .engines import DISCRETE_BACKENDS, KV_ELEMENT_BYTES, EngineProfile, check_quant_for_engine, get_engine
from .errors import InvalidInput
from .models.spec import ModelSpec
from .models.tensors import Tensor, build_tensors
from .quant import (
    BF16,
    F32,
    GGML_TYPES,
    GGUFFileType,
    GroupGeometry,
    MixtureContext,
    QuantScheme,
    TensorFormat,
    ggml_types_for,
)

_T = TypeVar("_T")
_SpecFn = Callable[[ModelSpec, QuantScheme], _T]

MAX_CONTEXT_TOKENS = 1 << 24  # 16.7M tokens: beyond any released model
MAX_BATCH_TOKENS = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """How the engine is run.  ``context_tokens`` is per sequence; ``n_seq`` parallel sequences."""

    engine: str = "llama.cpp"
    backend: str = "cuda"
    context_tokens: int = 8192
    kv_cache_type: str = "f16"
    flash_attention: bool = True
    n_batch: int = 2048  # llama.cpp common/common.h defaults
    n_ubatch: int = 512
    n_seq: int = 1
    swa_full: bool = False  # llama.cpp --swa-full (C API default true, CLI default false)
    max_num_seqs: int = 256  # vLLM scheduler defaults below 70 GiB GPUs (arg_utils.get_batch_defaults)
    max_num_batched_tokens: int = 8192
    gpu_memory_bytes: int = 0  # the device's total memory when known (vLLM sizes its KV pool from it)
    gpu_memory_utilization: float = 0.92  # vllm/config/cache.py default (0.9 before 2025)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryItem:
    component: str  # weights | kv_cache | compute | overhead
    name: str
    n_bytes: int
    location: str = "device"  # device | host
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerMemory:
    index: int
    kind: str
    weights_bytes: int  # everything in the block, routed experts included
    kv_bytes: int
    expert_bytes: int = 0  # routed MoE expert tensors (*_exps) in this block: what --n-cpu-moe moves


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryBreakdown:
    model: str
    quant: str
    run: RunConfig
    items: tuple[MemoryItem, ...]
    layers: tuple[LayerMemory, ...]
    model_file_bytes: int  # GGUF file (header + tensors) or checkpoint bytes in this format
    kv_bytes_per_token: Fraction  # full-attention layers, one sequence
    bits_per_weight: float
    exact_weights: bool  # weights read from a real file's tensor table
    warnings: tuple[str, ...] = field(default=())
    output_layer_bytes: int = 0  # output head (+ its norm, or the tied-embedding copy): llama.cpp "layer n_layer"
    token_embd_bytes: int = 0

    def total(self, component: str | None = None, location: str | None = None) -> int:
        return sum_items(self.items, component, location)

    @property
    def weights_bytes(self) -> int:
        return self.total("weights")

    @property
    def kv_cache_bytes(self) -> int:
        return self.total("kv_cache")

    @property
    def compute_bytes(self) -> int:
        return self.total("compute")

    @property
    def overhead_bytes(self) -> int:
        return self.total("overhead")

    @property
    def total_bytes(self) -> int:
        return self.total()

    @property
    def device_bytes(self) -> int:
        return self.total(location="device")

    @property
    def host_bytes(self) -> int:
        return self.total(location="host")


def sum_items(items: tuple[MemoryItem, ...], component: str | None = None, location: str | None = None) -> int:
    return sum(i.n_bytes for i in items
               if (component is None or i.component == component) and (location is None or i.location == location))


# ---------------------------------------------------------------------------------------------
# Run configuration
# ---------------------------------------------------------------------------------------------


def make_run_config(
    spec: ModelSpec,
    engine: EngineProfile,
    *,
    context_tokens: int | None = None,
    kv_cache_type: str | None = None,
    flash_attention: bool | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    n_seq: int = 1,
    backend: str | None = None,
    gpu_memory_bytes: int | None = None,
    gpu_memory_utilization: float | None = None,
) -> tuple[RunConfig, tuple[str, ...]]:
    """Fill engine defaults and check values; returns the config and warnings."""
    warnings: list[str] = []
    ctx = context_tokens if context_tokens is not None else (engine.default_ctx or spec.max_context)
    if ctx <= 0:
        raise InvalidInput(f"context length must be a positive number of tokens, got {ctx}")
    if ctx > MAX_CONTEXT_TOKENS:
        raise InvalidInput(f"context length {ctx:,} tokens is beyond any model (max {MAX_CONTEXT_TOKENS:,})")
    if ctx > spec.max_context:
        warnings.append(f"context {ctx:,} exceeds {spec.name}'s trained maximum of {spec.max_context:,} tokens")
    if n_seq <= 0 or n_seq > 4096:
        raise InvalidInput(f"parallel sequences must be between 1 and 4096, got {n_seq}")
    kv = engine.kv_key(kv_cache_type or engine.default_kv)
    be = (backend or engine.default_backend).lower()
    if be not in engine.backends:
        raise InvalidInput(f"{engine.name} does not run on backend {be!r}; it runs on {', '.join(engine.backends)}")
    fa = engine.flash_attention_default if flash_attention is None else flash_attention
    quantized_kv = kv not in ("f32", "f16", "bf16", "fp8")
    if engine.weights == "gguf" and quantized_kv and not fa:
        raise InvalidInput(f"KV-cache type {kv} needs flash attention in {engine.name} "
                           "(llama-context.cpp: quantized V cache requires Flash Attention)")
    # llama.cpp common/common.h n_batch 2048; Ollama's num_batch default is 512 (api/types.go)
    nb = (512 if engine.name == "ollama" else 2048) if n_batch is None else n_batch
    nub = 512 if n_ubatch is None else n_ubatch
    for label, v in (("batch size", nb), ("micro-batch size", nub)):
        if not 1 <= v <= MAX_BATCH_TOKENS:
            raise InvalidInput(f"{label} must be between 1 and {MAX_BATCH_TOKENS:,}, got {v}")
    nub = min(nub, nb)  # llama_context: n_ubatch = min(n_batch, n_ubatch)
    mem = gpu_memory_bytes or 0
    if mem < 0 or mem > 16 * 1024**4:
        raise InvalidInput(f"GPU memory of {mem:,} bytes is not a real device (0 to 16 TiB)")
    util = 0.92 if gpu_memory_utilization is None else gpu_memory_utilization
    if not 0 < util <= 1:
        raise InvalidInput(f"gpu_memory_utilization must be in (0, 1], got {util}")
    # vLLM scheduler defaults (engine/arg_utils.py get_batch_defaults): GPUs of 70 GiB or more get
    # max_num_seqs 1024 (the API server keeps max_num_batched_tokens 8192).
    seqs = 1024 if mem >= 70 * 1024**3 else 256
    run = RunConfig(engine=engine.name, backend=be, context_tokens=ctx, kv_cache_type=kv, flash_attention=fa,
                    n_batch=nb, n_ubatch=nub, n_seq=n_seq, gpu_memory_bytes=mem, gpu_memory_utilization=util,
                    max_num_seqs=seqs)
    return run, tuple(warnings)


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


def mixture_context(spec: ModelSpec) -> MixtureContext:
    """The model facts llama-quantize's rules read (LLM_TYPE_70B: 80-layer llama/qwen2 models)."""
    return MixtureContext(arch=spec.arch, n_layers=spec.n_layers, n_gqa=spec.n_gqa,
                          n_expert=spec.n_experts, is_70b=spec.n_layers == 80 and spec.arch in ("llama", "qwen2"))


def tensor_bytes_gguf(tensors: tuple[Tensor, ...], types: list[str]) -> list[int]:
    out = []
    for t, name in zip(tensors, types, strict=True):
        rows = math.prod(t.shape[1:])
        out.append(rows * GGML_TYPES[name].row_bytes(t.shape[0]))
    return out


def _format_geometry(fmt: TensorFormat, t: Tensor) -> GroupGeometry:
    if t.group == "token_embd":
        return fmt.embedding
    if t.group == "output":
        return fmt.head
    if t.is_linear:
        return fmt.linear
    return F32 if fmt.name == "FP32" else BF16


def tensor_bytes_format(tensors: tuple[Tensor, ...], fmt: TensorFormat) -> list[int]:
    return [_format_geometry(fmt, t).matrix_bytes(math.prod(t.shape[1:]), t.shape[0]) for t in tensors]


def _cached_unless_gguf(maxsize: int) -> Callable[[_SpecFn[_T]], _SpecFn[_T]]:
    """lru_cache for functions pure in (spec, quant), both frozen: the web API and the searches ask the same
    pair many times.  A spec read from a GGUF file carries its tensor table outside the spec's hash
    (``gguf`` is compare=False), so those calls bypass the cache."""
    def wrap(fn: _SpecFn[_T]) -> _SpecFn[_T]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(spec: ModelSpec, quant: QuantScheme) -> _T:
            return fn(spec, quant) if spec.gguf is not None else cached(spec, quant)
        return call
    return wrap


def weight_bytes(spec: ModelSpec, quant: QuantScheme) -> tuple[tuple[Tensor, ...], list[int], bool]:
    """Per-tensor bytes: exact from a GGUF file of the same type, else by the format's rules."""
    tensors, sizes, exact = _weight_bytes(spec, quant)
    return tensors, list(sizes), exact


@_cached_unless_gguf(maxsize=64)  # per-tensor tuples are large: few are kept
def _weight_bytes(spec: ModelSpec, quant: QuantScheme) -> tuple[tuple[Tensor, ...], tuple[int, ...], bool]:
    g = spec.gguf
    if g is not None and isinstance(quant, GGUFFileType) and quant.name == g.file_type:
        return g.tensors, tuple(t.n_bytes or 0 for t in g.tensors), True
    tensors = g.tensors if g is not None else build_tensors(spec)
    if isinstance(quant, GGUFFileType):
        types = ggml_types_for(tensors, quant, mixture_context(spec))
        return tensors, tuple(tensor_bytes_gguf(tensors, types)), False
    return tensors, tuple(tensor_bytes_format(tensors, quant)), False


@dataclass(frozen=True, slots=True)
class _WeightSummary:
    groups: tuple[tuple[str, int], ...]  # tensor group -> bytes, in file order
    per_layer: tuple[int, ...]
    per_layer_experts: tuple[int, ...]
    output_layer: int  # bytes of the output layer (head and output norm)
    n_params: int
    total: int
    n_tensors: int
    exact: bool


@_cached_unless_gguf(maxsize=2048)  # summaries are small
def _weight_summary(spec: ModelSpec, quant: QuantScheme) -> _WeightSummary:
    """Weight bytes summed by group and by layer, the part of estimate_memory that depends only on
    (spec, quant)."""
    tensors, sizes, exact = _weight_bytes(spec, quant)
    groups: dict[str, int] = {}
    per_layer_w = [0] * spec.n_layers
    per_layer_x = [0] * spec.n_layers
    output_layer = 0
    for t, b in zip(tensors, sizes, strict=True):
        grp = t.group
        groups[grp] = groups.get(grp, 0) + b
        if t.layer is not None and t.layer < spec.n_layers:
            per_layer_w[t.layer] += b
            if grp == "experts":
                per_layer_x[t.layer] += b
        elif t.name.startswith("output"):
            output_layer += b
    return _WeightSummary(groups=tuple(groups.items()), per_layer=tuple(per_layer_w),
                          per_layer_experts=tuple(per_layer_x), output_layer=output_layer,
                          n_params=sum(t.n_elements for t in tensors), total=sum(sizes), n_tensors=len(tensors),
                          exact=exact)


def gguf_metadata_bytes(spec: ModelSpec, n_tensors: int) -> int:
    """Header size: tokenizer arrays dominate.  BPE vocabularies store tokens, types and merges
    (~45 B per token); SentencePiece ones tokens, scores and types (~24 B per token); plus ~80 B per
    tensor info (convert_hf_to_gguf.py output, gguf docs/gguf.md layout)."""
    spm = spec.vocab_size <= 32768 or spec.arch in ("gemma2", "gemma3")
    per_token = 24 if spm else 45
    return spec.vocab_size * per_token + n_tensors * 80 + 16 * 1024


# ---------------------------------------------------------------------------------------------
# KV cache
# ---------------------------------------------------------------------------------------------


def _pad(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def kv_dims(spec: ModelSpec, il: int, engine: EngineProfile) -> tuple[int, int]:
    """Elements cached per token in layer ``il`` for K and V."""
    if spec.layer_kind(il) == "recurrent":
        return 0, 0
    if spec.uses_mla:
        if engine.name in ("transformers", "mlx"):
            # Decompressed per-head keys and values (transformers DeepseekV3Attention).
            nh = spec.n_heads
            return nh * (spec.qk_nope_head_dim + spec.qk_rope_head_dim), nh * spec.v_head_dim
        # llama.cpp (deepseek2 with MLA) and vLLM (MLAAttentionSpec) cache the compressed latent:
        # kv_lora_rank + rope dims per token, no separate V.
        return spec.kv_lora_rank + spec.qk_rope_head_dim, 0
    n = spec.kv_heads(il) * spec.head_dim
    return n, n


def kv_cells(spec: ModelSpec, il: int, run: RunConfig, engine: EngineProfile) -> int:
    """Token slots allocated for layer ``il`` (all sequences)."""
    ctx, n_seq, kind = run.context_tokens, run.n_seq, spec.layer_kind(il)
    w = spec.sliding_window
    if engine.weights == "gguf":
        # llama.cpp: cparams.n_ctx = GGML_PAD(n_ctx, 256); SWA layers get
        # GGML_PAD(min(n_ctx, n_swa*n_seq + n_ubatch), 256) cells unless --swa-full (llama-kv-cache-iswa.cpp).
        total = _pad(ctx * n_seq, 256)
        if kind == "sliding" and w and not run.swa_full:
            return min(total, _pad(w * n_seq + run.n_ubatch, 256))
        return total
    if engine.name == "vllm":
        per = _pad(ctx, 16)  # blocks of 16 tokens (DEFAULT_BLOCK_SIZE)
        if kind == "sliding" and w:
            per = min(per, _pad(w, 16) + 16)
        return per * n_seq
    if engine.name == "mlx":
        per = _pad(ctx, 256)  # KVCache.step = 256
        if kind == "sliding" and w:
            per = min(per, w)  # RotatingKVCache(max_size=sliding_window)
        return per * n_seq
    if engine.name == "exllamav2":
        return _pad(ctx, 256) * n_seq
    per = min(ctx, w) if (kind == "sliding" and w) else ctx
    return per * n_seq


def _kv_layer_bytes(k: int, v: int, cells: int, kv_type: str, gguf: bool) -> int:
    if gguf:
        t = GGML_TYPES[kv_type.upper()]
        return (t.row_bytes(k) if k else 0) * cells + (t.row_bytes(v) if v else 0) * cells
    return math.ceil((k + v) * cells * KV_ELEMENT_BYTES[kv_type])


# ---------------------------------------------------------------------------------------------
# Compute buffers
# ---------------------------------------------------------------------------------------------


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
    n_kv = _pad(run.context_tokens * run.n_seq, 256)
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
    if "sliding" in kinds and spec.sliding_window and not run.swa_full:
        swa = min(n_kv, _pad(spec.sliding_window * run.n_seq + run.n_ubatch, 256))
    kv_cells = n_kv if "full" in kinds else (swa or n_kv)
    masks = (kv_cells if "full" in kinds else 0) + swa
    fa = run.flash_attention
    out_stage = vocab + 2 * e + (e if spec.arch in ("gemma2", "gemma3") and not fa else 0)
    ffn_stage = 4 * e + 3 * ff + (masks // 2 if fa else masks + min(2 * kv_dim, e)) + 5
    attn_stage = 0 if fa else kv_cells * (spec.n_heads + 1) + 3 * e + 2 * q_dim + 2 * kv_dim + 5 + swa
    return 4 * n_tok * max(out_stage, ffn_stage, attn_stage), host


def _activation_rows(spec: ModelSpec) -> int:
    ff = spec.ffn_size
    if spec.is_moe:
        ff = spec.n_experts_active * (spec.expert_ffn_size or spec.ffn_size)
    return 2 * ff + 4 * spec.hidden_size


def compute_items(spec: ModelSpec, run: RunConfig, engine: EngineProfile) -> list[MemoryItem]:
    if engine.weights == "gguf":
        dev, host = llamacpp_compute_bytes(spec, run)
        loc = "host" if run.backend == "cpu" else "device"
        return [
            MemoryItem(component="compute", name="compute buffer", n_bytes=dev, location=loc,
                       note=f"graph for {min(run.n_ubatch, run.context_tokens)} tokens, flash attention "
                       + ("on" if run.flash_attention else "off")),
            MemoryItem(component="compute", name="output buffer", n_bytes=host, location="host",
                       note="logits for one token per sequence"),
        ]
    if engine.name == "vllm":
        # profile_run peak: the sampler's fp32 logits and sort buffers for max_num_seqs rows dominate
        # (~38.4 B per (seq x vocab) fits Llama-3.1-8B 4.76 GiB, Qwen3-0.6B 5.56 GiB, gpt-oss-20b 7.38 GiB
        # on H100 with 1024 seqs, engine-facts.md 2.4); token activations scale with max_num_batched_tokens.
        sampler = math.ceil(run.max_num_seqs * spec.vocab_size * 38.4)
        tokens = run.max_num_batched_tokens * _activation_rows(spec) * 2
        return [MemoryItem(component="compute", name="activation peak (profile run)", n_bytes=max(sampler, tokens),
                           note=f"max_num_seqs {run.max_num_seqs}, max_num_batched_tokens "
                           f"{run.max_num_batched_tokens}")]
    chunk = {"mlx": 2048, "exllamav2": 2048}.get(engine.name, run.context_tokens)
    chunk = min(chunk, run.context_tokens)
    act = chunk * _activation_rows(spec) * 2 + spec.vocab_size * 4 * run.n_seq
    why = {"mlx": "prefill_step_size 2048 (mlx_lm/generate.py)", "exllamav2": "max_input_len 2048 chunks"}.get(
        engine.name, "whole prompt in one forward pass (transformers generate)")
    return [MemoryItem(component="compute", name="activations", n_bytes=act, note=why)]


# ---------------------------------------------------------------------------------------------
# The estimate
# ---------------------------------------------------------------------------------------------


VLLM_WONT_START = "vLLM would not start"  # prefix of the one-GPU startup warnings below (api.fit drops them
# for tensor/pipeline-parallel plans, which check each GPU's share themselves)


def _vllm_pool(items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], tuple[str, ...]]:
    """vLLM preallocates: requested = ceil(total * gpu_memory_utilization); the KV pool is what the weights,
    the profile-run activation peak and the non-torch/graph overhead leave (vllm/v1/worker/gpu_worker.py).
    Startup fails when the pool cannot hold one max_model_len request (vllm/v1/core/kv_cache_utils.py)."""
    requested = math.ceil(run.gpu_memory_bytes * run.gpu_memory_utilization)
    needed = sum_items(tuple(items), "kv_cache")
    non_kv = sum(i.n_bytes for i in items if i.component != "kv_cache" and i.location == "device")
    pool = requested - non_kv
    gib = 1024**3
    if pool < needed:
        if pool <= 0:
            msg = (f"{VLLM_WONT_START}: weights, activations and overhead ({non_kv / gib:.2f} GiB) exceed "
                   f"gpu_memory_utilization x memory ({requested / gib:.2f} GiB)")
        else:
            max_len = int(run.context_tokens * pool / needed) // 16 * 16
            msg = (f"{VLLM_WONT_START}: one {run.context_tokens:,}-token request needs {needed / gib:.2f} GiB "
                   f"of KV cache but the pool holds {pool / gib:.2f} GiB; the largest max_model_len that fits "
                   f"is about {max_len:,}")
        return items, (msg,)
    kept = [i for i in items if i.component != "kv_cache"]
    kept.append(MemoryItem(component="kv_cache", name="KV cache pool (preallocated)", n_bytes=pool,
                           note=f"{run.gpu_memory_utilization:g} x GPU memory minus the rest; one "
                           f"{run.context_tokens:,}-token sequence needs {needed / gib:.2f} GiB"))
    return kept, ()


def estimate_memory(spec: ModelSpec, quant: QuantScheme, run: RunConfig,
                    warnings: tuple[str, ...] = ()) -> MemoryBreakdown:
    engine = get_engine(run.engine)
    check_quant_for_engine(engine, quant)
    w = _weight_summary(spec, quant)
    groups, exact = dict(w.groups), w.exact
    gguf = engine.weights == "gguf"
    discrete = run.backend in DISCRETE_BACKENDS
    per_layer_w, per_layer_x, output_layer = w.per_layer, w.per_layer_experts, w.output_layer
    items: list[MemoryItem] = []
    host_embd = (gguf and discrete) or (isinstance(quant, TensorFormat) and quant.embeddings_on_host)
    host_all = run.backend == "cpu"
    labels = {"token_embd": "token embeddings", "output": "output head", "attention": "attention",
              "ffn": "feed-forward", "experts": "MoE experts", "norms": "norms and biases"}
    for g in ("token_embd", "attention", "ffn", "experts", "norms", "output"):
        if g in groups:
            loc = "host" if host_all or (g == "token_embd" and host_embd) else "device"
            note = "kept in system RAM by the engine" if g == "token_embd" and host_embd and not host_all else ""
            items.append(MemoryItem(component="weights", name=labels[g], n_bytes=groups[g], location=loc, note=note))
    if gguf and discrete and "output" not in groups and not host_all:
        # Tied embeddings: llama.cpp creates output from token_embd (TENSOR_DUPLICATED, src/models/*.cpp),
        # a second copy in the output layer's device buffer.
        items.append(MemoryItem(component="weights", name="output head (copy of tied embeddings)",
                                n_bytes=groups.get("token_embd", 0), location="device",
                                note="llama.cpp duplicates tied embeddings onto the GPU"))
    if "output" not in groups:
        output_layer += groups.get("token_embd", 0)  # the tied embedding serves as the output head
    n_params = w.n_params
    file_bytes = w.total + (gguf_metadata_bytes(spec, w.n_tensors) if gguf else 0)
    if exact and spec.gguf is not None:
        file_bytes = spec.gguf.file_size_bytes

    # KV cache
    per_layer_kv = [0] * spec.n_layers
    kv_groups: dict[str, tuple[int, int, int]] = {}  # kind -> (layers, cells, bytes)
    for il in range(spec.n_layers):
        k, v = kv_dims(spec, il, engine)
        kind = spec.layer_kind(il)
        if kind == "recurrent":
            b = spec.recurrent_state_bytes * run.n_seq
            cells = 0
        else:
            cells = kv_cells(spec, il, run, engine)
            b = _kv_layer_bytes(k, v, cells, run.kv_cache_type, gguf)
        per_layer_kv[il] = b
        n, _, tot = kv_groups.get(kind, (0, cells, 0))
        kv_groups[kind] = (n + 1, cells, tot + b)
    kv_names = {"full": "full-attention layers", "sliding": "sliding-window layers", "recurrent": "recurrent state"}
    for kind, (n, cells, tot) in kv_groups.items():
        note = f"{n} layers x {cells:,} cells, {run.kv_cache_type}" if kind != "recurrent" else f"{n} layers"
        items.append(MemoryItem(component="kv_cache", name=f"KV cache, {kv_names[kind]}", n_bytes=tot,
                                location="host" if host_all else "device", note=note))
    full_layers = [il for il in range(spec.n_layers) if spec.layer_kind(il) == "full"]
    per_tok = sum((Fraction(sum(kv_dims(spec, il, engine))) * KV_ELEMENT_BYTES[run.kv_cache_type]
                   for il in full_layers), Fraction(0))

    items += compute_items(spec, run, engine)
    if host_all:
        items = [MemoryItem(component=i.component, name=i.name, n_bytes=i.n_bytes, location="host", note=i.note)
                 for i in items]
    overhead = engine.runtime_overhead_bytes.get(run.backend, 0)
    if overhead:
        items.append(MemoryItem(component="overhead", name=f"{run.backend} runtime", n_bytes=overhead,
                                note=engine.overhead_source))
    if engine.name == "vllm" and run.gpu_memory_bytes:
        items, pool_warnings = _vllm_pool(items, run)
        warnings = (*warnings, *pool_warnings)
    layers = tuple(LayerMemory(index=il, kind=spec.layer_kind(il), weights_bytes=per_layer_w[il],
                               kv_bytes=per_layer_kv[il], expert_bytes=per_layer_x[il])
                   for il in range(spec.n_layers))
    bpw = 8 * w.total / n_params if n_params else 0.0
    return MemoryBreakdown(
        model=spec.name, quant=quant.name, run=run, items=tuple(items), layers=layers, model_file_bytes=file_bytes,
        kv_bytes_per_token=per_tok, bits_per_weight=bpw, exact_weights=exact, warnings=warnings,
        output_layer_bytes=output_layer, token_embd_bytes=groups.get("token_embd", 0),
    )
