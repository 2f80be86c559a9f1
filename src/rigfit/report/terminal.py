"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..api import FitResult, room
from ..compare import Compared
from ..hardware.spec import Device
from ..models.spec import ModelSpec
from ..units import GIB, fmt_bytes, fmt_gb, fmt_gib
from ..vocab import Component, Verdict
from .text import Col, Wrapped, paragraph_block, table_lines, wrap_lines


def fit_table(r: FitResult) -> Any:
    """The itemized table, then the notes that explain items (kept outside so the table fits 80 columns)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    bd, run = r.memory, r.memory.run
    title = (f"{r.spec.name} · {r.quant.name} · {r.engine.name} ({run.backend}) · "
             f"context {run.context_tokens:,}" + (f" × {run.n_seq} seqs" if run.n_seq > 1 else "")
             + f" · KV {run.kv_label} · flash-attn {'on' if run.flash_attention else 'off'}")
    t = Table()
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
    for comp, label in ((Component.WEIGHTS, "weights"), (Component.KV_CACHE, "KV cache"),
                        (Component.COMPUTE, "compute"), (Component.OVERHEAD, "overhead")):
        t.add_row("", Text(label, style="bold"), "", fmt_bytes(bd.total(comp)))
    t.add_row("", Text("total", style="bold"), "", Text(fmt_gib(bd.total_bytes), style="bold"))
    lines = [f"total {fmt_gib(bd.total_bytes)} = {fmt_gb(bd.total_bytes)}: accelerator {fmt_gib(bd.device_bytes)}, "
             f"system RAM {fmt_gib(bd.host_bytes)}",
             f"{bd.bits_per_weight:.2f} bits/weight; model file {fmt_gb(bd.model_file_bytes)}"
             + (" (exact, from the file)" if bd.exact_weights else " (predicted)")
             + f"; KV {float(bd.kv_bytes_per_token) / 1024:.0f} KiB/token"]
    system = r.system
    cluster = system is not None and system.is_cluster
    for node in (system.nodes if system is not None else ()):
        hosted = any(d.device.kind != "cpu" for d in node.devices)
        for sd in node.devices:
            where = f"{node.name}: " if cluster else ""
            if sd.device.kind == "cpu" and hosted:
                # the CPU beside accelerators: its platform's bandwidth feeds layers kept in RAM; the RAM itself is
                # the node's (given, or assumed: the placement lines say which), not the platform's most
                lines.append(f"{where}{sd.device.name}: the host CPU, {sd.device.bandwidth_gb_s:g} GB/s of memory "
                             f"bandwidth (the platform takes up to {fmt_gib(sd.device.memory_bytes)} of RAM)")
                continue
            lines.append(f"{where}{sd.count} x {sd.device.name}: {fmt_gib(sd.device.memory_bytes)} each, "
                         f"{fmt_gib(sd.usable.usable_bytes)} usable ({'; '.join(sd.usable.rules) or 'no reserve'})")
    if cluster and system is not None and system.network_link is not None:
        link = system.network_link
        lines.append(f"{len(system.nodes)} machines joined by {link.name}: {link.gb_s:g} GB/s per direction, "
                     f"{link.rtt_us:g} us round trip{', RDMA' if link.rdma else ''}")
    lines += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    lines += placement_lines(r)
    return Group(paragraph_block([title]), t, paragraph_block(lines))


def placement_lines(r: FitResult) -> list[str]:
    p = r.placement
    if p is None:
        return []
    verdict = p.verdict.label
    how = f"{p.gpu_layers}/{p.n_layers + 1} layers on GPU (-ngl, output layer included)"
    if p.tensor_parallel > 1 or p.pipeline_parallel > 1:
        how = f"tensor parallel {p.tensor_parallel} x pipeline parallel {p.pipeline_parallel}"
    if p.cluster_mode is not None:
        how = f"{p.cluster_mode} over {p.nodes} machines" + (f", tensor parallel {p.tensor_parallel} in each"
                                                            if p.tensor_parallel > 1 and p.pipeline_parallel > 1
                                                            else "")
    if p.n_cpu_moe:
        how += f"; experts of the first {p.n_cpu_moe} layers in RAM (--n-cpu-moe {p.n_cpu_moe})"
    out = ["", f"verdict: {p.verdict} - {verdict}; {how}"]
    for d in p.devices:
        if d.used_bytes == 0 and d.role == "cpu":
            continue
        where = f"node {d.node + 1}, " if p.cluster_mode is not None and d.role != "cpu" else ""
        out.append(f"  {where}{d.name}: {fmt_gib(d.used_bytes)} of {fmt_gib(d.usable_bytes)} usable"
                   f" ({len(d.layers)} layers{', output' if d.has_output else ''})" + ("" if d.fits else "  OVER"))
    rm = room(r)
    if rm is not None:
        line = (f"room: {fmt_gib(rm.free_bytes)} free on {rm.device} beyond the {fmt_gib(rm.headroom_bytes)} "
                "headroom" if rm.headroom_bytes else f"room: {fmt_gib(rm.free_bytes)} free on {rm.device}")
        if rm.next_context_tokens is not None and rm.next_context_extra_bytes is not None:
            line += (f"; context {rm.next_context_tokens:,} needs {fmt_gib(rm.next_context_extra_bytes)} more"
                     + (" and fits" if rm.next_context_fits else ", which does not fit"))
        out.append(line)
    out += [f"  note: {n}" for n in p.notes]
    s = r.speed
    if s is not None:
        lo, hi = s.decode_band
        out.append(f"decode {s.decode_tokens_per_s:.1f} tok/s (likely {lo:.1f}-{hi:.1f}) over {s.gen_tokens} tokens")
        if s.users > 1:
            out.append(f"{s.users} users at once: {s.per_user_decode_tokens_per_s:.1f} tok/s each, "
                       f"{s.aggregate_decode_tokens_per_s:,.0f} tok/s together")
        if s.prefill_tokens_per_s is not None and s.time_to_first_token_s is not None:
            out.append(f"prefill {s.prefill_tokens_per_s:,.0f} tok/s over a {s.prompt_tokens}-token prompt; "
                       f"first token after {s.time_to_first_token_s:.2f} s; whole answer "
                       f"{s.total_time_s or 0:.1f} s")
        out += [f"  note: {n}" for n in s.notes]
        c = r.cost
        if c is not None:
            out.append(f"running cost: {c.tokens_per_wh:,.0f} tokens/Wh, ${c.usd_per_million_tokens:.2f} per "
                       f"million tokens at ${c.kwh_price_usd:g}/kWh ({c.load_w:.0f} W: {c.basis})")
        elif r.cost_unknown:
            out.append(f"running cost: unknown ({r.cost_unknown})")
    elif r.speed_unknown:
        out.append(f"speed: unknown ({r.speed_unknown})")
    return out


def _ctx_short(n: int) -> str:
    """262144 -> 256k, 1048576 -> 1M, 40960 -> 40k; other lengths as written."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    return f"{n // 1024}k" if n % 1024 == 0 else f"{n:,}"


def _params_short(n: int) -> str:
    return f"{n / 1e12:.2f}T" if n >= 999.95e9 else f"{n / 1e9:.1f}B"


def models_table(specs: list[ModelSpec]) -> Wrapped:
    """``rigfit models``: one row per catalog model, whole names folded at hyphens (never cut)."""
    cols = [Col("name", 28, grow=True), Col("arch", 13), Col("params", 6, right=True),
            Col("active", 6, right=True), Col("layers", 6, right=True), Col("ctx", 5, right=True),
            Col("notes", 10, grow=True)]
    rows = []
    for s in specs:
        active = _params_short(s.params_active) if s.is_moe and s.params_active else ""
        extra = []
        if s.is_moe:
            extra.append(f"MoE {s.n_experts_active}/{s.n_experts}")
        if s.uses_mla:
            extra.append("MLA")
        if s.sliding_window:
            extra.append(f"SWA {s.sliding_window}")
        rows.append([s.name, s.arch, _params_short(s.params_total or 0), active, str(s.n_layers),
                     _ctx_short(s.max_context), ", ".join(extra)])
    head = [f"{len(specs)} models in the catalog", ""]
    tail = ["", "params: B = 10^9, T = 10^12 (active: per token, MoE); ctx: the longest context (k = 1,024 tokens)"]
    return Wrapped(lambda width: head + table_lines(cols, rows, width) + wrap_lines(tail, width))


def devices_table(devices: Sequence[Device]) -> Any:
    from rich.table import Table

    t = Table(title=f"{len(devices)} devices", title_justify="left")
    for col in ("name", "kind", "memory", "GB/s", "FP16 TFLOPS", "TDP W", "price"):
        t.add_column(col, justify="left" if col in ("name", "kind") else "right")
    for d in devices:
        price = f"${d.street_usd:,.0f} ({d.street_date})" if d.street_usd else \
            f"launch ${d.msrp_usd:,.0f} ({d.msrp_date})" if d.msrp_usd else ""
        if d.used_usd:
            price += f"; used ${d.used_usd:,.0f}"
        t.add_row(d.name, f"{d.kind}/{d.form}", fmt_gib(d.memory_bytes, 0),
                  f"{d.bandwidth_gb_s:,.0f}" if d.bandwidth_gb_s else "unknown",
                  f"{d.fp16_tflops:,.1f}" if d.fp16_tflops else "", str(d.tdp_w or ""), price)
    return t


def runs_table(results: list[FitResult]) -> Wrapped:
    """``rigfit models --hardware``: one row per model as plain text (a rich table of 200 rows takes longer
    to lay out than the whole listing takes to compute); long names fold onto a second line, never cut."""
    from .json_out import runs_dict

    doc = runs_dict(results)
    hw = " + ".join(f"{d['count']}x {d['name']}" for d in (doc["hardware"] or {}).get("devices", []))
    ctx = results[0].memory.run.context_tokens if results else 0
    cols = [Col("model", 28, grow=True), Col("quant", 10), Col("runs", 7), Col("layers", 7, right=True),
            Col("GiB", 6, right=True), Col("decode", 6, right=True), Col("prefill", 7, right=True)]
    rows = []
    for m in doc["models"]:
        dec, pre = m["decode_tokens_per_s"], m["prefill_tokens_per_s"]
        runs = Verdict(m["verdict"]).short if m["verdict"] else "?"
        rows.append([m["model"], m["quant"], runs, f"{m['gpu_layers']}/{m['n_layers'] + 1}",
                     f"{m['total_bytes'] / GIB:.1f}", f"{dec:.1f}" if dec else "-", f"{pre:,.0f}" if pre else "-"])
    head = [f"What runs on {hw or 'this machine'}", ""]
    tail = ["", f"context {ctx:,} tokens; memory in GiB; decode and prefill in tokens/s"]
    return Wrapped(lambda width: wrap_lines(head, width) + table_lines(cols, rows, width) + wrap_lines(tail, width))


def compare_table(items: list[Compared]) -> Wrapped:
    """``rigfit compare``: one column per machine, one row per figure, folded to the console's width."""
    r0 = items[0].result
    head = [f"{r0.spec.name} · {r0.engine.name} · context {r0.memory.run.context_tokens:,} · prompt "
            f"{r0.request.prompt_tokens:,}, answer {r0.request.gen_tokens:,} tokens", ""]
    labels = ["machine", "verdict", "quant", "memory", "GPU layers", "prefill", "decode", "first token",
              "max context", "price", "running cost"]
    rows: list[list[str]] = [[] for _ in labels]
    for c in items:
        r, p, s = c.result, c.result.placement, c.result.speed
        assert p is not None
        names = " + ".join(f"{sd.count}x {sd.device.name}" if sd.count > 1 else sd.device.name
                           for sd in r.devices)
        used = sum(d.used_bytes for d in p.accelerators)
        usable = sum(d.usable_bytes for d in p.accelerators)
        cost = r.cost
        cells = [names, str(p.verdict), r.quant.name,
                 f"{used / GIB:.1f} of {usable / GIB:.1f} GiB",
                 f"{p.gpu_layers}/{p.n_layers + 1}" + (f", {p.n_cpu_moe} MoE in RAM" if p.n_cpu_moe else ""),
                 f"{s.prefill_tokens_per_s:,.0f} tok/s" if s and s.prefill_tokens_per_s else "-",
                 f"{s.decode_tokens_per_s:.1f} tok/s" if s else "-",
                 f"{s.time_to_first_token_s:.2f} s" if s and s.time_to_first_token_s is not None else "-",
                 f"{c.max_context_tokens:,}" if c.max_context_tokens else "-",
                 f"${c.price_usd:,.0f}" if c.price_usd else "-",
                 (f"{cost.tokens_per_wh:,.0f} tok/Wh, ${cost.usd_per_million_tokens:.2f}/M" if cost else "-")]
        for row, cell in zip(rows, cells, strict=True):
            row.append(cell)
    kwh = r0.request.kwh_price_usd
    tail = ["", f"memory: used of usable accelerator memory (a {fmt_gib(r0.request.headroom_bytes)} headroom kept "
            f"free); max context: the longest that keeps the verdict at this quant and KV type; price: the "
            f"accelerators at their dated street (else used) price; running cost at ${kwh:g}/kWh with each "
            "machine at rated power (an upper bound)"]
    notes = [f"{c.result.devices[0].device.name}: running cost unknown ({c.result.cost_unknown})"
             for c in items if c.result.cost is None and c.result.cost_unknown]

    def layout(width: int) -> list[str]:
        col = max(12, (width - 13 - len(items)) // len(items))
        cols = [Col("", 12), *(Col(f"#{i + 1}", col) for i in range(len(items)))]
        body = [[label, *row] for label, row in zip(labels, rows, strict=True)]
        return wrap_lines(head, width) + table_lines(cols, body, width) + wrap_lines(tail + notes, width)
    return Wrapped(layout)


def curve_table(points: Any) -> Any:
    """``rigfit fit --curve``: the plan at growing contexts, each with a prompt that fills it."""
    from rich.table import Table

    t = Table(title="the same plan as the context grows (prompt fills the context)", title_justify="left")
    for col in ("context", "verdict", "GPU layers", "memory", "prefill tok/s", "decode tok/s", "first token"):
        t.add_column(col, justify="left" if col == "verdict" else "right")
    for p in points:
        t.add_row(f"{p.context_tokens:,}", p.verdict or "-", "-" if p.gpu_layers is None else str(p.gpu_layers),
                  fmt_gib(p.total_bytes),
                  "-" if p.prefill_tokens_per_s is None else f"{p.prefill_tokens_per_s:,.0f}",
                  "-" if p.decode_tokens_per_s is None else f"{p.decode_tokens_per_s:.1f}",
                  "-" if p.time_to_first_token_s is None else f"{p.time_to_first_token_s:,.1f} s")
    return t
