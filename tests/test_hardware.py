"""Hardware names, usable-memory rules and catalog validation (synthetic rows; the real catalog is
checked in test_hardware_catalog.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigfit.errors import AmbiguousHardware, CatalogError, InvalidInput, UnknownName
from rigfit.hardware.catalog import parse_hardware
from rigfit.hardware.resolve import parse_hardware_spec, resolve_device
from rigfit.hardware.usable import macos_gpu_limit_bytes, usable_memory
from rigfit.units import GIB, MIB

SRC = {"source": "https://example.invalid/spec", "as_of": "2026-11-23"}
GPUS = {"gpus": [
    dict(name="NVIDIA GeForce RTX 4090", aliases=["rtx 4090"], vendor="nvidia", form="desktop", memory_gib=24,
         bandwidth_gb_s=1008, fp16_tflops=165.2, tdp_w=450, **SRC),
    dict(name="NVIDIA GeForce RTX 4090 Laptop GPU", aliases=["rtx 4090 laptop"], vendor="nvidia", form="laptop",
         memory_gib=16, bandwidth_gb_s=576, fp16_tflops=100.0, tdp_w=150, **SRC),
    dict(name="NVIDIA GeForce RTX 3090", aliases=["rtx 3090", "3090"], vendor="nvidia", form="desktop",
         memory_gib=24, bandwidth_gb_s=936, fp16_tflops=71.0, tdp_w=350, **SRC),
    dict(name="NVIDIA GeForce RTX 3080", vendor="nvidia", form="desktop", memory_gib=10, bandwidth_gb_s=760,
         fp16_tflops=59.5, tdp_w=320, **SRC),
    dict(name="NVIDIA GeForce RTX 3080 12GB", vendor="nvidia", form="desktop", memory_gib=12, bandwidth_gb_s=912,
         fp16_tflops=61.0, tdp_w=350, **SRC),
]}
APPLE = {"apple_chips": [dict(name="Apple M4 Max (40-core GPU)", aliases=["m4 max 40-core"], chip="M4 Max",
                              cpu_cores=16, gpu_cores=40, memory_options_gib=[48, 64, 128], bandwidth_gb_s=546,
                              **SRC)]}
CAT = parse_hardware(GPUS, APPLE, {})


@pytest.mark.parametrize(("text", "name"), [
    ("3090", "NVIDIA GeForce RTX 3090"), ("rtx3090", "NVIDIA GeForce RTX 3090"),
    ("RTX 3090 24GB", "NVIDIA GeForce RTX 3090"), ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"),
    ("rtx 4090", "NVIDIA GeForce RTX 4090"), ("4090 laptop", "NVIDIA GeForce RTX 4090 Laptop GPU"),
    ("M4 Max 40-core 128GB", "Apple M4 Max (40-core GPU) 128GB"),
    ("m4 max 40c 64gb", "Apple M4 Max (40-core GPU) 64GB"),
    ("RTX 3080 12GB", "NVIDIA GeForce RTX 3080 12GB")])
def test_forgiving_names(text: str, name: str) -> None:
    assert resolve_device(text, CAT.devices).name == name


# CPU names as operating systems print them, trademark marks and all (throughput_modern.csv spells them so)
@pytest.mark.parametrize(("text", "name"), [
    ("Intel(R) Core(TM) Ultra 7 155H", "Intel Core Ultra 7 155H (Meteor Lake) 32GB"),
    ("Intel R Core TM Ultra 7 155H", "Intel Core Ultra 7 155H (Meteor Lake) 32GB"),
    ("Core Ultra 9 185H 64GB", "Intel Core Ultra 7 155H (Meteor Lake) 64GB"),
    # llamafile's spelling (LocalScore): the clock, "N-Core Processor", the iGPU and the compiler's march name
    ("Intel Core Ultra 7 155H (alderlake)", "Intel Core Ultra 7 155H (Meteor Lake) 32GB"),
    ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "AMD Radeon 890M (Ryzen AI 9 HX 370, LPDDR5X-7500) 32GB"),
    ("AMD Ryzen 7 7840HS w/ Radeon 780M Graphics (znver4)", "AMD Radeon 780M (Ryzen 7 7840U / 8840U, DDR5-5600) 32GB"),
    ("Intel Xeon CPU E5-2697 v2 @ 2.70GHz (ivybridge)", "Intel Xeon E5 v2 (Ivy Bridge-EP, LGA2011)"),
    ("Intel Xeon CPU E5-2667 v4 @ 3.20GHz (broadwell)", "Intel Xeon E5 v4 (Broadwell-EP, LGA2011-3)"),
    ("Intel Xeon Platinum 8259CL CPU @ 2.50GHz (skylake-avx512)",
     "Intel Xeon Scalable 1st/2nd gen (Skylake-SP / Cascade Lake, LGA3647)"),
    ("Intel Core i5-8600 CPU @ 3.10GHz (skylake)", "Intel LGA1151 desktop (8th/9th gen Core)"),
    ("AMD Ryzen 5 4600G with Radeon Graphics (znver2)", "AMD AM4 desktop"),
    ("AMD Ryzen Threadripper PRO 3955WX 16-Cores (znver2)", "AMD Threadripper PRO 3000WX/5000WX (WRX80)"),
    ("11th Gen Intel Core i7-11700K @ 3.60GHz (rocketlake)", "Intel LGA1200 desktop (10th/11th gen Core)"),
])
def test_os_spelled_cpu_names(text: str, name: str) -> None:
    from rigfit.hardware.resolve import resolve_device_noted

    assert resolve_device_noted(text)[0].name == name


@pytest.mark.parametrize("text", ["Intel Core i5-6200U CPU @ 2.30GHz (skylake)", "Intel Core i7-6700HQ CPU @ 2.60GHz",
                                  "11th Gen Intel Core i5-11400H @ 2.70GHz (tigerlake)"])
def test_laptop_cpus_are_not_planned_as_desktop_platforms(text: str) -> None:
    """A laptop part's memory is the laptop's, not a desktop socket's: a laptop platform."""
    from rigfit.hardware.resolve import resolve_device_noted

    device, note = resolve_device_noted(text)
    assert device.form == "laptop" and device.name.startswith("Intel laptop Core ")
    assert note.startswith(f"{text!r} is planned as its platform, {device.name} (")


