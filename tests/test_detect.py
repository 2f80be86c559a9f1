"""Detection parsers on captured tool outputs; probes fall back honestly."""

from __future__ import annotations

import json

import pytest

from rigfit.cli import main
from rigfit.hardware.detect import (
    parse_cpuinfo,
    parse_meminfo,
    parse_nvidia_smi_csv,
    parse_rocm_smi_json,
    parse_sysctl,
    parse_system_profiler,
)
from rigfit.units import GIB, KIB, MIB

NVIDIA_SMI = """NVIDIA GeForce RTX 4090, 24564, 23918
NVIDIA GeForce RTX 3090, 24576, 1200
"""
MEMINFO = """MemTotal:       65759276 kB
MemFree:        12000000 kB
MemAvailable:   60000000 kB
"""
CPUINFO = """processor\t: 0
model name\t: AMD Ryzen 9 7950X 16-Core Processor
flags\t\t: fpu sse avx avx2 fma avx512f avx512_bf16
processor\t: 1
model name\t: AMD Ryzen 9 7950X 16-Core Processor
flags\t\t: fpu sse avx avx2 fma avx512f avx512_bf16
"""
SYSCTL = """hw.memsize: 137438953472
machdep.cpu.brand_string: Apple M4 Max
iogpu.wired_limit_mb: 0
"""
SYSTEM_PROFILER = json.dumps({
    "SPHardwareDataType": [{"chip_type": "Apple M4 Max", "physical_memory": "128 GB"}],
    "SPDisplaysDataType": [{"sppci_model": "Apple M4 Max", "sppci_cores": "40"}],
})
ROCM_SMI = json.dumps({"card0": {"Card Series": "Radeon RX 7900 XTX", "VRAM Total Memory (B)": "25753026560",
                                 "VRAM Total Used Memory (B)": "1025753026"}})


def test_nvidia_smi() -> None:
    rows = parse_nvidia_smi_csv(NVIDIA_SMI)
    assert rows[0] == ("NVIDIA GeForce RTX 4090", 24564 * MIB, 23918 * MIB)
    assert len(rows) == 2


@pytest.mark.parametrize("garbage", ["", "NVIDIA-SMI has failed", "a, b, c\n,,,"])
def test_nvidia_smi_garbage_gives_nothing(garbage: str) -> None:
    assert parse_nvidia_smi_csv(garbage) == []


def test_meminfo_and_cpuinfo() -> None:
    assert parse_meminfo(MEMINFO) == (65759276 * KIB, 60000000 * KIB)
    model, cores, flags = parse_cpuinfo(CPUINFO)
    assert model.startswith("AMD Ryzen 9 7950X") and cores == 2 and "avx512f" in flags


def test_apple() -> None:
    assert parse_sysctl(SYSCTL)["hw.memsize"] == str(128 * GIB)
    assert parse_system_profiler(SYSTEM_PROFILER) == ("Apple M4 Max", 128 * GIB, 40)


def test_rocm_smi() -> None:
    assert parse_rocm_smi_json(ROCM_SMI) == [("Radeon RX 7900 XTX", 25753026560, 25753026560 - 1025753026)]


def test_detect_runs_here(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hardware", "detect", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ram_total_bytes"] > 0 and isinstance(doc["devices"], list)


def test_amd_sysfs() -> None:
    from rigfit.hardware.detect import parse_amd_sysfs

    cards = {
        "card0": {"vendor": "0x1002\n", "mem_info_vram_total": "25753026560\n", "mem_info_vram_used": "753026560\n",
                  "product_name": "Radeon RX 7900 XTX\n"},
        "card1": {"vendor": "0x10de\n", "mem_info_vram_total": "1\n"},  # not AMD
        "card2": {"vendor": "0x1002\n", "mem_info_vram_total": "garbage"},  # unreadable
    }
    assert parse_amd_sysfs(cards) == [("Radeon RX 7900 XTX", 25753026560, 25000000000)]


def test_cpu_platform_bandwidth() -> None:
    from rigfit.hardware.resolve import resolve_device

    am5 = resolve_device("am5")
    assert am5.kind == "cpu" and am5.bandwidth_gb_s == pytest.approx(2 * 5600 * 8 / 1000)  # 2 ch DDR5-5600


# amd-smi 24.x (ROCm 6.1+) prints sizes as value/unit objects; 6.0 printed "16368 MB" strings.
AMD_SMI = json.dumps([
    {"gpu": 0, "asic": {"market_name": "AMD Radeon RX 7900 XTX", "vendor_id": "0x1002", "device_id": "0x744c"},
     "vram": {"type": "GDDR6", "vendor": "SAMSUNG", "size": {"value": 24560, "unit": "MB"}, "bit_width": 384}},
    {"gpu": 1, "asic": {"market_name": "AMD Instinct MI100"}, "vram": {"type": "HBM2", "size": "32752 MB"}},
    {"gpu": 2, "asic": {"market_name": "broken"}, "vram": {"size": "N/A"}},
])


@pytest.mark.parametrize(("text", "expected"), [
    (AMD_SMI, [("AMD Radeon RX 7900 XTX", 24560 * 1024 * 1024, None), ("AMD Instinct MI100", 32752 * 1024 * 1024,
                                                                        None)]),
    (json.dumps({"gpu_data": json.loads(AMD_SMI)[:1]}), [("AMD Radeon RX 7900 XTX", 24560 * 1024 * 1024, None)]),
    ("[]", []),
    ('{"error": "no devices"}', []),
    ('[1, "x", {"asic": 3}]', []),
])
def test_amd_smi(text: str, expected: list[tuple[str, int, int | None]]) -> None:
    from rigfit.hardware.detect import parse_amd_smi_json

    assert parse_amd_smi_json(text) == expected


def test_amd_smi_maps_to_catalog() -> None:
    from rigfit.hardware.detect import match_catalog, parse_amd_smi_json

    names = [match_catalog(n, t)[0] for n, t, _ in parse_amd_smi_json(AMD_SMI)]
    assert [d.name if d else None for d in names] == ["AMD Radeon RX 7900 XTX", "AMD Instinct MI100"]


def test_intel_sysfs() -> None:
    from rigfit.hardware.detect import match_catalog, parse_intel_sysfs

    cards = {
        # xe driver (Battlemage): per-tile physical VRAM
        "card0": {"vendor": "0x8086\n", "device": "0xe20b\n", "tile0/physical_vram_size_bytes": "12884901888\n"},
        # i915 (Alchemist): lmem_total_bytes
        "card1": {"vendor": "0x8086\n", "device": "0x56a0\n", "lmem_total_bytes": "17179869184\n"},
        # integrated GPU: no local memory, skipped
        "card2": {"vendor": "0x8086\n", "device": "0x7d55\n"},
        # unknown discrete id: reported by id
        "card3": {"vendor": "0x8086\n", "device": "0xffff\n", "tile0/physical_vram_size_bytes": "1073741824"},
        "card4": {"vendor": "0x1002\n", "lmem_total_bytes": "5"},
    }
    found = parse_intel_sysfs(cards)
    assert found == [("Intel Arc B580", 12 * GIB, None), ("Intel Arc A770", 16 * GIB, None),
                     ("Intel GPU 0xffff", GIB, None)]
    mapped = [match_catalog(n, t) for n, t, _ in found]
    assert mapped[0][0] is not None and mapped[0][0].name == "Intel Arc B580"
    assert mapped[1][0] is not None and mapped[1][0].name == "Intel Arc A770 16GB"
    assert mapped[2][0] is None and "bandwidth unknown" in mapped[2][1]
