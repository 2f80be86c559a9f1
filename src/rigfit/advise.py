"""The hardware advisor: for a stack of models and a workload, the cheapest complete builds that run
every model well, ranked, with their price/speed Pareto front and what the cheapest cannot do.

Search: every priced accelerator option in the catalogs (GPUs new or used in 1-4 card desktops, Macs,
unified-memory mini PCs, laptops), each planned and timed with the same placement and speed models as
``rigfit fit``; the memory of each model is estimated once per backend.  For GPUs only the smallest card
count that holds the whole stack is timed (a llama.cpp layer split adds memory, not decode speed).  The
rest of a PC (CPU platform, RAM, storage, PSU, cooling, case) comes from ``buildrules``.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from importlib import resources
from typing import Any

from . import buildrules as br
from ._validate import Field, Problems, check_record
from .api import FitResult, fit
from .engines import get_engine
from .errors import CatalogError, InvalidInput, NoBuild, RigfitError, UnknownName
from .hardware.catalog import default_hardware
from .hardware.spec import Device
from .hardware.usable import usable_memory
from .memory import MemoryBreakdown
from .models.resolve import resolve_model
from .models.spec import ModelSpec
from .quant import resolve_quant
from .request import Search, make_request
from .system import System, default_backend, make_system, with_usable
from .training import FineTune, TrainingFit, fit_training
from .units import GIB
from .vocab import Backend, Verdict

# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------

WORKLOAD_SCHEMA: dict[str, Field] = {
    "name": Field("str", True), "kind": Field("str", True, ("inference", "training")),
    "description": Field("str", True), "rationale": Field("str", True), "source": Field("str", True),
    "as_of": Field("date", True), "context_tokens": Field("pos_int"), "prompt_tokens": Field("pos_int"),
    "answer_tokens": Field("pos_int"), "min_decode_tokens_per_s": Field("pos_num"), "max_ttft_s": Field("pos_num"),
    "method": Field("str", False, ("full", "lora", "qlora")), "seq_len": Field("pos_int"),
    "micro_batch": Field("pos_int"), "lora_rank": Field("pos_int"), "lora_targets": Field("str"),
    "dataset_tokens": Field("pos_int"), "epochs": Field("pos_int"), "max_epoch_hours": Field("pos_num"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    name: str
    kind: str  # inference | training
    description: str
    rationale: str
    source: str
    context_tokens: int = 8192
    prompt_tokens: int = 1000
    answer_tokens: int = 400
    min_decode_tokens_per_s: float = 10.0
    max_ttft_s: float = 10.0
    finetune: FineTune | None = None
    max_epoch_hours: float = 24.0


def parse_workloads(raw: dict[str, Any]) -> tuple[Workload, ...]:
    problems = Problems("workloads catalog")
    out = []
    for i, rec in enumerate(raw.get("workloads", [])):
        if not check_record(rec, WORKLOAD_SCHEMA, f"workloads[{i}]", problems):
            continue
        if rec["kind"] == "training" and "method" not in rec:
            problems.add(f"workloads[{i}].method", "missing (a training workload needs it)")
            continue
        ft = None
        if rec["kind"] == "training":
            ft = FineTune(method=rec["method"], seq_len=rec.get("seq_len", 2048), micro_batch=rec.get("micro_batch", 1),
                          lora_rank=rec.get("lora_rank", 16), lora_targets=rec.get("lora_targets", "all-linear"),
                          dataset_tokens=rec.get("dataset_tokens", 10_000_000), epochs=rec.get("epochs", 3))
        kw = {k: rec[k] for k in ("context_tokens", "prompt_tokens", "answer_tokens", "min_decode_tokens_per_s",
                                  "max_ttft_s", "max_epoch_hours") if k in rec}
        out.append(Workload(name=rec["name"], kind=rec["kind"], description=rec["description"],
                            rationale=rec["rationale"], source=rec["source"], finetune=ft, **kw))
    problems.raise_if_any()
    return tuple(out)


@functools.cache
def default_workloads() -> tuple[Workload, ...]:
    res = resources.files("rigfit").joinpath("data/workloads.toml")
    try:
        return parse_workloads(tomllib.loads(res.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"rigfit/data/workloads.toml: not valid TOML: {exc}") from None


def get_workload(name: str) -> Workload:
    for w in default_workloads():
        if w.name == name.lower().strip():
            return w
    raise UnknownName("workload", name, [w.name for w in default_workloads()])


# ---------------------------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedPart:
    role: str  # gpu | mac | system | laptop | cpu | motherboard | ram | storage | psu | cooling | case
    name: str
    count: int
    unit_usd: float
    condition: str  # new | used
    price_date: str
    source: str
    rule: str = ""

    @property
    def usd(self) -> float:
        return self.count * self.unit_usd


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    name: str
    kind: str  # pc | mac | soc | laptop
    form: str  # desktop | laptop | mini
    os_names: tuple[str, ...]  # operating systems it runs: windows | linux | macos
    condition: str  # new | used (the accelerator)
    device: Device
    count: int
    usable_bytes: int  # per accelerator, under the build's OS
    ram_bytes: int  # system RAM (unified: the same memory)
    cpu: str
    storage: str
    psu_w: int | None
    cooling: str
    parts: tuple[PricedPart, ...]
    caveats: tuple[str, ...] = field(default=())

    @property
    def price_usd(self) -> float:
        return round(sum(p.usd for p in self.parts), 2)

    @property
    def accelerator_memory_bytes(self) -> int:
        return self.device.memory_bytes * self.count

    @property
    def vendor(self) -> str:
        return self.device.vendor


class Shortfall(StrEnum):
    """Why a model on a build misses the workload's targets."""

    OFFLOADS = "offloads"
    CPU_ONLY = "cpu_only"
    DOES_NOT_FIT = "does_not_fit"
    SPEED_UNKNOWN = "speed_unknown"
    SLOW_DECODE = "slow_decode"
    SLOW_FIRST_TOKEN = "slow_first_token"
    TRAINING_DOES_NOT_FIT = "training_does_not_fit"
    TRAINING_SPEED_UNKNOWN = "training_speed_unknown"
    SLOW_EPOCH = "slow_epoch"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOnBuild:
    model: str
    quant: str
    context_tokens: int
    verdict: Verdict
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None
    answer_time_s: float | None  # prompt + answer of the workload
    used_bytes: int  # on the accelerators
    headroom_bytes: int  # left on the tightest accelerator
    max_context_tokens: int  # about: the context the headroom would still hold
    meets: bool
    reason: str  # why not (empty when it meets the targets)
    shortfall: Shortfall | None = None  # the same, as a value code can test
    training: TrainingFit | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedBuild:
    rank: int
    build: Build
    models: tuple[ModelOnBuild, ...]
    pareto: bool
    reason: str

    @property
    def slowest_decode_tokens_per_s(self) -> float:
        return min((m.decode_tokens_per_s or 0.0) for m in self.models) if self.models else 0.0

    @property
    def slowest_epoch_hours(self) -> float:
        hours = [m.training.time.epoch_s / 3600 for m in self.models if m.training and m.training.time]
        return max(hours) if hours else float("inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    models: tuple[str, ...]
    quant: str | None = None
    context_tokens: int | None = None
    workload: str = "chat"
    min_tokens_per_s: float | None = None
    budget_usd: float | None = None
    platform: str = "any"  # windows | linux | macos | any
    form: str = "any"  # desktop | laptop | mini | any
    condition: str = "any"  # new | used | any
    vendor: str = "any"  # nvidia | amd | intel | apple | any
    top: int = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    request: Request
    workload: Workload
    min_tokens_per_s: float
    context_tokens: dict[str, int]
    builds: tuple[RankedBuild, ...]  # the top qualifying builds, cheapest first
    pareto: tuple[RankedBuild, ...]  # price/speed front over every qualifying build
    cheapest_limits: tuple[str, ...]  # what the cheapest build cannot do
    considered: int
    qualifying: int
    rules: tuple[tuple[str, str, str], ...]  # (topic, rule, source)
    notes: tuple[str, ...] = field(default=())


PLATFORMS = ("windows", "linux", "macos", "any")
FORMS = ("desktop", "laptop", "mini", "any")
CONDITIONS = ("new", "used", "any")
VENDORS = ("nvidia", "amd", "intel", "apple", "any")
MAX_GPUS = 4  # one HEDT/workstation board; beyond it a server (not priced)
OLD_PRICE_YEARS = 3


def _choose(value: str, allowed: tuple[str, ...], what: str) -> str:
    v = value.lower().strip()
    if v not in allowed:
        raise UnknownName(what, value, allowed)
    return v


def check_request(req: Request) -> Request:
    if not req.models:
        raise InvalidInput("give at least one model")
    if req.budget_usd is not None and not 0 < req.budget_usd <= 10_000_000:
        raise InvalidInput(f"budget must be between $1 and $10,000,000, got {req.budget_usd:g}")
    if req.min_tokens_per_s is not None and not 0 < req.min_tokens_per_s <= 100_000:
        raise InvalidInput(f"minimum speed must be between 0 and 100,000 tokens/s, got {req.min_tokens_per_s:g}")
    if req.context_tokens is not None and not 256 <= req.context_tokens <= 1 << 24:
        raise InvalidInput(f"context must be between 256 and {1 << 24:,} tokens, got {req.context_tokens}")
    if not 1 <= req.top <= 100:
        raise InvalidInput(f"number of builds shown must be between 1 and 100, got {req.top}")
    return replace(req, platform=_choose(req.platform, PLATFORMS, "platform"),
                   form=_choose(req.form, FORMS, "form factor"),
                   condition=_choose(req.condition, CONDITIONS, "condition"),
                   vendor=_choose(req.vendor, VENDORS, "GPU vendor"))


def _gpu_prices(d: Device, condition: str) -> list[tuple[str, float, str, str]]:
    """(condition, usd, date, source) options for a GPU under the requested condition."""
    out = []
    if condition in ("new", "any") and d.msrp_usd:
        out.append(("new", d.msrp_usd, d.msrp_date, d.source))
    if condition in ("used", "any") and d.used_usd:
        out.append(("used", d.used_usd, d.used_date, d.used_source))
    if condition == "any" and len(out) == 2:
        out = [min(out, key=lambda o: o[1])]
    return out


def _os_for(d: Device, kind: str) -> tuple[str, ...]:
    if kind == "mac":
        return ("macos",)
    if d.vendor == "nvidia" and kind == "soc":
        return ("linux",)  # DGX OS / JetPack
    return ("windows", "linux")


def _year(date: str) -> int:
    return int(date[:4]) if date[:4].isdigit() else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class _Option:
    """An accelerator choice before the rest of the build is fixed."""

    kind: str  # pc | mac | soc | laptop
    device: Device
    count: int
    condition: str
    unit_usd: float
    price_date: str
    source: str
    form: str
    name: str
    ram_gib: int = 0  # laptops: the RAM they ship with
    storage_gb: int = 0
    cpu: str = ""


def accelerator_options(req: Request) -> list[_Option]:
    hw = default_hardware()
    parts = br.default_parts()
    by_chip: dict[tuple[str, int], Device] = {}
    for d in hw.devices:
        if d.kind == "apple":
            by_chip[(d.name.rsplit(" ", 1)[0], d.memory_bytes // GIB)] = d
    out: list[_Option] = []
    for d in hw.devices:
        if d.kind != "gpu" or d.form == "laptop":
            continue
        for cond, usd, date, src in _gpu_prices(d, req.condition):
            for n in range(1, MAX_GPUS + 1):
                out.append(_Option(kind="pc", device=d, count=n, condition=cond, unit_usd=usd, price_date=date,
                                   source=src, form="desktop", name=d.name))
    if req.condition in ("new", "any"):
        for p in hw.apple_products:
            dev = by_chip.get((p["chip"], p["memory_gib"]))
            if dev is None:
                continue
            form = "laptop" if p["form"] == "laptop" else ("mini" if p["form"] == "mini" else "desktop")
            out.append(_Option(kind="mac", device=dev, count=1, condition="new", unit_usd=p["price_usd"],
                               price_date=p["price_date"], source=p["source"], form=form, name=p["name"],
                               storage_gb=p.get("storage_gb", 0)))
        for d in hw.devices:
            if d.kind == "soc" and d.msrp_usd and d.form == "mini":
                out.append(_Option(kind="soc", device=d, count=1, condition="new", unit_usd=d.msrp_usd,
                                   price_date=d.msrp_date, source=d.source, form="mini", name=d.name))
        gpus = {d.name: d for d in hw.devices if d.kind == "gpu"}
        for lp in parts.laptop:
            out.append(_Option(kind="laptop", device=gpus[lp["gpu"]], count=1, condition="new",
                               unit_usd=lp["price_usd"], price_date=lp["price_date"], source=lp["source"],
                               form="laptop", name=lp["name"], ram_gib=lp["ram_gib"],
                               storage_gb=lp["storage_gb"], cpu=lp["cpu"]))
    return out


def _allowed(o: _Option, req: Request) -> bool:
    oses = _os_for(o.device, o.kind)
    if req.platform != "any" and req.platform not in oses:
        return False
    if req.form not in ("any", o.form):
        return False
    return req.vendor in ("any", o.device.vendor)


def _os_name(o: _Option, req: Request) -> str:
    oses = _os_for(o.device, o.kind)
    return req.platform if req.platform in oses else oses[-1]


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stack:
    specs: tuple[ModelSpec, ...]
    quant: str
    contexts: tuple[int, ...]
    workload: Workload
    min_tps: float


@functools.lru_cache(maxsize=1024)
def _memory(spec: ModelSpec, quant: str, context_tokens: int, backend: Backend) -> MemoryBreakdown:
    """The memory ``spec`` needs on ``backend``, no hardware (the capacity bound of the search, file sizes)."""
    return fit(make_request(spec, quant=quant, context_tokens=context_tokens, backend=backend)).memory


def _option_system(o: _Option, os_name: str, ram_bytes: int, usable_bytes: int | None = None) -> System:
    system = make_system([(o.device, o.count)], os_name=os_name, ram_bytes=ram_bytes, name=o.name)
    if usable_bytes is None:
        return system
    return with_usable(system, [replace(sd.usable, usable_bytes=usable_bytes) for sd in system.devices])


def _evaluate_inference(stack: _Stack, i: int, system: System, quant: str | None = None) -> tuple[ModelOnBuild,
                                                                                                  FitResult]:
    """Model ``i`` of the stack on ``system``, through the pipeline, against the workload's targets."""
    spec = stack.specs[i]
    wl = stack.workload
    quant = quant or stack.quant
    r = fit(make_request(spec, quant=quant, context_tokens=stack.contexts[i], system=system,
                         prompt_tokens=min(wl.prompt_tokens, stack.contexts[i]), gen_tokens=wl.answer_tokens))
    p, sp = r.placement, r.speed
    assert p is not None
    used = sum(d.used_bytes for d in p.accelerators)
    head = min((d.usable_bytes - d.used_bytes for d in p.accelerators), default=0)
    free_total = sum(max(0, d.usable_bytes - d.used_bytes) for d in p.accelerators)
    per_tok = float(r.memory.kv_bytes_per_token) or 1.0
    max_ctx = min(spec.max_context, stack.contexts[i] + int(free_total / per_tok)) if p.verdict == Verdict.GPU else 0
    dec = sp.decode_tokens_per_s if sp else None
    ttft = sp.time_to_first_token_s if sp else None
    short, reason = _inference_shortfall(p.verdict, dec, ttft, stack.min_tps, wl.max_ttft_s, r.speed_unknown)
    return ModelOnBuild(model=spec.name, quant=quant, context_tokens=stack.contexts[i], verdict=p.verdict,
                        decode_tokens_per_s=dec, prefill_tokens_per_s=sp.prefill_tokens_per_s if sp else None,
                        time_to_first_token_s=ttft, answer_time_s=sp.total_time_s if sp else None, used_bytes=used,
                        headroom_bytes=head, max_context_tokens=max_ctx, meets=short is None, reason=reason,
                        shortfall=short), r


def _inference_shortfall(verdict: Verdict, dec: float | None, ttft: float | None, min_tps: float, max_ttft: float,
                         unknown: str) -> tuple[Shortfall | None, str]:
    if verdict != Verdict.GPU:
        return {Verdict.PARTIAL_OFFLOAD: (Shortfall.OFFLOADS, "does not fit in accelerator memory (would offload "
                                                              "to the CPU)"),
                Verdict.CPU: (Shortfall.CPU_ONLY, "runs on the CPU only"),
                Verdict.DOES_NOT_FIT: (Shortfall.DOES_NOT_FIT, "does not fit")}[verdict]
    if dec is None:
        return Shortfall.SPEED_UNKNOWN, f"speed unknown ({unknown})" if unknown else "speed unknown"
    if dec < min_tps:
        return Shortfall.SLOW_DECODE, f"decodes at {dec:.1f} tokens/s, below {min_tps:g}"
    if ttft is not None and ttft > max_ttft:
        return Shortfall.SLOW_FIRST_TOKEN, f"first token after {ttft:.1f} s, above {max_ttft:g} s"
    return None, ""


def _evaluate_training(stack: _Stack, i: int, o: _Option, usable: int) -> ModelOnBuild:
    spec = stack.specs[i]
    wl = stack.workload
    assert wl.finetune is not None
    ft = replace(wl.finetune, framework="mlx" if o.device.vendor == "apple" else "transformers")
    tf = fit_training(spec, ft, o.device, usable, o.count)
    hours = tf.time.epoch_s / 3600 if tf.time else None
    short: Shortfall | None = None
    if not tf.fits:
        short, reason = Shortfall.TRAINING_DOES_NOT_FIT, f"does not fit: {tf.reason}"
    elif hours is None:
        short, reason = Shortfall.TRAINING_SPEED_UNKNOWN, "training throughput unknown for this device"
    elif hours > wl.max_epoch_hours:
        short, reason = Shortfall.SLOW_EPOCH, f"an epoch takes {hours:.0f} h, above {wl.max_epoch_hours:g} h"
    else:
        reason = ""
    return ModelOnBuild(model=spec.name, quant=ft.method, context_tokens=ft.seq_len,
                        verdict=Verdict.GPU if tf.fits else Verdict.DOES_NOT_FIT, decode_tokens_per_s=None,
                        prefill_tokens_per_s=None, time_to_first_token_s=None, answer_time_s=None,
                        used_bytes=tf.per_device_bytes, headroom_bytes=tf.usable_bytes - tf.per_device_bytes,
                        max_context_tokens=0, meets=short is None, reason=reason, shortfall=short, training=tf)


def _evaluate(stack: _Stack, o: _Option, os_name: str, usable: int) -> tuple[ModelOnBuild, ...]:
    if stack.workload.kind == "training":
        return tuple(_evaluate_training(stack, i, o, usable) for i in range(len(stack.specs)))
    # the RAM a PC of this class gets is sized after the search (buildrules); here it never limits
    ram = o.device.memory_bytes if o.kind in ("mac", "soc") else 256 * GIB
    system = _option_system(o, os_name, ram)
    return tuple(_evaluate_inference(stack, i, system)[0] for i in range(len(stack.specs)))


def _capacity_ok(stack: _Stack, o: _Option, usable: int) -> bool:
    """Quick bound: the stack's largest model must fit the option's total usable memory."""
    if stack.workload.kind == "training":
        return True
    be = default_backend(o.device)
    need = max(_memory(s, stack.quant, stack.contexts[i], be).total_bytes for i, s in enumerate(stack.specs))
    return need <= usable * o.count


# ---------------------------------------------------------------------------------------------
# Completing a build
# ---------------------------------------------------------------------------------------------


def _host_need(stack: _Stack, models: tuple[ModelOnBuild, ...]) -> int:
    if stack.workload.kind == "training":
        # transformers loads the 16-bit checkpoint through RAM before moving it to the GPU
        return max(2 * (m.training.memory.params_total if m.training else 0) for m in models)
    return 0


def _storage_need(stack: _Stack, models: tuple[ModelOnBuild, ...]) -> int:
    files = [_memory(s, stack.quant, stack.contexts[i], Backend.CUDA).model_file_bytes
             for i, s in enumerate(stack.specs)]
    ckpt = data = 0
    if stack.workload.kind == "training":
        ft = stack.workload.finetune
        assert ft is not None
        params = max((m.training.memory.params_total if m.training else 0) for m in models)
        trainable = max((m.training.memory.params_trainable if m.training else 0) for m in models)
        # full fine-tune checkpoint: 16-bit weights + fp32 master and AdamW moments; adapters: 16 B/param
        ckpt = 14 * params if ft.method == "full" else 16 * trainable
        data = ft.dataset_tokens * 4 * 2  # ~4 bytes of text per token, raw + tokenized
        files = [2 * params]  # the 16-bit base is what training loads
    return br.storage_need_bytes(files, checkpoint_bytes=ckpt, dataset_bytes=data)


def complete_build(stack: _Stack, o: _Option, os_name: str, usable: int,
                   models: tuple[ModelOnBuild, ...]) -> Build | None:
    parts = br.default_parts()
    hw = default_hardware()
    training = stack.workload.kind == "training"
    storage = br.storage_rule(parts, _storage_need(stack, models), training=training)
    caveats = list(platform_caveats(o.device, o.kind, os_name, stack.workload))
    cond = o.condition
    acc_part = PricedPart(role="gpu" if o.kind == "pc" else o.kind, name=o.name, count=o.count,
                          unit_usd=o.unit_usd, condition=cond, price_date=o.price_date, source=o.source)
    if o.kind == "pc" and cond == "new" and _year(o.price_date) and \
            _year(o.price_date) <= _year(o.device.as_of or "2026") - OLD_PRICE_YEARS:
        caveats.append(f"{o.name}: launch price from {o.price_date}; may no longer be sold new")
    if o.kind in ("mac", "soc", "laptop"):
        plist = [acc_part]
        have_gb = o.storage_gb or 0
        need_gb = storage.quantity * 1000
        if have_gb and need_gb > have_gb:
            plist.append(PricedPart(role="storage", name=f"external {storage.name}", count=1, unit_usd=storage.usd,
                                    condition="new", price_date=storage.price_date, source=storage.source,
                                    rule=storage.rule + f"; the machine ships with {have_gb} GB"))
        elif not have_gb:
            plist.append(PricedPart(role="storage", name=storage.name, count=1, unit_usd=storage.usd, condition="new",
                                    price_date=storage.price_date, source=storage.source, rule=storage.rule))
        ram = o.ram_gib * GIB if o.kind == "laptop" else o.device.memory_bytes
        host = _host_need(stack, models)
        if o.kind == "laptop" and host + br.OS_RAM_BYTES > ram:
            caveats.append(f"needs {(host + br.OS_RAM_BYTES) / GIB:.0f} GiB of RAM, the laptop has {o.ram_gib} GB")
        return Build(name=o.name, kind=o.kind, form=o.form, os_names=_os_for(o.device, o.kind), condition=cond,
                     device=o.device, count=o.count, usable_bytes=usable, ram_bytes=ram,
                     cpu=o.cpu or ("(built in)" if o.kind != "laptop" else ""),
                     storage=f"{have_gb} GB built in" if have_gb and need_gb <= have_gb else storage.name,
                     psu_w=None, cooling="built in", parts=tuple(plist), caveats=tuple(caveats))
    # a PC: platform, RAM, storage, PSU, cooling, case
    acc_bytes = o.device.memory_bytes * o.count
    host = _host_need(stack, models)
    need_gib = max(br.RAM_FLOOR_GIB, -(-max(acc_bytes, host + br.OS_RAM_BYTES) // GIB))
    platform = br.platform_for(o.count, hw.cpu_platforms, parts, need_gib)
    if platform is None:
        return None
    cpu = next(c for c in parts.cpu if c["platform"] == platform["name"])
    board = next(b for b in parts.motherboard if b["platform"] == platform["name"] and b["gpu_slots"] >= o.count)
    mem_type = "DDR5-RDIMM" if platform["kind"] in ("hedt", "workstation", "server") else platform["memory_type"]
    ram_choice = br.ram_rule(parts, memory_type=mem_type, accelerator_bytes=acc_bytes, host_need_bytes=host,
                      max_ram_gib=platform["max_ram_gib"])
    psu, psu_notes = br.psu_rule(parts, [o.device.tdp_w or 250] * o.count, cpu["tdp_w"])
    cool, case, cool_notes = br.cooling_rule(parts, [o.device] * o.count)
    caveats += psu_notes + cool_notes
    if o.count >= 2 and platform["kind"] == "desktop":
        caveats.append("two GPUs on a desktop CPU run at x8/x8 PCIe: fine for a llama.cpp layer split")
    plist = [acc_part]
    for ch in (PricedPart(role="cpu", name=f"{cpu.get('example', 'CPU')} ({platform['name']})", count=1,
                          unit_usd=cpu["usd"], condition="new", price_date=cpu["price_date"], source=cpu["source"],
                          rule=f"{cpu['cores']} cores / {cpu['threads']} threads; "
                               f"{platform.get('cpu_pcie_lanes', '?')} PCIe lanes"),
               PricedPart(role="motherboard", name=board.get("example", "motherboard"), count=1,
                          unit_usd=board["usd"], condition="new", price_date=board["price_date"],
                          source=board["source"], rule=f"{board['gpu_slots']} GPU slots")):
        plist.append(ch)
    for c in (ram_choice, storage, psu, cool, case):
        if c is not None:
            plist.append(PricedPart(role=c.role, name=c.name, count=1, unit_usd=c.usd, condition="new",
                                    price_date=c.price_date, source=c.source, rule=c.rule))
    return Build(name=f"{o.count}x {o.name}" if o.count > 1 else o.name, kind="pc", form="desktop",
                 os_names=_os_for(o.device, o.kind), condition=cond, device=o.device, count=o.count,
                 usable_bytes=usable, ram_bytes=int(ram_choice.quantity) * GIB,
                 cpu=f"{cpu.get('example', '')}, {cpu['cores']} cores ({platform['name']})", storage=storage.name,
                 psu_w=int(psu.quantity), cooling=cool.name, parts=tuple(plist), caveats=tuple(caveats))


def platform_caveats(d: Device, kind: str, os_name: str, wl: Workload) -> list[str]:
    """Platform facts that change what works (seed 001's notes, checked): the caller's OS and vendor."""
    out = []
    if d.vendor == "nvidia" and os_name == "windows" and wl.kind == "training":
        out.append("Windows: train under WSL2 (the Windows NVIDIA driver exposes CUDA to WSL2)")
    if d.vendor == "amd" and kind == "pc":
        if wl.kind == "training":
            out.append("AMD: train on Linux with ROCm; ROCm/PyTorch on Windows is not mature")
        if os_name == "windows":
            out.append("AMD on Windows: llama.cpp via Vulkan or HIP; speeds here are ROCm priors")
    if d.vendor == "intel":
        out.append("Intel Arc: llama.cpp SYCL/Vulkan; speed is an unfitted prior")
    if kind == "mac":
        out.append("macOS: Metal (llama.cpp, Ollama, LM Studio) and MLX; no CUDA, no eGPU on Apple silicon")
        if wl.kind == "training":
            out.append("fine-tuning with mlx-lm (LoRA/QLoRA); bitsandbytes and most CUDA tooling do not run")
    if kind == "laptop":
        out.append(f"laptop GPU: {d.memory_bytes // GIB} GB, less than desktop cards of the same name; "
                   "speed drops when it runs on battery or hot")
    if kind == "soc" and d.vendor == "amd":
        out.append("Strix Halo: the GPU gets half of RAM by default; raise the GTT limit (Linux) or the BIOS "
                   "carve-out (Windows) to use more")
    return out


# ---------------------------------------------------------------------------------------------
# The recommender
# ---------------------------------------------------------------------------------------------


def _stack(req: Request, specs: tuple[ModelSpec, ...] | None = None) -> _Stack:
    wl = get_workload(req.workload)
    specs = specs or tuple(resolve_model(m) for m in req.models)
    quant = req.quant or get_engine("llama.cpp").default_quant
    resolve_quant(quant, prefer="gguf")
    ctx = req.context_tokens or wl.context_tokens
    contexts = tuple(min(ctx, s.max_context) for s in specs)
    if wl.kind == "training" and req.context_tokens:
        assert wl.finetune is not None
        wl = replace(wl, finetune=replace(wl.finetune, seq_len=req.context_tokens))
    min_tps = req.min_tokens_per_s if req.min_tokens_per_s is not None else wl.min_decode_tokens_per_s
    return _Stack(specs=specs, quant=quant, contexts=contexts, workload=wl, min_tps=min_tps)


def _search(stack: _Stack, req: Request, options: list[_Option]) -> tuple[list[tuple[Build, tuple[ModelOnBuild,
                                                                                                ...]]], int]:
    """Every option that meets the targets, completed into a build.  GPUs: the smallest count that fits."""
    done: set[tuple[str, str]] = set()  # (gpu, condition) already satisfied with fewer cards
    found = []
    considered = 0
    for o in sorted(options, key=lambda o: (o.name, o.condition, o.count)):
        if not _allowed(o, req):
            continue
        if o.kind == "pc" and (o.name, o.condition) in done:
            continue
        considered += 1
        os_name = _os_name(o, req)
        usable = usable_memory(o.device, os_name=os_name).usable_bytes
        if not _capacity_ok(stack, o, usable):
            continue
        models = _evaluate(stack, o, os_name, usable)
        if o.kind == "pc" and all(m.verdict == Verdict.GPU for m in models) and \
                not any(m.shortfall == Shortfall.SLOW_FIRST_TOKEN for m in models):
            done.add((o.name, o.condition))  # more cards add memory and prefill pipelining, not decode speed
        if not all(m.meets for m in models):
            continue
        b = complete_build(stack, o, os_name, usable, models)
        if b is not None:
            found.append((b, models))
    return found, considered


def _score(models: tuple[ModelOnBuild, ...], training: bool) -> float:
    """Higher is better: the slowest model's decode rate, or 1 / the slowest epoch."""
    if training:
        hours = [m.training.time.epoch_s / 3600 for m in models if m.training and m.training.time]
        return 1.0 / max(hours) if hours else 0.0
    return min((m.decode_tokens_per_s or 0.0) for m in models)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indexes of the points no other point beats on both price (lower) and score (higher)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -1.0
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def recommend(req: Request, *, specs: tuple[ModelSpec, ...] | None = None) -> Recommendation:
    req = check_request(req)
    if req.platform == "macos" and req.vendor not in ("any", "apple"):
        raise _contradiction(req, "macOS runs only Apple silicon GPUs (no NVIDIA/AMD drivers, no eGPU on "
                                  "Apple silicon)", specs)
    if req.vendor == "apple" and req.platform in ("windows", "linux"):
        raise _contradiction(req, f"Apple silicon Macs run macOS, not {req.platform}", specs)
    stack = _stack(req, specs)
    training = stack.workload.kind == "training"
    found, considered = _search(stack, req, accelerator_options(req))
    within = [f for f in found if req.budget_usd is None or f[0].price_usd <= req.budget_usd]
    if not within:
        raise _no_build(req, stack, found)
    within.sort(key=lambda f: (f[0].price_usd, -_score(f[1], training)))
    points = [(b.price_usd, _score(m, training)) for b, m in within]
    front = set(pareto_front(points))
    ranked = []
    base_price, base_score = points[0]
    for i, (b, models) in enumerate(within):
        ranked.append(RankedBuild(rank=i + 1, build=b, models=models, pareto=i in front,
                                  reason=_rank_reason(i, b, points[i], base_price, base_score, i in front, training)))
    top = tuple(ranked[: req.top])
    par = tuple(r for r in ranked if r.pareto)
    limits = cheapest_limits(stack, ranked[0])
    return Recommendation(request=req, workload=stack.workload, min_tokens_per_s=stack.min_tps,
                          context_tokens={s.name: c for s, c in zip(stack.specs, stack.contexts, strict=True)},
                          builds=top, pareto=par, cheapest_limits=tuple(limits), considered=considered,
                          qualifying=len(within), rules=applied_rules(), notes=_notes(req))


def _rank_reason(i: int, b: Build, point: tuple[float, float], base_price: float, base_score: float,
                 on_front: bool, training: bool) -> str:
    unit = "1/epoch-h" if training else "tokens/s"
    what = (f"slowest epoch {1 / point[1]:.1f} h" if training and point[1] else
            f"slowest model {point[1]:.1f} {unit}")
    if i == 0:
        return f"cheapest build that meets every target ({what})"
    more = b.price_usd - base_price
    ratio = point[1] / base_score if base_score else 0.0
    text = f"${more:,.0f} more than #1; {what} ({ratio:.2f}x #1)"
    return text + ("; on the price/speed front" if on_front else "; a cheaper build is as fast")


def _notes(req: Request) -> tuple[str, ...]:
    hw = default_hardware()
    unpriced = sum(1 for d in hw.devices if d.kind == "gpu" and d.form != "laptop" and not d.msrp_usd
                   and not d.used_usd)
    notes = [f"{unpriced} catalog GPUs have no price and are not considered",
             "engine: llama.cpp (also Ollama, LM Studio); layer split across GPUs",
             "prices are dated list/launch (new) or observed (used) prices in USD, before tax and shipping"]
    if req.condition != "new":
        notes.append("used prices exist for few GPUs; Macs and laptops are priced new")
    return tuple(notes)


def applied_rules() -> tuple[tuple[str, str, str], ...]:
    parts = br.default_parts()
    rules = [
        ("ram", "system RAM >= max(32 GB, total GPU memory, CPU-side need + 8 GiB)", "ram-vs-vram"),
        ("storage", "NVMe >= 2x the model files + checkpoints + datasets + 200 GB; >= 1200 TBW when training",
         "ssd-endurance"),
        ("psu", f"PSU >= {br.PSU_HEADROOM} x (GPU board power + CPU + {br.BASE_SYSTEM_W} W), ATX 3.x",
         "psu-transients"),
        ("circuit", "above 1440 W continuous a US 15 A / 120 V circuit is not enough", "psu-circuit"),
        ("cooling", "1 card <= 350 W: air + 2 intake/1-2 exhaust; 2 cards or hotter: 360 mm AIO, full tower; "
                    "3-4 cards: open frame with risers", "multi-gpu-cooling"),
        ("pcie", "desktop CPUs: 1 x16 or 2 x8 GPU slots; 3-4 GPUs need a HEDT/workstation platform", "pcie-lanes"),
        ("platform", "Windows: CUDA via WSL2 for training; AMD ROCm on Windows is immature; Macs: Metal/MLX, "
                     "no eGPU; laptop GPUs have less memory than desktop namesakes", "wsl2-cuda"),
    ]
    return tuple((t, r, parts.source_for(s)) for t, r, s in rules)


def cheapest_limits(stack: _Stack, first: RankedBuild) -> list[str]:
    """What the cheapest qualifying build cannot do: longer context, a higher-quality quant, fine-tuning."""
    b = first.build
    out = []
    o = _Option(kind=b.kind, device=b.device, count=b.count, condition=b.condition, unit_usd=0, price_date="",
                source="", form=b.form, name=b.name)
    system = _option_system(o, "linux", b.ram_bytes, usable_bytes=b.usable_bytes)
    for i, m in enumerate(first.models):
        spec = stack.specs[i]
        if stack.workload.kind == "training":
            continue
        if m.max_context_tokens < spec.max_context:
            out.append(f"{m.model}: about {m.max_context_tokens:,} tokens of context fit, not the model's "
                       f"{spec.max_context:,}")
        q8, r8 = _evaluate_inference(stack, i, system, quant="Q8_0")
        if q8.verdict != Verdict.GPU:
            need = r8.memory.total_bytes
            out.append(f"{m.model}: Q8_0 does not fit ({need / GIB:.1f} GiB needed)")
        ft = FineTune(method="qlora", framework="mlx" if b.device.vendor == "apple" else "transformers")
        tf = fit_training(spec, ft, b.device, b.usable_bytes, b.count)
        if not tf.fits:
            out.append(f"{m.model}: no QLoRA fine-tune ({tf.memory.total_bytes / GIB:.1f} GiB needed at 2k tokens)")
    if stack.workload.kind == "training":
        for m in first.models:
            if m.training and m.training.memory.finetune.method != "full":
                full = replace(m.training.memory.finetune, method="full")
                tf = fit_training(stack.specs[[s.name for s in stack.specs].index(m.model)], full, b.device,
                                  b.usable_bytes, b.count)
                if not tf.fits:
                    out.append(f"{m.model}: no full fine-tune ({tf.memory.total_bytes / GIB:.0f} GiB needed)")
    return out


def _relaxed(req: Request, **kw: Any) -> Request:
    return replace(req, **kw)


def _cheapest(req: Request, specs: tuple[ModelSpec, ...] | None) -> Build | None:
    try:
        rec = recommend(replace(req, top=1), specs=specs)
    except RigfitError:
        return None
    return rec.builds[0].build


def _contradiction(req: Request, why: str, specs: tuple[ModelSpec, ...] | None) -> NoBuild:
    near = []
    for label, kw in ((f"on {req.vendor if req.vendor != 'apple' else 'any vendor'} with any OS",
                       {"platform": "any"}),
                      (f"on {req.platform} with any vendor", {"vendor": "any"})):
        b = _cheapest(_relaxed(req, **kw), specs)
        if b is not None:
            near.append(f"{label}: {b.name} at ${b.price_usd:,.0f}")
    return NoBuild(f"contradictory constraints: {why}" + ("; nearest: " + "; ".join(near) if near else ""))


def _no_build(req: Request, stack: _Stack, found: list[tuple[Build, tuple[ModelOnBuild, ...]]]) -> NoBuild:
    want = f"{', '.join(s.name for s in stack.specs)} ({stack.workload.name}, {stack.quant})"
    if found and req.budget_usd is not None:
        low = min((f[0] for f in found), key=lambda x: x.price_usd)
        return NoBuild(f"no build under the ${req.budget_usd:,.0f} budget runs {want}; the cheapest that does is "
                       f"{low.name} at ${low.price_usd:,.0f}")
    fails = []
    for label, key, loose in (("platform", "platform", "any"), ("form factor", "form", "any"),
                              ("condition", "condition", "any"), ("GPU vendor", "vendor", "any"),
                              ("speed target", "min_tokens_per_s", 0.001), ("budget", "budget_usd", None)):
        if getattr(req, key) in (loose, None):
            continue  # not constrained
        near = _cheapest(_relaxed(req, **{key: loose}), stack.specs)
        if near is not None:
            fails.append(f"without the {label} constraint: {near.name} at ${near.price_usd:,.0f}")
    if not fails:
        return NoBuild(f"no build in the catalog runs {want} well; try a smaller model or quant, a shorter "
                       "context or a lower speed target")
    return NoBuild(f"no build meets every constraint for {want}; " + "; ".join(fails))


__all__ = [
    "Build",
    "ModelOnBuild",
    "NoBuild",
    "RankedBuild",
    "Recommendation",
    "Request",
    "Workload",
    "default_workloads",
    "get_workload",
    "recommend",
]


# ---------------------------------------------------------------------------------------------
# The main job: this machine, the default stack, the cheapest build that runs it well
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineReport:
    description: str
    results: tuple[Any, ...]  # api.FitResult per model, at the best quant for this machine
    meets: tuple[bool, ...]  # per model: runs fully on the accelerator at the workload's speed
    notes: tuple[str, ...]
    recommendation: Recommendation


def machine_report(det: Any, *, models: Sequence[str] | None = None, workload: str = "chat") -> MachineReport:
    """How the detected machine runs ``models`` (default: the seeds' stack) for ``workload``, and the
    cheapest build that runs all of them well."""
    from .api import DEFAULT_STACK, this_machine

    names = tuple(models or DEFAULT_STACK)
    wl = get_workload(workload)
    system, notes = this_machine(det)
    ram = system.ram_bytes or 0
    specs = tuple(resolve_model(m) for m in names)
    results = tuple(fit(make_request(s, system=system, search=Search.BEST_QUANT,
                                     context_tokens=min(wl.context_tokens, s.max_context),
                                     prompt_tokens=wl.prompt_tokens, gen_tokens=wl.answer_tokens)) for s in specs)
    meets = []
    for r in results:
        dec = r.speed.decode_tokens_per_s if r.speed else 0.0
        ttft = r.speed.time_to_first_token_s if r.speed else None
        on_gpu = r.placement is not None and r.placement.verdict == Verdict.GPU
        meets.append(on_gpu and dec >= wl.min_decode_tokens_per_s and (ttft is None or ttft <= wl.max_ttft_s))
    devs = ", ".join(f"{sd.count}x {sd.device.name}" for sd in system.devices)
    desc = f"{det.os_name}; {devs}; {ram / GIB:.1f} GiB RAM"
    rec = recommend(Request(models=names, workload=wl.name, top=1), specs=specs)
    return MachineReport(description=desc, results=results, meets=tuple(meets), notes=tuple(notes),
                         recommendation=rec)
