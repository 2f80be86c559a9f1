"""``rigfit bench``: measure a model's speed on this machine's own engine, without downloading its weights.

llama.cpp: rigfit writes a random-weight GGUF with the model's real tensor shapes (``models.gguf_write``: F16
matrices filled from a repeated random block, norms at 1), has llama.cpp's own quantizer make the requested
quant of it (``llama-quantize`` when on PATH, else ``llama_model_quantize`` of llama-cpp-python), and times it
with ``llama-bench -o json`` when that is on PATH, else through llama-cpp-python (the ``rigfit[bench]`` extra):
the depth is filled untimed, then a ``prompt_tokens`` prompt (prefill) and ``gen_tokens`` single-token steps
(decode after the prompt) are timed, best of ``repeats``.  A model too large to write and load whole here is
measured as two truncated copies (k and 2k layers) and scaled per layer: t(L) = t(k) + (L - k) (t(2k) - t(k)) / k
for each of the prefill and decode times; the bundle says which.

Ollama (a model the user has pulled: its HTTP API's ``prompt_eval_*`` / ``eval_*`` timings), MLX
(``mlx_lm.generate`` output) and vLLM (``vllm bench serve`` against a running server, its saved JSON) time
the user's installed model.  Every result is a ``MeasuredRun`` (``rigfit.measured``), the same record
``rigfit calibrate`` reads, so a bundle round-trips through it.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import multiprocessing
import os
import platform
import queue
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InvalidInput, RigfitError
from .measured import (
    BUNDLE_KEY,
    BUNDLE_SCHEMA,
    MeasuredRun,
    parse_llama_bench_json,
    parse_mlx_verbose,
    parse_ollama_api,
    parse_vllm_bench,
)
from .models.spec import ModelSpec, first_layers
from .units import GIB

Progress = Callable[[str], None]
ENGINES = ("llama.cpp", "ollama", "mlx", "vllm")
MAX_DEPTH_TOKENS = 1 << 20
WHOLE_MODEL_MAX_BYTES = 6 * GIB  # larger F16 files are measured as truncated copies and scaled per layer
RANDOM_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchResult:
    runs: tuple[MeasuredRun, ...]
    runner: str  # "llama-bench", "llama-cpp-python 0.3.36", "Ollama API", ...
    mode: str  # "whole model" | "scaled from 2 and 4 layers" | "installed model"
    notes: tuple[str, ...] = ()


def merged(results: Sequence[BenchResult]) -> BenchResult:
    """One result for several quants measured the same way (their runs in order, their notes once)."""
    if len(results) == 1:
        return results[0]
    return BenchResult(runs=tuple(r for res in results for r in res.runs), runner=results[0].runner,
                       mode=results[0].mode, notes=tuple(dict.fromkeys(n for res in results for n in res.notes)))


def _quiet(_msg: str) -> None:
    return None


def _run_tool(args: list[str], what: str, *, on: str = "") -> subprocess.CompletedProcess[str]:
    """Run one of the engine's tools; a failure is one line naming it (and what it worked ``on``) with the last
    line it printed."""
    res = subprocess.run(args, capture_output=True, text=True, timeout=3600, check=False)
    if res.returncode != 0:
        where = f" on {on}" if on else ""
        raise RigfitError(f"{what} failed{where}: {(res.stderr.strip().splitlines() or ['no output'])[-1]}")
    return res


# ---- the random-weight model ---------------------------------------------------------------------

def truncated(spec: ModelSpec, n_layers: int) -> ModelSpec:
    """``spec``'s first ``n_layers`` layers as they are (a dense prefix or KV sharing that reaches past them is
    cut off), for scaled measurement."""
    return first_layers(spec, n_layers, n_dense_layers=min(spec.n_dense_layers, max(0, n_layers - 1)),
                        kv_shared_from=spec.kv_shared_from if spec.kv_shared_from < n_layers else 0)


def write_random_gguf(path: Path, spec: ModelSpec, *, seed: int = 0) -> int:
    """An F16 GGUF of ``spec`` with random weights: matrices from a repeated random block (std 0.02), 1-D
    tensors (norms, biases) at 1.0.  Returns the file size."""
    import gguf
    import numpy as np

    from .models.gguf_write import write_sparse_gguf

    write_sparse_gguf(path, spec, "F16")
    rng = np.random.default_rng(seed)
    block = (rng.standard_normal(RANDOM_BLOCK_BYTES // 2) * 0.02).astype(np.float16).tobytes()
    ones32 = np.ones(RANDOM_BLOCK_BYTES // 4, dtype=np.float32).tobytes()
    reader = gguf.GGUFReader(str(path))
    spans = [(int(t.data_offset), int(t.n_bytes), t.tensor_type) for t in reader.tensors]
    del reader
    with open(path, "r+b") as fh:
        for offset, n, ttype in spans:
            src = block if ttype == gguf.GGMLQuantizationType.F16 else ones32
            fh.seek(offset)
            left = n
            while left > 0:
                chunk = src[:min(left, len(src))]
                fh.write(chunk)
                left -= len(chunk)
    return path.stat().st_size


def quantize(src: Path, dst: Path, quant: str, threads: int) -> str:
    """llama.cpp's quantizer: ``llama-quantize`` on PATH, else llama-cpp-python's.  Returns which ran."""
    from .quant import GGUF_FILE_TYPES

    ft = GGUF_FILE_TYPES.get(quant.upper())
    if ft is None:
        raise InvalidInput(f"llama.cpp cannot make {quant!r}; one of {', '.join(sorted(GGUF_FILE_TYPES))}",
                           options=("quant",))
    exe = shutil.which("llama-quantize")
    if exe:
        _run_tool([exe, str(src), str(dst), ft.base, str(threads)], "llama-quantize", on=ft.base)
        return "llama-quantize"
    lc = _llama_cpp()
    _silence(lc)
    qp = lc.llama_model_quantize_default_params()
    qp.ftype = ft.ftype_id
    qp.nthread = threads
    rc = lc.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(qp))
    if rc != 0:
        raise RigfitError(f"llama.cpp's quantizer failed on {ft.base} (code {rc})")
    return "llama_model_quantize (llama-cpp-python)"


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise InvalidInput("measuring with llama.cpp needs llama-bench on PATH or llama-cpp-python "
                           "(pip install 'rigfit[bench]')", options=("engine",)) from None
    return llama_cpp


_KEEP: dict[str, Any] = {}  # the C log callback must outlive the call that installs it


def _silence(lc: Any) -> None:
    if "log" not in _KEEP:
        def _drop(level: int, text: bytes, user: ctypes.c_void_p) -> None:
            return None

        _KEEP["log"] = lc.llama_log_callback(_drop)
        lc.llama_log_set(_KEEP["log"], ctypes.c_void_p())


# ---- timing --------------------------------------------------------------------------------------

def _time_llama_cpp_python(path: Path, *, prompt: int, gen: int, depths: Sequence[int], threads: int,
                           repeats: int, flash_attention: bool, n_ubatch: int, progress: Progress,
                           extra_buffers: bool = True) -> list[tuple[int, float, float]]:
    """(depth, prefill seconds for ``prompt`` tokens, decode seconds per token) per depth, best of ``repeats``.
    ``extra_buffers=False`` loads the weights without llama.cpp's CPU extra buffer types (AMX, repacked
    weights), as ``llama-bench --no-repack``; run it in a process of its own (it changes a binding default)."""
    lc = _llama_cpp()
    _silence(lc)
    if not extra_buffers:
        # llama-cpp-python's Llama takes no use_extra_bufts argument: its model defaults are wrapped instead
        # (llama_model_params.use_extra_bufts, llama.cpp include/llama.h), in the timing child process only
        low = lc.llama_cpp
        make = low.llama_model_default_params

        def no_extra() -> Any:
            params = make()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = no_extra
    gpu = bool(lc.llama_supports_gpu_offload())
    # verbose=False would swap the process's stdout/stderr for /dev/null files it never closes; the log
    # callback (_silence) already drops llama.cpp's lines, and the system-info line goes to a buffer
    with contextlib.redirect_stderr(io.StringIO()):
        llm = lc.Llama(str(path), n_ctx=max(depths) + prompt + gen + 64, n_batch=2048, n_ubatch=n_ubatch,
                       n_threads=threads, n_threads_batch=threads, n_gpu_layers=-1 if gpu else 0,
                       flash_attn=flash_attention, verbose=True, logits_all=False)
    n_vocab = llm.n_vocab()
    tokens = [(7919 * i + 13) % (n_vocab - 300) + 256 for i in range(max(depths) + prompt + gen + 8)]
    out = []
    try:
        # one untimed prompt and decode step first, as llama-bench's warmup run (tools/llama-bench/llama-bench.cpp:
        # test_prompt then test_gen of one token unless --no-warmup): the first timed run would otherwise pay
        # for faulting in the mapped weights and for building the graphs
        progress("warmup")
        llm.eval(tokens[:prompt])
        llm.eval([tokens[prompt]])
        llm.reset()
        for depth in depths:
            best_pp = best_tg = float("inf")
            for rep in range(repeats):
                progress(f"depth {depth:,}: run {rep + 1} of {repeats}")
                llm.reset()
                if depth:
                    llm.eval(tokens[:depth])
                t0 = time.perf_counter()
                llm.eval(tokens[depth:depth + prompt])
                t_pp = time.perf_counter() - t0
                t0 = time.perf_counter()
                for i in range(gen):
                    llm.eval([tokens[depth + prompt + i]])
                t_tg = (time.perf_counter() - t0) / gen
                best_pp, best_tg = min(best_pp, t_pp), min(best_tg, t_tg)
            out.append((depth, best_pp, best_tg))
    finally:
        llm.close()
    return out


def _timing_child(out: Any, path: str, extra_buffers: bool, options: dict[str, Any]) -> None:
    """The timing in a process of its own: progress lines and the result (or an error line) go back on ``out``."""
    try:
        got = _time_llama_cpp_python(Path(path), extra_buffers=extra_buffers,
                                     progress=lambda text: out.put(("progress", text)), **options)
        out.put(("done", got))
    except Exception as exc:  # reported to the parent, which raises it as one line
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _time_isolated(path: Path, *, extra_buffers: bool, progress: Progress, **options: Any
                   ) -> tuple[list[tuple[int, float, float]] | None, int]:
    """_time_llama_cpp_python in a spawned process, so that a crash inside llama.cpp (a signal, not a
    Python error) ends that process, not rigfit: (the times, or None, and the child's exit code)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_timing_child, args=(out, str(path), extra_buffers, options), daemon=True)
    child.start()
    got: list[tuple[int, float, float]] | None = None
    try:
        while True:
            try:
                kind, value = out.get(timeout=0.5)
            except queue.Empty:
                if not child.is_alive():
                    break
                continue
            if kind == "progress":
                progress(str(value))
            elif kind == "error":
                raise RigfitError(f"llama-cpp-python failed while timing {path.name}: {value}")
            else:
                got = value
                break
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
            child.join()
    return got, child.exitcode if child.exitcode is not None else -1


def _time_with_fallback(path: Path, notes: list[str], progress: Progress, **options: Any
                        ) -> list[tuple[int, float, float]]:
    """Time with llama.cpp's defaults; where llama.cpp crashes with its CPU extra buffer types (seen: a
    general protection fault in ggml-cpu's AMX path on a Xeon with AMX, llama-cpp-python 0.3.36), time again
    without them and say so in the bundle's notes."""
    got, code = _time_isolated(path, extra_buffers=True, progress=progress, **options)
    if got is not None:
        return got
    progress(f"llama.cpp stopped (exit code {code}) with its CPU extra buffer types; timing again without them")
    got, code2 = _time_isolated(path, extra_buffers=False, progress=progress, **options)
    if got is None:
        raise RigfitError(f"llama.cpp stopped while timing {path.name} (exit code {code}, and {code2} without its "
                          "CPU extra buffer types): no measurement")
    note = (f"llama.cpp stopped (exit code {code}) with its CPU extra buffer types (AMX / repacked weights) on "
            "this CPU: timed without them, as llama-bench --no-repack")
    if note not in notes:
        notes.append(note)
    return got


def _runs_from_times(times: Sequence[tuple[int, float, float]], *, prompt: int, gen: int, base: MeasuredRun
                     ) -> list[MeasuredRun]:
    return [replace(base, prompt_tokens=prompt, gen_tokens=gen, depth_tokens=d, prefill_tokens_per_s=prompt / t_pp,
                    decode_tokens_per_s=1 / t_tg) for d, t_pp, t_tg in times]


def _llama_bench(path: Path, *, prompt: int, gen: int, depths: Sequence[int], threads: int, repeats: int,
                 flash_attention: bool, n_ubatch: int) -> list[MeasuredRun]:
    exe = shutil.which("llama-bench")
    assert exe is not None
    args = [exe, "-m", str(path), "-p", str(prompt), "-n", str(gen), "-d", ",".join(map(str, depths)),
            "-t", str(threads), "-r", str(repeats), "-fa", "1" if flash_attention else "0", "-ub", str(n_ubatch),
            "-ngl", "99", "-o", "json"]
    return parse_llama_bench_json(_run_tool(args, "llama-bench").stdout, "llama-bench")


def bench_llamacpp(spec: ModelSpec, quant: str, *, prompt: int = 512, gen: int = 64, depths: Sequence[int] = (0,),
                   threads: int | None = None, repeats: int = 2, flash_attention: bool = True, n_ubatch: int = 512,
                   layers: int | None = None, workdir: Path | None = None, progress: Progress = _quiet
                   ) -> BenchResult:
    """Measure ``spec`` at ``quant`` on this machine's llama.cpp (see the module doc).  ``layers``: measure
    truncated copies of ``layers`` and twice as many layers and scale, even when the whole model would do."""
    from .api import fit
    from .request import make_request

    threads = threads or os.cpu_count() or 1
    depths = tuple(dict.fromkeys(depths)) or (0,)
    f16_bytes = fit(make_request(spec, quant="F16", context_tokens=512)).memory.weights_bytes
    k = layers
    if k is None and f16_bytes > WHOLE_MODEL_MAX_BYTES:
        k = 2
    if k is not None and not 1 <= k <= spec.n_layers // 2:
        raise InvalidInput(f"layers to measure must be between 1 and {spec.n_layers // 2} (half of "
                           f"{spec.name}'s {spec.n_layers}), got {k}", options=("layers",))
    use_bench = shutil.which("llama-bench") is not None
    runner = "llama-bench" if use_bench else f"llama-cpp-python {_llama_cpp().__version__}"
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="rigfit-bench-") as tmp:
        def measure(s: ModelSpec, tag: str) -> list[MeasuredRun]:
            src, dst = Path(tmp) / f"{tag}-f16.gguf", Path(tmp) / f"{tag}-{quant}.gguf"
            progress(f"writing a random-weight {s.name} ({s.n_layers} layers, F16)")
            write_random_gguf(src, s)
            progress(f"quantizing to {quant} with llama.cpp's quantizer")
            how = quantize(src, dst, quant, threads)
            if how not in notes:
                notes.append(f"quantized by {how}")
            src.unlink()
            base = MeasuredRun(engine="llama.cpp", model=spec.name, quant=quant.upper(), n_threads=threads,
                               flash_attention=flash_attention, n_ubatch=n_ubatch, source="rigfit bench")
            if use_bench:
                progress("timing with llama-bench")
                got = _llama_bench(dst, prompt=prompt, gen=gen, depths=depths, threads=threads, repeats=repeats,
                                   flash_attention=flash_attention, n_ubatch=n_ubatch)
                return [replace(r, model=spec.name, quant=quant.upper()) for r in got]
            times = _time_with_fallback(dst, notes, progress, prompt=prompt, gen=gen, depths=list(depths),
                                        threads=threads, repeats=repeats, flash_attention=flash_attention,
                                        n_ubatch=n_ubatch)
            lc = _llama_cpp()
            backend = "cpu" if not lc.llama_supports_gpu_offload() else None
            return _runs_from_times(times, prompt=prompt, gen=gen, base=replace(base, backend=backend))

        if k is None:
            runs = measure(spec, "whole")
            mode = "whole model"
        else:
            # the per-layer time is a difference of two timings: best of at least 3 runs each
            repeats = max(repeats, 3)
            small, large = measure(truncated(spec, k), f"L{k}"), measure(truncated(spec, 2 * k), f"L{2 * k}")
            runs = scale_runs(small, large, k, spec.n_layers)
            mode = f"scaled from {k} and {2 * k} layers to {spec.n_layers}"
    return BenchResult(runs=tuple(runs), runner=runner, mode=mode, notes=tuple(notes))


