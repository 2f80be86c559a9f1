"""JSON and terminal views of the advisor's results (rendering only: every number comes from advise)."""

from __future__ import annotations

from typing import Any

from ..advise import Build, MachineReport, ModelOnBuild, NearMiss, RankedBuild, Recommendation, Workload
from ..training import TrainingFit
from ..units import GIB
from ..vocab import Target, WorkloadKind
from .text import paragraph_block


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def training_dict(tf: TrainingFit) -> dict[str, Any]:
    mem = tf.memory
    ft = mem.finetune
    return {
        "method": ft.method, "framework": ft.framework, "lora_rank": ft.lora_rank, "lora_targets": ft.lora_targets,
        "seq_len": ft.seq_len, "micro_batch": ft.micro_batch, "gradient_checkpointing": ft.gradient_checkpointing,
        "optimizer": ft.optimizer, "dataset_tokens": ft.dataset_tokens, "epochs": ft.epochs,
        "params_total": mem.params_total, "params_trainable": mem.params_trainable,
        "total_bytes": mem.total_bytes, "per_device_bytes": tf.per_device_bytes, "usable_bytes": tf.usable_bytes,
        "fits": tf.fits, "parallel": tf.parallel,
        "items": [{"component": i.component, "name": i.name, "bytes": i.n_bytes, "note": i.note} for i in mem.items],
        "tokens_per_s": _r(tf.time.tokens_per_s, 1) if tf.time else None,
        "epoch_hours": _r(tf.time.epoch_s / 3600, 2) if tf.time else None,
        "total_hours": _r(tf.time.total_s / 3600, 2) if tf.time else None,
        "utilization": tf.time.utilization if tf.time else None,
        "notes": list(mem.notes),
    }


def model_on_build_dict(m: ModelOnBuild) -> dict[str, Any]:
    return {
        "model": m.model, "quant": m.quant, "context_tokens": m.context_tokens, "verdict": m.verdict,
        "decode_tokens_per_s": _r(m.decode_tokens_per_s, 1), "prefill_tokens_per_s": _r(m.prefill_tokens_per_s, 1),
        "time_to_first_token_s": _r(m.time_to_first_token_s), "answer_time_s": _r(m.answer_time_s, 1),
        "used_bytes": m.used_bytes, "room_bytes": m.room_bytes,
        "max_context_tokens": m.max_context_tokens, "meets": m.meets, "reason": m.reason,
        "training": training_dict(m.training) if m.training else None,
    }


def build_dict(b: Build) -> dict[str, Any]:
    return {
        "name": b.name, "kind": b.kind, "form": b.form, "os": list(b.os_names), "condition": b.condition,
        "price_usd": b.price_usd,
        "devices": [{"name": b.device.name, "vendor": b.device.vendor, "count": b.count,
                     "memory_bytes": b.device.memory_bytes,
                     "usable_bytes": b.usable_bytes, "bandwidth_gb_s": b.device.bandwidth_gb_s}],
        "accelerator_memory_bytes": b.accelerator_memory_bytes, "system_ram_bytes": b.ram_bytes, "cpu": b.cpu,
        "storage": b.storage, "psu_w": b.psu_w, "cooling": b.cooling,
        "parts": [{"role": p.role, "name": p.name, "count": p.count, "unit_usd": p.unit_usd, "usd": p.usd,
                   "condition": p.condition, "price_date": p.price_date, "source": p.source, "rule": p.rule}
                  for p in b.parts],
        "caveats": list(b.caveats),
    }


def ranked_dict(r: RankedBuild) -> dict[str, Any]:
    from .json_out import cost_dict

    return {"rank": r.rank, **build_dict(r.build), "pareto": r.pareto, "reason": r.reason,
            "models": [model_on_build_dict(m) for m in r.models],
            "running_cost": cost_dict(r.cost, "training workload or no rated power on file")}


