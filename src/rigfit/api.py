"""The library's front door: resolve inputs and estimate memory in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .engines import Engine, get_engine
from .errors import InvalidInput
from .hardware.spec import Device
from .hardware.usable import UsableMemory
from .memory import MemoryBreakdown, estimate_memory, make_run_config
from .models.resolve import resolve_model
from .models.spec import ModelSpec
from .placement import Accelerator, Placement, plan
from .quant import GGUF_FILE_TYPES, QuantScheme, resolve_quant
from .speed import DEFAULT_CPU_BANDWIDTH_GB_S, SpeedEstimate, estimate_speed
from .vocab import WeightFormat

DEFAULT_STACK = ("Qwen2.5-Coder-32B-Instruct", "DeepSeek-R1-Distill-Qwen-32B")  # the seeds' model stack


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemDevice:
    device: Device
    count: int
    usable: UsableMemory  # per device


@dataclass(frozen=True, slots=True, kw_only=True)
class FitResult:
    spec: ModelSpec
    quant: QuantScheme
    engine: Engine
    memory: MemoryBreakdown
    system: tuple[SystemDevice, ...] = field(default=())
    placement: Placement | None = None  # with hardware
    speed: SpeedEstimate | None = None
    speed_unknown: str = ""  # why there is no speed estimate


def backend_for(device: Device, engine: Engine) -> str:
    """The backend an engine uses on ``device`` (llama.cpp: CUDA, ROCm, Metal, SYCL)."""
    want = {"nvidia": "cuda", "amd": "rocm", "apple": "metal", "intel": "sycl"}.get(device.vendor, "cpu")
    return want if want in engine.backends else engine.default_backend


def resolve_hardware(specs: Sequence[str], *, os_name: str = "linux") -> tuple[SystemDevice, ...]:
    from .hardware.resolve import resolve_system

    if not specs:
        return ()
    return system_of(resolve_system(specs), os_name=os_name)


def system_of(found: Sequence[tuple[Device, int]], *, os_name: str = "linux") -> tuple[SystemDevice, ...]:
    """Devices and counts with each device's usable memory under the OS (macOS for Apple silicon)."""
    from .hardware.usable import usable_memory

    os_name = "macos" if any(d.kind == "apple" for d, _ in found) else os_name
    return tuple(SystemDevice(device=d, count=n, usable=usable_memory(d, os_name=os_name)) for d, n in found)


def pick_quant(spec: ModelSpec, engine: Engine, quant: str | None) -> QuantScheme:
    prefer = engine.weights.value
    if quant:
        return resolve_quant(quant, prefer=prefer)
    if spec.gguf is not None and engine.weights == WeightFormat.GGUF and spec.gguf.file_type in GGUF_FILE_TYPES:
        return GGUF_FILE_TYPES[spec.gguf.file_type]  # a GGUF file is sized as it is
    return resolve_quant(engine.default_quant, prefer=prefer)


