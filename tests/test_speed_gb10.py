"""NVIDIA GB10 (DGX Spark): its INT8 and FP8 tensor rates are catalog fields (data/platforms.toml), so llama.cpp's
quantized prompts run MMQ at the INT8 rate, not the FP16 one."""

from __future__ import annotations

import pytest

import rigfit
from rigfit.hardware.resolve import resolve_device


def test_gb10_rates() -> None:
    """NVIDIA's 1 PFLOP FP4 with 2:4 sparsity, down the Blackwell ladder: FP4 500, FP8 and INT8 250, FP16 125."""
    d = resolve_device("DGX Spark")
    assert (d.fp16_tflops, d.int8_tops, d.fp8_tflops) == (125.0, 250.0, 250.0)


@pytest.mark.parametrize(("model", "quant", "measured"), [
    ("gpt-oss-120b", "MXFP4", 1937.54), ("Qwen3-Coder-30B-A3B-Instruct", "Q8_0", 3175.62),
])
def test_dgx_spark_prompts(model: str, quant: str, measured: float) -> None:
    """llama-bench pp2048 at -ub 2048 -fa 1 on a DGX Spark, build 2f68ce7cf (6918), ggerganov's
    benches/dgx-spark.md in ggml-org/llama.cpp (benchmarks/data/cuda_current.csv): within 15 % (with the FP16
    rate standing in for INT8 the GB10's prompts came out 21 % slow on that file's rows)."""
    s = rigfit.fit(model, quant=quant, hardware=["DGX Spark"], n_ubatch=2048, n_batch=2048, prompt_tokens=2048,
                   context_tokens=4096, flash_attention=True, headroom_bytes=0).speed
    assert s is not None and s.prefill_tokens_per_s is not None
    assert s.prefill_tokens_per_s == pytest.approx(measured, rel=0.15)


@pytest.mark.parametrize(("model", "at_4k", "at_32k"), [("gpt-oss-20b", 77.36, 59.85), ("gpt-oss-120b", 53.95, 41.35)])
def test_dgx_spark_decode_at_depth(model: str, at_4k: float, at_32k: float) -> None:
    """llama-bench tg32 @ d4096 and @ d32768 on a DGX Spark (ggerganov's benches/dgx-spark.md, build 6918,
    benchmarks/data/cuda_current.csv): within 6 %.  Decode's attention arithmetic runs at the GPU's FP32 rate
    (NVIDIA's ~31 TFLOPS for the GB10), not the FP16 tensor rate the entry stood in with before it had an FP32
    figure: the 32k rows came 7-8 % fast then, the arithmetic priced at a quarter of its time."""
    assert resolve_device("DGX Spark").fp32_tflops == 31.0
    for depth, rate in ((4096, at_4k), (32768, at_32k)):
        s = rigfit.fit(model, quant="MXFP4", hardware=["DGX Spark"], context_tokens=depth + 2048, depth_tokens=depth,
                       gen_tokens=32, n_ubatch=2048, n_batch=2048, flash_attention=True, headroom_bytes=0).speed
        assert s is not None
        assert s.decode_tokens_per_s == pytest.approx(rate, rel=0.06)
