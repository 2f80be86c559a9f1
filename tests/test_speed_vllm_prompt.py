"""vLLM's prompt GEMMs run at the tensor rate of their weight format (engines.vllm.VLLM.prompt_rates_tflops), not
at ggml's MMQ rate: FP8 and INT8 W8A8 on their tensor cores, NVFP4 on Blackwell's FP4 ones, the weight-only
formats (AWQ, GPTQ) at the 16-bit rate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rigfit
from rigfit.engines import get_engine
from rigfit.hardware.catalog import default_hardware
from rigfit.hardware.resolve import resolve_device

# (card, format, the rate of the format's GEMMs in TFLOPS): the catalog's dense rates; GeForce FP8 at FP32
# accumulation is half the listed FP16-accumulate rate; FP4 is twice the listed FP8 rate on Blackwell
RATES = [
    ("H100 SXM", "BF16", 989.4), ("H100 SXM", "FP8", 1978.9), ("H100 SXM", "AWQ", 989.4),
    ("H100 SXM", "INT8", 1978.9), ("H100 SXM", "NVFP4", 989.4),  # Hopper: NVFP4 through Marlin W4A16
    ("A100 80GB SXM", "FP8", 312.0), ("A100 80GB SXM", "INT8", 624.0),  # Ampere: FP8 through Marlin W8A16
    ("RTX 5090", "BF16", 209.5), ("RTX 5090", "FP8", 419.0), ("RTX 5090", "NVFP4", 1676.0),
    ("RTX 5090", "MXFP4", 419.0), ("RTX 5090", "GPTQ", 209.5),
    ("RTX 4090", "FP8", 330.3), ("RTX 4090", "NVFP4", 165.2),
    ("B200", "NVFP4", 9000.0), ("B200", "FP8", 4500.0),
]


@pytest.mark.parametrize(("card", "quant", "tflops"), RATES)
def test_the_format_picks_the_tensor_rate(card: str, quant: str, tflops: float) -> None:
    dev = resolve_device(card)
    rates = get_engine("vllm").prompt_rates_tflops(quant, dev)
    assert rates is not None and rates[0] == dev.fp16_tflops and rates[1] == pytest.approx(tflops, rel=1e-3)


def test_ggml_engines_keep_their_own_rules() -> None:
    assert get_engine("llama.cpp").prompt_rates_tflops("Q4_K_M", resolve_device("RTX 5090")) is None


@pytest.mark.parametrize(("prompt", "measured"), [(8379, 10940.0), (68360, 5621.0)])
def test_qwen36_27b_nvfp4_on_an_rtx_5090(prompt: int, measured: float) -> None:
    """vLLM 0.19.2 on an RTX 5090 (450 W cap), an NVFP4 Qwen3.6-27B fine-tune, FP8 KV, cold runs: 10,940 tok/s over
    an 8,379-token prompt and 5,621 over 68,360 (localmaxxing.com submissions cmotxm0840048qy01oxhgwwt2 and
    cmoty3p3z004fqy01duetlmcs, 2026-05-06, in throughput_modern.csv; MTP on, which leaves the prompt alone).  At
    ggml's MMQ rate the model gave 2,500 tok/s; at the FP4 tensor rate with the 16-bit GEMMs' efficiency, within
    20 %."""
    r = rigfit.fit("Qwen3.6-27B", engine="vllm", quant="NVFP4", hardware=["RTX 5090"], prompt_tokens=prompt,
                   gen_tokens=200, context_tokens=131072, kv_cache_type="fp8")
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.20)


def test_formats_order_on_a_hopper() -> None:
    """The same model's prompt on an H100: FP8 W8A8 faster than BF16, AWQ (W4A16) as BF16 at most."""
    rate = {q: rigfit.fit("Qwen3-8B", engine="vllm", quant=q, hardware=["H100 SXM"], prompt_tokens=4096,
                          context_tokens=8192).speed for q in ("BF16", "FP8", "AWQ")}
    pp = {q: s.prefill_tokens_per_s for q, s in rate.items() if s is not None}
    assert pp["FP8"] > 1.3 * pp["BF16"] and pp["AWQ"] <= pp["BF16"] * 1.01


def test_vllm_on_a_datacenter_card_takes_its_own_constants() -> None:
    """No vLLM runs on an H100 in the calibration files: vLLM's own constants (its CUDA graphs' per-layer cost, its
    GEMMs' efficiency, fitted on its RTX 5090 runs) stand in, not llama.cpp's datacenter class (May 2024 builds,
    124 us per layer), and the plan says which.  Qwen3-8B BF16 then decodes at 0.6-0.9 of the H100's roofline,
    where llama.cpp's constants gave 0.4."""
    s = rigfit.fit("Qwen3-8B", engine="vllm", quant="BF16", hardware=["H100 SXM"], context_tokens=8192).speed
    assert s is not None and s.classes == ("vllm-cuda-datacenter",)
    assert any("those of vllm-cuda stand in" in n for n in s.notes)
    assert 0.6 < s.decode_tokens_per_s / s.roofline_tokens_per_s < 0.9


@pytest.mark.parametrize(("card", "quant", "tflops"), [("V100 PCIe 32GB", "INT8", 112.0), ("DGX Spark", "AWQ", 125.0)])
def test_no_format_runs_below_the_16_bit_rate(card: str, quant: str, tflops: float) -> None:
    """Volta's INT8 is DP4A, below its FP16 tensor cores: W8A8 never prices below the 16-bit rate; a unified
    GB10 takes the same rules as a discrete card."""
    rates = get_engine("vllm").prompt_rates_tflops(quant, resolve_device(card))
    assert rates is not None and rates[1] == pytest.approx(tflops)


_FP8_CARDS = sorted(d.name for d in default_hardware().select(kind="gpu") if d.vendor == "nvidia" and d.fp8_tflops
                    and d.memory_bytes >= 16 * 2**30)


@settings(max_examples=12, deadline=None)
@given(card=st.sampled_from(_FP8_CARDS))
def test_fp8_never_prefills_slower_than_bf16(card: str) -> None:
    """Law: on a card with FP8 tensor cores, vLLM's FP8 W8A8 prompt never runs slower than the same model's BF16
    one, and AWQ (W4A16) never faster than BF16."""
    pp = {}
    for q in ("BF16", "FP8", "AWQ"):
        s = rigfit.fit("Qwen3-4B", engine="vllm", quant=q, hardware=[card], prompt_tokens=4096,
                       context_tokens=8192).speed
        assert s is not None and s.prefill_tokens_per_s is not None
        pp[q] = s.prefill_tokens_per_s
    assert pp["FP8"] >= pp["BF16"] >= pp["AWQ"] * 0.99
