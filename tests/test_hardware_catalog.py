"""The embedded hardware catalogs load, validate and carry their sources; spot checks with citations."""

from __future__ import annotations

import pytest

from rigfit.hardware.catalog import default_hardware
from rigfit.hardware.resolve import resolve_device
from rigfit.hardware.spec import Device
from rigfit.units import GIB

DEVICES = default_hardware().devices


def test_catalog_loads() -> None:
    kinds = {d.kind for d in DEVICES}
    assert {"gpu", "apple", "soc"} <= kinds
    assert sum(d.kind == "gpu" for d in DEVICES) >= 90


@pytest.mark.parametrize("dev", DEVICES, ids=lambda d: d.name)
def test_every_entry_has_source_and_date(dev: Device) -> None:
    assert dev.source.startswith("http") and dev.as_of
    assert dev.memory_bytes > 0
    assert dev.bandwidth_gb_s is None or dev.bandwidth_gb_s > 0


@pytest.mark.parametrize("dev", [d for d in DEVICES if d.fp16_tflops], ids=lambda d: d.name)
def test_every_accelerator_with_a_matrix_rate_lists_its_alu_rate(dev: Device) -> None:
    """Decode's attention arithmetic, a quantized weight's unpacking and the prompts of kernels that miss the matrix
    units run at the FP32 ALU rate (speedwork.DeviceWork.alu_tflops): an entry without one had its FP16 tensor
    rate stand in, 2-8x too fast (laptop GeForce cards, the DGX Spark, Jetson Orin, Intel and Qualcomm iGPUs)."""
    assert dev.fp32_tflops and 0 < dev.fp32_tflops <= 2 * dev.fp16_tflops


@pytest.mark.parametrize(("name", "gib", "gb_s"), [
    ("M1 Max 32-core 64GB", 64, 400),  # Apple M1 Max: 400 GB/s
    ("M4 Max 40-core 128GB", 128, 546),  # Apple M4 Max (40-core GPU): 546 GB/s
    ("M4 Pro 20-core 48GB", 48, 273),  # Apple M4 Pro: 273 GB/s
    ("DGX Spark", 128, 273),  # NVIDIA DGX Spark: 128 GB LPDDR5x, 273 GB/s
    ("Framework Desktop", 128, 256),  # Ryzen AI Max+ 395: 256-bit LPDDR5X-8000 = 256 GB/s
    ("RTX 4090", 24, 1008),  # NVIDIA Ada whitepaper: 24 GB GDDR6X, 1008 GB/s
    ("RTX 4090 Laptop", 16, 576),  # RTX 4090 Laptop GPU: 16 GB, 256-bit, 576 GB/s
    ("H100 SXM", 80, 3350),  # NVIDIA H100 datasheet: 80 GB HBM3, 3.35 TB/s
    ("MI300X", 192, 5300),  # AMD Instinct MI300X: 192 GB HBM3, 5.3 TB/s
])
def test_spot_checks(name: str, gib: int, gb_s: float) -> None:
    d = resolve_device(name)
    assert d.memory_bytes == gib * GIB and d.bandwidth_gb_s == pytest.approx(gb_s, rel=0.001)


@pytest.mark.parametrize("text", ["3090", "rtx3090", "RTX 3090 24GB", "NVIDIA GeForce RTX 3090"])
def test_issue_examples_resolve(text: str) -> None:
    assert resolve_device(text).name == "NVIDIA GeForce RTX 3090"


def test_laptop_and_desktop_4090_are_different_devices() -> None:
    assert resolve_device("RTX 4090 Laptop").memory_bytes == 16 * GIB
    assert resolve_device("RTX 4090").memory_bytes == 24 * GIB


def test_apple_products_name_real_chips() -> None:
    chips = {d.name.rsplit(" ", 1)[0] for d in DEVICES if d.kind == "apple"}
    assert all(p.chip in chips for p in default_hardware().apple_products)


