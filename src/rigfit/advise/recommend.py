"""The search: every option that meets the targets, completed into builds, ranked by price with the
price/speed Pareto front; when none qualifies, the constraint that fails and the nearest option.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..cost import RunningCost, running_cost
from ..errors import NoBuild, RigfitError
from ..hardware.usable import usable_memory
from ..models.spec import ModelSpec
from ..vocab import Backend, Target, Verdict, WorkloadKind
from .builds import Build, NearMiss, RankedBuild, Recommendation, complete_build
from .evaluate import ModelOnBuild, Shortfall, Stack, capacity_ok, epoch_hours, evaluate_option, make_stack
from .explain import applied_rules, cheapest_limits, rank_reason, request_notes
from .options import Option, Request, accelerator_options, check_request, option_allowed, os_for_option

# how far a build may miss one target and still be worth showing beside those that meet them all: a speed
# 25 % short, a first token or an epoch up to 50 % longer (waiting is easier to trade than reading speed),
# a price up to 35 % over the budget
NEAR_MISS_MARGIN = {Target.DECODE: 0.25, Target.FIRST_TOKEN: 0.5, Target.EPOCH: 0.5, Target.BUDGET: 0.35}
NEAR_MISSES_SHOWN = 3


Found = list[tuple[Build, tuple[ModelOnBuild, ...]]]
Miss = tuple[Target, float, float]  # the target missed, the build's value, the target's
Near = list[tuple[Build, tuple[ModelOnBuild, ...], Miss]]


def _search(stack: Stack, req: Request, options: list[Option]) -> tuple[Found, Near, int]:
    """Every option that meets the targets, completed into a build (GPUs: the smallest count that fits), and
    the options that miss exactly one speed target, completed too, with that miss."""
    done: set[tuple[str, str]] = set()  # (gpu, condition) already satisfied with fewer cards
    found: Found = []
    near: Near = []
    considered = 0
    for o in sorted(options, key=lambda o: (o.name, o.condition, o.count)):
        if not option_allowed(o, req, stack.workload.backends):
            continue
        if o.kind == "pc" and (o.name, o.condition) in done:
            continue
        considered += 1
        os_name = os_for_option(o, req)
        usable = usable_memory(o.device, os_name=os_name).usable_bytes
        if not capacity_ok(stack, o, usable):
            continue
        models = evaluate_option(stack, o, os_name, usable)
        if o.kind == "pc" and all(m.verdict == Verdict.GPU for m in models) and \
                not any(m.shortfall == Shortfall.SLOW_FIRST_TOKEN for m in models):
            done.add((o.name, o.condition))  # more cards add memory and prefill pipelining, not decode speed
        if not all(m.meets for m in models):
            miss = _missed(stack, models)
            if miss is not None:
                b = complete_build(stack, o, os_name, usable, models, have=req.have)
                if b is not None:
                    near.append((b, models, miss))
            continue
        b = complete_build(stack, o, os_name, usable, models, have=req.have)
        if b is not None:
            found.append((b, models))
    return found, near, considered


_SPEED_MISSES = {Shortfall.SLOW_DECODE: Target.DECODE, Shortfall.SLOW_FIRST_TOKEN: Target.FIRST_TOKEN,
                 Shortfall.SLOW_EPOCH: Target.EPOCH}


def _missed(stack: Stack, models: tuple[ModelOnBuild, ...]) -> Miss | None:
    """(target, got, want) when every model runs and all that fall short miss the same speed target within
    its NEAR_MISS_MARGIN; else None."""
    kinds = {m.shortfall for m in models if not m.meets}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    if kind not in _SPEED_MISSES:
        return None
    target = _SPEED_MISSES[kind]
    if target == Target.DECODE:
        got, want = min(m.decode_tokens_per_s or 0.0 for m in models), stack.min_tps
        close = got >= want * (1 - NEAR_MISS_MARGIN[target])
    elif target == Target.FIRST_TOKEN:
        got, want = max(m.time_to_first_token_s or 0.0 for m in models), stack.max_ttft_s
        close = got <= want * (1 + NEAR_MISS_MARGIN[target])
    else:
        hours = epoch_hours(models)
        got, want = max(hours, default=0.0), stack.workload.max_epoch_hours
        close = bool(hours) and got <= want * (1 + NEAR_MISS_MARGIN[target])
    return (target, got, want) if close else None


def _fix(target: Target, got: float, want: float) -> str:
    """The relaxed target (or the money) that lets a near miss pass, in words."""
    if target == Target.DECODE:
        return f"a speed target of {math.floor(got * 10) / 10:g} tokens/s"
    if target == Target.FIRST_TOKEN:
        return f"a first-token limit of {math.ceil(got * 10) / 10:g} s"
    if target == Target.EPOCH:
        return f"an epoch limit of {math.ceil(got):g} h"
    return f"${math.ceil(got - want):,} more budget"


def _near_misses(req: Request, near: Near, over_budget: Found, cheapest_ok: float | None) -> tuple[NearMiss, ...]:
    """The cheapest builds that miss one target (a speed target, or the budget by at most the margin), each
    cheaper than the cheapest build that meets every target."""
    out: list[NearMiss] = []
    for b, models, (target, got, want) in near:
        if req.budget_usd is not None and b.price_usd > req.budget_usd:
            continue
        out.append(NearMiss(build=b, models=models, target=target, got=got, want=want, fix=_fix(target, got, want)))
    if req.budget_usd is not None:
        for b, models in over_budget:
            if b.price_usd <= req.budget_usd * (1 + NEAR_MISS_MARGIN[Target.BUDGET]):
                out.append(NearMiss(build=b, models=models, target=Target.BUDGET, got=b.price_usd,
                                    want=req.budget_usd, fix=_fix(Target.BUDGET, b.price_usd, req.budget_usd)))
    if cheapest_ok is not None:
        out = [n for n in out if n.build.price_usd < cheapest_ok]
    out.sort(key=lambda n: (n.build.price_usd, n.build.name))
    seen: set[str] = set()
    kept = []
    for n in out:
        if n.build.name not in seen:
            seen.add(n.build.name)
            kept.append(n)
    return tuple(kept[:NEAR_MISSES_SHOWN])


def _score(models: tuple[ModelOnBuild, ...], training: bool) -> float:
    """Higher is better: the slowest model's decode rate, or 1 / the slowest epoch."""
    if training:
        hours = epoch_hours(models)
        return 1.0 / max(hours) if hours else 0.0
    return min((m.decode_tokens_per_s or 0.0) for m in models)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indexes of the points no other point beats on both price (lower) and score (higher)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -1.0
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def recommend(req: Request, *, specs: tuple[ModelSpec, ...] | None = None) -> Recommendation:
    req = check_request(req)
    if req.platform == "macos" and req.vendor not in ("any", "apple"):
        raise _contradiction(req, "macOS runs only Apple silicon GPUs (no NVIDIA/AMD drivers, no eGPU on "
                                  "Apple silicon)", specs)
    if req.vendor == "apple" and req.platform in ("windows", "linux"):
        raise _contradiction(req, f"Apple silicon Macs run macOS, not {req.platform}", specs)
    stack = make_stack(req, specs)
    training = stack.workload.kind == WorkloadKind.TRAINING
    found, near, considered = _search(stack, req, accelerator_options(req))
    within = [f for f in found if req.budget_usd is None or f[0].price_usd <= req.budget_usd]
    over = [f for f in found if req.budget_usd is not None and f[0].price_usd > req.budget_usd]
    notes = request_notes(req) + _left_out(stack, req)
    if not within:
        misses = _near_misses(req, near, over, None)
        clusters = () if training or req.have is not None else _clusters(stack, req, near, over)
        if not misses and not clusters:
            raise _no_build(req, stack, found)
        return Recommendation(request=req, workload=stack.workload, min_tokens_per_s=stack.min_tps,
                              context_tokens={s.name: c for s, c in zip(stack.specs, stack.contexts, strict=True)},
                              builds=(), pareto=(), cheapest_limits=(), considered=considered, qualifying=0,
                              rules=applied_rules(), notes=notes, near_misses=misses, clusters=clusters)
    within.sort(key=lambda f: (f[0].price_usd, -_score(f[1], training)))
    points = [(b.price_usd, _score(m, training)) for b, m in within]
    front = set(pareto_front(points))
    ranked = []
    base_price, base_score = points[0]
    for i, (b, models) in enumerate(within):
        cost = None if training else running_cost([(b.device, b.count)], _score(models, training),
                                                       req.kwh_price_usd)
        ranked.append(RankedBuild(rank=i + 1, build=b, models=models, pareto=i in front,
                                  reason=rank_reason(i, b, points[i], base_price, base_score, i in front, training),
                                  cost=cost if isinstance(cost, RunningCost) else None))
    top = tuple(ranked[: req.top])
    par = tuple(r for r in ranked if r.pareto)
    limits = cheapest_limits(stack, ranked[0])
    return Recommendation(request=req, workload=stack.workload, min_tokens_per_s=stack.min_tps,
                          context_tokens={s.name: c for s, c in zip(stack.specs, stack.contexts, strict=True)},
                          builds=top, pareto=par, cheapest_limits=tuple(limits), considered=considered,
                          qualifying=len(within), rules=applied_rules(), notes=notes,
                          near_misses=_near_misses(req, near, over, within[0][0].price_usd))


