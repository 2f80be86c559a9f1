"""The pipeline: one validated ``FitRequest`` in, one ``FitResult`` out.

``fit(request)`` is the only entry: resolve the quant -> estimate memory -> place it on the request's System ->
estimate speed.  A request that asks for a search (the best quant, the largest context) is answered by the
same entry, which runs the plain plan at each step of the search.  ``rigfit.fit(model, **options)`` is the
keyword convenience wrapper for scripts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .calibration import Calibration
from .cost import RunningCost, running_cost
from .engines import Engine
from .errors import InvalidInput, UnknownQuant
from .memory import MemoryBreakdown, estimate_memory, make_run_config, weights_total_bytes
from .models.spec import ModelSpec, first_layers
from .quality import near_lossless, relative_loss
from .quant import GGML_TYPES, GGUF_FILE_TYPES, GGUFFileType, QuantScheme, resolve_quant
from .ranking import USABLE_TOKENS_PER_S, rank_runs
from .request import FitRequest, Search, SplitMode, make_request, with_plan
from .system import System, SystemDevice, make_system
from .tensorformats import TensorFormat
from .vocab import Backend, ClusterMode, Split, Verdict, WeightFormat

if TYPE_CHECKING:  # placement and speed load when a plan has hardware: a memory-only fit starts faster
    from .placement import Placement
    from .speed import SpeedEstimate

DEFAULT_STACK = ("Qwen2.5-Coder-32B-Instruct", "DeepSeek-R1-Distill-Qwen-32B")  # the guides' model stack
MAX_CONTEXT_STEP = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class FitResult:
    spec: ModelSpec
    quant: QuantScheme
    engine: Engine
    memory: MemoryBreakdown
    request: FitRequest
    system: System | None = None
    placement: Placement | None = None  # with hardware
    speed: SpeedEstimate | None = None
    speed_unknown: str = ""  # why there is no speed estimate
    cost: RunningCost | None = None  # running cost of generating, with hardware and a speed
    cost_unknown: str = ""  # why there is no running cost

    @property
    def devices(self) -> tuple[SystemDevice, ...]:
        """The devices of the system planned on (none without hardware)."""
        return self.system.devices if self.system is not None else ()


def native_quant(spec: ModelSpec, engine: Engine) -> QuantScheme | None:
    """The format the model is published in as ``engine`` loads it (gpt-oss's MXFP4 experts: llama.cpp's
    MXFP4_MOE file type, vLLM's MXFP4 checkpoint); None where the model names none or the engine loads
    neither."""
    if not spec.native_quant:
        return None
    try:
        q = resolve_quant(spec.native_quant, prefer=engine.weights.value)
    except UnknownQuant:
        return None
    return q if engine.loads(q) else None


def pick_quant(spec: ModelSpec, engine: Engine, quant: str | None) -> QuantScheme:
    prefer = engine.weights.value
    native = native_quant(spec, engine)
    if quant:
        q = resolve_quant(engine.quant_name(quant), prefer=prefer)
        if isinstance(q, TensorFormat) and q.checkpoint_only and q != native and engine.loads(q):
            raise InvalidInput(f"{engine.title} loads {q.name} weights only from a checkpoint published in them "
                               f"(gpt-oss); {spec.name} is not: pick another quantization",
                               options=("quant", "model"))
        return q
    if spec.gguf is not None and engine.weights == WeightFormat.GGUF and spec.gguf.file_type in GGUF_FILE_TYPES:
        return GGUF_FILE_TYPES[spec.gguf.file_type]  # a GGUF file is sized as it is
    if native is not None:
        return native  # the format the model ships in (gpt-oss: MXFP4 experts)
    return resolve_quant(engine.default_quant, prefer=prefer)


def fit(request: FitRequest) -> FitResult:
    """The plan for ``request``: itemized memory, and with a system the placement and speed; for a search
    request, the plan the search settles on."""
    request, raised = _context_holding(request)
    r = _searched(request)
    if raised and r.placement is not None:
        why = (f"context {request.context_tokens:,}: holds the {request.timed_context_tokens:,} tokens of depth, "
               f"prompt and answer, above {raised:,}, the engine's default")
        r = replace(r, placement=replace(r.placement, notes=(why, *r.placement.notes)))
    return r


def _context_holding(req: FitRequest) -> tuple[FitRequest, int]:
    """``req`` with a context that holds its depth, prompt and answer where none is asked for and the engine's own
    first choice for the machine is smaller (as llama-bench sizes its context: n_ctx = depth + prompt + answer,
    tools/llama-bench/llama-bench.cpp), rounded up to 256 tokens, and the default it replaced; else ``req`` and 0.
    An asked-for context too small for them is refused when the request is made (request.timed_tokens)."""
    if req.context_tokens is not None or req.search == Search.MAX_CONTEXT:
        return req, 0
    first, _ = _first_choice(req)
    if req.timed_context_tokens <= first:
        return req, 0
    return replace(req, context_tokens=_context_steps(req) * MAX_CONTEXT_STEP), first


def _context_steps(req: FitRequest) -> int:
    """The fewest MAX_CONTEXT_STEP-token steps of context that hold the request's depth, prompt and answer."""
    return -(-req.timed_context_tokens // MAX_CONTEXT_STEP)


def _searched(request: FitRequest) -> FitResult:
    """The plan for ``request`` as its search asks (none: the plan itself)."""
    if request.search == Search.BEST_QUANT:
        return _best_quant(request)
    if request.search == Search.MAX_CONTEXT:
        return _max_context(request)
    if request.search == Search.MAX_USERS:
        return _max_users(request)
    if request.context_tokens is None and request.system is not None and not request.system.is_cluster:
        return _engine_context(request)
    return _plan(request)


def _engine_context(req: FitRequest) -> FitResult:
    """The plan at the context (and batch) the engine picks itself for this machine when none is asked for:
    Ollama's default context follows the GPUs' memory and steps down when the model does not load, its batch
    follows the context (Engine.context_choices, Engine.batch_for); one plan at the engine's default else."""
    eng, system = req.engine, req.system
    assert system is not None
    gpu_bytes = _gpu_bytes(system)
    choices = eng.context_choices(req.model, gpu_bytes)
    if len(choices) == 1 and not choices[0][1]:
        return _plan(req)  # the engine's one default context and batch
    r: FitResult | None = None
    for ctx, why in choices:  # each sequence's context (RunConfig.context_tokens)
        r = _plan(replace(req, context_tokens=ctx))
        if req.n_batch is None:
            run = r.memory.run
            nb = eng.batch_for(ctx * run.n_seq, r.memory.total_bytes, gpu_bytes, run)
            if nb != run.n_batch:
                r = _plan(replace(req, context_tokens=ctx, n_batch=nb))
        if why and r.placement is not None:
            r = replace(r, placement=replace(r.placement, notes=(f"context {ctx:,}: {why}", *r.placement.notes)))
        if r.placement is None or r.placement.verdict != Verdict.DOES_NOT_FIT:
            break
    assert r is not None
    return r


def _plan(req: FitRequest) -> FitResult:
    spec, eng, system = req.model, req.engine, req.system
    gpu_memory_bytes = req.gpu_memory_bytes
    if system is not None and system.devices and not gpu_memory_bytes and "gpu_memory_bytes" in eng.settings:
        gpu_memory_bytes = system.devices[0].device.memory_bytes  # the engine sizes its memory pool from it
    q = pick_quant(spec, eng, req.quant)
    run, warnings = make_run_config(spec, eng, context_tokens=req.context_tokens, kv_cache_type=req.kv_cache_type,
                                    kv_cache_type_v=req.kv_cache_type_v,
                                    flash_attention=req.flash_attention, n_batch=req.n_batch, n_ubatch=req.n_ubatch,
                                    n_seq=req.n_seq, backend=req.run_backend, gpu_memory_bytes=gpu_memory_bytes,
                                    gpu_memory_utilization=req.gpu_memory_utilization, swa_full=req.swa_full,
                                    logits_all=req.logits_all, mmproj=req.mmproj, op_offload=req.op_offload,
                                    n_threads=req.n_threads)
    mem = estimate_memory(spec, q, run, warnings)
    if system is None:
        return FitResult(spec=spec, quant=q, engine=eng, memory=mem, request=req)
    from .placement import Accelerator, plan
    from .speed import estimate_speed
    from .speedwork import SpeedUnknown

    if system.is_cluster:
        from .placement import plan_cluster

        nodes = [[Accelerator(device=sd.device, usable_bytes=sd.usable.usable_bytes)
                  for sd in node.devices if sd.device.kind != "cpu" for _ in range(sd.count)]
                 for node in system.nodes]
        placement = plan_cluster(spec, mem, nodes, mode=req.cluster_mode or cluster_mode_for(spec, eng, system),
                                 ram_bytes=system.ram_bytes)
    else:
        accels = [Accelerator(device=sd.device, usable_bytes=sd.usable.usable_bytes)
                  for sd in _engaged(system) for _ in range(sd.count)]
        placement = plan(spec, mem, accels, ram_bytes=system.ram_bytes, tensor_split=req.tensor_split,
                         tensor_parallel=req.tensor_parallel, pipeline_parallel=req.pipeline_parallel,
                         cpu_moe=req.cpu_moe, gpu_layers=req.gpu_layers, n_cpu_moe=req.n_cpu_moe)
    if req.split_mode == SplitMode.ROW:
        placement = replace(placement, split_mode=Split.ROW)
    if system.notes:
        placement = replace(placement, notes=(*system.notes, *placement.notes))
    if spec.resolved_from:
        why = spec.resolved_via or "the catalog model its name contains"
        placement = replace(placement, notes=(f"{spec.resolved_from!r} is planned as {spec.name}, {why} (same "
                                              "architecture and size)", *placement.notes))
    if placement.tensor_parallel * placement.pipeline_parallel > 1 and mem.pool_warning:
        # the memory model's startup check is for one GPU; the parallel plan checks each GPU's share itself
        mem = replace(mem, pool_warning="")
    sp = estimate_speed(spec, mem, placement, prompt_tokens=req.prompt_tokens, gen_tokens=req.gen_tokens,
                        depth_tokens=req.depth_tokens,
                        cpu_bandwidth_gb_s=req.cpu_bandwidth_gb_s, build=req.llamacpp_build,
                        system=system)
    speed = None if isinstance(sp, SpeedUnknown) else sp
    if speed is not None and req.calibration is not None:
        from .calibration import apply_correction, machine_key

        corr = req.calibration.find(machine_key(system), eng.name, str(mem.run.backend))
        if corr is not None:
            speed = apply_correction(speed, corr)
    if speed is not None and eng.request_overhead_s and speed.time_to_first_token_s is not None:
        extra = eng.request_overhead_s
        speed = replace(speed, time_to_first_token_s=speed.time_to_first_token_s + extra,
                        total_time_s=None if speed.total_time_s is None else speed.total_time_s + extra,
                        notes=(*speed.notes, f"first token includes {extra * 1000:.0f} ms of {eng.title}'s "
                                             f"request latency ({eng.request_overhead_source})"))
    cost = running_cost([(sd.device, sd.count) for sd in _engaged(system)],
                        speed.aggregate_decode_tokens_per_s if speed else None, req.kwh_price_usd)
    return FitResult(spec=spec, quant=q, engine=eng, memory=mem, request=req, system=system, placement=placement,
                     speed=speed, speed_unknown=sp.reason if isinstance(sp, SpeedUnknown) else "",
                     cost=None if isinstance(cost, str) else cost, cost_unknown=cost if isinstance(cost, str) else "")


def cluster_mode_for(spec: ModelSpec, eng: Engine, system: System) -> ClusterMode:
    """The split a cluster plan uses when the request names none: tensor sharding where the engine has it,
    the link is RDMA (per-layer all-reduces need its round trips of microseconds), every machine holds one
    device and the model divides over them; else the engine's default (a pipeline)."""
    rules = eng.cluster
    assert rules is not None
    link = system.network_link
    n = len(system.nodes)
    if (ClusterMode.TENSOR in rules.modes and link is not None and link.rdma
            and all(sum(sd.count for sd in node.devices if sd.device.kind != "cpu") == 1 for node in system.nodes)
            and spec.hidden_size % n == 0 and spec.n_kv_heads % n == 0):
        return ClusterMode.TENSOR
    return rules.default_mode


def fit_model(model: str | ModelSpec, **options: Any) -> FitResult:
    """``fit(make_request(model, **options))``: the keyword form (``rigfit.fit``)."""
    return fit(make_request(model, **options))


def quant_ladder(engine: str | Engine) -> tuple[str, ...]:
    """The quants the best-quant search tries for ``engine``, best quality first (more bits per weight =
    closer to the original weights; llama.cpp's quantize table ranks its types by perplexity the same way)."""
    from .engines import get_engine

    return (get_engine(engine) if isinstance(engine, str) else engine).quant_ladder


QUALITY_FLOOR = 0.15  # relative perplexity increase past which a quant is a last resort (below Q3_K_S)


def _best_quant(req: FitRequest) -> FitResult:
    """The highest-quality quant whose verdict is the best reachable one (gpu before partial offload
    before cpu) at the requested context; when only offload is reachable, the engine's usual quant if it
    gets there (higher ones are slower still); when nothing fits, the smallest.  Verdicts only improve as
    bits fall, so the ladder is searched by bisection."""
    req = _engine_first_context(req)
    prefer = req.engine.weights.value
    # best quality first: GGUF types by llama.cpp's published perplexity increase (quality.py); other formats
    # by the bytes computed for this model (vLLM's GPTQ checkpoints are larger than its AWQ ones), sized on
    # the model's first layers (the order, not the bytes, is what is needed); ties keep the engine's order
    if all(relative_loss(q) is not None for q in req.engine.quant_ladder):
        ladder = sorted(req.engine.quant_ladder, key=lambda q: relative_loss(q) or 0.0)
    else:
        probe = ordering_probe(req.model)
        ladder = sorted(req.engine.quant_ladder,
                        key=lambda q: -weights_total_bytes(probe, resolve_quant(q, prefer=prefer)))
    cache: dict[int, FitResult] = {}

    def at(i: int) -> FitResult:
        if i not in cache:
            cache[i] = _plan(replace(req, quant=ladder[i], search=Search.NONE))
        return cache[i]

    def rank(i: int) -> int:
        p = at(i).placement
        return p.verdict.rank if p else 0

    last = len(ladder) - 1
    native = native_quant(req.model, req.engine)
    if native is not None:
        r = _plan(replace(req, quant=native.name, search=Search.NONE))
        if r.placement is not None and r.placement.verdict == Verdict.GPU:
            return r  # the format the model is published in (gpt-oss: MXFP4) runs on the GPU: no search
    near = next((i for i, q in enumerate(ladder) if near_lossless(q) and relative_loss(q)), None)
    if near is not None and rank(near) == Verdict.GPU.rank:
        return at(near)  # the best verdict at (nearly) the 16-bit model's quality: nothing to search
    smallest = req.engine.quant_ladder[-1]
    if _cannot_fit(req, resolve_quant(smallest, prefer=prefer)):
        return _plan(replace(req, quant=smallest, search=Search.NONE))  # the pre-filter: nothing can fit
    hint = _gpu_hint(ladder, at(near), prefer) if near is not None else None
    # the best verdict any quant reaches is the smallest one's; a GPU plan at the hint is the best there is
    gpu_at_hint = hint is not None and rank(hint) == Verdict.GPU.rank
    target = Verdict.GPU.rank if gpu_at_hint else rank(last)
    if target == Verdict.DOES_NOT_FIT.rank:
        return at(last)  # nothing fits: show the smallest, the closest to fitting
    if target > Verdict.GPU.rank:
        # offloading anyway: the engine's usual quant when it offloads no worse (more bits only slow it down)
        default = req.engine.default_quant
        if default in ladder and rank(ladder.index(default)) <= target:
            return at(ladder.index(default))
    lo = _first_reaching(rank, 0, last, target, hint)
    default = req.engine.default_quant
    if (default in ladder and lo > ladder.index(default) and (relative_loss(ladder[lo]) or 0.0) > QUALITY_FLOOR
            and target == Verdict.GPU.rank):
        # the GPU-only plan needs a quant far below the engine's usual one (IQ2/IQ1: perplexity up 60 % and
        # more): the usual quant with part of the model in RAM wins when it still runs at a usable speed
        usual = at(ladder.index(default))
        if usual.placement is not None and usual.placement.verdict != Verdict.DOES_NOT_FIT and usual.speed \
                and usual.speed.decode_tokens_per_s >= USABLE_TOKENS_PER_S:
            return usual
    if relative_loss(ladder[lo]) == 0.0:
        # a 16-bit file is chosen only when nothing smaller reaches the verdict: Q8_0 reads the same
        # (+0.0026 perplexity at Llama-3-8B, llama.cpp's quantize table) at half the bytes and twice the speed
        lo = next((i for i in range(lo + 1, last + 1) if near_lossless(ladder[i]) and rank(i) <= target), lo)
    if (req.kv_cache_type is None and req.kv_cache_type_v is None and "q8_0" in req.engine.kv_types
            and default in ladder
            and lo > ladder.index(default)):
        # a q8_0 KV cache (near-lossless, half of f16's bytes) before a weight quant below the engine's usual one
        q8 = replace(req, kv_cache_type="q8_0", search=Search.NONE)
        kv_cache: dict[int, FitResult] = {}

        def at_q8(i: int) -> FitResult:
            if i not in kv_cache:
                kv_cache[i] = _plan(replace(q8, quant=ladder[i]))
            return kv_cache[i]

        def rank_q8(i: int) -> int:
            p = at_q8(i).placement
            return p.verdict.rank if p else 0

        better = _first_reaching(rank_q8, 0, lo, target, lo - 1)  # half the KV bytes: a step or two up
        if better < lo and rank_q8(better) <= target:
            return at_q8(better)
    return at(lo)


def _first_reaching(rank: Callable[[int], int], lo: int, hi: int, target: int, hint: int | None = None) -> int:
    """The first index in [lo, hi] whose verdict reaches ``target`` (verdicts only improve as bits fall);
    ``hint``, a guess at the answer, is tried first with its neighbour: usually two plans instead of five."""
    if hint is not None and lo <= hint <= hi:
        if rank(hint) <= target:
            if hint == lo or rank(hint - 1) > target:
                return hint
            hi = hint - 1
        else:
            lo = hint + 1
            if lo < hi and rank(lo) <= target:
                return lo
    while lo < hi:
        mid = (lo + hi) // 2
        if rank(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _gpu_hint(ladder: Sequence[str], probe: FitResult, prefer: str) -> int | None:
    """A guess at the highest-quality GGUF quant that fits the accelerators: the probe plan's weights scaled
    by each quant's nominal bits per weight, plus its KV cache, buffers and overhead, against the usable
    accelerator memory.  Only where the search starts; every answer is a real plan."""
    p = probe.placement
    if p is None or not p.accelerators or not probe.memory.bits_per_weight:
        return None
    budget = sum(d.usable_bytes for d in p.accelerators)
    weights = probe.memory.weights_bytes
    other = probe.memory.total() - weights
    for i, q in enumerate(ladder):
        scheme = resolve_quant(q, prefer=prefer)
        if not isinstance(scheme, GGUFFileType):
            return None
        bpw = float(GGML_TYPES[scheme.default].bits_per_weight)
        if other + weights * bpw / probe.memory.bits_per_weight <= budget:
            return i
    return None


def _cannot_fit(req: FitRequest, quant: QuantScheme) -> bool:
    """A lower bound: the weights alone at the smallest quant exceed every byte of the system (accelerators
    and RAM together), so no quant and no placement can run the model."""
    if req.system is None:
        return False
    from .placement import DEFAULT_RAM_BYTES

    total = sum(d.device.memory_bytes * d.count for d in req.system.devices) + \
        (req.system.ram_bytes or DEFAULT_RAM_BYTES) + sum(n.ram_bytes or 0 for n in req.system.nodes[1:])
    return weights_total_bytes(req.model, quant) > total


def ordering_probe(spec: ModelSpec) -> ModelSpec:
    """``spec`` cut to its first 16 layers (per-layer facts cut alike, dense-prefix and KV-sharing counts
    scaled): sizes in the same proportions as the whole model's, at a fraction of the cost."""
    n = spec.n_layers
    if n <= 16 or spec.gguf is not None:
        return spec
    k = 16
    return first_layers(spec.structure, k, n_dense_layers=min(k - 1, -(-spec.n_dense_layers * k // n)),
                        kv_shared_from=-(-spec.kv_shared_from * k // n) if spec.kv_shared_from else 0)


def _max_context(req: FitRequest) -> FitResult:
    """The largest context (a multiple of 256, up to the model's maximum) that keeps the best verdict this
    model reaches on this hardware at the smallest context that holds the request's depth, prompt and answer."""
    assert req.system is not None  # check_request: a largest-context search needs a system
    spec = req.model

    def at(ctx: int) -> FitResult:
        return _plan(replace(req, context_tokens=ctx, search=Search.NONE))

    # from the smallest context that holds the request's depth, prompt and answer
    lo = _context_steps(req)
    lo_fit = at(lo * MAX_CONTEXT_STEP)
    assert lo_fit.placement is not None
    want = lo_fit.placement.verdict.rank
    if want == Verdict.DOES_NOT_FIT.rank:
        return lo_fit
    return _largest(lambda k: at(k * MAX_CONTEXT_STEP), lo, max(lo, spec.max_context // MAX_CONTEXT_STEP), want,
                    lo_fit)


def _largest(at: Callable[[int], FitResult], lo: int, hi: int, want: int, best: FitResult) -> FitResult:
    """The plan at the largest k in [lo, hi] whose verdict is ``want`` or better (verdicts only worsen as k
    grows), else ``best``."""
    while lo <= hi:
        mid = (lo + hi) // 2
        r = at(mid)
        assert r.placement is not None
        if r.placement.verdict.rank <= want:
            best, lo = r, mid + 1
        else:
            hi = mid - 1
    return best


MAX_USERS = 1024  # the search's ceiling: llama-server slots / vLLM sequences


def _engaged(system: System) -> list[SystemDevice]:
    """The accelerators the plan runs on: a discrete GPU left to the CPU backend is not one (llama.cpp built or run
    without its GPU backend, -ngl 0; Ollama without the GPU's runtime); a unified pool is (plan_unified)."""
    return [sd for sd in system.accelerators if sd.backend != Backend.CPU or sd.device.unified]


def _gpu_bytes(system: System) -> int:
    """The accelerators' memory as the engine sees it (before the plan's safety headroom): what engines that
    pick their own defaults by GPU memory (Ollama's context) read.  A GPU left to the CPU backend is none."""
    return sum((sd.usable.usable_bytes + sd.usable.headroom_bytes) * sd.count for sd in system.accelerators
               if sd.backend != Backend.CPU)


def _first_choice(req: FitRequest) -> tuple[int, str]:
    """The context the engine first picks for the request's machine, and why ('': its one default), reading the
    GPUs' memory where it picks by them (none for a cluster or without a system)."""
    gpu = _gpu_bytes(req.system) if req.system is not None and not req.system.is_cluster else 0
    return req.engine.context_choices(req.model, gpu)[0]


def _engine_first_context(req: FitRequest) -> FitRequest:
    """``req`` at the context the engine first picks for its machine where it picks one by the machine and none
    is asked for (Ollama's by GPU memory), for the searches; else as it is."""
    if req.context_tokens is None and req.system is not None and not req.system.is_cluster:
        ctx, why = _first_choice(req)
        if why:
            return replace(req, context_tokens=ctx)
    return req


def _max_users(req: FitRequest) -> FitResult:
    """The most parallel sequences (users, each with the request's context, else the engine's own first choice
    for the machine) that keep the verdict one user gets; memory only grows with each user, so the answer is
    found by bisection."""
    req = _engine_first_context(req)

    def at(n: int) -> FitResult:
        return _plan(replace(req, n_seq=n, search=Search.NONE))

    one = at(1)
    assert one.placement is not None
    want = one.placement.verdict.rank
    if want == Verdict.DOES_NOT_FIT.rank:
        return one
    return _largest(at, 2, MAX_USERS, want, one)


def resolve_hardware(specs: Sequence[str], *, os_name: str = "linux", ram_bytes: int | None = None,
                     display: bool = False) -> System:
    """Catalog names (``"2x RTX 3090"``) or .toml files as a one-node System."""
    from .hardware.resolve import resolve_system
    from .request import check_os

    if not specs:
        raise InvalidInput("no hardware given", options=("hardware",))
    check_os(os_name)
    return make_system(resolve_system(specs), os_name=os_name, ram_bytes=ram_bytes, display=display)


def what_runs(system: System, *, models: Sequence[str | ModelSpec] | None = None, engine: str = "llama.cpp",
              context_tokens: int | None = None, ram_bytes: int | None = None, task: str | None = None,
              min_params: int | None = None, headroom_bytes: int | None = None,
              calibration: Calibration | None = None) -> list[FitResult]:
    """For every model (default: the catalog; ``task`` and ``min_params`` narrow it) the best quant and its
    verdict and speed on ``system``, most useful first (``rank_runs``); ``calibration``: the machine's
    corrections, where one matches."""
    from .models.catalog import default_catalog
    from .models.tasks import TASKS, tasks_of

    if task is not None and task not in TASKS:
        from .errors import UnknownName

        raise UnknownName("task", task, TASKS)
    specs = list(models) if models is not None else list(default_catalog().models)
    if task is not None or min_params:
        from .models.resolve import resolve_model

        resolved = [s if isinstance(s, ModelSpec) else resolve_model(s) for s in specs]
        specs = [s for s in resolved if (task is None or task in tasks_of(s))
                 and (not min_params or (s.params_total or 0) >= min_params)]
    return rank_runs([fit(make_request(m, engine=engine, system=system, search=Search.BEST_QUANT,
                                       context_tokens=context_tokens, ram_bytes=ram_bytes,
                                       headroom_bytes=headroom_bytes, calibration=calibration)) for m in specs])


def curve_request(r: FitResult, context_tokens: int) -> FitRequest:
    """``r``'s plan (model, quant, engine, hardware, settings) at another context, with a prompt that fills it
    (the context minus the answer)."""
    answer = min(r.request.gen_tokens, context_tokens // 2)
    return with_plan(r.request, quant=r.quant.name, search=Search.NONE, context_tokens=context_tokens,
                     prompt_tokens=context_tokens - answer, gen_tokens=answer)


@dataclass(frozen=True, slots=True, kw_only=True)
class Room:
    """What a plan leaves free on its accelerators, and what the next context step would take."""

    free_bytes: int  # the least usable - used over the accelerators (the headroom is kept on top)
    device: str  # the accelerator with the least room
    headroom_bytes: int  # kept free on each accelerator beyond free_bytes
    next_context_tokens: int | None  # twice this context, up to the model's maximum (None: at the maximum)
    next_context_extra_bytes: int | None  # accelerator memory the next step needs on top of this plan
    next_context_fits: bool | None  # whether the next step keeps this plan's verdict


def room(r: FitResult) -> Room | None:
    """How much room ``r``'s plan leaves on its accelerators and what doubling the context would need; None
    unless the whole model is on accelerators (with offload, a longer context moves layers, not room)."""
    p = r.placement
    if p is None or p.verdict != Verdict.GPU or not p.accelerators:
        return None
    tightest = min(p.accelerators, key=lambda d: d.usable_bytes - d.used_bytes)
    ctx, top = r.memory.run.context_tokens, r.spec.max_context
    nxt = min(2 * ctx, top) if ctx < top else None
    extra = fits = None
    if nxt is not None:
        bigger = _plan(with_plan(r.request, quant=r.quant.name, search=Search.NONE, context_tokens=nxt,
                                 kv_cache_type=r.memory.run.kv_cache_type,
                                 kv_cache_type_v=r.request.kv_cache_type_v))
        assert bigger.placement is not None
        extra = bigger.memory.device_bytes - r.memory.device_bytes
        fits = bigger.placement.verdict == p.verdict and all(d.fits for d in bigger.placement.devices)
    return Room(free_bytes=tightest.usable_bytes - tightest.used_bytes, device=tightest.name,
                headroom_bytes=r.request.headroom_bytes, next_context_tokens=nxt, next_context_extra_bytes=extra,
                next_context_fits=fits)


__all__ = ["DEFAULT_STACK", "FitRequest", "FitResult", "Room", "Search", "SystemDevice",
           "curve_request", "fit", "fit_model", "make_request", "native_quant", "pick_quant", "quant_ladder",
           "rank_runs", "resolve_hardware", "room", "what_runs"]
