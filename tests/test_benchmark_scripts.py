"""The fitting and accuracy scripts on a checkout without the calibration set: one line naming the missing
file, exit code 2, no traceback (they need ../shared/calibration; rigfit and its tests do not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("args", "missing"), [
    (["fit_speed.py", "--check"], "throughput_llamacpp.csv"),
    (["fit_speed.py"], "throughput_llamacpp.csv"),
    (["accuracy.py"], "memory_llamacpp.csv"),
    (["accuracy.py", "speed"], "throughput_llamacpp.csv"),
    (["accuracy.py", "modern"], "throughput_modern.csv"),
])
def test_a_missing_calibration_set_is_one_line(tmp_path: Path, args: list[str], missing: str) -> None:
    env = {**os.environ, "RIGFIT_CALIBRATION_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"calibration file not found: {tmp_path / missing}")
    assert "RIGFIT_CALIBRATION_DIR" in lines[0]


HEADER = ("source,source_ref,engine,engine_version,backend,hardware,n_gpus,unified_memory_gb,vram_gb,cpu,os,model,"
          "params_b,active_params_b,is_moe,quant,file_size_gib,prompt_tokens,gen_tokens,depth,concurrency,flash_attn,"
          "kv_type,gpu_layers,tensor_parallel,spec_decoding,metric,value,notes")
REQUEST = ("completion_tokens / wall time of one non-streaming OpenAI-API request; 3 runs, avgTps {tps}, "
           "avgTotalMs {ms}, avgOutputTokens {gen}; device: {dev}")


def test_whole_request_rows_are_read_as_request_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """modern_rows.load_request_rows: the llmfit community runs that time whole requests become metric "req"
    rows (completion tokens / wall time), MLX names carry their format, Ollama's pure decode rates stay out."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.setenv("RIGFIT_CALIBRATION_DIR", str(tmp_path))
    from modern_rows import load_request_rows

    rows = [
        ("llama.cpp", "", "AMD Radeon RX 7900 XT", "", "Qwen3-8B-Q4_K_M.gguf", "Q4_K_M",
         REQUEST.format(tps=80.0, ms=2500.0, gen=200.0, dev="RX 7900 XT")),
        ("MLX", "metal", "Apple M4 Pro", "24", "Qwen2.5-7B-Instruct-4bit", "",
         REQUEST.format(tps=51.6, ms=4000.0, gen=214.0, dev="Apple M4 Pro")),
        ("Ollama", "", "Apple M5 Max", "48", "llama3.1:8b", "",
         REQUEST.format(tps=89.3, ms=3400.0, gen=300.0, dev="Apple M5 Max")),
    ]
    lines = [HEADER] + [f'llmfit community (llmfit-core/data/community),ref,{eng},,{be},{hw},1,{mem},,,,{model},,,0,'
                        f'{quant},,,,0,1,,,,,,decode_tok_s,1.0,"{notes}"'
                        for eng, be, hw, mem, model, quant, notes in rows]
    path = tmp_path / "throughput_modern.csv"
    path.write_text("\n".join(lines) + "\n")
    got = load_request_rows(path)
    assert [(r.engine, r.model, r.quant, r.hardware, r.metric, r.gen) for r in got] == [
        ("llama.cpp", "Qwen3-8B-Q4_K_M", "Q4_K_M", "AMD Radeon RX 7900 XT", "req", 200),
        ("mlx", "Qwen2.5-7B-Instruct", "MLX-4BIT", "Apple M4 Pro 24GB", "req", 214),
    ]
    assert got[0].measured == pytest.approx(200 / 2.5) and got[1].measured == pytest.approx(214 / 4.0)
    assert got[0].prompt == 45 and got[1].device == "Apple M4 Pro"