def workload_dict(w: Workload) -> dict[str, Any]:
    out: dict[str, Any] = {"name": w.name, "kind": w.kind, "description": w.description,
                           "rationale": w.rationale, "source": w.source}
    if w.kind == WorkloadKind.INFERENCE:
        out.update(context_tokens=w.context_tokens, prompt_tokens=w.prompt_tokens, answer_tokens=w.answer_tokens,
                   min_decode_tokens_per_s=w.min_decode_tokens_per_s, max_ttft_s=w.max_ttft_s)
    elif w.finetune is not None:
        ft = w.finetune
        out.update(method=ft.method, seq_len=ft.seq_len, micro_batch=ft.micro_batch, lora_rank=ft.lora_rank,
                   lora_targets=ft.lora_targets, dataset_tokens=ft.dataset_tokens, epochs=ft.epochs,
                   max_epoch_hours=w.max_epoch_hours)
    return out


def recommendation_dict(rec: Recommendation) -> dict[str, Any]:
    req = rec.request
    return {
        "request": {"models": list(req.models), "quant": req.quant, "context_tokens": req.context_tokens,
                    "workload": req.workload, "min_tokens_per_s": req.min_tokens_per_s,
                    "max_ttft_s": req.max_ttft_s, "kwh_price_usd": req.kwh_price_usd,
                    "have": None if req.have is None else {
                        "cpu": req.have.cpu, "platform": req.have.platform, "cpu_tdp_w": req.have.cpu_tdp_w,
                        "ram_gib": req.have.ram_gib, "ram_type": req.have.ram_type, "psu_w": req.have.psu_w,
                        "board": req.have.board, "slot_lanes": list(req.have.slot_lanes)},
                    "budget_usd": req.budget_usd, "platform": req.platform, "form": req.form,
                    "condition": req.condition, "vendor": req.vendor},
        "workload": workload_dict(rec.workload),
        "min_tokens_per_s": rec.min_tokens_per_s,
        "context_tokens": rec.context_tokens,
        "builds": [ranked_dict(r) for r in rec.builds],
        "pareto": [{"rank": r.rank, "name": r.build.name, "price_usd": r.build.price_usd,
                    "slowest_decode_tokens_per_s": _r(r.slowest_decode_tokens_per_s, 1)} for r in rec.pareto],
        "cheapest_limits": list(rec.cheapest_limits),
        "considered": rec.considered, "qualifying": rec.qualifying,
        "rules": [{"topic": t, "rule": r, "source": s} for t, r, s in rec.rules],
        "notes": list(rec.notes),
        "near_misses": [{**build_dict(n.build), "target": n.target, "got": _r(n.got, 2), "want": n.want,
                         "fix": n.fix, "models": [model_on_build_dict(m) for m in n.models]}
                        for n in rec.near_misses],
        "clusters": [{"name": c.name, "nodes": c.nodes, "link": c.link, "engine": c.engine,
                      "price_usd": c.price_usd, "link_usd": c.link_usd, "meets": c.meets, "why": c.why,
                      "machine": build_dict(c.machine), "models": [model_on_build_dict(m) for m in c.models]}
                     for c in rec.clusters],
    }


def miss_text(n: NearMiss) -> str:
    """'first token 3.0 s vs 2 s': the missed target, as the build does and as asked."""
    if n.target == Target.DECODE:
        return f"slowest model decodes {n.got:.1f} tokens/s vs {n.want:g}"
    if n.target == Target.FIRST_TOKEN:
        return f"first token after {n.got:.1f} s vs {n.want:g} s"
    if n.target == Target.EPOCH:
        return f"an epoch takes {n.got:.1f} h vs {n.want:g} h"
    return f"${n.got:,.0f} vs the ${n.want:,.0f} budget"


# ---------------------------------------------------------------------------------------------
# Terminal
# ---------------------------------------------------------------------------------------------


def _speed(m: ModelOnBuild) -> str:
    if m.training is not None:
        t = m.training.time
        return f"{t.epoch_s / 3600:.1f} h/epoch" if t else "?"
    return f"{m.decode_tokens_per_s:.0f} tok/s" if m.decode_tokens_per_s else "?"


