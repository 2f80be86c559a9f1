"""Hardware catalogs (``data/gpus.toml``, ``data/apple.toml``, ``data/platforms.toml``): loaded once,
validated (every problem reported, each naming its key), and turned into Devices.

Apple chips become one Device per sold memory size ("Apple M4 Max (40-core GPU) 128GB"), because the
memory is the first thing that decides what a Mac can run.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, replace
from typing import Any

from .._validate import Field, Problems, check_record, from_record, schema_of, spec
from ..errors import CatalogError
from ..safeio import clean_text, read_regular_file
from ..units import GIB
from ..vocab import Backend, CpuIsa, DeviceKind, Form, Vendor
from .spec import Device

_COMMON = {
    "name": Field("str", True), "aliases": Field("str_list"), "source": Field("str", True),
    "as_of": Field("date", True), "notes": Field("str"), "released": Field("date"),
}
GPU_SCHEMA: dict[str, Field] = {
    **_COMMON, "vendor": Field("str", True, ("nvidia", "amd", "intel")),
    "form": Field("str", True, ("desktop", "laptop", "workstation", "datacenter")), "arch": Field("str"),
    "chip": Field("str"), "units": Field("pos_int"), "boost_mhz": Field("pos_int"),
    "memory_gib": Field("pos_num", True), "memory_type": Field("str"), "bandwidth_gb_s": Field("pos_num", True),
    "fp16_tflops": Field("pos_num", True), "int8_tops": Field("pos_num"), "fp8_tflops": Field("pos_num"),
    "fp32_tflops": Field("pos_num"), "tdp_w": Field("pos_int", True), "pcie_gen": Field("pos_int"),
    "pcie_lanes": Field("pos_int"), "nvlink": Field("bool"),
    "backends": Field("str_list", False, tuple(b.value for b in Backend if b != Backend.CPU)),
    "msrp_usd": Field("pos_num"), "msrp_date": Field("date"),
    "used_usd": Field("pos_num"), "used_date": Field("date"), "used_source": Field("str"), "used_notes": Field("str"),
    "street_usd": Field("pos_num"), "street_date": Field("date"), "street_source": Field("str"),
    "street_notes": Field("str"),
}
# A user's own devices (--hardware my-rig.toml): the GPU fields, fewer of them required.
CUSTOM_SCHEMA: dict[str, Field] = {
    **GPU_SCHEMA, "vendor": Field("str", True, tuple(Vendor)), "form": Field("str", False, tuple(Form)),
    "bandwidth_gb_s": Field("pos_num"),
    "fp16_tflops": Field("pos_num"), "tdp_w": Field("pos_int"), "source": Field("str"), "as_of": Field("date"),
    "count": Field("pos_int"), "unified": Field("bool"),
}
APPLE_CHIP_SCHEMA: dict[str, Field] = {
    **_COMMON, "chip": Field("str", True), "cpu_cores": Field("pos_int", True), "gpu_cores": Field("pos_int", True),
    "memory_options_gib": Field("int_list", True), "bandwidth_gb_s": Field("pos_num"),
    "fp32_tflops": Field("pos_num"), "fp16_tflops": Field("pos_num"), "tdp_w": Field("pos_num"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AppleProduct:
    """A Mac as sold: a chip configuration at a memory size, its price and storage."""

    name: str = spec("str", True)
    product: str = spec("str", True)
    form: str = spec("str", True, ("laptop", "mini", "desktop", "workstation"))
    chip: str = spec("str", True)
    memory_gib: int = spec("pos_int", True)
    storage_gb: int = spec("pos_int", default=0)
    price_usd: float = spec("pos_num", True)
    price_date: str = spec("date", True)
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuPlatform:
    """A desktop / laptop / HEDT / workstation / server CPU platform: memory channels and speed, capacity, PCIe lanes,
    GPU slots."""

    name: str = spec("str", True)
    aliases: tuple[str, ...] = spec("str_list")
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")
    released: str = spec("date", default="")
    kind: str = spec("str", True, ("desktop", "laptop", "hedt", "workstation", "server"))
    example_cpus: tuple[str, ...] = spec("str_list")
    memory_type: str = spec("str", True)
    channels: int = spec("pos_int", True)
    max_mt_s: int = spec("pos_int", True)
    max_ram_gib: int = spec("pos_int", True)
    pcie_gen: int | None = spec("pos_int")
    cpu_pcie_lanes: int | None = spec("pos_int")
    x16_slots_typical: int | None = spec("int")
    gpu_slots_max: int = spec("int", default=1)
    price_cpu_usd: float | None = spec("pos_num")
    price_date: str = spec("date", default="")
    # the platform's CPUs' widest integer SIMD (vocab.CpuIsa) and the cores of its first example CPU: what a
    # CPU on it is planned with when its own model entry does not say
    isa: str = spec("str", default="", choices=tuple(CpuIsa))
    cores: int | None = spec("pos_int")


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuModel:
    """Desktop CPU model names (a regular expression over the lower-case name) on one platform, with the
    vendor's rated power."""

    pattern: str = spec("str", True)
    platform: str = spec("str", True)
    tdp_w: int = spec("pos_int", True)
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")
    isa: str = spec("str", default="", choices=tuple(CpuIsa))  # where it differs from the platform's


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuCores:
    """How many cores the CPUs whose names match a pattern have: the cores llama.cpp's default thread count uses
    (physical cores; on Intel's hybrid parts the P-cores, common/common.cpp cpu_get_num_math)."""

    pattern: str = spec("str", True)
    cores: int = spec("pos_int", True)
    source: str = spec("str", True)
    as_of: str = spec("date", True)
    notes: str = spec("str", default="")


