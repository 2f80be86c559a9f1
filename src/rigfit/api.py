"""The library's front door: resolve inputs and estimate memory in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .engines import EngineProfile, get_engine
from .errors import InvalidInput
from .hardware.spec import Device
from .hardware.usable import UsableMemory
from .memory import MemoryBreakdown, estimate_memory, make_run_config
from .models.resolve import resolve_model
from .models.spec import ModelSpec
from .placement import Accelerator, Placement, plan
from .quant import GGUF_FILE_TYPES, QuantScheme, resolve_quant
from .speed import DEFAULT_CPU_BANDWIDTH_GB_S, SpeedEstimate, estimate_speed

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
    engine: EngineProfile
    memory: MemoryBreakdown
    system: tuple[SystemDevice, ...] = field(default=())
    placement: Placement | None = None  # with hardware
    speed: SpeedEstimate | None = None
    speed_unknown: str = ""  # why there is no speed estimate


def backend_for(device: Device, engine: EngineProfile) -> str:
    """The backend an engine uses on ``device`` (llama.cpp: CUDA, ROCm, Metal, SYCL)."""
    want = {"nvidia": "cuda", "amd": "rocm", "apple": "metal", "intel": "sycl"}.get(device.vendor, "cpu")
    return want if want in engine.backends else engine.default_backend


def resolve_hardware(specs: Sequence[str], *, os_name: str = "linux") -> tuple[SystemDevice, ...]:
    from .hardware.resolve import resolve_system
    from .hardware.usable import usable_memory

    if not specs:
        return ()
    found = resolve_system(specs)
    os_name = "macos" if any(d.kind == "apple" for d, _ in found) else os_name
    return tuple(SystemDevice(device=d, count=n, usable=usable_memory(d, os_name=os_name)) for d, n in found)


def pick_quant(spec: ModelSpec, engine: EngineProfile, quant: str | None) -> QuantScheme:
    prefer = "gguf" if engine.weights == "gguf" else "tensor"
    if quant:
        return resolve_quant(quant, prefer=prefer)
    if spec.gguf is not None and engine.weights == "gguf" and spec.gguf.file_type in GGUF_FILE_TYPES:
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
    mem = estimate_memory(spec, q, run, warnings)
    if not system:
        return FitResult(spec=spec, quant=q, engine=eng, memory=mem, system=system)
    check_counts(prompt_tokens, gen_tokens, ram_bytes)
    accels = [Accelerator(device=sd.device, usable_bytes=sd.usable.usable_bytes)
              for sd in system if sd.device.kind != "cpu" for _ in range(sd.count)]
    cpu_dev = next((sd.device for sd in system if sd.device.kind == "cpu"), None)
    cpu_bw = cpu_bandwidth_gb_s or (cpu_dev.bandwidth_gb_s if cpu_dev and cpu_dev.bandwidth_gb_s else None)
    if cpu_dev is not None and ram_bytes is None and not accels:
        ram_bytes = cpu_dev.memory_bytes
    placement = plan(spec, mem, accels, ram_bytes=ram_bytes, tensor_split=tensor_split,
                     tensor_parallel=tensor_parallel, pipeline_parallel=pipeline_parallel, cpu_moe=cpu_moe)
    if split_mode is not None:
        if split_mode not in ("layer", "row"):
            raise InvalidInput(f"split mode must be layer or row, got {split_mode!r}")
        if split_mode == "row" and len(placement.accelerators) > 1:
            placement = replace(placement, split_mode="row")
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
