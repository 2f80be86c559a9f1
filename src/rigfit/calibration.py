"""Per-machine calibration: corrections fitted on runs measured on one machine, applied to later predictions.

A ``Correction`` belongs to one machine (``machine_key`` of its System), engine and backend and scales three
parts of the speed model's time (``rigfit.speed``):

* the decode time that streams bytes (weights and KV cache): ``decode_scale``;
* the decode time that is a fixed cost per layer (kernel launches, norms: the fitted ``t_layer``): ``layer_scale``;
* the prefill time: ``prefill_scale``.

``fit_correction`` is a pure function of (measured, predicted) pairs.  Each kind's overall scale is the
geometric mean of measured / predicted time over its ``n`` runs, shrunk toward 1 as if ``PRIOR_RUNS`` runs had
matched (log s = sum log r / (n + PRIOR_RUNS)).  Decode then splits s between its two parts by ridge regression
of the measured time on them (relative error, so each run counts alike whatever its speed) with the weight of
one run holding each part at s: runs of one model shape cannot tell the parts apart and keep both at s, runs of
models with different layer counts and sizes move them apart.  The band after calibration is the spread of
the calibrated residuals, never under +-``MIN_BAND`` (run-to-run noise and the model's shape error on other
models), blended with the class's band by ``n / (n + BAND_PRIOR_RUNS)``: a few runs narrow it a little, many
runs a lot.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .errors import InvalidInput
from .lsq import lstsq
from .measured import MeasuredRun
from .system import System

if TYPE_CHECKING:  # the speed step hands its estimate down; calibration sits below it
    from .speed import SpeedEstimate

# weight of "no correction" in the overall scale, in runs: (noise / prior spread)^2 of a normal prior on the log
# scale, with 0.1 for one run's noise (run to run and the model's shape error) and 0.3 for how far an unseen
# machine sits from its class (the leave-one-device-out bands of speed_fit.toml reach +-30 %)
PRIOR_RUNS = (0.1 / 0.3) ** 2
BAND_PRIOR_RUNS = 3.0  # weight of the class's band against this machine's residuals, in runs
MIN_BAND = 0.05  # +-5 %: the narrowest band calibration gives
SCALE_RANGE = (0.05, 20.0)  # a correction outside this is a mismatched run, not a machine


@dataclass(frozen=True, slots=True, kw_only=True)
class CalPoint:
    """One measured run against its uncalibrated prediction, as times (seconds per token for decode, per
    prompt for prefill), with the fixed per-layer part of the predicted decode time."""

    decode: bool
    measured_s: float
    predicted_s: float
    layer_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    machine: str
    engine: str
    backend: str
    decode_scale: float = 1.0
    layer_scale: float = 1.0
    prefill_scale: float = 1.0
    n_decode_runs: int = 0
    n_prefill_runs: int = 0
    decode_band: tuple[float, float] = (1.0, 1.0)  # measured / calibrated prediction, 10th-90th percentile
    prefill_band: tuple[float, float] = (1.0, 1.0)
    decode_error_before_pct: float | None = None  # median absolute error of the runs, uncalibrated
    decode_error_after_pct: float | None = None
    prefill_error_before_pct: float | None = None
    prefill_error_after_pct: float | None = None

    @property
    def n_runs(self) -> int:
        return self.n_decode_runs + self.n_prefill_runs

    def decode_time_s(self, predicted_s: float, layer_s: float) -> float:
        return self.decode_scale * max(predicted_s - layer_s, 0.0) + self.layer_scale * layer_s

    def band(self, prior: tuple[float, float], decode: bool) -> tuple[float, float]:
        """The class's band ``prior`` (measured / predicted) narrowed by this machine's runs."""
        n = self.n_decode_runs if decode else self.n_prefill_runs
        own = self.decode_band if decode else self.prefill_band
        if n == 0:
            return prior
        w = n / (n + BAND_PRIOR_RUNS)
        return (prior[0] + (own[0] - prior[0]) * w, prior[1] + (own[1] - prior[1]) * w)


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Every machine's corrections (the user's calibration file) and the runs they came from."""

    corrections: tuple[Correction, ...] = ()
    runs: tuple[tuple[str, MeasuredRun], ...] = field(default=())  # (machine key, run)

    def find(self, machine: str, engine: str, backend: str) -> Correction | None:
        return next((c for c in self.corrections
                     if c.machine == machine and c.engine == engine and c.backend == backend), None)


def machine_key(system: System) -> str:
    """The name a calibration is filed under: the accelerators with their counts ("2x RTX 3090"), else the
    CPU ("CPU (Intel(R) Xeon(R) Processor, 2 threads)")."""
    acc = system.accelerators
    if acc:
        return " + ".join(f"{d.count}x {d.device.name}" if d.count > 1 else d.device.name for d in acc)
    cpu = system.cpu_device
    return cpu.name if cpu is not None else system.node.name


def _band(ratios: Sequence[float]) -> tuple[float, float]:
    """The 10th-90th percentile of the runs' ratios, at least +-MIN_BAND.  Interpolated within the runs
    (``inclusive``): the default method extrapolates past the extremes of a few runs, and a noisy one had put a
    negative low end into a machine's calibration file, which reading it back then refused."""
    if len(ratios) >= 4:
        q = statistics.quantiles(ratios, n=10, method="inclusive")
        lo, hi = q[0], q[-1]
    else:
        lo, hi = min(ratios), max(ratios)
    return (round(min(lo, 1 - MIN_BAND), 3), round(max(hi, 1 + MIN_BAND), 3))


