"""`rigfit bench`: the runners (fake engines on PATH and a fake Ollama server for the plumbing; a real
llama.cpp through llama-cpp-python, the bench extra, for the measurement itself) and the bundle's round trip
through `rigfit calibrate`."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rigfit import bench
from rigfit.bench import bench_llamacpp, bench_mlx, bench_ollama, bench_vllm, scale_runs, truncated
from rigfit.errors import InvalidInput, RigfitError
from rigfit.measured import MeasuredRun
from rigfit.models.catalog import default_catalog
from tests.conftest import run_cli

RUNS = Path(__file__).parent / "data" / "runs"
SMALL = "SmolLM2-135M-Instruct"  # the smallest catalog model: quick to write for the plumbing tests


def _script(folder: Path, name: str, body: str) -> None:
    p = folder / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IXUSR)


@pytest.fixture()
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def test_truncated_keeps_per_layer_data_in_step() -> None:
    spec = default_catalog().lookup("gemma-3-270m-it")
    t = truncated(spec, 6)
    assert t.n_layers == 6 and len(t.layer_types) in (0, 6)
    assert t.layer_types == spec.layer_types[:6]


def test_scaling_from_two_depths_of_layers_is_linear() -> None:
    base = MeasuredRun(engine="llama.cpp", prompt_tokens=128, gen_tokens=16)
    small = [MeasuredRun(engine="llama.cpp", prefill_tokens_per_s=1 / 0.3, decode_tokens_per_s=1 / 0.02)]
    large = [MeasuredRun(engine="llama.cpp", prefill_tokens_per_s=1 / 0.5, decode_tokens_per_s=1 / 0.03)]
    (got,) = scale_runs([base.__class__(**{**small[0].to_dict()})], large, 2, 24)
    # t(24) = t(2) + 22 (t(4) - t(2)) / 2
    assert 1 / (got.prefill_tokens_per_s or 0) == pytest.approx(0.3 + 22 * 0.2 / 2)
    assert 1 / (got.decode_tokens_per_s or 0) == pytest.approx(0.02 + 22 * 0.01 / 2)


def test_llama_bench_on_path_is_used(fake_bin: Path, tmp_path: Path) -> None:
    _script(fake_bin, "llama-quantize", 'cp "$1" "$2"\n')
    _script(fake_bin, "llama-bench", f'cat "{RUNS / "llama_bench_rtx4080.json"}"\n')
    res = bench_llamacpp(default_catalog().lookup(SMALL), "Q4_0", prompt=512, gen=128, repeats=1,
                         workdir=tmp_path)
    assert res.runner == "llama-bench" and res.mode == "whole model"
    assert [r.model for r in res.runs] == [SMALL, SMALL] and res.runs[1].decode_tokens_per_s == pytest.approx(118.88,
                                                                                                            rel=1e-4)
    assert "quantized by llama-quantize" in res.notes


def test_a_failing_engine_is_one_line(fake_bin: Path, tmp_path: Path) -> None:
    _script(fake_bin, "llama-quantize", 'echo "bad ftype" >&2; exit 1\n')
    with pytest.raises(Exception, match="llama-quantize failed") as exc:
        bench_llamacpp(default_catalog().lookup(SMALL), "Q4_0", repeats=1, workdir=tmp_path)
    assert "\n" not in str(exc.value)


def test_a_crash_in_llama_cpp_is_timed_again_without_extra_buffers(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """llama.cpp's CPU extra buffer types (AMX, repacked weights) crashed the timing process on a Xeon with AMX
    (general protection fault in ggml-cpu, llama-cpp-python 0.3.36): the timing runs in a child process, and a
    child that dies is run again without them, which the bundle's notes say."""
    calls: list[bool] = []

    def fake(path: Path, *, extra_buffers: bool, progress: object, **options: object
             ) -> tuple[list[tuple[int, float, float]] | None, int]:
        calls.append(extra_buffers)
        return (None, -11) if extra_buffers else ([(0, 0.5, 0.02)], 0)

    monkeypatch.setattr(bench, "_time_isolated", fake)
    notes: list[str] = []
    got = bench._time_with_fallback(tmp_path / "m.gguf", notes, lambda text: None, prompt=64)
    assert got == [(0, 0.5, 0.02)] and calls == [True, False]
    assert notes == ["llama.cpp stopped (exit code -11) with its CPU extra buffer types (AMX / repacked weights) "
                     "on this CPU: timed without them, as llama-bench --no-repack"]
    monkeypatch.setattr(bench, "_time_isolated", lambda path, **kw: (None, -11))
    with pytest.raises(RigfitError, match=r"^llama.cpp stopped while timing m.gguf \(exit code -11, and -11 "
                                          r"without its CPU extra buffer types\): no measurement$"):
        bench._time_with_fallback(tmp_path / "m.gguf", [], lambda text: None, prompt=64)


