"""Ask a real llama.cpp (through llama-cpp-python, optional) what it allocates for a model.

Writes a sparse GGUF for a catalog model (``rigfit.models.gguf_write``), creates a model and a
context with ``no_alloc=True`` (only simulated allocations, engine-facts.md 1.5), parses the log
lines ``llama_kv_cache: size = ... MiB`` and ``compute buffer size = ... MiB``, and prints them next to
rigfit's prediction.  CPU backend on machines without a GPU; run it on a GPU machine with a CUDA
build of llama-cpp-python to check CUDA buffers.

    python benchmarks/llamacpp_probe.py Llama-3.1-8B-Instruct --ctx 4096 --ubatch 512 --fa off
"""

from __future__ import annotations

import argparse
import ctypes
import re
import sys
import tempfile
from pathlib import Path

from rigfit import fit
from rigfit.models.catalog import default_catalog
from rigfit.models.gguf_write import write_sparse_gguf

MIB = 1024**2
_lines: list[str] = []


def _probe(path: str, ctx: int, ubatch: int, batch: int, fa: bool, kv: str, n_seq: int) -> dict[str, float]:
    import llama_cpp as lc

    @lc.llama_log_callback
    def _log(level: int, text: bytes, user: ctypes.c_void_p) -> None:
        _lines.append(text.decode(errors="replace"))

    lc.llama_log_set(_log, ctypes.c_void_p())
    _lines.clear()
    mp = lc.llama_model_default_params()
    mp.no_alloc = True
    mp.load_mode = lc.LLAMA_LOAD_MODE_NONE
    model = lc.llama_model_load_from_file(path.encode(), mp)
    if not model:
        raise SystemExit("llama.cpp could not load the model:\n" + "".join(_lines[-20:]))
    cp = lc.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = ctx, batch, ubatch, n_seq
    cp.flash_attn_type = 1 if fa else 0
    kvt = {"f16": 1, "q8_0": 8, "q4_0": 2, "f32": 0}[kv]
    cp.type_k = cp.type_v = kvt
    cp.swa_full = False
    c = lc.llama_init_from_model(model, cp)
    text = "".join(_lines)
    if c:
        lc.llama_free(c)
    lc.llama_model_free(model)
    out: dict[str, float] = {"kv": 0.0, "rs": 0.0, "compute": 0.0, "output": 0.0}
    for m in re.finditer(r"llama_kv_cache(?:_iswa)?:?\s+size\s*=\s*([\d.]+) MiB", text):
        out["kv"] += float(m.group(1))
    for m in re.finditer(r"llama_memory_recurrent:\s+size\s*=\s*([\d.]+) MiB", text):
        out["rs"] += float(m.group(1))
    for m in re.finditer(r"(\w+) compute buffer size\s*=\s*([\d.]+) MiB", text):
        out["compute"] += float(m.group(2))
    for m in re.finditer(r"output buffer size\s*=\s*([\d.]+) MiB", text):
        out["output"] += float(m.group(1))
    out["log"] = text  # type: ignore[assignment]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--ubatch", type=int, default=512)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--fa", choices=["on", "off"], default="on")
    ap.add_argument("--kv", default="f16")
    ap.add_argument("--np", type=int, default=1)
    ap.add_argument("--quant", default="Q4_0")
    ap.add_argument("--show-log", action="store_true")
    a = ap.parse_args(argv)
    spec = default_catalog().lookup(a.model)
    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / "m.gguf")
        write_sparse_gguf(path, spec, a.quant)
        got = _probe(path, a.ctx, a.ubatch, a.batch, a.fa == "on", a.kv, a.np)
    r = fit(spec, quant=a.quant, context_tokens=a.ctx // a.np, n_ubatch=a.ubatch, n_batch=a.batch,
            flash_attention=a.fa == "on", kv_cache_type=a.kv, n_seq=a.np, backend="cpu", logits_all=True)
    pred_rs = sum(i.n_bytes for i in r.memory.items if i.name == "KV cache, recurrent state") / MIB
    pred_kv = r.memory.kv_cache_bytes / MIB - pred_rs
    pred_cb = next(i.n_bytes for i in r.memory.items if i.name == "compute buffer") / MIB
    print(f"{spec.name} ctx={a.ctx} ubatch={a.ubatch} fa={a.fa} kv={a.kv} np={a.np}: "
          f"KV llama.cpp {got['kv']:.2f} MiB rigfit {pred_kv:.2f} | recurrent llama.cpp {got['rs']:.2f} MiB "
          f"rigfit {pred_rs:.2f} | compute llama.cpp {got['compute']:.2f} MiB rigfit {pred_cb:.2f} "
          f"({100 * (pred_cb / got['compute'] - 1) if got['compute'] else 0:+.1f} %)")
    if a.show_log:
        print(got["log"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
