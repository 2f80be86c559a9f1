"""Itemized memory model: weights, KV cache, compute buffers and runtime overhead, per engine.

``estimate_memory`` is a pure function of (ModelSpec, QuantScheme, RunConfig) that returns every
allocation as a ``MemoryItem`` (component, what, bytes, device or host); totals are sums taken in a
separate step (``MemoryBreakdown.total``).  Each formula names the engine behaviour it follows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from .breakdown import LayerMemory, MemoryBreakdown, MemoryItem, RunConfig, sum_items
from .diskcache import DiskCache, key_of
from .engines import KV_ELEMENT_BYTES, Engine, check_loads, get_engine
from .errors import InvalidInput
from .models.spec import ModelSpec
from .models.tensor import Tensor
from .models.tensors import build_tensors
from .quant import GGML_TYPES, GGUFFileType, QuantScheme, ggml_types_for, mixture_context
from .tensorformats import BF16, F32, GroupGeometry, TensorFormat
from .units import GIB
from .vocab import Backend, Component, LayerKind, Location, WeightFormat

_T = TypeVar("_T")
_SpecFn = Callable[[ModelSpec, QuantScheme], _T]

MAX_CONTEXT_TOKENS = 1 << 24  # 16.7M tokens: beyond any released model
MAX_BATCH_TOKENS = 1 << 20


# ---------------------------------------------------------------------------------------------
# Run configuration
# ---------------------------------------------------------------------------------------------


def make_run_config(
    spec: ModelSpec,
    engine: Engine,
    *,
    context_tokens: int | None = None,
    kv_cache_type: str | None = None,
    kv_cache_type_v: str | None = None,
    flash_attention: bool | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    n_seq: int = 1,
    backend: str | None = None,
    gpu_memory_bytes: int | None = None,
    gpu_memory_utilization: float | None = None,
    swa_full: bool | None = None,
    logits_all: bool | None = None,
    mmproj: bool | None = None,
    op_offload: bool | None = None,
    n_threads: int | None = None,
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
    kv_v = engine.kv_key(kv_cache_type_v) if kv_cache_type_v else kv
    be = (backend or engine.default_backend).lower()
    if be not in engine.backends:
        raise InvalidInput(f"{engine.name} does not run on backend {be!r}; it runs on {', '.join(engine.backends)}")
    fa = engine.flash_attention_default if flash_attention is None else flash_attention
    nb = engine.default_n_batch if n_batch is None else n_batch
    nub = (nb if engine.ubatch_is_batch else engine.default_n_ubatch) if n_ubatch is None else n_ubatch
    for label, v in (("batch size", nb), ("micro-batch size", nub)):
        if not 1 <= v <= MAX_BATCH_TOKENS:
            raise InvalidInput(f"{label} must be between 1 and {MAX_BATCH_TOKENS:,}, got {v}")
    if n_ubatch is not None and nub > nb:
        warnings.append(f"micro-batch {nub:,} is larger than the batch ({nb:,} tokens): the engine runs {nb:,}")
    nub = min(nub, nb)  # llama_context: n_ubatch = min(n_batch, n_ubatch)
    mem = gpu_memory_bytes or 0
    if mem < 0 or mem > 16 * 1024**4:
        raise InvalidInput(f"GPU memory of {mem:,} bytes is not a real device (0 to 16 TiB)")
    util = 0.92 if gpu_memory_utilization is None else gpu_memory_utilization
    if not 0 < util <= 1:
        raise InvalidInput(f"gpu_memory_utilization must be in (0, 1], got {util}")
    # vLLM scheduler defaults (engine/arg_utils.py get_batch_defaults): GPUs of 70 GiB or more get
    # max_num_seqs 1024 (the API server keeps max_num_batched_tokens 8192).
    seqs = 1024 if mem >= 70 * GIB else 256
    run = RunConfig(engine=engine.name, backend=Backend(be), context_tokens=ctx, kv_cache_type=kv,
                    kv_cache_type_v="" if kv_v == kv else kv_v, flash_attention=fa,
                    n_batch=nb, n_ubatch=nub, n_seq=n_seq, gpu_memory_bytes=mem, gpu_memory_utilization=util,
                    max_num_seqs=seqs, swa_full=bool(swa_full), logits_all=bool(logits_all),
                    mmproj=bool(mmproj), op_offload=op_offload is not False, n_threads=n_threads)
    engine.check_run(run)
    return run, (*warnings, *engine.run_warnings(run))


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


def tensor_bytes_gguf(tensors: tuple[Tensor, ...], types: list[str]) -> list[int]:
    return [t.rows * _row_bytes(name, t.shape[0]) for t, name in zip(tensors, types, strict=True)]


@functools.lru_cache(maxsize=4096)
def _row_bytes(type_name: str, n: int) -> int:
    return GGML_TYPES[type_name].row_bytes(n)


def _format_geometry(fmt: TensorFormat, t: Tensor) -> GroupGeometry:
    if t.group == "token_embd":
        return fmt.embedding
    if t.group == "output":
        return fmt.head
    if t.is_linear:
        if t.name.endswith(fmt.kept_tensors):
            return BF16
        if fmt.promoted is not None and t.name.endswith(fmt.promoted_tensors) and \
                (fmt.promoted_layers is None or t.layer in fmt.promoted_layers):
            return fmt.promoted
        if fmt.experts is not None and "_exps" in t.name:
            return fmt.experts
        if fmt.attention is not None and t.group == "attention":
            # a Gated DeltaNet's small projections (beta, alpha) and its convolution stay BF16
            return BF16 if t.name.endswith(_SMALL_MIXER_TENSORS) else fmt.attention
        return fmt.linear
    return F32 if fmt.name == "FP32" else BF16


_SMALL_MIXER_TENSORS = ("ssm_alpha.weight", "ssm_beta.weight", "ssm_ba.weight", "ssm_conv1d.weight")


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
            return fn(spec, quant) if spec.gguf is not None else cached(spec.structure, quant)
        return call
    return wrap


def weight_bytes(spec: ModelSpec, quant: QuantScheme) -> tuple[tuple[Tensor, ...], list[int], bool]:
    """Per-tensor bytes: exact from a GGUF file of the same type, else by the format's rules."""
    tensors, sizes, exact, _ = _weight_bytes(spec, quant)
    return tensors, list(sizes), exact