@pytest.mark.parametrize(("model", "prompt", "ttft_s", "cached"), [
    # throughput_modern.csv, Ollama on an M1 Max (localmaxxing, 2026-07-22): Mistral Small 3.2 24B, 530 tokens in
    # 88 ms, is 25 TFLOP in 0.09 s on a 7.9 TFLOPS chip: a cached prompt
    ("mistral-small3.2:24b", 530, 0.088, True),
    # gpt-oss-20b, 88 tokens in 171.5 ms: 0.7 TFLOP, within the chip's reach
    ("gpt-oss:20b", 88, 0.1715, False),
])
def test_prompts_beyond_the_peak_arithmetic_are_cache_hits(monkeypatch: pytest.MonkeyPatch, model: str, prompt: int,
                                                           ttft_s: float, cached: bool) -> None:
    """accuracy._beats_peak_arithmetic: a prompt timed at under half of 2 x active parameters x tokens at the
    chip's peak is a prefix the engine reused, not a prefill rate, and is left out of the scores."""
    from types import SimpleNamespace

    import rigfit

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from accuracy import _beats_peak_arithmetic

    f = rigfit.fit(model, engine="ollama", hardware=["M1 Max 64GB"])
    row = SimpleNamespace(metric="ttft", prompt=prompt, measured=ttft_s)
    assert _beats_peak_arithmetic(f, row) is cached


@pytest.mark.parametrize(("model", "measured", "beyond"), [
    # throughput_modern.csv, Ollama on an M5 Max 48 GB (localmaxxing): gemma4:31b-mlx at 47.2 tok/s (an MLX tag,
    # likely drafting ahead with a multi-token-prediction head; its GGUF tag at that rate), above the 33 tok/s
    # that reading a 4-bit 31B model once per token at 614 GB/s allows; devstral:24b at 31.4, below it
    ("gemma4:31b", 47.2, True),
    ("devstral:24b", 31.4, False),
])
def test_decode_beyond_the_bandwidth_is_not_scored(monkeypatch: pytest.MonkeyPatch, model: str, measured: float,
                                                   beyond: bool) -> None:
    """accuracy._beats_bandwidth: a decode rate above the plan's bandwidth roofline is not a plain decode of that
    model and file, and is left out of the scores."""
    from types import SimpleNamespace

    import rigfit

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from accuracy import _beats_bandwidth

    f = rigfit.fit(model, engine="ollama", hardware=["Apple M5 Max 48GB"])
    assert _beats_bandwidth(f, SimpleNamespace(metric="tg", measured=measured)) is beyond


def test_deep_decode_beyond_weights_and_cache_is_not_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """accuracy._beats_bandwidth counts the cache a token reads: throughput_modern.csv's llama-bench tg128 @
    d131072 of Qwen3.6-27B IQ1_M on a 12 GB RTX 4070 with a Ryzen 5 5600X (h1st0ry3D, August 2026) measured 18.6
    tok/s.  The weights (7 GiB) and an f16 cache of 131k tokens (8 GiB) cannot share 12 GB, and reading the part
    in system RAM over dual-channel DDR4-3200 allows about 8 tok/s: not a plain decode of that plan, left out.
    Counting the weights alone, the bound was 22 tok/s and the row was scored."""
    from types import SimpleNamespace

    import rigfit

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from accuracy import _beats_bandwidth

    f = rigfit.fit("mradermacher/Qwen3.6-27B-i1-GGUF", quant="IQ1_M", hardware=["RTX 4070", "AMD AM4 desktop"],
                   context_tokens=131072 + 640, depth_tokens=131072, prompt_tokens=512, gen_tokens=128)
    assert f.placement is not None and f.placement.verdict == "partial_offload"
    assert _beats_bandwidth(f, SimpleNamespace(metric="tg", measured=18.6))


