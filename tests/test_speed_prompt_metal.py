"""llama.cpp's Metal prompt model on current builds (issue 16 item 4): the matmuls' F32 activations cross memory
between kernels (speed.ACTIVATION_CLASSES), at the constant the CUDA prompt fit gives, since it counts ggml's
intermediate tensors, not a property of the chip.  The measurements are published runs no Metal constant was
fitted on (benchmarks/data/metal_current.csv)."""

from __future__ import annotations

import pytest

from rigfit import fit
from rigfit.speed import ACTIVATION_CLASSES, prefill_terms
from rigfit.speedclass import load_speed_params
from rigfit.speedwork import device_work


@pytest.mark.parametrize(("model", "measured"), [
    # jitesh.dev/blog/qwen35-apple-silicon-benchmark.html (Mac mini M4 16GB, llama-bench -p 512 -ngl 99, March
    # 2026): Qwen3.5 Q4_K_M pp512 in tok/s.  Without the activation traffic the 0.8B came out 45 % fast, the 9B 5 %
    ("Qwen3.5-0.8B", 2085.0),
    ("Qwen3.5-2B", 978.0),
    ("Qwen3.5-4B", 385.0),
    ("Qwen3.5-9B", 214.0),
])
def test_m4_prefill_small_and_large_models(model: str, measured: float) -> None:
    r = fit(model, quant="Q4_K_M", hardware=["M4 10-core 16GB"], backend="metal", headroom_bytes=0,
            prompt_tokens=512, context_tokens=768)
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(measured, rel=0.15)


def test_metal_activation_traffic_on_current_builds_only() -> None:
    """The Metal classes take the CUDA fit's a_ac; a May 2024 build's prompt keeps its own fit (no such term), and
    a wider model pays less of it per FLOP."""
    params = load_speed_params()
    assert {"metal", "metal-ultra", "ollama-metal"} <= set(ACTIVATION_CLASSES)
    for cls in ("metal", "metal-ultra", "ollama-metal"):
        assert params.classes[cls]["a_ac"] == pytest.approx(params.classes["cuda"]["a_ac"])
    shares = []
    for model in ("Qwen3.5-0.8B", "Qwen3.5-9B"):
        r = fit(model, quant="Q4_K_M", hardware=["M4 10-core 16GB"], backend="metal", headroom_bytes=0)
        assert r.placement is not None
        works = device_work(r.spec, r.memory, r.placement, system=r.system)
        assert isinstance(works, list) and works[0].cls == "metal"
        now = prefill_terms(works[0], 512, 512, True, False, current=True)
        assert "a_ac" not in prefill_terms(works[0], 512, 512, True, False, current=False)
        shares.append(now["a_ac"] / now["a_fq"])
    assert shares[0] > shares[1]