@_cached_unless_gguf(maxsize=256)  # per-tensor tuples are large: a catalog listing's worth
def _weight_bytes(spec: ModelSpec, quant: QuantScheme
                  ) -> tuple[tuple[Tensor, ...], tuple[int, ...], bool, tuple[str | None, ...]]:
    """The tensors, their bytes, whether those are a real file's, and each one's ggml type (None outside GGUF)."""
    g = spec.gguf
    if g is not None and isinstance(quant, GGUFFileType) and quant.name == g.file_type:
        return g.tensors, tuple(t.n_bytes or 0 for t in g.tensors), True, tuple(t.ggml_type for t in g.tensors)
    tensors = g.tensors if g is not None else build_tensors(spec)
    if isinstance(quant, GGUFFileType):
        types = ggml_types_for(tensors, quant, mixture_context(spec))
        return tensors, tuple(tensor_bytes_gguf(tensors, types)), False, tuple(types)
    fmt = (quant.delta_net if quant.delta_net is not None and spec.delta_net else quant).for_arch(spec.arch,
                                                                                                   spec.n_layers)
    return tensors, tuple(tensor_bytes_format(tensors, fmt)), False, (None,) * len(tensors)


@dataclass(frozen=True, slots=True)
class _WeightSummary:
    groups: tuple[tuple[str, int], ...]  # tensor group -> bytes, in file order
    per_layer: tuple[int, ...]
    per_layer_experts: tuple[int, ...]
    output_layer: int  # bytes of the output layer (head and output norm)
    token_embd: int  # bytes of token_embd.weight alone (a tied head's copy; not Gemma's per-layer table)
    n_params: int
    total: int
    n_tensors: int
    exact: bool
    layer_elements: int = 0  # weight elements of the repeating blocks (routed experts included)
    output_elements: int = 0  # weight elements of the output layer (head and output norm)
    token_embd_elements: int = 0  # elements of token_embd.weight (the head of a model with tied embeddings)
    # the blocks' matrix elements by ggml type (GGUF only): what a CPU prompt's kernels depend on (speed.py)
    layer_type_elements: tuple[tuple[str, int], ...] = ()


# the files a weight summary is computed by: the disk cache's fingerprint
_SUMMARY_CACHE = DiskCache("weights", ("memory.py", "quant.py", "tensorformats.py", "models/tensors.py",
                                       "models/tensor.py", "models/arch.py", "models/spec.py"))


