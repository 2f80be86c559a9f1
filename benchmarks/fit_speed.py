"""Fit the speed model's efficiency constants on ../shared/calibration/throughput_llamacpp.csv.

    python benchmarks/fit_speed.py            # fit, print the table, write src/rigfit/data/speed_fit.toml
    python benchmarks/fit_speed.py --check    # fit and print only
    python benchmarks/fit_speed.py --power-grid  # the Ada power figure's in-sample grid (rates.TENSOR_W_PER_SM_GHZ)

Every row goes through ``rigfit.api.fit`` (the CLI's path) to get its placement and per-device work; the decode
and prefill times are linear in the constants (``rigfit.speed.decode_linear`` / ``prefill_linear``), so the fit
is a least-squares solve on relative error, per hardware class (cuda, cuda-datacenter, metal) plus a few global
terms (layer-split hop, row-split sync).  Constants that would come out negative are pinned to zero and the
rest refitted.  Residuals (measured / predicted) give each class's 10th-90th percentile band.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import statistics
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from calibration import exit_if_missing
from modern_rows import CSV as MODERN_CSV
from modern_rows import data_rows, fit_bench_row, load_bench_rows
from rigfit.api import FitResult
from rigfit.hardware.rates import APPLE_SERIAL_PROMPT_SHARE
from rigfit.lsq import pinned_lstsq
from rigfit.speed import (
    A_PCIE,
    DECODE_ATTENTION_CLASSES,
    EXPERT_PROMPT_CLASSES,
    TINY_MODEL_BYTES,
    batch_compute_s,
    batched_step_s,
    decode_linear,
    decode_time_s,
    prefill_linear,
    prefill_time_s,
)
from rigfit.speedclass import DECODE_KEYS, PREFILL_KEYS, PROMPT_FAMILIES, SpeedParams, load_speed_params
from rigfit.speedwork import OLD_F16_GEMV_BYTES_PER_SM_CYCLE, DeviceWork, device_work
from speed_rows import CSV, Row, fit_row, load_rows

OUT = Path(__file__).resolve().parents[1] / "src" / "rigfit" / "data" / "speed_fit.toml"
PRIORS = {  # engine-facts.md 3.1/3.2 starting priors, for classes with no calibration rows
    # a_kv of ROCm and Vulkan from the Strix Halo depth curves quoted in issue 16 (decode at 65k tokens of
    # context 42 % below depth 0 on ROCm, 58 % on Vulkan: gpt-oss-120b, 2.4 GB of KV read per token there)
    "rocm": dict(a_w=1 / 0.7, a_kv=0.43, t_layer=1.2e-4, a_fq=1 / 0.35, a_ff=1 / 0.5, a_sc=1 / 0.4, t_ub=3e-4),
    "vulkan": dict(a_w=1 / 0.65, a_kv=2.1, t_layer=1.5e-4, a_fq=1 / 0.3, a_ff=1 / 0.4, a_sc=1 / 0.3, t_ub=3e-4),
    "sycl": dict(a_w=1 / 0.6, a_kv=1 / 0.3, t_layer=2e-4, a_fq=1 / 0.25, a_ff=1 / 0.35, a_sc=1 / 0.3, t_ub=4e-4),
    # NVIDIA without tensor cores (Pascal, Maxwell): no rows in the calibration files.  a_w and a_fq from the
    # LocalScore.ai Tesla P40 results quoted at https://insiderllm.com/guides/used-tesla-p40-local-ai (Llama 2 7B
    # Q4_0 pp 833 / tg 40.9, Qwen2.5 14B Q4_K_M pp 339 / tg 15.7: about 48 % of bandwidth in decode, 22 % of the
    # DP4A rate in prefill); the rest as the fitted cuda class.
    "cuda-legacy": dict(a_w=2.1, a_kv=0.43, t_layer=1e-4, a_fq=4.5, a_ff=2.2, a_sc=1.4, t_ub=3e-5),
}


STRIX = Path(__file__).parent / "data" / "strix_halo.csv"
XTX = Path(__file__).parent / "data" / "rx7900xtx_rocm.csv"
JETSON = Path(__file__).parent / "data" / "jetson_orin.csv"
APPLE_MATRIX = Path(__file__).parent / "data" / "apple_matrix.csv"
VULKAN = Path(__file__).parent / "data" / "vulkan_discrete.csv"
METAL_CURRENT = Path(__file__).parent / "data" / "metal_current.csv"
ROCM_CURRENT = Path(__file__).parent / "data" / "rocm_current.csv"
CUDA_CURRENT = Path(__file__).parent / "data" / "cuda_current.csv"
CUDA_MORE = Path(__file__).parent / "data" / "cuda_more.csv"
PROMPT_PRIOR_CLASSES = ("vulkan",)  # classes whose decode is fitted and whose prompt constants are priors
# rocm_current.csv rows run on kernel paths current builds no longer take on their chip, left out of the prompt fit:
# the Radeon Pro W7900's are the baseline of llama.cpp PR #17576, which moved RDNA 3's MMQ onto its WMMA units
# (Dec 2025); the MI100's (CDNA 1) ran rocBLAS before PRs #14624 / #14949 brought it MFMA MMQ, and its later row
# is a 1B model's prompt 32k tokens deep (its attention kernels, not the matmuls)
ROCM_SUPERSEDED = ("Radeon Pro W7900", "MI100")
FQ_GRID = [round(0.05 * i, 2) for i in range(20, 161)]  # a_fq: 1-8 (the ROCm prompts' matmul rate)
FQ_MQ_GRID = [round(0.1 * i, 1) for i in range(10, 161)]  # a_fq_mq: 1-16
# (rows, class, metric, n, in-sample median % error, leave-one-device-out median % error or nan: one device);
# main() fills it, benchmarks/accuracy.py speed prints it
SUMMARY: list[tuple[str, str, str, int, float, float]] = []
# the rows behind SUMMARY's lines that each class was fitted on, once each (not its MoE / weights-in-RAM subsets):
# (rows, metric, in-sample predicted / measured time ratios, leave-one-device-out ones, empty where the class has no
# other device), pooled by benchmarks/accuracy.py against issue 16's targets
POOL: list[tuple[str, str, list[float], list[float]]] = []
# the sources a class's rows come from, as SUMMARY and POOL name them: the calibration files' rows are "2023-2024"
# (throughput_llamacpp.csv) and "2025-2026" (throughput_modern.csv); the llama-bench runs gathered from public
# posts into benchmarks/data are PUBLISHED; MIXED, a class fitted on both (the ROCm decode rows); the mlx-lm runs
# of benchmarks/data/mlx_macs.csv, PUBLISHED_MLX
PUBLISHED = "published llama-bench (benchmarks/data)"
MIXED = "2025-2026 and published llama-bench"
PUBLISHED_MLX = "published mlx-lm (benchmarks/data)"
NAN = float("nan")


def record(rows: str, cls: str, metric: str, ins: list[float], held: list[float], err_in: float | None = None
           ) -> None:
    """A fitted class's line in SUMMARY (median % error in-sample, unless the fit reported its own ``err_in``, and
    leave-one-device-out, nan where no device was held out) and its rows in POOL."""
    SUMMARY.append((rows, cls, metric, len(ins), _err(ins) if err_in is None else err_in,
                    _err(held) if held else NAN))
    POOL.append((rows, metric, ins, held))


def _err(ratios: list[float]) -> float:
    """Median absolute % error of predicted rates from measured / predicted time ratios."""
    return 100 * statistics.median(abs(1 / x - 1) for x in ratios) if ratios else NAN
APU_MACHINE = "GMKtec EVO-X2"
# decode at 65k tokens of context against depth 0 on a Strix Halo (gpt-oss-120b), as issue 16 quotes the community
# curves: printed beside what the fitted KV-read term gives (fit_apu fits it on benchmarks/data/amd_depth.csv)
APU_DEPTH_DROPS = {"rocm": -0.42, "vulkan": -0.58}
KV_GRID = [round(0.05 * i, 2) for i in range(0, 61)]  # a_kv: 0-3
AT_GRID = [round(0.5 * i, 1) for i in range(0, 61)]  # a_at: 0-30
Sweep = tuple[dict[str, float], float, dict[str, float], float, str]  # apu_depth_sweeps


def apu_depth_sweeps(backend: str) -> list[Sweep]:
    """The decode rows of benchmarks/data/amd_depth.csv on ``backend``'s APU class that start at least DEEP_DEPTH
    tokens deep, each with its run's depth-0 row (with_baselines): (linear form, measured seconds per token, the
    baseline's form, its seconds, the model)."""
    rows = [r for r in load_bench_rows(AMD_DEPTH) if r.metric == "tg" and r.backend == backend]
    planned = []
    for row in rows:
        f = fit_bench_row(row, backend)
        works = device_work(f.spec, f.memory, f.placement, system=f.system)
        if (str(f.placement.verdict) != "gpu" or not isinstance(works, list) or works[0].cls != f"{backend}-apu"
                or (f.spec.n_gqa == 1 and not f.spec.uses_mla)):
            continue  # a query head per key head (Llama 2): see attention_sweeps
        planned.append((row, decode_linear(works, f.placement, row.depth + (row.tokens - 1) / 2,
                                           f.spec.sliding_window)))
    return [(form, 1 / row.measured, bform, 1 / b.measured, row.model) for row, form, b, bform
            in with_baselines(planned, lambda r: r.depth >= DEEP_DEPTH, lambda r: r.depth == 0)]


def fit_apu_depth(cls: str, theta: dict[str, float], sweeps: list[Sweep]) -> tuple[tuple[float, float], list[float],
                                                                                   float]:
    """The APU class's KV-read term a_kv and decode attention arithmetic a_at (speed.DECODE_ATTENTION_CLASSES) from
    the decode slowdown of each depth sweep against its own depth-0 row (the stream and per-layer terms cancel),
    each model with one say; GQA models tell the bytes, GLM-4.7-Flash's MLA (20 heads over one 576-wide latent) the
    arithmetic: ((a_kv, a_at), each model's slowdown ratios under the values fitted without it, the median % error
    in-sample)."""
    def ratio(sw: Sweep, a: tuple[float, float]) -> float:
        form, t, bform, bt, _ = sw
        th = theta | {f"{cls}:a_kv": a[0], f"{cls}:a_at": a[1]}
        pred = sum(v * th.get(k, 0.0) for k, v in form.items()) / sum(v * th.get(k, 0.0) for k, v in bform.items())
        return pred / (t / bt)

    a, without = grid_by_group(itertools.product(KV_GRID, AT_GRID), sweeps, lambda sw: sw[4],
                               lambda sw, x: math.log(ratio(sw, x)))
    held = [ratio(sw, without[m]) for m in without for sw in sweeps if sw[4] == m]
    return a, held, _err([ratio(sw, a) for sw in sweeps])


def fit_apu(backend: str) -> tuple[dict[str, float], dict[str, tuple[float, float]], list[str]]:
    """The ``{backend}-apu`` class (AMD unified-memory APUs) from the Strix Halo llama-bench rows
    (benchmarks/data/strix_halo.csv): decode a_w and t_layer (robust), a_kv from the depth drop above; dense
    prefill a_fq with the other prefill terms at the backend's prior; ``a_x`` for MoE prompts, the median of
    measured micro-batch time over (weight elements a micro-batch works through / bandwidth)."""
    import rigfit
    from rigfit.microbatch import moe_ubatch_elements

    cls = f"{backend}-apu"
    prior = PRIORS[backend]
    rows = [r for r in data_rows(STRIX) if r["backend"] == backend]
    dec: list[tuple[object, dict[str, float]]] = []
    dec_t: list[float] = []
    pre: list[tuple[object, dict[str, float]]] = []
    pre_t: list[float] = []
    moe: list[float] = []
    for row in rows:
        r = rigfit.fit(row["model"], quant=row["quant"], hardware=[APU_MACHINE], backend=backend, headroom_bytes=0,
                       context_tokens=4096, prompt_tokens=512, gen_tokens=128)
        assert r.placement is not None
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        assert isinstance(works, list) and all(w.cls == cls for w in works), (row, works)
        run = r.memory.run
        dec.append((row, decode_linear(works, r.placement, 63.5, r.spec.sliding_window)))
        dec_t.append(1 / float(row["tg128"]))
        if r.spec.is_moe:
            (w,) = works
            moe.append((512 / float(row["pp512"])) / (moe_ubatch_elements(w, 512) / (w.bandwidth_gb_s * 1e9)))
        else:
            pre.append((row, prefill_linear(works, r.placement, 512, run.n_ubatch, run.flash_attention,
                                            r.quant.name.upper() in ("F16", "BF16"))))
            pre_t.append(512 / float(row["pp512"]))
    # one chip: its rows cannot tell dequantization from the byte stream (a_dq held at 0)
    theta = robust_solve(dec, dec_t, fixed={f"{cls}:a_kv": 0.0, f"{cls}:a_dq": 0.0, f"{cls}:a_at": 0.0})
    # a_kv and a_at from the published depth sweeps (benchmarks/data/amd_depth.csv), the other terms fixed
    sweeps = apu_depth_sweeps(backend)
    (theta[f"{cls}:a_kv"], theta[f"{cls}:a_at"]), kv_held, kv_err = fit_apu_depth(cls, theta, sweeps)
    g = rigfit.fit("gpt-oss-120b", hardware=["Strix Halo 128GB"], backend=backend, context_tokens=70000,
                   headroom_bytes=0)
    assert g.placement is not None
    gw = device_work(g.spec, g.memory, g.placement, system=g.system)
    assert isinstance(gw, list)
    win = g.spec.sliding_window
    drop = (sum(v * theta.get(k, 0.0) for k, v in decode_linear(gw, g.placement, 63.5, win).items())
            / sum(v * theta.get(k, 0.0) for k, v in decode_linear(gw, g.placement, 65536 + 63.5, win).items()) - 1)
    fixed = {f"{cls}:{k}": prior[k] for k in ("a_ff", "a_sc", "t_ub")}
    theta |= robust_solve(pre, pre_t, fixed=fixed)
    theta[f"{cls}:a_x"] = statistics.median(moe) if moe else 0.0
    lines, bands = [], {}
    for name, forms, meas in (("tg", dec, dec_t), ("pp", pre, pre_t)):
        ratios = [sum(v * theta.get(k, 0.0) for k, v in f.items()) / t for (_, f), t in zip(forms, meas, strict=True)]
        q = statistics.quantiles(ratios, n=10) if len(ratios) >= 2 else [ratios[0], ratios[0]]
        # one chip: the band is at least +-40 % for other APUs, power limits and builds
        bands[name] = (round(min(q[0], 0.6), 3), round(max(q[-1], 1.4), 3))
        err = statistics.median(abs(1 / x - 1) for x in ratios)
        record("Strix Halo (benchmarks/data)", cls, name, ratios, [])
        lines.append(f"{cls:16s} {name}: n={len(ratios):3d} median error in-sample {100 * err:.1f} % "
                     f"(band {bands[name][0]:.3f}-{bands[name][1]:.3f}; one chip)")
    lines.append(f"{cls:16s} MoE prompt reads: a_x {theta[f'{cls}:a_x']:.2f} from {len(moe)} rows")
    lines.append(f"{cls:16s} tg at depth: a_kv {theta[f'{cls}:a_kv']:.2f} a_at {theta[f'{cls}:a_at']:.1f} from "
                 f"{len(sweeps)} rows of "
                 f"{len({sw[4] for sw in sweeps})} models (slowdown against depth 0: {kv_err:.1f} % in-sample, "
                 f"{_err(kv_held):.1f} % each model held out); gpt-oss-120b at 65k {100 * drop:+.0f} % "
                 f"(issue 16 quoted {100 * APU_DEPTH_DROPS[backend]:+.0f} %)")
    return {k: v for k, v in theta.items() if k.startswith(cls + ":")}, bands, lines


FIXED = {  # not identifiable from these rows: kept at a prior (kernel launches per layer and micro-batch)
    f"{c}:t_ub": 3e-5 for c in ("cuda", "cuda@2024-05", "cuda-datacenter", "cuda-datacenter@2024-05",
                                "metal@2024-05", "metal-ultra",
                                "metal-ultra@2024-05", "cuda@2023-12",
                                "cuda-datacenter@2023-12", "metal-ultra@2023-12")
} | {
    # NVIDIA cards have 35-80 FP32 FLOPs per byte of bandwidth: unpacking quantized weights hides behind the
    # byte stream (a free a_dq fitted 1.7 on the 2024 CUDA rows and made the 2025-2026 CUDA rows worse:
    # decode median 14.1 -> 15.6 %); Apple GPUs have 26-41 and show it (M1 Max Q4_K_M decode +20 % without it)
    f"{c}:a_dq": 0.0 for c in ("cuda", "cuda@2024-05", "cuda-datacenter")
} | {
    # the Ultra rows (M1 / M2 Ultra) fit as well without it (in-sample 6.1 vs 5.5 %); held at 0 so that the
    # class's per-layer cost stays the one that carries M3 Ultra machines (no dequantization term from M3 on:
    # the four-Mac exo anchors of benchmarks/fit_cluster.py, Kimi K2 Thinking +22 / +20 %, went to +27 % with it)
    "metal-ultra:a_dq": 0.0, "metal-ultra@2024-05:a_dq": 0.0,
}


Prepared = list[tuple[Row, FitResult, list[DeviceWork]]]


def prepare(rows: list[Row]) -> Prepared:
    """Each row's fit and per-device work, computed once (they do not depend on the constants)."""
    out = []
    for row in rows:
        r = fit_row(row)
        assert r.placement is not None
        works = device_work(r.spec, r.memory, r.placement)
        assert isinstance(works, list), works
        out.append((row, r, works))
    return out


# Classes whose 2024 builds get constants of their own ("metal@2024-05"): the 2025-2026 rows show Metal
# decode and prefill well above what the May 2024 builds reached.  For CUDA prompts the two eras agreed on the
# median (-2 %) only because one constant had to price both a 0.5B and a 7B model's matmuls: a plain a_fq refit
# on the 2025-2026 rows held out worse (35-45 % against 20 %), the split pays once the matmuls' activation
# traffic and flash attention are priced apart (fit_cuda_prompt: 19.9 -> 8.8 % in-sample, 15.7 % held out).
# CUDA decode splits (fit_cuda_decode): current builds read the KV cache and hand off between devices at
# other costs than the May 2024 ones (the 2024 constants: 12.7 % median on the 2025-2026 rows, 9.5 % refitted)
# CUDA prompts split too (fit_cuda_prompt): the May 2024 builds ran quantized prompts through cuBLAS on weights
# dequantized to FP16; current ones run MMQ on the INT8 tensor cores by default (llama.cpp PRs #7676 and #8075,
# June 2024), which the 2025-2026 rows of 2-7B models price at 1.6x the May 2024 rate
# Ultra chips split too: the May 2024 builds' per-layer cost (200 us) is twice what the current builds' M1 / M2 /
# M3 Ultra runs of benchmarks/data/metal_current.csv show (fit_metal_ultra)
# The A100 / H100 class's prompts split too: its May 2024 rows ran cuBLAS with their own F16 conversion cost (a_cv),
# which current builds' conversions (Volta's, DeviceWork.fp16_gemm_prompts) do not share: a V100's pp512 in a 2026
# build (llama.cpp PR #24127) comes 14-24 % slow at the prior, 31 % slow at the May 2024 value
ERA_SPLIT = ("metal", "cuda", "metal-ultra", "cuda-datacenter")
DECODE_ERA_SPLIT = ("metal", "cuda", "metal-ultra")


