"""The hardware guide, regenerated for any stack: the sections of the two hand-written guides (sweet spot,
tiers, memory math, Mac vs PC, summary, model size to hardware, platform notes, training) with every number computed by
the memory, placement, speed, training and advisor models.  Where one of the original guides ("Hardware
Recommendations for Local AI", "Hardware Guide (Windows & macOS)") gave a figure for the same model, the
guide prints it beside the computed one, under that guide's title; for another stack it prints none.

The result is a tree of frozen values (sections of paragraphs and tables); ``report.guide_out`` renders
it as Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .advise import RankedBuild, Request, applied_rules, recommend
from .api import DEFAULT_STACK, fit_model
from .engines import get_engine
from .errors import NoBuild, RigfitError
from .hardware.resolve import resolve_device
from .hardware.usable import usable_memory
from .models.catalog import default_catalog
from .models.resolve import resolve_model
from .models.spec import ModelSpec
from .request import Search
from .training import FineTune, fit_training, training_memory
from .units import GB, GIB

RECS = "\"Hardware Recommendations for Local AI\""  # the original guide about the 32B stack
# its figures, for the models it wrote about: FP16 and Q4_K_M weights of a 32B model
RECS_WEIGHTS = {"Qwen2.5-Coder-32B-Instruct": ("~64 GB", "~19-20 GB"),
                "DeepSeek-R1-Distill-Qwen-32B": ("~64 GB", "~19-20 GB")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = field(default=())
    tables: tuple[Table, ...] = field(default=())
    bullets: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class Guide:
    title: str
    models: tuple[str, ...]
    sections: tuple[Section, ...]


def _gb(n: int) -> str:
    return f"{n / GB:.1f} GB"


def _price(r: RankedBuild) -> str:
    return f"${r.build.price_usd:,.0f}"


def _speeds(r: RankedBuild) -> str:
    return ", ".join(f"{m.model} {m.decode_tokens_per_s or 0:.0f} tok/s" for m in r.models)


def _best(req: Request, keep: object = None) -> list[RankedBuild]:
    try:
        rec = recommend(replace(req, top=100))
    except NoBuild:
        return []
    out = list(rec.builds)
    if callable(keep):
        out = [r for r in out if keep(r)]
    return out


def _prefixes(spec: ModelSpec) -> list[str]:
    """Name prefixes before the size token, longest first: DeepSeek-R1-Distill-Qwen-32B ->
    DeepSeek-R1-Distill-Qwen, DeepSeek-R1-Distill, DeepSeek-R1, DeepSeek."""
    head = re.split(r"-\d+(?:\.\d+)?B", spec.name)[0].split("-")
    return ["-".join(head[:i]) + "-" for i in range(len(head), 0, -1)]


def _related(spec: ModelSpec, lo: float, hi: float) -> list[ModelSpec]:
    """Catalog models sized in [lo, hi] billions with the longest shared name prefix."""
    for pre in _prefixes(spec):
        found = [m for m in default_catalog().models if m.name.startswith(pre) and lo <= _size_b(m) <= hi
                 and m.name != spec.name]
        if found:
            return found
    return []


def smaller_sibling(spec: ModelSpec, below_params: float) -> ModelSpec | None:
    """The largest related catalog model below ``below_params`` billion (Qwen2.5-Coder-32B -> 14B)."""
    found = _related(spec, 0.5, below_params - 0.01)
    return max(found, key=_size_b) if found else None


def bigger_sibling(spec: ModelSpec) -> ModelSpec | None:
    """A related 60-80B model (the guides' "70B" step up)."""
    found = _related(spec, 60, 80)
    return max(found, key=_size_b) if found else None


def _size_b(m: ModelSpec) -> float:
    hit = re.search(r"(\d+(?:\.\d+)?)B", m.name)
    return float(hit.group(1)) if hit else (m.params_total or 0) / 1e9


def build_guide(models: Sequence[str] = ()) -> Guide:
    names = tuple(models) or DEFAULT_STACK
    specs = tuple(resolve_model(m) for m in names)
    names = tuple(s.name for s in specs)
    secs = [
        _sweet_spot(specs),
        _tiers(specs),
        _memory_math(specs),
        _mac_vs_pc(specs),
        _summary(specs),
        _size_table(),
        _platforms(),
        _training(specs),
    ]
    return Guide(title=f"Hardware guide for {', '.join(names)}", models=names, sections=tuple(secs))


def _sweet_spot(specs: tuple[ModelSpec, ...]) -> Section:
    req = Request(models=tuple(s.name for s in specs), form="desktop")
    every = _best(req)
    singles = [r for r in every if r.build.kind == "pc" and r.build.count == 1]
    if not singles:
        return Section(title="The sweet spot", paragraphs=("No single desktop GPU in the catalog runs this stack "
                                                           "fully on the GPU at Q4_K_M.",))
    min_mem = min(r.build.device.memory_bytes for r in singles)
    value = singles[0]
    fastest = max(singles[:10], key=lambda r: r.slowest_decode_tokens_per_s)
    lines = [
        f"Target: every model of the stack at Q4_K_M, fully on the GPU, at the chat workload's "
        f"{every[0].models[0].context_tokens:,}-token context and speed." if every else "",
        f"Minimum VRAM on one card: **{min_mem / GIB:.0f} GB** (the smallest catalog card that holds the stack).",
        f"Best value single GPU: **{value.build.device.name}** ({value.build.condition}, "
        f"${value.build.parts[0].unit_usd:,.0f}); complete build {_price(value)}: {_speeds(value)}.",
        f"Faster for more money: **{fastest.build.device.name}** build {_price(fastest)}: {_speeds(fastest)}.",
    ]
    if every and every[0].build.count > 1:
        lines.append(f"Cheapest of all: {every[0].build.name} at {_price(every[0])} ({_speeds(every[0])}): two "
                     "smaller cards hold the stack but decode slower than one big card.")
    if _is_recs_stack(specs):
        lines.append(f"{RECS} recommends: minimum 24 GB; best value a used RTX 3090 (~$700) or a new RTX 4090.")
    return Section(title="The sweet spot", paragraphs=tuple(x for x in lines if x))


def _is_recs_stack(specs: tuple[ModelSpec, ...]) -> bool:
    """Whether the stack is the one "Hardware Recommendations for Local AI" was written for."""
    return {s.name for s in specs} == {resolve_model(m).name for m in DEFAULT_STACK}


def _verdict_line(spec: ModelSpec, hw: str, quant: str = "Q4_K_M", ctx: int = 8192) -> str:
    r = fit_model(spec, quant=quant, hardware=[hw], context_tokens=min(ctx, spec.max_context), ram_bytes=64 * GIB)
    p, sp = r.placement, r.speed
    assert p is not None
    how = {"gpu": "fully on GPU", "partial_offload": "partly in system RAM", "cpu": "CPU only",
           "does_not_fit": "does not fit"}[p.verdict]
    speed = f", {sp.decode_tokens_per_s:.0f} tok/s" if sp else ""
    return f"{spec.name} {quant}: {how}{speed}"


def _tiers(specs: tuple[ModelSpec, ...]) -> Section:
    rows = []
    stack = tuple(s.name for s in specs)
    # entry: the fastest priced consumer card with at most 16 GB
    small = tuple(dict.fromkeys((s if fit_model(s).memory.total_bytes <= 15 * GIB else
                                 (smaller_sibling(s, _size_b(s)) or s)).name for s in specs))
    entry = _best(Request(models=small, form="desktop"),
                  lambda r: r.build.kind == "pc" and r.build.count == 1 and r.build.device.memory_bytes <= 16 * GIB)
    if entry:
        e = entry[0]
        runs = [_verdict_line(s, e.build.device.name) for s in specs]
        down = [m.model for m in e.models if m.model not in stack]
        rows.append(("Entry", f"{e.build.device.name} ({e.build.device.memory_bytes / GIB:.0f} GB), "
                              f"{e.build.ram_bytes // GIB} GB RAM; {_price(e)}",
                     "; ".join(runs) + (f". Downgrade to: {', '.join(down)}" if down else ""),
                     _speeds(e)))
    golden = _best(Request(models=stack, form="desktop"), lambda r: r.build.kind == "pc" and r.build.count == 1)
    if golden:
        g = golden[0]
        ctxs = []
        for s in specs:
            mc = fit_model(s, search=Search.MAX_CONTEXT, quant="Q4_K_M", hardware=[g.build.device.name],
                           ram_bytes=64 * GIB)
            ctxs.append(f"{s.name} up to {mc.memory.run.context_tokens:,} tokens")
        rows.append(("Golden", f"{g.build.device.name} ({g.build.device.memory_bytes / GIB:.0f} GB), "
                               f"{g.build.ram_bytes // GIB} GB RAM; {_price(g)}",
                     "Stack at Q4_K_M fully on GPU: " + "; ".join(ctxs), _speeds(g)))
    bigger = tuple(dict.fromkeys(b.name for s in specs if (b := bigger_sibling(s)) is not None))
    if bigger:
        pro_pc = _best(Request(models=bigger, form="desktop", vendor="nvidia"))
        pro_mac = _best(Request(models=bigger, platform="macos"))
        for label, lst in (("Pro (multi-GPU)", pro_pc), ("Pro (unified memory)", pro_mac)):
            if lst:
                p = lst[0]
                rows.append((label, f"{p.build.name} ({p.build.accelerator_memory_bytes / GIB:.0f} GB); "
                                    f"{_price(p)}", f"{', '.join(bigger)} at Q4_K_M fully in accelerator memory",
                             _speeds(p)))
    f16 = [fit_model(s, quant="F16").memory.total_bytes for s in specs]
    notes = (f"16-bit weights of the stack need {max(f16) / GB:.0f} GB per model at 8k context: an 80 GB card, "
             "a 96 GB+ Mac, or two 48 GB cards.",
             f"The tiers of {RECS}: entry 8-16 GB (RTX 3060/4060/4070, 14B "
             "models), golden 24 GB (RTX 3090/4090, 32B at 4-bit), pro 2x24 GB or 48-80 GB or a 64 GB+ Mac "
             "(70B at 4-bit).")
    return Section(title="Hardware tiers for your stack",
                   tables=(Table(headers=("Tier", "Hardware (cheapest build that qualifies)", "What it runs",
                                          "Performance (decode)"), rows=tuple(rows)),),
                   paragraphs=notes)


def _memory_math(specs: tuple[ModelSpec, ...]) -> Section:
    rows = []
    checks = []
    for s in specs:
        w16 = fit_model(s, quant="F16").memory.weights_bytes
        w8 = fit_model(s, quant="Q8_0").memory.weights_bytes
        q4 = fit_model(s, quant="Q4_K_M", context_tokens=min(8192, s.max_context))
        kv = float(q4.memory.kv_bytes_per_token)
        k16 = fit_model(s, quant="Q4_K_M", context_tokens=min(16384, s.max_context)).memory.total_bytes
        rows.append((s.name, f"{(s.params_total or 0) / 1e9:.1f}B", _gb(w16), _gb(w8), _gb(q4.memory.weights_bytes),
                     f"{kv / 1024:.0f} KiB", _gb(q4.memory.total_bytes), _gb(k16)))
        said = RECS_WEIGHTS.get(s.name)
        checks.append(f"{s.name}: FP16 weights {_gb(w16)}" + (f" ({RECS}: {said[0]})" if said else "")
                      + f"; Q4_K_M weights {_gb(q4.memory.weights_bytes)}" + (f" ({RECS}: {said[1]})" if said else "")
                      + ".")
    mc = [fit_model(s, search=Search.MAX_CONTEXT, quant="Q4_K_M", hardware=["RTX 3090"], ram_bytes=64 * GIB)
          for s in specs]
    u = mc[0].devices[0].usable
    checks.append(f"On a 24 GB card ({u.usable_bytes / GIB:.1f} GiB usable on Linux after the "
                  f"{u.headroom_bytes / GIB:.0f} GiB headroom llama.cpp's fit keeps): "
                  + "; ".join(f"{r.spec.name} fits up to {r.memory.run.context_tokens:,} tokens" for r in mc)
                  + " with an f16 KV cache (q8_0 KV roughly doubles it)."
                  + (f" {RECS}: 16k+ becomes tight." if _is_recs_stack(specs) else ""))
    return Section(title="Memory math", paragraphs=tuple(checks), tables=(Table(
        headers=("Model", "Params", "FP16 weights", "Q8_0 weights", "Q4_K_M weights", "KV per token",
                 "Q4_K_M total @ 8k", "Q4_K_M total @ 16k"), rows=tuple(rows)),))


def _mac_vs_pc(specs: tuple[ModelSpec, ...]) -> Section:
    hw = ("RTX 3090", "RTX 4090", "RTX 5090", "M4 Max 40-core 48GB", "M3 Ultra 60-core 96GB")
    rows = []
    s = specs[0]
    for h in hw:
        r = fit_model(s, quant="Q4_K_M", hardware=[h], context_tokens=min(8192, s.max_context), prompt_tokens=1000,
                gen_tokens=400, ram_bytes=64 * GIB)
        sp = r.speed
        rows.append((r.devices[0].device.name, f"{r.placement.verdict if r.placement else '?'}",
                     f"{sp.decode_tokens_per_s:.1f}" if sp else "-",
                     f"{sp.time_to_first_token_s:.1f} s" if sp and sp.time_to_first_token_s else "-"))
    paras = [f"{s.name} at Q4_K_M, 1,000-token prompt: NVIDIA cards decode faster and process prompts several "
             "times faster (code completion resends long prompts); Macs hold far larger models in one box."]
    big = bigger_sibling(s)
    if big is not None:
        pc = _best(Request(models=(big.name,), form="desktop", vendor="nvidia"))
        mac = _best(Request(models=(big.name,), platform="macos"))
        if pc and mac:
            paras.append(f"{big.name} at Q4_K_M: cheapest NVIDIA build {pc[0].build.name} {_price(pc[0])} "
                         f"({_speeds(pc[0])}) vs cheapest Mac {mac[0].build.name} {_price(mac[0])} "
                         f"({_speeds(mac[0])}).")
    return Section(title="Mac vs PC", paragraphs=tuple(paras), tables=(Table(
        headers=("Hardware", "Verdict", "Decode tok/s", "Time to first token"), rows=tuple(rows)),))


def _summary(specs: tuple[ModelSpec, ...]) -> Section:
    stack = tuple(s.name for s in specs)
    out = []
    desk = _best(Request(models=stack, form="desktop"))
    if desk:
        out.append(f"Desktop: {desk[0].build.name}, complete build {_price(desk[0])} ({_speeds(desk[0])}).")
    lap = _best(Request(models=stack, form="laptop"))
    if lap:
        out.append(f"Laptop: {lap[0].build.name} at {_price(lap[0])} ({_speeds(lap[0])}).")
    try:
        lines = [_verdict_line(s, "RTX 4090 Laptop") for s in specs]
        out.append("RTX 4090 Laptop GPU (16 GB): " + "; ".join(lines) + " — too little memory for this stack.")
    except RigfitError:
        pass
    if _is_recs_stack(specs):
        out.append(f"{RECS} recommends: desktop, a used RTX 3090; laptop, a MacBook Pro M3/M4 Max with 64 GB+; not "
                   "an RTX 4090 laptop (16 GB).")
    return Section(title="Summary recommendation", bullets=tuple(out))


SIZE_ROWS = (("3-4B", "Llama-3.2-3B-Instruct", "4-6 GB", "8-12 GB"),
             ("7B", "Qwen2.5-7B-Instruct", "8-12 GB", "16-24 GB"),
             ("8B", "Llama-3.1-8B-Instruct", "10-14 GB", "24-36 GB"),
             ("13-14B", "Qwen2.5-14B-Instruct", "16-20 GB", "36-48 GB"),
             ("32B", "Qwen2.5-32B-Instruct", "-", "-"),
             ("70B", "Llama-3.3-70B-Instruct", "48 GB+", "96-192 GB"))
VRAM_SIZES_GIB = (4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 80, 96, 128, 141, 192)
MAC_SIZES_GIB = (8, 16, 18, 24, 32, 36, 48, 64, 96, 128, 192, 256, 512)


def min_vram_gib(need_bytes: int) -> int | None:
    """Smallest common card size (GiB) that holds ``need_bytes`` on Linux (no OS reserve there) with the
    headroom llama.cpp's fit keeps free."""
    from .engines import get_engine

    headroom = get_engine("llama.cpp").headroom_bytes
    return next((g for g in VRAM_SIZES_GIB if g * GIB - headroom >= need_bytes), None)


def min_mac_gib(need_bytes: int) -> int | None:
    from .hardware.usable import macos_gpu_limit_bytes

    return next((g for g in MAC_SIZES_GIB if macos_gpu_limit_bytes(g * GIB)[0] >= need_bytes), None)


def _size_table() -> Section:
    rows = []
    for label, name, guide_v, guide_m in SIZE_ROWS:
        r4 = fit_model(name, quant="Q4_K_M", context_tokens=4096)
        r8 = fit_model(name, quant="Q4_K_M", context_tokens=8192)
        v = min_vram_gib(r8.memory.total_bytes)
        m = min_mac_gib(r8.memory.total_bytes)
        n_cards = -(-r8.memory.total_bytes // (24 * GIB))
        note = f"{n_cards}x 24 GB cards" if v is None or v > 48 else ""
        rows.append((label, name, "Q4_K_M", f"{_gb(r4.memory.total_bytes)} / {_gb(r8.memory.total_bytes)}",
                     f"{v} GB" if v else "-", f"{m} GB" if m else "-", guide_v, guide_m, note))
    return Section(title="How model size maps to hardware", tables=(Table(
        headers=("Size", "Model", "Quant", "Total @ 4k / 8k", "Smallest GPU", "Smallest Mac", "Hardware Guide GPU",
                 "Hardware Guide Mac", "Notes"), rows=tuple(rows)),),
        paragraphs=("Smallest GPU: the smallest common card size whose memory holds the 8k total on Linux with "
                    "the 1 GiB headroom llama.cpp's fit keeps (Windows keeps about 5 % more). Smallest Mac: the "
                    "smallest unified-memory size whose macOS GPU limit (2/3 of RAM up to 36 GB, 3/4 above) holds "
                    "it. The ranges of \"Hardware Guide (Windows & macOS)\" are wider than needed at 4-8k "
                    "context; they leave room for 16-32k.",))


def _platforms() -> Section:
    return Section(title="Platform details and build rules", bullets=tuple(
        f"{topic}: {rule}" + (f" ({src})" if src else "") for topic, rule, src in applied_rules()))


def _training(specs: tuple[ModelSpec, ...]) -> Section:
    rows = []
    models = ("Llama-3.1-8B-Instruct", *(s.name for s in specs))
    devices = ("RTX 4070 Ti SUPER", "RTX 4090", "M4 Max 40-core 128GB")
    for name in models:
        spec = resolve_model(name)
        for method in ("qlora", "lora", "full"):
            ft = FineTune(method=method, seq_len=4096 if spec.name.startswith("Llama-3.1-8B") else 2048)
            need = training_memory(spec, ft).total_bytes
            cells = []
            for d in devices:
                dev = resolve_device(d)
                fw = "mlx" if dev.vendor == "apple" else "transformers"
                usable = usable_memory(dev, os_name="macos" if dev.vendor == "apple" else "linux").usable_bytes
                f2 = fit_training(spec, replace(ft, framework=fw), dev, usable - get_engine(fw).headroom_bytes)
                cells.append(f"{f2.time.epoch_s / 3600:.1f} h" if f2.fits and f2.time else "does not fit")
            rows.append((spec.name, method, f"{ft.seq_len:,}", _gb(need), f"{min_vram_gib(need) or '>192'} GB",
                         *cells))
    return Section(title="Training and fine-tuning", tables=(Table(
        headers=("Model", "Method", "Seq", "Memory", "Smallest GPU", *(f"epoch on {d}" for d in devices)),
        rows=tuple(rows)),), paragraphs=(
        "Micro-batch 1, rank 16 on all linear layers, gradient checkpointing, AdamW; an epoch is 10M tokens; "
        "utilization 35 % (LoRA/full), 25 % (QLoRA) on CUDA, 30 % on Apple GPUs (mlx-lm).",
        "\"Hardware Guide (Windows & macOS)\" recommends >= 16 GB VRAM for QLoRA of 7-8B with 4k context."))