def scale_runs(small: Sequence[MeasuredRun], large: Sequence[MeasuredRun], k: int, n_layers: int
               ) -> list[MeasuredRun]:
    """Whole-model runs from runs of k and 2k layers: each time per token grows linearly with layers."""
    out = []
    for a, b in zip(small, large, strict=True):
        def scaled(ra: float | None, rb: float | None) -> float | None:
            if not ra or not rb:
                return None
            ta, tb = 1 / ra, 1 / rb
            t = ta + (n_layers - k) * max(tb - ta, 0.0) / k
            return 1 / t
        out.append(replace(a, prefill_tokens_per_s=scaled(a.prefill_tokens_per_s, b.prefill_tokens_per_s),
                           decode_tokens_per_s=scaled(a.decode_tokens_per_s, b.decode_tokens_per_s)))
    return out


# ---- installed models on other engines -----------------------------------------------------------

def _words(n_tokens: int) -> str:
    """Text of about ``n_tokens`` tokens (common English words are one token each in these tokenizers)."""
    vocab = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "red", "birds",
             "sing", "in", "tall", "green", "trees", "near", "an", "old", "stone", "bridge"]
    return " ".join(vocab[i % len(vocab)] for i in range(n_tokens))


def bench_ollama(model: str, *, prompt: int, gen: int, repeats: int, host: str | None = None,
                 progress: Progress = _quiet) -> BenchResult:
    base = (host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434").rstrip("/")
    if not base.startswith("http"):
        base = "http://" + base
    runs = []
    for rep in range(repeats):
        progress(f"Ollama: run {rep + 1} of {repeats}")
        body = json.dumps({"model": model, "prompt": _words(prompt), "stream": False, "raw": True,
                           "options": {"num_predict": gen, "temperature": 0, "seed": rep}}).encode()
        req = urllib.request.Request(f"{base}/api/generate", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as e:
            e.close()
            raise InvalidInput(f"Ollama at {base} refused {model!r}: HTTP {e.code} (is it pulled?)",
                               options=("model",)) from None
        except (urllib.error.URLError, OSError) as e:
            raise InvalidInput(f"no Ollama server at {base} ({e})", options=("engine",)) from None
        runs += [replace(r, model=model, source=f"Ollama API run {rep + 1}")
                 for r in parse_ollama_api(text, "ollama")]
    return BenchResult(runs=tuple(runs), runner="Ollama API", mode="installed model")


def bench_mlx(model: str, *, prompt: int, gen: int, repeats: int, progress: Progress = _quiet) -> BenchResult:
    exe = shutil.which("mlx_lm.generate")
    if exe is None:
        raise InvalidInput("mlx_lm.generate is not on PATH (pip install mlx-lm, on Apple silicon)",
                           options=("engine",))
    runs = []
    for rep in range(repeats):
        progress(f"mlx_lm: run {rep + 1} of {repeats}")
        res = _run_tool([exe, "--model", model, "--prompt", _words(prompt), "--max-tokens", str(gen)],
                        "mlx_lm.generate")
        runs += [replace(r, model=model, source=f"mlx_lm run {rep + 1}")
                 for r in parse_mlx_verbose(res.stdout + res.stderr, "mlx_lm")]
    return BenchResult(runs=tuple(runs), runner="mlx_lm.generate", mode="installed model")


def bench_vllm(model: str, *, prompt: int, gen: int, repeats: int, progress: Progress = _quiet) -> BenchResult:
    exe = shutil.which("vllm")
    if exe is None:
        raise InvalidInput("vllm is not on PATH (vllm bench serve needs it and a running vllm serve)",
                           options=("engine",))
    with tempfile.TemporaryDirectory(prefix="rigfit-vllm-") as tmp:
        progress("vllm bench serve (one request at a time)")
        _run_tool([exe, "bench", "serve", "--model", model, "--dataset-name", "random", "--random-input-len",
                   str(prompt), "--random-output-len", str(gen), "--num-prompts", str(max(repeats, 2)),
                   "--max-concurrency", "1", "--save-result", "--result-dir", tmp, "--result-filename",
                   "result.json"], "vllm bench serve")
        out = Path(tmp) / "result.json"
        if not out.exists():
            raise RigfitError("vllm bench serve failed: it wrote no result file")
        runs = parse_vllm_bench(out.read_text(), "vllm bench")
    return BenchResult(runs=tuple(replace(r, model=model) for r in runs), runner="vllm bench serve",
                       mode="installed model")


# ---- the bundle ----------------------------------------------------------------------------------

def bundle(result: BenchResult, *, machine: str, hardware: dict[str, Any], engine: str, model: str,
           quants: Sequence[str], predicted: Sequence[dict[str, Any]], flags: dict[str, Any]) -> dict[str, Any]:
    from importlib.metadata import version

    return {BUNDLE_KEY: {
        "schema": BUNDLE_SCHEMA, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rigfit_version": version("rigfit"), "machine": machine, "hardware": hardware,
        "os": f"{platform.system()} {platform.release()}", "engine": engine, "runner": result.runner,
        "model": model, "quants": list(quants), "mode": result.mode, "flags": flags, "notes": list(result.notes),
        "runs": [r.to_dict() for r in result.runs], "predicted": list(predicted)}}


def check_bench_args(engine: str, depths: Sequence[int], prompt: int, gen: int, repeats: int) -> None:
    if engine not in ENGINES:
        raise InvalidInput(f"rigfit bench runs {', '.join(ENGINES)}, not {engine!r}", options=("engine",))
    for d in depths:
        if not 0 <= d <= MAX_DEPTH_TOKENS:
            raise InvalidInput(f"depth must be between 0 and {MAX_DEPTH_TOKENS:,} tokens, got {d}",
                               options=("depth_tokens",))
    if not 1 <= prompt <= 65536:
        raise InvalidInput(f"prompt tokens must be between 1 and 65,536, got {prompt}", options=("prompt_tokens",))
    if not 2 <= gen <= 4096:
        raise InvalidInput(f"generated tokens must be between 2 and 4,096, got {gen}", options=("gen_tokens",))
    if not 1 <= repeats <= 20:
        raise InvalidInput(f"repeats must be between 1 and 20, got {repeats}", options=("repeats",))