def cpu_model_key(text: str) -> str:
    """A CPU name as the patterns read it: lower case, vendor words dropped, single spaces."""
    return " ".join(text.lower().replace("amd", " ").replace("intel", " ").replace("(r)", " ").split())


APPLE_PRODUCT_SCHEMA: dict[str, Field] = schema_of(AppleProduct)
CPU_MODEL_SCHEMA: dict[str, Field] = schema_of(CpuModel)
CPU_CORES_SCHEMA: dict[str, Field] = schema_of(CpuCores)
CPU_SCHEMA: dict[str, Field] = schema_of(CpuPlatform)
SOC_SCHEMA: dict[str, Field] = {
    **_COMMON, "vendor": Field("str", True, tuple(Vendor)), "memory_gib": Field("pos_num", True),
    "bandwidth_gb_s": Field("pos_num", True), "fp16_tflops": Field("pos_num"), "int8_tops": Field("pos_num"),
    "fp8_tflops": Field("pos_num"), "fp32_tflops": Field("pos_num"), "tdp_w": Field("pos_num"),
    "gpu_memory_max_gib": Field("pos_num"),
    "price_usd": Field("pos_num"), "price_date": Field("date"),
    "form": Field("str", True, tuple(Form)), "memory_options_gib": Field("int_list"),
    "street_usd": Field("pos_num"), "street_date": Field("date"), "street_source": Field("str"),
    "street_notes": Field("str"), "cpu_cores": Field("pos_int"), "cpu_isa": Field("str", False, tuple(CpuIsa)),
    "chip": Field("str"),
}


DEVICE_KINDS = tuple(DeviceKind)


