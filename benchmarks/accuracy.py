"""Predict every row of ../shared/calibration/memory_llamacpp.csv (or throughput_llamacpp.csv) and print
the error table.

    python benchmarks/accuracy.py [memory] [--csv PATH] [--rows]
    python benchmarks/accuracy.py speed [--rows]
    python benchmarks/accuracy.py modern [--rows]   # throughput_modern.csv (2025-2026), see modern_rows.py

Speed: every throughput row goes through ``rigfit.api.fit`` exactly as ``rigfit fit MODEL --hardware ...``
does (see speed_rows.py); pp is compared with ``speed.prefill_tokens_per_s`` and tg with
``speed.decode_tokens_per_s`` (after a prompt for the Dec 2023 ``main`` rows).  The naive roofline
(bandwidth / model bytes read per token) is shown for comparison.

Components: file_size (llama.cpp "model size" in GiB = tensor bytes; Hugging Face listings in GB =
whole file), kv_cache, weights (CUDA: on the GPU, token embeddings stay in RAM; Metal: the whole
model), compute_buffer and total (CUDA: model + KV + compute as the log counts them).  The calibration
logs come from Dec 2023 llama.cpp builds (b1619-b1691), so their compute buffers use that build's graph.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from calibration import calibration_file, missing_calibration
from rigfit import fit
from rigfit.engines.llamacpp import llamacpp_compute_bytes
from rigfit.memory import RunConfig, weight_bytes

GIB = 1024**3
DEFAULT_CSV = calibration_file("memory_llamacpp.csv")


def predict(row: dict[str, str]) -> float:
    comp, unit = row["component"], row["unit"]
    ctx = int(row["context"]) if row["context"].isdigit() else 512
    r = fit(row["model"], quant=row["quant"], context_tokens=ctx, flash_attention=False, n_batch=512,
            n_ubatch=512)
    scale = GIB if unit == "GiB" else 1e9
    m = r.memory
    if comp == "file_size":
        if unit == "GiB":  # llama.cpp loader: "model size" = sum of tensor bytes
            return sum(weight_bytes(r.spec, r.quant)[1]) / scale
        return m.model_file_bytes / scale
    if comp == "kv_cache":
        return m.kv_cache_bytes / scale
    metal = "Metal (Apple)" in row["notes"]
    weights = m.weights_bytes if metal else m.total("weights", "device")
    legacy = RunConfig(context_tokens=ctx, n_batch=512, n_ubatch=512, flash_attention=False)
    compute = llamacpp_compute_bytes(r.spec, legacy, build="2023-12")[0]
    if comp == "weights":
        return weights / scale
    if comp == "compute_buffer":
        return compute / scale
    if comp == "total":
        return (weights + m.kv_cache_bytes + compute) / scale
    raise ValueError(f"unknown component {comp!r}")


def summarize(errors: dict[str, list[float]]) -> list[str]:
    lines = [f"{'component':16s} {'n':>4s} {'median':>8s} {'p90':>8s} {'max':>8s}  (absolute % error)"]
    for comp, errs in errors.items():
        e = sorted(abs(x) for x in errs)
        p90 = e[min(len(e) - 1, round(0.9 * (len(e) - 1)))]
        lines.append(f"{comp:16s} {len(e):4d} {statistics.median(e):8.2f} {p90:8.2f} {e[-1]:8.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="rigfit memory accuracy against public llama.cpp measurements")
    ap.add_argument("what", nargs="?", default="memory", choices=["memory", "speed", "modern"])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--rows", action="store_true", help="print every row")
    a = ap.parse_args(argv)
    if a.what == "speed":
        return speed_table(a.rows)
    if a.what == "modern":
        return modern_table(a.rows)
    missing = missing_calibration(a.csv)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    errors: dict[str, list[float]] = {}
    with a.csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if a.rows:
        print(f"{'model':28s} {'quant':8s} {'component':15s} {'measured':>10s} {'predicted':>10s} {'err %':>7s}")
    for row in rows:
        measured = float(row["gib_or_gb"])
        pred = predict(row)
        err = 100 * (pred - measured) / measured
        key = row["component"] if row["component"] != "file_size" else f"file_size_{row['unit']}"
        errors.setdefault(key, []).append(err)
        if a.rows:
            print(f"{row['model'][:28]:28s} {row['quant']:8s} {row['component']:15s} {measured:10.4f} "
                  f"{pred:10.4f} {err:+7.2f}  {row['unit']}")
    print("\n".join(summarize(errors)))
    return 0


def _pct(errs: list[float]) -> tuple[float, float]:
    e = sorted(abs(x) for x in errs)
    return statistics.median(e), e[min(len(e) - 1, round(0.9 * (len(e) - 1)))]


def speed_table(show_rows: bool) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from speed_rows import CSV, fit_row, load_rows

    missing = missing_calibration(CSV)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    model: dict[tuple[str, str], list[float]] = {}
    naive: dict[tuple[str, str], list[float]] = {}
    for row in load_rows():
        r = fit_row(row)
        sp = r.speed
        assert sp is not None, r.speed_unknown
        if row.metric == "pp":
            pred = sp.prefill_tokens_per_s or 0.0
        elif row.start:
            assert sp.total_time_s is not None and sp.time_to_first_token_s is not None
            pred = row.gen / (sp.total_time_s - sp.time_to_first_token_s)
        else:
            pred = sp.decode_tokens_per_s
        err = 100 * (pred - row.measured) / row.measured
        for key in ((row.metric, "all"), (row.metric, row.hw_class)):
            model.setdefault(key, []).append(err)
            if row.metric == "tg":
                naive.setdefault(key, []).append(100 * (sp.roofline_tokens_per_s - row.measured) / row.measured)
        if show_rows:
            print(f"{row.hardware[:30]:30s} {row.n_gpus} {row.model[:18]:18s} {row.quant:7s} {row.metric}"
                  f"{row.prompt if row.metric == 'pp' else row.gen:<5d} {row.measured:9.2f} {pred:9.2f} {err:+7.1f}")
    print(f"{'metric':6s} {'class':18s} {'n':>4s} {'median':>7s} {'p90':>7s} {'roofline med':>13s} {'p90':>7s}"
          "  (absolute % error)")
    for key in sorted(model):
        med, p90 = _pct(model[key])
        nv = f"{_pct(naive[key])[0]:13.1f} {_pct(naive[key])[1]:7.1f}" if key in naive else f"{'-':>13s} {'-':>7s}"
        print(f"{key[0]:6s} {key[1]:18s} {len(model[key]):4d} {med:7.1f} {p90:7.1f} {nv}")
    held_out_table()
    return 0


def held_out_table() -> None:
    """Per fitted class: the rows it was fitted on, and the median error in-sample beside leave-one-device-out
    (each device predicted by constants fitted without its rows; "not held out" where a class has no other
    device to fit on, or too few rows of its second: the CPU class's four Core Ultra 7 155H rows)."""
    import contextlib
    import io
    import math

    import fit_speed

    with contextlib.redirect_stdout(io.StringIO()):
        fit_speed.main(["--check"])
    print("\n| rows | class | metric | n | in-sample median | leave-one-device-out median |")
    print("|---|---|---|---:|---:|---:|")
    for rows, cls, metric, n, err_in, err_loo in fit_speed.SUMMARY:
        held = "not held out" if math.isnan(err_loo) else f"{err_loo:.1f}"  # no other device to fit on
        print(f"| {rows} | {cls} | {metric} | {n} | {err_in:.1f} | {held} |")
    pooled_table(fit_speed.POOL)


# SUMMARY / POOL's names of the calibration files' rows (fit_speed.record)
CALIBRATION_SOURCES = ("2023-2024", "2025-2026")


def pooled_table(pool: list[tuple[str, str, list[float], list[float]]]) -> None:
    """The rows of every fitted class pooled, as issue 16's targets read (decode median <= 10 %, p90 <= 25 %;
    prefill median <= 15 %, p90 <= 35 %, leave-one-device-out): absolute % error in-sample over all of them, and
    leave-one-device-out over the rows of the classes that have another device to fit on."""
    print("\n| pooled rows | metric | n | in-sample median | p90 | n held out | leave-one-device-out median | p90 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    sources = tuple(dict.fromkeys(r for r, _, _, _ in pool))
    # the calibration files' own rows (throughput_llamacpp.csv, throughput_modern.csv), which the targets name:
    # without the public llama-bench runs gathered into benchmarks/data and the classes fitted on both
    calibration = tuple(r for r in sources if r in CALIBRATION_SOURCES)
    groups = [(r, (r,)) for r in sources] + [("calibration files", calibration),
                                             ("all but LocalScore", tuple(r for r in sources if r != "LocalScore")),
                                             ("all", sources)]
    for label, keep in groups:
        for metric in ("tg", "pp"):
            ins = [abs(1 / x - 1) * 100 for r, m, xs, _ in pool if r in keep and m == metric for x in xs]
            held = [abs(1 / x - 1) * 100 for r, m, _, hs in pool if r in keep and m == metric for x in hs]
            if not ins:
                continue
            med, p90 = _pct(ins)
            loo = "0 | - | -"
            if len(held) >= 2:
                hmed, hp90 = _pct(held)
                loo = f"{len(held)} | {hmed:.1f} | {hp90:.1f}"
            print(f"| {label} | {metric} | {len(ins)} | {med:.1f} | {p90:.1f} | {loo} |")



def _record(errs: dict[str, list[float]], key: str, r: Any, pred: float, tag: str, show_rows: bool) -> None:
    """One row's signed % error under ``key``, and its line with --rows."""
    errs.setdefault(key, []).append(100 * (pred / r.measured - 1))
    if show_rows:
        print(f"{r.engine:9s} {r.hardware[:16]:16s} {r.model[-32:]:32s} {r.quant:10s} {tag} "
              f"{r.measured:9.1f} {pred:9.1f} {100 * (pred / r.measured - 1):+7.1f}")


def _signed_table(title: str, errs: dict[str, list[float]]) -> None:
    """A Markdown table of absolute (median, p90) and signed (median) % errors per group."""
    print(f"\n| {title} | rows | median | p90 | median signed |\n|---|---:|---:|---:|---:|")
    for k in sorted(errs):
        med, p90 = _pct(errs[k])
        print(f"| {k} | {len(errs[k])} | {med:.1f} | {p90:.1f} | {statistics.median(errs[k]):+.1f} |")


def concurrent_table(show_rows: bool) -> None:
    """The throughput_modern.csv runs with several users at once (llama-server -np N): aggregate decode over all
    of them against ``speed.aggregate_decode_tokens_per_s``."""
    from modern_rows import fit_whole_run, load_modern_rows

    errs: dict[str, list[float]] = {}
    for r in load_modern_rows(concurrent=True):
        f = fit_whole_run(r) if r.metric == "tg" else None
        if f is None or f.speed is None:
            continue
        _record(errs, f"{r.engine} {f.speed.classes[0]}", r, f.speed.aggregate_decode_tokens_per_s,
                f"users={r.users:<3d}", show_rows)
    _signed_table("several users: aggregate decode", errs)


def request_table(show_rows: bool) -> None:
    """The llmfit community runs that time whole requests (modern_rows.load_request_rows): completion tokens
    over the wall time of one request against rigfit's time for the same request (first token, then the
    completion's decode steps)."""
    from modern_rows import fit_whole_run, load_request_rows

    errs: dict[str, list[float]] = {}
    for r in load_request_rows():
        f = fit_whole_run(r)
        if f is None or f.speed is None or not f.speed.total_time_s:
            continue
        _record(errs, f"{r.engine} {f.speed.classes[0]} {r.device}", r, r.gen / f.speed.total_time_s,
                f"req gen={r.gen:<4d}", show_rows)
    _signed_table("whole requests (llmfit community)", errs)


def localscore_table(show_rows: bool) -> None:
    """The LocalScore rows (llamafile 0.9): each a mean over LocalScore's nine tests, predicted as the mean of
    rigfit's nine plans (modern_rows.localscore_mean)."""
    from modern_rows import load_localscore_rows, localscore_mean, localscore_plans

    rows = load_localscore_rows()
    errs: dict[str, list[float]] = {}
    for r in rows:
        fits = localscore_plans(r)
        pred = localscore_mean(r, fits) if fits else None
        if pred is None:
            continue
        _record(errs, f"{r.metric} {fits[0].speed.classes[0]}", r, pred, "LocalScore", show_rows)
    n = sum(len(v) for v in errs.values())
    _signed_table(f"LocalScore means of 9 tests ({n} of {len(rows)} rows)", errs)


def _beats_peak_arithmetic(f: Any, r: Any) -> bool:
    """A prompt row timed at under half of 2 x active parameters x prompt tokens at the devices' summed peak dense
    rate (FP16, INT8 or FP8, the fastest): no engine computes a prompt twice as fast as its hardware's peak (the
    margin covers a chip configuration or parameter count a little off), so the engine reused a cached prefix
    (Ollama and llama-server keep the last prompt's KV cells) and the row times only the tail."""
    if f.system is None or not f.system.accelerators:
        return False
    # the fastest arithmetic each device has (quantized prompts run llama.cpp's MMQ on the INT8 tensor cores)
    peak = sum(max(sd.device.fp16_tflops or 0.0, sd.device.int8_tops or 0.0, sd.device.fp8_tflops or 0.0) * sd.count
               for sd in f.system.accelerators) * 1e12
    active = f.spec.params_active if f.spec.is_moe else f.spec.params_total  # a MoE without its count: no check
    if not peak or not active or not r.prompt:
        return False
    seconds = r.measured if r.metric == "ttft" else r.prompt / r.measured
    return seconds < 0.5 * 2.0 * active * r.prompt / peak


def _beats_bandwidth(f: Any, r: Any) -> bool:
    """A decode row faster than reading the plan's weights and cache once per token at the devices' full
    bandwidth (the roofline, no efficiency): not a plain decode of that model, quant and placement (a draft model
    or MTP the row does not declare, another file than the tag names)."""
    return f.speed is not None and r.measured > f.speed.roofline_tokens_per_s


def _score_rows(rows: Any, plan: Any, keys: Any, line: Any, show_rows: bool, groups: dict[Any, list[float]],
                after_prompt: bool = False) -> None:
    """Published runs against their plans: each row planned by ``plan`` (a row rigfit cannot plan is skipped), its
    predicted rate (the prompt's for a ppN row, else decode's: after the row's prompt with ``after_prompt``) against
    the measured one, the % error filed under each of ``keys(row, fit)`` and, with ``show_rows``, printed by
    ``line(row, predicted, error)``."""
    from rigfit.errors import RigfitError

    for r in rows:
        try:
            f = plan(r)
        except RigfitError:
            continue
        s = f.speed
        pred = None if s is None else s.prefill_tokens_per_s if r.metric == "pp" else (
            s.decode_after_prompt_tokens_per_s if after_prompt else s.decode_tokens_per_s)
        if not pred:
            continue
        err = 100 * (pred / r.measured - 1)
        for key in keys(r, f):
            groups.setdefault(key, []).append(err)
        if show_rows:
            print(line(r, pred, err))


def mlx_table(show_rows: bool) -> None:
    """The published mlx-lm runs of benchmarks/data/mlx_macs.csv (Macs other than the calibration's M4 Pro: M4 / M5
    Max, M1 Ultra and single rows of others; the base, Pro and Max chips' decode rows are fitted with the M4
    Pro's, fit_speed.fit_mlx_decode): the decode after the run's prompt (a short chat prompt where none is given)
    and the prompt rate, by metric, dense / MoE and chip."""
    from modern_rows import MLX_MACS, fit_mlx_row, load_mlx_rows

    if not MLX_MACS.exists():
        return
    groups: dict[str, list[float]] = {}
    _score_rows(load_mlx_rows(), fit_mlx_row,
                lambda r, f: (f"{r.metric} all", f"{r.metric} {'MoE' if f.spec.is_moe else 'dense'}",
                              f"{r.metric} {r.device}"),
                lambda r, pred, err: (f"mlx_macs  {r.device[:22]:22s} {r.model[-28:]:28s} {r.quant:9s} {r.metric} "
                                      f"p={r.prompt:<6d} {r.measured:9.1f} {pred:9.1f} {err:+7.1f}"),
                show_rows, groups, after_prompt=True)
    _signed_table("published mlx-lm runs (benchmarks/data/mlx_macs.csv)", groups)


def cpu_table(show_rows: bool) -> None:
    """The published CPU-only llama-bench runs of benchmarks/data/cpu_current.csv (CPUs the calibration's CPU rows do
    not hold), scored, not fitted: by metric, dense / MoE and CPU."""
    from modern_rows import CPU_BENCH, fit_cpu_row, load_cpu_rows

    if not CPU_BENCH.exists():
        return
    groups: dict[str, list[float]] = {}
    _score_rows(load_cpu_rows(), fit_cpu_row,
                lambda r, f: (f"{r.metric} {'MoE' if f.spec.is_moe else 'dense'}", f"{r.metric} {r.device}"),
                lambda r, pred, err: (f"cpu_bench {r.device[:22]:22s} {r.model[-28:]:28s} {r.quant:9s} {r.test:7s} "
                                      f"d={r.depth:<6d} {r.measured:9.1f} {pred:9.1f} {err:+7.1f}"),
                show_rows, groups)
    _signed_table("published CPU llama-bench runs (benchmarks/data/cpu_current.csv)", groups)


def published_table(show_rows: bool) -> None:
    """The published llama-bench runs of benchmarks/data (llama.cpp pull requests and issues on current builds:
    cards the calibration files do not hold), by file and metric (and card, with ``show_rows``); whole model on
    the card, as they ran."""
    from modern_rows import BENCH_FILES, fit_bench_row, load_bench_rows

    groups: dict[tuple[str, ...], list[float]] = {}
    for path, backend, card in BENCH_FILES:
        if not path.exists():
            continue
        stem = path.stem
        _score_rows(load_bench_rows(path, card), lambda r, b=backend: fit_bench_row(r, r.backend or b),
                    lambda r, f, p=stem: (((f"{p} {r.backend}" if r.backend else p), r.metric, "all cards"),
                                          ((f"{p} {r.backend}" if r.backend else p), r.metric, r.device))
                    [:1 + show_rows],
                    lambda r, pred, err, p=stem: (f"{p:16s} {r.device[:22]:22s} {r.model[-28:]:28s} {r.quant:10s} "
                                                  f"{r.test:8s} d={r.depth:<6d} {r.measured:9.1f} {pred:9.1f} "
                                                  f"{err:+7.1f}"),
                    show_rows, groups)
    print("\n| published llama-bench runs (benchmarks/data) | rows | median | p90 | median signed |")
    print("|---|---:|---:|---:|---:|")
    for k in sorted(groups, key=lambda k: (k[0], k[1], k[2] != "all cards", k[2])):
        med, p90 = _pct(groups[k])
        print(f"| {' '.join(k)} | {len(groups[k])} | {med:.1f} | {p90:.1f} | {statistics.median(groups[k]):+.1f} |")


def modern_table(show_rows: bool) -> int:
    """The 2025-2026 rows rigfit can score (modern_rows.py): each through ``rigfit.fit`` with the row's
    engine, backend, quant, prompt, answer, depth, flash attention, KV type, -ngl and --n-cpu-moe; errors by
    engine, metric and hardware class, by dense/MoE and placement, and by depth."""
    sys.path.insert(0, str(Path(__file__).parent))
    from modern_rows import CSV as MODERN_CSV
    from modern_rows import fit_single_run, load_modern_rows
    from rigfit.errors import RigfitError

    missing = missing_calibration(MODERN_CSV)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    rows = load_modern_rows() + load_modern_rows(metrics=("ttft_ms",))
    scored: list[tuple[object, float, str, str]] = []
    short = cached = beyond = 0
    for r in rows:
        if r.metric == "pp" and r.prompt < 128 and not r.bench:
            short += 1  # a server's "prefill rate" over a 5-80 token prompt is request latency (as fit_speed.py)
            continue
        if r.metric == "ttft" and r.prompt == 0:
            continue  # prompt length not recorded: nothing to time
        try:
            f = fit_single_run(r)
        except RigfitError:
            continue
        if r.metric in ("pp", "ttft") and _beats_peak_arithmetic(f, r):
            cached += 1
            continue
        if r.metric == "tg" and _beats_bandwidth(f, r):
            beyond += 1
            continue
        s = f.speed
        pred = ({"tg": s.decode_tokens_per_s, "pp": s.prefill_tokens_per_s,
                 "ttft": s.time_to_first_token_s}[r.metric]) if s else None
        if not pred:
            continue
        scored.append((r, pred, s.classes[0] if s and s.classes else "?",
                       str(f.placement.verdict) if f.placement else "?"))
        if show_rows:
            print(f"{r.engine:9s} {r.hardware[:16]:16s} {r.model[-32:]:32s} {r.quant:10s} {r.metric} d={r.depth:<6d} "
                  f"{r.measured:9.1f} {pred:9.1f} {100 * (pred / r.measured - 1):+7.1f}")
    print(f"scored {len(scored)} of {len(rows)} rows ({short} server prefill rows under 128 prompt tokens left out: "
          f"request latency, not a rate; {cached} prompt rows over twice as fast as the devices' peak arithmetic "
          f"allows: prompts the engine served from its cache; {beyond} decode rows faster than the devices' "
          "bandwidth allows for that model, quant and placement; the rest: models, quants or devices rigfit does not "
          "know, or options it does not plan)")

    def table(title: str, key: object) -> None:
        groups: dict[tuple[str, ...], list[float]] = {}
        for r, pred, cls, verdict in scored:
            groups.setdefault(key(r, cls, verdict), []).append(100 * (pred / r.measured - 1))  # type: ignore[operator]
        print(f"\n| {title} | rows | median | p90 | median signed |\n|---|---:|---:|---:|---:|")
        for k in sorted(groups):
            med, p90 = _pct(groups[k])
            print(f"| {' '.join(k)} | {len(groups[k])} | {med:.1f} | {p90:.1f} | {statistics.median(groups[k]):+.1f} |")

    table("engine metric class", lambda r, c, v: (r.engine, r.metric, c))
    localscore_table(show_rows)
    concurrent_table(show_rows)
    request_table(show_rows)
    published_table(show_rows)
    mlx_table(show_rows)
    cpu_table(show_rows)
    table("metric dense/MoE placement", lambda r, c, v: (r.metric, "MoE" if r.is_moe else "dense", v))
    table("metric depth", lambda r, c, v: (r.metric, "d=0" if r.depth == 0 else "d<=8k" if r.depth <= 8192 else "d>8k"))
    repeats_table(scored)
    return 0


# a run repeated with the same engine, machine, model, quant and settings whose measurements span more than this
# factor contradicts itself (community submissions: one submitter's RTX 3080 decoding a 14B Q4_K_M at 10, 14 and
# 74 tok/s): no model of the run can be right about all of them
REPEAT_SPREAD = 1.5


def repeats_table(scored: list[tuple[Any, float, str, str]]) -> None:
    """The modern table's errors by metric over every scored row, and over the rows left when runs repeated with
    identical settings that disagree among themselves by more than REPEAT_SPREAD are set aside."""
    def settings(r: Any) -> tuple[object, ...]:
        return (r.engine, r.backend, r.hardware, r.cpu, r.model, r.quant, r.metric, r.prompt, r.gen, r.depth,
                r.flash_attention, r.kv_type, r.gpu_layers, r.n_cpu_moe, r.users)

    groups: dict[tuple[object, ...], list[float]] = {}
    for r, _, _, _ in scored:
        groups.setdefault(settings(r), []).append(r.measured)
    torn = {k for k, v in groups.items() if max(v) > REPEAT_SPREAD * min(v)}
    print(f"\n| metric | rows | median | p90 | rows without self-contradicting repeats (over {REPEAT_SPREAD}x apart)"
          " | median | p90 |\n|---|---:|---:|---:|---:|---:|---:|")
    for metric in ("pp", "tg", "ttft"):
        every = [(r, pred) for r, pred, _, _ in scored if r.metric == metric]
        kept = [(r, pred) for r, pred in every if settings(r) not in torn]
        a, b = _pct([100 * (p / r.measured - 1) for r, p in every]), _pct([100 * (p / r.measured - 1) for r, p in kept])
        print(f"| {metric} | {len(every)} | {a[0]:.1f} | {a[1]:.1f} | {len(kept)} | {b[0]:.1f} | {b[1]:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