def _era(lin: dict[str, float], split: tuple[str, ...] = ERA_SPLIT) -> dict[str, float]:
    """A 2024 row's form: "X@2024-05" keys kept for the classes in ``split``, else folded into "X"."""
    out: dict[str, float] = {}
    for k, v in lin.items():
        cls, _, name = k.partition(":")
        base, _, era = cls.partition("@")
        key = k if era != "2024-05" or base in split else f"{base}:{name}"
        out[key] = out.get(key, 0.0) + v
    return {k: v for k, v in out.items() if v}  # a term the row does not pay is no column of its form


def linear_forms(prepared: Prepared, overlap: float = 1.0) -> tuple[list[tuple[Row, dict[str, float]]],
                                                                    list[tuple[Row, dict[str, float]]]]:
    dec, pre = [], []
    for row, r, works in prepared:
        assert r.placement is not None
        run = r.memory.run
        if row.metric == "tg":
            pos = row.start + (row.gen - 1) / 2
            dec.append((row, _era(decode_linear(works, r.placement, pos, r.spec.sliding_window, build="2024-05"),
                                  DECODE_ERA_SPLIT)))
        else:
            f16 = row.quant.upper() == "F16"
            lin = prefill_linear(works, r.placement, row.prompt, run.n_ubatch, False, f16,
                                 split_mode=r.placement.split_mode, overlap=overlap,
                                 build="2023-12" if row.old_build else "2024-05")
            pre.append((row, _era(lin)))
    return dec, pre


def datacenter_mmq(prepared: Prepared, theta: dict[str, float]) -> tuple[float, str]:
    """The A100 / H100 class's quantized prompt constant for current builds (MMQ on the INT8 tensor cores), which
    no row measures: its May 2024 rows ran cuBLAS (DeviceWork.cublas_era_prompts).  Fitted on those rows priced
    as current builds price them, the other prompt constants held: their rate as a floor (MMQ beat FP16 cuBLAS
    by 1.1-1.8x on the cards when it became the default, llama.cpp PRs #8062 / #7860 tables)."""
    forms, times = [], []
    for row, r, works in prepared:
        if row.metric != "pp" or row.old_build or row.quant.upper() == "F16" or row.hw_class != "NVIDIA datacenter":
            continue
        assert r.placement is not None
        lin = prefill_linear(works, r.placement, row.prompt, r.memory.run.n_ubatch, False,
                             False, split_mode=r.placement.split_mode)
        forms.append((row, _era(lin)))
        times.append(row.prompt / row.measured)
    held = {k: theta[k] for _, f in forms for k in f if k != "cuda-datacenter:a_fq" and k in theta}
    a_fq = robust_solve(forms, times, fixed=held)["cuda-datacenter:a_fq"]
    return a_fq, (f"cuda-datacenter  pp: a_fq {a_fq:.3f} for current builds, from {len(forms)} May 2024 quantized "
                  "prompt rows priced as MMQ (they ran cuBLAS: a floor)")


def _pinned_lstsq(forms: list[tuple[Any, dict[str, float]]], measured_s: list[float], fixed: dict[str, float], *,
                  robust: bool, row_weights: list[float] | None = None) -> dict[str, float]:
    """rigfit.lsq.pinned_lstsq over the rows' linear forms (the solver lives in the library: per-machine
    calibration uses it too).  The PCIe copies' cost (``global:a_pcie``) is held at the file's value unless
    ``fixed`` names it: fit_stream fits it, on the rows that tell it apart."""
    fixed = {"global:a_pcie": load_speed_params().globals_.get("a_pcie", A_PCIE)} | fixed
    return pinned_lstsq([f for _, f in forms], measured_s, fixed, robust=robust, row_weights=row_weights)


def solve(forms: list[tuple[Row, dict[str, float]]], measured_s: list[float]) -> dict[str, float]:
    return _pinned_lstsq(forms, measured_s, FIXED, robust=False)


def robust_solve(forms: list[tuple[object, dict[str, float]]], measured_s: list[float],
                 fixed: dict[str, float] | None = None, row_weights: list[float] | None = None) -> dict[str, float]:
    """Least absolute relative error: community rows carry outliers that a squared loss chases.  ``fixed``
    constants are held (the rows cannot tell them apart); ``row_weights`` scale each row's say."""
    return _pinned_lstsq(forms, measured_s, fixed or {}, robust=True, row_weights=row_weights)


def fit_held_out(forms: list[tuple[object, dict[str, float]]], measured_s: list[float], fixed: dict[str, float],
                 row_weights: list[float] | None = None) -> tuple[dict[str, float], list[float], list[float]]:
    """``robust_solve`` on every row, and each device's rows (the rows' ``device``) under constants fitted
    without them: (constants, in-sample predicted / measured time per row, held-out ones per row, in the rows'
    order)."""
    theta = robust_solve(forms, measured_s, fixed=fixed, row_weights=row_weights)
    ins = [_dot(f, theta) / t for (_, f), t in zip(forms, measured_s, strict=True)]
    cards = [getattr(row, "device", "") for row, _ in forms]
    held = [NAN] * len(forms)
    for card in sorted(set(cards)):
        keep = [i for i, c in enumerate(cards) if c != card]
        th = robust_solve([forms[i] for i in keep], [measured_s[i] for i in keep], fixed=fixed,
                          row_weights=[row_weights[i] for i in keep] if row_weights else None)
        for i, c in enumerate(cards):
            if c == card:
                held[i] = _dot(forms[i][1], th) / measured_s[i]
    return theta, ins, held


def old_f16_gemv_grid(prepared: Prepared, grid: Iterable[float] = (0.0, 6.0, 8.0, 9.0, 10.0, 11.0, 12.0)) -> list[str]:
    """The F16 matrix-vector ceiling of builds before llama.cpp PR #9816 (speedwork.OLD_F16_GEMV_BYTES_PER_SM_CYCLE):
    the 2023-2024 decode rows' leave-one-device-out error on the A100 / H100 PCIe class at each value of the
    ceiling (bytes per multiprocessor cycle; 0: none), the other constants refitted at each.  The library's value is
    the grid's best; the lines say so, or that it no longer is."""
    tg = [(row, r, works) for row, r, works in prepared if row.metric == "tg"]
    meas = [1 / row.measured for row, _, _ in tg]
    scores = []
    for k in grid:
        scale = k / OLD_F16_GEMV_BYTES_PER_SM_CYCLE
        forms = [(row, _era(decode_linear([replace(w, f16_gemv_gb_s=w.f16_gemv_gb_s * scale) for w in works],
                                          r.placement, row.start + (row.gen - 1) / 2, r.spec.sliding_window,
                                          build="2024-05"), DECODE_ERA_SPLIT)) for row, r, works in tg]
        held = loo_ratios(forms, meas, _solve_decode(forms, meas), _solve_decode).get("cuda-datacenter", [])
        errs = [abs(1 / x - 1) * 100 for x in held]
        scores.append((statistics.median(errs), statistics.quantiles(errs, n=10)[-1], k))
    return [_grid_line("old F16 GEMV ceiling (bytes per SM cycle: A100 / H100 PCIe decode held out, median / p90)",
                       scores, OLD_F16_GEMV_BYTES_PER_SM_CYCLE, "speedwork.OLD_F16_GEMV_BYTES_PER_SM_CYCLE")]


def _grid_line(title: str, scores: list[tuple[float, float, float]], value: float, name: str) -> str:
    """One line of a constant's grid: (score, second figure, value) per point, the best (lowest score) and whether
    it is the library's ``value`` (``name``: where it lives)."""
    best = min(scores)[2]
    cells = ", ".join(f"{k:g}: {a:.1f} / {b:.1f} %" for a, b, k in scores)
    verdict = "the library's value" if best == value else f"NOT the library's {value:g}: update {name}"
    return f"{title}: {cells}; best {best:g}, {verdict}"


def apple_serial_prompt_grid(prepared: Prepared, overlap: float,
                             grid: Iterable[float] = (1.0, 0.9, 0.8, 0.75, 0.7, 0.65, 0.6)) -> list[str]:
    """The M1 / M2 GPUs' share of an M3-or-later one's prompt rate in the May 2024 builds
    (rates.APPLE_SERIAL_PROMPT_SHARE): the in-sample median error of the 2023-2024 Metal prompt rows at each value,
    the other constants refitted at each, and the M1 Max / M3 Max class held out by device beside it.  The
    library's value is the in-sample best; the lines say so, or that it no longer is."""
    scores = []
    for share in grid:
        _, pre = linear_forms(_with_old_prompt_gain(prepared, 1 / share), overlap=overlap)
        meas = [row.prompt / row.measured for row, _ in pre]
        theta = solve(pre, meas)
        ins = [abs(t / _dot(f, theta) - 1) * 100 for (_, f), t in zip(pre, meas, strict=True)
               if any(k.startswith("metal") for k in f)]
        held = [abs(1 / x - 1) * 100 for x in loo_ratios(pre, meas, theta, solve).get("metal@2024-05", [])]
        scores.append((statistics.median(ins), statistics.median(held) if held else NAN, share))
    return [_grid_line("M1 / M2 prompt share, May 2024 builds (Metal prompts in-sample / M1 Max, M3 Max held out, "
                       "median)", scores, APPLE_SERIAL_PROMPT_SHARE, "rates.APPLE_SERIAL_PROMPT_SHARE")]


def _with_old_prompt_gain(prepared: Prepared, gain: float) -> Prepared:
    """``prepared`` with the M3-and-later Apple GPUs' prompt gain in the older builds (DeviceWork.old_prompt_share)
    at ``gain`` (1: none)."""
    return [(row, r, [replace(w, old_prompt_share=gain) if w.old_prompt_share != 1.0 else w for w in works])
            for row, r, works in prepared]


def _solve_decode(dec: list[tuple[Row, dict[str, float]]], dec_t: list[float]) -> dict[str, float]:
    """Metal and CUDA rows share no constant (one device each, no hop): solved apart, so that pinning a
    negative constant of one family never reshapes the other's."""
    is_metal = [all(k.startswith("metal") for k in f) for _, f in dec]
    theta = solve([d for d, m in zip(dec, is_metal, strict=True) if not m],
                  [t for t, m in zip(dec_t, is_metal, strict=True) if not m])
    if any(is_metal):
        theta |= {k: v for k, v in solve([d for d, m in zip(dec, is_metal, strict=True) if m],
                                         [t for t, m in zip(dec_t, is_metal, strict=True) if m]).items()
                  if k.startswith("metal")}
    return theta


def loo_ratios(forms: list[tuple[Row, dict[str, float]]], meas: list[float], theta: dict[str, float],
               solver: object) -> dict[str, list[float]]:
    """Per class, measured / predicted rate of each device's rows under constants fitted without that
    device.  A class whose rows all come from one device cannot be held out: it gets no ratios (its band is
    then widened to at least +-30 %)."""
    out: dict[str, list[float]] = {}
    for device in sorted({row.hardware for row, _ in forms}):
        train = [(x, t) for x, t in zip(forms, meas, strict=True) if x[0].hardware != device]
        held = solver([x for x, _ in train], [t for _, t in train])  # type: ignore[operator]
        for (row, f), t in zip(forms, meas, strict=True):
            if row.hardware == device:
                cls = next(k.split(":")[0] for k in f if not k.startswith("global"))
                if any(k not in held for k in f if not k.startswith("global")):
                    continue  # the class had no other device to fit on
                pred = sum(v * held[k] if k in held else v * theta.get(k, 0.0) for k, v in f.items())
                out.setdefault(cls, []).append(pred / t)
    return out


def published_prompt_forms(path: Path, cls: str) -> tuple[list[tuple[Any, dict[str, float]]], list[float]]:
    """The prompt rows of a benchmarks/data llama-bench file (bench_forms) whose every device is of class ``cls``,
    as linear forms and measured seconds, like modern_forms' (their runs in PP_RUNS)."""
    _, _, rows = bench_forms(path, cls.split("-", maxsplit=1)[0])
    forms: list[tuple[Any, dict[str, float]]] = []
    seconds: list[float] = []
    for row, t in rows:
        run = PP_RUNS[row]
        if {w.cls for w in run.works} != {cls}:
            continue
        forms.append((row, prefill_linear(run.works, run.plan, run.prompt, run.n_ubatch,
                                          run.flash_attention, run.f16, start=run.start)))
        seconds.append(t)
    return forms, seconds


@dataclass(frozen=True)
class PrefillRun:
    """What speed.prefill_time_s needs to time one prompt row (kept by modern_forms for the MoE fit)."""

    works: list[DeviceWork]
    plan: Any
    prompt: int
    n_ubatch: int
    flash_attention: bool
    f16: bool
    start: int

    def seconds(self, params: SpeedParams) -> float:
        return prefill_time_s(self.works, self.plan, self.prompt, self.n_ubatch, self.flash_attention,
                              self.f16, params, start=self.start)


PP_RUNS: dict[object, PrefillRun] = {}  # modern_forms' prompt rows -> their run


def moe_run(row: object) -> bool:
    """Whether a prompt row's run (PP_RUNS) is a MoE model's: a device uses a share of its experts."""
    return any(w.expert_ratio < 1 for w in PP_RUNS[row].works)


def with_constants(params: SpeedParams, cls: str, **values: float) -> SpeedParams:
    """``params`` with some of ``cls``'s constants replaced."""
    classes = dict(params.classes)
    classes[cls] = {**classes.get(cls, {}), **values}
    return replace(params, classes=classes)


def fit_prompt_constants(cls: str, rows: list[tuple[object, float]], params: SpeedParams,
                         grids: dict[str, list[float]]) -> tuple[dict[str, float], float, float]:
    """Prompt constants of ``cls`` named in ``grids`` (``a_xt``: microbatch.moe_expert_overhead_s, which no linear
    form holds) from prompt rows (row, measured seconds), the other constants as in ``params``: the grid point
    with the least mean absolute log error.  Returns (constants, median % error at the file's constants,
    median % error at the fitted ones)."""
    def loss(p: SpeedParams) -> float:
        return sum(abs(math.log(PP_RUNS[row].seconds(p) / t)) for row, t in rows)

    names = list(grids)
    fitted = dict(zip(names, _grid_search(cls, params, names, grids, loss), strict=True))
    return fitted, _median_log_err(rows, params), _median_log_err(rows, with_constants(params, cls, **fitted))


def _grid_search(cls: str, params: SpeedParams, names: list[str], space: dict[str, list[float]],
                 loss: Callable[[SpeedParams], float]) -> tuple[float, ...]:
    """The point of ``space`` (a grid per constant of ``cls`` in ``names``) with the least ``loss``."""
    best: tuple[float, tuple[float, ...]] | None = None
    for point in itertools.product(*(space[n] for n in names)):
        e = loss(with_constants(params, cls, **dict(zip(names, point, strict=True))))
        if best is None or e < best[0]:
            best = (e, point)
    assert best is not None
    return best[1]


def grid_by_group(grid: Iterable[Any], items: list[Any], group: Callable[[Any], str],
                  log_err: Callable[[Any, Any], float]) -> tuple[Any, dict[str, Any]]:
    """The point of ``grid`` with the least sum over groups of each group's mean absolute ``log_err(item, point)``
    (each group one say), and per group the point so fitted without its items (leave-one-group-out)."""
    points = list(grid)

    def best(keep: list[Any]) -> Any:
        def loss(a: Any) -> float:
            by: dict[str, list[float]] = {}
            for it in keep:
                by.setdefault(group(it), []).append(abs(log_err(it, a)))
            return sum(statistics.mean(v) for v in by.values())
        return min(points, key=loss)

    groups = sorted({group(it) for it in items})
    return best(items), {g: best([it for it in items if group(it) != g]) for g in groups}


def _median_log_err(rows: list[tuple[object, float]], p: SpeedParams) -> float:
    """The prompt rows' median absolute error under ``p``, in % (from the median absolute log ratio)."""
    return 100 * (math.exp(statistics.median(abs(math.log(PP_RUNS[row].seconds(p) / t)) for row, t in rows)) - 1)


# each prompt micro-batch reads its dense weights from memory once at the full bandwidth
# (microbatch.ubatch_read_s): a prior, not fitted (the rows run at llama-bench's default micro-batch, where it is a
# tenth of a dense prompt's time)
A_RD = 1.0
XT_GRID = [0.5 * i for i in range(0, 321)]  # a_xt: 0-160 tokens' worth per touched expert per micro-batch
FX_GRID = [round(1.04**i, 4) for i in range(0, 90)]  # a_fx: 1 to 34 (3 % to 100 % of the INT8 peak)
UNITS_GRID = [0.0, *range(30, 201, 5)]  # moe_prompt_units: none, or 30 to 200 SMs


def fit_prompt_turns(cls: str, rows: list[tuple[object, float]], params: SpeedParams,
                     grids: dict[str, list[float]], rounds: int = 3) -> tuple[dict[str, float], float, float]:
    """``fit_prompt_constants`` one constant at a time, the others held, ``rounds`` times over: the product of
    two long grids would price every row tens of thousands of times."""
    got = {k: params.classes[cls].get(k, grid[0]) for k, grid in grids.items()}
    e0 = e1 = NAN
    for i in range(rounds):
        for j, (k, grid) in enumerate(grids.items()):
            one, first, e1 = fit_prompt_constants(cls, rows, with_constants(params, cls, **got), {k: grid})
            got |= one
            if i == j == 0:
                e0 = first
    return got, e0, e1


def fit_prompt_by_card(cls: str, rows: list[tuple[object, float]], params: SpeedParams,
                       grids: dict[str, list[float]]) -> tuple[dict[str, float], float, float]:
    """As ``fit_prompt_constants``, each device's rows with the same say (the mean of its absolute log errors),
    so a card measured in long -ub sweeps does not outvote the rest.  A coarse pass over every fourth grid point,
    then the full grid within two coarse steps of its best; a family constant no row's weights use
    (``a_fq_<family>``) follows ``a_fq``.  Returns (constants, median % error at ``params``, at the fitted ones)."""
    def loss(p: SpeedParams) -> float:
        by: dict[str, list[float]] = {}
        for row, t in rows:
            by.setdefault(getattr(row, "device", ""), []).append(abs(math.log(PP_RUNS[row].seconds(p) / t)))
        return sum(statistics.mean(v) for v in by.values())

    used = {fam for row, _ in rows for w in PP_RUNS[row].works for fam, share in w.family_shares if share}
    names = [n for n in grids if not n.startswith("a_fq_") or n[5:] in used]
    coarse = _grid_search(cls, params, names, {n: grids[n][::4] for n in names}, loss)
    fine = _grid_search(cls, params, names, {n: [v for v in grids[n] if abs(grids[n].index(v) - grids[n].index(c)) <= 8]
                                             for n, c in zip(names, coarse, strict=True)}, loss)
    fitted = dict(zip(names, fine, strict=True))
    fitted |= {n: fitted["a_fq"] for n in grids if n not in fitted and n.startswith("a_fq_") and "a_fq" in fitted}
    return fitted, _median_log_err(rows, params), _median_log_err(rows, with_constants(params, cls, **fitted))


def prompt_held_out(cls: str, rows: list[tuple[object, float]], params: SpeedParams,
                    grids: dict[str, list[float]], fit: Any = None) -> list[float]:
    """Predicted / measured prompt time of each device's rows under constants fitted without that device's rows
    by ``fit`` (``fit_prompt_constants`` unless given; empty when the rows come from one device)."""
    out: list[float] = []
    devices = sorted({getattr(row, "device", "") for row, _ in rows})
    for device in devices if len(devices) > 1 else []:
        train = [(row, t) for row, t in rows if getattr(row, "device", "") != device]
        other, _, _ = (fit or fit_prompt_constants)(cls, train, params, grids)
        p = with_constants(params, cls, **other)
        out += [PP_RUNS[row].seconds(p) / t for row, t in rows if getattr(row, "device", "") == device]
    return out