@dataclass(frozen=True, slots=True)
class HardwareCatalog:
    devices: tuple[Device, ...]
    apple_products: tuple[AppleProduct, ...]
    cpu_platforms: tuple[CpuPlatform, ...]
    memory_kinds: tuple[dict[str, Any], ...]
    cpu_models: tuple[CpuModel, ...] = ()
    cpu_cores: tuple[CpuCores, ...] = ()

    def cpu_model(self, text: str) -> CpuModel | None:
        """The CPU model entry whose pattern ``text`` matches ("Ryzen 7 5800X" -> AMD AM4 desktop)."""
        key = cpu_model_key(text)
        return next((m for m in self.cpu_models if re.search(m.pattern, key)), None)

    def cpu_core_count(self, text: str) -> int | None:
        """The cores of the CPU named ``text`` (the first cpu_cores pattern it matches), or None."""
        key = cpu_model_key(text)
        return next((c.cores for c in self.cpu_cores if re.search(c.pattern, key)), None)

    def select(self, kind: str | None = None, min_memory_bytes: int = 0) -> tuple[Device, ...]:
        """Devices of one kind (gpu | apple | soc | cpu; None: all) with at least this much memory."""
        if kind is not None and kind not in DEVICE_KINDS:
            from ..errors import UnknownName

            raise UnknownName("device kind", kind, DEVICE_KINDS)
        return tuple(d for d in self.devices
                     if (kind is None or d.kind == kind) and d.memory_bytes >= min_memory_bytes)


def _num(v: Any) -> float | None:
    return float(v) if v is not None else None


def _gpu(rec: dict[str, Any]) -> Device:
    return Device(
        name=rec["name"], kind=DeviceKind.GPU, vendor=Vendor(rec["vendor"]), form=Form(rec.get("form", "desktop")),
        memory_bytes=round(rec["memory_gib"] * GIB), bandwidth_gb_s=_num(rec.get("bandwidth_gb_s")),
        fp16_tflops=_num(rec.get("fp16_tflops")), int8_tops=_num(rec.get("int8_tops")),
        fp8_tflops=_num(rec.get("fp8_tflops")), fp32_tflops=_num(rec.get("fp32_tflops")), tdp_w=rec.get("tdp_w"),
        unified=rec.get("unified", False),
        pcie_gen=rec.get("pcie_gen"), pcie_lanes=rec.get("pcie_lanes"), nvlink=rec.get("nvlink", False),
        backends=tuple(rec.get("backends", ())),
        arch=rec.get("arch", ""), chip=rec.get("chip", ""), units=rec.get("units"), boost_mhz=rec.get("boost_mhz"),
        memory_type=rec.get("memory_type", ""), released=rec.get("released", ""),
        msrp_usd=_num(rec.get("msrp_usd")), msrp_date=rec.get("msrp_date", ""), used_usd=_num(rec.get("used_usd")),
        used_date=rec.get("used_date", ""), used_source=rec.get("used_source", ""),
        street_usd=_num(rec.get("street_usd")), street_date=rec.get("street_date", ""),
        street_source=rec.get("street_source", ""),
        aliases=tuple(a.lower() for a in rec.get("aliases", ())),
        source=rec.get("source", "user file"), as_of=rec.get("as_of", ""), notes=rec.get("notes", ""),
    )


MAX_HARDWARE_FILE_BYTES = 1 << 20
MAX_CUSTOM_DEVICES = 64
MAX_DEVICE_MEMORY_GIB = 16 * 1024  # 16 TiB: beyond any accelerator or unified-memory system


