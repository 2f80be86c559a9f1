"""llama.cpp's Vulkan prompt model (issue 16 item 4): the dense constants are still a prior (the plan says so),
but a MoE's routed-expert matmuls run at a rate of their own where the shaders reach the matrix units, fitted on
the published RTX 3090 / 5090 runs of benchmarks/data/vulkan_discrete.csv (benchmarks/fit_speed.fit_vulkan)."""

from __future__ import annotations

import pytest

from rigfit import fit
from rigfit.speed import EXPERT_PROMPT_CLASSES, prefill_terms
from rigfit.speedwork import DeviceWork, device_work


def _work(hw: str, quant: str) -> DeviceWork:
    r = fit("gpt-oss-20b", quant=quant, hardware=[hw], backend="vulkan", headroom_bytes=0)
    assert r.placement is not None
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list) and len(works) == 1
    return works[0]


@pytest.mark.parametrize(("hw", "measured"), [
    # llama.cpp PR #18352 (Dec 2025, 'before' = master, Windows): RTX 5090, gpt-oss-20b MXFP4, pp512 -fa 1
    ("RTX 5090", 10798.37),
    # llama.cpp PR #21024 (May 2026, 'before' = master): RTX 3090, the same test
    ("RTX 3090", 4616.91),
])
def test_vulkan_moe_prefill_on_nvidia(hw: str, measured: float) -> None:
    """Priced as a dense model of its active size these came out 2.2x too fast; within 20 % now (fitted on them
    and five other rows: in-sample)."""
    r = fit("gpt-oss-20b", quant="MXFP4", hardware=[hw], backend="vulkan", headroom_bytes=0, prompt_tokens=512,
            context_tokens=768, flash_attention=True)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.20)
    assert any("prompt efficiencies are priors" in n for n in r.speed.notes)  # the dense constants still are


def test_routed_experts_apart_only_on_matrix_units() -> None:
    """On an Intel Arc the Vulkan shaders run on the ALUs (rates.vulkan_reaches_matrix_units), dense and routed
    matmuls alike: no a_fx term there; on an RTX 3090 the routed experts' FLOPs are priced apart."""
    assert "vulkan" in EXPERT_PROMPT_CLASSES
    nv, arc = _work("RTX 3090", "MXFP4"), _work("Arc Pro B50", "Q4_K_M")
    assert not nv.alu_prompts and arc.alu_prompts
    assert prefill_terms(nv, 512, 512, True, False, current=True)["a_fx"] > 0
    assert "a_fx" not in prefill_terms(arc, 512, 512, True, False, current=True)