def test_a_device_named_with_cpu_words_resolves_by_its_own_name() -> None:
    """The OS-style words dropped from CPU names ("CPU", "@ 3.00GHz", "Processor") are dropped only when the name
    as typed matches nothing: a custom device may carry them in its own name."""
    from dataclasses import replace

    gpu = CAT.devices[0]
    custom = replace(gpu, name="Acme CPU Processor @ 2GHz", aliases=())
    assert resolve_device("Acme CPU Processor @ 2GHz", [custom, *CAT.devices]) is custom


def test_a_cpu_model_number_is_not_a_memory_size() -> None:
    """The G of a Ryzen APU's number is not gigabytes ("4600G" once read as 4,600 GB)."""
    from rigfit.hardware.resolve import resolve_device_noted

    assert resolve_device_noted("Ryzen 5 4600G")[0].name == "AMD AM4 desktop"
    assert resolve_device_noted("M4 Pro 48 g")[0].memory_bytes == 48 << 30


@pytest.mark.parametrize(("text", "listed"), [("4090", ["RTX 4090", "RTX 4090 Laptop"]),
                                              ("3080", ["RTX 3080", "RTX 3080 12GB"])])
def test_ambiguous_names_list_candidates(text: str, listed: list[str]) -> None:
    with pytest.raises(AmbiguousHardware) as exc:
        resolve_device(text, CAT.devices)
    assert all(x in str(exc.value) for x in listed)


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownName, match="unknown hardware 'RTX 3095'; did you mean"):
        resolve_device("RTX 3095", CAT.devices)


def test_count_prefix() -> None:
    d, n = parse_hardware_spec("2x RTX 3090", CAT.devices)
    assert (d.name, n) == ("NVIDIA GeForce RTX 3090", 2)
    with pytest.raises(InvalidInput, match="outside 1-64"):
        parse_hardware_spec("0x RTX 3090", CAT.devices)


def test_validation_names_bad_keys() -> None:
    bad = {"gpus": [dict(GPUS["gpus"][0], memory_gib=-24), dict(GPUS["gpus"][2], bandwith_gb_s=900)]}
    with pytest.raises(CatalogError) as exc:
        parse_hardware(bad, {}, {})
    assert "gpus[0].memory_gib: expected a positive number, got -24" in str(exc.value)
    assert "gpus[1].bandwith_gb_s: unknown key" in str(exc.value)


@pytest.mark.parametrize(("ram_gb", "limit_gib"), [(16, 16 * 2 / 3), (32, 32 * 2 / 3), (64, 48), (128, 96)])
def test_macos_default_gpu_limit(ram_gb: int, limit_gib: float) -> None:
    # 21,845 MB of 32 GB on an M1 Max (llama.cpp PR #2011); 75 % above 36 GB (gpustack#1375).
    got, _ = macos_gpu_limit_bytes(ram_gb * GIB)
    assert got / GIB == pytest.approx(limit_gib, abs=0.01)