def test_mlx_and_vllm_runners(fake_bin: Path) -> None:
    _script(fake_bin, "mlx_lm.generate", f'cat "{RUNS / "mlx_verbose.txt"}"\n')
    res = bench_mlx("mlx-community/Qwen2.5-7B-Instruct-4bit", prompt=30, gen=256, repeats=2)
    assert len(res.runs) == 2 and res.runs[0].decode_tokens_per_s == pytest.approx(98.43)
    assert res.runs[0].model == "mlx-community/Qwen2.5-7B-Instruct-4bit"
    # vllm bench serve writes its result where --result-dir / --result-filename say
    _script(fake_bin, "vllm", 'while [ $# -gt 0 ]; do case "$1" in --result-dir) d="$2";; '
            '--result-filename) f="$2";; esac; shift; done\n'
            f'cp "{RUNS / "vllm_bench_serve.json"}" "$d/$f"\n')
    res = bench_vllm("Qwen/Qwen2.5-7B-Instruct", prompt=512, gen=128, repeats=2)
    assert res.runs[0].decode_tokens_per_s == pytest.approx(1000 / 9.1) and res.runs[0].ttft_s == pytest.approx(0.0412)


@pytest.fixture()
def ollama_server() -> Iterator[str]:
    body = (RUNS / "ollama_api.json").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", 0))
            req = json.loads(self.rfile.read(n))
            if req.get("model") != "llama3.2":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_ollama_runner(ollama_server: str) -> None:
    res = bench_ollama("llama3.2", prompt=26, gen=282, repeats=2, host=ollama_server)
    assert len(res.runs) == 2 and res.runs[0].decode_tokens_per_s == pytest.approx(282 / 4.535599)
    with pytest.raises(InvalidInput, match="refused 'qwen9:1b': HTTP 404"):
        bench_ollama("qwen9:1b", prompt=26, gen=10, repeats=1, host=ollama_server)
    with pytest.raises(InvalidInput, match="no Ollama server at http://127.0.0.1:9"):
        bench_ollama("llama3.2", prompt=26, gen=10, repeats=1, host="http://127.0.0.1:9")


