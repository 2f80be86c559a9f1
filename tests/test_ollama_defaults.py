"""Ollama's own defaults in 2026 builds (ollama/ollama at fb30760, 2026-08-21): num_ctx by the GPUs' total memory
(server/routes.go: 262,144 from 47 GiB, 32,768 from 23 GiB, else 4,096), capped at the model's trained context and
stepped down when the model does not load (server/sched.go nextLowerAutoNumCtx); num_batch by context, passed as
-b and -ub (server/sched.go automaticGenerationBatch, llm/llama_server.go)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigfit import fit
from rigfit.breakdown import RunConfig
from rigfit.engines import get_engine
from rigfit.models.catalog import default_catalog
from rigfit.request import Search
from rigfit.units import GIB, MIB
from rigfit.vocab import Backend

from .conftest import run_cli

OLLAMA = get_engine("ollama")


@pytest.mark.parametrize(("model", "hardware", "ram_gib", "context", "batch", "verdict"), [
    ("Qwen3-8B", "RTX 3060", None, 4096, 512, "gpu"),  # 12 GiB: below 23
    ("Qwen3-8B", "RTX 4090", None, 32768, 1024, "gpu"),  # 24 GiB: 32,768, a 1,024 batch for it
    ("Llama-3.1-8B-Instruct", "2x RTX 3090", None, 131072, 2048, "gpu"),  # 48 GiB: 262,144, capped at 128k
    ("Qwen2.5-Coder-32B-Instruct", "M4 Pro 48GB", None, 32768, 512, "gpu"),  # 36 GiB Metal working set; the
    # 32B model's 23 GiB plan leaves under 75 % of it for a 1,024 batch
    ("Qwen3-30B-A3B", "M3 Max 64GB", None, 40960, 2048, "gpu"),  # 48 GiB working set: 262,144, capped at 40,960
    # 70B on 48 GiB with 16 GiB of RAM does not load at 131,072 (40 GiB of KV): Ollama retries at 32,768
    ("Llama-3.3-70B-Instruct", "2x RTX 3090", 16, 32768, 512, "partial_offload"),
])
def test_the_default_context_follows_the_gpus(model: str, hardware: str, ram_gib: int | None, context: int,
                                              batch: int, verdict: str) -> None:
    r = fit(model, engine="ollama", hardware=[hardware], **({"ram_bytes": ram_gib * GIB} if ram_gib else {}))
    run = r.memory.run
    assert (run.context_tokens, run.n_batch, run.n_ubatch) == (context, batch, batch)
    assert r.placement is not None and r.placement.verdict == verdict
    assert r.placement.notes[0].startswith(f"context {context:,}: Ollama's")


def test_a_context_asked_for_is_kept() -> None:
    r = fit("Qwen3-8B", engine="ollama", hardware=["RTX 4090"], context_tokens=8192)
    assert (r.memory.run.context_tokens, r.memory.run.n_batch) == (8192, 512)
    r = fit("Qwen3-8B", engine="llama.cpp", hardware=["RTX 4090"])
    assert r.memory.run.context_tokens == 8192  # other engines: their one default


def _run(fa: bool = True, backend: Backend = Backend.CUDA) -> RunConfig:
    return fit("Qwen3-8B", engine="ollama", context_tokens=4096, flash_attention=fa, backend=backend).memory.run


@pytest.mark.parametrize(("context", "predicted_gib", "gpu_gib", "fa", "batch"), [
    (4096, 6, 24, True, 512),
    (32768, 6, 24, True, 1024),
    (32768, 19, 24, True, 512),  # 19 > 75 % of 24
    (131072, 10, 48, True, 2048),
    (131072, 30, 48, True, 1024),  # over 60 % for 2,048, within 75 % for 1,024
    (131072, 37, 48, True, 512),  # over 75 %
    (32768, 6, 24, False, 512),  # CUDA without flash attention
    (32768, 4, 8, False, 256),  # ... on a card of 8 GiB
])
def test_the_batch_follows_the_context(context: int, predicted_gib: int, gpu_gib: int, fa: bool, batch: int) -> None:
    assert OLLAMA.batch_for(context, predicted_gib * GIB, gpu_gib * GIB, _run(fa)) == batch


def test_the_surcharge_needs_room() -> None:
    # 1,024 needs 768 MiB free under 80 % of the memory: 15 GiB predicted on 20 GiB leaves 1 GiB; 15.5 leaves 512 MiB
    assert OLLAMA.batch_for(32768, 15 * GIB, 20 * GIB, _run()) == 1024
    assert OLLAMA.batch_for(32768, 15 * GIB + 512 * MIB, 20 * GIB, _run()) == 512


@given(st.integers(0, 256), st.integers(0, 256))
def test_more_gpu_memory_never_gives_a_smaller_default(a_gib: int, b_gib: int) -> None:
    spec = default_catalog().lookup("Llama-3.1-8B-Instruct")
    lo, hi = sorted((a_gib, b_gib))
    assert OLLAMA.context_choices(spec, lo * GIB)[0][0] <= OLLAMA.context_choices(spec, hi * GIB)[0][0]


def test_each_user_gets_the_default_context(capsys: pytest.CaptureFixture[str]) -> None:
    # num_ctx is each sequence's: Ollama starts llama-server with -c num_ctx x OLLAMA_NUM_PARALLEL
    # (server/sched.go effectiveLlamaServerContext), and picks num_batch for that total (65,536 tokens: 2,048, the
    # load within 60 % of the memory)
    code, out, _ = run_cli(capsys, "fit", "qwen3:8b", "-e", "ollama", "-H", "RTX 4090", "--users", "2",
                           "--command", "ollama")
    assert code == 0
    lines = out.splitlines()
    assert "PARAMETER num_ctx 32768" in lines and "PARAMETER num_batch 2048" in lines
    r = fit("Qwen3-8B", engine="ollama", hardware=["RTX 4090"], n_seq=2)
    assert (r.memory.run.context_tokens, r.memory.run.n_seq) == (32768, 2)


@pytest.mark.parametrize("search", [Search.BEST_QUANT, Search.MAX_USERS])
def test_the_searches_start_from_ollamas_context(search: Search) -> None:
    r = fit("Qwen3-8B", engine="ollama", hardware=["RTX 4090"], search=search)
    assert r.memory.run.context_tokens == 32768  # each user's, on 24 GiB
    r = fit("Qwen3-8B", engine="llama.cpp", hardware=["RTX 4090"], search=search)
    assert r.memory.run.context_tokens == 8192