@_cached_unless_gguf(maxsize=8192)  # summaries are small
def _weight_summary(spec: ModelSpec, quant: QuantScheme) -> _WeightSummary:
    """Weight bytes summed by group and by layer, the part of estimate_memory that depends only on
    (spec, quant); kept on disk between runs for specs without a file of their own (diskcache.py)."""
    if spec.gguf is not None:
        return _summarize(spec, quant)
    key = key_of(spec.structure, quant)
    hit = _SUMMARY_CACHE.get(key)
    if isinstance(hit, dict):
        try:
            return _WeightSummary(groups=tuple((str(g), int(b)) for g, b in hit["groups"]),
                                  per_layer=tuple(hit["per_layer"]), per_layer_experts=tuple(hit["per_layer_experts"]),
                                  output_layer=hit["output_layer"], token_embd=hit["token_embd"],
                                  n_params=hit["n_params"], total=hit["total"],
                                  n_tensors=hit["n_tensors"], exact=hit["exact"],
                                  layer_elements=int(hit["layer_elements"]),
                                  output_elements=int(hit["output_elements"]),
                                  token_embd_elements=int(hit["token_embd_elements"]),
                                  layer_type_elements=tuple((str(t), int(n)) for t, n in hit["layer_type_elements"]))
        except (KeyError, TypeError, ValueError):
            pass  # a damaged entry: computed again below
    summary = _summarize(spec, quant)
    _SUMMARY_CACHE.put(key, {"groups": summary.groups, "per_layer": summary.per_layer,
                             "per_layer_experts": summary.per_layer_experts, "output_layer": summary.output_layer,
                             "token_embd": summary.token_embd,
                             "n_params": summary.n_params, "total": summary.total, "n_tensors": summary.n_tensors,
                             "layer_elements": summary.layer_elements, "output_elements": summary.output_elements,
                             "token_embd_elements": summary.token_embd_elements,
                             "layer_type_elements": summary.layer_type_elements,
                             "exact": summary.exact})
    return summary


def _summarize(spec: ModelSpec, quant: QuantScheme) -> _WeightSummary:
    tensors, sizes, exact, types = _weight_bytes(spec, quant)
    groups: dict[str, int] = {}
    by_type: dict[str, int] = {}
    per_layer_w = [0] * spec.n_layers
    per_layer_x = [0] * spec.n_layers
    output_layer = token_embd = layer_el = output_el = embd_el = 0
    for t, b, ty in zip(tensors, sizes, types, strict=True):
        grp = t.group
        if t.name == "token_embd.weight":
            token_embd = b
            embd_el = t.n_elements
        groups[grp] = groups.get(grp, 0) + b
        if t.layer is not None and t.layer < spec.n_layers:
            per_layer_w[t.layer] += b
            layer_el += t.n_elements
            if ty is not None and len(t.shape) >= 2:
                by_type[ty] = by_type.get(ty, 0) + t.n_elements
            if grp == "experts":
                per_layer_x[t.layer] += b
        elif t.name.startswith("output"):
            output_layer += b
            output_el += t.n_elements
    return _WeightSummary(groups=tuple(groups.items()), per_layer=tuple(per_layer_w),
                          per_layer_experts=tuple(per_layer_x), output_layer=output_layer, token_embd=token_embd,
                          n_params=sum(t.n_elements for t in tensors), total=sum(sizes), n_tensors=len(tensors),
                          exact=exact, layer_elements=layer_el, output_elements=output_el,
                          token_embd_elements=embd_el, layer_type_elements=tuple(sorted(by_type.items())))


def weights_total_bytes(spec: ModelSpec, quant: QuantScheme) -> int:
    """All weight bytes of ``spec`` at ``quant`` (cached): what orders a quant ladder."""
    return _weight_summary(spec, quant).total


def gguf_metadata_bytes(spec: ModelSpec, n_tensors: int) -> int:
    """Header size: tokenizer arrays dominate.  BPE vocabularies store tokens, types and merges
    (~45 B per token); SentencePiece ones tokens, scores and types (~24 B per token); plus ~80 B per
    tensor info (convert_hf_to_gguf.py output, gguf docs/gguf.md layout)."""
    spm = spec.vocab_size <= 32768 or spec.arch in ("gemma2", "gemma3")
    per_token = 24 if spm else 45
    return spec.vocab_size * per_token + n_tensors * 80 + 16 * 1024


# ---------------------------------------------------------------------------------------------
# The estimate
# ---------------------------------------------------------------------------------------------