def _clusters(stack: Stack, req: Request, near: Near, over: Found) -> tuple[Any, ...]:
    """Clusters of identical machines, when no single machine meets the targets (advise/clusters.py), each
    against the fastest single machine that runs the stack on its accelerators."""
    from ..memory import MemoryBreakdown
    from .clusters import cluster_plans
    from .evaluate import stack_memory

    singles = [(b, m) for b, m, _ in near] + list(over)
    best = max(singles, key=lambda bm: _score(bm[1], False), default=None)
    mems: list[MemoryBreakdown] = [stack_memory(sp, stack.quant, stack.contexts[i], Backend.METAL)
                                   for i, sp in enumerate(stack.specs)]
    need = max(m.total_bytes for m in mems)
    return cluster_plans(stack, req, need, best[0] if best else None, _score(best[1], False) if best else None)


def _left_out(stack: Stack, req: Request) -> tuple[str, ...]:
    wl = stack.workload
    if not wl.backends or req.vendor != "any":
        return ()
    return (f"{wl.name}: only builds driven by {' or '.join(wl.backends)} are ranked: {wl.backends_why} (name a "
            "GPU vendor to rank its builds anyway)",)


def _relaxed(req: Request, **kw: Any) -> Request:
    return replace(req, **kw)


def _cheapest(req: Request, specs: tuple[ModelSpec, ...] | None) -> Build | None:
    try:
        rec = recommend(replace(req, top=1), specs=specs)
    except RigfitError:
        return None
    return rec.builds[0].build if rec.builds else None