def load_custom_hardware(path: str) -> list[tuple[Device, int]]:
    """Devices a user describes in a TOML file of ``[[gpus]]`` tables (validated; errors name the key)."""
    from pathlib import Path

    p = Path(path)
    raw = read_regular_file(p, MAX_HARDWARE_FILE_BYTES, "hardware file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{p}: not valid TOML: {clean_text(str(exc))}") from None
    except RecursionError:
        raise CatalogError(f"{p}: not valid TOML (nested too deep)") from None
    problems = Problems(str(p))
    recs = data.get("gpus")
    if not isinstance(recs, list) or not recs:
        raise CatalogError(f"{p}: gpus: expected at least one [[gpus]] table")
    out = []
    if len(recs) > MAX_CUSTOM_DEVICES:
        raise CatalogError(f"{p}: gpus: {len(recs)} tables, at most {MAX_CUSTOM_DEVICES}")
    for i, rec in enumerate(recs):
        if check_record(rec, CUSTOM_SCHEMA, f"gpus[{i}]", problems):
            count = rec.get("count", 1)
            if not 1 <= count <= MAX_CUSTOM_DEVICES:
                problems.add(f"gpus[{i}].count", f"expected 1..{MAX_CUSTOM_DEVICES} devices, got {count}")
                continue
            tiny = [k for k in ("bandwidth_gb_s", "fp16_tflops", "int8_tops", "fp8_tflops", "fp32_tflops")
                    if k in rec and rec[k] < 1e-3]
            if tiny:
                problems.add(f"gpus[{i}].{tiny[0]}", f"expected at least 0.001, got {rec[tiny[0]]}")
                continue
            if not 1 / 1024 <= rec["memory_gib"] <= MAX_DEVICE_MEMORY_GIB:
                problems.add(f"gpus[{i}].memory_gib", f"expected 1 MiB to {MAX_DEVICE_MEMORY_GIB:,} GiB, got "
                             f"{rec['memory_gib']}")
                continue
            out.append((_gpu({**rec, "name": clean_text(rec["name"], 120)}), count))
    problems.raise_if_any()
    return out


def _apple(rec: dict[str, Any]) -> list[Device]:
    out = []
    for mem in rec["memory_options_gib"]:
        out.append(Device(
            name=f"{rec['name']} {mem}GB", kind=DeviceKind.APPLE, vendor=Vendor.APPLE, form=Form.SOC,
            memory_bytes=mem * GIB,
            bandwidth_gb_s=_num(rec.get("bandwidth_gb_s")), fp16_tflops=_num(rec.get("fp16_tflops")),
            fp32_tflops=_num(rec.get("fp32_tflops")), tdp_w=round(rec["tdp_w"]) if rec.get("tdp_w") else None,
            unified=True, arch=rec["chip"], released=rec.get("released", ""),
            aliases=tuple(f"{a.lower()} {mem}gb" for a in (rec["name"], *rec.get("aliases", ()))),
            source=rec["source"], as_of=rec["as_of"], notes=rec.get("notes", ""),
        ))
    return out


def _soc(rec: dict[str, Any]) -> list[Device]:
    """One Device per memory size sold (``memory_options_gib``; ``memory_gib`` is the size a bare chip name
    plans on), else one Device.  The GPU's share scales with the size (a fixed fraction, as the drivers set it)."""
    gmax = rec.get("gpu_memory_max_gib")
    sizes = rec.get("memory_options_gib") or [rec["memory_gib"]]
    several = len(sizes) > 1
    out = []
    for mem in sizes:
        share = gmax * mem / rec["memory_gib"] if gmax else None
        out.append(Device(
            name=f"{rec['name']} {mem}GB" if several else rec["name"], kind=DeviceKind.SOC,
            vendor=Vendor(rec["vendor"]), form=Form(rec["form"]), memory_bytes=round(mem * GIB),
            bandwidth_gb_s=float(rec["bandwidth_gb_s"]), fp16_tflops=_num(rec.get("fp16_tflops")),
            int8_tops=_num(rec.get("int8_tops")), fp8_tflops=_num(rec.get("fp8_tflops")),
            fp32_tflops=_num(rec.get("fp32_tflops")),
            tdp_w=round(rec["tdp_w"]) if rec.get("tdp_w") else None, unified=True, released=rec.get("released", ""),
            msrp_usd=_num(rec.get("price_usd")) if not several else None,
            msrp_date=rec.get("price_date", "") if not several else "",
            street_usd=_num(rec.get("street_usd")), street_date=rec.get("street_date", ""),
            street_source=rec.get("street_source", ""),
            gpu_memory_max_bytes=round(share * GIB) if share else None, arch=rec["name"] if several else "",
            chip=rec.get("chip", ""),
            base_config=several and mem == rec["memory_gib"],
            aliases=tuple(f"{a.lower()} {mem}gb" if several else a.lower() for a in rec.get("aliases", ())),
            source=rec["source"], as_of=rec["as_of"], notes=rec.get("notes", ""),
            # the CPU's cores llama.cpp threads over and their SIMD width, where given: the CPU backend's prompt
            # rate (speedwork._cpu_rate); without them a SoC's CPU is priced as the cpu class's reference CPU
            units=rec.get("cpu_cores"), isa=rec.get("cpu_isa", ""),
        ))
    return out