def test_wired_limit_override() -> None:
    got, why = macos_gpu_limit_bytes(128 * GIB, wired_limit_mb=120_000)
    assert got == 120_000 * MIB and "iogpu.wired_limit_mb" in why


def test_usable_discrete_rules() -> None:
    d = resolve_device("rtx 3090", CAT.devices)
    assert usable_memory(d).usable_bytes == 24 * GIB
    assert usable_memory(d, display=True).usable_bytes == 24 * GIB - GIB // 2
    win = usable_memory(d, os_name="windows")
    assert win.usable_bytes < 24 * GIB and "WDDM" in win.rules[0]
    assert usable_memory(d, free_bytes=20 * GIB).usable_bytes == 20 * GIB


def _halo() -> object:
    return parse_hardware({}, {}, {"socs": [dict(name="AMD Ryzen AI Max+ 395 (128GB)", vendor="amd", memory_gib=128,
                                                 bandwidth_gb_s=256, gpu_memory_max_gib=96, form="mini", **SRC)]})


def test_strix_halo_gtt_rules() -> None:
    d = _halo().devices[0]  # type: ignore[attr-defined]
    # default amdgpu GTT is half of RAM; tuned (ttm.pages_limit / BIOS) up to the catalog's 96 GiB
    assert usable_memory(d).usable_bytes == 64 * GIB
    assert usable_memory(d, tuned=True).usable_bytes == 96 * GIB


@pytest.mark.parametrize(("name", "total_gib"), [("NVIDIA Jetson AGX Orin 64GB", 64), ("NVIDIA DGX Spark", 128)])
def test_nvidia_unified_memory_rule(name: str, total_gib: int) -> None:
    from rigfit.hardware.resolve import resolve_device

    u = usable_memory(resolve_device(name))
    # one DRAM pool shared with the OS: everything but the 4 GiB OS reserve
    assert u.usable_bytes == (total_gib - 4) * GIB
    assert any("NVIDIA unified memory" in r for r in u.rules)


@pytest.mark.parametrize(("spec", "name", "count"), [
    ("7900 xtx", "AMD Radeon RX 7900 XTX", 1), ("2x 7900 xtx", "AMD Radeon RX 7900 XTX", 2),
    ("2 x 3090", "NVIDIA GeForce RTX 3090", 2), ("4×4090", "NVIDIA GeForce RTX 4090", 4),
])
def test_count_prefix_does_not_eat_names(spec: str, name: str, count: int) -> None:
    from rigfit.hardware.resolve import parse_hardware_spec

    d, n = parse_hardware_spec(spec)
    assert (d.name, n) == (name, count)


@pytest.mark.parametrize(("text", "n_bytes"), [
    ("64GB", 64 << 30), ("64 GiB", 64 << 30), ("64g", 64 << 30), ("64", 64 << 30), ("1.5TB", 1536 << 30),
    ("512MiB", 512 << 20), ("512mb", 512 << 20), ("24 GB", 24 << 30), ("100b", 100),
])
def test_memory_sizes_are_binary(text: str, n_bytes: int) -> None:
    """One meaning of GB for memory (rigfit.units): a 64GB kit and a 24GB card hold 64 and 24 GiB, as the
    device names in the catalog do (RTX 4060 Ti 16GB: 16 GiB)."""
    from rigfit.units import parse_memory_size

    assert parse_memory_size(text) == n_bytes
    assert resolve_device("RTX 4060 Ti 16GB").memory_bytes == 16 << 30


