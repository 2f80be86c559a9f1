"""Completing a build: the rest of a PC (CPU platform, RAM, storage, PSU, cooling, case) from ``buildrules``,
or a Mac / mini PC / laptop as sold, priced part by part with dates and sources; the build values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cost import RunningCost
from ..hardware.catalog import default_hardware
from ..hardware.rates import has_matrix_units
from ..hardware.spec import Device
from ..units import GIB
from ..vocab import Backend, Target, WorkloadKind
from . import buildrules as br
from .evaluate import ModelOnBuild, Stack, epoch_hours, stack_memory
from .options import STALE_PRICE_MONTHS, Option, Request, oses_for, prices_checked, stale_price
from .upgrade import Have
from .workloads import Workload


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


def _host_need(stack: Stack, models: tuple[ModelOnBuild, ...]) -> int:
    if stack.workload.kind == WorkloadKind.TRAINING:
        # transformers loads the 16-bit checkpoint through RAM before moving it to the GPU
        return max(2 * (m.training.memory.params_total if m.training else 0) for m in models)
    return 0


def _storage_need(stack: Stack, models: tuple[ModelOnBuild, ...]) -> int:
    files = [stack_memory(s, stack.quant, stack.contexts[i], Backend.CUDA).model_file_bytes
             for i, s in enumerate(stack.specs)]
    ckpt = data = 0
    if stack.workload.kind == WorkloadKind.TRAINING:
        ft = stack.workload.finetune
        assert ft is not None
        params = max((m.training.memory.params_total if m.training else 0) for m in models)
        trainable = max((m.training.memory.params_trainable if m.training else 0) for m in models)
        # full fine-tune checkpoint: 16-bit weights + fp32 master and AdamW moments; adapters: 16 B/param
        ckpt = 14 * params if ft.method == "full" else 16 * trainable
        data = ft.dataset_tokens * 4 * 2  # ~4 bytes of text per token, raw + tokenized
        files = [2 * params]  # the 16-bit base is what training loads
    return br.storage_need_bytes(files, checkpoint_bytes=ckpt, dataset_bytes=data)


def complete_build(stack: Stack, o: Option, os_name: str, usable: int,
                   models: tuple[ModelOnBuild, ...], have: Have | None = None) -> Build | None:
    parts = br.default_parts()
    hw = default_hardware()
    training = stack.workload.kind == WorkloadKind.TRAINING
    storage = br.storage_rule(parts, _storage_need(stack, models), training=training)
    caveats = list(platform_caveats(o.device, o.kind, os_name, stack.workload))
    cond = o.condition
    acc_part = PricedPart(role="gpu" if o.kind == "pc" else o.kind, name=o.name, count=o.count,
                          unit_usd=o.unit_usd, condition=cond, price_date=o.price_date, source=o.source)
    if o.kind == "pc" and cond == "new" and not o.device.street_usd and stale_price(o.price_date):
        caveats.append(f"{o.name}: launch price from {o.price_date}, no street price on file; may no longer be "
                       "sold new")
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
        caveats += _stale(plist)
        return Build(name=o.name, kind=o.kind, form=o.form, os_names=oses_for(o.device, o.kind), condition=cond,
                     device=o.device, count=o.count, usable_bytes=usable, ram_bytes=ram,
                     cpu=o.cpu or ("(built in)" if o.kind != "laptop" else ""),
                     storage=f"{have_gb} GB built in" if have_gb and need_gb <= have_gb else storage.name,
                     psu_w=None, cooling="built in", parts=tuple(plist), caveats=tuple(caveats))
    if have is not None:
        return _upgrade(stack, o, usable, models, have, acc_part, caveats)
    # a PC: platform, RAM, storage, PSU, cooling, case
    acc_bytes = o.device.memory_bytes * o.count
    host = _host_need(stack, models)
    need_gib = max(br.RAM_FLOOR_GIB, -(-max(acc_bytes, host + br.OS_RAM_BYTES) // GIB))
    platform = br.platform_for(o.count, hw.cpu_platforms, parts, need_gib)
    if platform is None:
        return None
    cpu = next(c for c in parts.cpu if c.platform == platform.name)
    board = next(b for b in parts.motherboard if b.platform == platform.name and b.gpu_slots >= o.count)
    mem_type = "DDR5-RDIMM" if platform.kind in ("hedt", "workstation", "server") else platform.memory_type
    ram_choice = br.ram_rule(parts, memory_type=mem_type, accelerator_bytes=acc_bytes, host_need_bytes=host,
                             max_ram_gib=platform.max_ram_gib)
    psu, psu_notes = br.psu_rule(parts, [o.device.tdp_w or 250] * o.count, cpu.tdp_w)
    cool, case, cool_notes = br.cooling_rule(parts, [o.device] * o.count, cpu_tdp_w=cpu.tdp_w)
    caveats += psu_notes + cool_notes
    if o.count >= 2:
        caveats += br.slot_notes(board.example or "the board", board.slot_lanes, o.count)
    plist = [acc_part]
    lanes = platform.cpu_pcie_lanes if platform.cpu_pcie_lanes is not None else "?"
    for ch in (PricedPart(role="cpu", name=f"{cpu.example or 'CPU'} ({platform.name})", count=1,
                          unit_usd=cpu.usd, condition="new", price_date=cpu.price_date, source=cpu.source,
                          rule=f"{cpu.cores} cores / {cpu.threads} threads; {lanes} PCIe lanes"),
               PricedPart(role="motherboard", name=board.example or "motherboard", count=1,
                          unit_usd=board.usd, condition="new", price_date=board.price_date,
                          source=board.source, rule=f"{board.gpu_slots} GPU slots")):
        plist.append(ch)
    for c in (ram_choice, storage, psu, cool, case):
        if c is not None:
            plist.append(PricedPart(role=c.role, name=c.name, count=1, unit_usd=c.usd, condition="new",
                                    price_date=c.price_date, source=c.source, rule=c.rule))
    caveats += _stale(plist)
    return Build(name=f"{o.count}x {o.name}" if o.count > 1 else o.name, kind="pc", form="desktop",
                 os_names=oses_for(o.device, o.kind), condition=cond, device=o.device, count=o.count,
                 usable_bytes=usable, ram_bytes=int(ram_choice.quantity) * GIB,
                 cpu=f"{cpu.example}, {cpu.cores} cores ({platform.name})", storage=storage.name,
                 psu_w=int(psu.quantity), cooling=cool.name, parts=tuple(plist), caveats=tuple(caveats))


def _new_part(c: br.Choice, why: str) -> PricedPart:
    return PricedPart(role=c.role, name=c.name, count=1, unit_usd=c.usd, condition="new", price_date=c.price_date,
                      source=c.source, rule=f"{why}: {c.rule}")


def _upgrade(stack: Stack, o: Option, usable: int, models: tuple[ModelOnBuild, ...], have: Have,
             acc_part: PricedPart, caveats: list[str]) -> Build | None:
    """The GPUs added to the machine the user has; a PSU or RAM only where the one there is too small."""
    parts = br.default_parts()
    hw = default_hardware()
    platform = next((p for p in hw.cpu_platforms if p.name == have.platform), None)
    if platform is None:
        return None
    acc_bytes = o.device.memory_bytes * o.count
    host = _host_need(stack, models)
    plist = [acc_part]
    kept = [have.cpu]
    gpu_w = [o.device.tdp_w or 250] * o.count
    psu, psu_notes = br.psu_rule(parts, gpu_w, have.cpu_tdp_w)
    need_w = (sum(gpu_w) + have.cpu_tdp_w + br.BASE_SYSTEM_W) * br.PSU_HEADROOM
    if have.psu_w is not None and have.psu_w >= need_w:
        kept.append(f"{have.psu_w} W PSU (needs {need_w:.0f} W: {sum(gpu_w) + have.cpu_tdp_w + br.BASE_SYSTEM_W} "
                    f"W load x {br.PSU_HEADROOM})")
        psu_w = have.psu_w
    else:
        plist.append(_new_part(psu, f"your {have.psu_w} W is too small" if have.psu_w else "PSU not known"))
        psu_w = int(psu.quantity)
        caveats += psu_notes
    mem_type = have.ram_type or platform.memory_type
    ram = br.ram_rule(parts, memory_type=mem_type, accelerator_bytes=acc_bytes, host_need_bytes=host,
                      max_ram_gib=platform.max_ram_gib)
    if have.ram_gib is not None and have.ram_gib >= ram.quantity:
        kept.append(f"{have.ram_gib} GB {mem_type} RAM")
        ram_gib = have.ram_gib
    else:
        plist.append(_new_part(ram, f"replaces your {have.ram_gib} GB" if have.ram_gib else "RAM not known"))
        ram_gib = int(ram.quantity)
    if have.board:
        kept.append(f"{have.board} board")
    caveats.append("kept: " + "; ".join(kept) + "; storage, cooling and case as they are (check that the "
                   f"card{'s fit' if o.count > 1 else ' fits'} the case)")
    if o.count >= 2 and have.slot_lanes:
        caveats += br.slot_notes(f"your {have.board} board", have.slot_lanes, o.count)
    caveats += list(have.notes)
    caveats += _stale(plist)
    return Build(name=f"{o.count}x {o.name}" if o.count > 1 else o.name, kind="pc", form="desktop",
                 os_names=oses_for(o.device, o.kind), condition=o.condition, device=o.device, count=o.count,
                 usable_bytes=usable, ram_bytes=ram_gib * GIB, cpu=f"{have.cpu} ({have.platform}, yours)",
                 storage="yours", psu_w=psu_w, cooling="yours", parts=tuple(plist), caveats=tuple(caveats))


def _stale(parts: list[PricedPart]) -> list[str]:
    """One caveat naming the prices older than STALE_PRICE_MONTHS before the catalogs were checked."""
    old = [f"{p.name} ({p.price_date})" for p in parts if stale_price(p.price_date)]
    return [f"prices over {STALE_PRICE_MONTHS} months older than the catalog check ({prices_checked()}): "
            + ", ".join(old)] if old else []


def platform_caveats(d: Device, kind: str, os_name: str, wl: Workload) -> list[str]:
    """Platform facts that change what works (the notes of "Hardware Guide (Windows & macOS)", checked): the
    caller's OS and vendor."""
    out = []
    if d.vendor == "nvidia" and os_name == "windows" and wl.kind == WorkloadKind.TRAINING:
        out.append("Windows: train under WSL2 (the Windows NVIDIA driver exposes CUDA to WSL2)")
    if d.vendor == "amd" and kind == "pc":
        if wl.kind == WorkloadKind.TRAINING:
            out.append("AMD: train on Linux with ROCm; ROCm/PyTorch on Windows is not mature")
        if os_name == "windows":
            out.append("AMD on Windows: llama.cpp via Vulkan or HIP; speeds here are ROCm priors")
    if d.vendor == "nvidia" and d.chip and not has_matrix_units(d.vendor, d.chip):
        # NVIDIA CUDA 13.0 release notes: Maxwell, Pascal and Volta support removed from the toolkit
        out.append(f"{d.arch or 'pre-Volta'} GPU without tensor cores: CUDA 13 dropped it, so run a CUDA 12 build "
                   "of llama.cpp; vLLM and exllamav2 need newer GPUs; speed is a prior from few measurements")
    if d.vendor == "intel":
        out.append("Intel Arc: llama.cpp SYCL/Vulkan; speed is an unfitted prior")
    if kind == "mac":
        out.append("macOS: Metal (llama.cpp, Ollama, LM Studio) and MLX; no CUDA, no eGPU on Apple silicon")
        if wl.kind == WorkloadKind.TRAINING:
            out.append("fine-tuning with mlx-lm (LoRA/QLoRA); bitsandbytes and most CUDA tooling do not run")
    if kind == "laptop":
        out.append(f"laptop GPU: {d.memory_bytes // GIB} GB, less than desktop cards of the same name; "
                   "speed drops when it runs on battery or hot")
    if kind == "soc" and d.vendor == "amd":
        out.append("Strix Halo: the GPU gets half of RAM by default; raise the GTT limit (Linux) or the BIOS "
                   "carve-out (Windows) to use more")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedBuild:
    rank: int
    build: Build
    models: tuple[ModelOnBuild, ...]
    pareto: bool
    reason: str
    # generating with the slowest model at the build's rated power (None for training or without a figure)
    cost: RunningCost | None = None

    @property
    def slowest_decode_tokens_per_s(self) -> float:
        return min((m.decode_tokens_per_s or 0.0) for m in self.models) if self.models else 0.0

    @property
    def slowest_epoch_hours(self) -> float:
        hours = epoch_hours(self.models)
        return max(hours) if hours else float("inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class NearMiss:
    """A build that misses exactly one target, by how much, and what would let it pass."""

    build: Build
    models: tuple[ModelOnBuild, ...]
    target: Target
    got: float  # the build's value (tokens/s, seconds, hours or USD)
    want: float  # the target it misses
    fix: str  # the relaxed target or the added money that passes it, in words


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
    # builds that miss one target, cheaper than the cheapest that meets them all (or, when none does, the
    # closest ones)
    near_misses: tuple[NearMiss, ...] = field(default=())
    # when no single machine meets the targets: clusters of 2-4 identical machines (advise/clusters.py)
    clusters: tuple[Any, ...] = field(default=())