PCIE_GRID = [round(1.0 + 0.05 * i, 2) for i in range(0, 141)]  # a_pcie: the link's full rate down to 1/8 of it


def fit_moe_units(rows: list[tuple[object, float]], params: SpeedParams) -> tuple[float, float, float, list[float]]:
    """The multiprocessors a MoE prompt's routed-expert matmuls fill in current CUDA builds (global
    ``moe_prompt_units``, microbatch.expert_rate_share) from published MoE prompt rows (grid search, median log
    error), and each card's rows' predicted / measured time under the value fitted without them: (units, median %
    error before, after, held-out ratios)."""
    def best(keep: list[tuple[object, float]]) -> float:
        return min(UNITS_GRID, key=lambda u: _median_log_err(keep, with_globals(params, moe_prompt_units=u)))

    def ratios(u: float) -> list[float]:
        return [PP_RUNS[r].seconds(with_globals(params, moe_prompt_units=u)) / t for r, t in rows]

    units = best(rows)
    e0, e1 = _err(ratios(0.0)), _err(ratios(units))
    held: list[float] = []
    cards = sorted({getattr(r, "device", "") for r, _ in rows})
    for card in cards:
        u = best([(r, t) for r, t in rows if getattr(r, "device", "") != card])
        p = with_globals(params, moe_prompt_units=u)
        held += [PP_RUNS[r].seconds(p) / t for r, t in rows if getattr(r, "device", "") == card]
    return float(units), e0, e1, held


def with_globals(params: SpeedParams, **values: float) -> SpeedParams:
    """``params`` with some global constants replaced."""
    return replace(params, globals_={**params.globals_, **values})


def fit_stream(rows: list[tuple[object, float]], params: SpeedParams) -> tuple[float, float, float, list[float]]:
    """The PCIe copies' cost ``a_pcie`` (1 / the share of the link that weights streamed from RAM reach each
    prompt micro-batch, microbatch.stream_s) from prompt rows (row, measured seconds) with weights in RAM, the class
    constants as in ``params``: the grid point with the least mean absolute log error.  Returns (a_pcie, median %
    error at the file's value, at the fitted one, predicted / measured time of each device's rows under the value
    fitted without them)."""
    def loss(rs: list[tuple[object, float]], a: float) -> list[float]:
        p = with_globals(params, a_pcie=a)
        return [abs(math.log(PP_RUNS[row].seconds(p) / t)) for row, t in rs]

    def best(rs: list[tuple[object, float]]) -> float:
        return min(PCIE_GRID, key=lambda a: sum(loss(rs, a)))

    a = best(rows)
    held: list[float] = []
    devices = sorted({getattr(row, "device", "") for row, _ in rows})
    for device in devices if len(devices) > 1 else []:
        other = best([(row, t) for row, t in rows if getattr(row, "device", "") != device])
        p = with_globals(params, a_pcie=other)
        held += [PP_RUNS[row].seconds(p) / t for row, t in rows if getattr(row, "device", "") == device]
    e0 = loss(rows, params.globals_.get("a_pcie", A_PCIE))
    return a, 100 * (math.exp(statistics.median(e0)) - 1), 100 * (math.exp(statistics.median(loss(rows, a))) - 1), held


def modern_forms(cls: str, engines: tuple[str, ...] = ("llama.cpp", "ollama"), with_cpu: bool = False) -> tuple[
        list[tuple[object, dict[str, float]]], list[float],
                                   list[tuple[object, dict[str, float]]], list[float], set[str]]:
    """Decode and prefill forms of the throughput_modern.csv rows (llama.cpp and Ollama, one request, no
    speculative decoding) whose every device is of class ``cls`` (``with_cpu``: or the host CPU's llama.cpp
    class, layers or experts offloaded to system RAM); a server's prefill only from prompts of 128 tokens or more
    (shorter ones time its fixed costs, not the prompt; llama-bench times the prompt)."""
    from modern_rows import decode_depth, fit_single_run, load_modern_rows
    from rigfit.errors import RigfitError

    dec: list[tuple[object, dict[str, float]]] = []
    pre: list[tuple[object, dict[str, float]]] = []
    dec_t: list[float] = []
    pre_t: list[float] = []
    devices: set[str] = set()
    for row in load_modern_rows():
        if row.engine not in engines or (cls == "cpu") != (row.backend == "cpu"):
            continue
        if row.metric == "pp" and row.prompt < 128 and not row.bench:
            continue
        depth = decode_depth(row)
        try:
            r = fit_single_run(row)
        except RigfitError:
            continue
        if r.placement is None or r.speed is None or r.memory.weights_bytes < TINY_MODEL_BYTES:  # speed.py says why
            continue
        if row.metric == "tg" and row.measured > r.speed.roofline_tokens_per_s:
            continue  # faster than the bandwidth allows: a draft model or MTP the row does not declare (accuracy.py)
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        classes = {w.cls for w in works} if isinstance(works, list) else set()
        if (cls not in classes or not classes <= {cls, "cpu"}) if with_cpu else classes != {cls}:
            continue
        devices.add(row.device)
        if row.metric == "tg":
            dec.append((row, decode_linear(works, r.placement, depth + (row.gen - 1) / 2,
                                           r.spec.sliding_window)))
            dec_t.append(1 / row.measured)
        else:
            run = r.memory.run
            f16 = r.quant.name.upper() in ("F16", "BF16")
            pre.append((row, prefill_linear(works, r.placement, row.prompt, run.n_ubatch,
                                            run.flash_attention, f16, start=depth)))
            pre_t.append(row.prompt / row.measured)
            PP_RUNS[row] = PrefillRun(works, r.placement, row.prompt, run.n_ubatch, run.flash_attention,
                                      f16, depth)
    return dec, dec_t, pre, pre_t, devices


def request_forms(cls: str, engines: tuple[str, ...] = ("llama.cpp",)) -> tuple[
        list[tuple[object, dict[str, float]]], list[float], set[str]]:
    """Decode forms of the llmfit community runs that time whole requests (modern_rows.load_request_rows) on
    devices of class ``cls``: each request's decode seconds per token are its wall time less the predicted
    first token (a 45-token prompt and the engine's request latency: a few percent of a 150-300 token answer),
    over its completion tokens; the form is decode at the answer's middle position."""
    from modern_rows import fit_whole_run, load_request_rows

    forms: list[tuple[object, dict[str, float]]] = []
    times: list[float] = []
    devices: set[str] = set()
    for row in load_request_rows():
        if row.engine not in engines:
            continue
        r = fit_whole_run(row)
        if r is None or r.placement is None or r.speed is None or r.speed.time_to_first_token_s is None:
            continue
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        if not isinstance(works, list) or any(w.cls != cls for w in works):
            continue
        per_token = (row.gen / row.measured - r.speed.time_to_first_token_s) / row.gen
        if per_token <= 0:
            continue
        devices.add(row.device)
        forms.append((row, decode_linear(works, r.placement, row.prompt + (row.gen - 1) / 2, r.spec.sliding_window)))
        times.append(per_token)
    return forms, times, devices


def held_out_by_model(forms: list[tuple[object, dict[str, float]]], times: list[float],
                      theta: dict[str, float]) -> float:
    """Median % error of each model's prompt rows under constants fitted without that model's rows, the fixed
    per-micro-batch cost and the recurrent scan held at ``theta``'s (a few models alone identify those): how
    the weight-type constants carry to a model the fit has not seen, where the rows come from one CPU."""
    fixed = {k: theta[k] for k in ("cpu:t_ub", "cpu:a_ss") if k in theta}
    errs: list[float] = []
    for model in sorted({getattr(r, "model", "") for r, _ in forms}):
        train = [(x, t) for x, t in zip(forms, times, strict=True) if getattr(x[0], "model", "") != model]
        th = robust_solve([x for x, _ in train], [t for _, t in train], fixed=fixed)
        errs += [abs(t / sum(v * th.get(k, theta.get(k, 0.0)) for k, v in f.items()) - 1)
                 for (r, f), t in zip(forms, times, strict=True) if getattr(r, "model", "") == model]
    return 100 * statistics.median(errs)


METAL_KERNEL_KEYS = ("a_dq", "t_x")  # ggml-metal's own costs, shared by llama.cpp and Ollama on Apple GPUs


@functools.cache
def ollama_metal_forms() -> tuple[list[tuple[object, dict[str, float]]], list[float], set[str]]:
    """Ollama's decode rows on Apple GPUs (modern_forms; its MLX tags plan on its MLX runner, class mlx-metal, so
    they are not among them); planned once per process (the Metal kernel fit and each held-out chip's refit read
    them; callers do not change them)."""
    dec, dec_t, _, _, devices = modern_forms("ollama-metal", engines=("ollama",))
    return dec, dec_t, devices


def metal_kernel_constants(mdec: list[tuple[object, dict[str, float]]], mdec_t: list[float],
                           attn: dict[str, float], without: str = "") -> dict[str, float]:
    """The Metal kernels' unpacking and per-expert costs (METAL_KERNEL_KEYS) from llama.cpp's and Ollama's Apple
    decode rows together (device ``without`` left out), each engine with its own a_w and t_layer: Ollama runs
    ggml-metal's kernels behind its own runner, and its M1 Max rows, mostly K-quants of dense models, tell the
    unpacking cost that llama.cpp's M1 Max rows (mostly Q8_0 MoE models) leave to the per-expert term.  ``attn``:
    Metal's KV and attention constants, held for both engines."""
    odec, odec_t, _ = ollama_metal_forms()
    shared = []
    for row, f in odec:
        g: dict[str, float] = {}
        for k, v in f.items():
            c, _, n = k.partition(":")
            key = f"metal:{n}" if c == "ollama-metal" and n in METAL_KERNEL_KEYS else k
            g[key] = g.get(key, 0.0) + v
        shared.append((row, g))
    rows = [(x, t) for x, t in zip(mdec + shared, mdec_t + odec_t, strict=True)
            if getattr(x[0], "device", "") != without]
    th = robust_solve([x for x, _ in rows], [t for _, t in rows],
                      fixed=attn | {k.replace("metal:", "ollama-metal:"): v for k, v in attn.items()})
    return {f"metal:{k}": th.get(f"metal:{k}", 0.0) for k in METAL_KERNEL_KEYS}


# the decode constants of Ollama's Metal runner: Metal's (llama.cpp's) times one fitted factor (fit_ollama_metal)
OLLAMA_METAL_DECODE_KEYS = ("a_w", "a_kv", "t_layer", "a_at", *METAL_KERNEL_KEYS)


