"""Measured runs: what an engine reported for one model on one machine, parsed from its own output.

Every parser is a pure function of text (no files, no catalog); ``parse_runs`` tells the format from the
content.  Field names follow the engines' own outputs (``../shared/research/engines-2026.md`` section 2):

* llama-bench (``tools/llama-bench/llama-bench.cpp``): ``-o json`` (an array), ``-o jsonl``, ``-o csv`` and the
  default Markdown table.  A row is a prefill test when ``n_gen == 0`` (``ppN``), decode when
  ``n_prompt == 0`` (``tgN``); ``avg_ts`` is tokens/s; ``n_depth`` tokens were already cached (``@ dN`` in the
  Markdown ``test`` column); mixed ``-pg`` rows are skipped.  Model: ``model_filename``, ``model_type``
  ("qwen2 7B Q4_K - Medium"), ``model_n_params``; hardware: ``gpu_info`` or ``cpu_info``; placement:
  ``n_gpu_layers``, ``flash_attn``, ``type_k``, ``n_ubatch``, ``n_batch``, ``n_threads``, ``n_cpu_moe``.
* llama-server (``tools/server/README.md``): a response's ``timings`` (``prompt_n``, ``prompt_per_second``,
  ``predicted_n``, ``predicted_per_second``, ``cache_n``) and the Prometheus ``/metrics`` counters
  (``llamacpp:prompt_tokens_total``, ``llamacpp:prompt_seconds_total``, ``llamacpp:tokens_predicted_total``,
  ``llamacpp:tokens_predicted_seconds_total``).
* Ollama (``docs/api``; ``api/types.go`` ``Metrics.Summary``): the API's final chunk (``prompt_eval_count``,
  ``prompt_eval_duration``, ``eval_count``, ``eval_duration`` in ns; ``model``) and ``ollama run --verbose``
  text ("prompt eval count: 26 token(s)", "eval rate: 84.20 tokens/s", Go durations such as ``1.2s`` / ``83ms``).
* mlx_lm (``mlx_lm/generate.py``): ``--verbose`` lines "Prompt: 11 tokens, 96.5 tokens-per-sec",
  "Generation: 100 tokens, 45.1 tokens-per-sec", "Peak memory: 4.52 GB".
* vLLM (``vllm/benchmarks/serve.py``): ``vllm bench serve --save-result`` JSON (``mean_ttft_ms``,
  ``mean_tpot_ms``, ``total_input_tokens``, ``completed``, ``max_concurrency``, ``model_id``).
* rigfit's own bench bundle (``rigfit bench``, key ``rigfit_bench``).

A file that is none of these, or that looks like one but lacks its fields, is one ``InvalidInput`` line naming
the format expected.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from .errors import InvalidInput

BUNDLE_KEY = "rigfit_bench"
BUNDLE_SCHEMA = 1


class RunFormat(StrEnum):
    LLAMA_BENCH_JSON = "llama-bench JSON"
    LLAMA_BENCH_JSONL = "llama-bench JSONL"
    LLAMA_BENCH_CSV = "llama-bench CSV"
    LLAMA_BENCH_MD = "llama-bench Markdown"
    LLAMA_SERVER_TIMINGS = "llama-server timings"
    LLAMA_SERVER_METRICS = "llama-server /metrics"
    OLLAMA_API = "Ollama API JSON"
    OLLAMA_VERBOSE = "ollama run --verbose"
    MLX_VERBOSE = "mlx_lm --verbose"
    VLLM_BENCH = "vllm bench serve JSON"
    RIGFIT_BUNDLE = "rigfit bench bundle"


READABLE = ", ".join(RunFormat)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredRun:
    """One measured test: a prefill rate, a decode rate, a time to first token, or several of them.  ``None``
    is "not reported"; token counts of 0 are "not reported" too, except ``depth_tokens``."""

    engine: str  # llama.cpp | ollama | mlx | vllm (the engine names rigfit knows)
    model: str | None = None  # the name or file the output gives
    quant: str | None = None  # e.g. Q4_K_M, as far as the output tells
    model_n_params: int | None = None
    prompt_tokens: int = 0
    gen_tokens: int = 0
    depth_tokens: int = 0  # tokens already in the cache (llama-bench -d, llama-server cache_n)
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    ttft_s: float | None = None
    concurrency: int = 1
    hardware: str | None = None  # the GPU or CPU the output names (llama-bench gpu_info / cpu_info)
    backend: str | None = None
    n_gpu_layers: int | None = None
    n_cpu_moe: int | None = None
    flash_attention: bool | None = None
    kv_cache_type: str | None = None
    kv_cache_type_v: str | None = None  # llama-bench type_v where it differs from type_k
    n_batch: int | None = None
    n_ubatch: int | None = None
    n_threads: int | None = None
    build: str | None = None
    source: str = ""  # file and position, for messages and the calibration file

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MeasuredRun:
        known = {f.name for f in fields(cls)}
        if not isinstance(doc, dict) or "engine" not in doc:
            raise InvalidInput("a measured run needs at least its engine")
        out = cls(**{k: v for k, v in doc.items() if k in known})
        _check_run(out)
        return out


def _check_run(r: MeasuredRun) -> None:
    for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "ttft_s"):
        v = getattr(r, name)
        if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
            raise InvalidInput(f"{r.source or 'run'}: {name} = {v!r} is not a positive number")
    for name in ("prompt_tokens", "gen_tokens", "depth_tokens"):
        v = getattr(r, name)
        if not isinstance(v, int) or v < 0:
            raise InvalidInput(f"{r.source or 'run'}: {name} = {v!r} is not a token count")


# ---- llama-bench ---------------------------------------------------------------------------------

_FTYPE_WORDS = {"Medium": "M", "Small": "S", "Large": "L"}
_TYPE_RE = re.compile(r"\b(I?Q\d_[A-Z0-9]+|BF16|F16|F32|MXFP4|TQ\d_\d)(\s+mix)?(?:\s*-\s*(Medium|Small|Large)\b)?")


def quant_from_llama_type(text: str) -> str | None:
    """The ftype in llama.cpp's ``model_type`` (``llama_model_ftype_name``): "qwen2 7B Q4_K - Medium" ->
    "Q4_K_M", "llama 8B IQ2_XXS - 2.0625 bpw" -> "IQ2_XXS", "IQ3_S mix - 3.66 bpw" -> "IQ3_M", "Q2_K - Medium"
    -> "Q2_K", "gpt-oss 20B MXFP4 MoE" -> "MXFP4"."""
    m = _TYPE_RE.search(text)
    if not m:
        return None
    base, mix, word = m.group(1), m.group(2), m.group(3)
    if mix and base == "IQ3_S":
        return "IQ3_M"
    if word and not (base == "Q2_K" and word == "Medium"):
        return f"{base}_{_FTYPE_WORDS[word]}"
    return base


def quant_from_filename(name: str) -> str | None:
    """The quant a GGUF file name carries ("Qwen2.5-7B-Instruct-Q4_K_M" -> "Q4_K_M", "...-UD-IQ2_XXS")."""
    m = re.search(r"(?<![A-Za-z0-9])(I?Q\d_[A-Za-z0-9_]*[A-Za-z0-9]|BF16|F16|F32|MXFP4)(?![A-Za-z0-9])", name, re.I)
    return m.group(1).upper() if m else None


def _int(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _v_type(k: object, v: object) -> str | None:
    """llama-bench's type_v where it differs from type_k (-ctk / -ctv), else None."""
    kv, vv = (str(x or "").strip().lower() for x in (k, v))
    return vv if vv and vv != kv else None


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "on", "yes"):
        return True
    if s in ("0", "false", "off", "no"):
        return False
    return None