def _pattern_ok(pattern: str, where: str, problems: Problems) -> bool:
    """Whether a CPU-name pattern compiles; a problem recorded where it does not."""
    try:
        re.compile(pattern)
    except re.error as exc:
        problems.add(where, f"not a regular expression ({exc})")
        return False
    return True


def _cpu(p: CpuPlatform) -> Device:
    # Peak DRAM bandwidth = channels x MT/s x 8 bytes per 64-bit channel (JEDEC DDR4/DDR5 channel width).
    # A CPU device's units are its cores (speedwork.cpu_prompt_tflops prices them with its SIMD width).
    return Device(
        name=p.name, kind=DeviceKind.CPU, vendor=Vendor.of(p.name), form=Form(p.kind),
        memory_bytes=p.max_ram_gib * GIB, bandwidth_gb_s=p.channels * p.max_mt_s * 8 / 1000,
        pcie_gen=p.pcie_gen, pcie_lanes=p.cpu_pcie_lanes, unified=True, units=p.cores, isa=p.isa,
        memory_type=p.memory_type, msrp_usd=_num(p.price_cpu_usd), msrp_date=p.price_date,
        aliases=tuple(a.lower() for a in p.aliases), source=p.source, as_of=p.as_of, notes=p.notes,
    )


def _with_product_names(devices: list[Device], products: list[AppleProduct]) -> list[Device]:
    """Each Mac's product names as aliases of its chip configuration, so "MacBook Pro 14 M4 Max 36GB" and
    "Mac Studio (M3 Ultra, 28-core CPU, 96GB)" resolve.  Where one product name fits two GPU bins at a size,
    the lower bin keeps it (the base configuration, as for a bare chip name)."""
    by_name = {d.name: d for d in devices}
    extra: dict[str, str] = {}  # alias -> device name
    for p in products:
        device = by_name.get(f"{p.chip} {p.memory_gib}GB")
        if device is None:
            continue
        chip = re.sub(r"\s*\(.*?\)", "", p.chip).removeprefix("Apple ").strip()  # "M4 Max"
        for alias in (p.name.lower(), f"{p.product} {chip} {p.memory_gib}gb".lower()):
            other = by_name.get(extra.get(alias, ""))
            if other is None or (device.bandwidth_gb_s or 0.0, device.fp32_tflops or 0.0) < \
                    (other.bandwidth_gb_s or 0.0, other.fp32_tflops or 0.0):
                extra[alias] = device.name
    taken = {a for d in devices for a in (d.name.lower(), *d.aliases)}
    added: dict[str, list[str]] = {}
    for alias, name in extra.items():
        if alias not in taken:
            added.setdefault(name, []).append(alias)
    return [replace(d, aliases=(*d.aliases, *added[d.name])) if d.name in added else d for d in devices]


def _load(name: str) -> dict[str, Any]:
    from ..catalogdata import embedded

    return embedded(name.removesuffix(".toml"))