def fit_ollama_metal(metal: dict[str, float], kernel_without: Callable[[str], dict[str, float]]
                     ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Ollama on Apple GPUs from its 2025-2026 runs (M1 Max and M5 Max, eval_count / eval_duration).  Its runner
    drives ggml-metal's own kernels, so its decode time is Metal's (llama.cpp's constants: weights, cache,
    per-layer and per-expert costs) times one factor, fitted as the median of measured / Metal-predicted time
    (1.15: its tokens take about 15 % longer than llama.cpp's on the same chips).  Two chips cannot tell apart a
    weights constant from a per-layer one: fitted freely on one chip, a_w and t_layer predicted the other 15.7 %
    off (median) where the one factor predicts it 12.1 % off.  Prefill stays at Metal's.  Tags of Ollama's MLX
    runner are another class (mlx-metal).  The band is the wider of the in-sample and the leave-one-device-out
    spread (two chips), at least +-30 %.  The kernels' own costs (METAL_KERNEL_KEYS) are Metal's, fitted on both
    engines' rows (metal_kernel_constants; ``kernel_without(device)``: fitted without that device's rows, for its
    held-out prediction)."""
    cls = "ollama-metal"
    dec, dec_t, devices = ollama_metal_forms()

    def scaled(consts: dict[str, float], k: float) -> dict[str, float]:
        return {f"{cls}:{n}": k * consts.get(f"metal:{n}", 0.0) for n in OLLAMA_METAL_DECODE_KEYS}

    def factor(consts: dict[str, float], rows: list[int]) -> float:
        base = scaled(consts, 1.0)
        return math.exp(statistics.median(math.log(dec_t[i] / _dot(dec[i][1], base)) for i in rows))

    def ratios(consts: dict[str, float], rows: list[int]) -> list[float]:
        return [_dot(dec[i][1], consts) / dec_t[i] for i in rows]

    k = factor(metal, list(range(len(dec))))
    prefill = (*PREFILL_KEYS, "a_ss", "a_xt", "a_ac")
    th = scaled(metal, k) | {f"{cls}:{n}": metal.get(f"metal:{n}", 0.0) for n in prefill}
    held: list[float] = []
    for device in sorted(devices):
        train = [i for i, (row, _) in enumerate(dec) if getattr(row, "device", "") != device]
        test = [i for i, (row, _) in enumerate(dec) if getattr(row, "device", "") == device]
        if len(train) >= 8 and test:
            consts_h = metal | kernel_without(device)
            held += ratios(scaled(consts_h, factor(consts_h, train)), test)
    inside = ratios(th, list(range(len(dec))))
    q, ql = statistics.quantiles(inside, n=10), statistics.quantiles(held, n=10)
    err_in = statistics.median(abs(1 / r - 1) for r in inside)
    err_loo = statistics.median(abs(1 / r - 1) for r in held)
    record("2025-2026", cls, "tg", inside, held)
    print(f"{cls:16s} tg: n={len(inside):3d} Metal's decode time x {k:.3f}; median error in-sample "
          f"{100 * err_in:.1f} % leave-one-device-out {100 * err_loo:.1f} % (devices: {', '.join(sorted(devices))})")
    band = (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3))
    return {k_: v for k_, v in th.items() if k_.startswith(cls + ":")}, {"tg": band, "pp": (0.5, 2.0)}


@dataclass(frozen=True)
class LocalScoreRun:
    """One LocalScore row as the fit sees it: per test, decode seconds per token as a linear form (the middle of
    its answer, after its prompt), prompt seconds per prompt token as a linear form, and one decode step's form
    (the prompt's floor: speed.prefill_time_s never lets a micro-batch beat a decode step)."""

    row: Any
    dec: tuple[dict[str, float], ...]
    pre: tuple[dict[str, float], ...]
    step: tuple[dict[str, float], ...]


def localscore_runs(cls: str) -> list[LocalScoreRun]:
    """The LocalScore decode and prompt rows (modern_rows.load_localscore_rows) whose every device runs in class
    ``cls`` in all nine tests."""
    from modern_rows import LOCALSCORE_TESTS, load_localscore_rows, localscore_plans

    out = []
    for row in load_localscore_rows():
        if row.metric not in ("tg", "pp"):
            continue
        works: list[tuple[Any, list[DeviceWork]]] = []
        for f in localscore_plans(row) or ():
            w = device_work(f.spec, f.memory, f.placement, system=f.system) if f.placement else None
            if not isinstance(w, list) or f.speed is None or any(x.cls != cls for x in w):
                works = []
                break
            works.append((f, w))
        if not works:
            continue
        dec, pre, step = [], [], []
        for (p, g), (f, w) in zip(LOCALSCORE_TESTS, works, strict=True):
            run = f.memory.run
            window = f.spec.sliding_window
            dec.append({k: v for k, v in decode_linear(w, f.placement, p + (g - 1) / 2, window).items() if v})
            lin = prefill_linear(w, f.placement, p, run.n_ubatch, run.flash_attention,
                                 f.quant.name.upper() in ("F16", "BF16"))
            pre.append({k: v / p for k, v in lin.items() if v})
            step.append({k: v / p for k, v in decode_linear(w, f.placement, 0, window).items() if v})
        out.append(LocalScoreRun(row, tuple(dec), tuple(pre), tuple(step)))
    return out


def _dot(form: dict[str, float], theta: dict[str, float]) -> float:
    return sum(v * theta.get(k, 0.0) for k, v in form.items())


def localscore_rate(run: LocalScoreRun, theta: dict[str, float]) -> float:
    """The row's mean rate under ``theta``, as LocalScore averages its nine tests."""
    if run.row.metric == "tg":
        return statistics.fmean(1 / _dot(x, theta) for x in run.dec)
    return statistics.fmean(1 / max(_dot(y, theta), _dot(d, theta)) for y, d in zip(run.pre, run.step, strict=True))


def solve_mean_rates(runs: list[LocalScoreRun], fixed: dict[str, float], theta0: dict[str, float]
                     ) -> dict[str, float]:
    """Constants whose mean-of-nine-rates predictions match the rows' measured means (robust).  A mean of rates
    is not linear in the constants: each row is solved as one linear form, the mean of its tests' forms, with a
    target scaled by how far the mean of the rates sits from the rate of the mean form (Jensen), recomputed
    with each solution until it settles; prompt tests held at their decode-step floor leave the form."""
    theta = dict(theta0)
    for _ in range(6):
        forms: list[tuple[object, dict[str, float]]] = []
        times: list[float] = []
        for run in runs:
            tests = run.dec if run.row.metric == "tg" else run.pre
            floors = [0.0] * len(tests) if run.row.metric == "tg" else [_dot(d, theta) for d in run.step]
            free = [i for i, t in enumerate(tests) if _dot(t, theta) >= floors[i] or not theta]
            rate_free = len(tests) * run.row.measured - sum(1 / floors[i] for i in range(len(tests)) if i not in free)
            if not free or rate_free <= 0:
                continue
            mean: dict[str, float] = {}
            for i in free:
                for k, v in tests[i].items():
                    mean[k] = mean.get(k, 0.0) + v / len(free)
            jensen = statistics.fmean(1 / _dot(tests[i], theta) for i in free) * _dot(mean, theta) if theta else 1.0
            forms.append((run.row, mean))
            times.append(jensen * len(free) / rate_free)
        theta = robust_solve(forms, times, fixed=fixed)
    return theta


# decode: the share of bandwidth and the per-layer cost; prompt: the quantized matmul rate and the per-micro-batch
# cost (with a_sc instead of t_ub the leave-one-device-out error was 16.2 / 14.6 / 18.5 % on cuda / metal / rocm
# against 12.2 / 13.7 / 20.9 %; a_fq alone 14.8 / 15.6 / 21.5 %)
LOCALSCORE_FITTED = {"tg": ("a_w", "t_layer"), "pp": ("a_fq", "t_ub")}


def fit_llamafile(consts: dict[str, float]) -> tuple[dict[str, float], dict[str, dict[str, tuple[float, float]]],
                                                       list[str]]:
    """llamafile's classes from its LocalScore rows (llamafile 0.9, March-July 2025: its own tinyBLAS kernels):
    per GPU class with rows on three devices or more, decode a_w and t_layer and prompt a_fq and t_ub fitted on
    the mean rates LocalScore reports, the other constants at the llama.cpp class's (``consts``).  Bands from
    the in-sample and leave-one-device-out ratios, at least +-30 %."""
    theta: dict[str, float] = {}
    bands: dict[str, dict[str, tuple[float, float]]] = {}
    lines: list[str] = []
    # the CPU: decode only.  Its prompt constants fitted on LocalScore's 127 CPU rows (49 CPUs, each at its cores x
    # SIMD width) held out worse than llama.cpp's CPU class standing in (leave-one-device-out 30.0 % against
    # 25.9 %, a 6 ms t_ub); its decode constants held out better (17.7 against 19.8 %)
    for base in ("cuda", "cuda-datacenter", "cuda-legacy", "metal", "metal-ultra", "rocm", "cpu"):
        cls = f"llamafile-{base}"
        runs = localscore_runs(cls)
        devices = {r.row.device for r in runs}
        if len(devices) < 3 or len({r.row.device for r in runs if r.row.metric == "pp"}) < 3:
            lines.append(f"{cls:16s} {len(runs)} LocalScore rows on {len(devices)} devices: too few, "
                         f"llama.cpp's {base} constants stand in")
            continue
        keys = (*DECODE_KEYS, "a_dq", "a_at", *PREFILL_KEYS, "a_ss", "a_xt")  # a_at: CUDA's (speed.decode_terms)
        start = {f"{cls}:{k}": consts.get(f"{base}:{k}", FIXED.get(f"{base}:{k}", 0.0)) for k in keys}

        def fit_both(rows: list[LocalScoreRun], start: dict[str, float] = start, cls: str = cls) -> dict[str, float]:
            """Decode's constants, then the prompt's, each with the rest held at ``start`` or the decode fit."""
            got = dict(start)
            for metric in ("tg",) if cls == "llamafile-cpu" else ("tg", "pp"):
                fixed = {k: v for k, v in got.items() if k.split(":")[1] not in LOCALSCORE_FITTED[metric]}
                got = solve_mean_rates([r for r in rows if r.row.metric == metric], fixed, got)
                got = {k: v for k, v in got.items() if k.startswith(cls + ":")}
            return got

        got = fit_both(runs)
        theta |= got
        # each device's rows under constants fitted without them (one fit per device serves both metrics)
        held_out = {device: fit_both([r for r in runs if r.row.device != device])
                    for device in sorted({r.row.device for r in runs})}
        bands[cls] = {}
        for metric in ("tg", "pp"):
            part = [r for r in runs if r.row.metric == metric]
            ins = [r.row.measured / localscore_rate(r, got) for r in part]
            held = [r.row.measured / localscore_rate(r, held_out[r.row.device]) for r in part]
            q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
            bands[cls][metric] = (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3))
            err_in = 100 * statistics.median(abs(1 / x - 1) for x in ins)
            err_loo = 100 * statistics.median(abs(1 / x - 1) for x in held)
            record("LocalScore", cls, metric, ins, held)
            lines.append(f"{cls:16s} {metric}: n={len(ins):3d} on {len(devices)} devices, median error in-sample "
                         f"{err_in:.1f} % leave-one-device-out {err_loo:.1f} % ("
                         + ", ".join(f"{k} {got[f'{cls}:{k}']:.3g}" for k in LOCALSCORE_FITTED[metric]) + ")")
    return theta, bands, lines


def bench_forms(path: Path, backend: str, card: str | None = None) -> tuple[
        list[tuple[object, dict[str, float]]], list[float], list[tuple[object, float]]]:
    """A file of llama-bench rows (modern_rows.load_bench_rows; the card from ``card`` or a ``gpu`` column), each
    planned whole on its card with ``backend`` and the depth, micro-batch and flash attention it ran
    (modern_rows.fit_bench_row): decode forms and their seconds per token, and the prompt rows (row, seconds)
    with their runs in PP_RUNS."""
    dec: list[tuple[object, dict[str, float]]] = []
    dec_t: list[float] = []
    pre: list[tuple[object, float]] = []
    for row in load_bench_rows(path, card):
        f = fit_bench_row(row, backend)
        assert f.placement is not None and str(f.placement.verdict) == "gpu", row
        works = device_work(f.spec, f.memory, f.placement, system=f.system)
        assert isinstance(works, list) and all(w.cls.split("-")[0] == backend for w in works), (row, works)
        n = row.tokens
        if row.metric == "tg":
            dec.append((row, decode_linear(works, f.placement, row.depth + (n - 1) / 2, f.spec.sliding_window)))
            dec_t.append(1 / row.measured)
        else:
            run = f.memory.run
            PP_RUNS[row] = PrefillRun(works, f.placement, n, run.n_ubatch, run.flash_attention,
                                      f.quant.name.upper() in ("F16", "BF16"), row.depth)
            pre.append((row, n / row.measured))
    return dec, dec_t, pre


@dataclass(frozen=True)
class AppleRow:
    """A prompt row of benchmarks/data/apple_matrix.csv."""

    device: str
    engine: str
    model: str
    prompt: int
    measured: float


def apple_matrix_rows() -> dict[str, list[tuple[object, float]]]:
    """benchmarks/data/apple_matrix.csv's prompt rows, each planned whole on its Mac with its engine and prompt,
    by class ("mlx-metal" on the M4 Pro, "mlx-metal-na" / "metal-na" on the M5s): (row, measured seconds), the
    runs kept in PP_RUNS."""
    import rigfit

    out: dict[str, list[tuple[object, float]]] = {}
    for r in data_rows(APPLE_MATRIX):
        n = int(r["prompt"])
        f = rigfit.fit(r["model"], engine=r["engine"], quant=r["quant"], hardware=[r["hardware"]], headroom_bytes=0,
                       context_tokens=n + 256, prompt_tokens=n, gen_tokens=128)
        assert f.placement is not None and str(f.placement.verdict) == "gpu", r
        works = device_work(f.spec, f.memory, f.placement, system=f.system)
        assert isinstance(works, list) and len(works) == 1, r
        run = f.memory.run
        row = AppleRow(device=r["hardware"], engine=r["engine"], model=r["model"], prompt=n,
                       measured=float(r["pp_tokens_per_s"]))
        PP_RUNS[row] = PrefillRun(works, f.placement, n, run.n_ubatch, run.flash_attention,
                                  f.quant.name.upper() in ("F16", "BF16"), 0)
        out.setdefault(works[0].cls, []).append((row, n / row.measured))
    return out


def fit_apple_matrix(theta: dict[str, float], mlx_rows: list[tuple[object, float]]) -> tuple[
        dict[str, float], dict[str, dict[str, tuple[float, float]]], list[str]]:
    """Apple GPUs with matrix units (the M5 generation's Neural Accelerators, speedclass.apple_matrix_units):
    classes of their own for llama.cpp ("metal-na") and MLX ("mlx-metal-na") whose decode is their family's (the
    accelerators serve matmuls of many rows, not a token's GEMV) and whose prompt constants are fitted on
    benchmarks/data/apple_matrix.csv: a_fq on the dense rows, a_xt on the MoE ones.  The file's M4 Pro MLX rows
    with ``mlx_rows`` (mlx_lm's prompt rows of throughput_modern.csv, dense) refit mlx-metal's prompt a_fq and
    a_xt the same way.  Returns (constants, bands, lines)."""
    base = load_speed_params()
    fams = {"metal-na": "metal", "mlx-metal-na": "mlx-metal", "mlx-metal": "mlx-metal"}
    classes = dict(base.classes)
    for c, fam in fams.items():
        classes[c] = {**base.classes[fam], **{k.split(":")[1]: v for k, v in theta.items()
                                              if k.startswith(f"{fam}:")}}
    params = replace(base, classes=classes)
    rows = apple_matrix_rows()
    rows["mlx-metal"] = rows.get("mlx-metal", []) + mlx_rows
    out: dict[str, float] = {}
    bands: dict[str, dict[str, tuple[float, float]]] = {}
    lines: list[str] = []
    for c in ("mlx-metal", "mlx-metal-na", "metal-na"):
        got: dict[str, float] = {}
        dense = [(row, t) for row, t in rows.get(c, []) if not moe_run(row)]
        moe = [(row, t) for row, t in rows.get(c, []) if moe_run(row)]
        e0 = e1 = NAN
        if dense:
            g, e0, e1 = fit_prompt_constants(c, dense, params, {"a_fq": [0.02 * i for i in range(25, 301)]})
            got |= g
            params = with_constants(params, c, **g)
        if moe:  # the routed experts' own rate where the class prices it apart (speed.EXPERT_PROMPT_CLASSES)
            g, _, _ = fit_prompt_constants(c, moe, params, {"a_fx": FX_GRID} if c in EXPERT_PROMPT_CLASSES
                                           else {"a_xt": XT_GRID})
            got |= g
            params = with_constants(params, c, **g)
        ratios = [t / PP_RUNS[row].seconds(params) for row, t in rows.get(c, [])]  # measured rate / predicted
        # the family's constants and the fitted ones; not the terms a class without them prices at its a_ff / a_fq
        out |= {f"{c}:{k}": v for k, v in params.classes[c].items()
                if k not in ("a_fa", "a_ac", "a_bd", *(() if c in EXPERT_PROMPT_CLASSES else ("a_fx",)))
                and not k.startswith("a_fq_")} \
            if c != "mlx-metal" else {f"{c}:{k}": v for k, v in got.items()}
        if c != "mlx-metal":
            lo, hi = min(ratios), max(ratios)
            # one chip per engine (two for llama.cpp): at least +-40 %, as a class fitted on one device's rows
            bands[c] = {"pp": (round(min(lo, 0.6), 3), round(max(hi, 1.4), 3))}
        err = 100 * statistics.median(abs(1 / r - 1) for r in ratios)
        record("Apple matrix (benchmarks/data)", c, "pp", ratios, [])
        lines.append(f"{c:16s} pp: {', '.join(f'{k} {v:.3g}' for k, v in got.items())} from {len(dense)} dense and "
                     f"{len(moe)} MoE prompt rows of benchmarks/data/apple_matrix.csv (median error "
                     f"{err:.1f} %; dense a_fq alone: "
                     f"{e0:.1f} -> {e1:.1f} %)")
    return out, bands, lines


def fit_file_class(cls: str, path: Path, backend: str, start: dict[str, float], label: str, since: str = ""
                   ) -> tuple[dict[str, float], dict[str, tuple[float, float]], list[str]]:
    """A class fitted on one benchmarks/data file of cited llama-bench runs (rows dated ``since`` or later), from
    the constants ``start`` ("class:key"): decode's a_w and t_layer fitted (robust, each device with the same
    say), then the quantized matmuls' a_fq on the dense prompts at an empty cache (each device with the same
    say); a MoE's routed experts (a_fx, a_xt, where ``start`` has them) keep their ratio to a_fq, since the same
    kernels run them.  Bands: the wider of the in-sample and the leave-one-device-out spread, at least +-40 %."""
    out = dict(start)
    dec, dec_t, pre = bench_forms(path, backend)
    keep = [i for i, (row, _) in enumerate(dec) if getattr(row, "date", "") >= since]
    dec, dec_t = [dec[i] for i in keep], [dec_t[i] for i in keep]
    cards = [getattr(row, "device", "") for row, _ in dec]
    counts = {c: cards.count(c) for c in set(cards)}
    fixed = {k: v for k, v in out.items() if k.split(":")[1] not in ("a_w", "t_layer")}
    got, ins, held = fit_held_out(dec, dec_t, fixed, row_weights=[1 / counts[c] for c in cards])
    out |= {k: v for k, v in got.items() if k in (f"{cls}:a_w", f"{cls}:t_layer")}
    base = with_constants(load_speed_params(), cls, **{k.split(":")[1]: v for k, v in out.items()})
    grid = {"a_fq": [round(1 + 0.1 * i, 1) for i in range(0, 141)]}
    pre = [(row, t) for row, t in pre if getattr(row, "date", "") >= since]
    dense = [(row, t) for row, t in pre if PP_RUNS[row].works[0].expert_ratio == 1 and getattr(row, "depth", 0) == 0]

    def experts_too(a_fq: float) -> dict[str, float]:
        r = a_fq / out[f"{cls}:a_fq"]
        return {"a_fq": a_fq} | {k: out[f"{cls}:{k}"] * r for k in ("a_fx", "a_xt") if f"{cls}:{k}" in out}

    got_pp, e0, _ = fit_prompt_by_card(cls, dense, base, grid)
    pp_consts = experts_too(got_pp["a_fq"])
    out |= {f"{cls}:{k}": v for k, v in pp_consts.items()}
    pp = [PP_RUNS[row].seconds(with_constants(base, cls, **pp_consts)) / t for row, t in pre]
    pp_held: list[float] = []
    for device in sorted({getattr(row, "device", "") for row, _ in pre}):
        rest = [(r, t) for r, t in dense if getattr(r, "device", "") != device]
        if rest:
            other, _, _ = fit_prompt_by_card(cls, rest, base, grid)
            p = with_constants(base, cls, **experts_too(other["a_fq"]))
            pp_held += [PP_RUNS[row].seconds(p) / t for row, t in pre if getattr(row, "device", "") == device]
    bands = {}
    for m, a, b in (("tg", ins, held), ("pp", pp, pp_held)):
        q = statistics.quantiles(a, n=10)
        ql = statistics.quantiles(b, n=10) if len(b) >= 2 else q
        bands[m] = (round(min(q[0], ql[0], 0.6), 3), round(max(q[-1], ql[-1], 1.4), 3))
        record(label, cls, m, a, b)
    lines = [f"{cls:16s} tg: n={len(ins):3d} on {len(counts)} devices, a_w {out[f'{cls}:a_w']:.3f} t_layer "
             f"{out[f'{cls}:t_layer'] * 1e6:.0f} us | median error in-sample {_err(ins):.1f} % leave-one-device-out "
             f"{_err(held):.1f} % ({', '.join(f'{c}: {n}' for c, n in sorted(counts.items()))})",
             f"{cls:16s} pp: n={len(pp):3d} ({len(dense)} dense), a_fq {pp_consts['a_fq']:.2f} | median error "
             f"{e0:.1f} % at the starting constants -> {_err(pp):.1f} % in-sample, leave-one-device-out "
             f"{_err(pp_held) if len(pp_held) >= 2 else NAN:.1f} %"]
    return out, bands, lines


def fit_orin(theta: dict[str, float]) -> tuple[dict[str, float], dict[str, tuple[float, float]], list[str]]:
    """Jetson Orin's iGPU, the "cuda-orin" class (speedclass.SHARED_BUS_CHIPS), on the cited llama.cpp runs of
    benchmarks/data/jetson_orin.csv from 2025 on (older builds' per-layer launches are not today's), starting from
    the CUDA fit's constants (the same kernels): fit_file_class."""
    start = {f"cuda-orin:{k.split(':')[1]}": v for k, v in theta.items() if k.startswith("cuda:")}
    return fit_file_class("cuda-orin", JETSON, "cuda", start, "Jetson Orin (benchmarks/data)", since="2025-01-01")


def fit_rocm(a_ac: float, a_kv: float, a_at: float) -> tuple[dict[str, float], dict[str, tuple[float, float]],
                                                               list[str]]:
    """Discrete Radeons on ROCm: decode t_layer from the RX 7900 XT whole requests (llmfit community), the RX 7900 XTX
    llama-bench rows and the published llama-bench rows of benchmarks/data/rocm_current.csv (RX 9060 XT / 9070 XT,
    Radeon AI PRO R9700, MI355X, ...), each card with the same say (the requests outnumber the rest), the weights at the
    full bandwidth (a_w held at 1: fitted free it went to 0.89, faster than the memory, on the 7900 XT's requests), the
    attention terms ``a_kv`` / ``a_at`` the Strix Halo's ROCm depth sweeps give (fit_apu; the same HIP kernels, the rows
    start near an empty cache), no dequantization term; the band is the wider of the in-sample and the
    leave-one-card-out spread, at least +-30 %.  Prompts: the matmul rate a_fq and the costly MMQ types' a_fq_mq
    (speedwork.GPU_PROMPT_FAMILY) fitted on the dense prompts at an empty cache of the same files (six cards, each with
    the same say; ROCM_SUPERSEDED left out), the band the wider of the in-sample and the leave-one-card-out spread and
    at least +-40 %; the rest of the prompt constants at the priors; a MoE micro-batch's cost per touched expert, a_xt,
    from the XTX's LFM2-8B-A1B prompts (one model: thin).  The matmuls' activation traffic at ``a_ac``, the CUDA prompt
    fit's constant (speed.ACTIVATION_CLASSES: the same ggml graph)."""
    adec, adec_t, _ = request_forms("rocm")
    xdec, xdec_t, xpre = bench_forms(XTX, "rocm", card="RX 7900 XTX")
    cdec, cdec_t, _ = bench_forms(ROCM_CURRENT, "rocm")
    forms, meas = adec + xdec + cdec, adec_t + xdec_t + cdec_t
    cards = [getattr(row, "device", "") for row, _ in forms]
    counts = {c: cards.count(c) for c in set(cards)}
    fixed = {"rocm:a_kv": a_kv, "rocm:a_at": a_at, "rocm:a_dq": 0.0, "rocm:a_w": 1.0}
    theta, ins, held = fit_held_out(forms, meas, fixed, row_weights=[1 / counts[c] for c in cards])
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    record(MIXED, "rocm (decode)", "tg", ins, held)
    theta |= {f"rocm:{k}": PRIORS["rocm"][k] for k in PREFILL_KEYS}
    # prompts: the matmul rate a_fq and the costly MMQ types' a_fq_mq (speedwork.GPU_PROMPT_FAMILY) from the dense
    # prompts at an empty cache, each card with the same say; the rest at the priors
    _, _, cpre = bench_forms(ROCM_CURRENT, "rocm")
    dense = [(row, t) for row, t in cpre + xpre if PP_RUNS[row].works[0].expert_ratio == 1
             and getattr(row, "depth", 0) == 0 and getattr(row, "device", "") not in ROCM_SUPERSEDED]
    params = with_constants(load_speed_params(), "rocm", a_ac=a_ac, **{k: PRIORS["rocm"][k] for k in PREFILL_KEYS})
    theta["rocm:a_ac"] = a_ac
    grids = {"a_fq": FQ_GRID, "a_fq_mq": FQ_MQ_GRID}
    got, e0, e1 = fit_prompt_by_card("rocm", dense, params, grids)
    held_pp = prompt_held_out("rocm", dense, params, grids, fit=fit_prompt_by_card)
    theta |= {f"rocm:{k}": v for k, v in got.items()}
    ratios = [PP_RUNS[row].seconds(with_constants(params, "rocm", **got)) / t for row, t in dense]
    record(PUBLISHED, "rocm (dense prompts)", "pp", ratios, held_pp, err_in=e1)
    # a MoE micro-batch's cost per touched expert from the XTX's MoE prompts, at the fitted matmul rate
    moe = [(row, t) for row, t in xpre if PP_RUNS[row].works[0].expert_ratio < 1]
    xt, x0, x1 = fit_prompt_constants("rocm", moe, with_constants(params, "rocm", **got), {"a_xt": XT_GRID})
    theta["rocm:a_xt"] = xt["a_xt"]
    n_cards = len({getattr(row, "device", "") for row, _ in dense})
    lines = [f"rocm (decode)    tg: n={len(ins):3d} on {len(counts)} cards, a_w {theta['rocm:a_w']:.3f} t_layer "
             f"{theta['rocm:t_layer'] * 1e6:.0f} us | median error in-sample {_err(ins):.1f} % leave-one-card-out "
             f"{_err(held):.1f} % ({', '.join(f'{c}: {n} rows' for c, n in sorted(counts.items()))})",
             f"rocm (prompts)   pp: n={len(dense):3d} dense on {n_cards} cards, a_fq {got['a_fq']:.2f} a_fq_mq "
             f"{got['a_fq_mq']:.2f} | median error {e0:.1f} % at the prior -> {e1:.1f} % in-sample, "
             f"leave-one-card-out {_err(held_pp):.1f} %",
             f"rocm             pp MoE: a_xt {xt['a_xt']:.1f} from {len(moe)} RX 7900 XTX prompt rows (median error "
             f"{x0:.1f} -> {x1:.1f} %)"]
    qp, qpl = statistics.quantiles(ratios, n=10), statistics.quantiles(held_pp, n=10)
    bands = {"tg": (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3)),
             "pp": (round(min(qp[0], qpl[0], 0.6), 3), round(max(qp[-1], qpl[-1], 1.4), 3))}
    return {k: v for k, v in theta.items() if k.startswith("rocm:")}, bands, lines


