"""The library's front door: resolve inputs and estimate memory in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .engines import EngineProfile, get_engine
from .hardware.spec import Device
from .hardware.usable import UsableMemory
from .memory import MemoryBreakdown, estimate_memory, make_run_config
from .models.resolve import resolve_model
from .models.spec import ModelSpec
from .quant import GGUF_FILE_TYPES, QuantScheme, resolve_quant

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
) -> FitResult:
    spec = resolve_model(model) if isinstance(model, str) else model
    eng = get_engine(engine)
    system = resolve_hardware(hardware)
    if system:
        backend = backend or backend_for(system[0].device, eng)
        gpu_memory_bytes = gpu_memory_bytes or system[0].device.memory_bytes
    q = pick_quant(spec, eng, quant)
    run, warnings = make_run_config(spec, eng, context_tokens=context_tokens, kv_cache_type=kv_cache_type,
                                    flash_attention=flash_attention, n_batch=n_batch, n_ubatch=n_ubatch,
                                    n_seq=n_seq, backend=backend, gpu_memory_bytes=gpu_memory_bytes,
                                    gpu_memory_utilization=gpu_memory_utilization)
    return FitResult(spec=spec, quant=q, engine=eng, memory=estimate_memory(spec, q, run, warnings), system=system)
