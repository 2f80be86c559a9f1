"""Rows of ``throughput_modern.csv`` (2025-2026 llama.cpp, Ollama, vLLM, MLX runs) as rigfit fits.

Only rows a plain autoregressive model can be scored on: no speculative decoding (MTP, draft models), one
request at a time, a decode or prefill rate, a model and a device rigfit resolves.  llama-bench tests run
from the stated depth (``-d``; ``tgN`` and ``ppN`` each start there), so decode is timed from the depth, not
after the prompt; llama-server, Ollama, vLLM and MLX rows decode after their prompt.  The llmfit-community
rows for llama-server, vLLM and MLX divide completion tokens by the wall time of a whole request (prefill and
HTTP included, calibration README), so their decode is a lower bound and is skipped for fitting.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration import calibration_file

CSV = calibration_file("throughput_modern.csv")
ENGINES = {"llama.cpp": "llama.cpp", "Ollama": "ollama", "vLLM": "vllm", "MLX": "mlx"}


@dataclass(frozen=True)
class ModernRow:
    engine: str  # rigfit engine name
    backend: str  # cuda | rocm | vulkan | metal | cpu | "" (the engine's default for the device)
    hardware: str  # rigfit hardware text ("2x RTX 3090", "Apple M4 Pro 10P+4E+20GPU 48GB")
    device: str  # the normalized device tag rows are grouped by (leave-one-device-out)
    model: str
    quant: str
    metric: str  # tg | pp | ttft
    prompt: int
    gen: int
    depth: int
    flash_attention: bool | None
    kv_type: str | None
    gpu_layers: int | None
    n_cpu_moe: int | None
    bench: bool  # llama-bench (each test from the depth) rather than a server request
    measured: float
    is_moe: bool
    cpu: str = ""  # the row's CPU as a rigfit CPU platform (its memory bandwidth feeds offloaded layers), or ""
    users: int = 1  # concurrent requests (llama-server -np slots): decode is then the aggregate over all of them
    ram_bytes: int | None = None  # the machine's system RAM where the row states it (LocalScore reads it from the OS)
    n_batch: int | None = None  # llama.cpp -b / -ub / -t as the row's command gives them (command_settings)
    n_ubatch: int | None = None
    n_threads: int | None = None
    unplanned: str = ""  # an option of the row's command that rigfit does not plan (UNPLANNED_OPTIONS), or ""
    context: int | None = None  # a server's context as it ran (server_context), None for llama-bench

    @property
    def machine(self) -> list[str]:
        """The rigfit hardware list: the accelerators, and the CPU platform where the row names a known CPU."""
        return [self.hardware, *([self.cpu] if self.cpu else [])]


def _cpu_platform(text: str) -> str:
    from rigfit.hardware.catalog import default_hardware

    model = default_hardware().cpu_model(text) if text else None
    return model.platform if model else ""


def command_kv_type(cmd: str) -> str | None:
    """The cache types a llama.cpp command line asks for (-ctk / --cache-type-k, -ctv / --cache-type-v; the one
    not given is llama.cpp's f16), as ModernRow.kv_type: one type, or "k=...,v=..." where they differ; None where
    the command names neither.  The command wins over the file's kv_type column, which keeps one type per row (a
    run with -ctk q8_0 -ctv turbo4, a fork's cache type, is listed there as q8_0)."""
    k = re.search(r"(?:-ctk|--cache-type-k)[ =]+([\w.]+)", cmd)
    v = re.search(r"(?:-ctv|--cache-type-v)[ =|]+([\w.]+)", cmd)
    if not (k or v):
        return None
    kt, vt = (k.group(1) if k else "f16"), (v.group(1) if v else "f16")
    return kt if kt == vt else f"k={kt},v={vt}"


def command_settings(cmd: str) -> dict[str, int]:
    """The batch, micro-batch and CPU thread counts a llama.cpp command line sets (-b / --batch-size, -ub /
    --ubatch-size, -t / --threads), as ModernRow fields; the ones it does not set are left to the plan's
    defaults (llama.cpp's 2048 / 512, one thread per physical core)."""
    out = {}
    for key, pattern in (("n_batch", r"(?<![\w-])(?:-b|--batch-size)[ =]+(\d+)"),
                         ("n_ubatch", r"(?<![\w-])(?:-ub|--ubatch-size)[ =]+(\d+)"),
                         ("n_threads", r"(?<![\w-])(?:-t|--threads)[ =]+(\d+)")):
        m = re.search(pattern, cmd)
        if m:
            out[key] = int(m.group(1))
    return out


def server_context(cmd: str, notes: str) -> int | None:
    """The context a llama-server run allocated: its command's -c / --ctx-size, else the contextLength the
    submission lists (localmaxxing's field, where no command is quoted); None where neither is given or it is 0
    (the model's own)."""
    m = re.search(r"(?<![\w-])(?:-c|--ctx-size)[ =]+(\d+)", cmd)
    if m is None and not cmd:
        m = re.search(r"contextLength=(\d+)", notes)
    if m is None or int(m.group(1)) == 0:
        return None
    return int(m.group(1))


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


METRICS = {"decode_tok_s": "tg", "prefill_tok_s": "pp", "ttft_ms": "ttft"}
# llama.cpp options that move work where rigfit's plan would not put it: the KV cache (and a hybrid model's recurrent
# state) kept in system RAM with attention on the CPU (--no-kv-offload), tensors placed by pattern (--override-tensor)
UNPLANNED_OPTIONS = re.compile(r"(?<![\w-])(--no-kv-offload|-nkvo|--override-tensor|-ot)(?![\w-])")


def load_modern_rows(path: Path = CSV, metrics: tuple[str, ...] = ("decode_tok_s", "prefill_tok_s"),
                     concurrent: bool = False) -> list[ModernRow]:
    """The rows of ``metrics`` rigfit can score; a ``ttft`` row's ``measured`` is in seconds.  ``concurrent``:
    the rows with more than one request at a time instead (their decode is the aggregate rate)."""
    out = []
    with path.open() as f:
        for r in csv.DictReader(f):
            eng = ENGINES.get(r["engine"])
            if eng is None or r["metric"] not in metrics:
                continue
            users = _int(r["concurrency"]) or 1
            if r["spec_decoding"] not in ("none", "") or (users > 1) != concurrent:
                continue
            notes = r["notes"]
            cmd = notes.split("cmd: ", 1)[1] if "cmd: " in notes else ""
            bench = "llama-bench" in cmd
            metric = METRICS[r["metric"]]
            if metric == "tg" and r["source"].startswith("llmfit community") and eng in ("llama.cpp", "vllm", "mlx"):
                continue  # completion tokens / whole-request wall time: not a decode rate
            if metric in ("pp", "ttft") and "--no-mmproj-offload" in cmd:
                # a vision server with its image encoder on the CPU: the timed prompt held an image (the submitter's
                # notes: "image prefill 38.09"), whose encoding rigfit does not price, at 37-41 tok/s on an RTX 4070
                continue
            n = _int(r["n_gpus"]) or 0
            hw = _machine(r)
            dev = re.search(r"device: ([^;]+)", notes)
            ncm = re.search(r"(?:--n-cpu-moe|-ncmoe)[ =](\d+)", cmd)
            # a llama-bench row without -fa is planned with the engine's default flash attention (auto: on where
            # the backend has the kernels), as the 2026 llama-bench source found defaults it (cmd_params_defaults
            # flash_attn LLAMA_FLASH_ATTN_TYPE_AUTO, n_gpu_layers -1; one of 2025: false, 99).  Taken as off, the
            # 98k-token rows on 12 GB cards could not have fitted (their scores alone need gigabytes), and CUDA
            # prompts scored 10.6 % median where auto scores 9.2
            mem = _int(r["unified_memory_gb"] or "")
            out.append(ModernRow(
                engine=eng, backend=r["backend"], hardware=f"{n}x {hw}" if n > 1 else hw,
                device=dev.group(1).strip() if dev else hw, model=r["model"], quant=r["quant"], metric=metric,
                # a llama-bench prompt row without a recorded length ran its default -p 512; a server's prompt rate
                # without one is over an unknown prompt (request latency included): 0, which the short-prompt rule
                # of fit_speed.py and accuracy.py then leaves out
                prompt=_int(r["prompt_tokens"]) or (512 if metric == "pp" and bench else 0),
                gen=_int(r["gen_tokens"]) or 128,
                depth=_int(r["depth"]) or 0,
                flash_attention={"1": True, "0": False}.get(r["flash_attn"]),
                kv_type=command_kv_type(cmd) or r["kv_type"] or None,
                gpu_layers=_int(r["gpu_layers"]), n_cpu_moe=int(ncm.group(1)) if ncm else None, bench=bench,
                measured=float(r["value"]) / (1000 if metric == "ttft" else 1),
                is_moe=r["is_moe"].lower() in ("true", "1", "yes"),
                cpu=_cpu_platform(r["cpu"]) if n >= 1 and not mem and eng in ("llama.cpp", "ollama", "vllm") else "",
                users=users, **(command_settings(cmd) if eng == "llama.cpp" else {}),
                unplanned=m.group(1) if (m := UNPLANNED_OPTIONS.search(cmd)) else "",
                context=None if bench or eng != "llama.cpp" else server_context(cmd, notes)))
    return out


_REQUEST = re.compile(r"avgTotalMs ([\d.]+), avgOutputTokens ([\d.]+)")
REQUEST_PROMPT_TOKENS = 45  # llmfit bench: "short built-in prompts (one of 4, about 10-80 tokens)"


def load_request_rows(path: Path = CSV) -> list[ModernRow]:
    """The llmfit community runs that time whole requests (completion tokens / wall time of one non-streaming
    request: prefill of a short prompt, decode and HTTP included) as ``metric="req"`` rows: ``measured`` is that
    request rate and ``gen`` the mean completion length, so they are scored against the predicted time of the
    same request (time to first token + gen decode steps), not against a decode rate."""
    out = []
    with path.open() as f:
        for r in csv.DictReader(f):
            eng = ENGINES.get(r["engine"])
            m = _REQUEST.search(r["notes"])
            if eng is None or eng == "ollama" or r["metric"] != "decode_tok_s" or m is None or \
                    not r["source"].startswith("llmfit community"):
                continue  # Ollama's community rows are its eval_count / eval_duration: a pure decode rate
            total_s, gen = float(m.group(1)) / 1000, float(m.group(2))
            model, quant = r["model"].removesuffix(".gguf"), r["quant"]
            bits = re.search(r"-(\d)bit$", model)
            if eng == "mlx" and bits:  # mlx-community names carry the MLX format: Qwen2.5-7B-Instruct-4bit
                model, quant = model[:bits.start()], f"MLX-{bits.group(1)}BIT"
            hw = _machine(r)
            dev = re.search(r"device: ([^;]+)", r["notes"])
            out.append(ModernRow(
                engine=eng, backend=r["backend"], hardware=hw, device=dev.group(1).strip() if dev else hw,
                model=model, quant=quant, metric="req", prompt=REQUEST_PROMPT_TOKENS, gen=max(1, round(gen)),
                depth=0, flash_attention=None, kv_type=None, gpu_layers=None, n_cpu_moe=None, bench=False,
                measured=gen / total_s, is_moe=r["is_moe"].lower() in ("true", "1", "yes")))
    return out


def decode_depth(row: ModernRow) -> int:
    """The tokens in the cache when the row's measured work starts: llama-bench runs each test from its ``-d``
    depth; a server decodes after the row's own prompt (and prefills, to its first token, from its depth)."""
    return row.depth if (row.bench or row.metric in ("pp", "ttft")) else row.depth + row.prompt


def kv_settings(kv_type: str | None) -> dict[str, object]:
    """A row's kv_type as fit() settings: one type ("q8_0"), or the K and V caches' apart ("k=q8_0,v=f16",
    llama.cpp -ctk / -ctv)."""
    if not kv_type:
        return {}
    parts = dict(p.split("=", 1) for p in kv_type.split(",") if "=" in p)
    if "k" in parts and "v" in parts:
        return {"kv_cache_type": parts["k"], "kv_cache_type_v": parts["v"]}
    return {"kv_cache_type": kv_type}


def fit_single_run(row: ModernRow) -> Any:
    """The plan for a one-request row as it was run: the row's engine, backend, quant, prompt, answer, depth,
    and, for llama.cpp and Ollama, its flash attention, KV type, -ngl and --n-cpu-moe; llama.cpp's -b / -ub / -t
    and a server's context (command_settings, server_context); vLLM's fp8 cache; no safety headroom (the
    measured runs set their own layers).  The accuracy harness and the fit (fit_speed.modern_forms) both plan
    rows here, so that a constant is fitted on the configuration it is scored on.  Raises RigfitError where
    rigfit cannot plan it, a run with an option in UNPLANNED_OPTIONS among them."""
    import rigfit
    from rigfit.errors import InvalidInput

    if row.unplanned:
        raise InvalidInput(f"the run used {row.unplanned}, which rigfit does not plan")
    kw: dict[str, object] = {"backend": row.backend} if row.backend else {}
    if row.engine in ("llama.cpp", "ollama"):
        if row.flash_attention is not None:
            kw["flash_attention"] = row.flash_attention
        kw |= kv_settings(row.kv_type)
        if row.n_cpu_moe is not None:
            kw["n_cpu_moe"] = row.n_cpu_moe
    elif row.engine == "vllm" and row.kv_type and row.kv_type.startswith("fp8"):
        kw["kv_cache_type"] = row.kv_type  # --kv-cache-dtype fp8 (fp8_e4m3 / fp8_e5m2); "auto" is the model's dtype
    kw |= {k: v for k, v in (("n_batch", row.n_batch), ("n_ubatch", row.n_ubatch), ("n_threads", row.n_threads))
           if v is not None}
    if row.gpu_layers is not None and row.gpu_layers < 90 and row.n_cpu_moe is None:
        kw["gpu_layers"] = row.gpu_layers  # -ngl 99 and up: every layer (the planner's own choice when it fits)
    quant = row.quant or None
    if quant is None or quant.lower() in ("fp16", "bf16", "auto"):
        from rigfit.quant import checkpoint_quant

        # vLLM rows give the activation dtype; a quantized checkpoint's name gives its weights (...-int4-AutoRound)
        quant = checkpoint_quant(row.model) or quant
    # a server's decode follows the row's own prompt: decode_depth counts it in the depth, so the request's prompt
    # is then a token (the context holds the depth, the prompt and the answer once)
    depth = decode_depth(row)
    prompt = 1 if depth > row.depth else max(row.prompt, 1)
    return rigfit.fit(row.model, engine=row.engine, quant=quant, hardware=row.machine, headroom_bytes=0,
                      prompt_tokens=prompt, gen_tokens=max(row.gen, 1), depth_tokens=depth,
                      context_tokens=max(row.prompt + row.depth + row.gen + 16, 512, row.context or 0), **kw)


def fit_whole_run(row: ModernRow) -> Any:
    """The plan for a whole-request row (``metric="req"``: a short prompt then the answer, 4k context) or a
    row with several users (each a sequence with its own prompt and answer), as the runs were made: the
    row's engine, backend and KV type, no safety headroom.  None where rigfit cannot plan it (a model,
    quant or device it does not know)."""
    import rigfit
    from rigfit.errors import RigfitError

    kw: dict[str, object] = {"backend": row.backend} if row.backend else {}
    kw |= kv_settings(row.kv_type)
    if row.metric == "req":
        kw |= {"prompt_tokens": row.prompt, "context_tokens": 4096}
    else:
        kw |= {"prompt_tokens": max(row.prompt, 1), "n_seq": row.users,
               "context_tokens": row.users * max(row.prompt + row.gen + 16, 512)}
    try:
        return rigfit.fit(row.model, quant=row.quant or None, hardware=row.machine, engine=row.engine,
                          headroom_bytes=0, gen_tokens=row.gen, **kw)
    except RigfitError:
        return None


# LocalScore's nine tests (prompt tokens, generated tokens), each from an empty cache with n_ctx = prompt + gen;
# its summary numbers are the arithmetic means of the nine tests' prompt rate, generation rate and time to first
# token (Mozilla-Ocho/llamafile localscore/localscore.cpp get_baseline_test_configs, getResultsSummary;
# localscore/benchmark.cpp: prompt in n_batch chunks, then n_gen single-token decodes, ttft = prompt time + the
# first decode)
LOCALSCORE_TESTS = ((1024, 16), (4096, 256), (2048, 256), (2048, 768), (1024, 1024), (1280, 3072), (384, 1152),
                    (64, 1024), (16, 1536))


def load_localscore_rows(path: Path = CSV) -> list[ModernRow]:
    """The LocalScore rows (llamafile 0.9, one GPU or the CPU): ``measured`` is the mean over LOCALSCORE_TESTS of
    the prompt rate (``pp``), the generation rate (``tg``) or the time to first token in seconds (``ttft``);
    ``prompt`` and ``gen`` are unused.  The GPU rows carry their CPU platform where rigfit knows it."""
    out = []
    with path.open() as f:
        for r in csv.DictReader(f):
            if r["engine"] != "llamafile" or r["metric"] not in METRICS:
                continue
            metric = METRICS[r["metric"]]
            notes = r["notes"]
            dev = re.search(r"device: ([^;]+)", notes)
            hw = _machine(r, by_vram=True)
            mem = _int(r["unified_memory_gb"] or "")
            out.append(ModernRow(
                engine="llamafile", backend=r["backend"], hardware=hw, device=dev.group(1).strip() if dev else hw,
                model=r["model"], quant=r["quant"].split(" ")[0], metric=metric, prompt=0, gen=0, depth=0,
                flash_attention=False, kv_type=None, gpu_layers=None, n_cpu_moe=None, bench=True,
                measured=float(r["value"]) / (1000 if metric == "ttft" else 1),
                is_moe=r["is_moe"].lower() in ("true", "1", "yes"),
                cpu=_cpu_platform(r["cpu"]) if r["backend"] != "cpu" and not mem else "",
                ram_bytes=_ram_bytes(notes) if not mem else None))
    return out


def _ram_bytes(notes: str) -> int | None:
    """The system RAM a LocalScore row's notes state ("system RAM 15.2 GB": the OS's total, in GiB as operating
    systems count it), or None."""
    m = re.search(r"system RAM ([0-9.]+) GB", notes)
    return int(float(m.group(1)) * (1 << 30)) if m else None


def _machine(r: dict[str, str], by_vram: bool = False) -> str:
    """A row's device name with its memory where that picks the configuration: a unified-memory machine's
    (M5 Max 48GB: the 40-core chip) and, ``by_vram``, a card's (LocalScore reads it from the driver)."""
    hw = r["hardware"]
    if "GB" in hw.upper():
        return hw
    gb = _int(r["unified_memory_gb"] or "") or (_int(r["vram_gb"] or "") if by_vram else None)
    return _sized(hw, gb) if gb else hw


def _sized(hw: str, vram_gb: int) -> str:
    """The card's name with the memory LocalScore read from it, where that picks a variant ("RTX 4060 Ti" with
    16 GB is the 16 GB card, not the 8 GB one a bare name plans on); drivers report a GB or so below the
    marketed size (15 for 16, 31 for 32; an operating system's RAM total as much as 2 below: 30 for 32), so the
    next two sizes up are tried too; the bare name where none is one."""
    from rigfit.errors import RigfitError
    from rigfit.hardware.resolve import resolve_device_noted

    for gb in (vram_gb, vram_gb + 1, vram_gb + 2):
        try:
            resolve_device_noted(f"{hw} {gb}GB")
        except RigfitError:
            continue
        return f"{hw} {gb}GB"
    return hw


def fit_localscore_tests(row: ModernRow) -> list[Any]:
    """The plans of LocalScore's nine tests for the row's model, quant and device, as LocalScore runs them
    (localscore/cmd.cpp: -ngl 9999 on the one GPU, flash attention off, f16 KV, n_batch 2048, n_ubatch 512).
    Raises RigfitError where rigfit cannot plan them."""
    import rigfit

    kw: dict[str, object] = {"backend": row.backend} if row.backend else {}
    if row.ram_bytes:
        kw["ram_bytes"] = row.ram_bytes
    return [rigfit.fit(row.model, engine="llamafile", quant=row.quant or None, hardware=row.machine,
                       headroom_bytes=0, prompt_tokens=p, gen_tokens=g, context_tokens=p + g, flash_attention=False,
                       **kw) for p, g in LOCALSCORE_TESTS]


@functools.cache
def _localscore_plans(model: str, quant: str, hardware: str, backend: str, cpu: str, ram_bytes: int | None
                      ) -> tuple[Any, ...] | None:
    from rigfit.errors import RigfitError

    row = ModernRow(engine="llamafile", backend=backend, hardware=hardware, device="", model=model, quant=quant,
                    metric="tg", prompt=0, gen=0, depth=0, flash_attention=False, kv_type=None, gpu_layers=None,
                    n_cpu_moe=None, bench=True, measured=0.0, is_moe=False, cpu=cpu, ram_bytes=ram_bytes)
    try:
        return tuple(fit_localscore_tests(row))
    except RigfitError:
        return None


def localscore_plans(row: ModernRow) -> tuple[Any, ...] | None:
    """``fit_localscore_tests`` for the row, planned once per model, quant and machine in a process (a result's
    three metrics share them; the fit reads their placements, not their speeds), or None where rigfit cannot
    plan them."""
    return _localscore_plans(row.model, row.quant, row.hardware, row.backend, row.cpu, row.ram_bytes)


def localscore_mean(row: ModernRow, fits: tuple[Any, ...]) -> float | None:
    """The row's metric as LocalScore reports it, from the nine plans: mean prompt rate, mean generation rate
    (each test decodes after its prompt), or mean time to first token (the prompt, then one decode step)."""
    vals: list[float] = []
    for (p, _), f in zip(LOCALSCORE_TESTS, fits, strict=True):
        s = f.speed
        if s is None or not s.prefill_tokens_per_s:
            return None
        vals.append({"pp": s.prefill_tokens_per_s, "tg": s.decode_after_prompt_tokens_per_s,
                     "ttft": p / s.prefill_tokens_per_s + 1 / s.decode_after_prompt_tokens_per_s}[row.metric])
    return float(sum(vals) / len(vals))


DATA = Path(__file__).parent / "data"
# Published llama-bench runs on current builds (llama.cpp pull requests and issues, "master" columns), one file
# per backend: (file, backend where the rows name none, the card where the file has no gpu column)
BENCH_FILES = ((DATA / "cuda_current.csv", "cuda", None), (DATA / "cuda_more.csv", "cuda", None),
               (DATA / "rocm_current.csv", "rocm", None), (DATA / "rocm_more.csv", "rocm", None),
               (DATA / "metal_more.csv", "metal", None), (DATA / "vulkan_more.csv", "vulkan", None),
               (DATA / "rx7900xtx_rocm.csv", "rocm", "RX 7900 XTX"), (DATA / "metal_current.csv", "metal", None),
               (DATA / "vulkan_discrete.csv", "vulkan", None), (DATA / "jetson_orin.csv", "cuda", None),
               (DATA / "sycl_intel.csv", "sycl", None), (DATA / "amd_igpu.csv", "vulkan", None),
               (DATA / "amd_depth.csv", "rocm", None), (DATA / "vulkan_depth.csv", "vulkan", None))


@dataclass(frozen=True)
class BenchRow:
    """One llama-bench test of a benchmarks/data file: ``test`` ppN / tgN from ``depth`` cached tokens."""

    device: str
    model: str
    quant: str
    test: str
    depth: int
    measured: float
    ubatch: int | None = None
    flash_attention: bool | None = None
    date: str = ""  # of the post (YYYY-MM-DD): the build's era
    backend: str = ""  # the row's own backend, where its file mixes them (a "backend" column); else the file's

    @property
    def metric(self) -> str:
        return self.test[:2]

    @property
    def tokens(self) -> int:
        return int(self.test[2:])


def data_rows(path: Path) -> csv.DictReader[str]:
    """A benchmarks/data CSV's rows as dicts (its ``#`` lines are header notes)."""
    return csv.DictReader(line for line in path.read_text().splitlines() if not line.startswith("#"))


def load_bench_rows(path: Path, card: str | None = None) -> list[BenchRow]:
    """A benchmarks/data llama-bench file's rows (``#`` lines are its header notes)."""
    out = []
    for r in data_rows(path):
        out.append(BenchRow(device=card or r["gpu"], model=r["model"], quant=r["quant"], test=r["test"],
                            depth=int(r["depth"] or 0), measured=float(r["tokens_per_s"]),
                            ubatch=int(r["ubatch"]) if r.get("ubatch") else None,
                            flash_attention=r["fa"] == "1" if r.get("fa") in ("0", "1") else None,
                            date=r.get("date") or "", backend=r.get("backend") or ""))
    return out


def fit_bench_row(row: BenchRow, backend: str) -> Any:
    """The plan of one llama-bench test: the whole model on the card with ``backend``, no headroom (llama-bench
    places every layer), the test's depth, micro-batch and flash attention."""
    import rigfit

    kw: dict[str, Any] = {"n_ubatch": row.ubatch} if row.ubatch else {}
    if row.flash_attention is not None:
        kw["flash_attention"] = row.flash_attention
    n = row.tokens
    return rigfit.fit(row.model, quant=row.quant, hardware=[row.device], backend=backend, headroom_bytes=0,
                      context_tokens=row.depth + n + 256, prompt_tokens=n if row.metric == "pp" else 256,
                      gen_tokens=n if row.metric == "tg" else 128, depth_tokens=row.depth, **kw)


MLX_MACS = DATA / "mlx_macs.csv"


@dataclass(frozen=True)
class MlxRow:
    """One published mlx-lm run of benchmarks/data/mlx_macs.csv: the decode after ``prompt`` tokens (a short
    chat prompt where the source gives none) or the prompt rate."""

    device: str
    model: str
    quant: str
    metric: str  # "tg" | "pp"
    prompt: int  # 0: not stated
    gen: int
    measured: float


def load_mlx_rows(path: Path = MLX_MACS) -> list[MlxRow]:
    """The file's rows (``#`` lines are its header notes)."""
    return [MlxRow(device=r["mac"], model=r["model"], quant=r["quant"], metric=r["metric"],
                   prompt=int(r["prompt_tokens"] or 0), gen=int(r["gen_tokens"] or 0) or 128,
                   measured=float(r["tokens_per_s"]))
            for r in data_rows(path)]


MLX_SHORT_PROMPT = 64  # the prompt planned where a row states none (mlxcel's short chat prompts, <= 100 tokens)


def fit_mlx_row(row: MlxRow) -> Any:
    """The plan of one mlx-lm run: the model on the Mac's GPU, the run's prompt, then its answer."""
    import rigfit

    prompt = row.prompt or MLX_SHORT_PROMPT
    return rigfit.fit(row.model, quant=row.quant, engine="mlx", hardware=[row.device],
                      context_tokens=prompt + row.gen + 256, prompt_tokens=prompt, gen_tokens=row.gen)


CPU_BENCH = DATA / "cpu_current.csv"


@dataclass(frozen=True)
class CpuRow(BenchRow):
    """One llama-bench test of benchmarks/data/cpu_current.csv: ``test`` ppN / tgN on the CPU alone, with the
    run's thread count (-t)."""

    threads: int | None = None


def load_cpu_rows(path: Path = CPU_BENCH) -> list[CpuRow]:
    """The file's rows (``#`` lines are its header notes)."""
    return [CpuRow(device=r["cpu"], threads=int(r["threads"]) if r["threads"] else None, model=r["model"],
                   quant=r["quant"], test=r["test"], depth=int(r["depth"] or 0), measured=float(r["tokens_per_s"]))
            for r in data_rows(path)]


def fit_cpu_row(row: CpuRow) -> Any:
    """The plan of one CPU llama-bench test: llama.cpp's CPU backend with the run's threads and depth, the CPU
    platform's memory (the rows rarely state theirs)."""
    import rigfit

    n = row.tokens
    prompt, gen = (n, 128) if row.metric == "pp" else (512, n)
    return rigfit.fit(row.model, quant=row.quant, hardware=[row.device], backend="cpu", n_threads=row.threads,
                      context_tokens=row.depth + prompt + gen + 256, prompt_tokens=prompt, gen_tokens=gen,
                      depth_tokens=row.depth)