def _bench_row(d: dict[str, Any], source: str, fmt: RunFormat = RunFormat.LLAMA_BENCH_JSON) -> MeasuredRun | None:
    """One llama-bench result; None for a mixed -pg test (not a pure prefill or decode rate)."""
    n_prompt, n_gen, ts = _int(d.get("n_prompt")), _int(d.get("n_gen")), _float(d.get("avg_ts"))
    if n_prompt is None or n_gen is None or ts is None:
        raise InvalidInput(f"{source}: expected {fmt} fields n_prompt, n_gen and avg_ts")
    if (n_prompt > 0) == (n_gen > 0) or ts <= 0:
        return None
    fname = str(d.get("model_filename") or "").strip()
    name = re.split(r"[\\/]", fname)[-1] if fname else None
    if name and name.lower().endswith(".gguf"):
        name = name[:-5]
    mtype = str(d.get("model_type") or "")
    gpu = str(d.get("gpu_info") or "").strip()
    backends = str(d.get("backends") or d.get("backend") or "").strip()
    kv = str(d.get("type_k") or "").strip().lower() or None
    return MeasuredRun(
        engine="llama.cpp", model=name or (mtype or None),
        quant=(quant_from_filename(name) if name else None) or quant_from_llama_type(mtype),
        model_n_params=_int(d.get("model_n_params")),
        prompt_tokens=n_prompt, gen_tokens=n_gen, depth_tokens=_int(d.get("n_depth")) or 0,
        prefill_tokens_per_s=ts if n_prompt else None, decode_tokens_per_s=ts if n_gen else None,
        hardware=gpu or (str(d.get("cpu_info") or "").strip() or None),
        backend=_backend(backends), n_gpu_layers=_int(d.get("n_gpu_layers")), n_cpu_moe=_int(d.get("n_cpu_moe")),
        flash_attention=_bool(d.get("flash_attn")), kv_cache_type=kv, kv_cache_type_v=_v_type(kv, d.get("type_v")),
        n_batch=_int(d.get("n_batch")),
        n_ubatch=_int(d.get("n_ubatch")), n_threads=_int(d.get("n_threads")),
        build=(f"{d.get('build_commit')} ({d.get('build_number')})" if d.get("build_commit") else None),
        source=source)


