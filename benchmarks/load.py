"""Bounded load test of the web API on loopback (printed, never asserted).

    python benchmarks/load.py                       # 2,000 requests to /api/fit, 16 at a time
    python benchmarks/load.py -n 5000 -c 32 --path /api/models
    python benchmarks/load.py -n 400 -c 4 --heavy 4   # cheap fits while 4 heavy requests run without pause

Starts ``rigfit serve`` (the real CLI, uvicorn) on a free loopback port in a subprocess, sends the requests
over 16 keep-alive HTTP/1.1 connections from one asyncio client, and reports requests/s and latency
percentiles.  The /api/fit requests rotate through a mix of models, quants, contexts and hardware (with and
without the best-quant search) so the numbers are not one cached answer.  Both processes share this
machine's cores: the client's own cost is inside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

FIT_MIX = [
    {"model": "qwen2.5-coder:32b", "quant": "Q4_K_M", "ctx": "16k", "hardware": "RTX 3090"},
    {"model": "llama3.1:8b", "ctx": "32k", "kv_cache": "q8_0", "hardware": "RTX 4060 Ti 16GB"},
    {"model": "Llama-3.1-70B-Instruct", "quant": "Q4_K_M", "ctx": "8192", "hardware": "2x RTX 3090"},
    {"model": "qwen2.5-coder:32b", "ctx": "16k", "hardware": "M4 Max 40-core 64GB"},
    {"model": "Qwen3-30B-A3B", "quant": "Q8_0", "ctx": "32k", "hardware": "RTX 3060"},
    {"model": "deepseek-r1:32b", "quant": "Q5_K_M", "ctx": "8k", "hardware": "RTX 4090", "command": "llama.cpp"},
    {"model": "gemma-3-27b-it", "quant": "Q4_K_M", "ctx": "32k", "hardware": "RTX 5090"},
    {"model": "qwen2.5-coder:7b", "ctx": "8k"},
]


# a best-quant search and a context sweep over four GPUs: the heaviest /api/fit request a page can send
HEAVY = {"model": "Llama-3.3-70B-Instruct", "ctx": "32k", "hardware": "4x RTX 3090", "curve": "true"}
CHEAP = [{**q, "quant": q.get("quant", "Q4_K_M")} for q in FIT_MIX]  # explicit quant: one plan each


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _paths(path: str) -> list[str]:
    if path != "/api/fit":
        return [path]
    return [path + "?" + urllib.parse.urlencode(q) for q in FIT_MIX]


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str) -> int:
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(h.split(":", 1)[1]) for h in lines[1:] if h.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return status


async def _run(port: int, paths: list[str], n: int, conc: int, heavy: int = 0) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(n))
    done = asyncio.Event()

    async def heavy_worker() -> None:  # keeps one heavy request in flight until the measured ones are done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        target = "/api/fit?" + urllib.parse.urlencode(HEAVY)
        while not done.is_set():
            await _one(reader, writer, target)
        writer.close()

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            t = time.perf_counter()
            status = await _one(reader, writer, paths[i % len(paths)])
            latencies.append(time.perf_counter() - t)
            errors += status != 200
        writer.close()

    heavies = [asyncio.create_task(heavy_worker()) for _ in range(heavy)]
    await asyncio.sleep(0.5 if heavy else 0)  # the heavy requests are running before the first measured one
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall = time.perf_counter() - t0
    done.set()
    await asyncio.gather(*heavies)
    return latencies, errors, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="requests (default 2000)")
    ap.add_argument("-c", type=int, default=16, help="concurrent connections (default 16)")
    ap.add_argument("--path", default="/api/fit", help="endpoint (default /api/fit, with a mix of queries)")
    ap.add_argument("--heavy", type=int, default=0,
                    help="heavy requests kept running meanwhile (best-quant search + context sweep on 4 GPUs); "
                         "the measured requests are then cheap fits with an explicit quant")
    args = ap.parse_args()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "rigfit", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        paths = [args.path + "?" + urllib.parse.urlencode(q) for q in CHEAP] if args.heavy else _paths(args.path)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/options", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        for p in paths:  # warm-up: imports and catalog loads, as an interactive user's first request pays
            urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=10).read()
        lat, errors, wall = asyncio.run(_run(port, paths, args.n, args.c, args.heavy))
    finally:
        server.terminate()
        server.wait(timeout=10)
    q = statistics.quantiles(lat, n=100)
    print(f"{args.n} requests to {args.path} ({len(paths)} distinct), {args.c} concurrent, loopback"
          + (f", while {args.heavy} heavy requests run" if args.heavy else ""))
    print(f"  throughput     {args.n / wall:8.0f} requests/s   (wall {wall:.2f} s, non-200: {errors})")
    print(f"  latency p50    {q[49] * 1000:8.1f} ms")
    print(f"  latency p90    {q[89] * 1000:8.1f} ms")
    print(f"  latency p99    {q[98] * 1000:8.1f} ms")
    print(f"  latency max    {max(lat) * 1000:8.1f} ms")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