def estimate_memory(spec: ModelSpec, quant: QuantScheme, run: RunConfig,
                    warnings: tuple[str, ...] = ()) -> MemoryBreakdown:
    """The itemized memory of ``spec`` at ``quant`` run as ``run`` says.  Pure in its (frozen) arguments:
    the searches and the advisor ask the same question many times, so answers are cached (not for a spec
    read from a GGUF file, whose tensor table sits outside the spec's hash)."""
    if spec.gguf is not None:
        return _estimate_memory(spec, quant, run, warnings)
    return _estimate_memory_cached(spec, quant, run, warnings)


def _estimate_memory(spec: ModelSpec, quant: QuantScheme, run: RunConfig,
                     warnings: tuple[str, ...] = ()) -> MemoryBreakdown:
    engine = get_engine(run.engine)
    check_loads(engine, quant)
    w = _weight_summary(spec, quant)
    groups, exact = dict(w.groups), w.exact
    gguf = engine.weights == WeightFormat.GGUF
    per_layer_w, per_layer_x, output_layer = w.per_layer, w.per_layer_experts, w.output_layer
    items: list[MemoryItem] = []
    host_embd = engine.embeddings_on_host(run, quant)
    host_all = run.backend == Backend.CPU
    labels = {"token_embd": "token embeddings", "output": "output head", "attention": "attention",
              "ffn": "feed-forward", "experts": "MoE experts", "norms": "norms and biases"}
    for g in ("token_embd", "attention", "ffn", "experts", "norms", "output"):
        if g in groups:
            loc = Location.HOST if host_all or (g == "token_embd" and host_embd) else Location.DEVICE
            note = "kept in system RAM by the engine" if g == "token_embd" and host_embd and not host_all else ""
            items.append(MemoryItem(component=Component.WEIGHTS, name=labels[g], n_bytes=groups[g], location=loc,
                                    note=note))
    if "output" not in groups and not host_all and engine.duplicates_tied_output(run):
        items.append(MemoryItem(component=Component.WEIGHTS, name="output head (copy of tied embeddings)",
                                n_bytes=w.token_embd, location=Location.DEVICE,
                                note="llama.cpp duplicates tied embeddings onto the GPU"))
    output_el = w.output_elements
    if "output" not in groups:
        output_layer += w.token_embd  # the tied embedding serves as the output head
        output_el += w.token_embd_elements
    n_params = w.n_params
    file_bytes = w.total + (gguf_metadata_bytes(spec, w.n_tensors) if gguf else 0)
    if exact and spec.gguf is not None:
        file_bytes = spec.gguf.file_size_bytes

    # KV cache: the engine's cells and element layout per layer; recurrent layers hold a fixed state
    per_layer_kv = [0] * spec.n_layers
    kv_groups: dict[LayerKind, tuple[int, int, int]] = {}  # kind -> (layers, cells, bytes)
    layout = kv_layout(run.engine, spec.structure)
    parallel = spec.parallel_mixer
    seen: dict[tuple[LayerKind, int, int], tuple[int, int]] = {}  # cells are the kind's (Engine.kv_cells)
    for il, (kind, k, v) in enumerate(layout):
        if kind == LayerKind.NONE or (kind != LayerKind.RECURRENT and not k and not v and not parallel):
            continue  # no mixer, or a layer reading another layer's cache (Gemma 3n/4 E models): nothing cached
        if kind == LayerKind.RECURRENT:
            b = spec.recurrent_state_bytes * run.n_seq
            cells = 0
        elif spec.compress_ratios:
            cells = compressed_cells(spec, il, engine.kv_cells(spec, il, run), run)
            laid_out = engine.compressed_layer_bytes(spec, il, run)
            b = engine.kv_layer_bytes(k, v, cells, run.kv_cache_type, run.kv_type_v) if laid_out is None else laid_out
        else:
            got = seen.get((kind, k, v))
            if got is None:
                cells = engine.kv_cells(spec, il, run)
                got = seen[(kind, k, v)] = (cells, engine.kv_layer_bytes(k, v, cells, run.kv_cache_type,
                                                                         run.kv_type_v))
            cells, b = got
        n, _, tot = kv_groups.get(kind, (0, cells, 0))
        kv_groups[kind] = (n + 1, cells, tot + b)
        if parallel and kind != LayerKind.RECURRENT:  # attention beside a mixer (Falcon-H1)
            state = spec.recurrent_state_bytes * run.n_seq
            n, _, tot = kv_groups.get(LayerKind.RECURRENT, (0, 0, 0))
            kv_groups[LayerKind.RECURRENT] = (n + 1, 0, tot + state)
            b += state
        per_layer_kv[il] = b
    kv_names = {LayerKind.FULL: "full-attention layers", LayerKind.SLIDING: "sliding-window layers",
                LayerKind.RECURRENT: "recurrent state"}
    for kind, (n, cells, tot) in kv_groups.items():
        note = f"{n} layers x {cells:,} cells, {run.kv_label}" if kind != LayerKind.RECURRENT else f"{n} layers"
        if spec.compress_ratios and kind != LayerKind.RECURRENT:
            note = f"{n} layers: a sliding window plus compressed memory (compress_ratios), {run.kv_label}"
        items.append(MemoryItem(component=Component.KV_CACHE, name=f"KV cache, {kv_names[kind]}", n_bytes=tot,
                                location=Location.HOST if host_all else Location.DEVICE, note=note))
    full = [(k, v) for kind, k, v in layout if kind == LayerKind.FULL]
    per_tok = Fraction(sum(k for k, _ in full)) * KV_ELEMENT_BYTES[run.kv_cache_type] \
        + Fraction(sum(v for _, v in full)) * KV_ELEMENT_BYTES[run.kv_type_v]

    if run.mmproj:
        if not spec.vision_params:
            raise InvalidInput(f"{spec.name} has no vision tower rigfit knows of (its config's vision_config)",
                               options=("mmproj",))
        # mmproj files are published in F16 (ggml-org and unsloth ship mmproj-F16.gguf; llama.cpp's
        # convert_hf_to_gguf.py --mmproj writes F16 by default); llama.cpp offloads it to the GPU
        items.append(MemoryItem(component=Component.WEIGHTS, name="vision encoder (mmproj)",
                                n_bytes=2 * spec.vision_params, location=Location.HOST if host_all else Location.DEVICE,
                                note=f"{spec.vision_params / 1e6:,.0f}M parameters in F16; image encoding buffers "
                                "not counted"))
    items += engine.compute_items(spec, run)
    if host_all:
        items = [MemoryItem(component=i.component, name=i.name, n_bytes=i.n_bytes, location=Location.HOST,
                            note=i.note) for i in items]
    overhead = engine.runtime_overhead_bytes.get(run.backend, 0)
    if overhead:
        items.append(MemoryItem(component=Component.OVERHEAD, name=f"{run.backend} runtime", n_bytes=overhead,
                                note=engine.overhead_source))
    items, pool_warning = engine.allocate_pool(items, run)
    layers = tuple(map(LayerMemory, range(spec.n_layers), (kind for kind, _, _ in layout), per_layer_w,
                       per_layer_kv, per_layer_x))
    bpw = 8 * w.total / n_params if n_params else 0.0
    return MemoryBreakdown(
        model=spec.name, quant=quant.name, run=run, items=tuple(items), layers=layers, model_file_bytes=file_bytes,
        kv_bytes_per_token=per_tok, bits_per_weight=bpw, exact_weights=exact, run_warnings=warnings,
        pool_warning=pool_warning, output_layer_bytes=output_layer, token_embd_bytes=groups.get("token_embd", 0),
        layer_elements=w.layer_elements, output_elements=output_el, layer_type_elements=w.layer_type_elements,
    )