def _backend(text: str) -> str | None:
    t = text.lower()
    for name in ("cuda", "rocm", "hip", "vulkan", "metal", "sycl", "blas", "cpu"):
        if name in t:
            return {"hip": "rocm", "blas": "cpu"}.get(name, name)
    return None


def parse_llama_bench_json(text: str, name: str = "") -> list[MeasuredRun]:
    doc = json.loads(text)
    if not isinstance(doc, list) or not all(isinstance(d, dict) for d in doc):
        raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_BENCH_JSON} (an array of test objects)")
    return [r for i, d in enumerate(doc) if (r := _bench_row(d, f"{name}[{i}]")) is not None]


def parse_llama_bench_jsonl(text: str, name: str = "") -> list[MeasuredRun]:
    out = []
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                raise InvalidInput(f"{name}: line {i + 1}: expected {RunFormat.LLAMA_BENCH_JSONL} "
                                   "(one JSON test object per line)") from None
            if not isinstance(d, dict):
                raise InvalidInput(f"{name}: line {i + 1}: expected {RunFormat.LLAMA_BENCH_JSONL}")
            if (r := _bench_row(d, f"{name}:{i + 1}", RunFormat.LLAMA_BENCH_JSONL)) is not None:
                out.append(r)
    return out


def parse_llama_bench_csv(text: str, name: str = "") -> list[MeasuredRun]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "avg_ts" not in rows[0]:
        raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_BENCH_CSV} (a header with avg_ts)")
    return [r for i, d in enumerate(rows) if (r := _bench_row(d, f"{name}:{i + 2}", RunFormat.LLAMA_BENCH_CSV))
            is not None]


_SIZE_RE = re.compile(r"([\d.]+)\s*([KMGT]i?B)", re.I)


