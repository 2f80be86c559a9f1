"""Explanations: why each build ranks where it does, the rules the advisor applied (with sources), and what
the cheapest build cannot do (longer context, Q8_0, a fine-tune).
"""

from __future__ import annotations

from dataclasses import replace

from ..hardware.catalog import default_hardware
from ..training import FineTune, fit_training
from ..units import GIB
from ..vocab import Verdict, WorkloadKind
from . import buildrules as br
from .builds import Build, RankedBuild
from .evaluate import Stack, evaluate_inference, option_system
from .options import Option, Request


def rank_reason(i: int, b: Build, point: tuple[float, float], base_price: float, base_score: float,
                 on_front: bool, training: bool) -> str:
    unit = "1/epoch-h" if training else "tokens/s"
    what = (f"slowest epoch {1 / point[1]:.1f} h" if training and point[1] else
            f"slowest model {point[1]:.1f} {unit}")
    if i == 0:
        return f"cheapest build that meets every target ({what})"
    more = b.price_usd - base_price
    ratio = point[1] / base_score if base_score else 0.0
    text = f"${more:,.0f} more than #1; {what} ({ratio:.2f}x #1)"
    return text + ("; on the price/speed front" if on_front else "; a cheaper build is as fast")


def request_notes(req: Request) -> tuple[str, ...]:
    hw = default_hardware()
    unpriced = sum(1 for d in hw.devices if d.kind == "gpu" and d.form != "laptop" and not d.msrp_usd
                   and not d.used_usd)
    notes = [f"{unpriced} catalog GPUs have no price and are not considered",
             "engine: llama.cpp (also Ollama, LM Studio); layer split across GPUs",
             "prices are dated list/launch (new) or observed (used) prices in USD, before tax and shipping"]
    if req.condition != "new":
        notes.append("used prices exist for few GPUs; Macs and laptops are priced new")
    return tuple(notes)


def applied_rules() -> tuple[tuple[str, str, str], ...]:
    parts = br.default_parts()
    rules = [
        ("ram", "system RAM >= max(32 GB, total GPU memory, CPU-side need + 8 GiB)", "ram-vs-vram"),
        ("storage", "NVMe >= 2x the model files + checkpoints + datasets + 200 GB; >= 1200 TBW when training",
         "ssd-endurance"),
        ("psu", f"PSU >= {br.PSU_HEADROOM} x (GPU board power + CPU + {br.BASE_SYSTEM_W} W), ATX 3.x",
         "psu-transients"),
        ("circuit", "above 1440 W continuous a US 15 A / 120 V circuit is not enough", "psu-circuit"),
        ("cooling", f"CPU cooler from the CPU: air up to {br.AIO_CPU_TDP_W} W, 360 mm AIO above; case from the "
                    f"cards: mid tower with 2 intake/1-2 exhaust fans, full tower for two cards over "
                    f"{br.HOT_GPU_W} W together; 3-4 cards: open frame with risers", "multi-gpu-cooling"),
        ("pcie", "each board's own slot wiring (desktop boards: x16 + x4 from the chipset, x8/x8 only on "
                 "X670E/X870E-class boards); 3-4 GPUs need a HEDT/workstation platform", "pcie-lanes"),
        ("platform", "Windows: CUDA via WSL2 for training; AMD ROCm on Windows is immature; Macs: Metal/MLX, "
                     "no eGPU; laptop GPUs have less memory than desktop namesakes", "wsl2-cuda"),
    ]
    return tuple((t, r, parts.source_for(s)) for t, r, s in rules)


def cheapest_limits(stack: Stack, first: RankedBuild) -> list[str]:
    """What the cheapest qualifying build cannot do: longer context, a higher-quality quant, fine-tuning."""
    b = first.build
    out = []
    o = Option(kind=b.kind, device=b.device, count=b.count, condition=b.condition, unit_usd=0, price_date="",
                source="", form=b.form, name=b.name)
    system = option_system(o, "linux", b.ram_bytes, usable_bytes=b.usable_bytes)
    for i, m in enumerate(first.models):
        spec = stack.specs[i]
        if stack.workload.kind == WorkloadKind.TRAINING:
            continue
        if m.max_context_tokens < spec.max_context:
            out.append(f"{m.model}: about {m.max_context_tokens:,} tokens of context fit, not the model's "
                       f"{spec.max_context:,}")
        q8, r8 = evaluate_inference(stack, i, system, quant="Q8_0")
        if q8.verdict != Verdict.GPU:
            need = r8.memory.total_bytes
            out.append(f"{m.model}: Q8_0 does not fit ({need / GIB:.1f} GiB needed)")
        ft = FineTune(method="qlora", framework="mlx" if b.device.vendor == "apple" else "transformers")
        tf = fit_training(spec, ft, b.device, b.usable_bytes, b.count)
        if not tf.fits:
            out.append(f"{m.model}: no QLoRA fine-tune ({tf.memory.total_bytes / GIB:.1f} GiB needed at 2k tokens)")
    if stack.workload.kind == WorkloadKind.TRAINING:
        for m in first.models:
            if m.training and m.training.memory.finetune.method != "full":
                full = replace(m.training.memory.finetune, method="full")
                tf = fit_training(stack.specs[[s.name for s in stack.specs].index(m.model)], full, b.device,
                                  b.usable_bytes, b.count)
                if not tf.fits:
                    out.append(f"{m.model}: no full fine-tune ({tf.memory.total_bytes / GIB:.0f} GiB needed)")
    return out