def workload_line(w: Workload, min_tps: float, max_ttft_s: float | None = None) -> str:
    if w.kind == WorkloadKind.INFERENCE:
        return (f"workload {w.name}: {w.description}; context {w.context_tokens:,}, prompt {w.prompt_tokens:,}, "
                f"answer {w.answer_tokens:,} tokens; needs >= {min_tps:g} tokens/s and first token <= "
                f"{max_ttft_s or w.max_ttft_s:g} s")
    ft = w.finetune
    assert ft is not None
    return (f"workload {w.name}: {w.description}; seq {ft.seq_len:,}, micro-batch {ft.micro_batch}, "
            f"rank {ft.lora_rank} ({ft.lora_targets}), gradient checkpointing, {ft.dataset_tokens:,} tokens x "
            f"{ft.epochs} epochs; an epoch within {w.max_epoch_hours:g} h")


def recommendation_text(rec: Recommendation) -> Any:
    from rich.console import Group
    from rich.table import Table

    t = Table(title=f"{rec.qualifying} of {rec.considered} builds meet the targets; cheapest first",
              title_justify="left")
    for col, j in (("#", "right"), ("build", "left"), ("price", "right"), ("memory", "right"), ("speed", "left")):
        t.add_column(col, justify=j)  # type: ignore[arg-type]
    for r in rec.builds:
        speeds = ", ".join(_speed(m) for m in r.models)
        t.add_row(str(r.rank) + ("*" if r.pareto else ""), r.build.name, f"${r.build.price_usd:,.0f}",
                  f"{r.build.accelerator_memory_bytes / GIB:.0f} GiB", speeds)
    lines = [workload_line(rec.workload, rec.min_tokens_per_s, rec.request.max_ttft_s),
             *([f"upgrade of your machine: {rec.request.have.describe()}; prices are what you add"]
               if rec.request.have else []),
             "* on the price/speed Pareto front" if rec.builds else "no build meets every target", ""]
    for r in rec.builds:
        b = r.build
        lines.append(f"#{r.rank} {b.name} — ${b.price_usd:,.0f} ({b.condition}; {', '.join(b.os_names)}): {r.reason}")
        for p in b.parts:
            cnt = f"{p.count} x " if p.count > 1 else ""
            lines.append(f"    {p.role:<11} {cnt}{p.name}: ${p.usd:,.0f} ({p.condition}, {p.price_date})")
        for m in r.models:
            tf = m.training
            if tf is not None and tf.time is not None:
                tt = tf.time
                lines.append(f"    {m.model}: {tf.memory.finetune.method} ({tf.memory.finetune.framework}) "
                             f"{tf.per_device_bytes / GIB:.1f} of {tf.usable_bytes / GIB:.1f} GiB, "
                             f"{tt.tokens_per_s:,.0f} tokens/s, {tt.epoch_s / 3600:.1f} h/epoch "
                             f"at {tt.utilization:.0%} utilization ({tf.parallel})")
            else:
                lines.append(f"    {m.model} {m.quant} @ {m.context_tokens:,}: {m.verdict}, "
                             f"{m.decode_tokens_per_s or 0:.1f} tok/s, first token "
                             f"{m.time_to_first_token_s or 0:.1f} s, room {m.room_bytes / GIB:.1f} GiB "
                             f"(~{m.max_context_tokens:,} tokens of context)")
        if r.cost is not None:
            lines.append(f"    running cost: {r.cost.tokens_per_wh:,.0f} tokens/Wh, "
                         f"${r.cost.usd_per_million_tokens:.2f} per million tokens of the slowest model at "
                         f"${r.cost.kwh_price_usd:g}/kWh ({r.cost.load_w:.0f} W rated)")
        for c in b.caveats:
            lines.append(f"    note: {c}")
    if rec.near_misses:
        lines.append("near misses, each missing one target" + (" (cheaper than #1):" if rec.builds else ":"))
        lines += [f"  - {n.build.name} ({n.build.condition}) — ${n.build.price_usd:,.0f}: {miss_text(n)}; passes "
                  f"with {n.fix}" for n in rec.near_misses]
        lines.append("")
    if rec.clusters:
        lines.append("clusters of identical machines (no single machine meets the targets):")
        for c in rec.clusters:
            lines.append(f"  - {c.name} — ${c.price_usd:,.0f} (machines ${c.machine.price_usd:,.0f} each, link "
                         f"${c.link_usd:,.0f}): {', '.join(_speed(m) for m in c.models)}"
                         + ("" if c.meets else "; misses a target"))
            lines.append(f"    {c.why}")
        lines.append("")
    if rec.pareto:
        lines.append("price/speed front: " + "; ".join(
            f"#{r.rank} {r.build.name} ${r.build.price_usd:,.0f} ({_speed(min(r.models, key=_slow))})"
            for r in rec.pareto))
    if rec.cheapest_limits:
        lines.append(f"the cheapest build (#{rec.builds[0].rank}) cannot:")
        lines += [f"  - {x}" for x in rec.cheapest_limits]
    lines += [f"note: {n}" for n in rec.notes]
    return Group(t, paragraph_block(lines)) if rec.builds else paragraph_block(
        [f"0 of {rec.considered} builds meet the targets", *lines])