@pytest.mark.parametrize(("cmd", "kv_type"), [
    # throughput_modern.csv commands: the first as an RTX 4070 run's, the second as the RTX 5090 NVFP4 run's whose
    # kv_type column says q8_0 (a TurboQuant fork's V cache, which rigfit and mainline llama.cpp do not have)
    ("llama-bench -m m.gguf -p 512 -n 128 -d 4096 -o json -ctk q8_0 -ctv q8_0 -fa 1", "q8_0"),
    ("llama-server -m m.gguf -ngl 999 -c 131072 -fa on -ctk q8_0 -ctv turbo4 --jinja", "k=q8_0,v=turbo4"),
    ("llama-server -m m.gguf --cache-type-k q8_0 --cache-type-v | turbo4 -np 1", "k=q8_0,v=turbo4"),
    ("llama-server -m m.gguf --cache-type-k=q4_0", "k=q4_0,v=f16"),  # the V cache keeps llama.cpp's f16
    ("llama-bench -m m.gguf -p 512 -n 128", None),
])
def test_a_commands_cache_types_are_read_from_it(monkeypatch: pytest.MonkeyPatch, cmd: str, kv_type: str | None
                                                 ) -> None:
    """modern_rows.command_kv_type: the cache types a row's own command asks for win over the file's one-type
    column; a fork's type then fails to plan (the row is not scored as mainline llama.cpp)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import command_kv_type, kv_settings

    assert command_kv_type(cmd) == kv_type
    if kv_type == "k=q8_0,v=turbo4":
        import rigfit
        from rigfit.errors import RigfitError

        with pytest.raises(RigfitError, match="turbo4"):
            rigfit.fit("llama3.1:8b", hardware=["RTX 5090"], **kv_settings(kv_type))  # type: ignore[arg-type]


@pytest.mark.parametrize(("cmd", "settings"), [
    # throughput_modern.csv commands: an RTX 3060 llama-bench sweep's, a server's long options, and one with
    # -tb (prompt threads, which the plan has no setting for) beside -t
    ("llama-bench -m m.gguf -p 512 -n 128 -b 4096 -ub 1024 -t 16 -ngl 99 -fa on -r 2 -o json",
     {"n_batch": 4096, "n_ubatch": 1024, "n_threads": 16}),
    ("llama-server -m m.gguf --batch-size 2048 --ubatch-size=512 --threads 8", {"n_batch": 2048, "n_ubatch": 512,
                                                                                 "n_threads": 8}),
    ("llama-bench -m m.gguf -t 8 -tb 4 -p 512", {"n_threads": 8}),
    ("llama-bench -m m.gguf -p 512 -n 128", {}),
])
def test_a_commands_batch_and_threads_are_planned(monkeypatch: pytest.MonkeyPatch, cmd: str,
                                                  settings: dict[str, int]) -> None:
    """modern_rows.command_settings: -b / -ub / -t as the row ran them, so a prompt row with -ub 1024 is timed
    with 1,024-token micro-batches, not llama.cpp's default 512."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import command_settings

    assert command_settings(cmd) == settings


