"""Clusters in the advisor: when no single machine meets the targets, 2-4 identical machines joined by a link.

Candidates are the machines people cluster: Mac Studios and Mac minis (llama.cpp RPC over Thunderbolt 5 IP,
and exo with tensor sharding over Thunderbolt 5 RDMA), unified-memory mini PCs (DGX Spark over its 200 GbE
port, Strix Halo boxes over 25 GbE RoCE) and multi-GPU towers (10 GbE).  Each is planned through the
pipeline with its nodes and link (``api.fit``), priced as N machines (their single-machine build) plus the
link's parts: a NIC or cable per machine, a Thunderbolt cable between every pair (exo needs a full mesh), a
switch for more than two machines on Ethernet.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api import fit
from ..errors import RigfitError
from ..hardware.links import LinkSpec, resolve_link
from ..request import make_request
from ..system import make_cluster
from ..units import GIB
from ..vocab import Verdict
from .builds import Build, complete_build
from .evaluate import ModelOnBuild, Stack, evaluate_option, option_system
from .options import Option, Request, accelerator_options, option_allowed, os_for_option

CLUSTER_SIZES = (2, 3, 4)
MACHINES_PER_KIND = 2  # the cheapest machines per GiB of each kind that could hold the stack in 4


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterPlan:
    name: str  # "2 x Mac Studio (M3 Ultra, 512GB) over tb5-rdma (exo)"
    machine: Build  # one machine of it, priced as a single build
    nodes: int
    link: str
    engine: str
    link_usd: float
    models: tuple[ModelOnBuild, ...]
    meets: bool
    why: str = ""  # against the best single machine

    @property
    def price_usd(self) -> float:
        return round(self.machine.price_usd * self.nodes + self.link_usd, 2)

    @property
    def slowest_decode_tokens_per_s(self) -> float:
        return min((m.decode_tokens_per_s or 0.0) for m in self.models)


def _link_for(o: Option) -> list[tuple[str, str]]:
    """(link, engine) pairs a cluster of ``o`` is built with."""
    if o.kind == "mac":
        return [("tb5", "llama.cpp"), ("tb5-rdma", "exo")]
    if o.kind == "soc":
        return [("200gbe", "llama.cpp")] if o.device.vendor == "nvidia" else [("25gbe-rdma", "llama.cpp")]
    return [("10gbe", "llama.cpp")]


def link_cost_usd(link: LinkSpec, nodes: int) -> float:
    """Per machine a NIC or cable (Thunderbolt: a cable between every pair, as exo's RDMA needs a full mesh;
    Ethernet: a direct cable for two machines, a switch beyond)."""
    if link.name.startswith("tb"):
        return link.cost_usd * nodes * (nodes - 1) / 2
    return link.cost_usd * nodes + (link.switch_usd if nodes > 2 else 0.0)


def _mlx_quant(gguf_quant: str) -> str:
    """The MLX format nearest a GGUF quant (for the exo variant of a Mac cluster): 8-bit for Q8 and 16-bit
    files, 6-bit for Q5 / Q6, else 4-bit."""
    q = gguf_quant.upper()
    if q.startswith(("Q8", "F16", "BF16", "F32")):
        return "MLX-8BIT"
    return "MLX-6BIT" if q.startswith(("Q5", "Q6")) else "MLX-4BIT"


def _candidates(stack: Stack, req: Request, need_bytes: int) -> list[Option]:
    out: list[Option] = []
    by_kind: dict[str, list[Option]] = {}
    for o in accelerator_options(req):
        if o.kind == "laptop" or not option_allowed(o, req, stack.workload.backends):
            continue
        if o.kind == "pc" and o.count < 2:
            continue  # a tower cluster is built from multi-GPU towers
        mem = o.device.memory_bytes * o.count
        if mem * max(CLUSTER_SIZES) < need_bytes:
            continue
        by_kind.setdefault(o.kind, []).append(o)
    for opts in by_kind.values():
        opts.sort(key=lambda o: o.unit_usd * o.count / (o.device.memory_bytes * o.count / GIB))
        out += opts[:MACHINES_PER_KIND]
    return out


def _evaluate(stack: Stack, o: Option, nodes: int, link: LinkSpec, engine: str, os_name: str) -> tuple[
        ModelOnBuild, ...] | None:
    wl = stack.workload
    ram = o.device.memory_bytes if o.kind in ("mac", "soc") else 256 * GIB
    machines = [option_system(o, os_name, ram) for _ in range(nodes)]
    system = make_cluster(machines, link_name=link.name, gb_s=link.gb_s, rtt_us=link.rtt_us, rdma=link.rdma)
    out = []
    for i, spec in enumerate(stack.specs):
        quant = _mlx_quant(stack.quant) if engine == "exo" else stack.quant
        try:
            r = fit(make_request(spec, engine=engine, quant=quant, context_tokens=stack.contexts[i], system=system,
                                 prompt_tokens=min(wl.prompt_tokens, stack.contexts[i]),
                                 gen_tokens=wl.answer_tokens))
        except RigfitError:
            return None  # the engine cannot split this model over these machines (head divisibility)
        p, sp = r.placement, r.speed
        assert p is not None
        dec = sp.decode_tokens_per_s if sp else None
        ttft = sp.time_to_first_token_s if sp else None
        ok = p.verdict == Verdict.GPU and dec is not None and dec >= stack.min_tps and \
            (ttft is None or ttft <= stack.max_ttft_s)
        reason = "" if ok else ("does not fit" if p.verdict != Verdict.GPU else
                                f"decodes at {dec or 0:.1f} tokens/s, below {stack.min_tps:g}"
                                if (dec or 0) < stack.min_tps else f"first token after {ttft or 0:.1f} s")
        out.append(ModelOnBuild(model=spec.name, quant=quant, context_tokens=stack.contexts[i], verdict=p.verdict,
                                decode_tokens_per_s=dec, prefill_tokens_per_s=sp.prefill_tokens_per_s if sp else None,
                                time_to_first_token_s=ttft, answer_time_s=sp.total_time_s if sp else None,
                                used_bytes=sum(d.used_bytes for d in p.accelerators),
                                room_bytes=min((d.usable_bytes - d.used_bytes for d in p.accelerators), default=0),
                                max_context_tokens=0, meets=ok, reason=reason))
    return tuple(out)


def cluster_plans(stack: Stack, req: Request, need_bytes: int, best_single: Build | None,
                  best_single_tps: float | None) -> tuple[ClusterPlan, ...]:
    """Clusters that run the stack, cheapest meeting the targets first, then the closest that do not; each
    says why it beats or loses to ``best_single`` (the best single machine found, if any)."""
    plans: list[ClusterPlan] = []
    for o in _candidates(stack, req, need_bytes):
        os_name = os_for_option(o, req)
        from ..hardware.usable import usable_memory

        usable = usable_memory(o.device, os_name=os_name).usable_bytes
        single = evaluate_option(stack, o, os_name, usable)
        machine = complete_build(stack, o, os_name, usable, single)
        if machine is None:
            continue
        for link_name, engine in _link_for(o):
            link = resolve_link(link_name)
            for n in CLUSTER_SIZES:
                models = _evaluate(stack, o, n, link, engine, os_name)
                if models is None or any(m.verdict != Verdict.GPU for m in models):
                    continue
                plans.append(ClusterPlan(name=f"{n} x {machine.name} over {link.name} ({engine})", machine=machine,
                                         nodes=n, link=link.name, engine=engine, link_usd=link_cost_usd(link, n),
                                         models=models, meets=all(m.meets for m in models)))
                if all(m.meets for m in models):
                    break  # more machines of this kind only cost more
    if req.budget_usd is not None:
        plans = [p for p in plans if p.price_usd <= req.budget_usd]
    plans.sort(key=lambda p: (not p.meets, p.price_usd if p.meets else -p.slowest_decode_tokens_per_s))
    out = []
    for p in plans[:5]:
        out.append(_with_why(p, best_single, best_single_tps, stack.min_tps))
    return tuple(out)


def _with_why(p: ClusterPlan, single: Build | None, single_tps: float | None, min_tps: float) -> ClusterPlan:
    from dataclasses import replace

    tps = p.slowest_decode_tokens_per_s
    if single is None or single_tps is None:
        why = (f"no single machine in the catalog holds the stack on its accelerators; {p.nodes} machines hold "
               f"it and decode {tps:.1f} tok/s" + ("" if p.meets else f", short of {min_tps:g}"))
    elif single_tps >= tps and single.price_usd <= p.price_usd:
        why = (f"loses to one {single.name} (${single.price_usd:,.0f}, {single_tps:.1f} tok/s): every token "
               f"crosses the {p.link} link")
    else:
        faster = tps > single_tps
        why = (f"{'beats' if faster else 'trails'} the best single machine ({single.name}: {single_tps:.1f} tok/s, "
               f"${single.price_usd:,.0f}) at {tps:.1f} tok/s for ${p.price_usd:,.0f}")
    return replace(p, why=why)
