"""Machines side by side for one model (``rigfit compare``, /api/compare): each plan, the longest context that keeps
its verdict at the same quant and KV type, and what its accelerators cost now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .api import FitResult, Search, SystemDevice, fit
from .request import with_plan
from .vocab import Verdict


@dataclass(frozen=True, slots=True, kw_only=True)
class Compared:
    """One machine of a side-by-side comparison: its plan, the longest context that keeps the plan's verdict,
    and what the accelerators cost."""

    result: FitResult
    max_context_tokens: int | None  # None: nothing fits
    price_usd: float | None  # the accelerators at their dated street (else used, else launch) price
    price_basis: str


def _price(devices: Sequence[SystemDevice]) -> tuple[float | None, str]:
    total, basis = 0.0, []
    for sd in devices:
        d = sd.device
        # what it sells for now: new at a dated street price, else used, else its launch price
        usd, how = ((d.street_usd, "street") if d.street_usd else (d.used_usd, "used") if d.used_usd else
                    (d.msrp_usd, "launch") if d.msrp_usd else (None, ""))
        if usd is None:
            return None, f"no price on file for {d.name}"
        total += usd * sd.count
        basis.append(f"{sd.count} x ${usd:,.0f} ({how})" if sd.count > 1 else f"${usd:,.0f} ({how})")
    return total, " + ".join(basis)


def compare(results: Sequence[FitResult]) -> list[Compared]:
    """Each plan with its longest context at the same quant and KV type and its accelerators' price."""
    out = []
    for r in results:
        assert r.system is not None and r.placement is not None
        top = fit(with_plan(r.request, quant=r.quant.name, search=Search.MAX_CONTEXT,
                            kv_cache_type=r.memory.run.kv_cache_type, kv_cache_type_v=r.request.kv_cache_type_v))
        fits = top.placement is not None and top.placement.verdict != Verdict.DOES_NOT_FIT
        price, basis = _price(r.system.accelerators)
        out.append(Compared(result=r, max_context_tokens=top.memory.run.context_tokens if fits else None,
                            price_usd=price, price_basis=basis))
    return out


__all__ = ["Compared", "compare"]