@pytest.mark.parametrize(("kv_type", "label"), [("fp8_e4m3", "fp8"), ("fp8", "fp8"), ("auto", "bf16"), (None, "bf16")])
def test_a_vllm_rows_cache_dtype_is_planned(monkeypatch: pytest.MonkeyPatch, kv_type: str | None, label: str) -> None:
    """modern_rows.fit_single_run plans a vLLM row with the --kv-cache-dtype it ran (throughput_modern.csv's
    kv_type: fp8 or fp8_e4m3 on 65 vLLM rows); "auto" is the model's own dtype."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import ModernRow, fit_single_run

    row = ModernRow(engine="vllm", backend="cuda", hardware="RTX 5090", device="RTX 5090", model="Qwen/Qwen3-8B",
                    quant="FP8", metric="tg", prompt=512, gen=128, depth=0, flash_attention=None, kv_type=kv_type,
                    gpu_layers=None, n_cpu_moe=None, bench=False, measured=100.0, is_moe=False)
    assert fit_single_run(row).memory.run.kv_label == label


@pytest.mark.parametrize(("cmd", "unplanned"), [
    # throughput_modern.csv: an RTX 4070 server run of Qwen3.6-27B UD-IQ2_M with its cache in system RAM
    ("llama-server -m m.gguf -ngl 99 -c 131072 --no-kv-offload -ctk q4_0 -ctv q4_0 -b 512 -ub 128 -t 6",
     "--no-kv-offload"),
    ("llama-bench -m m.gguf -nkvo 1 -p 512", "-nkvo"),
    ("llama-server -m m.gguf -ot 'exps=CPU' -ngl 99", "-ot"),
    ("llama-server -m m.gguf --kv-offload -ngl 99", ""),  # the default, said out loud
    ("llama-server -m m.gguf --override-tensor-draft token_embd.weight=CUDA0", ""),  # a draft model's, not the run's
])
def test_a_run_with_an_option_rigfit_does_not_plan_is_not_scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 cmd: str, unplanned: str) -> None:
    """modern_rows: a run whose command keeps the cache in system RAM (--no-kv-offload) or places tensors by pattern
    (--override-tensor) is not planned as if it had not (fit_single_run refuses it, so neither the fit nor the
    scores use it)."""
    from rigfit.errors import RigfitError

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import UNPLANNED_OPTIONS, ModernRow, fit_single_run

    m = UNPLANNED_OPTIONS.search(cmd)
    assert (m.group(1) if m else "") == unplanned
    row = ModernRow(engine="llama.cpp", backend="cuda", hardware="RTX 4070", device="RTX 4070", model="llama3.1:8b",
                    quant="Q4_K_M", metric="tg", prompt=512, gen=128, depth=0, flash_attention=None, kv_type=None,
                    gpu_layers=None, n_cpu_moe=None, bench=False, measured=50.0, is_moe=False, unplanned=unplanned)
    if unplanned:
        with pytest.raises(RigfitError, match=unplanned):
            fit_single_run(row)
    else:
        assert fit_single_run(row).speed is not None


@pytest.mark.parametrize(("cmd", "notes", "context"), [
    # throughput_modern.csv: an RTX 3080 Ti server run of Qwen3.5-9B Q8_0 (its command's context), a
    # submission quoting no command (localmaxxing's contextLength), and a server sizing its context itself (-c 0)
    ("llama-server -m Qwen3.5-9B-Q8_0.gguf -c 250000 -ngl 99", "contextLength=250000", 250000),
    ("", "localmaxxing.com community submission; contextLength=131072; params/activeParams ...", 131072),
    ("llama-server -m m.gguf --ctx-size=8192 -np 1", "contextLength=8192", 8192),
    ("llama-server -m m.gguf -c 0 -np 2", "contextLength=0", None),
    ("llama-server -m m.gguf -ngl 99", "contextLength=4096", None),  # the command is quoted and sets none
])
def test_a_servers_context_is_planned_as_it_ran(monkeypatch: pytest.MonkeyPatch, cmd: str, notes: str,
                                                 context: int | None) -> None:
    """modern_rows.server_context: a server run's plan holds the context the server allocated, which decides what
    fits on the GPU.  The RTX 3080 Ti's 250k-token Qwen3.5-9B Q8_0 server decoded 15.4 tok/s: planned with the
    request's few hundred tokens of context it was predicted 81 (+426 %), with its own 17 (+11 %)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import server_context

    assert server_context(cmd, notes) == context