_estimate_memory_cached = functools.lru_cache(maxsize=4096)(_estimate_memory)


@functools.lru_cache(maxsize=1024)
def kv_layout(engine_name: str, spec: ModelSpec) -> tuple[tuple[LayerKind, int, int], ...]:
    """Per layer: its kind and the K and V elements per cell the engine caches (pure in the structure:
    pass ``spec.structure``)."""
    engine = get_engine(engine_name)
    return tuple((spec.layer_kind(il), *engine.kv_dims(spec, il)) for il in range(spec.n_layers))


def compressed_cells(spec: ModelSpec, il: int, cells: int, run: RunConfig) -> int:
    """DeepSeek V4's cache for one layer: its sliding window (``sliding_window`` tokens per sequence) plus
    one compressed entry per ``compress_ratios[il]`` tokens of context; a ratio of 0 keeps every token.
    Approximation from the model's config and report: the engines' own V4 cache layouts are not modelled."""
    r = spec.compress_ratios[il]
    if r == 0:
        return cells
    window = min(run.context_tokens, spec.sliding_window or run.context_tokens)
    return min(cells, (window + -(-run.context_tokens // r)) * run.n_seq)


__all__ = ["LayerMemory", "MemoryBreakdown", "MemoryItem", "RunConfig", "estimate_memory", "make_run_config",
           "sum_items", "weight_bytes"]
