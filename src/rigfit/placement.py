"""Placement: which device holds which layers, per engine, and whether the model runs there at all.

Pure functions of a memory breakdown and a list of devices.  The rules follow the engines:

* llama.cpp (and Ollama / LM Studio, which embed it), ``src/llama-model.cpp`` load_tensors: the output layer
  is layer index ``n_layer``; ``i_gpu_start = max(n_layer + 1 - ngl, 0)`` so the output layer is offloaded
  first, then repeating layers from the last one backwards; ``token_embd`` stays in system RAM.  Layers are
  split over GPUs in order, proportional to free memory (or ``--tensor-split``); ``--n-cpu-moe N`` keeps the
  routed experts of the first N layers in RAM.  Each GPU holds its own compute buffer and CUDA context.
* vLLM: tensor parallel shards every layer over ``tp`` GPUs (heads must divide; KV heads are replicated when
  tp > n_kv_heads, ``vllm/model_executor/layers/linear.py``), pipeline parallel splits layers over stages; no
  CPU offload by default.  Each GPU preallocates ``gpu_memory_utilization`` of its memory.
* Unified memory (Apple, Strix Halo, DGX Spark): one pool; the GPU may use what the OS allows
  (``hardware.usable``); beyond that llama.cpp runs the remaining layers on the CPU from the same RAM.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .engines import get_engine
from .errors import InvalidInput
from .hardware.spec import Device
from .memory import MemoryBreakdown
from .models.spec import ModelSpec
from .units import GIB
from .vocab import Backend, ClusterMode, Component, Location, PlacementStyle, Role, Split, Verdict

VERDICTS = tuple(Verdict)
DEFAULT_RAM_BYTES = 64 * GIB  # assumed for a described (not detected) PC when --ram is not given


@dataclass(frozen=True, slots=True, kw_only=True)
class Accelerator:
    """One accelerator as placement sees it: the catalog device and what a program may allocate on it."""

    device: Device
    usable_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePlan:
    name: str
    role: Role
    device: Device | None
    usable_bytes: int
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    overhead_bytes: int
    layers: tuple[int, ...]  # repeating-layer indices held here (tensor parallel: every layer, sharded)
    has_output: bool = False
    expert_layers: tuple[int, ...] = ()  # layers whose routed experts live here while the rest is elsewhere
    shard: int = 1  # tensor-parallel degree: this device holds 1/shard of each of its layers
    node: int = 0  # the cluster node it is in (0: the main host)

    @property
    def used_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.compute_bytes + self.overhead_bytes

    @property
    def fits(self) -> bool:
        return self.used_bytes <= self.usable_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    verdict: Verdict
    engine: str
    split_mode: Split
    n_layers: int
    gpu_layers: int  # llama.cpp -ngl: repeating layers + the output layer on GPUs (n_layer + 1 = all)
    n_cpu_moe: int
    tensor_parallel: int
    pipeline_parallel: int
    devices: tuple[DevicePlan, ...]
    tensor_split: tuple[float, ...] = ()
    ram_bytes: int = 0
    ram_assumed: bool = False
    notes: tuple[str, ...] = field(default=())
    cluster_mode: ClusterMode | None = None  # a plan across machines: how the model is split over them

    @property
    def nodes(self) -> int:
        """Machines holding part of the model."""
        return len({d.node for d in self.devices if d.layers or d.has_output})

    @property
    def accelerators(self) -> tuple[DevicePlan, ...]:
        return tuple(d for d in self.devices if d.role != Role.CPU)

    @property
    def host(self) -> DevicePlan | None:
        return next((d for d in self.devices if d.role == Role.CPU), None)


def ram_usable_bytes(ram_bytes: int) -> int:
    """System RAM a model may use: the OS and desktop keep min(4 GiB, a quarter of RAM)."""
    return max(0, ram_bytes - min(4 * GIB, ram_bytes // 4))


def _layer_costs(mem: MemoryBreakdown) -> list[int]:
    return [lay.weights_bytes + lay.kv_bytes for lay in mem.layers]


def _targets(avail: list[int], split: tuple[float, ...] | None) -> list[float]:
    weights = list(split) if split else [float(max(a, 0)) for a in avail]
    tot = sum(weights) or 1.0
    return [w / tot for w in weights]


def _assign_layers(costs: list[int], out_cost: int, avail: list[int], fractions: list[float],
                   first: int) -> list[list[int]] | None:
    """Layers ``first..n_layer`` (n_layer = output) in order onto GPUs as llama.cpp assigns them: by count, not
    bytes, the k-th of the ngl offloaded units to the first GPU whose cumulative share of ``fractions`` exceeds
    k / ngl (src/llama-model.cpp load_tensors, get_layer_buft_list: upper_bound over the normalized prefix sums of
    the split), so each GPU takes a contiguous run and the output layer counts as one unit; None when some GPU
    would overflow."""
    n = len(costs)
    if len(avail) == 1:  # one GPU takes every unit or fails: both passes below come to that
        need = sum(costs[first:]) + (out_cost if first <= n else 0)
        return [list(range(first, n + 1))] if need <= avail[0] else None
    units = list(range(first, n + 1))
    ngl = len(units)
    out: list[list[int]] = []
    start = 0
    for j, bound in enumerate(itertools.accumulate(fractions)):
        # the slots k with k / ngl < bound go to GPUs 0..j (the last GPU takes the rest)
        end = ngl if j == len(avail) - 1 else min(ngl, max(start, math.ceil(bound * ngl)))
        while end > start and (end - 1) / ngl >= bound and j < len(avail) - 1:
            end -= 1
        while end < ngl and end / ngl < bound and j < len(avail) - 1:
            end += 1
        out.append(units[start:end])
        start = end
    # each GPU's bytes from prefix sums over the units (the output layer's cost last)
    acc = [0, *itertools.accumulate(costs[first:n] + ([out_cost] if first <= n else []))]
    ends = [0, *itertools.accumulate(len(part) for part in out)]
    used = [acc[b] - acc[a] for a, b in itertools.pairwise(ends)]
    if all(u <= a for u, a in zip(used, avail, strict=True)):
        return out
    # proportional split overflowed one card: fill greedily in order instead (llama.cpp --fit does the same)
    out = [[] for _ in avail]
    j, used_j = 0, 0
    for u in units:
        c = out_cost if u == n else costs[u]
        while j < len(avail) and used_j + c > avail[j]:
            j, used_j = j + 1, 0
        if j == len(avail):
            return None
        out[j].append(u)
        used_j += c
    return out


def _fewest(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The smallest value in [lo, hi] for which ``ok`` holds (``ok`` monotone: once true, true above); hi + 1
    when none does."""
    if not ok(hi):
        return hi + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fixed_per_gpu(mem: MemoryBreakdown) -> tuple[int, int, int]:
    """(compute, overhead, other device weights not in a layer) that each GPU / the output GPU holds."""
    compute = mem.total(Component.COMPUTE, Location.DEVICE)
    overhead = mem.total(Component.OVERHEAD, Location.DEVICE)
    layer_w = sum(lay.weights_bytes for lay in mem.layers)
    other = max(0, mem.total(Component.WEIGHTS, Location.DEVICE) - layer_w - mem.output_layer_bytes)
    return compute, overhead, other