def fit_cuda_legacy() -> tuple[dict[str, float], dict[str, tuple[float, float]], list[str]]:
    """NVIDIA cards without tensor cores (Pascal: DP4A MMQ and FP32 kernels) on current llama.cpp builds, from the
    published llama-bench rows of benchmarks/data/cuda_current.csv (Tesla P40, GTX 1080, GTX 1060 6GB), each card
    with one say: decode's weight-read efficiency a_w (t_layer held at the prior's 100 us, which three cards do not
    tell apart from it; a_kv at the prior), the prompts' matmul rate a_fq from the dense prompts at an empty cache
    (fit_prompt_by_card); the other constants at the priors.  Bands: the wider of the in-sample and the
    leave-one-card-out spread, at least +-30 % (decode) and +-40 % (prompts).  Returns the constants, the bands and
    the lines to print."""
    dec, dec_t, pre = bench_forms(CUDA_CURRENT, "cuda")
    rows = [(x, t) for x, t in zip(dec, dec_t, strict=True) if any(k.startswith("cuda-legacy:") for k in x[1])]
    forms, meas = [x for x, _ in rows], [t for _, t in rows]
    cards = [getattr(row, "device", "") for row, _ in forms]
    counts = {c: cards.count(c) for c in set(cards)}
    prior = PRIORS["cuda-legacy"]
    fixed = {"cuda-legacy:a_kv": prior["a_kv"], "cuda-legacy:a_dq": 0.0, "cuda-legacy:t_layer": prior["t_layer"]}
    theta, ins, held = fit_held_out(forms, meas, fixed, row_weights=[1 / counts[c] for c in cards])
    out = {f"cuda-legacy:{k}": v for k, v in prior.items()} | {k: v for k, v in theta.items()
                                                              if k.startswith("cuda-legacy:")}
    record(PUBLISHED, "cuda-legacy", "tg", ins, held)
    params = with_constants(load_speed_params(), "cuda-legacy", **{k.split(":")[1]: v for k, v in out.items()})
    dense = [(row, t) for row, t in pre if PP_RUNS[row].works[0].cls == "cuda-legacy" and not moe_run(row)
             and getattr(row, "depth", 0) == 0]
    got, e0, e1 = fit_prompt_by_card("cuda-legacy", dense, params, {"a_fq": FQ_GRID})
    held_pp = prompt_held_out("cuda-legacy", dense, params, {"a_fq": FQ_GRID}, fit=fit_prompt_by_card)
    out |= {f"cuda-legacy:{k}": v for k, v in got.items()}
    ratios = [PP_RUNS[row].seconds(with_constants(params, "cuda-legacy", **got)) / t for row, t in dense]
    record(PUBLISHED, "cuda-legacy (dense prompts)", "pp", ratios, held_pp, err_in=e1)
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    qp = statistics.quantiles(ratios + held_pp, n=10)
    bands = {"tg": (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3)),
             "pp": (round(min(qp[0], 0.6), 3), round(max(qp[-1], 1.4), 3))}
    lines = [f"cuda-legacy      tg: n={len(ins):3d} on {len(counts)} cards, a_w {out['cuda-legacy:a_w']:.3f} (t_layer "
             f"{out['cuda-legacy:t_layer'] * 1e6:.0f} us, the prior's) | median error in-sample {_err(ins):.1f} % "
             f"leave-one-card-out {_err(held):.1f} %",
             f"cuda-legacy      pp: n={len(dense):3d} dense, a_fq {got['a_fq']:.2f} | median error {e0:.1f} % at the "
             f"prior -> {e1:.1f} % in-sample, leave-one-card-out {_err(held_pp) if held_pp else NAN:.1f} %"]
    return out, bands, lines


def vulkan_prior(theta: dict[str, float]) -> dict[str, float]:
    """llama.cpp's Vulkan backend on discrete cards: no runs in the calibration files.  Each constant the Strix
    Halo fits give for both backends (benchmarks/data/strix_halo.csv: one chip, llama-bench on ROCm and on
    Vulkan) carries over as a ratio: the discrete ROCm class's constant times vulkan-apu's over rocm-apu's; decode's
    attention terms (a_kv, a_at) are vulkan-apu's own.  The rest keep the engine-facts priors.  Still a prior (no
    Vulkan card was measured): the file says so."""
    out = dict(PRIORS["vulkan"])
    # decode at depth: the shaders' attention as on the Strix Halo's Vulkan (fit_apu: the arithmetic at the ALU
    # rate, no KV-byte term), the same constants against the card's own rates
    out |= {k: theta[f"vulkan-apu:{k}"] for k in ("a_kv", "a_at") if f"vulkan-apu:{k}" in theta}
    for k in ("a_w", "t_layer", "a_fq"):
        vk, rc = theta.get(f"vulkan-apu:{k}"), theta.get(f"rocm-apu:{k}")
        if vk and rc:
            # the prompt rate from ROCm's prior, not its fitted a_fq, which prices the costly MMQ types and the
            # activation traffic apart (the Vulkan prior has neither): with the first fitted value (2.75, before
            # the activation term) the published Vulkan prompts went 25.0 -> 29.2 %
            base = PRIORS["rocm"][k] if k == "a_fq" else theta.get(f"rocm:{k}", PRIORS["rocm"][k])
            out[k] = base * vk / rc
    out["a_w"] = max(out["a_w"], 1.0)  # never more than the card's bandwidth
    return out


def fit_vulkan(prior: dict[str, float]) -> tuple[dict[str, float], dict[str, tuple[float, float]], list[str]]:
    """Discrete cards (AMD, NVIDIA, Intel) on llama.cpp's Vulkan backend from the published llama-bench rows of
    benchmarks/data/vulkan_discrete.csv (20 cards, May 2025 to September 2026 builds).  Decode: the weights and
    cache stream at the full bandwidth (a_w held at 1), the shaders' unpacking of quantized weights costs its
    FP32 ALU time on top (a_dq, fitted: ggml-vulkan's mat-vec shaders dequantize in registers, so a card with few
    FLOPs per byte of bandwidth, an RX 5700 XT or a Radeon Pro VII, pays it where an RTX 4090 hides most of it;
    a_w fitted free went below 1 and held out worse), t_layer and the cost per routed-expert matmul (t_x,
    speed.DECODE_EXPERT_CLASSES) fitted, the attention terms a_kv / a_at at the prior (two rows start deep).
    Prompts keep the prior (``prior``): the rows' prompt rates follow whether the driver exposes the matrix cores
    to Vulkan (RDNA 3 / 4 and recent NVIDIA drivers do, Intel Alchemist and Turing in these runs did not), which
    the catalog does not record.  Band: the wider of the in-sample and the leave-one-card-out spread, at least
    +-30 %; prompts +-50 / 100 %.  Returns the constants, bands and lines to print."""
    dec, dec_t, pre = bench_forms(VULKAN, "vulkan")
    fixed = {"vulkan:a_w": 1.0, "vulkan:a_kv": prior["a_kv"], "vulkan:a_at": prior.get("a_at", 0.0)}
    theta, ins, held = fit_held_out(dec, dec_t, fixed)
    out = {f"vulkan:{k}": v for k, v in prior.items()} | {k: v for k, v in theta.items() if k.startswith("vulkan:")}
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    n_cards = len({getattr(row, "device", "") for row, _ in dec})
    record(PUBLISHED, "vulkan (discrete)", "tg", ins, held)
    params = with_constants(load_speed_params(), "vulkan", **{k.split(":")[1]: v for k, v in out.items()})
    # MoE prompts where the shaders reach the matrix units: the routed experts' matmuls at their own rate a_fx
    # (speed.EXPERT_PROMPT_CLASSES), each card with one say; on the ALUs (Intel Arc) they run at the dense rate
    moe = [(row, t) for row, t in pre if moe_run(row) and not any(w.alu_prompts for w in PP_RUNS[row].works)]
    fx, x0, x1 = fit_prompt_by_card("vulkan", moe, params, {"a_fx": FX_GRID})
    held_fx = prompt_held_out("vulkan", moe, params, {"a_fx": FX_GRID}, fit=fit_prompt_by_card)
    out["vulkan:a_fx"] = fx["a_fx"]
    params = with_constants(params, "vulkan", **fx)
    pp = [PP_RUNS[row].seconds(params) / t for row, t in pre]
    n_moe = len({getattr(row, "device", "") for row, _ in moe})
    record(PUBLISHED, "vulkan (MoE prompts)", "pp", [PP_RUNS[row].seconds(params) / t for row, t in moe], held_fx,
           err_in=x1)
    lines = [f"vulkan (discrete) tg: n={len(ins):3d} on {n_cards} cards, a_dq {out['vulkan:a_dq']:.2f} t_layer "
             f"{out['vulkan:t_layer'] * 1e6:.0f} us t_x {out.get('vulkan:t_x', 0.0) * 1e6:.1f} us (a_w 1) | median "
             f"error in-sample {_err(ins):.1f} % leave-one-card-out {_err(held):.1f} %",
             f"vulkan (discrete) pp MoE: a_fx {fx['a_fx']:.2f} from {len(moe)} rows on {n_moe} cards (median error "
             f"{x0:.1f} -> {x1:.1f} %, leave-one-card-out {_err(held_fx) if held_fx else NAN:.1f} %)",
             f"vulkan (discrete) pp: n={len(pp):3d} at the prior's dense constants, median error {_err(pp):.1f} %"]
    bands = {"tg": (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3)), "pp": (0.5, 2.0)}
    return out, bands, lines


# prompts after a filled cache (llama-bench -d) and long prompts on AMD GPUs (ROCm, Vulkan) and on NVIDIA's under
# Vulkan, each sweep with its empty-cache baseline: what the flash-attention constant a_fa of ALU_ATTENTION_FIT is
# fitted on (fit_alu_attention), besides the long-prompt rows of the other ROCm / Vulkan files
AMD_DEPTH = Path(__file__).parent / "data" / "amd_depth.csv"
VULKAN_DEPTH = Path(__file__).parent / "data" / "vulkan_depth.csv"
ROCM_MORE = Path(__file__).parent / "data" / "rocm_more.csv"
VULKAN_MORE = Path(__file__).parent / "data" / "vulkan_more.csv"
# the classes whose prompts price flash attention's FLOPs at one constant against the units the kernels run on
# (speed.ATTENTION_PROMPT_CLASSES, speedwork.DeviceWork.attention_tflops)
ALU_ATTENTION_FIT = ("rocm", "rocm-apu", "vulkan", "vulkan-apu")
FA_GRID = [round(0.25 * i, 2) for i in range(4, 161)]  # a_fa: 1-40
DEEP_DEPTH, LONG_PROMPT = 4096, 8192  # a sweep's rows that tell attention apart: this deep, or this long
# llama.cpp's HIP build runs RDNA's prompt attention on WMMA (Engine.attention_on_alus) in the 2026 runs: an R9700's
# Llama 3.1 8B prompt 4k tokens deep slows 1.14-1.22x (rocm_current.csv, July 2026), where its December 2025 builds
# and the RX 7900 XT / GRE's of 2025 slowed as the tile kernel does (amd_depth.csv, rocm_current.csv): the earlier
# runs of models it now routes to WMMA are left out of the fit
WMMA_ATTENTION_FROM = "2026-01-01"


def with_baselines(rows: list[tuple[Any, Any]], deep: Any, baseline: Any) -> list[tuple[Any, Any, Any, Any]]:
    """Each row of ``rows`` (llama-bench rows with what the caller keeps of each) for which ``deep`` holds, with a
    row of its own run (same card, backend, model, quant and date) for which ``baseline`` holds: the one of the same
    prompt and micro-batch where the run has it, else the shortest: (row, its value, baseline row, its value)."""
    runs: dict[tuple[object, ...], list[tuple[Any, Any]]] = {}
    for row, x in rows:
        runs.setdefault((row.device, row.backend, row.model, row.quant, row.date), []).append((row, x))
    out = []
    for run_rows in runs.values():
        base = [(r, x) for r, x in run_rows if baseline(r)]
        for row, x in run_rows:
            if base and deep(row):
                same = [(r, bx) for r, bx in base if r.tokens == row.tokens and r.ubatch == row.ubatch] or base
                b, bx = min(same, key=lambda y: y[0].tokens)
                out.append((row, x, b, bx))
    return out


def attention_sweeps() -> list[tuple[object, float, object, float]]:
    """The flash-attention prompt rows of the ROCm and Vulkan llama-bench files that start at least DEEP_DEPTH
    tokens deep or run at least LONG_PROMPT tokens (not of models with a key head per query head, whose attention
    kernels re-read the cache for each block of queries: Llama 2 slows 2-3x more than the FLOPs say), each with the
    shorter empty-cache baseline of its run (same card, backend, model, quant and date; the same prompt and
    micro-batch where the run has one): (row, measured seconds, baseline row, its seconds), the runs in PP_RUNS."""
    rows: list[tuple[Any, float]] = []
    for path, backend, card in ((ROCM_CURRENT, "rocm", None), (ROCM_MORE, "rocm", None), (XTX, "rocm", "RX 7900 XTX"),
                                (VULKAN, "vulkan", None), (VULKAN_MORE, "vulkan", None), (AMD_DEPTH, "rocm", None),
                                (VULKAN_DEPTH, "vulkan", None)):
        for row in load_bench_rows(path, card):
            if row.metric != "pp":
                continue
            f = fit_bench_row(row, row.backend or backend)
            works = device_work(f.spec, f.memory, f.placement, system=f.system)
            run = f.memory.run
            if (str(f.placement.verdict) != "gpu" or not isinstance(works, list) or not run.flash_attention
                    or works[0].cls not in ALU_ATTENTION_FIT or (f.spec.n_gqa == 1 and not f.spec.uses_mla)):
                continue  # a query head per key head (Llama 2) slows 2-3x more at depth than its FLOPs and bytes say
            if (row.backend or backend) == "rocm" and row.date < WMMA_ATTENTION_FROM \
                    and works[0].attention_tflops == works[0].tflops:
                continue  # the HIP build's WMMA attention kernel came later: these ran the tile kernel
            PP_RUNS[row] = PrefillRun(works, f.placement, row.tokens, run.n_ubatch, True,
                                      f.quant.name.upper() in ("F16", "BF16"), row.depth)
            rows.append((row, row.tokens / row.measured))
    return with_baselines(rows, lambda r: r.depth >= DEEP_DEPTH or r.tokens >= LONG_PROMPT,
                          lambda r: r.depth == 0 and r.tokens < LONG_PROMPT)


def fit_alu_attention(theta: dict[str, float]) -> tuple[float, list[str]]:
    """Flash attention's prompt FLOPs on AMD GPUs (ROCm's tile kernel, Vulkan's cooperative-matrix-1 and scalar
    shaders: at the ALU rate) and on NVIDIA's under Vulkan (cooperative-matrix-2: the matrix rate): one constant
    a_fa for the classes of ALU_ATTENTION_FIT, fitted on the slowdown of each sweep of attention_sweeps against its
    own baseline (predicted / measured time ratio, so the rows' matmul and expert errors cancel), each card with one
    say, and each card predicted by the value fitted without it.  At the prior (a_fa = a_ff at the matrix rate) a
    Radeon 8060S prefilled gpt-oss-20b after 65k cached tokens 3-4x faster than it did.  Returns a_fa and the lines
    to print."""
    sweeps = attention_sweeps()
    params = load_speed_params()
    for c in ALU_ATTENTION_FIT:
        params = with_constants(params, c, **{k.split(":")[1]: v for k, v in theta.items() if k.startswith(c + ":")})

    def log_err(sw: tuple[Any, float, Any, float], p: SpeedParams) -> float:
        row, t, b, bt = sw
        return math.log(PP_RUNS[row].seconds(p) / PP_RUNS[b].seconds(p) / (t / bt))

    @functools.cache
    def at(a: float) -> SpeedParams:
        p = params
        for c in ALU_ATTENTION_FIT:
            p = with_constants(p, c, a_fa=a)
        return p

    a_fa, without = grid_by_group(FA_GRID, sweeps, lambda sw: sw[0].device, lambda sw, a: log_err(sw, at(a)))
    cards = sorted(without)
    ins = [PP_RUNS[row].seconds(at(a_fa)) / t for row, t, _, _ in sweeps]
    held: list[float] = []
    slope_held: list[float] = []
    for card in cards:
        p = at(without[card])
        held += [PP_RUNS[row].seconds(p) / t for row, t, _, _ in sweeps if row.device == card]
        slope_held += [math.exp(log_err(sw, p)) for sw in sweeps if sw[0].device == card]
    base = params  # the attention FLOPs at the F16 matmuls' constant, the class's a_fa where none is fitted
    for c in ALU_ATTENTION_FIT:
        base = with_constants(base, c, a_fa=base.classes[c]["a_ff"])
    before = [math.exp(log_err(sw, base)) for sw in sweeps]
    after = [math.exp(log_err(sw, at(a_fa))) for sw in sweeps]
    record(PUBLISHED, "rocm / vulkan (prompts at depth)", "pp", ins, held)
    return a_fa, [f"rocm / vulkan    pp at depth: a_fa {a_fa:.2f} (flash attention at the ALU rate on AMD, the matrix "
                  f"rate on NVIDIA) from {len(sweeps)} rows on {len(cards)} cards | slowdown against the run's "
                  f"baseline: median error {_err(before):.1f} % at a_ff -> {_err(after):.1f} % in-sample, "
                  f"leave-one-card-out {_err(slope_held):.1f} %; the rows themselves {_err(ins):.1f} % in-sample, "
                  f"{_err(held):.1f} % leave-one-card-out"]


