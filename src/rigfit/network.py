"""The network's share of a plan across machines: what each generated token and each prompt micro-batch waits
for between the machines, from the engine's cluster rules (``engines.base.ClusterRules``) and the link.
``speed.estimate_speed`` adds it to the machines' own compute."""

from __future__ import annotations

from dataclasses import dataclass

from .engines import get_engine
from .models.spec import ModelSpec
from .placement import Placement
from .system import PCIE_X16_GB_S, System, gpu_host_gb_s
from .vocab import ClusterMode

# The share of a GPU's PCIe link (per direction) that a ring all-reduce's bus bandwidth reaches between GPUs of one
# machine: 35 GB/s of PCIe 5.0 x16's 63 on four RTX 5090s (nccl-tests all_reduce_perf, NVIDIA/nccl#1639, 2025);
# GeForce cards have no peer-to-peer copies, so NCCL stages through host memory.  With peer-to-peer (a patched
# driver) four RTX 4090s reach 25.8 of PCIe 4.0's 31.5 (tinygrad/open-gpu-kernel-modules#36): 0.82, an upper end
AR_PCIE_SHARE = 0.55


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkTerms:
    """What a plan across machines adds for its network (``engines.base.ClusterRules``)."""

    decode_s: float  # per generated token (pipeline hops, or every layer's all-reduces in tensor mode)
    prefill_ubatch_s: float  # per prompt micro-batch
    allreduce_s: float | None  # tensor mode: one all-reduce over the network (replaces the in-node cost)
    note: str
    prior: bool
    overlapped: bool = True  # prompt micro-batches overlap across the machines' stages


def plan_nvlink(plan: Placement) -> bool:
    """Every accelerator of the plan has NVLink (the catalog's flag, where no System says how they are joined)."""
    return all(d.device is not None and d.device.nvlink for d in plan.accelerators)


def tp_allreduce_token_s(spec: ModelSpec, plan: Placement, system: System | None) -> float:
    """Seconds one in-machine tensor-parallel all-reduce adds per token it carries: the ring's 2 (N - 1) / N of
    the token's activations (hidden size x the engine's activation bytes; Patarasuk & Yuan 2009) over the
    slowest GPU's PCIe link at AR_PCIE_SHARE.  A prompt's micro-batch carries thousands of tokens, so over PCIe
    this is most of a tensor-parallel prefill's cost on consumer cards; over NVLink (hundreds of GB/s per GPU)
    the bytes are left out and the all-reduce's fixed cost (speed.decode_time_s) stands."""
    n = plan.tensor_parallel
    if n < 2 or (system.nvlink if system is not None else plan_nvlink(plan)):
        return 0.0
    rates = [gpu_host_gb_s(system, d.device) or PCIE_X16_GB_S[4] for d in plan.accelerators if d.device is not None]
    if not rates:
        return 0.0
    rules = get_engine(plan.engine).cluster
    act = spec.hidden_size * (rules.activation_bytes if rules is not None else 2)
    return 2 * (n - 1) / n * act / (min(rates) * AR_PCIE_SHARE * 1e9)


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
