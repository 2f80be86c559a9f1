"""llama.cpp's ROCm prompt model on current builds (issue 16 item 4): the discrete Radeons' matmul rate fitted on
six cards' published llama-bench runs (benchmarks/fit_speed.fit_rocm), and the weight types whose MMQ tiles cost
most to unpack at a constant of their own (speedwork.GPU_PROMPT_FAMILY).  The measurements are the published
runs of benchmarks/data/rocm_current.csv, cited per row."""

from __future__ import annotations

import pytest

from rigfit import fit
from rigfit.speed import TYPE_SPLIT_CLASSES, prefill_terms
from rigfit.speedclass import load_speed_params
from rigfit.speedwork import GPU_PROMPT_FAMILY, DeviceWork, device_work


def _rate(model: str, quant: str, hw: str, prompt: int, backend: str = "rocm", **kw: object) -> float:
    r = fit(model, quant=quant, hardware=[hw], backend=backend, headroom_bytes=0, prompt_tokens=prompt,
            context_tokens=prompt + 256, **kw)  # type: ignore[arg-type]
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    return r.speed.prefill_tokens_per_s


def _work(model: str, quant: str, hw: str, backend: str) -> DeviceWork:
    r = fit(model, quant=quant, hardware=[hw], backend=backend, headroom_bytes=0)
    assert r.placement is not None
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list) and len(works) == 1
    return works[0]


@pytest.mark.parametrize(("model", "quant", "hw", "prompt", "ubatch", "measured", "tol"), [
    # github.com/ggml-org/llama.cpp/issues/26663 (build b10298, Aug 2026, Windows 11): RX 9070 XT, Qwen3-8B Q4_K_M,
    # pp512 4,199 tok/s; within the fit's leave-one-card-out spread (its median error 21 %)
    ("Qwen/Qwen3-8B", "Q4_K_M", "RX 9070 XT", 512, None, 4199.0, 0.25),
    # llama.cpp PR #18816 (Jan 2026, 't/s 557515be' baseline column, -fa 1): Radeon AI PRO R9700, Meta-Llama-3-8B
    # IQ3_XXS, pp2048 at -ub 2048, 3,817.58 tok/s
    ("meta-llama/Meta-Llama-3-8B", "IQ3_XXS", "Radeon AI PRO R9700", 2048, 2048, 3817.58, 0.25),
])
def test_rocm_prefill_against_published_llama_bench(model: str, quant: str, hw: str, prompt: int,
                                                    ubatch: int | None, measured: float, tol: float) -> None:
    kw = {"n_ubatch": ubatch} if ubatch else {}
    got = _rate(model, quant, hw, prompt, flash_attention=True, **kw)
    assert got == pytest.approx(measured, rel=tol)


def test_costly_mmq_types_prefill_slower_per_flop_on_rocm() -> None:
    """The same PR #18816 table: on the R9700 at -ub 2048 a Q2_K_S file prefilled at 1,930.35 tok/s and a Q5_K_S
    one at 3,699.44 (0.52 x), although Q2_K holds fewer bits; llama.cpp routes Q2_K / Q6_K on RDNA 3 to hipBLAS
    for that reason (ggml-cuda/mmq.cu ggml_cuda_should_use_mmq).  Predicted 0.70 (the family's constant is fitted
    with the MI50's i-quant rows too, each card with one say, whose attention runs on the tile kernel's ALUs), within
    35 %; at one constant for every type it came out near 1."""
    kw = {"n_ubatch": 2048, "flash_attention": True}
    q2 = _rate("meta-llama/Meta-Llama-3-8B", "Q2_K_S", "Radeon AI PRO R9700", 2048, **kw)
    q5 = _rate("meta-llama/Meta-Llama-3-8B", "Q5_K_S", "Radeon AI PRO R9700", 2048, **kw)
    assert q2 / q5 == pytest.approx(1930.35 / 3699.44, rel=0.35)


def test_type_families_split_rocm_prompts_only() -> None:
    """GPU_PROMPT_FAMILY prices apart on the classes of TYPE_SPLIT_CLASSES that run on a GPU (ROCm); CUDA's
    prompts keep one constant for every type, and the CPU keeps its own families."""
    params = load_speed_params()
    assert "rocm" in TYPE_SPLIT_CLASSES and "cuda" not in TYPE_SPLIT_CLASSES
    assert params.classes["rocm"]["a_fq_mq"] > params.classes["rocm"]["a_fq"]
    rocm = _work("meta-llama/Meta-Llama-3-8B", "Q2_K_S", "Radeon AI PRO R9700", "rocm")
    cuda = _work("meta-llama/Meta-Llama-3-8B", "Q2_K_S", "RTX 4090", "cuda")
    cpu = _work("meta-llama/Meta-Llama-3-8B", "Q2_K_S", "Ryzen 9 7950X", "cpu")
    assert dict(rocm.family_shares)["mq"] > 0.5 and dict(cuda.family_shares)["mq"] > 0.5
    assert "mq" not in dict(cpu.family_shares) and dict(cpu.family_shares)["lo"] > 0.5
    assert "a_fq_mq" in prefill_terms(rocm, 512, 512, True, False, current=True)
    assert "a_fq_mq" not in prefill_terms(cuda, 512, 512, True, False, current=True)
    assert set(GPU_PROMPT_FAMILY.values()) == {"mq"}
