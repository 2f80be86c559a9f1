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
    assert {"apple", "soc"} <= kinds


@pytest.mark.parametrize("dev", DEVICES, ids=lambda d: d.name)
def test_every_entry_has_source_and_date(dev: Device) -> None:
    assert dev.source.startswith("http") and dev.as_of
    assert dev.memory_bytes > 0
    assert dev.bandwidth_gb_s is None or dev.bandwidth_gb_s > 0


@pytest.mark.parametrize(("name", "gib", "gb_s"), [
    ("M1 Max 32-core 64GB", 64, 400),  # Apple M1 Max: 400 GB/s
    ("M4 Max 40-core 128GB", 128, 546),  # Apple M4 Max (40-core GPU): 546 GB/s
    ("M4 Pro 20-core 48GB", 48, 273),  # Apple M4 Pro: 273 GB/s
    ("DGX Spark", 128, 273),  # NVIDIA DGX Spark: 128 GB LPDDR5x, 273 GB/s
    ("Framework Desktop", 128, 256),  # Ryzen AI Max+ 395: 256-bit LPDDR5X-8000 = 256 GB/s
])
def test_spot_checks(name: str, gib: int, gb_s: float) -> None:
    d = resolve_device(name)
    assert d.memory_bytes == gib * GIB and d.bandwidth_gb_s == gb_s


def test_apple_products_name_real_chips() -> None:
    chips = {d.name.rsplit(" ", 1)[0] for d in DEVICES if d.kind == "apple"}
    assert all(p["chip"] in chips for p in default_hardware().apple_products)