def plan_layer_split(mem: MemoryBreakdown, accels: list[Accelerator], *, ram_bytes: int, engine: str,
                     tensor_split: tuple[float, ...] | None = None, allow_cpu: bool = True,
                     allow_cpu_moe: bool = True, gpu_layers: int | None = None,
                     n_cpu_moe: int | None = None) -> Placement:
    """llama.cpp-style placement on discrete GPUs: full offload, --n-cpu-moe, then partial layer offload.
    ``gpu_layers`` / ``n_cpu_moe``: the user's -ngl / --n-cpu-moe, placed as asked (does_not_fit when the
    GPUs cannot hold the rest)."""
    n = len(mem.layers)
    costs = _layer_costs(mem)
    compute, overhead, other = _fixed_per_gpu(mem)
    out_cost = mem.output_layer_bytes + other
    avail = [a.usable_bytes - compute - overhead for a in accels]
    if tensor_split is not None and len(tensor_split) != len(accels):
        raise InvalidInput(f"tensor split has {len(tensor_split)} values for {len(accels)} GPUs")
    fr = _targets(avail, tensor_split)
    host_fixed = mem.total(location=Location.HOST)

    def build(first: int, cpu_moe: int, assign: list[list[int]]) -> Placement:
        devs: list[DevicePlan] = []
        notes: list[str] = []
        moe_moved = range(min(cpu_moe, n))  # --n-cpu-moe: experts of the first cpu_moe layers stay in RAM
        for a, units in zip(accels, assign, strict=True):
            lays = tuple(u for u in units if u < n)
            w = sum(mem.layers[i].weights_bytes - (mem.layers[i].expert_bytes if i < cpu_moe else 0)
                    for i in lays)
            has_out = n in units
            w += (mem.output_layer_bytes + other) if has_out else 0
            kv = sum(mem.layers[i].kv_bytes for i in lays)
            used_any = bool(units)
            devs.append(DevicePlan(name=a.device.name, role=Role.GPU, device=a.device, usable_bytes=a.usable_bytes,
                                   weights_bytes=w, kv_bytes=kv, compute_bytes=compute if used_any else 0,
                                   overhead_bytes=overhead, layers=lays, has_output=has_out))
        cpu_layers = tuple(range(min(first, n))) if first > 0 else ()
        cpu_w = sum(mem.layers[i].weights_bytes for i in cpu_layers)
        cpu_w += sum(mem.layers[i].expert_bytes for i in moe_moved if i >= first)
        cpu_kv = sum(mem.layers[i].kv_bytes for i in cpu_layers)
        if first > n:  # nothing offloaded: the output layer is on the CPU too
            cpu_w += mem.output_layer_bytes + other
        cpu_compute = compute if (first > 0 or cpu_moe) else 0  # the CPU backend gets its own graph buffer
        host_w = mem.total(Component.WEIGHTS, Location.HOST)
        host = DevicePlan(name="system RAM", role=Role.CPU, device=None, usable_bytes=ram_usable_bytes(ram_bytes),
                          weights_bytes=host_w + cpu_w, kv_bytes=cpu_kv,
                          compute_bytes=host_fixed - host_w + cpu_compute, overhead_bytes=0,
                          layers=cpu_layers, has_output=first > n,
                          expert_layers=tuple(i for i in moe_moved if i >= first))
        ngl = n + 1 - first
        if not host.fits:
            verdict = Verdict.DOES_NOT_FIT
            notes.append(f"needs {host.used_bytes / GIB:.1f} GiB of system RAM, "
                         f"{host.usable_bytes / GIB:.1f} GiB usable")
        elif ngl <= 0:
            verdict = Verdict.CPU
        elif first > 0 or cpu_moe:
            verdict = Verdict.PARTIAL_OFFLOAD
        else:
            verdict = Verdict.GPU
        split = Split.LAYER if sum(1 for u in assign if u) > 1 else Split.NONE
        ts = tuple(round(len(units) / max(1, ngl), 3) for units in assign) if len(accels) > 1 else ()
        return Placement(verdict=verdict, engine=engine, split_mode=split, n_layers=n, gpu_layers=max(0, ngl),
                         n_cpu_moe=cpu_moe, tensor_parallel=1, pipeline_parallel=1,
                         devices=(*devs, host), tensor_split=ts, ram_bytes=ram_bytes, notes=tuple(notes))

    def experts_in_ram(k: int) -> list[int]:
        """Each layer's GPU cost when the routed experts of layers 0 .. k - 1 stay in RAM (--n-cpu-moe k)."""
        return [c - (mem.layers[i].expert_bytes if i < k else 0) for i, c in enumerate(costs)]

    if gpu_layers is not None or n_cpu_moe is not None:
        # the user's -ngl (layers n_layer + 1 - ngl .. n_layer on the GPUs) and --n-cpu-moe (the experts of
        # layers 0 .. k - 1 in RAM), placed as asked
        if gpu_layers is not None and not 0 <= gpu_layers <= n + 1:
            raise InvalidInput(f"GPU layers must be between 0 and {n + 1} (the output layer counts), got {gpu_layers}")
        k = min(n, n_cpu_moe or 0)
        first = n + 1 - gpu_layers if gpu_layers is not None else 0
        kc = experts_in_ram(k)
        if gpu_layers is None:  # every layer on the GPUs, split as they fit
            got = _assign_layers(kc, out_cost, avail, fr, 0) or _assign_layers(kc, out_cost, [10**18] * len(avail),
                                                                              fr, 0)
        else:
            got = _assign_layers(kc, out_cost, [10**18] * len(avail), fr, first)
        assert got is not None
        p = build(first, k, got)
        if any(not d.fits for d in p.accelerators):
            what = f"{gpu_layers} layers" if gpu_layers is not None else "the layers"
            what += f" with the experts of {k} in RAM" if n_cpu_moe is not None else ""
            p = replace(p, verdict=Verdict.DOES_NOT_FIT, notes=(*p.notes, f"{what} do not fit in GPU memory"))
        return p
    full = _assign_layers(costs, out_cost, avail, fr, 0)
    if full is not None:
        return build(0, 0, full)
    if allow_cpu and allow_cpu_moe and any(lay.expert_bytes for lay in mem.layers):
        # --n-cpu-moe k: experts of layers 0..k-1 stay in RAM, everything else on the GPUs
        def with_k(k: int) -> list[list[int]] | None:
            return _assign_layers(experts_in_ram(k), out_cost, avail, fr, 0)

        # more layers' experts in RAM only frees GPU memory, so the fewest that fit is found by bisection
        k = _fewest(1, n, lambda k: with_k(k) is not None)
        got = with_k(k) if k <= n else None
        if got is not None:
            p = build(0, k, got)
            if p.host is not None and p.host.fits:
                return p
    if allow_cpu:
        first = _fewest(1, n + 1, lambda f: _assign_layers(costs, out_cost, avail, fr, f) is not None)
        got = _assign_layers(costs, out_cost, avail, fr, first) if first <= n + 1 else None
        if got is not None:
            return build(first, 0, got)
    notes = [] if allow_cpu else [f"{engine} does not offload to the CPU"]
    over = [DevicePlan(name=a.device.name, role=Role.GPU, device=a.device, usable_bytes=a.usable_bytes,
                       weights_bytes=0, kv_bytes=0, compute_bytes=compute, overhead_bytes=overhead, layers=())
            for a in accels]
    need = sum(costs) + out_cost
    notes.append(f"layers need {need / GIB:.1f} GiB, the GPUs have {max(0, sum(avail)) / GIB:.1f} GiB after "
                 f"buffers")
    return Placement(verdict=Verdict.DOES_NOT_FIT, engine=engine, split_mode=Split.NONE, n_layers=n, gpu_layers=0,
                     n_cpu_moe=0, tensor_parallel=1, pipeline_parallel=1, devices=tuple(over),
                     ram_bytes=ram_bytes, notes=tuple(notes))


