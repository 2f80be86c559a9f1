"""Concurrent users (issue 16 item 6): aggregate and per-user decode with N parallel sequences, and the most
users a machine holds at a context (`--users max`)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rigfit
from rigfit.request import Search
from tests.conftest import run_cli


def _users(n: int, model: str = "llama3.1:8b") -> rigfit.FitResult:
    return rigfit.fit(model, quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=4096, n_seq=n)


@settings(max_examples=25)
@given(st.integers(1, 40), st.sampled_from(["llama3.1:8b", "qwen3:30b-a3b"]))
def test_one_more_user_never_lowers_the_total(n: int, model: str) -> None:
    """Also for a MoE, whose step reads more of its experts with each user (microbatch.step_work)."""
    a, b = _users(n, model), _users(n + 1, model)
    assert a.placement is not None and b.placement is not None
    if (b.placement.verdict, b.placement.gpu_layers, b.placement.n_cpu_moe) != \
            (a.placement.verdict, a.placement.gpu_layers, a.placement.n_cpu_moe):
        return  # the GPU's memory ran out and layers moved: the law stops there
    assert a.speed is not None and b.speed is not None
    assert b.speed.aggregate_decode_tokens_per_s >= a.speed.aggregate_decode_tokens_per_s * (1 - 1e-9)
    assert b.speed.per_user_decode_tokens_per_s <= a.speed.per_user_decode_tokens_per_s * (1 + 1e-9)


def test_one_user_is_the_after_prompt_rate() -> None:
    s = _users(1).speed
    assert s is not None and s.users == 1
    assert s.aggregate_decode_tokens_per_s == pytest.approx(s.decode_after_prompt_tokens_per_s)


def test_most_users_is_the_last_that_keeps_the_verdict() -> None:
    """Llama 3.1 8B at 8k: 1 GiB of f16 KV per user beside 4.6 GiB of weights on a 24 GiB card."""
    best = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192,
                      search=Search.MAX_USERS)
    n = best.memory.run.n_seq
    assert 15 <= n <= 20 and best.placement is not None and best.placement.verdict == "gpu"
    over = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192, n_seq=n + 1)
    assert over.placement is not None and over.placement.verdict != "gpu"


def test_users_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "llama3.1:8b", "-q", "Q4_K_M", "-H", "RTX 4090", "--users", "8",
                           "--ctx", "8k", "--json")
    speed = json.loads(out)["speed"]
    assert code == 0 and speed["users"] == 8
    assert speed["aggregate_decode_tokens_per_s"] == pytest.approx(8 * speed["per_user_decode_tokens_per_s"])


@pytest.mark.parametrize(("args", "message"), [
    (("--users", "0"), "users must be a whole number from 1 to 1024 or 'max', got '0' (--users)"),
    (("--users", "lots"), "users must be a whole number from 1 to 1024 or 'max', got 'lots' (--users)"),
    (("--users", "4", "-np", "2"), "give the number of users or of parallel sequences, not both (they are the same) "
                                   "(--users, --parallel)"),
    (("--users", "max", "--ctx", "max"), "the largest context and the most users cannot both be searched: fix one "
                                         "(--users, --ctx)"),
])
def test_bad_users(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, _, err = run_cli(capsys, "fit", "llama3.1:8b", "-H", "RTX 4090", *args)
    assert code == 2 and err == f"rigfit: error: {message}\n"


def test_most_users_needs_hardware(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "fit", "llama3.1:8b", "--users", "max")
    assert code == 2 and err.startswith("rigfit: error: the most users needs hardware")


# ---- aggregate decode against cited runs with several users --------------------------------------------------
# throughput_modern.csv (localmaxxing community submissions, llama-server on a Ryzen 7 7840HS, CPU backend, q8_0
# KV cache): LFM2-350M Q2_K_S with 24 slots 637.43 tok/s in all, 29-token prompts; SmolLM2-135M Q2_K with 64
# slots 1,090.49 tok/s, 230-token prompts.  Single-stream decode of the same LFM2 file: 307.7 tok/s.  The CPU's
# batched matmuls (a_bd) are the one constant fitted on such runs (benchmarks/fit_speed.py fit_batched).
@pytest.mark.parametrize(("model", "quant", "prompt", "users", "measured", "tolerance"), [
    ("LiquidAI/LFM2-350M", "Q2_K_S", 29, 24, 637.43, 0.25),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "Q2_K", 230, 64, 1090.49, 0.35),
])
def test_aggregate_decode_on_a_cpu(model: str, quant: str, prompt: int, users: int, measured: float,
                                   tolerance: float) -> None:
    f = rigfit.fit(model, quant=quant, hardware=["AMD Ryzen 7 7840HS"], backend="cpu", kv_cache_type="q8_0",
                   prompt_tokens=prompt, gen_tokens=128, n_seq=users, context_tokens=users * 512)
    assert f.speed is not None
    assert f.speed.aggregate_decode_tokens_per_s == pytest.approx(measured, rel=tolerance)
    # many users on a CPU are bound by the batch's matmuls: about twice one user's rate, not 24 or 64 times
    one = rigfit.fit(model, quant=quant, hardware=["AMD Ryzen 7 7840HS"], backend="cpu", kv_cache_type="q8_0",
                     prompt_tokens=prompt, gen_tokens=128, context_tokens=512).speed
    assert one is not None
    assert 1.2 < f.speed.aggregate_decode_tokens_per_s / one.decode_after_prompt_tokens_per_s < 5


def test_batched_cost_is_a_prior_where_no_runs_with_users_exist() -> None:
    s = _users(8).speed
    assert s is not None
    assert "8 users: the batched matmul cost is a prior for cuda (fitted only where runs with several users " \
           "exist)" in s.notes
    cpu = rigfit.fit("LiquidAI/LFM2-350M", quant="Q2_K_S", hardware=["AMD Ryzen 7 7840HS"], backend="cpu",
                     n_seq=8).speed
    assert cpu is not None and not any("batched matmul" in n for n in cpu.notes)
