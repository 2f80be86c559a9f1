"""Rich tables for the terminal."""

from __future__ import annotations

from typing import Any

from ..api import FitResult
from ..hardware.spec import Device
from ..models.spec import ModelSpec
from ..units import fmt_bytes, fmt_gb, fmt_gib


def fit_table(r: FitResult) -> Any:
    """The itemized table, then the notes that explain items (kept outside so the table fits 80 columns)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    bd, run = r.memory, r.memory.run
    title = (f"{r.spec.name} · {r.quant.name} · {r.engine.name} ({run.backend}) · "
             f"context {run.context_tokens:,}" + (f" × {run.n_seq} seqs" if run.n_seq > 1 else "")
             + f" · KV {run.kv_cache_type} · flash-attn {'on' if run.flash_attention else 'off'}")
    t = Table(title=title, title_justify="left")
    t.add_column("component")
    t.add_column("item")
    t.add_column("where")
    t.add_column("size", justify="right")
    notes: list[str] = []
    for i in bd.items:
        mark = ""
        if i.note:
            notes.append(i.note)
            mark = f" [{len(notes)}]"
        t.add_row(i.component, i.name + mark, i.location, fmt_bytes(i.n_bytes))
    t.add_section()
    for comp, label in (("weights", "weights"), ("kv_cache", "KV cache"), ("compute", "compute"),
                        ("overhead", "overhead")):
        t.add_row("", f"[bold]{label}[/bold]", "", fmt_bytes(bd.total(comp)))
    t.add_row("", "[bold]total[/bold]", "", f"[bold]{fmt_gib(bd.total_bytes)}[/bold]")
    lines = [f"total {fmt_gib(bd.total_bytes)} = {fmt_gb(bd.total_bytes)}: accelerator {fmt_gib(bd.device_bytes)}, "
             f"system RAM {fmt_gib(bd.host_bytes)}",
             f"{bd.bits_per_weight:.2f} bits/weight; model file {fmt_gb(bd.model_file_bytes)}"
             + (" (exact, from the file)" if bd.exact_weights else " (predicted)")
             + f"; KV {float(bd.kv_bytes_per_token) / 1024:.0f} KiB/token"]
    for sd in r.system:
        lines.append(f"{sd.count} x {sd.device.name}: {fmt_gib(sd.device.memory_bytes)} each, "
                     f"{fmt_gib(sd.usable.usable_bytes)} usable ({'; '.join(sd.usable.rules) or 'no reserve'})")
    lines += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    return Group(t, Text("\n".join(lines)))


def models_table(specs: list[ModelSpec]) -> Any:
    from rich.table import Table

    t = Table(title=f"{len(specs)} models in the catalog", title_justify="left")
    for col in ("name", "arch", "params", "layers", "KV heads × dim", "context", "notes"):
        t.add_column(col, justify="right" if col in ("params", "layers", "context") else "left")
    for s in specs:
        params = f"{(s.params_total or 0) / 1e9:.1f}B"
        if s.is_moe and s.params_active:
            params += f" ({s.params_active / 1e9:.1f}B active)"
        extra = []
        if s.is_moe:
            extra.append(f"MoE {s.n_experts_active}/{s.n_experts}")
        if s.uses_mla:
            extra.append("MLA")
        if s.sliding_window:
            extra.append(f"SWA {s.sliding_window}")
        t.add_row(s.name, s.arch, params, str(s.n_layers), f"{s.n_kv_heads} × {s.head_dim}",
                  f"{s.max_context:,}", ", ".join(extra))
    return t


def devices_table(devices: list[Device]) -> Any:
    from rich.table import Table

    t = Table(title=f"{len(devices)} devices", title_justify="left")
    for col in ("name", "kind", "memory", "GB/s", "FP16 TFLOPS", "TDP W", "price"):
        t.add_column(col, justify="left" if col in ("name", "kind") else "right")
    for d in devices:
        price = f"${d.msrp_usd:,.0f} ({d.msrp_date})" if d.msrp_usd else ""
        if d.used_usd:
            price += f"; used ${d.used_usd:,.0f}"
        t.add_row(d.name, f"{d.kind}/{d.form}", fmt_gib(d.memory_bytes, 0),
                  f"{d.bandwidth_gb_s:,.0f}" if d.bandwidth_gb_s else "unknown",
                  f"{d.fp16_tflops:,.1f}" if d.fp16_tflops else "", str(d.tdp_w or ""), price)
    return t
