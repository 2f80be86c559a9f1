"""Current llama.cpp builds' CUDA prompt model (issue 16 items 1-2): MMQ on the INT8 tensor cores, the matmuls'
activation traffic, flash attention's FLOPs and a MoE's routed experts at constants of their own, sliding-window
layers at their window, Turing at half of Ampere's MMQ reach.  Fitted by benchmarks/fit_speed.fit_cuda_prompt on
throughput_modern.csv; the measurements below are from elsewhere (llama.cpp pull requests, a public benchmark
log), so they test what the fit carries to other cards and models."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rigfit import fit
from rigfit.hardware.rates import TURING_MMQ_SHARE, mmq_int8_share
from rigfit.speed import ACTIVATION_BYTES, OLD_MMQ_MAX_BATCH, prefill_terms
from rigfit.speedclass import load_speed_params
from rigfit.speedwork import DeviceWork, device_work
from rigfit.vocab import Vendor


def _work(model: str, quant: str, hw: str, **kw: object) -> DeviceWork:
    r = fit(model, quant=quant, hardware=[hw], **kw)  # type: ignore[arg-type]
    assert r.placement is not None
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list) and len(works) == 1
    return works[0]


@pytest.mark.parametrize(("model", "quant", "hw", "depth", "measured", "tol"), [
    # llama.cpp PR #24127 (CUDA: refactor MMQ kernel configuration, 2026): RTX 5090, "llama 8B IQ4_NL", pp512 at
    # a 512-token micro-batch, 14,933.62 tok/s (master column)
    ("meta-llama/Llama-3.1-8B", "IQ4_NL", "RTX 5090", 0, 14933.62, 0.15),
    # github.com/geerlingguy/ai-benchmarks issue 46 (December 2025, build f9ec8858e (7474)): RTX 2080 Ti,
    # llama-2-13b Q4_K_M, -fa 1, pp512 1,493.64 tok/s: Turing (TURING_MMQ_SHARE)
    ("meta-llama/Llama-2-13b-hf", "Q4_K_M", "RTX 2080 Ti", 0, 1493.64, 0.15),
    # llama.cpp PR #17505 (CUDA: generalized (mma) FA, 2025): RTX 3090, "llama 8B Q4_0", pp512 @ d32768 at a
    # 512-token micro-batch, 1,470.93 tok/s (master): flash attention 32k tokens deep on a card the a_fa fit has
    # no rows of (its rows are an RTX 4070's), hence the wider tolerance
    ("meta-llama/Llama-3.1-8B", "Q4_0", "RTX 3090", 32768, 1470.93, 0.25),
])
def test_current_cuda_prefill_against_published_llama_bench(model: str, quant: str, hw: str, depth: int,
                                                            measured: float, tol: float) -> None:
    r = fit(model, quant=quant, hardware=[hw], prompt_tokens=512, depth_tokens=depth, context_tokens=depth + 1024,
            flash_attention=True)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=tol)


def test_may_2024_builds_keep_their_prompt_constants() -> None:
    """The May 2024 builds ran quantized prompts through cuBLAS on dequantized weights (llama.cpp PR #7676 moved
    MMQ to the INT8 tensor cores in June 2024: RTX 4090 llama 8B Q4_0 pp512 7,776 -> 10,359 tok/s); their rows
    keep their own constants, without the terms the current fit prices apart, and Turing's share is not applied
    to them."""
    old = _work("meta-llama/Llama-3.1-8B", "Q4_0", "RTX 4090")
    now_terms = prefill_terms(old, 512, 512, True, False, current=True)
    may_terms = prefill_terms(old, 512, 512, True, False, current=False)
    assert {"a_fa", "a_ac"} <= set(now_terms) and not {"a_fa", "a_ac", "a_fx"} & set(may_terms)
    now = fit("meta-llama/Llama-3.1-8B", quant="Q4_0", hardware=["RTX 4090"], prompt_tokens=512,
              context_tokens=1024)
    may = fit("meta-llama/Llama-3.1-8B", quant="Q4_0", hardware=["RTX 4090"], prompt_tokens=512,
              context_tokens=1024, llamacpp_build="2024-05")
    assert now.speed is not None and may.speed is not None
    assert now.speed.prefill_tokens_per_s is not None and may.speed.prefill_tokens_per_s is not None
    assert now.speed.prefill_tokens_per_s > 1.2 * may.speed.prefill_tokens_per_s
    t_now = fit("meta-llama/Llama-2-13b-hf", quant="Q4_K_M", hardware=["RTX 2080 Ti"], context_tokens=2048)
    t_may = fit("meta-llama/Llama-2-13b-hf", quant="Q4_K_M", hardware=["RTX 2080 Ti"], context_tokens=2048,
                llamacpp_build="2024-05")
    a_now = fit("meta-llama/Llama-2-13b-hf", quant="Q4_K_M", hardware=["RTX 3090"], context_tokens=2048)
    a_may = fit("meta-llama/Llama-2-13b-hf", quant="Q4_K_M", hardware=["RTX 3090"], context_tokens=2048,
                llamacpp_build="2024-05")
    rates = [x.speed.prefill_tokens_per_s for x in (t_now, t_may, a_now, a_may) if x.speed]
    assert len(rates) == 4 and all(rates)
    # the Turing card gains less from the current builds than the Ampere one
    assert rates[0] / rates[1] < rates[2] / rates[3]  # type: ignore[operator]


@pytest.mark.parametrize(("chip", "share"), [("TU102", TURING_MMQ_SHARE), ("TU104", TURING_MMQ_SHARE),
                                             ("GA102", 1.0), ("AD104", 1.0), ("GB202", 1.0), ("", 1.0)])
def test_mmq_share_by_chip(chip: str, share: float) -> None:
    assert mmq_int8_share(Vendor.NVIDIA, chip) == share


def test_activation_traffic_weighs_narrow_models_more() -> None:
    """Each matmul output value crosses memory (ACTIVATION_BYTES) at the card's bandwidth while its FLOPs run at
    the INT8 rate: against the matmul term, the activation term is 4 x INT8 rate / (bandwidth x width), exactly,
    so a 0.5B model (width 896) pays about 4x what an 8B one (width 4096) does per FLOP."""
    ratios = []
    for model, width in (("Qwen/Qwen2.5-0.5B-Instruct", 896), ("meta-llama/Llama-3.1-8B", 4096)):
        w = _work(model, "Q8_0", "RTX 3060")
        assert w.hidden_size == width and not w.routed_elements
        t = prefill_terms(w, 4096, 512, True, False, current=True)
        blocks = t["a_fq"] - 2.0 * w.output_elements / (w.quant_tops or 1.0) / 1e12  # the blocks' matmul term
        expect = ACTIVATION_BYTES / 2.0 * (w.quant_tops or 0.0) * 1e12 / (w.bandwidth_gb_s * 1e9 * width)
        assert t["a_ac"] / blocks == pytest.approx(expect, rel=1e-9)
        ratios.append(t["a_ac"] / blocks)
    assert ratios[0] / ratios[1] == pytest.approx(4096 / 896, rel=1e-9)


def test_sliding_window_layers_attend_their_window() -> None:
    """llama.cpp keeps window + micro-batch cells for a sliding layer (llama-kv-cache-iswa.cpp), so a prompt 32k
    tokens deep attends 32k keys in Gemma 3's full layers and about 1k in its sliding ones (5 of 6 layers)."""
    w = _work("google/gemma-3-4b-it", "Q4_K_M", "RTX 3060")
    assert w.window == 1024 and 0 < w.swa_attn_dim_layers < w.attn_dim_layers
    prompt, ub, start = 512, 512, 32768
    t = prefill_terms(w, prompt, ub, True, False, start=start, current=True)
    full = prefill_terms(replace(w, swa_attn_dim_layers=0, swa_heads_layers=0), prompt, ub, True, False, start=start,
                         current=True)
    pairs = prompt * start + prompt * prompt / 2 + prompt * ub / 2
    swa_pairs = prompt * (1024 + ub / 2)
    share = ((w.attn_dim_layers - w.swa_attn_dim_layers) * pairs + w.swa_attn_dim_layers * swa_pairs) / (
        w.attn_dim_layers * pairs)
    assert t["a_fa"] / full["a_fa"] == pytest.approx(share, rel=1e-9)
    assert share < 0.3
    # at a short prompt from an empty cache the window does not bind
    assert prefill_terms(w, 512, ub, True, False, current=True)["a_fa"] == pytest.approx(
        prefill_terms(replace(w, window=0), 512, ub, True, False, current=True)["a_fa"], rel=1e-12)


