"""Per-machine calibration: the correction fit, the user file, the pipeline applying
it, and the `rigfit calibrate` command on captured runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigfit.api import fit, resolve_hardware
from rigfit.calibrate import calibrate_runs
from rigfit.calibration import MIN_BAND, PRIOR_RUNS, Calibration, CalPoint, Correction, fit_correction, machine_key
from rigfit.calstore import dumps, read_calibration, write_calibration
from rigfit.errors import InvalidInput
from rigfit.measured import parse_runs
from rigfit.request import make_request
from tests.conftest import run_cli

RUNS = Path(__file__).parent / "data" / "runs"


# ---- the correction ----------------------------------------------------------------------------------

def _pts(ratio: float, n: int, layer_share: float = 0.2) -> list[CalPoint]:
    out = []
    for i in range(n):
        pred = 0.01 * (1 + i)
        out.append(CalPoint(decode=True, measured_s=pred * ratio, predicted_s=pred, layer_s=pred * layer_share))
        out.append(CalPoint(decode=False, measured_s=pred * 40 * ratio, predicted_s=pred * 40))
    return out


def test_exact_predictions_need_no_correction() -> None:
    c = fit_correction(_pts(1.0, 3), machine="m", engine="llama.cpp", backend="cuda")
    assert (c.decode_scale, c.layer_scale, c.prefill_scale) == pytest.approx((1.0, 1.0, 1.0))
    assert c.decode_error_after_pct == 0.0 and (c.n_decode_runs, c.n_prefill_runs) == (3, 3)


@pytest.mark.parametrize("ratio", [0.5, 2.0, 5.0])
def test_a_machine_slower_than_its_class_is_learned(ratio: float) -> None:
    c = fit_correction(_pts(ratio, 4), machine="m", engine="llama.cpp", backend="cpu")
    # the overall scale is the ratio shrunk toward 1 as if PRIOR_RUNS (1/9) more runs had matched
    want = ratio ** (4 / (4 + PRIOR_RUNS))
    assert c.prefill_scale == pytest.approx(want, rel=1e-3)
    # decode: the runs fix 0.8 a + 0.2 b (their layer share) to the ratio; the prior holds a and b together
    assert c.decode_scale == pytest.approx(ratio, rel=0.05) and c.layer_scale == pytest.approx(ratio, rel=0.05)
    assert c.decode_error_after_pct is not None and c.decode_error_before_pct is not None
    assert c.decode_error_after_pct < c.decode_error_before_pct


def test_band_narrows_with_more_runs() -> None:
    prior = (0.6, 1.4)
    few = fit_correction(_pts(2.0, 1), machine="m", engine="e", backend="cpu").band(prior, decode=True)
    many = fit_correction(_pts(2.0, 12), machine="m", engine="e", backend="cpu").band(prior, decode=True)
    assert prior[0] < few[0] < many[0] <= 0.95 and 1.05 <= many[1] < few[1] < prior[1]


def test_a_bad_point_is_refused() -> None:
    with pytest.raises(InvalidInput):
        fit_correction([CalPoint(decode=True, measured_s=0.0, predicted_s=1.0)], machine="m", engine="e",
                       backend="cpu")


@given(st.lists(st.tuples(st.floats(0.2, 5.0), st.floats(0.001, 1.0), st.floats(0.0, 0.5)), min_size=1, max_size=8))
def test_calibration_never_makes_its_own_runs_worse_on_the_median(rows: list[tuple[float, float, float]]) -> None:
    """Law: with one common scale behind the runs, the calibrated median error is no larger than before."""
    r0 = rows[0][0]
    pts = [CalPoint(decode=True, measured_s=p * r0, predicted_s=p, layer_s=p * share) for _, p, share in rows]
    c = fit_correction(pts, machine="m", engine="e", backend="cpu")
    assert c.decode_error_after_pct is not None and c.decode_error_before_pct is not None
    assert c.decode_error_after_pct <= c.decode_error_before_pct + 1e-9


@given(st.lists(st.tuples(st.floats(0.05, 20.0), st.floats(0.001, 1.0)), min_size=1, max_size=12))
def test_bands_stay_within_the_runs_ratios(rows: list[tuple[float, float]]) -> None:
    """Law: a band's ends are positive and no wider than the runs' own ratios after the correction (at least
    +-MIN_BAND around 1): four runs, one of them 5x off, once gave a negative low end (an extrapolated percentile),
    which the calibration file then refused."""
    pts = [CalPoint(decode=False, measured_s=p * r, predicted_s=p) for r, p in rows]
    c = fit_correction(pts, machine="m", engine="e", backend="cpu")
    after = [c.prefill_scale * p / (p * r) for r, p in rows]
    lo, hi = c.prefill_band
    assert 0 < lo <= 1 <= hi
    assert lo >= min(*after, 1 - MIN_BAND) - 1e-3 and hi <= max(*after, 1 + MIN_BAND) + 1e-3


def test_a_noisy_run_keeps_the_band_positive() -> None:
    c = fit_correction([CalPoint(decode=False, measured_s=m, predicted_s=1.0) for m in (5.0, 1.0, 0.9, 0.77)],
                       machine="m", engine="e", backend="cpu")
    assert c.prefill_band[0] > 0


# ---- the user file -----------------------------------------------------------------------------------

def _report(hw: str = "RTX 4080") -> object:
    _, runs = parse_runs((RUNS / "llama_bench_rtx4080.json").read_text(), "llama_bench_rtx4080.json")
    return calibrate_runs(runs, resolve_hardware([hw]))


def test_calibrating_on_captured_llama_bench_runs() -> None:
    rep = _report()
    assert rep.machine == "NVIDIA GeForce RTX 4080" and not rep.skipped  # type: ignore[attr-defined]
    (corr,) = rep.corrections  # type: ignore[attr-defined]
    assert (corr.engine, corr.backend, corr.n_decode_runs, corr.n_prefill_runs) == ("llama.cpp", "cuda", 1, 1)
    for c in rep.checks:  # type: ignore[attr-defined]
        m = c.run.decode_tokens_per_s or c.run.prefill_tokens_per_s
        before = c.predicted_decode_tokens_per_s or c.predicted_prefill_tokens_per_s
        after = c.calibrated_decode_tokens_per_s or c.calibrated_prefill_tokens_per_s
        assert abs(after / m - 1) < abs(before / m - 1) or abs(before / m - 1) < 0.01
        assert c.model == "Qwen2.5-7B-Instruct" and c.quant == "Q4_K_M"


def test_runs_of_other_hardware_are_refused() -> None:
    with pytest.raises(InvalidInput, match="measured on 'NVIDIA GeForce RTX 4080', not on 'NVIDIA GeForce RTX 3090'"):
        _report("RTX 3090")


def test_a_model_named_only_by_type_and_size_resolves() -> None:
    _, runs = parse_runs((RUNS / "llama_bench_depth.md").read_text(), "depth.md")
    rep = calibrate_runs(runs, resolve_hardware(["RTX 4080"]))
    # "qwen2 7B" with 7.62 B parameters: a Qwen2 or Qwen2.5 7B (llama.cpp's qwen2 type; Qwen2-7B, Qwen2.5-7B and
    # the Coder share the shape, so any of them)
    assert len(rep.checks) == 4 and len({c.model for c in rep.checks}) == 1
    assert rep.checks[0].model.startswith(("Qwen2-", "Qwen2.5-")) and "7B" in rep.checks[0].model


def test_outputs_without_a_model_need_one() -> None:
    _, runs = parse_runs((RUNS / "mlx_verbose.txt").read_text(), "mlx.txt")
    with pytest.raises(InvalidInput, match="does not name its model"):
        calibrate_runs(runs, resolve_hardware(["M4 Max 128GB"]))
    rep = calibrate_runs(runs, resolve_hardware(["M4 Max 128GB"]), model="Qwen2.5-7B-Instruct", quant="MLX-4BIT")
    assert rep.corrections[0].engine == "mlx" and rep.corrections[0].backend == "metal"


def test_file_round_trip(tmp_path: Path) -> None:
    rep = _report()
    cal: Calibration = rep.calibration  # type: ignore[attr-defined]
    path = write_calibration(cal, tmp_path / "c.toml", updated="2026-12-02")
    back = read_calibration(path)
    assert back.corrections == cal.corrections
    assert [(m, r.to_dict()) for m, r in back.runs] == [(m, r.to_dict()) for m, r in cal.runs]
    assert dumps(back, updated="2026-12-02") == path.read_text()


@pytest.mark.parametrize(("text", "message"), [
    ("[[correction]]\nmachine = 'x'\nengine = 'llama.cpp'\nbackend = 'cuda'\ndecode_scale = -1\n",
     "correction[0].decode_scale: expected a scale between 0.01 and 100, got -1"),
    ("[[correction]]\nengine = 'llama.cpp'\n", "correction[0].machine: expected a name"),
    ("[[run]]\nmachine = 'x'\nengine = 'llama.cpp'\ndecode_tokens_per_s = 0\n", "run[0]"),
    ("this is = = not toml", "not a readable calibration file"),
])
def test_bad_calibration_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "calibration.toml"
    p.write_text(text)
    with pytest.raises(InvalidInput, match="calibration.toml") as exc:
        read_calibration(p)
    assert message in str(exc.value)


# ---- predictions with it -----------------------------------------------------------------------------

def test_the_pipeline_applies_the_machine_s_correction_only() -> None:
    corr = Correction(machine="NVIDIA GeForce RTX 4080", engine="llama.cpp", backend="cuda", decode_scale=2.0,
                      layer_scale=2.0, prefill_scale=0.5, n_decode_runs=3, n_prefill_runs=3,
                      decode_band=(0.95, 1.05), prefill_band=(0.95, 1.05))
    cal = Calibration(corrections=(corr,))
    kw = dict(quant="Q4_K_M", hardware=["RTX 4080"])
    plain = fit(make_request("Qwen2.5-7B-Instruct", **kw))  # type: ignore[arg-type]
    tuned = fit(make_request("Qwen2.5-7B-Instruct", calibration=cal, **kw))  # type: ignore[arg-type]
    assert plain.speed is not None and tuned.speed is not None
    assert tuned.speed.decode_tokens_per_s == pytest.approx(plain.speed.decode_tokens_per_s / 2, rel=1e-9)
    assert tuned.speed.prefill_tokens_per_s == pytest.approx(2 * (plain.speed.prefill_tokens_per_s or 0), rel=1e-9)
    assert tuned.speed.calibrated_runs == 6 and any("calibrated on 6 runs" in n for n in tuned.speed.notes)
    lo, hi = tuned.speed.decode_band
    plo, phi = plain.speed.decode_band
    assert (hi - lo) / tuned.speed.decode_tokens_per_s < (phi - plo) / plain.speed.decode_tokens_per_s
    other = fit(make_request("Qwen2.5-7B-Instruct", calibration=cal, quant="Q4_K_M", hardware=["RTX 3090"]))
    assert other.speed is not None and other.speed.calibrated_runs == 0
    assert machine_key(resolve_hardware(["2x RTX 3090"])) == "2x NVIDIA GeForce RTX 3090"


# ---- the command -------------------------------------------------------------------------------------

def test_calibrate_command_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    f = str(RUNS / "llama_bench_rtx4080.json")
    code, out, err = run_cli(capsys, "calibrate", f, "--for", "RTX 4080", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["machine"] == "NVIDIA GeForce RTX 4080" and doc["read"][0]["format"] == "llama-bench JSON"
    assert len(doc["corrections"]) == 1 and len(doc["runs"]) == 2
    code, out, _ = run_cli(capsys, "fit", "Qwen2.5-7B-Instruct", "-q", "Q4_K_M", "-H", "RTX 4080", "--json")
    speed = json.loads(out)["speed"]
    assert any("calibrated on 2 runs" in n for n in speed["notes"])
    code, out, _ = run_cli(capsys, "fit", "Qwen2.5-7B-Instruct", "-q", "Q4_K_M", "-H", "RTX 4080", "--json",
                           "--no-calibration")
    assert not any("calibrated" in n for n in json.loads(out)["speed"]["notes"])
    code, out, _ = run_cli(capsys, "calibrate", "--show")
    assert code == 0 and "NVIDIA GeForce RTX 4080\n  llama.cpp (cuda): calibrated on 2 runs" in out
    code, out, _ = run_cli(capsys, "calibrate", "--reset")
    assert code == 0 and out.startswith("removed ")
    code, out, _ = run_cli(capsys, "calibrate", "--show")
    assert "no calibration stored" in out


@pytest.mark.parametrize(("args", "message"), [
    ((), "give run files, --show or --reset"),
    (("{missing}",), "No such file"),
    (("{garbage}",), "not a format rigfit reads"),
    (("{json}",), "measured on 'NVIDIA GeForce RTX 4080'"),
    (("{json}", "--for", "RTX 9999"), "unknown"),
])
def test_calibrate_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             args: tuple[str, ...], message: str) -> None:
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    garbage = tmp_path / "g.txt"
    garbage.write_text("no runs here\n")
    names = {"missing": str(tmp_path / "nope.json"), "garbage": str(garbage),
             "json": str(RUNS / "llama_bench_rtx4080.json")}
    # this test machine has no RTX 4080: the runs are refused without --for
    code, out, err = run_cli(capsys, "calibrate", *[a.format(**names) for a in args])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigfit: error: ") and message in lines[0]
    assert not (tmp_path / "calibration.toml").exists()


def test_scales_are_finite_for_extreme_runs() -> None:
    c = fit_correction([CalPoint(decode=True, measured_s=1e6, predicted_s=1e-6)], machine="m", engine="e",
                       backend="cpu")
    assert all(math.isfinite(v) and 0.05 <= v <= 20 for v in (c.decode_scale, c.layer_scale, c.prefill_scale))


def test_the_local_page_applies_the_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from rigfit.web.app import create_app

    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    write_calibration(_report().calibration)  # type: ignore[attr-defined]
    client = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    q = "/api/fit?model=Qwen2.5-7B-Instruct&quant=Q4_K_M&hardware=RTX%204080"
    on = client.get(q).json()["speed"]
    off = client.get(q + "&calibration=false").json()["speed"]
    assert on["calibrated_runs"] == 2 and off["calibrated_runs"] == 0
    assert on["decode_tokens_per_s"] != off["decode_tokens_per_s"]


def test_models_listing_applies_the_calibration(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    write_calibration(_report().calibration)  # type: ignore[attr-defined]
    args = ("models", "-H", "RTX 4080", "--task", "code", "--min-params", "30B", "--json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    rows = json.loads(out)["models"]
    assert rows and all(r["calibrated_runs"] == 2 for r in rows if r["decode_tokens_per_s"])
    code, out, _ = run_cli(capsys, *args, "--no-calibration")
    rows = json.loads(out)["models"]
    assert all(r["calibrated_runs"] == 0 for r in rows)


def test_a_run_with_experts_in_ram_is_predicted_with_its_split() -> None:
    """A llama-bench run made with --n-cpu-moe N (its JSON's n_cpu_moe) is predicted with that split, not with
    the fewest layers' experts that fit: calibration compares like with like."""
    from rigfit import fit
    from rigfit.calibrate import predict_run
    from rigfit.measured import MeasuredRun
    from rigfit.request import make_request

    req = make_request("gpt-oss-120b", quant="Q4_K_M", hardware=["RTX 3090"])
    assert req.system is not None
    run = MeasuredRun(engine="llama.cpp", model="gpt-oss-120b", quant="Q4_K_M", prompt_tokens=512, gen_tokens=128,
                      decode_tokens_per_s=30.0, n_gpu_layers=99, n_cpu_moe=30)
    sp, _, _, _ = predict_run(run, req.model, req.system, "Q4_K_M")
    want = fit("gpt-oss-120b", quant="Q4_K_M", hardware=["RTX 3090"], n_cpu_moe=30, headroom_bytes=0,
               context_tokens=656).speed
    auto = fit("gpt-oss-120b", quant="Q4_K_M", hardware=["RTX 3090"], headroom_bytes=0, context_tokens=656).speed
    assert sp is not None and want is not None and auto is not None
    assert sp.decode_tokens_per_s == pytest.approx(want.decode_tokens_per_s, rel=1e-9)
    assert sp.decode_tokens_per_s < auto.decode_tokens_per_s