def parse_llama_bench_md(text: str, name: str = "") -> list[MeasuredRun]:
    """The Markdown table llama-bench prints by default and people paste: ``| model | size | params |
    backend | ngl | [fa | ...] | test | t/s |``, ``t/s`` as "123.45 ± 1.23", ``test`` as "pp512", "tg128",
    "pp2048 @ d32768"."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("|")]
    header = next((i for i, ln in enumerate(lines) if re.search(r"\|\s*test\s*\|", ln) and "t/s" in ln), None)
    if header is None:
        raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_BENCH_MD} (a table with test and t/s columns)")
    cols = [c.strip() for c in lines[header].strip("|").split("|")]
    out = []
    build = None
    m = re.search(r"build:\s*([0-9a-f]+)\s*\((\d+)\)", text)
    if m:
        build = f"{m.group(1)} ({m.group(2)})"
    for k, ln in enumerate(lines[header + 1:]):
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(cols) or set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(cols, cells, strict=True))
        test = re.fullmatch(r"(pp|tg)\s*(\d+)(?:\s*@\s*d\s*(\d+))?", row.get("test", ""))
        rate = _float(row.get("t/s", "").split("±")[0].strip())
        if not test or rate is None or rate <= 0:
            continue  # pp512+tg128 mixes, or a garbled cell
        n = int(test.group(2))
        params = row.get("params", "")
        pm = re.fullmatch(r"([\d.]+)\s*([KMBT])", params.strip(), re.I)
        n_params = int(float(pm.group(1)) * {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[pm.group(2).upper()]) \
            if pm else None
        mtype = row.get("model", "")
        fa = row.get("fa")
        out.append(MeasuredRun(
            engine="llama.cpp", model=mtype or None, quant=quant_from_llama_type(mtype), model_n_params=n_params,
            prompt_tokens=n if test.group(1) == "pp" else 0, gen_tokens=n if test.group(1) == "tg" else 0,
            depth_tokens=int(test.group(3) or 0),
            prefill_tokens_per_s=rate if test.group(1) == "pp" else None,
            decode_tokens_per_s=rate if test.group(1) == "tg" else None,
            backend=_backend(row.get("backend", "")), n_gpu_layers=_int(row.get("ngl")),
            flash_attention=_bool(fa) if fa is not None else None,
            kv_cache_type=(row.get("type_k") or None), kv_cache_type_v=_v_type(row.get("type_k"), row.get("type_v")),
            n_ubatch=_int(row.get("n_ubatch")),
            n_batch=_int(row.get("n_batch")), n_threads=_int(row.get("threads")), build=build,
            source=f"{name}:table row {k + 1}"))
    if not out:
        raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_BENCH_MD} rows (ppN / tgN tests with a t/s value)")
    return out


# ---- llama-server --------------------------------------------------------------------------------

def _server_timings(t: dict[str, Any], model: str | None, source: str) -> MeasuredRun:
    pn, pps = _int(t.get("prompt_n")), _float(t.get("prompt_per_second"))
    gn, gps = _int(t.get("predicted_n")), _float(t.get("predicted_per_second"))
    if pps is None and gps is None:
        raise InvalidInput(f"{source}: expected {RunFormat.LLAMA_SERVER_TIMINGS} fields prompt_per_second "
                           "and predicted_per_second")
    pms = _float(t.get("prompt_ms"))
    return MeasuredRun(engine="llama.cpp", model=model, prompt_tokens=max(pn or 0, 0), gen_tokens=max(gn or 0, 0),
                       depth_tokens=max(_int(t.get("cache_n")) or 0, 0),
                       prefill_tokens_per_s=pps if pps and pps > 0 and (pn or 0) > 0 else None,
                       decode_tokens_per_s=gps if gps and gps > 0 and (gn or 0) > 1 else None,
                       ttft_s=pms / 1000 if pms and pms > 0 else None, source=source)


def parse_llama_server_timings(text: str, name: str = "") -> list[MeasuredRun]:
    doc = json.loads(text)
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for i, d in enumerate(items):
        if not isinstance(d, dict):
            raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_SERVER_TIMINGS} (a response object)")
        t = d.get("timings", d)
        if not isinstance(t, dict):
            raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_SERVER_TIMINGS} (a timings object)")
        model = d.get("model") if isinstance(d.get("model"), str) else None
        out.append(_server_timings(t, model, f"{name}[{i}]" if len(items) > 1 else name))
    return out


def parse_llama_server_metrics(text: str, name: str = "") -> list[MeasuredRun]:
    vals: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"(llamacpp:[a-z_]+)(?:\{[^}]*\})?\s+([-+0-9.eE]+|NaN)\s*$", line.strip())
        if m and (v := _float(m.group(2))) is not None:
            vals[m.group(1)] = v
    pt, ps = vals.get("llamacpp:prompt_tokens_total"), vals.get("llamacpp:prompt_seconds_total")
    gt, gs = vals.get("llamacpp:tokens_predicted_total"), vals.get("llamacpp:tokens_predicted_seconds_total")
    if not (pt and ps) and not (gt and gs):
        raise InvalidInput(f"{name}: expected {RunFormat.LLAMA_SERVER_METRICS} counters "
                           "llamacpp:prompt_tokens_total / prompt_seconds_total or tokens_predicted_total / "
                           "tokens_predicted_seconds_total")
    return [MeasuredRun(engine="llama.cpp", prefill_tokens_per_s=pt / ps if pt and ps else None,
                        decode_tokens_per_s=gt / gs if gt and gs else None, source=f"{name} (server totals)")]


# ---- Ollama --------------------------------------------------------------------------------------

def _ollama_doc(d: dict[str, Any], source: str) -> MeasuredRun:
    pc, pd = _int(d.get("prompt_eval_count")), _int(d.get("prompt_eval_duration"))
    ec, ed = _int(d.get("eval_count")), _int(d.get("eval_duration"))
    if not (ec and ed) and not (pc and pd):
        raise InvalidInput(f"{source}: expected {RunFormat.OLLAMA_API} fields eval_count and eval_duration")
    return MeasuredRun(engine="ollama", model=d.get("model") if isinstance(d.get("model"), str) else None,
                       prompt_tokens=max(pc or 0, 0), gen_tokens=max(ec or 0, 0),
                       depth_tokens=max(_int(d.get("prompt_eval_cached_count")) or 0, 0),
                       prefill_tokens_per_s=pc / (pd / 1e9) if pc and pd and pc > 0 and pd > 0 else None,
                       decode_tokens_per_s=ec / (ed / 1e9) if ec and ed and ec > 0 and ed > 0 else None,
                       source=source)


def parse_ollama_api(text: str, name: str = "") -> list[MeasuredRun]:
    """One response object, an array of them, or a streamed reply (one object per line: the ``done`` one)."""
    try:
        doc = json.loads(text)
        items = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        items = []
        for line in text.splitlines():
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError:
                    raise InvalidInput(f"{name}: expected {RunFormat.OLLAMA_API} (JSON objects)") from None
    done = [d for d in items if isinstance(d, dict) and ("eval_count" in d or "prompt_eval_count" in d)]
    if not done:
        raise InvalidInput(f"{name}: expected {RunFormat.OLLAMA_API} fields eval_count and eval_duration")
    return [_ollama_doc(d, f"{name}[{i}]" if len(done) > 1 else name) for i, d in enumerate(done)]


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_s(text: str) -> float | None:
    """A Go ``time.Duration`` string ("1.234s", "83.5ms", "1m2.5s", "512µs") in seconds."""
    parts = re.findall(r"([\d.]+)(ns|us|µs|μs|ms|s|m|h)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip().replace(" ", ""):
        return None
    try:
        return sum(float(n) * _GO_UNITS[u] for n, u in parts)
    except ValueError:
        return None


def parse_ollama_verbose(text: str, name: str = "") -> list[MeasuredRun]:
    vals: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*(total duration|load duration|prompt eval count|prompt eval duration|prompt eval rate|"
                     r"eval count|eval duration|eval rate):\s*(.+?)\s*$", line)
        if m:
            vals.setdefault(m.group(1), m.group(2))  # the first block when several replies are pasted
    rate = _float((vals.get("eval rate") or "").split()[0] if vals.get("eval rate") else None)
    prate = _float((vals.get("prompt eval rate") or "").split()[0] if vals.get("prompt eval rate") else None)
    if rate is None and prate is None:
        raise InvalidInput(f"{name}: expected {RunFormat.OLLAMA_VERBOSE} lines 'eval rate: N tokens/s'")
    pc = _int((vals.get("prompt eval count") or "0").split()[0])
    ec = _int((vals.get("eval count") or "0").split()[0])
    return [MeasuredRun(engine="ollama", prompt_tokens=max(pc or 0, 0), gen_tokens=max(ec or 0, 0),
                        prefill_tokens_per_s=prate if prate and prate > 0 else None,
                        decode_tokens_per_s=rate if rate and rate > 0 else None, source=name)]


# ---- MLX -----------------------------------------------------------------------------------------

def parse_mlx_verbose(text: str, name: str = "") -> list[MeasuredRun]:
    p = re.search(r"Prompt:\s*(\d+)\s*tokens,\s*([\d.]+)\s*tokens-per-sec", text)
    g = re.search(r"Generation:\s*(\d+)\s*tokens,\s*([\d.]+)\s*tokens-per-sec", text)
    if not g and not p:
        raise InvalidInput(f"{name}: expected {RunFormat.MLX_VERBOSE} lines 'Prompt: N tokens, X tokens-per-sec' "
                           "and 'Generation: ...'")
    pr, gr = (_float(p.group(2)) if p else None), (_float(g.group(2)) if g else None)
    return [MeasuredRun(engine="mlx", prompt_tokens=int(p.group(1)) if p else 0,
                        gen_tokens=int(g.group(1)) if g else 0,
                        prefill_tokens_per_s=pr if pr and pr > 0 else None,
                        decode_tokens_per_s=gr if gr and gr > 0 else None, source=name)]


# ---- vLLM ----------------------------------------------------------------------------------------

def parse_vllm_bench(text: str, name: str = "") -> list[MeasuredRun]:
    d = json.loads(text)
    tpot, ttft = _float(d.get("mean_tpot_ms")), _float(d.get("mean_ttft_ms"))
    completed = _int(d.get("completed")) or 0
    if tpot is None and ttft is None:
        raise InvalidInput(f"{name}: expected {RunFormat.VLLM_BENCH} fields mean_tpot_ms and mean_ttft_ms")
    n_in = _int(d.get("total_input_tokens")) or 0
    n_out = _int(d.get("total_output_tokens")) or 0
    conc = _int(d.get("max_concurrency")) or 1
    model = d.get("model_id") or d.get("model")
    return [MeasuredRun(engine="vllm", model=model if isinstance(model, str) else None,
                        prompt_tokens=n_in // completed if completed else 0,
                        gen_tokens=n_out // completed if completed else 0,
                        decode_tokens_per_s=1000 / tpot if tpot and tpot > 0 else None,
                        ttft_s=ttft / 1000 if ttft and ttft > 0 else None, concurrency=max(conc, 1), source=name)]


# ---- rigfit bundles ------------------------------------------------------------------------------

def parse_bundle(text: str, name: str = "") -> list[MeasuredRun]:
    d = json.loads(text)
    runs = d.get(BUNDLE_KEY, {}).get("runs") if isinstance(d.get(BUNDLE_KEY), dict) else None
    if not isinstance(runs, list):
        raise InvalidInput(f"{name}: expected {RunFormat.RIGFIT_BUNDLE} (rigfit_bench.runs)")
    out = []
    for i, r in enumerate(runs):
        if not isinstance(r, dict):
            raise InvalidInput(f"{name}: run {i}: expected an object")
        try:
            out.append(MeasuredRun.from_dict(r | {"source": f"{name}[{i}]"}))
        except TypeError as e:  # a field of the wrong shape
            raise InvalidInput(f"{name}: run {i}: {e}") from None
    return out


# ---- format detection ----------------------------------------------------------------------------

def detect_format(text: str) -> RunFormat | None:
    """The format of ``text`` from its content, or None."""
    s = text.lstrip()
    if s.startswith(("{", "[")):
        try:
            doc = json.loads(s)
        except json.JSONDecodeError:
            doc = None
        if doc is None:  # several objects: JSON lines
            first = s.splitlines()[0]
            try:
                one = json.loads(first)
            except json.JSONDecodeError:
                return None
            if isinstance(one, dict) and "avg_ts" in one:
                return RunFormat.LLAMA_BENCH_JSONL
            if isinstance(one, dict) and ("done" in one or "eval_count" in one):
                return RunFormat.OLLAMA_API
            return None
        items = doc if isinstance(doc, list) else [doc]
        head: dict[str, Any] = items[0] if items and isinstance(items[0], dict) else {}
        if isinstance(doc, dict) and BUNDLE_KEY in doc:
            return RunFormat.RIGFIT_BUNDLE
        if "avg_ts" in head or "n_prompt" in head:
            return RunFormat.LLAMA_BENCH_JSON
        if "timings" in head or "prompt_per_second" in head or "predicted_per_second" in head:
            return RunFormat.LLAMA_SERVER_TIMINGS
        if "eval_count" in head or "prompt_eval_count" in head:
            return RunFormat.OLLAMA_API
        if "mean_tpot_ms" in head or "mean_ttft_ms" in head:
            return RunFormat.VLLM_BENCH
        return None
    if "llamacpp:" in s:
        return RunFormat.LLAMA_SERVER_METRICS
    if re.search(r"^\s*(prompt )?eval rate:", s, re.M):
        return RunFormat.OLLAMA_VERBOSE
    if re.search(r"tokens-per-sec", s):
        return RunFormat.MLX_VERBOSE
    if re.search(r"\|\s*test\s*\|", s):
        return RunFormat.LLAMA_BENCH_MD
    if "," in s.split("\n", 1)[0] and "avg_ts" in s.split("\n", 1)[0]:
        return RunFormat.LLAMA_BENCH_CSV
    return None


PARSERS: dict[RunFormat, Callable[[str, str], list[MeasuredRun]]] = {
    RunFormat.LLAMA_BENCH_JSON: parse_llama_bench_json, RunFormat.LLAMA_BENCH_JSONL: parse_llama_bench_jsonl,
    RunFormat.LLAMA_BENCH_CSV: parse_llama_bench_csv, RunFormat.LLAMA_BENCH_MD: parse_llama_bench_md,
    RunFormat.LLAMA_SERVER_TIMINGS: parse_llama_server_timings,
    RunFormat.LLAMA_SERVER_METRICS: parse_llama_server_metrics, RunFormat.OLLAMA_API: parse_ollama_api,
    RunFormat.OLLAMA_VERBOSE: parse_ollama_verbose, RunFormat.MLX_VERBOSE: parse_mlx_verbose,
    RunFormat.VLLM_BENCH: parse_vllm_bench, RunFormat.RIGFIT_BUNDLE: parse_bundle,
}


def parse_runs(text: str, name: str = "input") -> tuple[RunFormat, list[MeasuredRun]]:
    """The format of ``text`` and its runs.  Raises ``InvalidInput`` (one line) when the format is not one rigfit
    reads or the file lacks the fields of the format it looks like."""
    if not text.strip():
        raise InvalidInput(f"{name}: empty file; expected one of: {READABLE}")
    fmt = detect_format(text)
    if fmt is None:
        raise InvalidInput(f"{name}: not a format rigfit reads; expected one of: {READABLE}")
    try:
        runs = PARSERS[fmt](text, name)
    except (json.JSONDecodeError, AttributeError, csv.Error) as e:
        raise InvalidInput(f"{name}: expected {fmt} ({type(e).__name__})") from None
    for r in runs:
        _check_run(r)
    if not runs:
        raise InvalidInput(f"{name}: {fmt} with no prefill or decode result to use")
    return fmt, runs