def fit_metal_ultra(theta: dict[str, float], t_x: float) -> tuple[dict[str, float], dict[str, tuple[float, float]],
                                                                  list[str]]:
    """Current builds on Ultra chips (two Max dies) from the llama-bench rows of benchmarks/data/metal_current.csv
    (M1 / M2 / M3 Ultra, August 2025 to August 2026): decode a_w, t_layer, the KV term a_kv, the attention
    arithmetic a_at (speed.DECODE_ATTENTION_CLASSES) fitted, the cost per routed-expert matmul ``t_x``
    (speed.DECODE_EXPERT_CLASSES: DeepSeek-V2-Lite decoded 32 % below its bytes without it) held at the smaller
    chips' (the same kernels; fitted free on these rows, 17 us, it priced the four-Ultra anchors of
    benchmarks/fit_cluster.py's 235B-1T MoE models 15 % slow); the M2 Ultra's depth sweeps of a GQA model
    (Qwen3-0.6B), a sliding-window one (gemma-3-1b) and an MLA one (DeepSeek-V2-Lite, 4x the FLOPs per cached
    byte) tell the bytes from the arithmetic.  Prefill: the May 2024 fit's constants.  The band is the wider of
    the in-sample and leave-one-chip-out spread, at least +-30 %.  Returns the constants, the bands and the lines
    to print."""
    dec, dec_t, pre = bench_forms(METAL_CURRENT, "metal")
    ultra = [(x, t) for x, t in zip(dec, dec_t, strict=True)
             if all(k.startswith(("metal-ultra:", "global:")) for k in x[1])]
    forms, meas = [x for x, _ in ultra], [t for _, t in ultra]
    fixed = {"metal-ultra:a_dq": 0.0, "metal-ultra:t_x": t_x}
    got = robust_solve(forms, meas, fixed=fixed)
    # each chip held out with the depth and expert constants of the whole fit (the sweeps are the M2 Ultra's)
    depth = {k: got.get(k, 0.0) for k in ("metal-ultra:a_kv", "metal-ultra:a_at")}
    _, ins, held = fit_held_out(forms, meas, fixed | depth)
    out = {k: v for k, v in got.items() if k.startswith("metal-ultra:")}
    out |= {f"metal-ultra:{k}": theta.get(f"metal-ultra@2024-05:{k}", FIXED.get(f"metal-ultra:{k}", 0.0))
            for k in PREFILL_KEYS}
    out["metal-ultra:a_ac"] = theta["cuda:a_ac"]  # activation traffic at the CUDA fit's constant (ACTIVATION_CLASSES)
    params = with_constants(load_speed_params(), "metal-ultra", **{k.split(":")[1]: v for k, v in out.items()})
    pp = [PP_RUNS[row].seconds(params) / t for row, t in pre if PP_RUNS[row].works[0].cls == "metal-ultra"]
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    chips = sorted({getattr(row, "device", "") for row, _ in forms})
    record(PUBLISHED, "metal-ultra", "tg", ins, held)
    lines = [f"metal-ultra (2025-26) tg: n={len(ins):3d} on {', '.join(chips)}: a_w {out['metal-ultra:a_w']:.3f} "
             f"a_kv {out['metal-ultra:a_kv']:.3f} a_at {out.get('metal-ultra:a_at', 0.0):.2f} t_x "
             f"{out.get('metal-ultra:t_x', 0.0) * 1e6:.1f} us t_layer "
             f"{out['metal-ultra:t_layer'] * 1e6:.0f} us | median error in-sample {_err(ins):.1f} % "
             f"leave-one-chip-out {_err(held):.1f} %",
             f"metal-ultra (2025-26) pp: the May 2024 fit's constants and the CUDA fit's activation traffic a_ac "
             f"{theta['cuda:a_ac']:.2f}, median error {_err(pp):.1f} % on {len(pp)} current prompt rows (a refit of "
             "a_fq on its 8 dense ones made the rest worse)"]
    bands = {"tg": (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3)), "pp": (0.6, 1.5)}
    return out, bands, lines


# current builds' hand-off between devices per token and boundary (global t_hop), a prior: an activation vector's
# copy over PCIe and a stream synchronization, tens of us, as t_allreduce_pcie's prior (engine-facts 3.3)
T_HOP_PRIOR_S = 3e-05


def fit_cuda_decode(cpu: dict[str, float]) -> tuple[dict[str, float], tuple[float, float], list[str]]:
    """Current llama.cpp builds' CUDA decode (a_w, a_kv, t_layer) from the 2025-2026 llama.cpp rows on GeForce
    cards: whole-GPU, layer-split and partly offloaded runs (the CPU's layers priced with the CPU class ``cpu``,
    held), up to 184k tokens deep.  Least absolute relative error (community submissions disagree up to 2x on one
    card and model).  The hand-off between devices (global t_hop) is held at T_HOP_PRIOR_S: the rows cannot pin
    it.  Fitted, it came out 0 on all of them and in six of the seven leave-one-card-out folds, and 646 us in the
    fold without the RTX 3060, whose runs are nearly all the multi-device ones; that fold then priced each of
    the card's partly offloaded and layer-split runs 0.6-1.3 ms slow (its runs held out 13.3 % median and 35 past
    25 %, 9.1 % and 19 with the prior).  The band is the wider of the in-sample and the leave-one-device-out
    10th-90th percentile.  Returns the constants, the band and the lines to print."""
    dec, dec_t, _, _, devices = modern_forms("cuda", engines=("llama.cpp",), with_cpu=True)
    fixed = {"cuda:a_dq": 0.0, "global:t_hop": T_HOP_PRIOR_S} | {k: v for k, v in cpu.items() if k.startswith("cpu:")}
    theta, ins, held = fit_held_out(dec, dec_t, fixed)
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    record("2025-2026", "cuda", "tg", ins, held)
    out = {k: v for k, v in theta.items() if k.startswith("cuda:") or k == "global:t_hop"}
    lines = [f"cuda (2025-26)   tg: n={len(ins):3d} ({len(devices)} cards) a_w {out['cuda:a_w']:.3f} a_kv "
             f"{out['cuda:a_kv']:.3f} a_at {out.get('cuda:a_at', 0.0):.2f} t_layer {out['cuda:t_layer'] * 1e6:.0f} us "
             f"t_hop {out['global:t_hop'] * 1e6:.0f} us (prior)"
             f" | median error in-sample {_err(ins):.1f} % leave-one-device-out {_err(held):.1f} %"]
    return out, (round(min(q[0], ql[0]), 3), round(max(q[-1], ql[-1]), 3)), lines


def fit_cuda_prompt(theta: dict[str, float], cpu: dict[str, float]) -> tuple[dict[str, float], tuple[float, float],
                                                                            list[str]]:
    """Current llama.cpp builds' CUDA prompt constants from the 2025-2026 llama.cpp prompt rows on GeForce cards
    (steps 1 and 2 with the published llama-bench prompts of benchmarks/data/cuda_current.csv on class-"cuda"
    cards), least absolute relative error, in three steps that each fit what their rows tell apart:

    1. the quantized matmuls (a_fq), their activations' traffic (a_ac) and a hybrid model's recurrent scan (a_ss)
       from dense models' prompts at depth 0 (at most one layer in RAM);
    2. flash attention's FLOPs (a_fa) from dense models' prompts 4k-131k tokens deep, all on the GPU;
    3. a MoE's routed experts' FLOPs (a_fx) and its micro-batch's cost per touched expert (a_xt), in turns, from
       the MoE models' prompts on the GPU (llama.cpp and Ollama rows).

    Steps 1 and 2 go round twice (each holds the other's constants).  F16 matmuls and the FA-off score traffic keep
    the May 2024 fit's (a_ff, a_sc: few current rows run without flash attention), t_ub its prior.  Returns the
    constants, the prompt band (10th-90th percentile of measured / predicted over every calibration row, widened by
    the leave-one-device-out ratios where a device can be held out) and the lines to print."""
    _, _, modern, pre_t, _ = modern_forms("cuda", engines=("llama.cpp",), with_cpu=True)
    pre: list[tuple[Any, dict[str, float]]] = list(modern)
    # with the published current-build llama-bench prompts on CUDA cards (benchmarks/data/cuda_current.csv: RTX
    # 2080 Ti to 5090, DGX Spark): six cards, five of them new, for steps 1 and 2 (the only deep prompts besides
    # the RTX 4070's), fitted on but not scored in the class's line (its ratios are the calibration rows')
    n_modern = len(pre)
    bpre, bpre_t = published_prompt_forms(CUDA_CURRENT, "cuda")
    pre, pre_t = pre + bpre, pre_t + bpre_t
    consts = {"cuda:a_ff": theta["cuda@2024-05:a_ff"], "cuda:a_sc": theta["cuda@2024-05:a_sc"],
              "cuda:t_ub": FIXED["cuda:t_ub"], "cuda:a_fa": theta["cuda@2024-05:a_ff"], "cuda:a_rd": A_RD}
    held = {k: v for k, v in cpu.items() if k.startswith("cpu:")}

    def in_ram(row: object) -> int:
        return sum(w.n_layers for w in PP_RUNS[row].works if w.on_cpu)

    def step_one(row: Any) -> bool:
        """A dense model's prompt at depth 0 with at most one layer in RAM (step 1's rows)."""
        return not moe_run(row) and row.depth == 0 and in_ram(row) <= 1

    def step_two(row: Any) -> bool:
        """A dense model's prompt after cached tokens, all on the GPU (step 2's rows)."""
        return not moe_run(row) and row.depth > 0 and not in_ram(row)

    def steps(keep: set[str] | None) -> dict[str, float]:
        """Steps 1 and 2 on the rows of the devices in ``keep`` (None: all)."""
        out = dict(consts)
        rows = [(x, t) for x, t in zip(pre, pre_t, strict=True) if keep is None or x[0].device in keep]
        first = [(x, t) for x, t in rows if step_one(x[0])]
        deep = [(x, t) for x, t in rows if step_two(x[0])]
        for _ in range(2):
            fixed = held | {k: out[k] for k in ("cuda:a_ff", "cuda:a_sc", "cuda:t_ub", "cuda:a_fa", "cuda:a_rd")}
            got = robust_solve([x for x, _ in first], [t for _, t in first], fixed=fixed)
            out |= {k: got[k] for k in ("cuda:a_fq", "cuda:a_ac", "cuda:a_ss")}
            if len(deep) >= 8:
                fixed = held | {k: v for k, v in out.items() if k != "cuda:a_fa"}
                out["cuda:a_fa"] = robust_solve([x for x, _ in deep], [t for _, t in deep], fixed=fixed)["cuda:a_fa"]
        return out

    def ratios(c: dict[str, float], device: str | None = None) -> list[float]:
        """Predicted / measured prompt time (measured / predicted rate) of every calibration row, or one
        device's."""
        p = with_constants(load_speed_params(), "cuda", **{k.split(":")[1]: v for k, v in c.items()
                                                            if k.startswith("cuda:")})
        p = with_globals(p, **{k.split(":")[1]: v for k, v in c.items() if k.startswith("global:")})
        return [PP_RUNS[row].seconds(p) / t for (row, _), t in zip(pre[:n_modern], pre_t[:n_modern], strict=True)
                if device is None or row.device == device]

    out = steps(None)
    n_first = sum(1 for (row, _) in pre[:n_modern] if step_one(row))
    n_published = sum(1 for (row, _) in bpre if step_one(row) or step_two(row))
    loo: list[float] = []
    held_out = []
    every = {row.device for row, _ in pre}
    for device in sorted(every):
        rest = every - {device}
        left = sum(1 for (row, _) in pre if row.device in rest and step_one(row))
        if left >= 8 and any(row.device == device for row, _ in pre[:n_modern]):  # else too few rows to refit
            loo += ratios(steps(rest), device)
            held_out.append(device)
    # step 3: the MoE prompts on the GPU (llama.cpp and Ollama rows), the rest as above
    _, _, gpre, gpre_t, _ = modern_forms("cuda")
    moe_rows = [(row, t) for (row, f), t in zip(gpre, gpre_t, strict=True)
                if PP_RUNS[row].works[0].resident_expert_elements and PP_RUNS[row].works[0].expert_ratio < 1]
    base = with_constants(load_speed_params(), "cuda", **{k.split(":")[1]: v for k, v in out.items()})
    lines = []
    if len(moe_rows) >= 8:
        # the routed experts' FLOPs (a_fx) and their fixed cost per touched expert (a_xt), in turns; then the
        # multiprocessors their kernels fill (moe_prompt_units) from the published MoE prompts of twelve cards of 22-188
        # SMs (the calibration's are of 28-46 SMs but one RTX 5090 row), and a_fx / a_xt again at that value
        grids = {"a_fx": FX_GRID, "a_xt": XT_GRID}
        got, e0, e1 = fit_prompt_turns("cuda", moe_rows, base, grids)
        published = [(row, t) for path in (CUDA_CURRENT, CUDA_MORE)
                     for (row, _), t in zip(*published_prompt_forms(path, "cuda"), strict=True) if moe_run(row)]
        units, u0, u1, held_u = fit_moe_units(published, with_constants(base, "cuda", **got))
        base = with_globals(base, moe_prompt_units=units)
        got, _, e1 = fit_prompt_turns("cuda", moe_rows, base, grids)
        out |= {f"cuda:{k}": v for k, v in got.items()} | {"global:moe_prompt_units": units}
        p_units = with_constants(base, "cuda", **got)
        record(PUBLISHED, "cuda (MoE prompts)", "pp", [PP_RUNS[r].seconds(p_units) / t for r, t in published],
               held_u)
        n_cards = len({getattr(r, "device", "") for r, _ in published})
        lines.append(f"cuda (2025-26)   pp MoE: the expert matmuls fill {units:.0f} SMs, from {len(published)} "
                     f"published prompt rows on {n_cards} cards (median error {u0:.1f} -> {u1:.1f} %; "
                     f"leave-one-card-out {_err(held_u):.1f} %)")
        held_xt = prompt_held_out("cuda", moe_rows, base, grids, fit=fit_prompt_turns)
        SUMMARY.append(("2025-2026", "cuda (MoE prompts)", "pp", len(moe_rows), e1,
                        _err(held_xt) if len(held_xt) >= 2 else NAN))
        lines.append(f"cuda (2025-26)   pp MoE: a_fx {got['a_fx']:.3f} a_xt {got['a_xt']:.1f} from {len(moe_rows)} "
                     f"prompt rows of {len({getattr(r, 'model', '') for r, _ in moe_rows})} models (median error "
                     f"{e0:.1f} -> {e1:.1f} %; leave-one-device-out {_err(held_xt) if held_xt else NAN:.1f} %)")
    # step 4: the PCIe copies' cost, from the prompt rows that stream a tenth or more of their time from RAM
    _, _, spre, spre_t, _ = modern_forms("cuda", with_cpu=True)
    base = with_constants(load_speed_params(), "cuda", **{k.split(":")[1]: v for k, v in out.items()})
    a_now = base.globals_.get("a_pcie", A_PCIE)
    streaming = [(row, t) for (row, f), t in zip(spre, spre_t, strict=True)
                 if f.get("global:a_pcie", 0.0) * a_now >= 0.1 * PP_RUNS[row].seconds(base)]
    if len(streaming) >= 8:
        a_pcie, e0, e1, held_s = fit_stream(streaming, base)
        out["global:a_pcie"] = a_pcie
        SUMMARY.append(("2025-2026", "cuda (weights in RAM)", "pp", len(streaming), e1,
                        _err(held_s) if len(held_s) >= 2 else NAN))
        n_dev = len({getattr(r, "device", "") for r, _ in streaming})
        lines.append(f"cuda (2025-26)   pp weights in RAM: a_pcie {a_pcie:.2f} (copies at {100 / a_pcie:.0f} % of the "
                     f"link) from {len(streaming)} prompt rows of {n_dev} devices (median error {e0:.1f} -> {e1:.1f} "
                     f"%; leave-one-device-out {_err(held_s) if held_s else NAN:.1f} %)")
    ins = ratios(out)
    record("2025-2026", "cuda", "pp", ins, loo)
    q = statistics.quantiles(ins, n=10)
    ql = statistics.quantiles(loo, n=10) if len(loo) >= 2 else q
    lines.insert(0, f"cuda (2025-26)   pp: n={len(ins):3d} ({n_first} dense at depth 0; steps 1-2 also on "
                    f"{n_published} published prompts) a_fq {out['cuda:a_fq']:.3f} "
                    f"a_ac {out['cuda:a_ac']:.3f} a_ss {out['cuda:a_ss']:.3f} a_fa {out['cuda:a_fa']:.3f} | median "
                    f"error in-sample {_err(ins):.1f} % leave-one-device-out {_err(loo) if loo else NAN:.1f} % "
                    f"({', '.join(held_out) or 'no device'} held out; the others leave step 1 too few rows)")
    return out, (round(min(q[0], ql[0]), 3), round(max(q[-1], ql[-1]), 3)), lines


def one_device_decode_band(label: str, forms: list[tuple[object, dict[str, float]]], meas: list[float],
                           consts: dict[str, float], devices: set[str],
                           extra: str = "") -> dict[str, tuple[float, float]]:
    """The band of a class whose decode was fitted on one device's rows (vLLM, MLX, discrete ROCm): the in-sample
    10th-90th percentile of measured / predicted, widened to at least +-40 % (no other device to hold out), and
    prompts at x0.5-2 (their constants stand in from another class or a prior).  Records the class's line in
    SUMMARY and prints it."""
    ratios = [sum(v * consts.get(k, 0.0) for k, v in f.items()) / t for (_, f), t in zip(forms, meas, strict=True)]
    q = statistics.quantiles(ratios, n=10)
    record("2025-2026", label, "tg", ratios, [])
    print(f"{label:16s} tg: n={len(ratios):3d} median ratio {statistics.median(ratios):.3f} p10 {q[0]:.3f} "
          f"p90 {q[-1]:.3f}{extra} (devices: {', '.join(sorted(devices))})")
    return {"tg": (round(min(q[0], 0.6), 3), round(max(q[-1], 1.4), 3)), "pp": (0.5, 2.0)}


def mlx_decode_forms() -> tuple[list[tuple[object, dict[str, float]]], list[float], set[str]]:
    """Decode forms of the published mlx-lm runs (benchmarks/data/mlx_macs.csv) on base, Pro and Max chips (the
    Ultras' MLX runs are priced by the Ultra class, speedclass.stand_in_class): the decode after each run's prompt,
    at its answer's middle position.  An M5's class (mlx-metal-na, matrix units) decodes as its family's, so
    its terms are mlx-metal's."""
    from modern_rows import MLX_MACS, MLX_SHORT_PROMPT, fit_mlx_row, load_mlx_rows
    from rigfit.errors import RigfitError

    forms: list[tuple[object, dict[str, float]]] = []
    times: list[float] = []
    devices: set[str] = set()
    if not MLX_MACS.exists():
        return forms, times, devices
    for row in load_mlx_rows():
        if row.metric != "tg":
            continue
        try:
            r = fit_mlx_row(row)
        except RigfitError:
            continue
        if r.placement is None or r.speed is None or row.measured > r.speed.roofline_tokens_per_s:
            continue
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        if not isinstance(works, list) or any(w.cls.removesuffix("-na") != "mlx-metal" for w in works):
            continue
        form: dict[str, float] = {}
        for k, v in decode_linear(works, r.placement, (row.prompt or MLX_SHORT_PROMPT) + (row.gen - 1) / 2,
                                  r.spec.sliding_window).items():
            key = f"mlx-metal:{k.partition(':')[2]}" if k.startswith("mlx-metal") else k
            form[key] = form.get(key, 0.0) + v
        devices.add(row.device)
        forms.append((row, form))
        times.append(1 / row.measured)
    return forms, times, devices


def fit_mlx_decode() -> tuple[dict[str, float], dict[str, tuple[float, float]], list[tuple[object, dict[str, float]]],
                              list[float]]:
    """MLX decode (a_w, a_kv, t_layer, the cost per routed-expert mat-vec t_x and the mxfp4 bytes' a_w4; no
    unpacking term a_dq: the rows are M3 and later) from the 2025-2026 runs (mlx_lm on an M4 Pro, llmfit's whole
    requests) and the published mlx-lm runs on M3 Pro, M4 Max and M5 Max chips (mlx_decode_forms), least absolute
    relative error; the band the wider of the in-sample and the leave-one-device-out 10th-90th percentile, at
    least +-30 %.  The published runs decode after prompts of 2-22k tokens, which the calibration's (a 45-token
    prompt) cannot show: a_kv, held at Metal's 2024 value before (6.3: 18.8 tok/s predicted for Qwen3-8B after 21k
    tokens on an M4 Max that ran 51.9), is fitted.  Returns the constants, the band, and the calibration's mlx_lm
    prompt forms (the caller fits a_fq on them)."""
    xdec, xdec_t, xpre, xpre_t, _ = modern_forms("mlx-metal", engines=("mlx",))
    qdec, qdec_t, _ = request_forms("mlx-metal", engines=("mlx",))
    pdec, pdec_t, pdev = mlx_decode_forms()
    cal, cal_t = xdec + qdec, xdec_t + qdec_t
    forms, meas = cal + pdec, cal_t + pdec_t
    theta, ins, held = fit_held_out(forms, meas, {"mlx-metal:a_dq": 0.0})
    n = len(cal)
    record("2025-2026", "mlx-metal", "tg", ins[:n], held[:n])
    record(PUBLISHED_MLX, "mlx-metal", "tg", ins[n:], held[n:])
    q, ql = statistics.quantiles(ins, n=10), statistics.quantiles(held, n=10)
    out = {k: v for k, v in theta.items() if k.startswith("mlx-metal:")}
    print(f"mlx-metal        tg: n={len(ins):3d} ({n} 2025-2026, {len(pdec)} published on {len(pdev)} Macs) a_w "
          f"{out['mlx-metal:a_w']:.3f} a_kv {out['mlx-metal:a_kv']:.3f} t_layer {out['mlx-metal:t_layer'] * 1e6:.0f} us"
          f" t_x {out.get('mlx-metal:t_x', 0.0) * 1e6:.1f} us a_w4 {out.get('mlx-metal:a_w4', 0.0):.2f}"
          f" | median error in-sample {_err(ins):.1f} % leave-one-device-out {_err(held):.1f} %")
    band = {"tg": (round(min(q[0], ql[0], 0.7), 3), round(max(q[-1], ql[-1], 1.3), 3)), "pp": (0.5, 2.0)}
    return out, band, xpre, xpre_t


