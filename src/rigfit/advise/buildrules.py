"""Build rules: from what a stack of models needs to a complete machine (system RAM, storage, PSU,
cooling, CPU platform, slots), each rule citing its source, priced from ``data/builds.toml``.

Every function is pure: it takes needs in bytes and watts and the parts catalog and returns the choice
with the rule that made it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from .._validate import Field, Problems, check_record, from_record, schema_of, spec
from ..hardware.catalog import CpuPlatform
from ..hardware.spec import Device
from ..units import GB, GIB, TB


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cited:
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Priced(_Cited):
    price_date: str = spec("date", True)
    example: str = spec("str", default="")


@dataclass(frozen=True, slots=True, kw_only=True)
class RamKit(_Priced):
    kind: str = spec("str", True, ("DDR4", "DDR5", "DDR5-RDIMM"))
    usd_per_gb: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Drive(_Priced):
    capacity_tb: float = spec("pos_num", True)
    interface: str = spec("str", True)
    tbw: int = spec("pos_int", True)
    usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Psu(_Priced):
    watts: int = spec("pos_int", True)
    usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cpu(_Priced):
    platform: str = spec("str", True)
    cores: int = spec("pos_int", True)
    threads: int = spec("pos_int", True)
    tdp_w: int = spec("pos_int", True)
    usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Motherboard(_Priced):
    platform: str = spec("str", True)
    gpu_slots: int = spec("pos_int", True)
    usd: float = spec("pos_num", True)
    # electrical PCIe lanes of each GPU slot, in order (a desktop board's second x16-length slot is often x4
    # from the chipset); from the board's manual or review, said in its notes
    slot_lanes: tuple[int, ...] = spec("int_list")


@dataclass(frozen=True, slots=True, kw_only=True)
class Cooler(_Priced):
    tier: str = spec("str", True, ("air", "aio-360", "open-frame"))
    usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case(_Priced):
    size: str = spec("str", True, ("mid-tower", "full-tower"))
    usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Laptop(_Priced):
    name: str = spec("str", True)
    gpu: str = spec("str", True)
    ram_gib: int = spec("pos_int", True)
    storage_gb: int = spec("pos_int", True)
    cpu: str = spec("str", True)
    price_usd: float = spec("pos_num", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sourced(_Cited):
    platform: str = spec("str", True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Chipset(_Sourced):
    """A board class a user can name in upgrade mode, with its GPU slots' typical wiring."""

    name: str = spec("str", True)
    slot_lanes: tuple[int, ...] = spec("int_list", True)
    aliases: tuple[str, ...] = spec("str_list")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSource:
    topic: str = spec("str", True)
    claim: str = spec("str", True)
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")


PART_TYPES: dict[str, type[Any]] = {"ram": RamKit, "storage": Drive, "psu": Psu, "cpu": Cpu,
                                    "motherboard": Motherboard, "cooling": Cooler, "case": Case, "laptop": Laptop,
                                    "rule_source": RuleSource, "chipset": Chipset}
