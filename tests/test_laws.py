"""Invariants (Hypothesis).  RIGFIT_HYPOTHESIS_PROFILE=thorough runs 1,000 examples per law."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rigfit.api import fit
from rigfit.models.catalog import default_catalog
from rigfit.models.spec import ModelSpec

MODELS = [m.name for m in default_catalog().models if (m.params_total or 0) < 80e9]
# GGUF file types in increasing nominal precision (llama.cpp tools/quantize table order).
LADDER = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "F16"]
ENGINES = ["llama.cpp", "ollama", "vllm", "transformers", "exllamav2"]
KV_LADDER = ["q4_0", "q5_0", "q8_0", "f16", "f32"]

models = st.sampled_from(MODELS)
contexts = st.integers(min_value=1, max_value=262144)


@given(models, contexts, contexts, st.sampled_from(ENGINES))
def test_memory_never_falls_as_context_grows(model: str, a: int, b: int, engine: str) -> None:
    lo, hi = sorted((a, b))
    small = fit(model, engine=engine, context_tokens=lo).memory
    big = fit(model, engine=engine, context_tokens=hi).memory
    assert big.kv_cache_bytes >= small.kv_cache_bytes
    assert big.total_bytes >= small.total_bytes


def _block_aligned(m: ModelSpec) -> bool:
    return all(d % 256 == 0 for d in (m.hidden_size, m.ffn_size, m.n_heads * m.head_dim))


# Rows that are not whole 256-blocks make llama-quantize swap k-quants for 32-blocks (Q2_K -> Q4_0 ...),
# and then a "smaller" file type can come out larger: Qwen2.5-0.5B (n_embd 896) at Q2_K is 0.07 % larger
# than at Q3_K_S in llama.cpp too.  The law is stated for block-aligned models; the quirk is pinned below.
ALIGNED = [m for m in MODELS if _block_aligned(default_catalog().lookup(m))]


def test_fallback_quirk_is_reproduced() -> None:
    q2 = fit("Qwen2.5-Coder-0.5B-Instruct", quant="Q2_K", context_tokens=512).memory.weights_bytes
    q3 = fit("Qwen2.5-Coder-0.5B-Instruct", quant="Q3_K_S", context_tokens=512).memory.weights_bytes
    assert q2 > q3


@given(st.sampled_from(ALIGNED), st.integers(0, len(LADDER) - 2), st.integers(1, len(LADDER) - 1))
def test_more_bits_never_fewer_bytes(model: str, i: int, step: int) -> None:
    j = min(i + step, len(LADDER) - 1)
    lo = fit(model, quant=LADDER[i], context_tokens=4096).memory
    hi = fit(model, quant=LADDER[j], context_tokens=4096).memory
    assert hi.weights_bytes >= lo.weights_bytes


@given(models, st.integers(0, len(KV_LADDER) - 2), contexts)
def test_more_kv_bits_never_fewer_bytes(model: str, i: int, ctx: int) -> None:
    lo = fit(model, kv_cache_type=KV_LADDER[i], context_tokens=ctx).memory
    hi = fit(model, kv_cache_type=KV_LADDER[i + 1], context_tokens=ctx).memory
    assert hi.kv_cache_bytes >= lo.kv_cache_bytes


@given(models, st.integers(1, 16), contexts)
def test_parallel_sequences_never_need_less(model: str, n: int, ctx: int) -> None:
    one = fit(model, context_tokens=ctx).memory
    many = fit(model, context_tokens=ctx, n_seq=n).memory
    assert many.kv_cache_bytes >= one.kv_cache_bytes


@given(models, st.sampled_from(["on", "off"]), st.integers(1, 4096), st.integers(1, 65536))
def test_totals_are_sums_and_non_negative(model: str, fa: str, ubatch: int, ctx: int) -> None:
    m = fit(model, context_tokens=ctx, n_ubatch=ubatch, flash_attention=fa == "on").memory
    assert all(i.n_bytes >= 0 for i in m.items)
    assert m.total_bytes == m.weights_bytes + m.kv_cache_bytes + m.compute_bytes + m.overhead_bytes


@given(st.sampled_from([m.name for m in default_catalog().models]))
def test_spec_dict_round_trip(model: str) -> None:
    s = default_catalog().lookup(model)
    assert ModelSpec.from_dict(s.to_dict()) == s