def test_pooled_table_counts_each_row_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    """accuracy.pooled_table: predicted / measured time ratios pooled per source and over all of them; a class
    without held-out ratios adds to the in-sample figures only (ratio 0.8 is a rate 25 % high, 1.25 one 20 % low)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from accuracy import pooled_table

    pool = [("2025-2026", "tg", [0.8, 1.0, 1.25], [0.8, 1.25, 1.25]),
            ("2025-2026", "tg", [1.0], []),
            ("LocalScore", "tg", [0.5], [0.5]), ("published llama-bench (benchmarks/data)", "pp", [1.0], [])]
    pooled_table(pool)
    lines = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line
             for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert lines[("2025-2026", "tg")] == "| 2025-2026 | tg | 4 | 10.0 | 25.0 | 3 | 20.0 | 25.0 |"
    assert lines[("all but LocalScore", "tg")] == lines[("2025-2026", "tg")].replace("2025-2026", "all but LocalScore")
    assert lines[("calibration files", "tg")] == lines[("2025-2026", "tg")].replace("2025-2026", "calibration files")
    assert lines[("all", "tg")] == "| all | tg | 5 | 20.0 | 100.0 | 4 | 22.5 | 100.0 |"
    assert ("2025-2026", "pp") not in lines and ("calibration files", "pp") not in lines
    assert lines[("all but LocalScore", "pp")] == "| all but LocalScore | pp | 1 | 0.0 | 0.0 | 0 | - | - |"


def test_a_file_of_mixed_backends_names_each_rows_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/data/amd_igpu.csv mixes Vulkan and ROCm runs: each row carries its backend, which the published
    table plans it with (BenchRow.backend), and every row's iGPU resolves to an AMD unified-memory entry."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import DATA, load_bench_rows
    from rigfit.hardware.resolve import resolve_device

    rows = load_bench_rows(DATA / "amd_igpu.csv")
    assert rows and {r.backend for r in rows} == {"vulkan", "rocm"}
    devices = {resolve_device(r.device) for r in rows}
    assert all(d.vendor == "amd" and d.unified for d in devices)
    assert {d.bandwidth_gb_s for d in devices} == {89.6, 120.0}  # DDR5-5600 SO-DIMMs and LPDDR5X-7500


def test_the_published_cpu_and_mlx_rows_plan_as_they_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/data/cpu_current.csv plans on llama.cpp's CPU class with each run's threads, and the decode rows of
    mlx_macs.csv that fit_speed.fit_mlx_decode fits on are MLX's base / Pro / Max classes (Ultras stand apart)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from modern_rows import fit_cpu_row, fit_mlx_row, load_cpu_rows, load_mlx_rows

    cpu = load_cpu_rows()
    assert len(cpu) >= 10 and {r.metric for r in cpu} == {"pp", "tg"}
    for r in cpu:
        f = fit_cpu_row(r)
        assert f.speed is not None and f.speed.classes == ("cpu",), r
        assert f.memory.run.n_threads == r.threads
    mlx = [r for r in load_mlx_rows() if r.metric == "tg"]
    classes = {fit_mlx_row(r).speed.classes[0] for r in mlx[:12]}
    assert classes <= {"mlx-metal", "mlx-metal-na", "mlx-metal-ultra"} and "mlx-metal" in classes


def test_current_builds_hand_off_is_held_at_its_prior(monkeypatch: pytest.MonkeyPatch) -> None:
    """fit_speed.fit_cuda_decode holds global t_hop (a hand-off between devices per token) at T_HOP_PRIOR_S, tens
    of us: fitted, it was 0 on every row and 646 us in the leave-one-card-out fold without the RTX 3060, so the
    shipped constant is the prior, not a fit."""
    from rigfit.speedclass import load_speed_params

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from fit_speed import T_HOP_PRIOR_S

    assert 1e-5 <= T_HOP_PRIOR_S <= 1e-4
    assert load_speed_params().globals_["t_hop"] == pytest.approx(T_HOP_PRIOR_S, rel=1e-6)


def test_a_250k_context_server_on_a_12gb_card_is_planned_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """throughput_modern.csv: llama-server -c 250000 with Qwen3.5-9B Q8_0 on an RTX 3080 Ti (12 GB) decoded 15.4
    tok/s.  Planned with the server's context, within 25 % (the weights and a 250k cache cannot share 12 GB);
    planned with the request's own few hundred tokens, it would fit and decode about 5x faster."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from dataclasses import replace

    from modern_rows import ModernRow, fit_single_run

    row = ModernRow(engine="llama.cpp", backend="cuda", hardware="RTX 3080 Ti", device="RTX 3080 Ti",
                    model="Qwen/Qwen3.5-9B", quant="Q8_0", metric="tg", prompt=0, gen=128, depth=0,
                    flash_attention=None, kv_type=None, gpu_layers=None, n_cpu_moe=None, bench=False, measured=15.4,
                    is_moe=False, context=250000)
    as_run = fit_single_run(row).speed.decode_tokens_per_s
    assert as_run == pytest.approx(15.4, rel=0.25)
    assert fit_single_run(replace(row, context=None)).speed.decode_tokens_per_s > 4 * as_run
