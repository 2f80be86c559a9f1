"""Evaluation: each model of the stack on one option, through the same pipeline as ``rigfit fit`` (one
``FitRequest`` per model and option), judged against the workload's targets with a typed ``Shortfall``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from ..api import FitResult, fit
from ..engines import get_engine
from ..memory import MemoryBreakdown
from ..models.resolve import resolve_model
from ..models.spec import ModelSpec
from ..quant import resolve_quant
from ..request import make_request
from ..system import System, default_backend, make_system, with_usable
from ..training import TrainingFit, fit_training
from ..units import GIB
from ..vocab import Backend, Verdict, WorkloadKind
from .options import Option, Request
from .workloads import Workload, get_workload


class Shortfall(StrEnum):
    """Why a model on a build misses the workload's targets."""

    OFFLOADS = "offloads"
    CPU_ONLY = "cpu_only"
    DOES_NOT_FIT = "does_not_fit"
    SPEED_UNKNOWN = "speed_unknown"
    SLOW_DECODE = "slow_decode"
    SLOW_FIRST_TOKEN = "slow_first_token"
    TRAINING_DOES_NOT_FIT = "training_does_not_fit"
    TRAINING_SPEED_UNKNOWN = "training_speed_unknown"
    SLOW_EPOCH = "slow_epoch"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOnBuild:
    model: str
    quant: str
    context_tokens: int
    verdict: Verdict
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None
    answer_time_s: float | None  # prompt + answer of the workload
    used_bytes: int  # on the accelerators
    room_bytes: int  # left on the tightest accelerator (beyond the safety headroom)
    max_context_tokens: int  # about: the context that room would still hold
    meets: bool
    reason: str  # why not (empty when it meets the targets)
    shortfall: Shortfall | None = None  # the same, as a value code can test
    training: TrainingFit | None = None


def epoch_hours(models: Sequence[ModelOnBuild]) -> list[float]:
    """Hours per epoch of each model whose training time is known."""
    return [m.training.time.epoch_s / 3600 for m in models if m.training and m.training.time]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    specs: tuple[ModelSpec, ...]
    quant: str
    contexts: tuple[int, ...]
    workload: Workload
    min_tps: float
    max_ttft_s: float


@functools.lru_cache(maxsize=1024)
def stack_memory(spec: ModelSpec, quant: str, context_tokens: int, backend: Backend) -> MemoryBreakdown:
    """The memory ``spec`` needs on ``backend``, no hardware (the capacity bound of the search, file sizes)."""
    return fit(make_request(spec, quant=quant, context_tokens=context_tokens, backend=backend)).memory


def option_system(o: Option, os_name: str, ram_bytes: int, usable_bytes: int | None = None) -> System:
    system = make_system([(o.device, o.count)], os_name=os_name, ram_bytes=ram_bytes, name=o.name)
    if usable_bytes is None:
        return system
    return with_usable(system, [replace(sd.usable, usable_bytes=usable_bytes) for sd in system.devices])


def evaluate_inference(stack: Stack, i: int, system: System, quant: str | None = None) -> tuple[ModelOnBuild,
                                                                                                  FitResult]:
    """Model ``i`` of the stack on ``system``, through the pipeline, against the workload's targets."""
    spec = stack.specs[i]
    wl = stack.workload
    quant = quant or stack.quant
    r = fit(make_request(spec, quant=quant, context_tokens=stack.contexts[i], system=system,
                         prompt_tokens=min(wl.prompt_tokens, stack.contexts[i]), gen_tokens=wl.answer_tokens))
    p, sp = r.placement, r.speed
    assert p is not None
    used = sum(d.used_bytes for d in p.accelerators)
    head = min((d.usable_bytes - d.used_bytes for d in p.accelerators), default=0)
    free_total = sum(max(0, d.usable_bytes - d.used_bytes) for d in p.accelerators)
    per_tok = float(r.memory.kv_bytes_per_token) or 1.0
    max_ctx = min(spec.max_context, stack.contexts[i] + int(free_total / per_tok)) if p.verdict == Verdict.GPU else 0
    dec = sp.decode_tokens_per_s if sp else None
    ttft = sp.time_to_first_token_s if sp else None
    short, reason = _inference_shortfall(p.verdict, dec, ttft, stack.min_tps, stack.max_ttft_s, r.speed_unknown)
    return ModelOnBuild(model=spec.name, quant=quant, context_tokens=stack.contexts[i], verdict=p.verdict,
                        decode_tokens_per_s=dec, prefill_tokens_per_s=sp.prefill_tokens_per_s if sp else None,
                        time_to_first_token_s=ttft, answer_time_s=sp.total_time_s if sp else None, used_bytes=used,
                        room_bytes=head, max_context_tokens=max_ctx, meets=short is None, reason=reason,
                        shortfall=short), r


