"""The network's share of a plan across machines: what each generated token and each prompt micro-batch waits
for between the machines, from the engine's cluster rules (``engines.base.ClusterRules``) and the link.
``speed.estimate_speed`` adds it to the machines' own compute."""

from __future__ import annotations

from dataclasses import dataclass

from .engines import get_engine
from .models.spec import ModelSpec
from .placement import Placement
from .system import System
from .vocab import ClusterMode


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkTerms:
    """What a plan across machines adds for its network (``engines.base.ClusterRules``)."""

    decode_s: float  # per generated token (pipeline hops, or every layer's all-reduces in tensor mode)
    prefill_ubatch_s: float  # per prompt micro-batch
    allreduce_s: float | None  # tensor mode: one all-reduce over the network (replaces the in-node cost)
    note: str
    prior: bool
    overlapped: bool = True  # prompt micro-batches overlap across the machines' stages


def network_terms(spec: ModelSpec, plan: Placement, system: System, n_ubatch: int) -> NetworkTerms | None:
    """The network's share of a cluster plan's token and prompt times, from the engine's cluster rules and the
    link: pipeline boundaries pay round trips plus the activations; tensor mode pays two all-reduces per
    layer (Megatron-LM, Shoeybi et al. 2019), each a fixed cost plus (N - 1) round trips plus the ring's
    2 (N - 1) / N of the activations (Patarasuk & Yuan 2009)."""
    link = system.network_link
    rules = get_engine(plan.engine).cluster
    if link is None or rules is None or plan.cluster_mode is None or plan.nodes < 2:
        return None
    rtt = (link.rtt_us or 0.0) * 1e-6
    bw = (link.gb_s or 1.0) * 1e9
    act = spec.hidden_size * rules.activation_bytes
    n = plan.nodes
    if plan.cluster_mode == ClusterMode.TENSOR:
        def allreduce(tokens: int) -> float:
            return rules.allreduce_overhead_s + (n - 1) * rtt + 2 * (n - 1) / n * tokens * act / bw
        per = allreduce(1)
        dec = 2 * plan.n_layers * per
        pre = 2 * plan.n_layers * allreduce(n_ubatch)
        note = (f"{n} machines, tensor sharding over {link.name}: {2 * plan.n_layers} all-reduces per token, "
                f"{per * 1e6:.0f} us each")
        return NetworkTerms(decode_s=0.0, prefill_ubatch_s=pre, allreduce_s=per, note=note, prior=not rules.fitted)
    hops = n - 1
    hop = rules.round_trips_per_hop * rtt + act / bw + rules.hop_overhead_s
    dec = rules.remote_overhead_s + hops * hop
    pre = hops * (rules.round_trips_per_hop * rtt + n_ubatch * act / bw + rules.hop_overhead_s)
    note = (f"{n} machines, pipeline over {link.name}: {hops} network hop{'s' if hops > 1 else ''}, "
            f"{dec * 1000:.1f} ms per token")
    return NetworkTerms(decode_s=dec, prefill_ubatch_s=pre, allreduce_s=None, note=note, prior=not rules.fitted,
                        overlapped=rules.overlapped)