@pytest.mark.parametrize(("args", "message"), [
    (("bench", SMALL, "--engine", "tgi"), "rigfit bench runs llama.cpp, ollama, mlx, vllm, not 'tgi'"),
    (("bench", SMALL, "--depth", "-5"), "depth must be between 0"),
    (("bench", SMALL, "--gen-tokens", "1"), "generated tokens must be between 2"),
    (("bench", SMALL, "--repeats", "0"), "repeats must be between 1 and 20, got 0 (--repeats)"),
    (("bench", "no-such-model-xyz"), "unknown model 'no-such-model-xyz'"),
    (("bench", "llama3.2", "--engine", "ollama", "--layers", "2"), "(--layers, --engine)"),
])
def test_bench_bad_input(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, _out, err = run_cli(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("rigfit: error: ") and message in lines[-1]


# ---- a real engine ----------------------------------------------------------------------------------

def _llama_cpp() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        if os.environ.get("RIGFIT_REQUIRE_BENCH"):
            raise
        pytest.skip("llama-cpp-python (the bench extra) is not installed")


REAL = "Qwen2.5-0.5B-Instruct"  # a 0.5B shape: 24 layers, 896 wide, a 151,936-token vocabulary


@pytest.mark.slow
def test_real_llama_cpp_bench_and_calibration_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`rigfit bench` on this machine's CPU at two quants and two depths: the measurements are sane, the bundle
    round-trips through `rigfit calibrate`, and the calibrated prediction is closer to the measurement.  Best of 3
    runs of 32 tokens: 2,048 cells of cache slow a 0.5B model's decode by a few percent, less than one run's noise
    on a shared machine (one run of 16 tokens once read 24.4 tok/s at depth 2,048 against 21.1 at depth 0)."""
    _llama_cpp()
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(tmp_path))
    out_file = tmp_path / "bundle.json"
    code, out, err = run_cli(capsys, "bench", REAL, "-q", "Q4_0", "-q", "Q8_0", "--depth", "0", "--depth", "2048",
                             "--prompt-tokens", "128", "--gen-tokens", "32", "--repeats", "3", "--out", str(out_file),
                             "--json")
    assert code == 0, err
    doc = json.loads(out)["rigfit_bench"]
    assert doc == json.loads(out_file.read_text())["rigfit_bench"]
    assert doc["mode"] == "whole model" and doc["runner"].startswith("llama-cpp-python")
    runs = [MeasuredRun.from_dict(r) for r in doc["runs"]]
    assert [(r.quant, r.depth_tokens) for r in runs] == [("Q4_0", 0), ("Q4_0", 2048), ("Q8_0", 0), ("Q8_0", 2048)]
    for r in runs:
        assert r.prefill_tokens_per_s and r.decode_tokens_per_s and r.prefill_tokens_per_s > r.decode_tokens_per_s > 0
    # 2,048 cached tokens slow this model's decode by a few percent, less than a neighbour's burst on a shared
    # machine costs one configuration's three runs (one CI run, before the bench's untimed warmup run, read 5
    # tok/s at depth 0 and 15 at depth 2,048): the law must hold for one of the two quants at least
    slowed = []
    for q in ("Q4_0", "Q8_0"):
        d0, d2k = (r for r in runs if r.quant == q)
        slowed.append((d2k.decode_tokens_per_s or 0) < (d0.decode_tokens_per_s or 0))
    assert any(slowed), "depth must slow decode"
    predicted = doc["predicted"]
    assert len(predicted) == 4 and all(p["decode_tokens_per_s"] for p in predicted)
    # the bundle through calibrate, then the same prediction again
    code, out, err = run_cli(capsys, "calibrate", str(out_file), "--json")
    assert code == 0, err
    cal = json.loads(out)
    assert len(cal["runs"]) == 4 and cal["corrections"][0]["n_decode_runs"] == 4
    for c in cal["checks"]:
        for kind in ("decode", "prefill"):
            m = c[f"measured_{kind}_tokens_per_s"]
            before, after = c[f"predicted_{kind}_tokens_per_s"], c[f"calibrated_{kind}_tokens_per_s"]
            assert abs(after / m - 1) <= abs(before / m - 1) + 0.02, (kind, c)
    code, out, err = run_cli(capsys, "fit", REAL, "-q", "Q4_0", "--this-machine", "--json", "--prompt-tokens", "128",
                             "--gen-tokens", "16")
    assert code == 0, err  # the message, should detection or planning on this machine refuse
    speed = json.loads(out)["speed"]
    assert any("calibrated on 8 runs" in n for n in speed["notes"])
    q4 = runs[0]
    assert abs(speed["decode_tokens_per_s"] / (q4.decode_tokens_per_s or 1) - 1) < \
        abs(predicted[0]["decode_tokens_per_s"] / (q4.decode_tokens_per_s or 1) - 1)


@pytest.mark.slow
def test_scaled_measurement_matches_the_whole_model(tmp_path: Path) -> None:
    """A few layers measured and scaled per layer against the whole model, on the same engine (CPU timing
    noise on a shared machine: 35 %).  A 1.5B shape, whose layers (45 MB each at Q4_0) are well beyond the CPU
    caches: a 0.5B model's few-layer copies partly fit in cache and run faster per layer than the whole."""
    _llama_cpp()
    spec = default_catalog().lookup("Qwen2.5-1.5B-Instruct")
    whole = bench_llamacpp(spec, "Q4_0", prompt=128, gen=32, repeats=3, workdir=tmp_path)
    scaled = bench_llamacpp(spec, "Q4_0", prompt=128, gen=32, repeats=3, layers=7, workdir=tmp_path)
    assert scaled.mode == "scaled from 7 and 14 layers to 28"
    w, s = whole.runs[0], scaled.runs[0]
    assert s.decode_tokens_per_s == pytest.approx(w.decode_tokens_per_s, rel=0.35)
    assert s.prefill_tokens_per_s == pytest.approx(w.prefill_tokens_per_s, rel=0.35)


def test_the_module_entry_point_does_not_run_when_a_spawned_child_imports_it() -> None:
    """multiprocessing's spawn re-imports ``__main__`` as ``__mp_main__`` in the timing child of
    ``python -m rigfit bench``: the CLI must not run there."""
    import runpy

    runpy.run_module("rigfit.__main__", run_name="__mp_main__")  # no SystemExit: nothing ran