def _contradiction(req: Request, why: str, specs: tuple[ModelSpec, ...] | None) -> NoBuild:
    near = []
    for label, kw in ((f"on {req.vendor if req.vendor != 'apple' else 'any vendor'} with any OS",
                       {"platform": "any"}),
                      (f"on {req.platform} with any vendor", {"vendor": "any"})):
        b = _cheapest(_relaxed(req, **kw), specs)
        if b is not None:
            near.append(f"{label}: {b.name} at ${b.price_usd:,.0f}")
    return NoBuild(f"contradictory constraints: {why}" + ("; nearest: " + "; ".join(near) if near else ""))


def _no_build(req: Request, stack: Stack, found: list[tuple[Build, tuple[ModelOnBuild, ...]]]) -> NoBuild:
    want = f"{', '.join(s.name for s in stack.specs)} ({stack.workload.name}, {stack.quant})"
    if found and req.budget_usd is not None:
        low = min((f[0] for f in found), key=lambda x: x.price_usd)
        return NoBuild(f"no build under the ${req.budget_usd:,.0f} budget runs {want}; the cheapest that does is "
                       f"{low.name} at ${low.price_usd:,.0f}")
    fails = []
    for label, key, loose in (("platform", "platform", "any"), ("form factor", "form", "any"),
                              ("condition", "condition", "any"), ("GPU vendor", "vendor", "any"),
                              ("speed target", "min_tokens_per_s", 0.001), ("budget", "budget_usd", None)):
        if getattr(req, key) in (loose, None):
            continue  # not constrained
        near = _cheapest(_relaxed(req, **{key: loose}), stack.specs)
        if near is not None:
            fails.append(f"without the {label} constraint: {near.name} at ${near.price_usd:,.0f}")
    if not fails:
        return NoBuild(f"no build in the catalog runs {want} well; try a smaller model or quant, a shorter "
                       "context or a lower speed target")
    return NoBuild(f"no build meets every constraint for {want}; " + "; ".join(fails))