def test_ram_flag_is_gib(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from rigfit.cli import main

    assert main(["fit", "llama3.1:8b", "-H", "3090", "--ram", "64GB", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["placement"]["ram_bytes"] == 64 << 30


@pytest.mark.parametrize(("text", "base", "sizes"), [
    ("M4 Max", "Apple M4 Max (32-core GPU) 36GB", "32/40-core GPU, 36/48/64/128 GB"),
    ("M2 Ultra", "Apple M2 Ultra (60-core GPU) 64GB", "60/76-core GPU, 64/128/192 GB"),
    ("M2 Ultra 192GB", "Apple M2 Ultra (60-core GPU) 192GB", "60/76-core GPU, 192 GB"),
    # the base chips: "M4" was ambiguous with the A100 SXM4 whose letters hold it, "M1" found no M1 at all
    ("M4", "Apple M4 (8-core GPU) 16GB", "8/10-core GPU, 16/24/32 GB"),
    ("M1", "Apple M1 (7-core GPU) 8GB", "7/8-core GPU, 8/16 GB"),
])
def test_a_bare_apple_chip_is_its_base_configuration(text: str, base: str, sizes: str) -> None:
    """Issue 14 item 2 (part): a chip name plans on the base configuration and says so, naming the others."""
    from rigfit.hardware.resolve import resolve_device_noted

    device, note = resolve_device_noted(text)
    assert device.name == base
    assert note.startswith(f"{text!r} is a chip, not a machine: planned on its base configuration, {base}")
    assert f"(configurations: {sizes};" in note


@pytest.mark.parametrize(("text", "name", "noted"), [
    ("Strix Halo", "AMD Ryzen AI Max+ 395 128GB", True), ("Ryzen AI Max+ 395", "AMD Ryzen AI Max+ 395 128GB", True),
    ("Ryzen AI Max+ 395 64GB", "AMD Ryzen AI Max+ 395 64GB", False),
    ("radeon 8060s 32GB", "AMD Ryzen AI Max+ 395 32GB", False),
])
def test_a_bare_unified_memory_chip_plans_on_its_usual_size(text: str, name: str, noted: bool) -> None:
    """Issue 14 item 2: a PC chip sold in several sizes plans on the one bought for LLMs and names the others;
    the GPU's share (75 % under the Windows driver) scales with the size."""
    from rigfit.hardware.resolve import resolve_device_noted

    device, note = resolve_device_noted(text)
    assert device.name == name
    assert device.gpu_memory_max_bytes == device.memory_bytes * 3 // 4
    assert (note == f"{text!r} is sold with 32/64/128 GB: planned on 128 GB (AMD Ryzen AI Max+ 395 128GB); name a "
                    "size for another, e.g. 'AMD Ryzen AI Max+ 395 32GB'") if noted else note == ""


@pytest.mark.parametrize(("text", "name", "note"), [
    ("RTX 5060 Ti", "NVIDIA GeForce RTX 5060 Ti 8GB", "'RTX 5060 Ti' is sold with 8/16 GB: planned on 8 GB (NVIDIA "
     "GeForce RTX 5060 Ti 8GB); name a size for another, e.g. 'RTX 5060 Ti 16GB'"),
    ("rtx 3060", "NVIDIA GeForce RTX 3060 12GB", "'rtx 3060' is sold with 8/12 GB: planned on 12 GB (NVIDIA GeForce "
     "RTX 3060 12GB); name a size for another, e.g. 'rtx 3060 8GB'"),
    # "Tesla V100 32GB" finds no 32 GB part under the bare name's alias: the example is one that does
    ("Tesla V100", "NVIDIA Tesla V100 PCIe 16 GB", "'Tesla V100' is sold with 16/32 GB: planned on 16 GB (NVIDIA "
     "Tesla V100 PCIe 16 GB); name a size for another, e.g. 'v100 32gb'"),
    ("RTX 5060 Ti 16GB", "NVIDIA GeForce RTX 5060 Ti 16GB", ""), ("RTX 4090", "NVIDIA GeForce RTX 4090", ""),
])
def test_a_bare_card_name_sold_in_several_sizes_says_which(text: str, name: str, note: str) -> None:
    """A card's bare name is an alias of one memory size: the plan turns on it, so the note names it and the
    others, with a name that picks another (which the note's example must resolve to)."""
    from rigfit.hardware.resolve import resolve_device_noted

    device, got = resolve_device_noted(text)
    assert (device.name, got) == (name, note)
    if note:
        example = note.rsplit("e.g. ", 1)[1].strip("'")
        other = resolve_device_noted(example)[0]
        assert other.name != name and other.memory_bytes != device.memory_bytes


def test_the_chip_note_reaches_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from rigfit.cli import main

    assert main(["fit", "llama3.1:8b", "-q", "Q4_K_M", "-H", "M4 Pro", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["hardware"]["devices"][0]["name"] == "Apple M4 Pro (16-core GPU) 24GB"
    assert doc["placement"]["notes"][0].startswith("'M4 Pro' is a chip, not a machine")


@pytest.mark.parametrize(("text", "name", "count"), [
    ("3090 x2", "NVIDIA GeForce RTX 3090", 2), ("2 x 3090", "NVIDIA GeForce RTX 3090", 2),
    ("RTX 4090 ×4", "NVIDIA GeForce RTX 4090", 4), ("7900 xtx", "AMD Radeon RX 7900 XTX", 1),
])
def test_counts_before_or_after_the_name(text: str, name: str, count: int) -> None:
    d, n = parse_hardware_spec(text)
    assert (d.name, n) == (name, count)


def test_every_catalog_device_resolves_by_its_names() -> None:
    """Issue 14 item 5 (part): each device's own name and every alias resolve to it, without ambiguity."""
    from rigfit.hardware.catalog import default_hardware

    wrong = []
    for d in default_hardware().devices:
        for name in (d.name, *d.aliases):
            got = resolve_device(name)
            if got.name != d.name:
                wrong.append(f"{name!r} -> {got.name}")
    assert wrong == []


def test_a_model_number_is_not_split() -> None:
    """'H20' (96 GB, 4.0 TB/s) is its own card, not the H200 it resolved to before (issue 14); a name is
    never matched inside a longer model number."""
    assert resolve_device("H20").name == "NVIDIA H20"
    assert resolve_device("H20").memory_bytes == 96 << 30
    with pytest.raises(UnknownName, match="unknown hardware 'H10'"):
        resolve_device("H10")  # not inside H100


@pytest.mark.parametrize(("text", "name"), [
    ("MacBook Pro 14 M4 Max 36GB", "Apple M4 Max (32-core GPU) 36GB"),
    ("Mac Studio M3 Ultra 512GB", "Apple M3 Ultra (80-core GPU) 512GB"),
    ("Mac mini M4 Pro 24GB", "Apple M4 Pro (16-core GPU) 24GB"),
    ("MacBook Air 13 (M4, 10-core GPU, 24GB)", "Apple M4 (10-core GPU) 24GB"),
])
def test_mac_product_names_resolve(text: str, name: str) -> None:
    """Issue 14 item 1 (part): a Mac as people name it, from the catalog's apple_products."""
    assert resolve_device(text).name == name


@pytest.mark.parametrize(("rates", "says"), [
    ("", "bandwidth of My Card unknown: memory only, no speed"),
    ("bandwidth_gb_s = 900\n", "dense FP16 rate unknown for a device: no prefill estimate"),
])
def test_a_custom_card_missing_a_rate_says_which(tmp_path: Path, capsys: pytest.CaptureFixture[str], rates: str,
                                                 says: str) -> None:
    """Issue 14, bad input: memory answers stand; the speed figure that cannot be computed is named."""
    import json

    from rigfit.cli import main

    rig = tmp_path / "rig.toml"
    rig.write_text(f'[[gpus]]\nname = "My Card"\nvendor = "nvidia"\nmemory_gib = 24\n{rates}')
    assert main(["fit", "llama3.1:8b", "-q", "Q4_K_M", "-H", str(rig), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["placement"]["verdict"] == "gpu" and doc["memory"]["total_bytes"] > 0
    assert says in json.dumps(doc["speed"])


@pytest.mark.parametrize(("text", "gib"), [("radeon 890m", 32), ("890m 64GB", 64), ("780m 96GB", 96),
                                           ("lunar lake 16GB", 16), ("x elite", 32), ("ryzen ai max 385", 64)])
def test_igpu_memory_is_the_system_ram_size_named(text: str, gib: int) -> None:
    """Issue 14 item 1: an iGPU's memory is the machine's RAM; a size suffix picks it, a bare name plans on the
    common size and says so."""
    from rigfit.hardware.resolve import resolve_device_noted

    device, note = resolve_device_noted(text)
    assert device.unified and device.memory_bytes == gib * GIB
    assert ("is sold with" in note) == (not text.endswith("GB"))


@pytest.mark.parametrize(("text", "name"), [
    # what nvidia-smi, rocm-smi and benchmark sites print
    ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM"), ("AMD Instinct MI300X VF", "AMD Instinct MI300X"),
    ("Qualcomm Snapdragon 888 ARM64", "Qualcomm Snapdragon 888 8GB"), ("rpi5", "Raspberry Pi 5 8GB"),
    ("arc b60", "Intel Arc Pro B60"),
    ("NVIDIA A100-SXM4-40GB", "NVIDIA A100 40GB SXM"), ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB SXM"),
    # nvidia-smi names the first GH200 by its CPU's 480 GB: the alias wins over the size in it
    ("NVIDIA GH200 480GB", "NVIDIA GH200 Grace Hopper Superchip (96GB)"),
    ("Radeon RX 580 Series", "AMD Radeon RX 580"),  # Windows' spelling
    ("AMD Radeon Graphics (gfx1151)", "AMD Ryzen AI Max+ 395 128GB"),  # ROCm's target name for Strix Halo
    ("Snapdragon X Elite X1E-80-100", "Qualcomm Snapdragon X Elite 32GB"),
    ("Intel(R) Graphics [0xe20b]", "Intel Arc B580"),  # SYCL / Level Zero on some drivers: the PCI device ID
])
def test_printed_device_names_resolve(text: str, name: str) -> None:
    assert resolve_device(text).name == name