def _median_err(pairs: Sequence[tuple[float, float]]) -> float:
    """Median absolute % error of the rate (predicted rate vs measured = measured time / predicted time)."""
    return round(100 * statistics.median(abs(m / p - 1) for m, p in pairs), 1)


def _clamp(x: float) -> float:
    return min(max(x, SCALE_RANGE[0]), SCALE_RANGE[1])


def fit_correction(points: Sequence[CalPoint], *, machine: str, engine: str, backend: str) -> Correction:
    """The correction for one (machine, engine, backend) from its runs; see the module doc."""
    for p in points:
        if not (p.measured_s > 0 and p.predicted_s > 0 and 0 <= p.layer_s <= p.predicted_s):
            raise InvalidInput(f"calibration point with a non-positive time: {p}")
    dec = [p for p in points if p.decode]
    pre = [p for p in points if not p.decode]
    a = b = c = 1.0
    if dec:
        # the overall scale s (geometric mean ratio, shrunk toward 1), then its split: rows (bytes part /
        # measured, layer part / measured) . (a, b) = 1, plus two rows holding (a, b) near (s, s) with the
        # weight of one run each, so runs of one shape leave a = b = s
        s = math.exp(sum(math.log(p.measured_s / p.predicted_s) for p in dec) / (len(dec) + PRIOR_RUNS))
        rows = [[(p.predicted_s - p.layer_s) / p.measured_s, p.layer_s / p.measured_s] for p in dec]
        rows += [[1 / s, 0.0], [0.0, 1 / s]]
        a, b = (_clamp(v) for v in lstsq(rows, [1.0] * len(dec) + [1.0, 1.0]))
    if pre:
        logs = [math.log(p.measured_s / p.predicted_s) for p in pre]
        c = _clamp(math.exp(sum(logs) / (len(logs) + PRIOR_RUNS)))
    corr = Correction(machine=machine, engine=engine, backend=backend, decode_scale=round(a, 4),
                      layer_scale=round(b, 4), prefill_scale=round(c, 4), n_decode_runs=len(dec),
                      n_prefill_runs=len(pre))
    dec_after = [(p.measured_s, corr.decode_time_s(p.predicted_s, p.layer_s)) for p in dec]
    pre_after = [(p.measured_s, corr.prefill_scale * p.predicted_s) for p in pre]
    return Correction(
        machine=machine, engine=engine, backend=backend, decode_scale=corr.decode_scale,
        layer_scale=corr.layer_scale, prefill_scale=corr.prefill_scale, n_decode_runs=len(dec),
        n_prefill_runs=len(pre),
        # bands as measured rate / predicted rate = predicted time / measured time
        decode_band=_band([t / m for m, t in dec_after]) if dec else (1.0, 1.0),
        prefill_band=_band([t / m for m, t in pre_after]) if pre else (1.0, 1.0),
        decode_error_before_pct=_median_err([(p.measured_s, p.predicted_s) for p in dec]) if dec else None,
        decode_error_after_pct=_median_err(dec_after) if dec else None,
        prefill_error_before_pct=_median_err([(p.measured_s, p.predicted_s) for p in pre]) if pre else None,
        prefill_error_after_pct=_median_err(pre_after) if pre else None)


def apply_correction(est: SpeedEstimate, corr: Correction) -> SpeedEstimate:
    """``est`` with a machine's calibration applied (``rigfit.calibration``): the streaming part of each decode
    time scaled by ``decode_scale``, the per-layer part by ``layer_scale``, prefill by ``prefill_scale``; the
    bands narrowed by the runs behind it."""
    lay = est.decode_layer_s

    def dec(rate: float) -> float:
        t = 1.0 / rate
        return 1.0 / corr.decode_time_s(t, min(lay, t))

    decode = dec(est.decode_tokens_per_s)
    after = dec(est.decode_after_prompt_tokens_per_s)
    per_user = dec(est.per_user_decode_tokens_per_s)
    t_pp = est.time_to_first_token_s * corr.prefill_scale if est.time_to_first_token_s is not None else None
    tg_prior = (est.decode_band[0] / est.decode_tokens_per_s, est.decode_band[1] / est.decode_tokens_per_s)
    tg = corr.band(tg_prior, decode=True)
    pp_band = None
    if t_pp and est.prefill_band and est.prefill_tokens_per_s:
        pp_prior = (est.prefill_band[0] / est.prefill_tokens_per_s, est.prefill_band[1] / est.prefill_tokens_per_s)
        pp = corr.band(pp_prior, decode=False)
        rate = est.prompt_tokens / t_pp
        pp_band = (rate * pp[0], rate * pp[1])
    note = (f"calibrated on {corr.n_runs} run{'s' if corr.n_runs != 1 else ''} of this machine "
            f"({corr.engine}, {corr.backend}): decode x{1 / corr.decode_scale:.2f}, per-layer cost "
            f"x{corr.layer_scale:.2f}, prefill x{1 / corr.prefill_scale:.2f}")
    return replace(
        est, prefill_tokens_per_s=est.prompt_tokens / t_pp if t_pp else None, decode_tokens_per_s=decode,
        decode_after_prompt_tokens_per_s=after, per_user_decode_tokens_per_s=per_user,
        aggregate_decode_tokens_per_s=per_user * est.users, time_to_first_token_s=t_pp,
        total_time_s=(t_pp + est.gen_tokens / after) if t_pp is not None else None,
        decode_band=(decode * tg[0], decode * tg[1]), prefill_band=pp_band,
        decode_layer_s=corr.layer_scale * min(lay, 1.0 / est.decode_tokens_per_s),
        calibrated_runs=corr.n_runs, notes=(*est.notes, note))
