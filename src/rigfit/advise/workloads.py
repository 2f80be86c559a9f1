"""Workloads: what a person does with the models (chat, code, reasoning, RAG, LoRA/QLoRA/full fine-tune), as
targets the advisor must meet (context, prompt and answer lengths, decode speed, time to first token, epoch
time), loaded from ``data/workloads.toml`` with their rationale and source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .._validate import Field, Problems, check_record
from ..errors import UnknownName
from ..training import FineTune
from ..vocab import WorkloadKind

WORKLOAD_SCHEMA: dict[str, Field] = {
    "name": Field("str", True), "kind": Field("str", True, tuple(WorkloadKind)),
    "description": Field("str", True), "rationale": Field("str", True), "source": Field("str", True),
    "as_of": Field("date", True), "context_tokens": Field("pos_int"), "prompt_tokens": Field("pos_int"),
    "answer_tokens": Field("pos_int"), "min_decode_tokens_per_s": Field("pos_num"), "max_ttft_s": Field("pos_num"),
    "method": Field("str", False, ("full", "lora", "qlora")), "seq_len": Field("pos_int"),
    "micro_batch": Field("pos_int"), "lora_rank": Field("pos_int"), "lora_targets": Field("str"),
    "dataset_tokens": Field("pos_int"), "epochs": Field("pos_int"), "max_epoch_hours": Field("pos_num"),
    "backends": Field("str_list"), "backends_why": Field("str"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    name: str
    kind: WorkloadKind
    description: str
    rationale: str
    source: str
    context_tokens: int = 8192
    prompt_tokens: int = 1000
    answer_tokens: int = 400
    min_decode_tokens_per_s: float = 10.0
    max_ttft_s: float = 10.0
    finetune: FineTune | None = None
    max_epoch_hours: float = 24.0
    # the backends its software stack is made for (empty: any); builds driven by another backend are left out
    # unless the request names their vendor, and the reason is said
    backends: tuple[str, ...] = ()
    backends_why: str = ""


def parse_workloads(raw: dict[str, Any]) -> tuple[Workload, ...]:
    problems = Problems("workloads catalog")
    out = []
    for i, rec in enumerate(raw.get("workloads", [])):
        if not check_record(rec, WORKLOAD_SCHEMA, f"workloads[{i}]", problems):
            continue
        if rec["kind"] == WorkloadKind.TRAINING and "method" not in rec:
            problems.add(f"workloads[{i}].method", "missing (a training workload needs it)")
            continue
        ft = None
        if rec["kind"] == WorkloadKind.TRAINING:
            ft = FineTune(method=rec["method"], seq_len=rec.get("seq_len", 2048), micro_batch=rec.get("micro_batch", 1),
                          lora_rank=rec.get("lora_rank", 16), lora_targets=rec.get("lora_targets", "all-linear"),
                          dataset_tokens=rec.get("dataset_tokens", 10_000_000), epochs=rec.get("epochs", 3))
        kw: dict[str, Any] = {k: rec[k] for k in ("context_tokens", "prompt_tokens", "answer_tokens",
                                                  "min_decode_tokens_per_s", "max_ttft_s", "max_epoch_hours",
                                                  "backends_why") if k in rec}
        if "backends" in rec:
            kw["backends"] = tuple(rec["backends"])
        out.append(Workload(name=rec["name"], kind=WorkloadKind(rec["kind"]), description=rec["description"],
                            rationale=rec["rationale"], source=rec["source"], finetune=ft, **kw))
    problems.raise_if_any()
    return tuple(out)


@functools.cache
def default_workloads() -> tuple[Workload, ...]:
    from ..catalogdata import embedded

    return parse_workloads(embedded("workloads"))


def get_workload(name: str) -> Workload:
    for w in default_workloads():
        if w.name == name.lower().strip():
            return w
    raise UnknownName("workload", name, [w.name for w in default_workloads()])