def _inference_shortfall(verdict: Verdict, dec: float | None, ttft: float | None, min_tps: float, max_ttft: float,
                         unknown: str) -> tuple[Shortfall | None, str]:
    if verdict != Verdict.GPU:
        return {Verdict.PARTIAL_OFFLOAD: (Shortfall.OFFLOADS, "does not fit in accelerator memory (would offload "
                                                              "to the CPU)"),
                Verdict.CPU: (Shortfall.CPU_ONLY, "runs on the CPU only"),
                Verdict.DOES_NOT_FIT: (Shortfall.DOES_NOT_FIT, "does not fit")}[verdict]
    if dec is None:
        return Shortfall.SPEED_UNKNOWN, f"speed unknown ({unknown})" if unknown else "speed unknown"
    if dec < min_tps:
        return Shortfall.SLOW_DECODE, f"decodes at {dec:.1f} tokens/s, below {min_tps:g}"
    if ttft is not None and ttft > max_ttft:
        return Shortfall.SLOW_FIRST_TOKEN, f"first token after {ttft:.1f} s, above {max_ttft:g} s"
    return None, ""


def _evaluate_training(stack: Stack, i: int, o: Option, usable: int) -> ModelOnBuild:
    spec = stack.specs[i]
    wl = stack.workload
    assert wl.finetune is not None
    ft = replace(wl.finetune, framework="mlx" if o.device.vendor == "apple" else "transformers")
    # the same safety headroom an inference plan keeps (engines/base.py: llama.cpp's 1 GiB fit margin)
    tf = fit_training(spec, ft, o.device, max(0, usable - get_engine(ft.framework).headroom_bytes), o.count)
    hours = tf.time.epoch_s / 3600 if tf.time else None
    short: Shortfall | None = None
    if not tf.fits:
        short, reason = Shortfall.TRAINING_DOES_NOT_FIT, f"does not fit: {tf.reason}"
    elif hours is None:
        short, reason = Shortfall.TRAINING_SPEED_UNKNOWN, "training throughput unknown for this device"
    elif hours > wl.max_epoch_hours:
        short, reason = Shortfall.SLOW_EPOCH, f"an epoch takes {hours:.0f} h, above {wl.max_epoch_hours:g} h"
    else:
        reason = ""
    return ModelOnBuild(model=spec.name, quant=ft.method, context_tokens=ft.seq_len,
                        verdict=Verdict.GPU if tf.fits else Verdict.DOES_NOT_FIT, decode_tokens_per_s=None,
                        prefill_tokens_per_s=None, time_to_first_token_s=None, answer_time_s=None,
                        used_bytes=tf.per_device_bytes, room_bytes=tf.usable_bytes - tf.per_device_bytes,
                        max_context_tokens=0, meets=short is None, reason=reason, shortfall=short, training=tf)


def evaluate_option(stack: Stack, o: Option, os_name: str, usable: int) -> tuple[ModelOnBuild, ...]:
    if stack.workload.kind == WorkloadKind.TRAINING:
        return tuple(_evaluate_training(stack, i, o, usable) for i in range(len(stack.specs)))
    # the RAM a PC of this class gets is sized after the search (buildrules); here it never limits
    ram = o.device.memory_bytes if o.kind in ("mac", "soc") else 256 * GIB
    system = option_system(o, os_name, ram)
    return tuple(evaluate_inference(stack, i, system)[0] for i in range(len(stack.specs)))


def capacity_ok(stack: Stack, o: Option, usable: int) -> bool:
    """Quick bound: the stack's largest model must fit the option's total usable memory."""
    if stack.workload.kind == WorkloadKind.TRAINING:
        return True
    be = default_backend(o.device)
    need = max(stack_memory(s, stack.quant, stack.contexts[i], be).total_bytes for i, s in enumerate(stack.specs))
    return need <= usable * o.count


def make_stack(req: Request, specs: tuple[ModelSpec, ...] | None = None) -> Stack:
    wl = get_workload(req.workload)
    specs = specs or tuple(resolve_model(m) for m in req.models)
    quant = req.quant or get_engine("llama.cpp").default_quant
    resolve_quant(quant, prefer="gguf")
    ctx = req.context_tokens or wl.context_tokens
    contexts = tuple(min(ctx, s.max_context) for s in specs)
    if wl.kind == WorkloadKind.TRAINING and req.context_tokens:
        assert wl.finetune is not None
        wl = replace(wl, finetune=replace(wl.finetune, seq_len=req.context_tokens))
    min_tps = req.min_tokens_per_s if req.min_tokens_per_s is not None else wl.min_decode_tokens_per_s
    max_ttft = req.max_ttft_s if req.max_ttft_s is not None else wl.max_ttft_s
    return Stack(specs=specs, quant=quant, contexts=contexts, workload=wl, min_tps=min_tps, max_ttft_s=max_ttft)

