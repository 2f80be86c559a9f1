"""What a user types, as the CLI and the web API both take it, turned into library calls.

``FitOptions`` holds the fit options as text and numbers (``"32k"``, ``"max"``, ``"64GB"``, ``"3,1"``);
``request_from_options`` parses them into the one ``FitRequest`` (asking for the largest context for
``ctx="max"``, the best quant when hardware is given without a quant) for ``api.fit``.  ``context_curve``
reruns one plan over a range of contexts (the page's tokens/s vs context plot, ``rigfit fit --curve``).  The
web layer passes catalog-resolved specs and systems so that it never opens a file the user names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .api import MAX_USERS, FitResult, curve_request, fit, native_quant
from .calibration import Calibration
from .errors import InvalidInput, UnknownName
from .hardware.links import LinkSpec
from .models.spec import ModelSpec
from .request import FitRequest, Search, make_request
from .system import System, make_system
from .vocab import Verdict

if TYPE_CHECKING:
    from .engines import Engine


def parse_ctx(text: str | None) -> int | None:
    """``8192``, ``32k`` (x1024) or ``128K``; sign and size are checked by the library."""
    if text is None:
        return None
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = 1024 if t.endswith("k") else 1
    t = t.removesuffix("k")
    try:
        return int(float(t) * mult) if "." in t else int(t) * mult
    except (ValueError, OverflowError):
        raise InvalidInput(f"context length {text!r} is not a number of tokens (e.g. 8192 or 32k)") from None


def parse_size(text: str | None) -> int | None:
    """A memory size as typed (``64GB`` = ``64GiB`` = 64 x 2**30 bytes, see ``units``), or None."""
    from .units import parse_memory_size

    return None if text is None else parse_memory_size(text)


def parse_params(text: str | None) -> int | None:
    """A parameter count as typed: ``7B``, ``30b``, ``500M``, ``1.5T``, or a plain number; None for None."""
    if text is None:
        return None
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMbBtT]?)\s*", text)
    if not m or len(text) > 32:
        raise InvalidInput(f"parameter count must look like 7B, 500M or 1.5T, got {text[:40]!r}")
    n = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]
    if not 0 < n <= 1e14:
        raise InvalidInput(f"parameter count {text!r} is outside 1..100T")
    return round(n)


def parse_flash(value: str | None) -> bool | None:
    if value is None or value.strip().lower() == "auto":
        return None
    v = value.strip().lower()
    if v not in ("on", "off"):
        raise InvalidInput(f"flash attention must be on, off or auto, got {value!r}")
    return v == "on"


def parse_split(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        vals = tuple(float(x) for x in text.replace("/", ",").split(",") if x.strip())
    except ValueError:
        raise InvalidInput(f"tensor split {text!r} is not a list of numbers (e.g. 3,1)") from None
    if not vals or any(not 0 <= v < float("inf") for v in vals) or sum(vals) <= 0:
        raise InvalidInput(f"tensor split {text!r} needs non-negative numbers with a positive sum")
    return vals


@dataclass(frozen=True, slots=True, kw_only=True)
class FitOptions:
    quant: str | None = None
    ctx: str | None = None  # "8192", "32k" or "max"
    kv_cache: str | None = None
    kv_cache_v: str | None = None  # llama.cpp -ctv: the V cache's type where it differs from the K cache's
    engine: str | None = None  # default llama.cpp, or the --command engine
    flash_attn: str | None = None  # on | off | auto
    swa_full: bool | None = None  # llama.cpp --swa-full
    logits_all: bool | None = None  # llama.cpp bindings' micro-batch-wide logits
    mmproj: bool | None = None  # llama.cpp --mmproj
    op_offload: bool | None = None  # llama.cpp: False = --no-op-offload
    threads: int | None = None  # llama.cpp -t
    batch: int | None = None
    ubatch: int | None = None
    n_seq: int = 1
    users: str | None = None  # "N" concurrent users (= N parallel sequences) or "max"
    backend: str | None = None
    hardware: tuple[str, ...] = ()
    gpu_memory: str | None = None
    gpu_memory_utilization: float | None = None
    ram: str | None = None
    prompt_tokens: int | None = None  # None: request.DEFAULT_PROMPT_TOKENS, or what the context holds
    gen_tokens: int | None = None
    depth_tokens: int = 0
    split_mode: str | None = None
    gpu_layers: int | None = None
    n_cpu_moe: int | None = None  # llama.cpp --n-cpu-moe
    tensor_split: str | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    command: str | None = None
    headroom: str | None = None  # memory kept free per accelerator ("1GB"; default: the engine's margin)
    os: str | None = None  # linux | windows | macos: the OS reserves of the described machine
    display: bool = False  # a desktop runs on the (first) GPU
    kwh_price: float | None = None  # USD per kWh for the running cost
    calibration: Calibration | None = None  # the user's per-machine corrections (None: none applied)
    nodes: tuple[str, ...] = ()  # machines of a cluster ("M3 Ultra 512GB", "2x RTX 3090, 64GB")
    link: str | None = None  # the link between them (tb5-rdma, 25gbe, ...)
    cluster_file: str | None = None  # a TOML describing the nodes and the link
    cluster_mode: str | None = None  # pipeline | tensor


def engine_of(o: FitOptions) -> str:
    if o.engine:
        return o.engine
    if o.command:
        from .launch import check_command

        return check_command(o.command)  # --command ollama plans for Ollama
    return "llama.cpp"


def _users(o: FitOptions) -> tuple[int, bool]:
    """(parallel sequences, whether to search for the most) from --users / --parallel."""
    if o.users is None:
        return o.n_seq, False
    text = o.users.strip().lower()
    if o.n_seq != 1:
        raise InvalidInput("give the number of users or of parallel sequences, not both (they are the same)",
                           options=("users", "n_seq"))
    if text == "max":
        if (o.ctx or "").strip().lower() == "max":
            raise InvalidInput("the largest context and the most users cannot both be searched: fix one",
                               options=("users", "context_tokens"))
        return 1, True
    if not text.isdigit() or not 1 <= int(text) <= MAX_USERS:
        raise InvalidInput(f"users must be a whole number from 1 to {MAX_USERS} or 'max', got {o.users!r}",
                           options=("users",))
    return int(text), False


def _native_of(model: str | ModelSpec, engine: Engine) -> str | None:
    """The format ``model`` is published in, where ``engine`` loads it (gpt-oss's MXFP4 experts)."""
    from .errors import RigfitError
    from .models.resolve import resolve_model

    try:
        spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    except RigfitError:
        return None  # make_request names the bad model
    q = native_quant(spec, engine)
    return q.name if q is not None else None


def request_from_options(model: str | ModelSpec, o: FitOptions, *, system: System | None = None) -> FitRequest:
    """The one FitRequest for what a user typed.  ``system`` (already resolved: this machine, or catalog-only
    hardware for the web) replaces ``o.hardware``.  ``ctx="max"`` asks for the largest context; hardware
    without a quant (and not a GGUF file, which is sized as it is) asks for the best quant."""
    nodes: tuple[str, ...] = o.nodes
    link: str | LinkSpec | None = o.link
    if o.cluster_file is not None:
        from .hardware.links import read_cluster_file

        if o.nodes or o.link:
            raise InvalidInput("give a cluster file or nodes and a link, not both", options=("cluster", "nodes"))
        nodes, link = read_cluster_file(o.cluster_file)
    has_hw = system is not None or bool(o.hardware) or bool(nodes)
    is_file = (isinstance(model, str) and model.lower().endswith(".gguf")) or \
        (isinstance(model, ModelSpec) and model.gguf is not None)
    max_ctx = (o.ctx or "").strip().lower() == "max"
    n_seq, max_users = _users(o)
    quant = o.quant
    from .engines import engine_for, get_engine, typed_name
    from .models.resolve import hf_pull_name

    pulled = hf_pull_name(model) if isinstance(model, str) else None
    if not quant and pulled and pulled[1]:
        quant = pulled[1].upper()  # hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M is that one file: nothing to search

    eng = engine_for(get_engine(engine_of(o)), model)  # Ollama's MLX tags: its MLX runner
    if not quant and not is_file and isinstance(model, str):
        from .quant import checkpoint_quant

        quant = checkpoint_quant(typed_name(model))  # "Qwen/Qwen3-8B-AWQ" is that checkpoint: nothing to search
    if not quant and not is_file and eng.quant_from_name:
        # Ollama pulls one file per tag: the quant the tag names, else the model's native format (gpt-oss:
        # MXFP4), else the library's default; nothing to search for
        quant = eng.quant_of_name(typed_name(model)) or _native_of(model, eng) or eng.default_quant
    search = Search.MAX_CONTEXT if max_ctx else Search.MAX_USERS if max_users else \
        Search.BEST_QUANT if has_hw and not quant and not is_file else Search.NONE
    return make_request(
        model, quant=quant, engine=engine_of(o), search=search, context_tokens=None if max_ctx else parse_ctx(o.ctx),
        kv_cache_type=o.kv_cache, kv_cache_type_v=o.kv_cache_v, flash_attention=parse_flash(o.flash_attn),
        n_batch=o.batch, n_ubatch=o.ubatch,
        swa_full=o.swa_full, logits_all=o.logits_all, mmproj=o.mmproj, op_offload=o.op_offload, n_seq=n_seq,
        n_threads=o.threads,
        backend=o.backend,
        gpu_memory_bytes=_size_of(o.gpu_memory, "gpu_memory_bytes"),
        gpu_memory_utilization=o.gpu_memory_utilization, hardware=() if system is not None else o.hardware,
        system=system, ram_bytes=_size_of(o.ram, "ram_bytes"), prompt_tokens=o.prompt_tokens, gen_tokens=o.gen_tokens,
        depth_tokens=o.depth_tokens, split_mode=o.split_mode, tensor_split=parse_split(o.tensor_split),
        tensor_parallel=o.tensor_parallel, pipeline_parallel=o.pipeline_parallel, gpu_layers=o.gpu_layers,
        n_cpu_moe=o.n_cpu_moe,
        os_name=(o.os or "linux").strip().lower(), display=o.display, kwh_price_usd=o.kwh_price,
        headroom_bytes=_size_of(o.headroom, "headroom_bytes"), calibration=o.calibration, nodes=nodes,
        link=link, cluster_mode=o.cluster_mode)


def _size_of(text: str | None, field_: str) -> int | None:
    """``parse_size`` whose error names the request field it was typed for."""
    try:
        return parse_size(text)
    except InvalidInput as exc:
        raise InvalidInput(str(exc), options=(field_,)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    context_tokens: int
    verdict: Verdict | None
    gpu_layers: int | None
    total_bytes: int
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None


def curve_contexts(max_context: int, planned: int) -> list[int]:
    """Powers of two from 1,024 up to the model's maximum, plus the planned context."""
    pts = {planned}
    c = 1024
    while c <= max_context:
        pts.add(c)
        c *= 2
    pts.add(max_context)
    return sorted(p for p in pts if 0 < p <= max(max_context, planned))


def context_curve(r: FitResult) -> tuple[CurvePoint, ...]:
    """The same plan (model, quant, engine, hardware, settings) at contexts from 1k to the model's maximum,
    each with a prompt that fills it (context minus the answer): how memory, the verdict, prefill speed and
    time to first token move as the context grows."""
    out = []
    for ctx in curve_contexts(r.spec.max_context, r.memory.run.context_tokens):
        p = fit(curve_request(r, ctx))
        s = p.speed
        out.append(CurvePoint(context_tokens=ctx, verdict=p.placement.verdict if p.placement else None,
                              gpu_layers=p.placement.gpu_layers if p.placement else None,
                              total_bytes=p.memory.total_bytes,
                              decode_tokens_per_s=s.decode_after_prompt_tokens_per_s if s else None,
                              prefill_tokens_per_s=s.prefill_tokens_per_s if s else None,
                              time_to_first_token_s=s.time_to_first_token_s if s else None))
    return tuple(out)


def catalog_model(name: str) -> ModelSpec:
    """A catalog model by name or alias only (the web API never opens paths or the Hub)."""
    from .errors import UnknownModel
    from .models.catalog import default_catalog
    from .models.resolve import UNKNOWN_MODEL_HINT

    cat = default_catalog()
    spec = cat.get(name.strip())
    if spec is None:
        base = cat.base_of(name.strip())
        if base is not None:  # a fine-tune or repackaging named by its repo: its base's architecture
            return replace(base, resolved_from=name.strip())
        raise UnknownModel(name, cat.all_keys(), hint=UNKNOWN_MODEL_HINT)
    return spec


def catalog_system(specs: Sequence[str], *, os_name: str = "linux", display: bool = False) -> System:
    """Catalog hardware only (``"2x RTX 3090"``); custom .toml files are a CLI feature."""
    from .hardware.resolve import parse_hardware_spec_noted
    from .request import check_os

    check_os(os_name)
    parsed = [parse_hardware_spec_noted(s) for s in specs]
    return make_system([(d, n) for d, n, _ in parsed], notes=[note for _, _, note in parsed if note],
                       os_name=os_name, display=display)


__all__ = ["CurvePoint", "FitOptions", "UnknownName", "catalog_model", "catalog_system", "context_curve",
           "curve_contexts", "engine_of", "parse_ctx", "parse_flash", "parse_params", "parse_size", "parse_split",
           "request_from_options"]