def test_routed_experts_run_at_their_own_constant() -> None:
    """A MoE's routed experts run as one small matmul per expert (ggml mul_mat_id): the current CUDA fit prices
    their FLOPs at a_fx, slower than the dense matmuls' a_fq (the 2025-2026 MoE prompt rows)."""
    w = _work("Qwen3-30B-A3B", "Q4_K_M", "RTX 4090")
    t = prefill_terms(w, 512, 512, True, False, current=True)
    tq = (w.quant_tops or 0.0) * 1e12
    assert t["a_fx"] == pytest.approx(2.0 * w.routed_elements * 512 / tq, rel=1e-12)
    assert 0 < w.routed_elements < w.params
    cuda = load_speed_params().classes["cuda"]
    assert cuda["a_fx"] > cuda["a_fq"] > 0 and cuda["a_fa"] > 0 and cuda["a_ac"] > 0


def test_a_smaller_micro_batch_reads_the_weights_more_often() -> None:
    """Each prompt micro-batch streams the dense weights again (microbatch.ubatch_read_s).  Measured (llama.cpp PR
    #24127, JohannesGaessler's 'master' column, 2026-06-04): an RTX 4090 prefills Meta-Llama-3-8B Q4_K_S pp512 at
    8,546 tok/s with -ub 128 and 12,394 with the default 512, a ratio of 0.69; rigfit's must fall below 0.85
    (it was 0.96 without the read), and the default's rate within 30 % of the measured one."""
    def rate(ub: int) -> float:
        s = fit("Meta-Llama-3-8B", quant="Q4_K_S", hardware=["RTX 4090"], headroom_bytes=0, context_tokens=1024,
                prompt_tokens=512, n_ubatch=ub).speed
        assert s is not None and s.prefill_tokens_per_s is not None
        return s.prefill_tokens_per_s
    r128, r512 = rate(128), rate(512)
    assert r128 / r512 < 0.85
    assert r512 == pytest.approx(12394.0, rel=0.30)
    w = _work("Meta-Llama-3-8B", "Q4_K_S", "RTX 4090")
    assert prefill_terms(w, 512, 128, True, False, current=True)["a_rd"] == \
        pytest.approx(4 * prefill_terms(w, 512, 512, True, False, current=True)["a_rd"])