PART_SCHEMAS: dict[str, dict[str, Field]] = {section: schema_of(t) for section, t in PART_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts catalog: every list sorted by size (capacity, watts) or price."""

    ram: tuple[RamKit, ...]
    storage: tuple[Drive, ...]
    psu: tuple[Psu, ...]
    cpu: tuple[Cpu, ...]
    motherboard: tuple[Motherboard, ...]
    cooling: tuple[Cooler, ...]
    case: tuple[Case, ...]
    laptop: tuple[Laptop, ...]
    rule_source: tuple[RuleSource, ...]
    chipset: tuple[Chipset, ...] = ()

    def source_for(self, topic: str) -> str:
        return next((r.source for r in self.rule_source if r.topic == topic), "")


def parse_parts(raw: dict[str, Any], *, gpu_names: set[str] | None = None,
                platforms: set[str] | None = None) -> Parts:
    problems = Problems("builds catalog")
    got: dict[str, list[Any]] = {}
    for section, schema in PART_SCHEMAS.items():
        recs = raw.get(section, [])
        got[section] = []
        for i, rec in enumerate(recs):
            if check_record(rec, schema, f"{section}[{i}]", problems):
                got[section].append(from_record(PART_TYPES[section], rec))
    for section in raw:
        if section not in PART_SCHEMAS:
            problems.add(section, "unknown section")
    for i, rec in enumerate(got["laptop"]):
        if gpu_names is not None and rec.gpu not in gpu_names:
            problems.add(f"laptop[{i}].gpu", f"names no catalog GPU, got {rec.gpu!r}")
    for section in ("cpu", "motherboard", "chipset"):
        for i, rec in enumerate(got[section]):
            if platforms is not None and rec.platform not in platforms:
                problems.add(f"{section}[{i}].platform", f"names no cpu_platforms entry, got {rec.platform!r}")
    for section in ("ram", "storage", "psu", "cpu", "motherboard", "cooling", "case"):
        if not got[section]:
            problems.add(section, "at least one entry is needed")
    problems.raise_if_any()
    return Parts(ram=tuple(got["ram"]), storage=tuple(sorted(got["storage"], key=lambda r: r.capacity_tb)),
                 psu=tuple(sorted(got["psu"], key=lambda r: r.watts)), cpu=tuple(got["cpu"]),
                 motherboard=tuple(got["motherboard"]), cooling=tuple(got["cooling"]), case=tuple(got["case"]),
                 laptop=tuple(got["laptop"]), rule_source=tuple(got["rule_source"]),
                 chipset=tuple(got["chipset"]))


@functools.cache
def default_parts() -> Parts:
    from ..catalogdata import embedded
    from ..hardware.catalog import default_hardware

    raw = embedded("builds")
    hw = default_hardware()
    return parse_parts(raw, gpu_names={d.name for d in hw.devices if d.kind == "gpu"},
                       platforms={p.name for p in hw.cpu_platforms})


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One part chosen by a rule: what, how many, its price, and why."""

    role: str  # ram | storage | psu | cpu | motherboard | cooling | case
    name: str
    quantity: float  # GiB of RAM, TB of storage, watts, or 1
    usd: float
    price_date: str
    source: str
    rule: str


RAM_KIT_GIB = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
RAM_FLOOR_GIB = 32  # "Hardware Guide (Windows & macOS)": "Minimum 32GB, 64GB recommended"
OS_RAM_BYTES = 8 * GIB  # OS, browser, editor beside the engine


def ram_rule(parts: Parts, *, memory_type: str, accelerator_bytes: int, host_need_bytes: int,
             max_ram_gib: int) -> Choice:
    """System RAM: at least the accelerators' total memory (models are loaded through RAM, and
    checkpoints are saved through it: Dettmers' hardware guide, "RAM size"), at least what runs on the
    CPU plus the OS, never below 32 GB; rounded up to a kit size."""
    need = max(RAM_FLOOR_GIB * GIB, accelerator_bytes, host_need_bytes + OS_RAM_BYTES)
    gib = next((k for k in RAM_KIT_GIB if k * GIB >= need and k <= max_ram_gib), None)
    over = gib is None
    gib = gib or max_ram_gib
    kind = memory_type  # marketing "GB" on a DIMM kit is GiB
    row = next((r for r in parts.ram if r.kind == kind), parts.ram[0])
    why = (f"max(32 GB floor, accelerator memory {accelerator_bytes / GIB:.0f} GiB, CPU-side need "
           f"{(host_need_bytes + OS_RAM_BYTES) / GIB:.0f} GiB incl. 8 GiB for the OS), rounded up to a kit")
    if over:
        why += f"; capped at the platform's {max_ram_gib} GiB"
    return Choice(role="ram", name=f"{gib} GB {kind}", quantity=gib, usd=round(gib * row.usd_per_gb),
                  price_date=row.price_date, source=row.source, rule=why)


def storage_need_bytes(model_file_bytes: list[int], *, checkpoint_bytes: int = 0, dataset_bytes: int = 0,
                       checkpoints_kept: int = 3) -> int:
    """Model files twice (the quant you run and one more, or the 16-bit original to re-quantize), the
    training checkpoints kept, the dataset, plus 200 GB for the OS and tools."""
    return 2 * sum(model_file_bytes) + checkpoint_bytes * checkpoints_kept + dataset_bytes + 200 * GB


def storage_rule(parts: Parts, need_bytes: int, *, training: bool) -> Choice:
    row = next((r for r in parts.storage if r.capacity_tb * TB >= need_bytes), parts.storage[-1])
    n = max(1, math.ceil(need_bytes / (row.capacity_tb * TB)))
    why = f"needs {need_bytes / TB:.2f} TB (model files x2, checkpoints, datasets, 200 GB OS)"
    if training:
        why += f"; training writes checkpoints: rated {row.tbw} TBW (prefer >= 1200 TBW if you train often)"
    name = f"{row.capacity_tb:g} TB {row.interface} ({row.tbw} TBW)"
    return Choice(role="storage", name=f"{n} x {name}" if n > 1 else name, quantity=n * row.capacity_tb,
                  usd=n * row.usd, price_date=row.price_date, source=row.source, rule=why)


PSU_HEADROOM = 1.4
BASE_SYSTEM_W = 75  # board, RAM, drives, fans
CIRCUIT_CONTINUOUS_W = 1440  # US 15 A / 120 V branch circuit at the 80 % continuous-load limit (NEC 210.19/210.20)


def psu_rule(parts: Parts, gpu_tdp_w: list[int], cpu_tdp_w: int) -> tuple[Choice, list[str]]:
    """PSU >= 1.4 x (GPU board power + CPU + 75 W): ATX 3.x PSUs must ride through GPU excursions of up to
    2x rated power for 100 us, and the margin keeps the load in the efficient middle.  Gives NVIDIA's own
    system figures within one size (RTX 3090 750 W, 4080 750 W, 4090 850-1000 W)."""
    load = sum(gpu_tdp_w) + cpu_tdp_w + BASE_SYSTEM_W
    need = load * PSU_HEADROOM
    notes: list[str] = []
    biggest = parts.psu[-1]
    row = next((r for r in parts.psu if r.watts >= need), None)
    if row is None:
        n = math.ceil(need / biggest.watts)
        choice = Choice(role="psu", name=f"{n} x {biggest.watts} W", quantity=n * biggest.watts,
                        usd=n * biggest.usd, price_date=biggest.price_date, source=biggest.source,
                        rule=f"{load} W load x {PSU_HEADROOM} = {need:.0f} W: more than one PSU (add-in-card sync)")
        notes.append(f"{n} PSUs: power-limit the GPUs (nvidia-smi -pl) or use two circuits")
    else:
        choice = Choice(role="psu", name=f"{row.watts} W ATX 3.x", quantity=row.watts, usd=row.usd,
                        price_date=row.price_date, source=row.source,
                        rule=f"{load} W load x {PSU_HEADROOM} transient/efficiency headroom = {need:.0f} W")
    if load > CIRCUIT_CONTINUOUS_W:
        notes.append(f"{load} W continuous is above a US 15 A / 120 V circuit's 1440 W: use a 20 A or 230 V circuit")
    return choice, notes


AIO_CPU_TDP_W = 170  # above this a tower air cooler runs hot under all-core load (Threadripper, Xeon W)
HOT_GPU_W = 450  # two cards making more heat than this want a full tower's airflow and slot spacing


def cooling_rule(parts: Parts, gpus: list[Device], *, cpu_tdp_w: int = 105) -> tuple[Choice, Choice | None,
                                                                                       list[str]]:
    """CPU cooler and case from the heat inside the case.  The CPU cooler follows the CPU: a tower air cooler
    up to ~170 W, a 360 mm AIO above (it also moves that heat out of the case top).  The case follows the
    cards: one card, or two cool ones (up to 450 W together, e.g. two RTX 3060s), fit a mid tower with 2
    intake / 1-2 exhaust fans ("Hardware Guide (Windows & macOS)"); two hot cards want a full tower so the
    upper card can breathe (stacked open-air cards reach ~84 C, michaelriedl.com 2021); three or more: an
    open frame with risers.  Passive data-center cards need a ducted fan or a server chassis."""
    notes: list[str] = []
    watts = sum(d.tdp_w or 0 for d in gpus)
    if len(gpus) >= 3:
        tier, size = "open-frame", None
        notes.append(f"{len(gpus)} GPUs: open frame with PCIe risers, or blower-style cards in a server chassis")
    else:
        tier = "aio-360" if cpu_tdp_w > AIO_CPU_TDP_W else "air"
        size = "full-tower" if len(gpus) == 2 and watts > HOT_GPU_W else "mid-tower"
        if len(gpus) == 2:
            notes.append("two cards: leave a slot between them or use a blower-style card on top"
                         + ("" if size == "full-tower" else f" ({watts} W of GPU heat: a mid tower with good "
                                                             "intake is enough)"))
    if any(d.form == "datacenter" for d in gpus):
        notes.append("passive data-center card: needs a ducted blower fan or server airflow")
    cooler = next((r for r in parts.cooling if r.tier == tier), parts.cooling[0])
    cool = Choice(role="cooling", name=f"{tier} ({cooler.example})".replace(" ()", ""), quantity=1,
                  usd=cooler.usd, price_date=cooler.price_date, source=cooler.source,
                  rule=(f"{len(gpus)} GPUs on an open frame" if tier == "open-frame" else
                        f"CPU {cpu_tdp_w} W" + (f" > {AIO_CPU_TDP_W} W" if tier == "aio-360" else
                                                f" <= {AIO_CPU_TDP_W} W")))
    case = None
    if size is not None:
        crow = next((r for r in parts.case if r.size == size), parts.case[0])
        case = Choice(role="case", name=f"{size} case", quantity=1, usd=crow.usd, price_date=crow.price_date,
                      source=crow.source, rule=f"{len(gpus)} GPU(s), {watts} W of GPU heat; airflow: 2+ intake, "
                      "1-2 exhaust fans")
    return cool, case, notes


def slot_notes(board: str, slot_lanes: tuple[int, ...], n_gpus: int) -> list[str]:
    """What the slots of ``board`` (its name, and the electrical lanes of its GPU slots in order) give each of
    ``n_gpus`` cards: its own wiring, not a rule of thumb."""
    lanes = slot_lanes[:n_gpus]
    if len(lanes) < n_gpus:
        return [f"{board}: slot wiring not on file"]
    split = "/".join(f"x{n}" for n in lanes)
    if min(lanes) >= 8:
        return [f"{n_gpus} GPUs on {board} run at {split} PCIe"]
    return [f"{n_gpus} GPUs on {board} run at {split} PCIe (the last slot from the chipset): fine for a "
            "llama.cpp layer split, where token generation barely depends on the link; prompt processing and "
            "loading are slower on the x4 card; an x8/x8 board (X670E/X870E) avoids it"]


def platform_for(n_gpus: int, cpu_platforms: tuple[CpuPlatform, ...], parts: Parts,
                 ram_gib_needed: int) -> CpuPlatform | None:
    """The cheapest CPU platform (CPU + board priced in the parts catalog) with slots for ``n_gpus`` cards
    and room for the RAM.  Consumer desktop CPUs have 20-24 usable lanes: one x16 or two x8 slots."""
    best: tuple[float, CpuPlatform] | None = None
    for p in cpu_platforms:
        cpu = next((c for c in parts.cpu if c.platform == p.name), None)
        board = next((b for b in parts.motherboard if b.platform == p.name and b.gpu_slots >= n_gpus), None)
        if cpu is None or board is None or p.max_ram_gib < ram_gib_needed:
            continue
        if p.gpu_slots_max < n_gpus:
            continue
        cost = cpu.usd + board.usd
        if best is None or cost < best[0]:
            best = (cost, p)
    return best[1] if best else None