def fit(
    model: str | ModelSpec,
    *,
    quant: str | None = None,
    engine: str = "llama.cpp",
    context_tokens: int | None = None,
    kv_cache_type: str | None = None,
    flash_attention: bool | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    n_seq: int = 1,
    backend: str | None = None,
    gpu_memory_bytes: int | None = None,
    gpu_memory_utilization: float | None = None,
    hardware: Sequence[str] = (),
    system: Sequence[SystemDevice] | None = None,
    ram_bytes: int | None = None,
    prompt_tokens: int = 512,
    gen_tokens: int = 128,
    split_mode: str | None = None,
    tensor_split: tuple[float, ...] | None = None,
    tensor_parallel: int | None = None,
    pipeline_parallel: int | None = None,
    cpu_moe: bool = True,
    cpu_bandwidth_gb_s: float | None = None,
    llamacpp_build: str = "current",
    gpu_layers: int | None = None,
) -> FitResult:
    spec = resolve_model(model) if isinstance(model, str) else model
    eng = get_engine(engine)
    system = tuple(system) if system is not None else resolve_hardware(hardware)
    if system:
        backend = backend or backend_for(system[0].device, eng)
        gpu_memory_bytes = gpu_memory_bytes or system[0].device.memory_bytes
    q = pick_quant(spec, eng, quant)
    run, warnings = make_run_config(spec, eng, context_tokens=context_tokens, kv_cache_type=kv_cache_type,
                                    flash_attention=flash_attention, n_batch=n_batch, n_ubatch=n_ubatch,
                                    n_seq=n_seq, backend=backend, gpu_memory_bytes=gpu_memory_bytes,
                                    gpu_memory_utilization=gpu_memory_utilization)
    check_counts(prompt_tokens, gen_tokens, ram_bytes)
    mem = estimate_memory(spec, q, run, warnings)
    if not system:
        return FitResult(spec=spec, quant=q, engine=eng, memory=mem, system=system)
    accels = [Accelerator(device=sd.device, usable_bytes=sd.usable.usable_bytes)
              for sd in system if sd.device.kind != "cpu" for _ in range(sd.count)]
    cpu_dev = next((sd.device for sd in system if sd.device.kind == "cpu"), None)
    cpu_bw = cpu_bandwidth_gb_s or (cpu_dev.bandwidth_gb_s if cpu_dev and cpu_dev.bandwidth_gb_s else None)
    if cpu_dev is not None and ram_bytes is None and not accels:
        ram_bytes = cpu_dev.memory_bytes
    placement = plan(spec, mem, accels, ram_bytes=ram_bytes, tensor_split=tensor_split,
                     tensor_parallel=tensor_parallel, pipeline_parallel=pipeline_parallel, cpu_moe=cpu_moe,
                     gpu_layers=gpu_layers)
    if split_mode is not None:
        if split_mode not in ("layer", "row"):
            raise InvalidInput(f"split mode must be layer or row, got {split_mode!r}")
        if split_mode == "row" and len(placement.accelerators) > 1:
            placement = replace(placement, split_mode="row")
    if placement.tensor_parallel * placement.pipeline_parallel > 1 and mem.pool_warning:
        # the memory model's startup check is for one GPU; the parallel plan checks each GPU's share itself
        mem = replace(mem, pool_warning="")
    sp = estimate_speed(spec, mem, placement, prompt_tokens=prompt_tokens, gen_tokens=gen_tokens,
                        cpu_bandwidth_gb_s=cpu_bw or DEFAULT_CPU_BANDWIDTH_GB_S, build=llamacpp_build)
    return FitResult(spec=spec, quant=q, engine=eng, memory=mem, system=system, placement=placement,
                     speed=sp if isinstance(sp, SpeedEstimate) else None,
                     speed_unknown=sp if isinstance(sp, str) else "")


MAX_TOKENS = 1 << 24


def check_counts(prompt_tokens: int, gen_tokens: int, ram_bytes: int | None) -> None:
    if not 1 <= prompt_tokens <= MAX_TOKENS:
        raise InvalidInput(f"prompt tokens must be between 1 and {MAX_TOKENS:,}, got {prompt_tokens}")
    if not 1 <= gen_tokens <= MAX_TOKENS:
        raise InvalidInput(f"generated tokens must be between 1 and {MAX_TOKENS:,}, got {gen_tokens}")
    if ram_bytes is not None and not 0 < ram_bytes <= 64 << 40:
        raise InvalidInput(f"system RAM must be between 1 byte and 64 TiB, got {ram_bytes} bytes")


VERDICT_RANK = {"gpu": 0, "partial_offload": 1, "cpu": 2, "does_not_fit": 3}


def quant_ladder(engine: str) -> tuple[str, ...]:
    """The quants ``best_quant`` searches for ``engine``, best quality first (more bits per weight = closer to
    the original weights; llama.cpp's quantize table ranks its types by perplexity the same way)."""
    return get_engine(engine).quant_ladder