def parse_hardware(gpus: dict[str, Any], apple: dict[str, Any], platforms: dict[str, Any]) -> HardwareCatalog:
    problems = Problems("hardware catalog")
    devices: list[Device] = []
    for i, rec in enumerate(gpus.get("gpus", [])):
        if check_record(rec, GPU_SCHEMA, f"gpus[{i}]", problems):
            if "used_usd" in rec and not (rec.get("used_date") and rec.get("used_source")):
                problems.add(f"gpus[{i}].used_usd", "a used price needs used_date and used_source")
                continue
            if "street_usd" in rec and not (rec.get("street_date") and rec.get("street_source")):
                problems.add(f"gpus[{i}].street_usd", "a street price needs street_date and street_source")
                continue
            devices.append(_gpu(rec))
    chip_names: dict[str, list[int]] = {}
    for i, rec in enumerate(apple.get("apple_chips", [])):
        if check_record(rec, APPLE_CHIP_SCHEMA, f"apple_chips[{i}]", problems):
            devices.extend(_apple(rec))
            chip_names[rec["name"]] = rec["memory_options_gib"]
    products = []
    product_names: set[str] = set()
    for i, rec in enumerate(apple.get("apple_products", [])):
        if check_record(rec, APPLE_PRODUCT_SCHEMA, f"apple_products[{i}]", problems):
            if rec["name"] in product_names:
                problems.add(f"apple_products[{i}].name", f"duplicate product {rec['name']!r}")
            product_names.add(rec["name"])
            if rec["chip"] not in chip_names:
                problems.add(f"apple_products[{i}].chip", f"names no apple_chips entry, got {rec['chip']!r}")
            elif rec["memory_gib"] not in chip_names[rec["chip"]]:
                problems.add(f"apple_products[{i}].memory_gib",
                             f"not a memory option of {rec['chip']}, got {rec['memory_gib']}")
            products.append(from_record(AppleProduct, rec))
    for i, rec in enumerate(platforms.get("socs", [])):
        if check_record(rec, SOC_SCHEMA, f"socs[{i}]", problems):
            if rec.get("memory_options_gib") and rec["memory_gib"] not in rec["memory_options_gib"]:
                problems.add(f"socs[{i}].memory_gib",
                             "must be one of memory_options_gib (the size a bare name plans on)")
                continue
            devices.extend(_soc(rec))
    cpu_platforms: list[CpuPlatform] = []
    for i, rec in enumerate(platforms.get("cpu_platforms", [])):
        if check_record(rec, CPU_SCHEMA, f"cpu_platforms[{i}]", problems):
            cpu_platforms.append(from_record(CpuPlatform, rec))
            devices.append(_cpu(cpu_platforms[-1]))
    cpu_models: list[CpuModel] = []
    for i, rec in enumerate(platforms.get("cpu_models", [])):
        if check_record(rec, CPU_MODEL_SCHEMA, f"cpu_models[{i}]", problems):
            if rec["platform"] not in {p.name for p in cpu_platforms}:
                problems.add(f"cpu_models[{i}].platform", f"names no cpu_platforms entry, got {rec['platform']!r}")
            elif _pattern_ok(rec["pattern"], f"cpu_models[{i}].pattern", problems):
                cpu_models.append(from_record(CpuModel, rec))
    cpu_cores = [from_record(CpuCores, rec) for i, rec in enumerate(platforms.get("cpu_cores", []))
                 if check_record(rec, CPU_CORES_SCHEMA, f"cpu_cores[{i}]", problems)
                 and _pattern_ok(rec["pattern"], f"cpu_cores[{i}].pattern", problems)]
    for i, rec in enumerate(platforms.get("memory", [])):
        for key in ("name", "source", "as_of"):
            if not isinstance(rec, dict) or not rec.get(key):
                problems.add(f"memory[{i}].{key}", "missing")
    devices = _with_product_names(devices, products)
    seen: dict[str, str] = {}
    for d in devices:
        for key in (d.name.lower(), *d.aliases):
            if key in seen and seen[key] != d.name:
                problems.add(f"{d.name}.aliases", f"{key!r} already names {seen[key]}")
            seen[key] = d.name
    problems.raise_if_any()
    return HardwareCatalog(devices=tuple(devices), apple_products=tuple(products),
                           cpu_platforms=tuple(cpu_platforms),
                           memory_kinds=tuple(platforms.get("memory", [])), cpu_models=tuple(cpu_models),
                           cpu_cores=tuple(cpu_cores))


@functools.cache
def default_hardware() -> HardwareCatalog:
    return parse_hardware(_load("gpus.toml"), _load("apple.toml"), _load("platforms.toml"))