def fit_cpu_moe_prompts(cpre: list[tuple[Any, dict[str, float]]], cpre_t: list[float],
                        constants: dict[str, float]) -> tuple[float, str]:
    """A MoE prompt's cost per touched expert on llama.cpp's CPU backend (``cpu:a_xt``,
    microbatch.moe_expert_overhead_s: ggml-cpu's mul_mat_id runs each expert's rows as a matmul of its own, a few
    dozen rows each) from the calibration's CPU MoE prompt rows and the published ones of
    benchmarks/data/cpu_current.csv (a Core Ultra 7 155H and a Ryzen 9 7950X: at the active FLOPs' price their
    Qwen3.6-35B-A3B, Qwen3-30B-A3B and gpt-oss-20b prompts came 38-86 % fast), the class's other constants held.
    Returns the value and the line to print (with each CPU predicted from the other's rows)."""
    from modern_rows import CPU_BENCH, fit_cpu_row, load_cpu_rows

    rows = [(row, t) for (row, _), t in zip(cpre, cpre_t, strict=True) if moe_run(row)]
    for row in load_cpu_rows() if CPU_BENCH.exists() else []:
        if row.metric != "pp":
            continue
        f = fit_cpu_row(row)
        if not f.spec.is_moe:
            continue
        run = f.memory.run
        PP_RUNS[row] = PrefillRun(device_work(f.spec, f.memory, f.placement, system=f.system), f.placement,
                                  row.tokens, run.n_ubatch, run.flash_attention, False, row.depth)
        rows.append((row, row.tokens / row.measured))
    params = with_constants(load_speed_params(), "cpu", **{k.split(":")[1]: v for k, v in constants.items()
                                                          if k.startswith("cpu:")})
    grids = {"a_xt": XT_GRID}
    got, e0, e1 = fit_prompt_constants("cpu", rows, params, grids)
    held = prompt_held_out("cpu", rows, params, grids)
    n_dev = len({getattr(row, "device", "") for row, _ in rows})
    loo = _err(held) if held else NAN
    return got["a_xt"], (f"cpu              pp MoE: a_xt {got['a_xt']:.1f} from {len(rows)} prompt rows on {n_dev} "
                         f"CPUs (median error {e0:.1f} -> {e1:.1f} %, leave-one-CPU-out {loo:.1f} %)")


def fit_batched(cls: str, constants: dict[str, float]) -> tuple[float, list[str]]:
    """``a_bd`` of ``cls`` from the throughput_modern.csv runs with several users (llama-server -np N, the
    aggregate decode rate): the step time combines the weights and every user's cache read once with a_bd x the
    batch's matmuls at the prefill rate (speed.batched_step_s: their sum on a CPU, the larger elsewhere); a_bd
    minimizes the summed absolute log error over a grid (community rows: one odd run must not steer it)."""
    from modern_rows import fit_whole_run, load_modern_rows

    params = SpeedParams(classes={cls: {**{k.split(":")[1]: v for k, v in constants.items()}, "a_bd": 1.0}},
                         globals_={}, bands={}, fitted={}, source="")
    parts: list[tuple[object, list[DeviceWork], float, float]] = []  # (row, works, memory s, matmul s at a_bd = 1)
    for row in load_modern_rows(concurrent=True):
        if row.metric != "tg" or (cls == "cpu") != (row.backend == "cpu"):
            continue
        r = fit_whole_run(row)
        if r is None or r.placement is None:
            continue
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        if not isinstance(works, list) or any(w.cls != cls for w in works):
            continue
        pos = row.prompt + (row.gen - 1) / 2
        t_mem = decode_time_s(works, r.placement, pos, r.spec.sliding_window, params, batch=row.users)[0]
        parts.append((row, works, t_mem, batch_compute_s(works, row.users, params)))
    if not parts:
        return 1.0, [f"{cls:16s} batched: no runs with several users (a_bd 1, a prior)"]

    def loss(a: float) -> float:
        return sum(abs(math.log(row.users / batched_step_s(w, tm, a * tc) / row.measured))  # type: ignore[attr-defined]
                   for row, w, tm, tc in parts)

    best = min((0.5 + i / 100 for i in range(751)), key=loss)
    errs = sorted(abs(row.users / batched_step_s(w, tm, best * tc) / row.measured - 1)  # type: ignore[attr-defined]
                  for row, w, tm, tc in parts)
    return best, [f"{cls:16s} batched: a_bd {best:.2f} from {len(parts)} runs with 2-"
                  f"{max(row.users for row, _, _, _ in parts)} users (median aggregate error "  # type: ignore[attr-defined]
                  f"{100 * statistics.median(errs):.1f} %)"]