def plan_cpu_only(mem: MemoryBreakdown, *, ram_bytes: int, engine: str, ram_assumed: bool = False) -> Placement:
    n = len(mem.layers)
    need = mem.total_bytes - mem.total(Component.OVERHEAD)
    host = DevicePlan(name="system RAM", role=Role.CPU, device=None, usable_bytes=ram_usable_bytes(ram_bytes),
                      weights_bytes=mem.weights_bytes, kv_bytes=mem.kv_cache_bytes,
                      compute_bytes=need - mem.weights_bytes - mem.kv_cache_bytes, overhead_bytes=0,
                      layers=tuple(range(n)), has_output=True)
    verdict = Verdict.CPU if host.fits else Verdict.DOES_NOT_FIT
    return Placement(verdict=verdict, engine=engine, split_mode=Split.CPU, n_layers=n, gpu_layers=0, n_cpu_moe=0,
                     tensor_parallel=1, pipeline_parallel=1, devices=(host,), ram_bytes=ram_bytes,
                     ram_assumed=ram_assumed)


def plan_unified(mem: MemoryBreakdown, accel: Accelerator, *, engine: str, allow_cpu: bool) -> Placement:
    """One memory pool: the GPU may use ``usable_bytes``; llama.cpp runs what does not fit on the CPU from the
    same RAM (MLX cannot: it errors when the working set is exceeded)."""
    n = len(mem.layers)
    total = mem.total_bytes
    ram = accel.device.memory_bytes
    gpu = DevicePlan(name=accel.device.name, role=Role.UNIFIED, device=accel.device, usable_bytes=accel.usable_bytes,
                     weights_bytes=mem.weights_bytes, kv_bytes=mem.kv_cache_bytes, compute_bytes=mem.compute_bytes,
                     overhead_bytes=mem.overhead_bytes, layers=tuple(range(n)), has_output=True)
    base = dict(engine=engine, n_layers=n, n_cpu_moe=0, tensor_parallel=1, pipeline_parallel=1, ram_bytes=ram)
    if mem.run.backend == Backend.CPU:
        # llama.cpp's CPU backend on the SoC (a Snapdragon, a Raspberry Pi): the model sits in the one RAM beside
        # the OS, no GPU working-set limit applies, and no layer runs on the GPU
        cpu = replace(gpu, usable_bytes=ram_usable_bytes(ram))
        return Placement(verdict=Verdict.CPU if cpu.fits else Verdict.DOES_NOT_FIT, split_mode=Split.UNIFIED,
                         gpu_layers=0, devices=(cpu,), **base)  # type: ignore[arg-type]
    if total <= accel.usable_bytes:
        return Placement(verdict=Verdict.GPU, split_mode=Split.UNIFIED, gpu_layers=n + 1, devices=(gpu,), **base)  # type: ignore[arg-type]
    os_left = ram - min(4 * GIB, ram // 4)
    if allow_cpu and total <= os_left:
        costs = _layer_costs(mem)
        fixed = total - sum(costs) - mem.output_layer_bytes
        room = accel.usable_bytes - fixed - mem.output_layer_bytes
        first = n
        while first > 0 and costs[first - 1] <= room:
            room -= costs[first - 1]
            first -= 1
        g_lay = tuple(range(first, n))
        gw = sum(mem.layers[i].weights_bytes for i in g_lay) + mem.output_layer_bytes
        gkv = sum(mem.layers[i].kv_bytes for i in g_lay)
        gpu = DevicePlan(name=accel.device.name, role=Role.UNIFIED, device=accel.device,
                         usable_bytes=accel.usable_bytes, weights_bytes=gw, kv_bytes=gkv,
                         compute_bytes=mem.compute_bytes, overhead_bytes=mem.overhead_bytes, layers=g_lay,
                         has_output=True)
        cw = mem.weights_bytes - gw
        ckv = mem.kv_cache_bytes - gkv
        host = DevicePlan(name="CPU (same memory)", role=Role.CPU, device=None, usable_bytes=os_left - gpu.used_bytes,
                          weights_bytes=cw, kv_bytes=ckv, compute_bytes=0, overhead_bytes=0,
                          layers=tuple(range(first)))
        return Placement(verdict=Verdict.PARTIAL_OFFLOAD, split_mode=Split.UNIFIED, gpu_layers=n + 1 - first,
                         devices=(gpu, host), notes=("beyond the GPU working-set limit: the first "
                                                     f"{first} layers run on the CPU from the same RAM",), **base)  # type: ignore[arg-type]
    return Placement(verdict=Verdict.DOES_NOT_FIT, split_mode=Split.UNIFIED, gpu_layers=0, devices=(gpu,),
                     notes=(f"needs {total / GIB:.1f} GiB, the GPU may use {accel.usable_bytes / GIB:.1f} GiB",),
                     **base)  # type: ignore[arg-type]


def vllm_parallel_sizes(spec: ModelSpec, n_gpus: int, tensor_parallel: int | None,
                        pipeline_parallel: int | None) -> tuple[int, int]:
    """(tp, pp) with tp * pp == n_gpus; vLLM requires n_heads % tp == 0 and, for KV heads, either
    n_kv_heads % tp == 0 or tp % n_kv_heads == 0 (replication), vllm/model_executor/models/llama.py."""
    def ok(tp: int) -> bool:
        kv = spec.n_kv_heads
        return spec.n_heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)

    if tensor_parallel is not None or pipeline_parallel is not None:
        tp = tensor_parallel or max(1, n_gpus // (pipeline_parallel or 1))
        pp = pipeline_parallel or max(1, n_gpus // tp)
        if tp * pp != n_gpus:
            raise InvalidInput(f"tensor parallel {tp} x pipeline parallel {pp} = {tp * pp}, "
                               f"but there are {n_gpus} GPUs")
        if not ok(tp):
            raise InvalidInput(f"tensor parallel size {tp} does not divide {spec.name}'s {spec.n_heads} attention "
                               f"heads / {spec.n_kv_heads} KV heads; valid sizes: "
                               f"{', '.join(str(t) for t in range(1, n_gpus + 1) if ok(t) and n_gpus % t == 0)}")
        if pp > spec.n_layers:
            raise InvalidInput(f"pipeline parallel {pp} exceeds the model's {spec.n_layers} layers")
        return tp, pp
    tp = max(t for t in range(1, n_gpus + 1) if n_gpus % t == 0 and ok(t))
    return tp, n_gpus // tp


def plan_vllm(spec: ModelSpec, mem: MemoryBreakdown, accels: list[Accelerator], *, ram_bytes: int, engine: str,
              tensor_parallel: int | None = None, pipeline_parallel: int | None = None) -> Placement:
    """Per GPU: weights / (tp * pp), the KV one max_model_len request needs / (tp * pp) (x tp / n_kv_heads when
    KV heads are replicated), the activation peak and the runtime overhead; all within
    gpu_memory_utilization x memory (vllm/v1/worker/gpu_worker.py determine_available_memory)."""
    n_gpus = len(accels)
    tp, pp = vllm_parallel_sizes(spec, n_gpus, tensor_parallel, pipeline_parallel)
    n = spec.n_layers
    util = mem.run.gpu_memory_utilization
    run_kv = sum(lay.kv_bytes for lay in mem.layers)  # one max_model_len sequence, unsharded
    replicate = max(1, tp // spec.n_kv_heads) if tp > spec.n_kv_heads else 1
    compute = mem.total(Component.COMPUTE, Location.DEVICE)
    overhead = mem.total(Component.OVERHEAD, Location.DEVICE)
    weights = mem.total(Component.WEIGHTS, Location.DEVICE)
    per_stage = [list(range(s * n // pp, (s + 1) * n // pp)) for s in range(pp)]
    non_layer = weights - sum(lay.weights_bytes for lay in mem.layers)
    devs: list[DevicePlan] = []
    fits = True
    for i, a in enumerate(accels):
        stage_no = i // tp
        stage = per_stage[stage_no]
        share_w = sum(mem.layers[j].weights_bytes for j in stage) // tp
        if stage_no in (0, pp - 1):  # embeddings on the first stage, the head on the last
            share_w += non_layer // tp // (1 if pp == 1 else 2)
        kv_need = sum(mem.layers[j].kv_bytes for j in stage) * replicate // tp
        budget = int(a.device.memory_bytes * util)
        pool = budget - share_w - compute - overhead
        ok = pool >= kv_need
        fits = fits and ok
        devs.append(DevicePlan(name=a.device.name, role=Role.GPU, device=a.device, usable_bytes=budget,
                               weights_bytes=share_w, kv_bytes=pool if ok else kv_need, compute_bytes=compute,
                               overhead_bytes=overhead, layers=tuple(stage), has_output=stage_no == pp - 1,
                               shard=tp))
    who = f"one {mem.run.context_tokens:,}-token request's KV cache" if mem.run.n_seq == 1 else \
        f"the KV cache of {mem.run.n_seq} requests of {mem.run.context_tokens:,} tokens"
    notes = [] if fits else [f"{who} ({run_kv / GIB:.2f} GiB unsharded) does not fit next to the weights"]
    split = Split.TENSOR if tp > 1 and pp == 1 else Split.PIPELINE if pp > 1 and tp == 1 else \
        Split.TENSOR_PIPELINE if tp > 1 else Split.NONE
    return Placement(verdict=Verdict.GPU if fits else Verdict.DOES_NOT_FIT, engine=engine, split_mode=split, n_layers=n,
                     gpu_layers=n + 1 if fits else 0, n_cpu_moe=0, tensor_parallel=tp, pipeline_parallel=pp,
                     devices=tuple(devs), ram_bytes=ram_bytes, notes=tuple(notes))


def plan(spec: ModelSpec, mem: MemoryBreakdown, accels: list[Accelerator], *, ram_bytes: int | None = None,
         tensor_split: tuple[float, ...] | None = None, tensor_parallel: int | None = None,
         pipeline_parallel: int | None = None, cpu_moe: bool = True, gpu_layers: int | None = None,
         n_cpu_moe: int | None = None) -> Placement:
    """Place the model for ``mem.run.engine`` on ``accels`` (empty: CPU only), by the engine's placement
    rules."""
    eng = get_engine(mem.run.engine)
    rules = eng.placement
    engine = eng.name
    unified = [a for a in accels if a.device.unified]
    assumed = ram_bytes is None
    if not accels:
        ram = ram_bytes or DEFAULT_RAM_BYTES
        return plan_cpu_only(mem, ram_bytes=ram, engine=engine, ram_assumed=assumed)
    if unified:
        if len(accels) > 1:
            raise InvalidInput("a unified-memory system (Mac, Strix Halo, DGX Spark) is planned on its own; "
                               "give one hardware entry")
        return plan_unified(mem, unified[0], engine=engine, allow_cpu=rules.cpu_offload)
    ram = ram_bytes or DEFAULT_RAM_BYTES
    if rules.style == PlacementStyle.UNIFIED_ONLY:
        raise InvalidInput(f"{eng.title} runs on Apple silicon only; choose an Apple device or another engine")
    if rules.style == PlacementStyle.TENSOR_PARALLEL:
        p = plan_vllm(spec, mem, accels, ram_bytes=ram, engine=engine, tensor_parallel=tensor_parallel,
                      pipeline_parallel=pipeline_parallel)
    else:
        if tensor_parallel not in (None, 1):
            raise InvalidInput(f"{eng.title} has no tensor parallelism (vLLM has)",
                               options=("tensor_parallel", "engine"))
        p = plan_layer_split(mem, accels, ram_bytes=ram, engine=engine, tensor_split=tensor_split,
                             allow_cpu=rules.cpu_offload, allow_cpu_moe=cpu_moe and rules.expert_offload,
                             gpu_layers=gpu_layers, n_cpu_moe=n_cpu_moe)
    if assumed:
        p = replace(p, ram_assumed=True,
                    notes=(*p.notes, f"system RAM assumed {DEFAULT_RAM_BYTES // GIB} GiB (not given)"))
    return p


def plan_cluster(spec: ModelSpec, mem: MemoryBreakdown, nodes: list[list[Accelerator]], *, mode: ClusterMode,
                 ram_bytes: int | None = None) -> Placement:
    """Place the model over the accelerators of several machines (``nodes[0]`` is the main host) by the
    engine's cluster rules (``Engine.cluster``): a pipeline puts contiguous layers on each device in order,
    by memory (llama.cpp RPC lists the workers' devices first, so the main host runs the last layers and the
    output); vLLM shards each node's layers over its GPUs and pipelines the nodes; tensor mode shards every
    layer over the machines.  Nothing is offloaded to a CPU across machines."""
    eng = get_engine(mem.run.engine)
    rules = eng.cluster
    assert rules is not None
    ram = ram_bytes or DEFAULT_RAM_BYTES
    if mode == ClusterMode.TENSOR:
        return _plan_cluster_tensor(spec, mem, nodes, ram_bytes=ram, engine=eng.name)
    order = list(range(len(nodes)))
    if rules.main_host_last:
        order = order[1:] + order[:1]
    flat = [(i, a) for i in order for a in nodes[i]]
    accels = [a for _, a in flat]
    if rules.tp_within_node:
        counts = {len(n) for n in nodes}
        if len(counts) != 1:
            raise InvalidInput(f"{eng.title} runs tensor parallel over each node's GPUs and needs the same number "
                               f"of GPUs on every node; these have {', '.join(str(len(n)) for n in nodes)}",
                               options=("nodes", "engine"))
        p = plan_vllm(spec, mem, accels, ram_bytes=ram, engine=eng.name, tensor_parallel=len(nodes[0]),
                      pipeline_parallel=len(nodes))
    else:
        p = plan_layer_split(mem, accels, ram_bytes=ram, engine=eng.name, allow_cpu=False, allow_cpu_moe=False)
    node_of = [i for i, _ in flat]
    devs = tuple(replace(d, node=node_of[k]) if k < len(node_of) and d.role != Role.CPU else d
                 for k, d in enumerate(p.devices))
    split = p.split_mode if p.split_mode != Split.NONE else Split.LAYER
    return replace(p, devices=devs, cluster_mode=ClusterMode.PIPELINE, split_mode=split)


def _plan_cluster_tensor(spec: ModelSpec, mem: MemoryBreakdown, nodes: list[list[Accelerator]], *,
                         ram_bytes: int, engine: str) -> Placement:
    """Every layer sharded over the machines (one device each): 1/N of the weights and of the KV heads per
    machine, the whole compute buffer and runtime on each (exo placement.py: tensor sharding needs the
    hidden size and the KV heads divisible by the machine count)."""
    n_nodes = len(nodes)
    if any(len(n) != 1 for n in nodes):
        raise InvalidInput("tensor sharding across machines takes one device per machine", options=("nodes",))
    if spec.hidden_size % n_nodes or spec.n_kv_heads % n_nodes:
        raise InvalidInput(f"tensor sharding over {n_nodes} machines needs the hidden size ({spec.hidden_size}) and "
                           f"the KV heads ({spec.n_kv_heads}) of {spec.name} divisible by {n_nodes}; use pipeline "
                           "sharding", options=("cluster_mode", "nodes"))
    n = len(mem.layers)
    compute, overhead, _ = _fixed_per_gpu(mem)
    weights = mem.total(Component.WEIGHTS, Location.DEVICE) + mem.total(Component.WEIGHTS, Location.HOST)
    kv = sum(lay.kv_bytes for lay in mem.layers)
    devs = []
    for i, node in enumerate(nodes):
        a = node[0]
        devs.append(DevicePlan(name=a.device.name, role=Role.UNIFIED if a.device.unified else Role.GPU,
                               device=a.device, usable_bytes=a.usable_bytes, weights_bytes=-(-weights // n_nodes),
                               kv_bytes=-(-kv // n_nodes), compute_bytes=compute, overhead_bytes=overhead,
                               layers=tuple(range(n)), has_output=True, shard=n_nodes, node=i))
    fits = all(d.fits for d in devs)
    notes = () if fits else (f"1/{n_nodes} of the model needs {devs[0].used_bytes / GIB:.1f} GiB per machine, "
                             f"{min(d.usable_bytes for d in devs) / GIB:.1f} GiB usable",)
    return Placement(verdict=Verdict.GPU if fits else Verdict.DOES_NOT_FIT, engine=engine, split_mode=Split.TENSOR,
                     n_layers=n, gpu_layers=n + 1 if fits else 0, n_cpu_moe=0, tensor_parallel=n_nodes,
                     pipeline_parallel=1, devices=tuple(devs), ram_bytes=ram_bytes, notes=notes,
                     cluster_mode=ClusterMode.TENSOR)
