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
