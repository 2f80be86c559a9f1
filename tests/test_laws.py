"""Invariants (Hypothesis).  RIGFIT_HYPOTHESIS_PROFILE=thorough runs 1,000 examples per law."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from rigfit import fit
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


# ---- placement and speed laws (issue 4) ----------------------------------------------------------

from dataclasses import replace  # noqa: E402

from rigfit.hardware.resolve import resolve_device  # noqa: E402
from rigfit.system import System, make_system  # noqa: E402

SPEED_MODELS = ["Meta-Llama-3-8B", "Qwen2.5-Coder-7B-Instruct", "gemma-2-9b-it", "Qwen3-30B-A3B",
                "Llama-3.2-3B-Instruct", "Mistral-7B-Instruct-v0.3"]
GPUS = ["3090", "4090", "3060 12GB", "A100 80GB PCIe", "4060 Ti 16GB", "7900 xtx"]


def _system(name: str, bandwidth: float | None = None) -> System:
    d = resolve_device(name)
    if bandwidth is not None:
        d = replace(d, bandwidth_gb_s=bandwidth)
    return make_system([(d, 1)])


@given(st.sampled_from(SPEED_MODELS), st.sampled_from(GPUS), st.floats(50, 4000), st.floats(50, 4000))
def test_more_bandwidth_never_slower(model: str, gpu: str, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    slow = fit(model, quant="Q4_K_M", context_tokens=4096, system=_system(gpu, lo)).speed
    fast = fit(model, quant="Q4_K_M", context_tokens=4096, system=_system(gpu, hi)).speed
    assert slow is not None and fast is not None
    assert fast.decode_tokens_per_s >= slow.decode_tokens_per_s * (1 - 1e-12)


@given(st.sampled_from(SPEED_MODELS), st.sampled_from(GPUS[:3]), st.integers(1, 60))
def test_moving_a_layer_to_cpu_never_faster(model: str, gpu: str, ngl: int) -> None:
    n = default_catalog().lookup(model).n_layers
    ngl = min(ngl, n + 1)
    kw = dict(quant="Q4_K_M", context_tokens=4096, hardware=[gpu], ram_bytes=256 << 30)
    more = fit(model, gpu_layers=ngl, **kw)  # type: ignore[arg-type]
    fewer = fit(model, gpu_layers=ngl - 1, **kw)  # type: ignore[arg-type]
    assume(more.speed is not None)  # a forced -ngl that overflows the GPU has no speed
    assert more.speed is not None and fewer.speed is not None
    assert fewer.speed.decode_tokens_per_s <= more.speed.decode_tokens_per_s * (1 + 1e-12)


@given(st.sampled_from(SPEED_MODELS), st.sampled_from(GPUS), st.integers(1, 32768), st.integers(1, 32768))
def test_longer_context_never_faster_decode(model: str, gpu: str, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    short = fit(model, quant="Q4_K_M", context_tokens=lo + 1, gen_tokens=lo, hardware=[gpu]).speed
    long = fit(model, quant="Q4_K_M", context_tokens=hi + 1, gen_tokens=hi, hardware=[gpu]).speed
    if short is None or long is None:  # did not fit
        return
    assert long.decode_tokens_per_s <= short.decode_tokens_per_s * (1 + 1e-12)


@given(st.sampled_from(SPEED_MODELS), st.integers(1, 128), st.integers(1, 128),
       st.sampled_from(["avx", "avx2", "avx512"]), st.sampled_from(["llama.cpp", "llamafile"]))
def test_more_cpu_cores_never_slower_prefill(model: str, a: int, b: int, isa: str, engine: str) -> None:
    """On the CPU, more cores of the same SIMD width never prefill slower (hardware.rates.cpu_prompt_tflops)."""
    cpu = resolve_device("AMD AM5 desktop")
    lo, hi = sorted((a, b))
    rates = []
    for cores in (lo, hi):
        system = make_system([(replace(cpu, units=cores, isa=isa), 1)])
        s = fit(model, quant="Q4_K_M", context_tokens=4096, prompt_tokens=512, engine=engine, system=system).speed
        assert s is not None and s.prefill_tokens_per_s
        rates.append(s.prefill_tokens_per_s)
    assert rates[1] >= rates[0] * (1 - 1e-12)


@given(st.sampled_from(SPEED_MODELS), st.sampled_from(GPUS), st.integers(1, 600), st.integers(0, 16384),
       st.sampled_from(["llama.cpp", "llamafile", "ollama"]))
def test_a_prompt_is_never_faster_than_one_decode_step(model: str, gpu: str, prompt: int, depth: int,
                                                       engine: str) -> None:
    """A prompt micro-batch reads the weights at least once: its time never undercuts one decode step from the
    same depth (speed.prefill_time_s), however short the prompt."""
    r = fit(model, quant="Q4_K_M", context_tokens=prompt + depth + 2, prompt_tokens=prompt, gen_tokens=1,
            depth_tokens=depth, hardware=[gpu], engine=engine)
    s = r.speed
    if s is None or not s.prefill_tokens_per_s:  # did not fit
        return
    assert s.prefill_tokens_per_s <= prompt * s.decode_tokens_per_s * (1 + 1e-9)


@given(st.sampled_from(MODELS), st.sampled_from(GPUS), st.integers(256, 131072), st.sampled_from(LADDER))
def test_verdict_gpu_iff_total_fits_usable(model: str, gpu: str, ctx: int, quant: str) -> None:
    r = fit(model, quant=quant, context_tokens=ctx, hardware=[gpu], ram_bytes=1 << 40)
    p = r.placement
    assert p is not None
    usable = p.accelerators[0].usable_bytes
    assert (p.verdict == "gpu") == (r.memory.device_bytes <= usable)


# ---- fine-tuning memory and the advisor ------------------------------------------------------------------

TRAIN_MODELS = [m for m in MODELS if "Llama" in m or "Qwen2.5" in m][:8]


@given(st.sampled_from(TRAIN_MODELS), st.sampled_from(["full", "lora", "qlora"]), st.integers(128, 16384),
       st.integers(128, 16384), st.integers(1, 128))
def test_training_memory_never_falls_as_sequence_grows(model: str, method: str, a: int, b: int, rank: int) -> None:
    from rigfit.training import FineTune, training_memory

    spec = fit(model).spec
    lo, hi = sorted((a, b))
    small = training_memory(spec, FineTune(method=method, seq_len=lo, lora_rank=rank))
    big = training_memory(spec, FineTune(method=method, seq_len=hi, lora_rank=rank))
    assert big.total_bytes >= small.total_bytes


@given(st.sampled_from(TRAIN_MODELS), st.integers(1, 256), st.integers(1, 256))
def test_lora_memory_never_falls_as_rank_grows(model: str, a: int, b: int) -> None:
    from rigfit.training import FineTune, training_memory

    spec = fit(model).spec
    lo, hi = sorted((a, b))
    assert training_memory(spec, FineTune(method="lora", lora_rank=hi)).total_bytes >= \
        training_memory(spec, FineTune(method="lora", lora_rank=lo)).total_bytes


@given(st.lists(st.tuples(st.floats(1, 1e5), st.floats(0, 1e3)), min_size=1, max_size=30))
def test_pareto_front_is_undominated(points: list[tuple[float, float]]) -> None:
    from rigfit.advise import pareto_front

    front = pareto_front(points)
    assert front
    for i in front:
        assert not any(p[0] <= points[i][0] and p[1] > points[i][1] for p in points)
    for j in set(range(len(points))) - set(front):
        assert any(points[i][0] <= points[j][0] and points[i][1] >= points[j][1] for i in front)
