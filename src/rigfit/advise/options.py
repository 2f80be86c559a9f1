"""The advisor's request (stack, workload, budget, platform, form, condition, vendor) and the accelerator options it
searches: every priced GPU new or used in 1-4 card desktops, Macs, unified-memory mini PCs and laptops.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from ..cost import DEFAULT_KWH_PRICE_USD, check_kwh_price
from ..errors import InvalidInput, UnknownName
from ..hardware.catalog import default_hardware
from ..hardware.spec import Device
from ..system import default_backend
from ..units import GIB
from . import buildrules as br
from .upgrade import Have


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    models: tuple[str, ...]
    quant: str | None = None
    context_tokens: int | None = None
    workload: str = "chat"
    min_tokens_per_s: float | None = None
    max_ttft_s: float | None = None  # longest acceptable time to first token (default: the workload's)
    budget_usd: float | None = None
    platform: str = "any"  # windows | linux | macos | any
    form: str = "any"  # desktop | laptop | mini | any
    condition: str = "any"  # new | used | any
    vendor: str = "any"  # nvidia | amd | intel | apple | any
    top: int = 5
    kwh_price_usd: float = DEFAULT_KWH_PRICE_USD  # electricity price for each build's running cost
    have: Have | None = None  # upgrade mode: the parts the user keeps (only GPUs, PSU and RAM are priced)


PLATFORMS = ("windows", "linux", "macos", "any")


FORMS = ("desktop", "laptop", "mini", "any")


CONDITIONS = ("new", "used", "any")


VENDORS = ("nvidia", "amd", "intel", "apple", "any")


MAX_GPUS = 4  # one HEDT/workstation board; beyond it a server (not priced)


STALE_PRICE_MONTHS = 12  # a price older than this (before the catalog was last checked) is flagged


def _choose(value: str, allowed: tuple[str, ...], what: str) -> str:
    v = value.lower().strip()
    if v not in allowed:
        raise UnknownName(what, value, allowed)
    return v


def check_request(req: Request) -> Request:
    if not req.models:
        raise InvalidInput("give at least one model")
    if req.budget_usd is not None and not 0 < req.budget_usd <= 10_000_000:
        raise InvalidInput(f"budget must be between $1 and $10,000,000, got {req.budget_usd:g}")
    if req.min_tokens_per_s is not None and not 0 < req.min_tokens_per_s <= 100_000:
        raise InvalidInput(f"minimum speed must be between 0 and 100,000 tokens/s, got {req.min_tokens_per_s:g}")
    check_kwh_price(req.kwh_price_usd)
    if req.have is not None and req.form not in ("any", "desktop"):
        raise InvalidInput(f"an upgrade keeps your desktop; form {req.form} does not apply", options=("have", "form"))
    if req.max_ttft_s is not None and not 0 < req.max_ttft_s <= 3600:
        raise InvalidInput(f"first-token limit must be between 0 and 3,600 s, got {req.max_ttft_s:g}")
    if req.context_tokens is not None and not 256 <= req.context_tokens <= 1 << 24:
        raise InvalidInput(f"context must be between 256 and {1 << 24:,} tokens, got {req.context_tokens}")
    if not 1 <= req.top <= 100:
        raise InvalidInput(f"number of builds shown must be between 1 and 100, got {req.top}")
    return replace(req, platform=_choose(req.platform, PLATFORMS, "platform"),
                   form=_choose(req.form, FORMS, "form factor"),
                   condition=_choose(req.condition, CONDITIONS, "condition"),
                   vendor=_choose(req.vendor, VENDORS, "GPU vendor"))


def _gpu_prices(d: Device, condition: str) -> list[tuple[str, float, str, str]]:
    """(condition, usd, date, source) options for a GPU under the requested condition."""
    out = []
    if condition in ("new", "any") and (d.street_usd or d.msrp_usd):
        # a dated street price where one is on file; else the launch price (flagged when old)
        out.append(("new", d.street_usd, d.street_date, d.street_source) if d.street_usd
                   else ("new", d.msrp_usd or 0.0, d.msrp_date, d.source))
    if condition in ("used", "any") and d.used_usd:
        out.append(("used", d.used_usd, d.used_date, d.used_source))
    if condition == "any" and len(out) == 2:
        out = [min(out, key=lambda o: o[1])]
    return out


def oses_for(d: Device, kind: str) -> tuple[str, ...]:
    if kind == "mac":
        return ("macos",)
    if d.vendor == "nvidia" and kind == "soc":
        return ("linux",)  # DGX OS / JetPack
    return ("windows", "linux")


def months_of(date: str) -> int:
    """'2026-05' or '2026-05-14' -> months since year 0; 0 for an undated price."""
    m = re.match(r"(\d{4})(?:-(\d{2}))?", date)
    return int(m.group(1)) * 12 + int(m.group(2) or 1) - 1 if m else 0


@functools.cache
def prices_checked() -> str:
    """When the catalogs were last checked (their newest as_of): the date price ages are measured from."""
    from .buildrules import default_parts

    parts = default_parts()
    rows = (*parts.ram, *parts.storage, *parts.psu, *parts.cpu, *parts.motherboard, *parts.cooling, *parts.case,
            *parts.laptop)
    return max([d.as_of for d in default_hardware().devices] + [r.as_of for r in rows])


def stale_price(date: str) -> bool:
    return bool(months_of(date)) and months_of(prices_checked()) - months_of(date) > STALE_PRICE_MONTHS


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """An accelerator choice before the rest of the build is fixed."""

    kind: str  # pc | mac | soc | laptop
    device: Device
    count: int
    condition: str
    unit_usd: float
    price_date: str
    source: str
    form: str
    name: str
    ram_gib: int = 0  # laptops: the RAM they ship with
    storage_gb: int = 0
    cpu: str = ""


def accelerator_options(req: Request) -> list[Option]:
    hw = default_hardware()
    parts = br.default_parts()
    by_chip: dict[tuple[str, int], Device] = {}
    for d in hw.devices:
        if d.kind == "apple":
            by_chip[(d.name.rsplit(" ", 1)[0], d.memory_bytes // GIB)] = d
    out: list[Option] = []
    for d in hw.devices:
        if d.kind != "gpu" or d.form == "laptop":
            continue
        for cond, usd, date, src in _gpu_prices(d, req.condition):
            for n in range(1, MAX_GPUS + 1):
                out.append(Option(kind="pc", device=d, count=n, condition=cond, unit_usd=usd, price_date=date,
                                   source=src, form="desktop", name=d.name))
    if req.condition in ("new", "any"):
        for p in hw.apple_products:
            dev = by_chip.get((p.chip, p.memory_gib))
            if dev is None:
                continue
            form = "laptop" if p.form == "laptop" else ("mini" if p.form == "mini" else "desktop")
            out.append(Option(kind="mac", device=dev, count=1, condition="new", unit_usd=p.price_usd,
                               price_date=p.price_date, source=p.source, form=form, name=p.name,
                               storage_gb=p.storage_gb))
        for d in hw.devices:
            if d.kind == "soc" and (d.street_usd or d.msrp_usd) and d.form == "mini":
                usd, date, src = (d.street_usd, d.street_date, d.street_source) if d.street_usd else \
                    (d.msrp_usd or 0.0, d.msrp_date, d.source)
                out.append(Option(kind="soc", device=d, count=1, condition="new", unit_usd=usd,
                                   price_date=date, source=src, form="mini", name=d.name))
        gpus = {d.name: d for d in hw.devices if d.kind == "gpu"}
        for lp in parts.laptop:
            out.append(Option(kind="laptop", device=gpus[lp.gpu], count=1, condition="new",
                               unit_usd=lp.price_usd, price_date=lp.price_date, source=lp.source,
                               form="laptop", name=lp.name, ram_gib=lp.ram_gib,
                               storage_gb=lp.storage_gb, cpu=lp.cpu))
    return out


def option_allowed(o: Option, req: Request, backends: tuple[str, ...] = ()) -> bool:
    """Whether the request's platform, form and vendor allow ``o``; ``backends`` (the workload's software
    stack) leaves out the options driven by another backend unless the request names their vendor."""
    oses = oses_for(o.device, o.kind)
    if req.platform != "any" and req.platform not in oses:
        return False
    if req.form not in ("any", o.form):
        return False
    if backends and req.vendor == "any" and default_backend(o.device) not in backends:
        return False
    if req.have is not None and (o.kind != "pc" or o.count > req.have.gpu_slots):
        return False  # an upgrade adds cards to the machine there is
    return req.vendor in ("any", o.device.vendor)


def os_for_option(o: Option, req: Request) -> str:
    oses = oses_for(o.device, o.kind)
    return req.platform if req.platform in oses else oses[-1]

