"""llama.cpp on NVIDIA cards without tensor cores (Pascal; the cuda-legacy class) on current builds: fitted on the
published llama-bench rows of benchmarks/data/cuda_current.csv (benchmarks/fit_speed.fit_cuda_legacy), where the
prior's constants had them 18-29 % slow."""

from __future__ import annotations

import pytest

from rigfit import fit
from rigfit.speedclass import load_speed_params


@pytest.mark.parametrize(("model", "quant", "test", "measured"), [
    # llama.cpp PR #16715 (Oct 2025, reference column 5cca2542a): Tesla P40, tg128
    ("gemma-3-4b-it", "Q4_0", "tg128", 73.25),
    ("gpt-oss-20b", "MXFP4", "tg128", 72.42),
    # llama.cpp PR #24127 (2026, 'master' column): Tesla P40, Meta-Llama-3-8B Q4_1, pp512 at -ub 512
    ("Meta-Llama-3-8B", "Q4_1", "pp512", 1007.38),
])
def test_tesla_p40_current_builds(model: str, quant: str, test: str, measured: float) -> None:
    """Within 20 % (fitted on these and four other rows of three cards, each card with one say: in-sample)."""
    n = int(test[2:])
    r = fit(model, quant=quant, hardware=["Tesla P40"], backend="cuda", headroom_bytes=0, context_tokens=n + 384,
            prompt_tokens=n if test.startswith("pp") else 128, gen_tokens=n if test.startswith("tg") else 128)
    assert r.speed is not None and r.speed.classes == ("cuda-legacy",)
    got = r.speed.decode_tokens_per_s if test.startswith("tg") else r.speed.prefill_tokens_per_s
    assert got == pytest.approx(measured, rel=0.20)
    assert not any("priors" in n for n in r.speed.notes)


def test_cuda_legacy_is_fitted_with_honest_bands() -> None:
    p = load_speed_params()
    assert p.fitted["cuda-legacy"] and "cuda-legacy" not in p.prompt_prior
    lo, hi = p.bands["cuda-legacy"]["tg"]
    assert lo <= 0.7 and hi >= 1.3
    lo, hi = p.bands["cuda-legacy"]["pp"]
    assert lo <= 0.6 and hi >= 1.4
