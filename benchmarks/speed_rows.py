"""Calibration rows of ``throughput_llamacpp.csv`` turned into rigfit fits (shared by fit_speed.py and accuracy.py).

Each row becomes the same ``rigfit.api.fit`` call the CLI makes: the model and quant, ``Nx GPU`` hardware,
flash attention off and an f16 KV cache (the rows' settings), and the llama-bench or ``main`` run shape:
``ppN`` = an N-token prompt from an empty context, ``tgN`` = N tokens generated from an empty context, both
with llama-bench's n_batch 2048 / n_ubatch 512 (May 2024 builds).  The Dec 2023 rows used ``main`` with a
~500-token prompt (n_batch 512, no micro-batches yet) and, on several GPUs, the row split that was then the
default (layer split became the default in llama.cpp b1875, Jan 2024).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from calibration import calibration_file
from rigfit import fit
from rigfit.api import FitResult

CSV = calibration_file("throughput_llamacpp.csv")


@dataclass(frozen=True)
class Row:
    hardware: str
    n_gpus: int
    model: str
    quant: str
    metric: str  # tg | pp
    prompt: int
    gen: int
    start: int  # context position decode starts at
    measured: float
    old_build: bool
    hw_class: str
    caution: bool  # flagged CAUTION in the calibration notes (likely a measurement artifact)


def hw_spec(name: str) -> str:
    name = re.sub(r"\s+\d+GB$", "", name) if not name.startswith("Apple") else name
    return name.replace("-Core GPU", "-core")


def load_rows(path: Path = CSV) -> list[Row]:
    rows = []
    with path.open() as f:
        for r in csv.DictReader(f):
            metric, n = r["metric"], 0
            old = r["engine_version_if_known"].startswith("Dec 2023")
            if m := re.fullmatch(r"(tg|pp)(\d+)", metric):
                kind, n = m.group(1), int(m.group(2))
                prompt, gen, start = (n, 1, 0) if kind == "pp" else (1, n, 0)
            elif metric.startswith("tg_main"):
                kind, prompt, gen, start = "tg", 500, int(metric.rsplit("n", 1)[1]), 500
            elif metric.startswith("pp_main"):
                kind, prompt, gen, start = "pp", 500, 1, 0
            else:
                continue
            hw = r["hardware"]
            n_gpus = int(r["n_gpus"])
            cls = ("Apple" if hw.startswith("Apple") else "multi-GPU" if n_gpus > 1 else
                   "NVIDIA datacenter" if any(k in hw for k in ("A100", "H100", "L40S")) else "NVIDIA consumer")
            rows.append(Row(hardware=hw, n_gpus=n_gpus, model=r["model"], quant=r["quant"], metric=kind,
                            prompt=prompt, gen=gen, start=start, measured=float(r["tokens_per_s"]), old_build=old,
                            hw_class=cls, caution="CAUTION" in r["notes"]))
    return rows


def fit_row(row: Row) -> FitResult:
    ctx = max(row.prompt, row.start) + row.gen + 16
    spec = hw_spec(row.hardware)
    batch = 512 if row.old_build else 2048
    return fit(row.model, quant=row.quant, context_tokens=ctx, flash_attention=False, kv_cache_type="f16",
               hardware=[f"{row.n_gpus}x {spec}"], prompt_tokens=row.prompt, gen_tokens=row.gen,
               n_batch=batch, n_ubatch=512, ram_bytes=256 << 30,
               headroom_bytes=0,  # the measured runs set their own layers (llama-bench has no --fit)
               split_mode="row" if (row.old_build and row.n_gpus > 1) else None,
               llamacpp_build="2023-12" if row.old_build else "2024-05")
