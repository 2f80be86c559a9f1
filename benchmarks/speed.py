"""Timing of interactive answers (printed, never asserted).

    python benchmarks/speed.py

* in-process ``rigfit.fit`` for the seeds' 32B model: first call (catalog load included) and the
  median of repeated calls;
* GGUF header read for a 151,936-token vocabulary (sparse fixture written to a temp folder);
* the advisor: recommend over the whole catalog (chat, code, QLoRA), the main job, the guide;
* CLI cold start: ``rigfit fit ... --json`` in a fresh interpreter against ``python -c pass``;
* ``rigfit models --hardware 3090`` over the whole catalog in a fresh interpreter, with an empty and with a
  warm weight-summary cache.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _median_ms(fn, n: int = 30) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _cold_ms(args: list[str], n: int = 7) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    t = time.perf_counter()
    from rigfit import fit

    fit("Qwen2.5-Coder-32B-Instruct", context_tokens=16384)
    first = (time.perf_counter() - t) * 1000
    warm = _median_ms(lambda: fit("Qwen2.5-Coder-32B-Instruct", context_tokens=16384))
    moe = _median_ms(lambda: fit("DeepSeek-V3", context_tokens=16384), n=10)
    print(f"fit (in-process), first call incl. imports and catalog: {first:7.1f} ms")
    print(f"fit (in-process), Qwen2.5-Coder-32B, median of 30:      {warm:7.1f} ms")
    print(f"fit (in-process), DeepSeek-V3 671B, median of 10:       {moe:7.1f} ms")

    from rigfit.api import resolve_hardware, what_runs
    from rigfit.request import Search

    placed = _median_ms(lambda: fit("Qwen2.5-Coder-32B-Instruct", quant="Q4_K_M", context_tokens=16384,
                                    hardware=["3090"]))
    bq = _median_ms(lambda: fit("Qwen2.5-Coder-32B-Instruct", search=Search.BEST_QUANT, context_tokens=16384,
                                hardware=["3090"]), n=10)
    system = resolve_hardware(["3090"])
    runs = _median_ms(lambda: what_runs(system, context_tokens=8192), n=3)
    print(f"fit --hardware 3090 (placement + speed), median of 30:    {placed:7.1f} ms")
    print(f"best quant search (no --quant), median of 10:            {bq:7.1f} ms")
    from rigfit.models.catalog import default_catalog

    n_models = len(default_catalog().models)
    print(f"models --hardware 3090 ({n_models} models, best quant each, warm): {runs:5.1f} ms")

    from rigfit.advise import Request, machine_report, recommend
    from rigfit.guide import build_guide
    from rigfit.hardware.detect import detect

    t = time.perf_counter()
    recommend(Request(models=("Qwen2.5-Coder-32B-Instruct", "DeepSeek-R1-Distill-Qwen-32B")))
    rec_first = (time.perf_counter() - t) * 1000
    rec = _median_ms(lambda: recommend(Request(models=("Qwen2.5-Coder-32B-Instruct",
                                                       "DeepSeek-R1-Distill-Qwen-32B"))), n=5)
    rec_code = _median_ms(lambda: recommend(Request(models=("Qwen2.5-Coder-32B-Instruct",
                                                            "DeepSeek-R1-Distill-Qwen-32B"), workload="code")), n=5)
    rec_train = _median_ms(lambda: recommend(Request(models=("Llama-3.1-8B-Instruct",), workload="qlora")), n=5)
    det = detect()
    mj = _median_ms(lambda: machine_report(det), n=5)
    gd = _median_ms(build_guide, n=3)
    print(f"recommend, 32B stack, whole catalog, first call:          {rec_first:7.1f} ms")
    print(f"recommend, 32B stack, whole catalog (chat), median of 5:  {rec:7.1f} ms")
    print(f"recommend, 32B stack, code workload, median of 5:         {rec_code:7.1f} ms")
    print(f"recommend, Llama-3.1-8B QLoRA, median of 5:               {rec_train:7.1f} ms")
    print(f"main job (detected machine + stack + cheapest build):     {mj:7.1f} ms")
    print(f"guide for the 32B stack, median of 3:                     {gd:7.1f} ms")

    # plans across machines, the advisor's clusters, and calibration (issues 18 and 19)
    cl = _median_ms(lambda: fit("Qwen3-235B-A22B", quant="Q8_0", nodes=["M3 Ultra 512GB"] * 4, link="tb5"), n=10)
    cl_rec = _median_ms(lambda: recommend(Request(models=("DeepSeek-V3.1",), quant="Q8_0", min_tokens_per_s=10)),
                        n=3)
    print(f"fit across 4 machines (RPC over tb5), median of 10:       {cl:7.1f} ms")
    print(f"recommend with clusters (DeepSeek V3.1 Q8_0), median of 3:{cl_rec:7.1f} ms")
    from rigfit.api import resolve_hardware as _rh
    from rigfit.calibrate import calibrate_runs
    from rigfit.measured import parse_runs

    text = (Path(__file__).resolve().parents[1] / "tests" / "data" / "runs" / "llama_bench_rtx4080.json").read_text()
    parse = _median_ms(lambda: parse_runs(text, "llama-bench.json"), n=30)
    runs = parse_runs(text, "llama-bench.json")[1]
    sys4080 = _rh(["RTX 4080"])
    calib = _median_ms(lambda: calibrate_runs(runs, sys4080), n=10)
    print(f"parse a llama-bench JSON (2 tests), median of 30:         {parse:7.2f} ms")
    print(f"calibrate on those runs (predict + fit), median of 10:    {calib:7.1f} ms")

    from rigfit.models.catalog import default_catalog
    from rigfit.models.gguf_file import read_gguf_header
    from rigfit.models.gguf_write import write_sparse_gguf

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "q.gguf"
        write_sparse_gguf(p, default_catalog().lookup("Qwen2.5-Coder-7B-Instruct"), "Q4_K_M")
        hdr = _median_ms(lambda: read_gguf_header(p), n=10)
    print(f"GGUF header + tensor table, 151,936-token vocab, median: {hdr:6.1f} ms")

    base = _cold_ms([sys.executable, "-c", "pass"])
    cli = _cold_ms([sys.executable, "-m", "rigfit", "fit", "qwen2.5-coder:32b", "--json"])
    print(f"python -c pass:                                          {base:7.1f} ms")
    print(f"rigfit fit qwen2.5-coder:32b --json (cold):               {cli:7.1f} ms  (+{cli - base:.0f} ms)")
    rcli = _cold_ms([sys.executable, "-m", "rigfit", "recommend", "--json"], n=3)
    print(f"rigfit recommend --json (cold):                           {rcli:7.1f} ms")
    # the whole-catalog listing in a fresh process: with an empty weight-summary cache (the first run after
    # an install or upgrade) and with the cache the first run wrote (diskcache.py)
    import os

    listing = [sys.executable, "-m", "rigfit", "models", "--hardware", "3090"]
    with tempfile.TemporaryDirectory() as folder:
        empty = []
        for _ in range(3):
            for f in Path(folder).glob("*.json"):
                f.unlink()
            env = {**os.environ, "RIGFIT_CACHE_DIR": folder}
            t = time.perf_counter()
            subprocess.run(listing, capture_output=True, check=False, env=env)
            empty.append((time.perf_counter() - t) * 1000)
        os.environ["RIGFIT_CACHE_DIR"] = folder
        warm_cli = _cold_ms(listing, n=5)
    print(f"rigfit models --hardware 3090, empty cache (median of 3): {statistics.median(empty):7.1f} ms")
    print(f"rigfit models --hardware 3090, cache warm (median of 5):  {warm_cli:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
