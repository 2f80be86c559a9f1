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