def main(argv: list[str]) -> int:
    exit_if_missing(CSV, MODERN_CSV)
    SUMMARY.clear()
    POOL.clear()
    rows = [r for r in load_rows() if not r.caution]
    prepared = prepare(rows)
    dec, pre = linear_forms(prepared)
    dec_t = [1 / r.measured for r, _ in dec]
    pre_t = [r.prompt / r.measured for r, _ in pre]
    theta = _solve_decode(dec, dec_t)
    for line in old_f16_gemv_grid(prepared):
        print(line)
    best = None
    for step in range(11):  # pipeline overlap: grid search, least squares for the rest at each value
        rho = step / 10
        _, pre_rho = linear_forms(prepared, overlap=rho)
        th = solve(pre_rho, pre_t)
        err = sum((sum(v * th[k] for k, v in f.items()) / t - 1) ** 2 for (_, f), t in zip(pre_rho, pre_t,
                                                                                         strict=True))
        if best is None or err < best[0]:
            best = (err, rho, th, pre_rho)
    assert best is not None
    _, rho, th, pre = best
    for line in apple_serial_prompt_grid(prepared, rho):
        print(line)
    # current Metal builds show no M1 / M2 gap (rates.APPLE_SERIAL_PROMPT_SHARE): the May 2024 prompt constants they
    # inherit are those fitted with every chip at its listed rate, per FLOP over both generations
    pre_even = linear_forms(_with_old_prompt_gain(prepared, 1.0), overlap=rho)[1]
    th_even = solve(pre_even, pre_t)
    # a constant no row's form holds is not solved for (_era): the pre-June-2024 builds ran quantized prompts
    # through cuBLAS on tensor-core chips (speedwork.DeviceWork.cublas_era_prompts), so no 2024 row holds an
    # a_fq term, and an era class's missing constant is its class's (speedclass.parse_speed_params)
    theta |= th
    theta["global:pipe_overlap"] = rho
    # the CPU class from the 2025-2026 CPU-only llama.cpp rows (robust: community submissions)
    cdec, cdec_t, cpre, cpre_t, cpu_devices = modern_forms("cpu")
    # every CPU row starts from an empty cache, so they cannot tell the KV read's efficiency from the weights':
    # the KV cache is read like the weights (both stream from RAM), so a_kv is held at a_w's value
    cpu_w = robust_solve(cdec, cdec_t)
    cpu_theta = robust_solve(cdec, cdec_t, fixed={"cpu:a_kv": cpu_w["cpu:a_w"]}) | robust_solve(cpre, cpre_t)
    rel = " / ".join(f"{cpu_theta.get(f'cpu:a_fq_{f}', 0) / cpu_theta['cpu:a_fq']:.2f}" for f in PROMPT_FAMILIES)
    print(f"cpu              pp by weight type: leave-one-model-out median "
          f"{held_out_by_model(cpre, cpre_t, cpu_theta):.1f} % (a_fq_lo / q8 / q4 over a_fq: {rel})")
    cpu_theta["cpu:a_xt"], xt_line = fit_cpu_moe_prompts(cpre, cpre_t, cpu_theta)
    print(xt_line)
    cpu_theta["cpu:a_bd"], bd_lines = fit_batched("cpu", {k: v for k, v in cpu_theta.items() if k.startswith("cpu:")})
    for line in bd_lines:
        print(line)
    cpu_bands = {}
    for name, forms, meas in (("tg", cdec, cdec_t), ("pp", cpre, cpre_t)):
        ratios = [sum(v * cpu_theta[k] for k, v in f.items()) / t for (_, f), t in zip(forms, meas, strict=True)]
        q = statistics.quantiles(ratios, n=10)
        # one CPU in the rows: the band is widened to at least +-40 % for other CPUs and thread counts
        cpu_bands[name] = (round(min(q[0], 0.6), 3), round(max(q[-1], 1.4), 3))
        record("2025-2026", "cpu", name, ratios, [])
        print(f"cpu              {name}: n={len(ratios):3d} median ratio {statistics.median(ratios):.3f} "
              f"p10 {q[0]:.3f} p90 {q[-1]:.3f} (devices: {', '.join(sorted(cpu_devices))})")
    # current CUDA builds' decode from the 2025-2026 CUDA rows; the 2024 rows keep theirs as cuda@2024-05
    cuda_dec, cuda_tg_band, cuda_lines = fit_cuda_decode(cpu_theta)
    theta |= cuda_dec
    # and their prompts (the May 2024 builds' prompt constants are cuda@2024-05's, fitted above)
    cuda_pp, cuda_pp_band, cuda_lines_pp = fit_cuda_prompt(theta, cpu_theta)
    theta |= cuda_pp
    # current builds on the datacenter dies (no rows): the F16 GEMMs' constants and the activation traffic are the
    # May 2024 ones (the same cuBLAS path and intermediates), the quantized one datacenter_mmq's floor, the
    # conversion at its prior
    for k in ("a_ff", "a_sc", "a_ac"):
        theta[f"cuda-datacenter:{k}"] = theta[f"cuda-datacenter@2024-05:{k}"]
    theta["cuda-datacenter:a_fq"], line = datacenter_mmq(prepared, theta)
    cuda_lines_pp.append(line)
    for line in cuda_lines + cuda_lines_pp:
        print(line)
    # current Metal builds from the 2025-2026 Metal rows (llama.cpp and Ollama on M1 Max / M4 Pro / M5 Max);
    # prefill keeps the 2024 constants where the new rows are too few to fit them
    mdec, mdec_t, mpre, mpre_t, metal_devices = modern_forms("metal")
    # with the whole-request runs of llama.cpp on an M4 Pro (llmfit community: decode after a short prompt)
    rdec, rdec_t, rdev = request_forms("metal")
    mdec, mdec_t, metal_devices = mdec + rdec, mdec_t + rdec_t, metal_devices | rdev
    # ggml-metal's unpacking and per-expert costs from llama.cpp's and Ollama's rows together, then the rest
    # the base / Pro / Max chips keep the 2024 KV term: their decode rows start near an empty cache, and the Ultra's
    # attention rate (two dies' worth of FLOPs that one sequence's few heads do not fill) priced them 10-30 % fast
    attn = {"metal:a_kv": theta["metal@2024-05:a_kv"]}
    kernel = metal_kernel_constants(mdec, mdec_t, attn)
    ultra_theta, ultra_bands, ultra_lines = fit_metal_ultra(theta, kernel["metal:t_x"])
    theta |= ultra_theta
    for line in ultra_lines:
        print(line)
    metal_theta = robust_solve(mdec, mdec_t, fixed=attn | kernel)
    if len(mpre) >= 12:
        metal_theta |= robust_solve(mpre, mpre_t)
    else:
        metal_theta |= {f"metal:{k}": th_even.get(f"metal@2024-05:{k}", FIXED.get(f"metal:{k}", 0.0))
                        for k in PREFILL_KEYS}
        quantized = [i for i, (_, f) in enumerate(mpre) if f.get("metal:a_fq")]
        if len(quantized) >= 4:
            # current builds' quantized prompt kernels from the 2025-2026 prompt rows with quantized weights
            # (the May 2024 rate made them 26-51 % slow); F16 prompts and the rest keep the 2024 constants
            # three of the rows are MoE models: a_fq and their experts' fixed cost a_xt fitted together (no
            # linear form holds a_xt), the other prompt constants at the 2024 fit's; the recurrent scan is not
            # fitted here (three of the five rows are hybrid models, too few to tell it from the matmuls)
            # the matmuls' activation traffic at the CUDA fit's constant (speed.ACTIVATION_CLASSES)
            qrows = [(mpre[i][0], mpre_t[i]) for i in quantized]
            metal_theta["metal:a_ac"] = theta["cuda:a_ac"]
            held = with_constants(load_speed_params(), "metal", a_ss=0.0, a_ac=theta["cuda:a_ac"],
                                  **{k: metal_theta[f"metal:{k}"] for k in PREFILL_KEYS if k != "a_fq"})
            got, e0, e1 = fit_prompt_constants("metal", qrows, held, {"a_fq": [0.02 * i for i in range(25, 101)],
                                                                     "a_xt": XT_GRID})
            metal_theta |= {f"metal:{k}": v for k, v in got.items()} | {"metal:a_ss": 0.0}
            moe = [row for row, _ in qrows if PP_RUNS[row].works[0].expert_ratio < 1]
            print(f"metal (2025-26)  pp: a_fq {metal_theta['metal:a_fq']:.3f} from {len(quantized)} quantized prompt "
                  f"rows (May 2024 builds: {theta.get('metal@2024-05:a_fq', 0.0):.3f}), MoE a_xt "
                  f"{metal_theta['metal:a_xt']:.1f} ({len(moe)} of them MoE; median error {e0:.1f} -> {e1:.1f} %)")
            # the same two constants fitted without each chip's rows, that chip's rows predicted with them
            grids = {"a_fq": [0.02 * i for i in range(25, 101)], "a_xt": XT_GRID}
            fitted = with_constants(held, "metal", **got)
            ins = [PP_RUNS[row].seconds(fitted) / t for row, t in qrows]
            loo = prompt_held_out("metal", qrows, held, grids)
            record("2025-2026", "metal (quantized)", "pp", ins, loo)
            print(f"metal (2025-26)  pp quantized: median error in-sample {_err(ins):.1f} %, leave-one-device-out "
                  f"{_err(loo) if len(loo) >= 2 else NAN:.1f} %")
    # leave-one-device-out on the modern Metal decode rows (three chips): each chip predicted by constants fitted
    # on the other two; the band is the wider of that and the in-sample one
    loo_metal: list[float] = []
    for held in sorted(metal_devices):
        keep = [(i, rf) for i, rf in enumerate(mdec) if getattr(rf[0], "device", "") != held]
        if len(keep) < 8:
            continue
        kernel_h = metal_kernel_constants(mdec, mdec_t, attn, without=held)
        th_h = robust_solve([rf for _, rf in keep], [mdec_t[i] for i, _ in keep], fixed=attn | kernel_h)
        loo_metal += [sum(v * th_h.get(k, 0.0) for k, v in f.items()) / t
                      for (row, f), t in zip(mdec, mdec_t, strict=True) if getattr(row, "device", "") == held]
    if len(loo_metal) >= 2:
        lq = statistics.quantiles(loo_metal, n=10)
        print(f"metal (2025-26)  tg leave-one-device-out: n={len(loo_metal):3d} median error "
              f"{100 * statistics.median(abs(x - 1) for x in loo_metal):.1f} % (p10 {lq[0]:.3f} p90 {lq[-1]:.3f})")
    metal_bands = {}
    for name, forms, meas in (("tg", mdec, mdec_t), ("pp", mpre, mpre_t) if len(mpre) >= 12 else ("pp", [], [])):
        ratios = [sum(v * metal_theta.get(k, 0.0) for k, v in f.items()) / t
                  for (_, f), t in zip(forms, meas, strict=True)]
        if len(ratios) >= 2:
            q = statistics.quantiles(ratios, n=10)
            lo, hi = (min(q[0], lq[0]), max(q[-1], lq[-1])) if name == "tg" and len(loo_metal) >= 2 else (q[0], q[-1])
            metal_bands[name] = (round(min(lo, 0.7), 3), round(max(hi, 1.3), 3))
            record("2025-2026", "metal", name, ratios, loo_metal if name == "tg" else [])
            print(f"metal (2025-26)  {name}: n={len(ratios):3d} median ratio {statistics.median(ratios):.3f} "
                  f"p10 {q[0]:.3f} p90 {q[-1]:.3f} (devices: {', '.join(sorted(metal_devices))})")
    # vLLM on CUDA from its 2025-2026 rows (all on an RTX 5090): CUDA graphs take most of llama.cpp's
    # per-layer cost away, so t_layer is fitted; a_w is held at llama.cpp's (its GPTQ / AWQ Marlin rows read
    # their bytes at that rate) and the NVFP4 rows' FP4 kernels get their own extra cost per byte (a_w4,
    # speed.FP4_KERNEL_CLASSES).  Decode only: its prefill rows are request-level timings of short prompts
    vdec, vdec_t, _, _, vllm_devices = modern_forms("vllm-cuda", engines=("vllm",))
    vllm_theta = robust_solve(vdec, vdec_t, fixed={"vllm-cuda:a_kv": theta["cuda:a_kv"],
                                                   "vllm-cuda:a_dq": theta["cuda:a_dq"],
                                                   "vllm-cuda:a_at": theta.get("cuda:a_at", 0.0),
                                                   "vllm-cuda:a_w": theta["cuda:a_w"]})
    # its prompt GEMMs run on FP16 tensor cores (Marlin and the other weight-only kernels unpack in the GEMM): the
    # May 2024 llama.cpp constants, fitted when llama.cpp too ran prompts through FP16 GEMMs, stand in
    vllm_theta |= {f"vllm-cuda:{k}": theta.get(f"cuda@2024-05:{k}", FIXED.get(f"cuda:{k}", 0.0))
                   for k in PREFILL_KEYS}
    # each weight format's GEMMs run at their own tensor rate (engines.vllm.VLLM.prompt_rates_tflops: FP16 for
    # the weight-only formats, FP8 / INT8 / FP4 for W8A8 and W4A4), so the quantized ones take the 16-bit GEMMs'
    # efficiency, not ggml's MMQ's
    vllm_theta["vllm-cuda:a_fq"] = vllm_theta["vllm-cuda:a_ff"]
    vllm_bands = one_device_decode_band("vllm-cuda", vdec, vdec_t, vllm_theta, vllm_devices)
    theta |= {k: v for k, v in vllm_theta.items() if k.startswith("vllm-cuda:")}
    # MLX (mlx-lm) on Apple GPUs: decode from its 2025-2026 runs and the published ones (fit_mlx_decode); prefill
    # keeps Metal's constants but the quantized-matmul rate, fitted on mlx_lm's prompt rows below
    mlx_theta, mlx_bands, xpre, xpre_t = fit_mlx_decode()
    mlx_theta |= {f"mlx-metal:{k}": metal_theta.get(f"metal:{k}", 0.0) for k in PREFILL_KEYS}
    if len(xpre) >= 3:  # the quantized-matmul rate from mlx_lm's prompt rows; the other prefill terms at Metal's
        mlx_theta |= robust_solve(xpre, xpre_t, fixed={k: v for k, v in mlx_theta.items()
                                                        if k.split(":")[1] in PREFILL_KEYS and k != "mlx-metal:a_fq"}
                                  | {"mlx-metal:a_ss": 0.0, "mlx-metal:a_xt": 0.0})
        print(f"mlx-metal        pp: a_fq {mlx_theta['mlx-metal:a_fq']:.3f} from {len(xpre)} mlx_lm prompt rows "
              f"(Metal's llama.cpp constant: {metal_theta.get('metal:a_fq', 0.0):.3f})")
    theta |= {k: v for k, v in mlx_theta.items() if k.startswith("mlx-metal:")}
    # the M5 generation's matrix units: prompt classes of their own (fit_apple_matrix)
    na_theta, na_bands, na_lines = fit_apple_matrix(theta | metal_theta, [(row, t) for (row, _), t
                                                                            in zip(xpre, xpre_t, strict=True)])
    theta |= na_theta
    for line in na_lines:
        print(line)
    # AMD APUs (the Strix Halo's published runs): first, since the discrete cards take their decode attention terms
    apu_bands: dict[str, dict[str, tuple[float, float]]] = {}
    for be in ("rocm", "vulkan"):
        th_apu, b_apu, l_apu = fit_apu(be)
        theta |= th_apu
        apu_bands[f"{be}-apu"] = b_apu
        for line in l_apu:
            print(line)
    # llama.cpp on discrete Radeons (ROCm): the llmfit community's whole requests on an RX 7900 XT (July-August
    # 2026, where the prior decoded 22-33 % slow) and llama.cpp PR #26284's RX 7900 XTX llama-bench rows (fit_rocm)
    rocm_theta, rocm_bands, rocm_lines = fit_rocm(theta["cuda:a_ac"], theta["rocm-apu:a_kv"], theta["rocm-apu:a_at"])
    theta |= rocm_theta
    for line in rocm_lines:
        print(line)
    # llama.cpp on Pascal cards (no tensor cores) from the published runs of benchmarks/data/cuda_current.csv
    legacy_theta, legacy_bands, legacy_lines = fit_cuda_legacy()
    theta |= legacy_theta
    for line in legacy_lines:
        print(line)
    ollama_theta, ollama_bands = fit_ollama_metal(
        metal_theta, lambda d: metal_kernel_constants(mdec, mdec_t, attn, without=d))
    theta |= ollama_theta
    # discrete cards on Vulkan: decode fitted on published llama-bench rows, prompts at the prior carried over
    # from ROCm and the Strix Halo's Vulkan / ROCm ratio (vulkan_prior)
    vk_theta, vk_bands, vk_lines = fit_vulkan(vulkan_prior(theta))
    theta |= vk_theta
    apu_bands["vulkan"] = vk_bands
    for line in vk_lines:
        print(line)
    # flash attention's prompt FLOPs on AMD GPUs (ROCm, Vulkan) and NVIDIA's under Vulkan: one a_fa, fitted on the
    # slowdown of prompts after a filled cache (fit_alu_attention)
    a_fa, fa_lines = fit_alu_attention(theta)
    theta |= {f"{c}:a_fa": a_fa for c in ALU_ATTENTION_FIT}
    for line in fa_lines:
        print(line)
    # Jetson Orin's iGPU: the CUDA constants with its own decode a_w and t_layer and prompts' a_fq (fit_orin)
    if JETSON.exists():
        orin_theta, apu_bands["cuda-orin"], orin_lines = fit_orin(theta)
        theta |= orin_theta
        for line in orin_lines:
            print(line)
    theta = {k: v for k, v in theta.items() if not k.startswith("metal:")} | \
        {k: v for k, v in metal_theta.items() if k.startswith("metal:")}  # not the globals the rows cannot see
    # llamafile's classes from its LocalScore runs, the llama.cpp classes' constants (fitted, else the priors)
    # where they are not fitted
    lf_theta, lf_bands, lf_lines = fit_llamafile(
        {f"{c}:{k}": v for c, pri in PRIORS.items() for k, v in pri.items()} | theta | cpu_theta)
    theta |= lf_theta
    for line in lf_lines:
        print(line)
    classes = sorted({k.split(":")[0] for k in theta if not k.startswith("global")})
    for c, b in na_bands.items():  # decode at the family's band
        na_bands[c] = {"tg": {"metal-na": metal_bands, "mlx-metal-na": mlx_bands}[c].get("tg", (0.6, 1.4)), **b}
    bands: dict[str, dict[str, tuple[float, float]]] = {"metal": metal_bands, "metal-ultra": ultra_bands,
                                                        "vllm-cuda": vllm_bands,
                                                        "mlx-metal": mlx_bands, "ollama-metal": ollama_bands,
                                                        **na_bands,
                                                        **({"rocm": rocm_bands} if rocm_bands else {}),
                                                        "cuda-legacy": legacy_bands,
                                                        **apu_bands, **lf_bands}
    pp_2024 = [t_pred / t_meas for (row, f), t_meas in zip(pre_even, pre_t, strict=True)
               for t_pred in [sum(v * th_even[k] for k, v in f.items())] if all(k.startswith("metal@") for k in f)]
    if "pp" not in metal_bands and len(pp_2024) >= 2:  # prefill constants carried over (th_even): so is their band
        q = statistics.quantiles(pp_2024, n=10)
        metal_bands["pp"] = (round(q[0], 3), round(q[-1], 3))
    # bands from leave-one-device-out: each device's rows predicted by constants fitted without it, so a
    # band speaks for hardware the fit has not seen (never narrower than the in-sample one)
    loo = {"tg": loo_ratios(dec, dec_t, theta, _solve_decode),
           "pp": loo_ratios(pre, pre_t, theta, solve)}
    bands.setdefault("cuda", {})["tg"] = cuda_tg_band
    bands["cuda"]["pp"] = cuda_pp_band
    for name, forms, meas in (("tg", dec, dec_t), ("pp", pre, pre_t)):
        for c in classes:
            ratios = [t_pred / t_meas for (row, f), t_meas in zip(forms, meas, strict=True)
                      for t_pred in [sum(v * theta[k] for k, v in f.items())]
                      if all(k.startswith((c + ":", "global")) for k in f)]
            if ratios and c not in ("metal", "metal-ultra", "vllm-cuda", "mlx-metal", "ollama-metal", "rocm-apu",
                                    "vulkan-apu", "rocm") and not (c == "cuda" and name == "pp"):
                q = statistics.quantiles(ratios, n=10)
                held = loo[name].get(c, [])
                ql = statistics.quantiles(held, n=10) if len(held) >= 2 else [min(q[0], 0.7), max(q[-1], 1.3)]
                # measured rate / predicted
                bands.setdefault(c, {})[name] = (round(min(q[0], ql[0]), 3), round(max(q[-1], ql[-1]), 3))
                err_in = statistics.median(abs(1 / r - 1) for r in ratios)
                err_loo = statistics.median(abs(1 / r - 1) for r in held) if held else float("nan")  # nan: one device
                record("2023-2024", c, name, ratios, held)
                print(f"{c:16s} {name}: n={len(ratios):3d} median ratio {statistics.median(ratios):.3f} "
                      f"p10 {q[0]:.3f} p90 {q[-1]:.3f} | median error in-sample {100 * err_in:.1f} % "
                      f"leave-one-device-out {100 * err_loo:.1f} % (band {ql[0]:.3f}-{ql[-1]:.3f})")
    # the datacenter class's current prompts carry its May 2024 rows' band (no current rows to hold out)
    bands.setdefault("cuda-datacenter", {})["pp"] = bands["cuda-datacenter@2024-05"]["pp"]
    lines = ["# Speed-model constants fitted by benchmarks/fit_speed.py on",
             f"# {CSV.name} ({len(rows)} rows: llama.cpp May 2024 and Dec 2023 builds, FA off, f16 KV).",
             "# a_* are 1/efficiency (a_w weights read, a_kv KV read, a_fq / a_ff FLOPs with quantized / F16 weights,",
             "# a_sc FA-off score traffic, a_dq decode's unpacking of quantized weights at the FP32 ALU rate, a_bd",
             "# batched decode's matmuls against the prompt's, a_ss a prompt's recurrent scan, a_xt a MoE",
             "# micro-batch's cost per touched expert in tokens' worth, a_x MoE prompt elements over bandwidth);",
             "# t_layer / t_ub seconds per layer per token / per layer per micro-batch.  Missing a_ss / a_xt: 0.",
             "# *_q10 / *_q90: 10th / 90th percentile of measured / predicted rate in the fit (the band).",
             "# Classes marked fitted = false are priors from engine-facts.md 3.1-3.2 (no rows to fit).",
             "# rocm-apu / vulkan-apu (AMD unified-memory APUs): benchmarks/data/strix_halo.csv (one Strix Halo).",
             "# rocm (discrete Radeons): decode and prompts from benchmarks/data/rocm_current.csv, rx7900xtx_rocm.csv",
             "# and the RX 7900 XT requests (fit_rocm; a_fq_mq the costly MMQ weight types, GPU_PROMPT_FAMILY).",
             "# cuda-legacy (no tensor cores: Pascal): decode a_w and prompts a_fq from the published runs of",
             "# benchmarks/data/cuda_current.csv (fit_cuda_legacy: Tesla P40, GTX 1080, GTX 1060).",
             "# cuda-orin (Jetson Orin's iGPU): the cuda constants with decode a_w, t_layer and prompts' a_fq fitted",
             "# on the cited runs of benchmarks/data/jetson_orin.csv (fit_orin; AGX Orin and Orin Nano Super).",
             "# vulkan (discrete cards): decode from benchmarks/data/vulkan_discrete.csv (fit_vulkan), prompts the",
             "# prior carried from ROCm by the Strix Halo's Vulkan / ROCm ratio (vulkan_prior).",
             "# a_fa of rocm, rocm-apu, vulkan, vulkan-apu: one constant for flash attention's prompt FLOPs at the",
             "# rate of the units its kernels run on (speedwork.DeviceWork.attention_tflops), fitted on the slowdown",
             "# of prompts after a filled cache (fit_alu_attention: benchmarks/data/amd_depth.csv, vulkan_depth.csv).",
             "# llamafile-*: llamafile 0.9's LocalScore runs in throughput_modern.csv (fit_llamafile).",
             "# cuda decode and t_hop: current builds, throughput_modern.csv (fit_cuda_decode); cuda@2024-05 and",
             "# t_hop@2024-05: the May 2024 builds' decode.  cuda prompts: current builds from throughput_modern.csv",
             "# (fit_cuda_prompt: a_fq, a_ac activation traffic, a_ss, a_fa flash attention, a_fx / a_xt MoE experts);",
             "# cuda@2024-05's prompt constants are the May 2024 builds'.  Global a_pcie: 1 / the share of a GPU's",
             "# PCIe link that weights kept in RAM reach when a prompt micro-batch copies them over (fit_stream).",
             "# Global moe_prompt_units: the SMs a MoE prompt's routed-expert matmuls fill in current CUDA builds",
             "# (fit_moe_units on the published MoE prompts of benchmarks/data/cuda_current.csv and cuda_more.csv).",
             "# mlx-metal decode: throughput_modern.csv's mlx_lm rows, benchmarks/data/mlx_macs.csv (fit_mlx_decode).",
             "# ollama-metal decode: the metal class's decode constants times one factor fitted on Ollama's Apple",
             "# runs in throughput_modern.csv (fit_ollama_metal); its prompts are Metal's.",
             "# metal-ultra: current builds' decode from benchmarks/data/metal_current.csv (fit_metal_ultra: a_at the",
             "# attention arithmetic, t_x Metal's per-expert cost); metal-ultra@2024-05: the May 2024 Ultra rows.",
             'source = "benchmarks/fit_speed.py on calibration/throughput_llamacpp.csv"', "", "[globals]"]
    for k in sorted(theta):
        if k.startswith("global:"):
            name = k.split(":")[1]
            note = "  # prior: a hand-off between devices, tens of us (fit_cuda_decode)" if name == "t_hop" else ""
            lines.append(f"{json.dumps(name) if '@' in name else name} = {theta[k]:.6g}{note}")
    lines += ["t_allreduce_nvlink = 1e-05  # prior: a few us per small all-reduce over NVLink (engine-facts 3.3)",
              "t_allreduce_pcie = 3e-05  # prior: tens of us over PCIe"]
    for c in classes:
        lines += ["", f'[classes."{c}"]', "fitted = true"]
        for k in (PREFILL_KEYS if c.endswith("@2023-12") else (*DECODE_KEYS, "a_dq", *PREFILL_KEYS)):
            if "@" in c and f"{c}:{k}" not in theta and f"{c}:{k}" not in FIXED:
                continue  # not the era's rows' to set: the class's stands in (speedclass.parse_speed_params)
            lines.append(f"{k} = {theta.get(f'{c}:{k}', FIXED.get(f'{c}:{k}', 0.0)):.6g}")
        if f"{c}:a_cv" in theta:
            lines.append(f"a_cv = {theta[f'{c}:a_cv']:.6g}  # F16 conversion for cuBLAS prompts (speed.prefill_terms)")
        for k in ("a_ss", "a_xt"):
            if f"{c}:{k}" in theta:
                lines.append(f"{k} = {theta[f'{c}:{k}']:.6g}")
        for fam in PROMPT_FAMILIES:
            if f"{c}:a_fq_{fam}" in theta:
                lines.append(f"a_fq_{fam} = {theta[f'{c}:a_fq_{fam}']:.6g}  # the {fam} weight types' prompt kernels "
                             "(speed.prefill_terms)")
        for k, what in (("a_at", "decode's attention FLOPs"), ("t_x", "decode's cost per routed-expert matmul"),
                        ("a_w4", "an FP4 weight byte's extra cost")):
            if theta.get(f"{c}:{k}") and (k != "a_at" or c in DECODE_ATTENTION_CLASSES):  # priced (decode_terms)
                lines.append(f"{k} = {theta[f'{c}:{k}']:.6g}  # {what} (speed.decode_terms)")
        for k, what in (("a_fa", "flash attention's FLOPs"), ("a_ac", "the matmuls' activation traffic"),
                        ("a_fx", "a MoE's routed experts' FLOPs"), ("a_rd", "each micro-batch's weight read")):
            if f"{c}:{k}" in theta:
                lines.append(f"{k} = {theta[f'{c}:{k}']:.6g}  # {what} (speed.prefill_terms)")
        if f"{c}:a_x" in theta:
            lines.append(f"a_x = {theta[f'{c}:a_x']:.6g}  # MoE prompt micro-batch work "
                         "(microbatch.moe_ubatch_elements)")
        for m, (lo, hi) in bands.get(c, {}).items():
            lines += [f"{m}_q10 = {lo:.3f}", f"{m}_q90 = {hi:.3f}"]
        if c in PROMPT_PRIOR_CLASSES:
            lines.append("pp_prior = true  # decode fitted, prompt constants priors (fit_rocm, fit_vulkan)")
    lines += ["", "[classes.cpu]  # throughput_modern.csv CPU-only llama.cpp rows: " + ", ".join(sorted(cpu_devices)),
              "fitted = true"]
    lines += [f"{k} = {cpu_theta.get(f'cpu:{k}', 0.0):.6g}" for k in (*DECODE_KEYS, "a_dq", *PREFILL_KEYS)]
    for fam in PROMPT_FAMILIES:
        if f"cpu:a_fq_{fam}" in cpu_theta:
            lines.append(f"a_fq_{fam} = {cpu_theta[f'cpu:a_fq_{fam}']:.6g}  # the {fam} weight types' prompt kernels "
                         "(speed.prefill_terms)")
    lines.append(f"a_ss = {cpu_theta.get('cpu:a_ss', 0.0):.6g}  # a prompt's recurrent scan (speed.prefill_terms)")
    if "cpu:a_xt" in cpu_theta:
        lines.append(f"a_xt = {cpu_theta['cpu:a_xt']:.6g}  # a MoE micro-batch's touched experts (speed.prefill_terms)")
    lines.append(f"a_bd = {cpu_theta['cpu:a_bd']:.4g}  # batched decode matmuls vs prefill (fit_batched)")
    for m, (lo, hi) in cpu_bands.items():
        lines += [f"{m}_q10 = {lo:.3f}", f"{m}_q90 = {hi:.3f}"]
    for c, pri in PRIORS.items():
        if c in classes:
            continue  # fitted on rows after all (rocm's decode)
        lines += ["", f"[classes.{c}]", "fitted = false"]
        lines += [f"{k} = {v:.6g}" for k, v in pri.items()]
    for k in sorted(theta):
        print(f"  {k:24s} {theta[k]:.5g}")
    if "--check" not in argv:
        OUT.write_text("\n".join(lines) + "\n")
        print(f"wrote {OUT}")
        from rigfit.catalogdata import compile_all

        compile_all(OUT.parent)  # the compiled copy the package loads (rigfit/catalogdata.py)
    return 0


POWER_GRID = (None, 1.0, 1.1, 1.2, 1.3, 1.45, 1.6)  # W per SM per GHz for the Ada dies; None: no power limit


def power_grid() -> int:
    """The May 2024 / Dec 2023 prompt rows' in-sample median error, refitted at each Ada figure of
    rates.TENSOR_W_PER_SM_GHZ (the pipeline overlap held at the file's): the figure the catalog carries is the
    grid's best."""
    from rigfit.hardware import rates

    rows = [r for r in load_rows() if not r.caution and r.metric == "pp"]
    saved = dict(rates.TENSOR_W_PER_SM_GHZ)
    errs = {}
    try:
        for w in POWER_GRID:
            rates.TENSOR_W_PER_SM_GHZ.pop("AD10", None)
            if w is not None:
                rates.TENSOR_W_PER_SM_GHZ["AD10"] = w
            _, pre = linear_forms(prepare(rows), overlap=load_speed_params().globals_.get("pipe_overlap", 1.0))
            times = [r.prompt / r.measured for r, _ in pre]
            theta = solve(pre, times)
            errs[w] = _err([_dot(f, theta) / t for (_, f), t in zip(pre, times, strict=True)])
            print(f"Ada W per SM-GHz {'none' if w is None else w}: 2023-2024 prompts {errs[w]:.1f} % in-sample")
    finally:
        rates.TENSOR_W_PER_SM_GHZ.clear()
        rates.TENSOR_W_PER_SM_GHZ.update(saved)
    best = min(errs, key=lambda k: errs[k])
    print(f"best: {best}; the catalog's: {saved.get('AD10')}")
    return 0 if best == saved.get("AD10") else 1


def to_fixed_point(argv: list[str], passes: int = 5) -> int:
    """``main`` until the file it writes stops changing: the whole-request rows (request_forms) subtract a first
    token priced with the constants in the file, so one pass is not enough when those constants move."""
    from rigfit.speedclass import load_speed_params

    for _ in range(passes):
        before = OUT.read_text()
        rc = main(argv)
        if rc or "--check" in argv or OUT.read_text() == before:
            return rc
        load_speed_params.cache_clear()  # the next pass prices with what was just written
    print(f"the constants still moved after {passes} passes", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(power_grid() if "--power-grid" in sys.argv[1:] else to_fixed_point(sys.argv[1:]))
