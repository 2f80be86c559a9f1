"""Calibrate a machine from measured runs: each run is predicted through the pipeline (``api.fit``, with the
run's own settings and no calibration), the pairs go to ``calibration.fit_correction`` per (machine, engine,
backend), and the result merges into the user's calibration.

A run names its model as its engine does (a GGUF file name, llama.cpp's "qwen2 7B Q4_K - Medium" with a
parameter count, an Ollama tag); one that resolves to no model rigfit knows is skipped with its reason.  A run
that names hardware other than the machine being calibrated is refused: calibration describes one machine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .api import fit
from .calibration import Calibration, CalPoint, Correction, apply_correction, fit_correction, machine_key
from .errors import InvalidInput, RigfitError
from .measured import MeasuredRun
from .models.spec import ModelSpec
from .request import DEFAULT_GEN_TOKENS, DEFAULT_PROMPT_TOKENS, make_request
from .speed import SpeedEstimate
from .system import System


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCheck:
    """One run with what rigfit predicted for it before and after calibration (None: that kind not measured)."""

    run: MeasuredRun
    model: str
    quant: str
    backend: str
    predicted_decode_tokens_per_s: float | None = None
    calibrated_decode_tokens_per_s: float | None = None
    predicted_prefill_tokens_per_s: float | None = None
    calibrated_prefill_tokens_per_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationReport:
    machine: str
    calibration: Calibration  # the whole file's content after this calibration
    corrections: tuple[Correction, ...]  # this machine's
    checks: tuple[RunCheck, ...]
    skipped: tuple[tuple[str, str], ...]  # (run source, why)


def _model_by_params(text: str, n_params: int) -> ModelSpec | None:
    """The catalog model of llama.cpp's architecture word ("qwen2 7B ...") whose published size is within 3 %
    of ``n_params`` (llama-bench's model_n_params)."""
    from .models.catalog import default_catalog

    arch = text.split(maxsplit=1)[0].lower() if text.split() else ""
    best: tuple[float, ModelSpec] | None = None
    for spec in default_catalog().models:
        if spec.arch != arch or not spec.params_total:
            continue
        err = abs(spec.params_total / n_params - 1)
        if err <= 0.03 and (best is None or err < best[0]):
            best = (err, spec)
    return best[1] if best else None


def resolve_run_model(run: MeasuredRun, model: str | None = None) -> ModelSpec:
    from .models.resolve import resolve_model

    name = model or run.model
    if name is None:
        raise InvalidInput(f"{run.source}: the output does not name its model; give the model",
                           options=("model",))
    try:
        return resolve_model(name)
    except RigfitError:
        if model is None and run.model_n_params and (spec := _model_by_params(name, run.model_n_params)):
            return spec
        raise


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def hardware_mismatch(run: MeasuredRun, system: System) -> str | None:
    """Why ``run`` was not measured on ``system`` (None: it was, or the run does not say)."""
    from .hardware.detect import match_catalog

    if not run.hardware:
        return None
    said = _norm(run.hardware)
    names = [sd.device.name for sd in system.accelerators]
    cpu = system.cpu_device
    if cpu is not None:
        names.append(cpu.name)
    for name in names:
        n = _norm(name)
        if n and (n in said or said in n):
            return None
    dev, _ = match_catalog(run.hardware, 0)
    if dev is not None and dev.name in names:
        return None
    return f"{run.source}: measured on {run.hardware!r}, not on {machine_key(system)!r}"


def predict_run(run: MeasuredRun, spec: ModelSpec, system: System, quant: str | None) -> tuple[
        SpeedEstimate | None, str, str, str]:
    from .engines import get_engine

    eng = get_engine(run.engine)
    kw: dict[str, object] = {}
    if "flash_attention" in eng.settings and run.flash_attention is not None:
        kw["flash_attention"] = run.flash_attention
    if "n_ubatch" in eng.settings and run.n_ubatch:
        kw["n_ubatch"] = run.n_ubatch
    if "n_batch" in eng.settings and run.n_batch:
        kw["n_batch"] = run.n_batch
    if run.kv_cache_type and run.kv_cache_type in eng.kv_types:
        kw["kv_cache_type"] = run.kv_cache_type
    if run.kv_cache_type_v and run.kv_cache_type_v in eng.kv_types and "kv_cache_type_v" in eng.settings:
        kw["kv_cache_type_v"] = run.kv_cache_type_v
    if run.backend and run.backend in eng.backends:
        kw["backend"] = run.backend
    unified = any(sd.device.unified for sd in system.accelerators)
    if (run.n_gpu_layers is not None and system.accelerators and not unified and eng.placement.gpu_layers
            and 0 <= run.n_gpu_layers <= spec.n_layers):  # -1 and 99 mean every layer
        kw["gpu_layers"] = run.n_gpu_layers
    if (run.n_cpu_moe and "n_cpu_moe" in eng.settings and spec.is_moe and system.accelerators and not unified
            and run.n_cpu_moe <= spec.n_layers):  # llama-bench -ncmoe / --n-cpu-moe: the split the run used
        kw["n_cpu_moe"] = run.n_cpu_moe
    prompt = run.prompt_tokens or DEFAULT_PROMPT_TOKENS
    gen = run.gen_tokens or DEFAULT_GEN_TOKENS
    req = make_request(spec, quant=quant or run.quant, engine=eng, system=system, headroom_bytes=0,
                       prompt_tokens=prompt, gen_tokens=gen, depth_tokens=run.depth_tokens,
                       context_tokens=max(run.depth_tokens + prompt + gen + 16, 512),
                       **kw)  # type: ignore[arg-type]
    r = fit(req)
    return r.speed, r.quant.name, str(r.memory.run.backend), r.speed_unknown


def _points(run: MeasuredRun, sp: SpeedEstimate) -> tuple[list[CalPoint], float | None, float | None]:
    """The run's calibration points and the predicted decode and prefill rates they compare with."""
    pts: list[CalPoint] = []
    pred_dec = pred_pre = None
    if run.decode_tokens_per_s:
        # a server's decode follows its prompt; llama-bench's tgN starts from the depth alone
        pred_dec = sp.decode_after_prompt_tokens_per_s if run.prompt_tokens else sp.decode_tokens_per_s
        pts.append(CalPoint(decode=True, measured_s=1 / run.decode_tokens_per_s, predicted_s=1 / pred_dec,
                            layer_s=min(sp.decode_layer_s, 1 / pred_dec)))
    if run.prefill_tokens_per_s and sp.prefill_tokens_per_s:
        pred_pre = sp.prefill_tokens_per_s
        pts.append(CalPoint(decode=False, measured_s=1 / run.prefill_tokens_per_s, predicted_s=1 / pred_pre))
    elif run.ttft_s and sp.time_to_first_token_s:
        pred_pre = sp.prompt_tokens / sp.time_to_first_token_s
        pts.append(CalPoint(decode=False, measured_s=run.ttft_s, predicted_s=sp.time_to_first_token_s))
    return pts, pred_dec, pred_pre


def calibrate_runs(runs: Sequence[MeasuredRun], system: System, *, existing: Calibration | None = None,
                   model: str | None = None, quant: str | None = None, check_hardware: bool = True
                   ) -> CalibrationReport:
    """Fit this machine's corrections on ``runs`` plus the runs already stored for it in ``existing``; the
    report holds the new file content.  ``model`` / ``quant`` name them for outputs that do not (mlx_lm,
    ``ollama run --verbose``, server timings).  ``check_hardware``: refuse runs that name other hardware."""
    existing = existing or Calibration()
    machine = machine_key(system)
    if check_hardware:
        bad = [m for r in runs if (m := hardware_mismatch(r, system))]
        if bad:
            raise InvalidInput(f"{bad[0]}{f' (and {len(bad) - 1} more runs)' if len(bad) > 1 else ''}; "
                               "say which machine the runs describe", options=("for_hardware",))
    stored = [r for m, r in existing.runs if m == machine]
    new = [replace(r, model=model or r.model, quant=quant or r.quant) for r in runs]
    seen = {tuple(sorted(r.to_dict().items())) for r in stored}
    # a file read twice adds its runs once
    all_runs = stored + [r for r in new if tuple(sorted(r.to_dict().items())) not in seen]
    # per (engine, backend): each run, its points, its estimate, model and quant names, predicted decode and prefill
    groups: dict[tuple[str, str], list[tuple[MeasuredRun, list[CalPoint], SpeedEstimate, str, str, float | None,
                                             float | None]]] = {}
    skipped: list[tuple[str, str]] = []
    for run in all_runs:
        try:
            spec = resolve_run_model(run)
            sp, qname, backend, why = predict_run(run, spec, system, None)
        except RigfitError as e:
            skipped.append((run.source, str(e)))
            continue
        if sp is None:
            skipped.append((run.source, why or "no speed estimate"))
            continue
        pts, pd, pp = _points(run, sp)
        if not pts:
            skipped.append((run.source, "no rate rigfit predicts (prefill, decode or time to first token)"))
            continue
        groups.setdefault((run.engine, backend), []).append((run, pts, sp, spec.name, qname, pd, pp))
    if not groups:
        why = f": {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise InvalidInput(f"no run could be matched to a prediction{why}", options=("model",))
    corrections = []
    checks = []
    for (engine, backend), items in groups.items():
        corr = fit_correction([p for item in items for p in item[1]], machine=machine, engine=engine,
                              backend=backend)
        corrections.append(corr)
        for run, _, sp, name, qname, pd, pp in items:
            _, cd, cp = _points(run, apply_correction(sp, corr))
            checks.append(RunCheck(run=run, model=name, quant=qname, backend=backend,
                                   predicted_decode_tokens_per_s=pd, calibrated_decode_tokens_per_s=cd,
                                   predicted_prefill_tokens_per_s=pp, calibrated_prefill_tokens_per_s=cp))
    keep_runs = {id(r) for r, *_ in (i for items in groups.values() for i in items)}
    cal = Calibration(
        corrections=tuple(c for c in existing.corrections if c.machine != machine) + tuple(corrections),
        runs=tuple((m, r) for m, r in existing.runs if m != machine) +
        tuple((machine, r) for r in all_runs if id(r) in keep_runs))
    return CalibrationReport(machine=machine, calibration=cal, corrections=tuple(corrections),
                             checks=tuple(checks), skipped=tuple(skipped))
