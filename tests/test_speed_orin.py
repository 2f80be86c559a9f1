"""Jetson Orin's iGPU has a speed class of its own ("cuda-orin", speedclass.SHARED_BUS_CHIPS): its decode reaches
about 55 % of the SoC's listed LPDDR5 bandwidth and its quantized prompts a third of the cards' MMQ efficiency,
where the cards' class priced them 40-140 % fast.  Fitted by benchmarks/fit_speed.fit_orin on the cited runs of
benchmarks/data/jetson_orin.csv; GB10 (DGX Spark) and Thor keep the cards' class (GB10's published runs fit it)."""

from __future__ import annotations

import pytest

import rigfit
from rigfit.hardware.resolve import resolve_device
from rigfit.speedclass import hardware_class


@pytest.mark.parametrize(("name", "cls"), [
    ("Jetson AGX Orin 64GB", "cuda-orin"),
    ("Jetson AGX Orin 32GB", "cuda-orin"),
    ("Jetson Orin NX 16GB", "cuda-orin"),
    ("Jetson Orin NX 8GB", "cuda-orin"),
    ("Jetson Orin Nano Super", "cuda-orin"),
    ("DGX Spark", "cuda"),
    ("Jetson AGX Thor", "cuda"),
    ("RTX 3090", "cuda"),
])
def test_the_class_follows_the_chip(name: str, cls: str) -> None:
    assert hardware_class(resolve_device(name), "cuda") == cls


def _rate(model: str, quant: str, hardware: str, metric: str, tokens: int, depth: int = 0) -> float:
    f = rigfit.fit(model, quant=quant, hardware=[hardware], headroom_bytes=0, context_tokens=depth + tokens + 384,
                   prompt_tokens=tokens if metric == "pp" else 128, gen_tokens=tokens if metric == "tg" else 128,
                   depth_tokens=depth)
    assert f.speed is not None and f.speed.classes == ("cuda-orin",)
    rate = f.speed.prefill_tokens_per_s if metric == "pp" else f.speed.decode_tokens_per_s
    assert rate is not None
    return rate


@pytest.mark.parametrize(("model", "quant", "hardware", "metric", "tokens", "depth", "measured", "tol"), [
    # ggml-org/llama.cpp issue 16815 (build 6840, llama-bench tg128, AGX Orin): in the fit
    ("gpt-oss-20b", "MXFP4", "Jetson AGX Orin 64GB", "tg", 128, 0, 37.33, 0.15),
    # JunweiLiang/MLLMs note_running_deepseek.md (build 4675, llama-bench, AGX Orin 64GB MAXN): in the fit
    ("DeepSeek-R1-Distill-Qwen-14B", "Q4_K_M", "Jetson AGX Orin 64GB", "tg", 128, 0, 14.49, 0.25),
    ("DeepSeek-R1-Distill-Qwen-14B", "Q4_K_M", "Jetson AGX Orin 64GB", "pp", 512, 0, 455.47, 0.15),
    # choym92/self-tuning-rover docs/verify.md (llama.cpp v0.5.0, llama-bench, Orin Nano MAXN_SUPER): in the fit
    ("Qwen3.5-4B", "Q4_K_M", "Jetson Orin Nano Super", "tg", 128, 0, 16.6, 0.15),
    ("Qwen3.5-4B", "Q4_K_M", "Jetson Orin Nano Super", "pp", 512, 0, 484.0, 0.15),
    # smolhub.com's Orin Nano Super study (b9292, llama-server, MAXN_SUPER, 256 tokens after a 2048-token
    # prompt): in the fit
    ("Llama-3.2-1B-Instruct", "Q4_K_M", "Jetson Orin Nano Super", "tg", 256, 2048, 51.9, 0.15),
    # OpenBMB/MiniCPM issue 331 (Dec 2025, AGX Orin at nvpmodel max + jetson_clocks): 8B Q4_K_M models
    # (MiniCPM4.1, Qwen3-8B) at about 25 tok/s; not in the fit (no generated-token count)
    ("Qwen3-8B", "Q4_K_M", "Jetson AGX Orin 64GB", "tg", 128, 0, 25.0, 0.25),
])
def test_cited_orin_runs(model: str, quant: str, hardware: str, metric: str, tokens: int, depth: int,
                         measured: float, tol: float) -> None:
    """Within ``tol`` of the cited run (the cards' class gave +40 to +140 % on these)."""
    assert _rate(model, quant, hardware, metric, tokens, depth) == pytest.approx(measured, rel=tol)


def test_orin_decodes_below_the_cards_class_on_the_same_bandwidth() -> None:
    """The class prices the same bytes slower than the cards' class: the AGX Orin 64GB's 204.8 GB/s at ~55 %."""
    orin = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["Jetson AGX Orin 64GB"])
    assert orin.speed is not None
    roofline = orin.speed.roofline_tokens_per_s
    assert 0.4 * roofline < orin.speed.decode_tokens_per_s < 0.7 * roofline
