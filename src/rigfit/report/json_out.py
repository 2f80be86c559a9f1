"""Plain-dict (JSON) views of results; the same documents back ``--json`` and the web API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..api import FitResult, Room, room
from ..compare import Compared
from ..cost import RunningCost
from ..hardware.spec import Device
from ..memory import MemoryBreakdown
from ..models.spec import ModelSpec

if TYPE_CHECKING:
    from ..placement import Placement


def memory_dict(bd: MemoryBreakdown) -> dict[str, Any]:
    return {
        "weights_bytes": bd.weights_bytes,
        "kv_cache_bytes": bd.kv_cache_bytes,
        "compute_bytes": bd.compute_bytes,
        "overhead_bytes": bd.overhead_bytes,
        "total_bytes": bd.total_bytes,
        "device_bytes": bd.device_bytes,
        "host_bytes": bd.host_bytes,
        "model_file_bytes": bd.model_file_bytes,
        "kv_bytes_per_token": round(float(bd.kv_bytes_per_token), 3),
        "bits_per_weight": round(bd.bits_per_weight, 4),
        "exact_weights": bd.exact_weights,
        "items": [
            {"component": i.component, "name": i.name, "bytes": i.n_bytes, "location": i.location, "note": i.note}
            for i in bd.items
        ],
    }


def model_dict(spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "arch": spec.arch, "origin": spec.origin, "params_total": spec.params_total,
        "params_active": spec.params_active, "n_layers": spec.n_layers, "hidden_size": spec.hidden_size,
        "n_heads": spec.n_heads, "n_kv_heads": spec.n_kv_heads, "head_dim": spec.head_dim,
        "vocab_size": spec.vocab_size, "max_context": spec.max_context, "moe": spec.is_moe,
        "n_experts": spec.n_experts, "n_experts_active": spec.n_experts_active,
        "sliding_window": spec.sliding_window, "mla": spec.uses_mla, "hf_repo": spec.hf_repo,
        "aliases": list(spec.aliases), "source": spec.source, "as_of": spec.as_of,
    }


def fit_dict(r: FitResult) -> dict[str, Any]:
    run = r.memory.run
    return {
        "model": model_dict(r.spec),
        "quant": r.quant.name,
        "engine": r.engine.name,
        "settings": {
            "backend": run.backend, "context_tokens": run.context_tokens, "kv_cache_type": run.kv_cache_type,
            "kv_cache_type_v": run.kv_type_v,
            "flash_attention": run.flash_attention, "n_batch": run.n_batch, "n_ubatch": run.n_ubatch,
            "n_seq": run.n_seq, "op_offload": run.op_offload, "n_threads": run.n_threads,
            "headroom_bytes": r.request.headroom_bytes,
        },
        "memory": memory_dict(r.memory),
        "hardware": hardware_dict(r) if r.system is not None else None,
        "placement": placement_dict(r.placement, r.request.headroom_bytes) if r.placement else None,
        "room": room_dict(room(r)),
        "running_cost": cost_dict(r.cost, r.cost_unknown) if r.system is not None else None,
        "speed": speed_dict(r),
        "warnings": list(r.memory.warnings),
    }


def cost_dict(c: RunningCost | None, unknown: str = "") -> dict[str, Any]:
    if c is None:
        return {"unknown": unknown}
    return {"load_w": round(c.load_w, 1), "tokens_per_s": round(c.tokens_per_s, 2), "kwh_price_usd": c.kwh_price_usd,
            "tokens_per_wh": round(c.tokens_per_wh, 1), "usd_per_million_tokens": round(c.usd_per_million_tokens, 3),
            "basis": c.basis}


def compare_dict(items: list[Compared]) -> dict[str, Any]:
    machines = []
    for c in items:
        doc = fit_dict(c.result)  # once per machine: its room is a plan of its own
        machines.append({"hardware": doc["hardware"], "max_context_tokens": c.max_context_tokens,
                         "price_usd": c.price_usd, "price_basis": c.price_basis, "fit": doc})
    return {"model": items[0].result.spec.name if items else None, "machines": machines}


def room_dict(rm: Room | None) -> dict[str, Any] | None:
    if rm is None:
        return None
    return {"free_bytes": rm.free_bytes, "device": rm.device, "headroom_bytes": rm.headroom_bytes,
            "next_context_tokens": rm.next_context_tokens, "next_context_extra_bytes": rm.next_context_extra_bytes,
            "next_context_fits": rm.next_context_fits}


def placement_dict(p: Placement, headroom_bytes: int = 0) -> dict[str, Any]:
    return {
        "verdict": p.verdict, "split_mode": p.split_mode, "gpu_layers": p.gpu_layers, "n_layers": p.n_layers,
        "n_cpu_moe": p.n_cpu_moe, "tensor_parallel": p.tensor_parallel, "pipeline_parallel": p.pipeline_parallel,
        "tensor_split": list(p.tensor_split), "ram_bytes": p.ram_bytes, "ram_assumed": p.ram_assumed,
        "devices": [{"name": d.name, "role": d.role, "usable_bytes": d.usable_bytes, "used_bytes": d.used_bytes,
                     "weights_bytes": d.weights_bytes, "kv_cache_bytes": d.kv_bytes, "compute_bytes": d.compute_bytes,
                     "overhead_bytes": d.overhead_bytes, "layers": len(d.layers),
                     "first_layer": d.layers[0] if d.layers else None, "output_layer": d.has_output,
                     "cpu_expert_layers": len(d.expert_layers), "fits": d.fits, "node": d.node + 1,
                     "headroom_bytes": 0 if d.role == "cpu" else headroom_bytes} for d in p.devices],
        "cluster_mode": p.cluster_mode, "nodes": p.nodes if p.cluster_mode is not None else 1,
        "notes": list(p.notes),
    }


def speed_dict(r: FitResult) -> dict[str, Any] | None:
    s = r.speed
    if s is None:
        return {"unknown": r.speed_unknown} if r.speed_unknown else None
    return {
        "prompt_tokens": s.prompt_tokens, "gen_tokens": s.gen_tokens, "depth_tokens": s.depth_tokens,
        "prefill_tokens_per_s": s.prefill_tokens_per_s, "decode_tokens_per_s": s.decode_tokens_per_s,
        "decode_after_prompt_tokens_per_s": s.decode_after_prompt_tokens_per_s, "users": s.users,
        "per_user_decode_tokens_per_s": s.per_user_decode_tokens_per_s,
        "aggregate_decode_tokens_per_s": s.aggregate_decode_tokens_per_s,
        "time_to_first_token_s": s.time_to_first_token_s, "total_time_s": s.total_time_s,
        "decode_band_tokens_per_s": list(s.decode_band),
        "prefill_band_tokens_per_s": list(s.prefill_band) if s.prefill_band else None,
        "roofline_decode_tokens_per_s": s.roofline_tokens_per_s,
        "decode_ms_per_device": {name: ms for name, ms in s.per_device_ms},
        "hardware_classes": list(s.classes), "calibrated_runs": s.calibrated_runs, "notes": list(s.notes),
    }


def hardware_dict(r: FitResult) -> dict[str, Any]:
    nodes = r.system.nodes if r.system is not None else ()
    link = r.system.network_link if r.system is not None else None
    doc: dict[str, Any] = {
        "devices": [{**device_dict(s.device), "count": s.count, "usable_bytes": s.usable.usable_bytes,
                     "headroom_bytes": s.usable.headroom_bytes, "usable_rules": list(s.usable.rules),
                     "node": i + 1}
                    for i, node in enumerate(nodes) for s in node.devices],
        "total_memory_bytes": sum(s.device.memory_bytes * s.count for s in r.devices),
        "usable_memory_bytes": sum(s.usable.usable_bytes * s.count for s in r.devices),
    }
    if len(nodes) > 1 and link is not None:
        doc["nodes"] = [{"name": n.name, "ram_bytes": n.ram_bytes} for n in nodes]
        doc["link"] = {"name": link.name, "gb_s": link.gb_s, "rtt_us": link.rtt_us, "rdma": link.rdma}
    return doc


def device_dict(d: Device) -> dict[str, Any]:
    return {
        "name": d.name, "kind": d.kind, "vendor": d.vendor, "form": d.form, "memory_bytes": d.memory_bytes,
        "bandwidth_gb_s": d.bandwidth_gb_s, "fp16_tflops": d.fp16_tflops, "int8_tops": d.int8_tops,
        "fp8_tflops": d.fp8_tflops, "tdp_w": d.tdp_w, "pcie_gen": d.pcie_gen, "pcie_lanes": d.pcie_lanes,
        "nvlink": d.nvlink, "unified": d.unified, "arch": d.arch, "released": d.released,
        "msrp_usd": d.msrp_usd, "msrp_date": d.msrp_date or None, "used_usd": d.used_usd,
        "used_date": d.used_date or None, "used_source": d.used_source or None,
        "street_usd": d.street_usd, "street_date": d.street_date or None, "street_source": d.street_source or None,
        "chip": d.chip or None, "units": d.units, "boost_mhz": d.boost_mhz,
        "aliases": list(d.aliases), "source": d.source, "as_of": d.as_of,
    }


def runs_dict(results: list[FitResult]) -> dict[str, Any]:
    """``rigfit models --hardware``: one row per model, best verdict first."""
    rows = []
    for r in results:
        p, s = r.placement, r.speed
        rows.append({"model": r.spec.name, "quant": r.quant.name, "verdict": p.verdict if p else None,
                     "gpu_layers": p.gpu_layers if p else None, "n_layers": r.spec.n_layers,
                     "total_bytes": r.memory.total_bytes,
                     "accelerator_bytes": sum(d.used_bytes for d in p.accelerators) if p else None,
                     "context_tokens": r.memory.run.context_tokens,
                     "decode_tokens_per_s": s.decode_tokens_per_s if s else None,
                     "prefill_tokens_per_s": s.prefill_tokens_per_s if s else None,
                     "calibrated_runs": s.calibrated_runs if s else 0})
    hw = hardware_dict(results[0]) if results and results[0].system is not None else None
    return {"hardware": hw, "models": rows}


def curve_dict(points: Any) -> dict[str, Any]:
    """``context_curve`` points: the same plan at growing contexts (the page's tokens/s vs context plot)."""
    return {"points": [{"context_tokens": p.context_tokens, "verdict": p.verdict, "gpu_layers": p.gpu_layers,
                        "total_bytes": p.total_bytes, "decode_tokens_per_s": p.decode_tokens_per_s,
                        "prefill_tokens_per_s": p.prefill_tokens_per_s,
                        "time_to_first_token_s": p.time_to_first_token_s} for p in points]}