def _slow(m: ModelOnBuild) -> float:
    if m.training is not None and m.training.time is not None:
        return -m.training.time.epoch_s
    return m.decode_tokens_per_s or 0.0


def machine_dict(rep: MachineReport) -> dict[str, Any]:
    from .json_out import fit_dict

    rec = rep.recommendation
    return {
        "machine": rep.description,
        "workload": workload_dict(rec.workload),
        "models": [{**fit_dict(r), "runs_well": ok} for r, ok in zip(rep.results, rep.meets, strict=True)],
        "runs_all_well": all(rep.meets),
        "cheapest_build": ranked_dict(rec.builds[0]) if rec.builds else None,
        "cheapest_limits": list(rec.cheapest_limits),
        "notes": list(rep.notes),
    }


def machine_text(rep: MachineReport) -> Any:
    from rich.console import Group

    from .terminal import runs_table

    rec = rep.recommendation
    lines = [f"This machine: {rep.description}", workload_line(rec.workload, rec.min_tokens_per_s)]
    for r, ok in zip(rep.results, rep.meets, strict=True):
        sp = r.speed
        how = (f"{r.placement.verdict if r.placement else '?'}, "
               + (f"{sp.decode_tokens_per_s:.1f} tok/s" if sp else "speed unknown")
               + (f", first token {sp.time_to_first_token_s:.1f} s" if sp and sp.time_to_first_token_s else ""))
        lines.append(f"  {r.spec.name} at {r.quant.name}: {how} -> {'runs well' if ok else 'not well'}")
    lines += [f"note: {n}" for n in rep.notes]
    lines.append("")
    if rec.builds:
        top = rec.builds[0]
        b = top.build
        lines.append(f"Cheapest build that runs all of it well: {b.name} — ${b.price_usd:,.0f} "
                     f"({b.condition}; {', '.join(b.os_names)})")
        for p in b.parts:
            cnt = f"{p.count} x " if p.count > 1 else ""
            lines.append(f"    {p.role:<11} {cnt}{p.name}: ${p.usd:,.0f} ({p.condition}, {p.price_date})")
        for m in top.models:
            lines.append(f"    {m.model}: {_speed(m)}, first token {m.time_to_first_token_s or 0:.1f} s, "
                         f"room {m.room_bytes / GIB:.1f} GiB")
        lines += [f"    cannot: {x}" for x in rec.cheapest_limits]
        lines.append("More builds, budgets and workloads: rigfit recommend --help")
    return Group(runs_table(list(rep.results)), paragraph_block(lines))