def best_quant(model: str | ModelSpec, **kw: Any) -> FitResult:
    """The highest-quality quant whose verdict is the best reachable one (gpu before partial offload
    before cpu) at the requested context; when only offload is reachable, the engine's usual quant if it
    gets there (higher ones are slower still); when nothing fits, the smallest.  Verdicts only improve as
    bits fall, so the ladder is searched by bisection."""
    spec = resolve_model(model) if isinstance(model, str) else model
    ladder = quant_ladder(kw.get("engine", "llama.cpp"))
    cache: dict[int, FitResult] = {}

    def at(i: int) -> FitResult:
        if i not in cache:
            cache[i] = fit(spec, quant=ladder[i], **kw)
        return cache[i]

    def rank(i: int) -> int:
        p = at(i).placement
        return VERDICT_RANK[p.verdict] if p else 0

    last = len(ladder) - 1
    target = rank(last)  # the best verdict any quant reaches is the smallest one's
    if target == VERDICT_RANK["does_not_fit"]:
        return at(last)  # nothing fits: show the smallest, the closest to fitting
    if target > VERDICT_RANK["gpu"]:
        # offloading anyway: the engine's usual quant when it offloads no worse (more bits only slow it down)
        default = get_engine(kw.get("engine", "llama.cpp")).default_quant
        if default in ladder and rank(ladder.index(default)) <= target:
            return at(ladder.index(default))
    lo, hi = 0, last
    while lo < hi:  # first index whose verdict reaches the target
        mid = (lo + hi) // 2
        if rank(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return at(lo)


def max_context(model: str | ModelSpec, **kw: Any) -> FitResult:
    """The largest context (a multiple of 256, up to the model's maximum) that keeps the best verdict this
    model reaches at 256 tokens on this hardware."""
    spec = resolve_model(model) if isinstance(model, str) else model
    kw = {k: v for k, v in kw.items() if k != "context_tokens"}
    lo_fit = fit(spec, context_tokens=256, **kw)
    if lo_fit.placement is None:
        raise InvalidInput("the largest context needs hardware (the context that fits depends on the device)",
                               options=("context_tokens", "hardware"))
    want = VERDICT_RANK[lo_fit.placement.verdict]
    if want == VERDICT_RANK["does_not_fit"]:
        return lo_fit
    lo, hi = 1, max(1, spec.max_context // 256)
    best = lo_fit
    while lo <= hi:
        mid = (lo + hi) // 2
        r = fit(spec, context_tokens=mid * 256, **kw)
        assert r.placement is not None
        if VERDICT_RANK[r.placement.verdict] <= want:
            best, lo = r, mid + 1
        else:
            hi = mid - 1
    return best


def system_from_detected(det: Any) -> tuple[tuple[SystemDevice, ...], int, list[str]]:
    """This machine as fit() sees it: catalog matches of the detected GPUs (measured memory when the device is
    unknown), usable memory under this OS, and the detected RAM."""
    from .hardware.spec import Device as _Device
    from .hardware.usable import usable_memory

    os_name = {"darwin": "macos"}.get(det.os_name, det.os_name)
    out: list[SystemDevice] = []
    notes: list[str] = []
    for d in det.devices:
        dev = d.matched or _Device(name=d.name, kind="gpu", vendor=d.vendor, form="desktop",
                                   memory_bytes=d.memory_total_bytes, bandwidth_gb_s=None, source="detected")
        if dev.kind == "apple" and det.gpu_working_set_bytes:
            u = usable_memory(dev, os_name=os_name)
            u = replace(u, usable_bytes=det.gpu_working_set_bytes, rules=("Metal recommendedMaxWorkingSetSize",))
        else:
            u = usable_memory(dev, os_name=os_name, free_bytes=d.memory_free_bytes)
        out.append(SystemDevice(device=dev, count=1, usable=u))
        if d.matched is None:
            notes.append(f"{d.name}: not in the catalog, bandwidth unknown")
    return tuple(out), det.ram_total_bytes, notes


def this_machine(det: Any) -> tuple[tuple[SystemDevice, ...], int, list[str]]:
    """``system_from_detected``, with the CPU and its RAM standing in when no GPU was found (models then run
    on the CPU from system RAM)."""
    from .hardware.spec import Device as _Device
    from .hardware.usable import usable_memory

    system, ram, notes = system_from_detected(det)
    if not system:
        cpu = _Device(name=f"CPU ({det.cpu_model or 'unknown'}, {det.cpu_cores} threads)", kind="cpu",
                      vendor="cpu", form="desktop", memory_bytes=ram, bandwidth_gb_s=None, source="detected")
        system = (SystemDevice(device=cpu, count=1, usable=usable_memory(cpu)),)
        notes = [*notes, "no GPU: models run on the CPU from system RAM"]
    return system, ram, notes


def what_runs(system: Sequence[SystemDevice], *, models: Sequence[str | ModelSpec] | None = None,
              **kw: Any) -> list[FitResult]:
    """For every model (default: the catalog) the best quant and its verdict and speed on ``system``."""
    from .models.catalog import default_catalog

    specs = list(models) if models is not None else list(default_catalog().models)
    return [best_quant(m, system=tuple(system), **kw) for m in specs]
