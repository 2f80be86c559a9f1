"""Parsers of engine outputs (rigfit.measured) on captured outputs (tests/data/runs/README.md names each
source), on garbage and on partial files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigfit.errors import InvalidInput
from rigfit.measured import (
    MeasuredRun,
    RunFormat,
    go_duration_s,
    parse_runs,
    quant_from_filename,
    quant_from_llama_type,
)

RUNS = Path(__file__).parent / "data" / "runs"

# file, format, runs, then the first run's (model, quant, prompt, gen, depth, prefill tok/s, decode tok/s,
# hardware, backend); rates as printed or as count / duration (Ollama: 26 tokens / 0.342546 s)
CASES = [
    ("llama_bench_rtx4080.json", RunFormat.LLAMA_BENCH_JSON, 2,
     ("Qwen2.5-7B-Instruct-Q4_K_M", "Q4_K_M", 512, 0, 0, 7100.002165, None, "NVIDIA GeForce RTX 4080", "cuda")),
    ("llama_bench_rtx4080.jsonl", RunFormat.LLAMA_BENCH_JSONL, 2,
     ("Qwen2.5-7B-Instruct-Q4_K_M", "Q4_K_M", 512, 0, 0, 7263.609157, None, "NVIDIA GeForce RTX 4080", "cuda")),
    ("llama_bench_rtx4080.csv", RunFormat.LLAMA_BENCH_CSV, 2,
     ("Qwen2.5-7B-Instruct-Q4_K_M", "Q4_K_M", 512, 0, 0, 7285.676949, None, "NVIDIA GeForce RTX 4080", "cuda")),
    ("llama_bench_depth.md", RunFormat.LLAMA_BENCH_MD, 4,
     ("qwen2 7B Q4_K - Medium", "Q4_K_M", 512, 0, 0, 7340.20, None, None, "cuda")),
    ("llama_bench_threads.md", RunFormat.LLAMA_BENCH_MD, 4,
     ("llama 7B mostly Q4_0", "Q4_0", 64, 0, 0, 6.17, None, None, "cpu")),
    ("llama_bench_arc_b70_sycl.json", RunFormat.LLAMA_BENCH_JSON, 2,
     ("Qwen3.6-35B-A3B-Q4_K_M", "Q4_K_M", 512, 0, 0, 1334.103112, None, "Intel(R) Arc(TM) Pro B70 Graphics", "sycl")),
    ("llama_server_timings.json", RunFormat.LLAMA_SERVER_TIMINGS, 1,
     ("qwen3coder30b", None, 463, 20, 0, 7384.016713713857, 196.04383540159577, None, None)),
    ("llama_server_metrics.txt", RunFormat.LLAMA_SERVER_METRICS, 1,
     (None, None, 0, 0, 0, 4096 / 1.6, 1024 / 12.8, None, None)),
    ("ollama_api.json", RunFormat.OLLAMA_API, 1,
     ("llama3.2", None, 26, 282, 0, 26 / 0.342546, 282 / 4.535599, None, None)),
    ("ollama_stream.ndjson", RunFormat.OLLAMA_API, 1, (None, None, 1100, 6, 0, 1100 / 0.12, 6 / 0.07, None, None)),
    ("ollama_verbose.txt", RunFormat.OLLAMA_VERBOSE, 1, (None, None, 21, 160, 0, 15.60, 9.54, None, None)),
    ("ollama_verbose_long.txt", RunFormat.OLLAMA_VERBOSE, 1, (None, None, 16384, 1399, 0, 221.97, 16.45, None, None)),
    ("mlx_verbose.txt", RunFormat.MLX_VERBOSE, 1, (None, None, 30, 256, 0, 332.363, 98.430, None, None)),
    ("vllm_bench_serve.json", RunFormat.VLLM_BENCH, 1,
     ("Qwen/Qwen2.5-7B-Instruct", None, 512, 128, 0, None, 1000 / 9.1, None, None)),
]


@pytest.mark.parametrize(("name", "fmt", "n", "first"), CASES, ids=[c[0] for c in CASES])
def test_captured_outputs_parse(name: str, fmt: RunFormat, n: int, first: tuple[object, ...]) -> None:
    got_fmt, runs = parse_runs((RUNS / name).read_text(encoding="utf-8"), name)
    assert got_fmt == fmt
    assert len(runs) == n
    r = runs[0]
    model, quant, prompt, gen, depth, pp, tg, hw, backend = first
    assert (r.model, r.quant, r.prompt_tokens, r.gen_tokens, r.depth_tokens, r.hardware, r.backend) == \
        (model, quant, prompt, gen, depth, hw, backend)
    for got, want in ((r.prefill_tokens_per_s, pp), (r.decode_tokens_per_s, tg)):
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want, rel=1e-6)


def test_llama_bench_depth_and_settings() -> None:
    _, runs = parse_runs((RUNS / "llama_bench_depth.md").read_text(), "d.md")
    assert [(r.prompt_tokens, r.gen_tokens, r.depth_tokens) for r in runs] == \
        [(512, 0, 0), (0, 128, 0), (512, 0, 512), (0, 128, 512)]
    assert runs[3].decode_tokens_per_s == pytest.approx(116.71)
    _, runs = parse_runs((RUNS / "llama_bench_rtx4080.json").read_text(), "j")
    r = runs[1]
    assert (r.n_gpu_layers, r.flash_attention, r.kv_cache_type, r.n_ubatch, r.n_batch, r.n_threads, r.build,
            r.model_n_params) == (99, False, "f16", 512, 2048, 8, "8cf427ff (5163)", 7615616512)
    _, runs = parse_runs((RUNS / "llama_bench_arc_b70_sycl.json").read_text(), "a")
    assert runs[0].flash_attention is None  # -1: auto
    assert runs[0].n_cpu_moe == 0 and runs[0].n_gpu_layers == -1


def test_mixed_pg_rows_are_skipped() -> None:
    row = json.loads((RUNS / "llama_bench_rtx4080.json").read_text())[0]
    mixed = row | {"n_prompt": 512, "n_gen": 128}
    _, runs = parse_runs(json.dumps([row, mixed]), "pg.json")
    assert len(runs) == 1


BAD = [
    ("", "empty file"),
    ("hello world\nnothing here\n", "not a format rigfit reads"),
    ("[1, 2, 3]", "not a format rigfit reads"),
    ('[{"n_prompt": 512, "n_gen": 0}]', "expected llama-bench JSON fields n_prompt, n_gen and avg_ts"),
    ('[{"n_prompt": 512, "n_gen": 0, "avg_ts": 1', "not a format rigfit reads"),
    ('{"timings": {"prompt_n": 3}}', "expected llama-server timings fields prompt_per_second"),
    ('{"eval_count": 5}', "expected Ollama API JSON fields eval_count and eval_duration"),
    ("eval rate:     fast tokens/s\n", "expected ollama run --verbose"),
    ("Prompt: many tokens, 5 tokens-per-sec", "expected mlx_lm --verbose"),
    ("| model | test | t/s |\n|---|---|---|\n| x | pp512 | garbage |\n", "expected llama-bench Markdown rows"),
    ('{"mean_ttft_ms": null, "mean_tpot_ms": null}', "expected vllm bench serve JSON fields"),
    ('{"rigfit_bench": {"runs": "no"}}', "expected rigfit bench bundle"),
    ('{"rigfit_bench": {"runs": [{"engine": "llama.cpp", "decode_tokens_per_s": -3}]}}', "is not a positive number"),
    ('{"rigfit_bench": {"runs": [{"engine": "llama.cpp", "prompt_tokens": "many"}]}}', "is not a token count"),
    ("llamacpp:requests_processing 1\n", "expected llama-server /metrics counters"),
    ("build_commit,n_prompt,n_gen,avg_ts\nx,512,0,\n", "expected llama-bench CSV fields n_prompt, n_gen and avg_ts"),
    ("build_commit,n_prompt,n_gen,avg_ts\nx,512,128,90.5\n", "with no prefill or decode result"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_files_get_one_line_naming_the_format(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_runs(text, "runs.txt")
    msg = str(exc.value)
    assert message in msg and "\n" not in msg and msg.startswith("runs.txt")


@pytest.mark.parametrize(("text", "seconds"), [
    ("18.293521648s", 18.293521648), ("97.885315ms", 0.097885315), ("2m43.589481292s", 163.589481292),
    ("512µs", 512e-6), ("1h2m3s", 3723.0), ("12.3s", 12.3), ("fast", None), ("3 s", None)])
def test_go_durations(text: str, seconds: float | None) -> None:
    got = go_duration_s(text)
    assert got == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("text", "quant"), [
    ("qwen2 7B Q4_K - Medium", "Q4_K_M"), ("llama 8B IQ2_XXS - 2.0625 bpw", "IQ2_XXS"),
    ("qwen3 27B IQ3_S mix - 3.66 bpw", "IQ3_M"), ("llama 7B Q2_K - Medium", "Q2_K"),
    ("llama 7B Q2_K - Small", "Q2_K_S"), ("gpt-oss 20B MXFP4 MoE", "MXFP4"), ("llama 7B mostly Q4_0", "Q4_0"),
    ("llama 8B Q5_K - Small", "Q5_K_S"), ("llama 8B F16", "F16"), ("llama 8B Q6_K", "Q6_K"), ("qwen3 8B", None)])
def test_quant_from_llama_model_type(text: str, quant: str | None) -> None:
    assert quant_from_llama_type(text) == quant


@pytest.mark.parametrize(("name", "quant"), [
    ("Qwen2.5-7B-Instruct-Q4_K_M", "Q4_K_M"), ("Qwen3.6-27B-UD-IQ2_XXS", "IQ2_XXS"), ("gemma-3-4b-it-q8_0", "Q8_0"),
    ("model-f16", "F16"), ("Llama-3.1-8B", None)])
def test_quant_from_file_name(name: str, quant: str | None) -> None:
    assert quant_from_filename(name) == quant


_runs = st.builds(
    MeasuredRun, engine=st.sampled_from(["llama.cpp", "ollama", "mlx", "vllm"]),
    model=st.none() | st.text(min_size=1, max_size=20), prompt_tokens=st.integers(0, 10**6),
    gen_tokens=st.integers(0, 10**5), depth_tokens=st.integers(0, 10**6),
    prefill_tokens_per_s=st.none() | st.floats(0.01, 1e6), decode_tokens_per_s=st.none() | st.floats(0.01, 1e5),
    flash_attention=st.none() | st.booleans(), n_gpu_layers=st.none() | st.integers(-1, 999))


@given(_runs)
def test_run_dict_round_trip(run: MeasuredRun) -> None:
    assert MeasuredRun.from_dict(run.to_dict()) == run


@given(st.text(max_size=400))
def test_any_text_parses_or_gets_invalid_input(text: str) -> None:
    try:
        _, runs = parse_runs(text, "t")
    except InvalidInput:
        return
    assert runs and all(r.decode_tokens_per_s is None or math.isfinite(r.decode_tokens_per_s) for r in runs)