@pytest.mark.parametrize(("quant", "measured"), [
    # llama.cpp PR #24127 (2026, 'master' column of its NVIDIA check): V100 PCIe 32GB, Meta-Llama-3-8B, pp512 at
    # llama-bench's 512-token micro-batch
    ("IQ4_NL", 2957.41),
    ("Q5_0", 3331.28),
])
def test_volta_prefills_through_fp16_gemm(quant: str, measured: float) -> None:
    """Volta has FP16 tensor cores and no INT8 ones: current llama.cpp runs its quantized prompt batches of 64 or
    more tokens as F16 weights and cuBLAS (ggml-cuda/mmq.cu ggml_cuda_should_use_mmq), each micro-batch converting
    the weights first.  Priced at the class's F16 matmul constant plus that conversion: 14 and 24 % slow (the
    quantized matmul constant, which the class's A100 / H100 rows give, had them 68 and 71 % slow); within 30 %."""
    r = fit("meta-llama/Meta-Llama-3-8B", quant=quant, hardware=["V100 PCIe 32GB"], backend="cuda",
            headroom_bytes=0, prompt_tokens=512, context_tokens=768)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.30)


def test_volta_keeps_mmq_for_small_batches() -> None:
    """Below MMQ_MAX_BATCH tokens a Volta micro-batch stays on MMQ (the quantized constant, no conversion); from it
    on, the F16 GEMM and its conversion; an Ampere card never converts in current builds.  Builds before llama.cpp
    PR #8075 (June 2024) converted above OLD_MMQ_MAX_BATCH tokens on every chip with tensor cores."""
    volta = _work("meta-llama/Meta-Llama-3-8B", "Q4_K_M", "V100 PCIe 32GB")
    ampere = _work("meta-llama/Meta-Llama-3-8B", "Q4_K_M", "RTX 3090")
    assert volta.fp16_gemm_prompts and not ampere.fp16_gemm_prompts
    small = prefill_terms(volta, 512, 32, True, False, current=True)
    large = prefill_terms(volta, 512, 512, True, False, current=True)
    assert small["a_fq"] > 0 and "a_cv" not in small
    assert large["a_fq"] == 0 and large["a_cv"] > 0
    assert "a_cv" not in prefill_terms(ampere, 512, 512, True, False, current=True)
    assert ampere.cublas_era_prompts  # the flag _prefill_stage_terms turns into F16 GEMMs for older builds
    old = replace(ampere, fp16_gemm_prompts=True)
    assert "a_cv" not in prefill_terms(old, 512, OLD_MMQ_MAX_BATCH, True, False, current=False)
    assert prefill_terms(old, 512, OLD_MMQ_MAX_BATCH + 1, True, False, current=False)["a_cv"] > 0
