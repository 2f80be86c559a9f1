"""The main job: how the detected machine runs the stack, and the cheapest build that runs all of it well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..api import fit
from ..calibration import Calibration
from ..models.resolve import resolve_model
from ..request import Search, make_request
from ..units import GIB
from ..vocab import Verdict
from .builds import Recommendation
from .options import Request
from .recommend import recommend
from .workloads import get_workload


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineReport:
    description: str
    results: tuple[Any, ...]  # api.FitResult per model, at the best quant for this machine
    meets: tuple[bool, ...]  # per model: runs fully on the accelerator at the workload's speed
    notes: tuple[str, ...]
    recommendation: Recommendation


def machine_report(det: Any, *, models: Sequence[str] | None = None, workload: str = "chat",
                   calibration: Calibration | None = None) -> MachineReport:
    """How the detected machine runs ``models`` (default: the guides' stack) for ``workload`` (with its
    ``calibration`` where one matches), and the cheapest build that runs all of them well."""
    from ..api import DEFAULT_STACK
    from ..thismachine import this_machine

    names = tuple(models or DEFAULT_STACK)
    wl = get_workload(workload)
    system, notes = this_machine(det)
    ram = system.ram_bytes or 0
    specs = tuple(resolve_model(m) for m in names)
    results = tuple(fit(make_request(s, system=system, search=Search.BEST_QUANT,
                                     context_tokens=min(wl.context_tokens, s.max_context),
                                     prompt_tokens=wl.prompt_tokens, gen_tokens=wl.answer_tokens,
                                     calibration=calibration)) for s in specs)
    meets = []
    for r in results:
        dec = r.speed.decode_tokens_per_s if r.speed else 0.0
        ttft = r.speed.time_to_first_token_s if r.speed else None
        on_gpu = r.placement is not None and r.placement.verdict == Verdict.GPU
        meets.append(on_gpu and dec >= wl.min_decode_tokens_per_s and (ttft is None or ttft <= wl.max_ttft_s))
    devs = ", ".join(f"{sd.count}x {sd.device.name}" for sd in system.devices)
    desc = f"{det.os_name}; {devs}; {ram / GIB:.1f} GiB RAM"
    rec = recommend(Request(models=names, workload=wl.name, top=1), specs=specs)
    return MachineReport(description=desc, results=results, meets=tuple(meets), notes=tuple(notes),
                         recommendation=rec)

