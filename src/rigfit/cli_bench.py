"""Measuring commands: ``bench`` (time a model on this machine's engine, next to rigfit's prediction) and
``calibrate`` (fit this machine's corrections from measured runs); registered on the main group by ``cli``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from .cli_io import emit_json
from .errors import InvalidInput

MAX_RUN_FILE_BYTES = 32 << 20


def _this_machine(for_hardware: tuple[str, ...]) -> Any:
    from .api import resolve_hardware
    from .thismachine import this_machine

    if for_hardware:
        return resolve_hardware(for_hardware)
    from .hardware.detect import detect

    return this_machine(detect())[0]


def _pct(pred: float | None, meas: float | None) -> str:
    return f"{100 * (pred / meas - 1):+.0f} %" if pred and meas else "-"


def _rate(v: float | None) -> str:
    return f"{v:,.1f}" if v else "-"


@click.command()
@click.argument("model")
@click.option("--quant", "-q", "quants", multiple=True, help="Quant to measure (repeatable; default Q4_K_M for "
              "llama.cpp; the installed model's own for the other engines).")
@click.option("--engine", "-e", default="llama.cpp", show_default=True, help="llama.cpp, ollama, mlx or vllm.")
@click.option("--depth", "depths", type=int, multiple=True,
              help="Tokens already in the cache before timing (llama-bench -d; repeatable; default 0).")
@click.option("--prompt-tokens", type=int, default=512, show_default=True, help="Prompt length timed (prefill).")
@click.option("--gen-tokens", type=int, default=64, show_default=True, help="Tokens generated (decode).")
@click.option("--repeats", type=int, default=2, show_default=True, help="Runs per point; the best is kept.")
@click.option("--threads", type=int, help="CPU threads (default: all).")
@click.option("--layers", type=int, help="Measure copies of N and 2N layers and scale to the whole model "
              "(default: the whole model when it is small enough to write here).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Where to save the result bundle "
              "(default: the rigfit config folder, bench/).")
@click.option("--no-calibration", is_flag=True, default=False,
              help="Compare with the model's own prediction, not this machine's calibrated one.")
@click.option("--json", "as_json", is_flag=True, help="Print the bundle as JSON.")
def bench(model: str, quants: tuple[str, ...], engine: str, depths: tuple[int, ...], prompt_tokens: int,
          gen_tokens: int, repeats: int, threads: int | None, layers: int | None, out_path: str | None,
          no_calibration: bool, as_json: bool) -> None:
    """Measure MODEL's prefill, decode and time to first token on this machine and print them next to
    rigfit's prediction.  With llama.cpp no download is needed: rigfit writes a random-weight model with
    MODEL's real shapes, quantizes it with llama.cpp's quantizer and times it (llama-bench when on PATH,
    else llama-cpp-python: pip install 'rigfit[bench]').  With ollama, mlx or vllm, MODEL is a model
    already installed there.  The result is saved as a bundle that `rigfit calibrate` reads.

    \b
    Examples:
      rigfit bench Qwen2.5-1.5B-Instruct -q Q4_0 -q Q8_0 --depth 0 --depth 4096
      rigfit bench qwen3:8b --engine ollama
    """
    from .bench import (
        bench_llamacpp,
        bench_mlx,
        bench_ollama,
        bench_vllm,
        bundle,
        check_bench_args,
        merged,
    )
    from .calibrate import predict_run, resolve_run_model
    from .calibration import machine_key
    from .calstore import config_dir, user_calibration
    from .hardware.detect import detect, detected_dict
    from .models.resolve import resolve_model

    engine = engine.strip().lower()
    check_bench_args(engine, depths or (0,), prompt_tokens, gen_tokens, repeats)
    if threads is not None and not 1 <= threads <= 1024:
        raise InvalidInput(f"threads must be between 1 and 1024, got {threads}", options=("threads",))
    det = detect()
    from .thismachine import this_machine

    system = this_machine(det)[0]
    cal = user_calibration(no_calibration)
    show = (lambda msg: click.echo(f"rigfit bench: {msg}", err=True)) if sys.stderr.isatty() or not as_json \
        else (lambda msg: None)
    results = []
    if engine == "llama.cpp":
        spec = resolve_model(model)
        for q in quants or ("Q4_K_M",):
            results.append(bench_llamacpp(spec, q, prompt=prompt_tokens, gen=gen_tokens, depths=depths or (0,),
                                          threads=threads, repeats=repeats, layers=layers, progress=show))
    else:
        if layers is not None:
            raise InvalidInput("measuring a few layers and scaling is for llama.cpp's random-weight models",
                               options=("layers", "engine"))
        runner = {"ollama": bench_ollama, "mlx": bench_mlx, "vllm": bench_vllm}[engine]
        results.append(runner(model, prompt=prompt_tokens, gen=gen_tokens, repeats=repeats, progress=show))
    result = merged(results)
    runs = result.runs
    predicted: list[dict[str, Any]] = []
    lines: list[str] = []
    for run in runs:
        spec = resolve_run_model(run)
        sp0, qname, backend, why = predict_run(run, spec, system, None)
        sp = sp0
        if cal is not None and sp0 is not None:
            from .calibration import apply_correction

            corr = cal.find(machine_key(system), run.engine, backend)
            sp = apply_correction(sp0, corr) if corr else sp0
        pd = (sp.decode_after_prompt_tokens_per_s if run.prompt_tokens else sp.decode_tokens_per_s) if sp else None
        pp = sp.prefill_tokens_per_s if sp else None
        ttft_m = run.ttft_s or (run.prompt_tokens / run.prefill_tokens_per_s
                                if run.prefill_tokens_per_s and run.prompt_tokens else None)
        ttft_p = sp.time_to_first_token_s if sp else None
        predicted.append({"quant": qname, "depth_tokens": run.depth_tokens, "backend": backend,
                          "prefill_tokens_per_s": pp, "decode_tokens_per_s": pd, "time_to_first_token_s": ttft_p,
                          "calibrated_runs": sp.calibrated_runs if sp else 0, "unknown": why or None})
        lines += [f"{qname} at depth {run.depth_tokens:,} ({backend})",
                  f"  prefill {_rate(run.prefill_tokens_per_s):>10} tok/s measured {_rate(pp):>10} predicted "
                  f"({_pct(pp, run.prefill_tokens_per_s)})",
                  f"  decode  {_rate(run.decode_tokens_per_s):>10} tok/s measured {_rate(pd):>10} predicted "
                  f"({_pct(pd, run.decode_tokens_per_s)})",
                  f"  TTFT    {f'{ttft_m:.2f}' if ttft_m else '-':>10} s     measured "
                  f"{f'{ttft_p:.2f}' if ttft_p else '-':>10} predicted "
                  f"({_pct(ttft_p, ttft_m)})"]
    hw = detected_dict(det)
    flags = {"prompt_tokens": prompt_tokens, "gen_tokens": gen_tokens, "depths": list(depths or (0,)),
             "repeats": repeats, "threads": threads, "layers": layers}
    doc = bundle(result, machine=machine_key(system), hardware=hw, engine=engine, model=model, quants=list(quants),
        predicted=predicted, flags=flags)
    if out_path:
        path = Path(out_path)
    else:
        stamp = doc["rigfit_bench"]["created"].replace(":", "").replace("-", "")
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in model)[:60]
        path = config_dir() / "bench" / f"{safe}-{stamp}.json"
    import json

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"cannot save the bundle to {path}: {e.strerror or e}", options=("out",)) from None
    if as_json:
        emit_json(doc)
        return
    b = doc["rigfit_bench"]
    click.echo(f"{model} · {engine} · {b['runner']} · {b['mode']}")
    click.echo(f"on {b['machine']}")
    click.echo(f"prompt {prompt_tokens:,} tokens, {gen_tokens:,} generated, best of {repeats}")
    for line in lines:
        click.echo(line)
    if cal is not None and any(p["calibrated_runs"] for p in predicted):
        click.echo("predictions use this machine's calibration (--no-calibration for the model's own)")
    for n in b["notes"]:
        click.echo(f"note: {n}")
    click.echo(f"saved: {path}")
    click.echo("(rigfit calibrate with that file fits this machine's corrections)")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--model", "-m", help="The model the runs measured, for outputs that do not name it "
              "(mlx_lm, ollama run --verbose, llama-server timings).")
@click.option("--quant", "-q", help="Their quant, where the output does not say.")
@click.option("--for", "for_hardware", multiple=True,
              help="The machine the runs describe (a catalog name, repeatable), when not this one.")
@click.option("--show", is_flag=True, help="Print the stored calibration.")
@click.option("--reset", is_flag=True, help="Remove the stored calibration.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def calibrate(files: tuple[str, ...], model: str | None, quant: str | None, for_hardware: tuple[str, ...],
              show: bool, reset: bool, as_json: bool) -> None:
    """Fit this machine's speed corrections from measured runs and store them: every later prediction on
    this machine applies them and says so (--no-calibration turns that off).  FILES: llama-bench JSON,
    JSONL, CSV or Markdown; llama-server timings or /metrics; Ollama API JSON or `ollama run --verbose`
    text; mlx_lm --verbose output; `vllm bench serve` JSON; rigfit bench bundles.

    \b
    Examples:
      rigfit calibrate llama-bench.json
      rigfit calibrate ollama-verbose.txt --model qwen3:8b
      rigfit calibrate --show
    """
    from .calstore import calibration_path, read_calibration, reset_calibration, write_calibration

    if sum(map(bool, (files, show, reset))) != 1:
        raise InvalidInput("give run files, --show or --reset (one of them)")
    path = calibration_path()
    if reset:
        gone = reset_calibration()
        if as_json:
            emit_json({"path": str(path), "removed": gone})
        else:
            click.echo(f"removed {path}" if gone else f"no calibration stored ({path})")
        return
    existing = read_calibration()
    if show:
        if as_json:
            emit_json(_calibration_dict(existing, path))
            return
        if not existing.corrections:
            click.echo(f"no calibration stored ({path})")
            return
        click.echo(f"calibration: {path}")
        for c in existing.corrections:
            click.echo(_correction_line(c))
        return
    from .calibrate import calibrate_runs
    from .measured import parse_runs
    from .safeio import clean_text, read_regular_file

    runs = []
    formats: list[tuple[str, str, int]] = []
    for f in files:
        raw = read_regular_file(f, MAX_RUN_FILE_BYTES, "run file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{clean_text(f)}: not text; expected one of the run formats rigfit reads") from None
        fmt, got = parse_runs(text, clean_text(Path(f).name))
        formats.append((f, str(fmt), len(got)))
        runs += got
    system = _this_machine(for_hardware)
    rep = calibrate_runs(runs, system, existing=existing, model=model, quant=quant,
                         check_hardware=not for_hardware)
    write_calibration(rep.calibration, updated=date.today().isoformat())
    if as_json:
        doc = _calibration_dict(rep.calibration, path)
        doc["read"] = [{"file": f, "format": kind, "runs": n} for f, kind, n in formats]
        doc["machine"] = rep.machine
        doc["checks"] = [{"source": c.run.source, "model": c.model, "quant": c.quant, "backend": c.backend,
                          "depth_tokens": c.run.depth_tokens,
                          "measured_decode_tokens_per_s": c.run.decode_tokens_per_s,
                          "predicted_decode_tokens_per_s": c.predicted_decode_tokens_per_s,
                          "calibrated_decode_tokens_per_s": c.calibrated_decode_tokens_per_s,
                          "measured_prefill_tokens_per_s": c.run.prefill_tokens_per_s,
                          "predicted_prefill_tokens_per_s": c.predicted_prefill_tokens_per_s,
                          "calibrated_prefill_tokens_per_s": c.calibrated_prefill_tokens_per_s}
                         for c in rep.checks]
        doc["skipped"] = [{"source": s, "reason": why} for s, why in rep.skipped]
        emit_json(doc)
        return
    for f, kind, n in formats:
        click.echo(f"read {clean_text(f)}: {kind}, {n} run{'s' if n != 1 else ''}")
    last = None
    for chk in rep.checks:
        head = f"{chk.model} {chk.quant} ({chk.run.engine}, {chk.backend})"
        if head != last:
            click.echo(head)
            click.echo(f"  {'depth':>7s}  {'':7s} {'measured':>9s} {'predicted':>16s} {'calibrated':>16s}")
            last = head
        for what, m, p, k in (("decode", chk.run.decode_tokens_per_s, chk.predicted_decode_tokens_per_s,
                               chk.calibrated_decode_tokens_per_s),
                              ("prefill", chk.run.prefill_tokens_per_s, chk.predicted_prefill_tokens_per_s,
                               chk.calibrated_prefill_tokens_per_s)):
            if m and p:
                click.echo(f"  {chk.run.depth_tokens:>7,}  {what:7s} {m:9,.1f} {p:9,.1f} {_pct(p, m):>6s} "
                           f"{k or 0:9,.1f} {_pct(k, m):>6s}")
    for c in rep.corrections:
        click.echo(_correction_line(c))
    for s, why in rep.skipped:
        click.echo(f"skipped {s}: {why}")
    click.echo(f"saved: {path}")


def _correction_line(c: Any) -> str:
    parts = [f"{c.machine}", f"{c.engine} ({c.backend}): calibrated on {c.n_runs} runs"]
    if c.n_decode_runs:
        parts.append(f"decode x{1 / c.decode_scale:.2f} (per-layer cost x{c.layer_scale:.2f}), median error "
                     f"{c.decode_error_before_pct:.1f} % -> {c.decode_error_after_pct:.1f} %")
    if c.n_prefill_runs:
        parts.append(f"prefill x{1 / c.prefill_scale:.2f}, median error {c.prefill_error_before_pct:.1f} % -> "
                     f"{c.prefill_error_after_pct:.1f} %")
    return "\n  ".join(parts)


def _calibration_dict(cal: Any, path: Path) -> dict[str, Any]:
    from dataclasses import asdict

    return {"path": str(path), "corrections": [asdict(c) for c in cal.corrections],
            "runs": [{"machine": m} | r.to_dict() for m, r in cal.runs]}