CUSTOM = """
[[gpus]]
name = "My Modded RTX 2080 Ti 22GB"
vendor = "nvidia"
memory_gib = 22
bandwidth_gb_s = 616
count = 2
"""


def test_fit_with_hardware_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from rigfit.cli import main

    assert main(["fit", "qwen2.5-coder:32b", "--hardware", "M4 Max 40-core 128GB", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    dev = doc["hardware"]["devices"][0]
    assert dev["name"] == "Apple M4 Max (40-core GPU) 128GB" and dev["count"] == 1
    # 3/4 of 128 GB (Metal working set) less the 1 GiB llama.cpp's fit keeps free (issue 17)
    assert dev["usable_bytes"] == 96 * GIB - GIB
    assert dev["headroom_bytes"] == GIB
    assert doc["settings"]["backend"] == "metal"


def test_custom_hardware_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import json

    from rigfit.cli import main

    p = tmp_path / "rig.toml"
    p.write_text(CUSTOM)
    assert main(["fit", "llama3.1:8b", "--hardware", str(p), "--json"]) == 0
    hw = json.loads(capsys.readouterr().out)["hardware"]
    assert hw["total_memory_bytes"] == 44 * GIB and hw["devices"][0]["count"] == 2


@pytest.mark.parametrize(("text", "message"), [
    ("[[gpus]]\nname = 'x'\nvendor = 'nvidia'\nmemory_gib = -1\n", "gpus[0].memory_gib: expected a positive number"),
    ("[[gpus]]\nname = 'x'\nvendor = 'nvidia'\nmemory_gib = 8\nbandwdith_gb_s = 1\n",
     "gpus[0].bandwdith_gb_s: unknown key"),
    ("[[gpus]]\nname = 'x'\nvendor = 'amd'\nmemory_gib = 8\nbackends = ['glide']\n",
     "gpus[0].backends: expected a list of cuda, rocm, metal, vulkan, sycl"),
    ("[[gpus]\n", "not valid TOML"), ("title = 'no gpus'\n", "expected at least one [[gpus]] table")])
def test_bad_custom_file(tmp_path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    from rigfit.cli import main

    p = tmp_path / "bad.toml"
    p.write_text(text)
    assert main(["fit", "llama3.1:8b", "--hardware", str(p)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


POLARIS = """
[[gpus]]
name = "My Polaris 8GB"
vendor = "amd"
memory_gib = 8
bandwidth_gb_s = 256
fp16_tflops = 6.2
backends = ["vulkan"]
"""


def test_a_card_its_vendors_backend_dropped_plans_on_its_own_list(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A card whose catalog entry lists its backends (ROCm dropped Polaris) plans on the first of them, and a
    backend it does not take is one error line naming the ones it does."""
    import json

    from rigfit.cli import main

    p = tmp_path / "polaris.toml"
    p.write_text(POLARIS)
    assert main(["fit", "llama3.1:8b", "--hardware", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["backend"] == "vulkan"
    assert main(["fit", "llama3.1:8b", "--hardware", str(p), "--backend", "rocm"]) == 2
    assert capsys.readouterr().err == ("rigfit: error: the rocm backend cannot drive My Polaris 8GB; it runs on "
                                       "vulkan, cpu (--backend, --hardware)\n")


def test_unknown_hardware_on_fit(capsys: pytest.CaptureFixture[str]) -> None:
    from rigfit.cli import main

    assert main(["fit", "llama3.1:8b", "--hardware", "Voodoo 5 6000"]) == 2
    assert capsys.readouterr().err.startswith("rigfit: error: unknown hardware 'Voodoo 5 6000'")


def test_used_price_needs_date_and_source() -> None:
    from rigfit.errors import CatalogError
    from rigfit.hardware.catalog import parse_hardware

    rec = dict(name="X", vendor="nvidia", form="desktop", memory_gib=24, bandwidth_gb_s=936, fp16_tflops=71,
               tdp_w=350, source="s", as_of="2026-11-23", used_usd=700)
    with pytest.raises(CatalogError, match=r"gpus\[0\]\.used_usd: a used price needs used_date and used_source"):
        parse_hardware({"gpus": [rec]}, {}, {})


def test_used_prices_are_dated_and_sourced() -> None:
    from rigfit.hardware.resolve import resolve_device

    d = resolve_device("3090")
    # bestllmfor.com (May 2026): used 3090s "settled around $750", range $700-900
    assert d.used_usd == 750 and d.used_date == "2026-05" and d.used_source.startswith("https://")


def test_street_price_needs_date_and_source() -> None:
    from rigfit.errors import CatalogError
    from rigfit.hardware.catalog import parse_hardware

    rec = dict(name="X", vendor="nvidia", form="desktop", memory_gib=24, bandwidth_gb_s=936, fp16_tflops=71,
               tdp_w=350, source="s", as_of="2026-11-23", street_usd=900, street_date="2026-06")
    with pytest.raises(CatalogError, match=r"gpus\[0\]\.street_usd: a street price needs street_date and "
                                           r"street_source"):
        parse_hardware({"gpus": [rec]}, {}, {})


def test_new_cards_are_priced_at_their_street_price() -> None:
    """Issue 14 item 4: an RTX 5090 sold for $3,650-3,900 in June 2026 (sesamedisk.com citing TechTimes), not its
    $1,999 launch price; a card without a street price keeps its launch price, flagged when over 12 months old."""
    from rigfit.advise.options import _gpu_prices, prices_checked, stale_price
    from rigfit.hardware.resolve import resolve_device

    d = resolve_device("RTX 5090")
    assert d.msrp_usd == 1999 and _gpu_prices(d, "new") == [("new", 3775, "2026-06", d.street_source)]
    old = resolve_device("RTX 2060")
    assert _gpu_prices(old, "new") == [("new", 349, "2019-01", old.source)]
    assert prices_checked() == "2026-12-05"
    assert stale_price("2019-01") and stale_price("2025-11") and not stale_price("2025-12")
    assert not stale_price("")


def test_an_old_launch_price_is_flagged_in_the_advice() -> None:
    from rigfit.advise.recommend import Request, recommend

    rec = recommend(Request(models=("llama3.1:8b",), condition="new", vendor="nvidia", top=100))
    b = next(r for r in rec.builds if r.build.name == "NVIDIA GeForce RTX 3050 8GB")
    assert "NVIDIA GeForce RTX 3050 8GB: launch price from 2022-01, no street price on file; may no longer be " \
           "sold new" in b.build.caveats
    assert any(c.startswith("prices over 12 months older than the catalog check (2026-12-05): NVIDIA GeForce "
                            "RTX 3050 8GB (2022-01)") for c in b.build.caveats)
    fresh = next(r for r in rec.builds if r.build.name == "NVIDIA GeForce RTX 5060")  # street price, 2026-02
    assert not any("NVIDIA GeForce RTX 5060 (" in c for c in fresh.build.caveats)


def test_every_estimated_part_price_states_its_basis() -> None:
    from rigfit.catalogdata import embedded

    raw = embedded("builds")
    estimated = [e for rows in raw.values() if isinstance(rows, list) for e in rows
                 if isinstance(e, dict) and e.get("source") == "estimate"]
    assert estimated and all("Basis" in e.get("notes", "") for e in estimated)


@pytest.mark.parametrize("name", ["H100 SXM", "H200 SXM", "H200 NVL", "H20", "A100 80GB PCIe"])
def test_hopper_and_ampere_datacenter_boards_name_their_die(name: str) -> None:
    """The speed model fits the HBM compute dies apart from the GeForce ones (rates.datacenter_silicon reads the
    chip): an H200 SXM without its GH100 had been planned with the GeForce cards' constants."""
    import rigfit
    from rigfit.hardware.rates import datacenter_silicon
    from rigfit.vocab import Vendor

    dev = resolve_device(name)
    assert dev.chip and datacenter_silicon(Vendor.NVIDIA, dev.chip)
    s = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=[name]).speed
    assert s is not None and s.classes == ("cuda-datacenter",)
