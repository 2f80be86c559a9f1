"""Running cost of a plan: generated tokens per watt-hour and dollars per million generated tokens, from the
machine's power under load and an electricity price.

Power under load is an upper bound: each accelerator at its rated board power (``tdp_w`` in the hardware
catalog: NVIDIA TGP / AMD TBP / the SoC's package power), plus the rest of the machine: 75 W for a desktop
with discrete GPUs (board, RAM, drives, fans; the advisor's BASE_SYSTEM_W) or 15 W around a unified-memory
SoC.  Token generation is memory-bound, so real draw during decode is usually lower; the figure is what a
power budget must allow, and the same rule for every device keeps comparisons fair.  The power_w rows of
../shared/calibration/throughput_modern.csv (localmaxxing submissions, 2026) agree: an RTX 3060 drew
62-171 W (median 163 W of its 170 W rating) over 19 small models, an RTX 5090 290 W of its 575 W on
Qwen3.6-35B-A3B.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInput
from .hardware.spec import Device

# US residential average, 2025: 17.0 cents/kWh (EIA Electric Power Monthly, table 5.6.A, 12-month average)
DEFAULT_KWH_PRICE_USD = 0.17
MAX_KWH_PRICE_USD = 10.0
DESKTOP_REST_W = 75  # board, RAM, drives, fans around discrete GPUs (advise.buildrules.BASE_SYSTEM_W)
SOC_REST_W = 15  # RAM, SSD and fans around a unified-memory SoC whose package power is its tdp_w


def check_kwh_price(usd: float, options: tuple[str, ...] = ()) -> None:
    """An electricity price rigfit can use, else one error naming it (``options``: the request field)."""
    if not 0 < usd <= MAX_KWH_PRICE_USD:
        raise InvalidInput(f"electricity price must be between $0 and ${MAX_KWH_PRICE_USD:g} per kWh, got {usd:g}",
                           options=options)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningCost:
    load_w: float  # accelerators at rated power plus the rest of the machine
    tokens_per_s: float  # generated tokens per second (all users together)
    kwh_price_usd: float
    tokens_per_wh: float
    usd_per_million_tokens: float
    basis: str  # how load_w was made, in words


def load_power_w(devices: list[tuple[Device, int]]) -> tuple[float, str] | str:
    """(watts, basis) for these accelerators under load, or why there is no figure."""
    missing = [d.name for d, _ in devices if not d.tdp_w]
    if missing:
        return f"no rated power on file for {', '.join(missing)}"
    if not devices:
        return "no accelerator in the plan"
    gpu_w = sum((d.tdp_w or 0) * n for d, n in devices)
    unified = all(d.unified for d, _ in devices)
    rest = SOC_REST_W if unified else DESKTOP_REST_W
    parts = " + ".join(f"{n} x {d.tdp_w} W" if n > 1 else f"{d.tdp_w} W" for d, n in devices)
    return gpu_w + rest, f"{parts} rated + {rest} W for the rest of the machine (an upper bound)"


def running_cost(devices: list[tuple[Device, int]], tokens_per_s: float | None,
                 kwh_price_usd: float = DEFAULT_KWH_PRICE_USD) -> RunningCost | str:
    """The cost of generating with ``devices`` at ``tokens_per_s``, or why it is unknown."""
    if not tokens_per_s or tokens_per_s <= 0:
        return "no decode speed"
    power = load_power_w(devices)
    if isinstance(power, str):
        return power
    watts, basis = power
    per_wh = tokens_per_s * 3600 / watts
    return RunningCost(load_w=watts, tokens_per_s=tokens_per_s, kwh_price_usd=kwh_price_usd, tokens_per_wh=per_wh,
                       usd_per_million_tokens=1e6 / per_wh / 1000 * kwh_price_usd, basis=basis)


__all__ = ["DEFAULT_KWH_PRICE_USD", "MAX_KWH_PRICE_USD", "RunningCost", "check_kwh_price", "load_power_w",
           "running_cost"]
