"""A plan's context holds the tokens it times: the depth already in the cache, the prompt and the answer.  An
asked-for context too small for asked-for tokens is one clear line (exit 2), as the engines refuse such a request
(llama-server: "the request exceeds the available context size"); with no context asked for, the plan's context
grows to hold them, as llama-bench sizes its own (n_ctx = depth + prompt + answer); with no prompt or answer
asked for, the timed ones shrink to what an asked-for context holds."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigfit import fit
from rigfit.api import fit as plan
from rigfit.errors import InvalidInput
from rigfit.request import DEFAULT_GEN_TOKENS, DEFAULT_PROMPT_TOKENS, make_request, timed_tokens
from tests.conftest import run_cli


@pytest.mark.parametrize(("args", "flags"), [
    (["--ctx", "4096", "--prompt-tokens", "8000"], "(--ctx, --prompt-tokens)"),
    (["--ctx", "4096", "--depth", "8000"], "(--ctx, --depth)"),
    (["--ctx", "2048", "--gen-tokens", "4000"], "(--ctx, --gen-tokens)"),
    (["--ctx", "8192", "--depth", "8000", "--prompt-tokens", "300"], "(--ctx, --depth, --prompt-tokens)"),
])
def test_an_asked_for_context_too_small_is_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                                    flags: str) -> None:
    code, out, err = run_cli(capsys, "fit", "llama3.1:8b", "-H", "RTX 4090", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigfit: error: ") and lines[0].endswith(flags)
    assert "tokens of context, more than the" in lines[0] or "leave no room" in lines[0]


def test_the_message_counts_what_was_asked() -> None:
    with pytest.raises(InvalidInput) as e:
        timed_tokens(4096, 8000, 0, 10)
    assert str(e.value) == ("the prompt (8,000 tokens) and the answer (10 tokens) need 8,010 tokens of context, "
                            "more than the 4,096 asked for")
    with pytest.raises(InvalidInput) as e:
        timed_tokens(4096, 200, 4000, None)
    assert str(e.value) == ("the 4,000 tokens already in the cache, the prompt (200 tokens) and an answer need at "
                            "least 4,201 tokens of context, more than the 4,096 asked for")


@pytest.mark.parametrize(("ctx", "depth", "prompt", "gen"), [
    (None, 0, DEFAULT_PROMPT_TOKENS, DEFAULT_GEN_TOKENS),  # no context: the defaults
    (8192, 0, DEFAULT_PROMPT_TOKENS, DEFAULT_GEN_TOKENS),
    (256, 0, 128, 128),  # a small context: the defaults shortened to what it holds
    (100, 0, 50, 50),
    (8192, 8000, 96, 96),  # after a depth: what is left
    (4096, 3800, 168, 128),  # an answer of the default length, the prompt the rest
])
def test_default_prompt_and_answer_fit_the_context(ctx: int | None, depth: int, prompt: int, gen: int) -> None:
    assert timed_tokens(ctx, None, depth, None) == (prompt, gen)


def test_no_context_asked_for_grows_to_hold_the_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "llama3.1:8b", "-H", "RTX 4090", "--prompt-tokens", "20000", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["settings"]["context_tokens"] == 20224  # 20,000 + 128, up to 256 tokens
    assert any("holds the 20,128 tokens" in n for n in d["placement"]["notes"])
    # the engine's default where it holds them
    r = fit("llama3.1:8b", hardware=["RTX 4090"])
    assert r.memory.run.context_tokens == 8192


@given(ctx=st.one_of(st.none(), st.integers(1, 300_000)), depth=st.integers(0, 300_000),
       prompt=st.one_of(st.none(), st.integers(1, 300_000)), gen=st.one_of(st.none(), st.integers(1, 300_000)))
@settings(max_examples=200, deadline=None)
def test_a_plan_never_times_more_tokens_than_its_context_holds(ctx: int | None, depth: int, prompt: int | None,
                                                               gen: int | None) -> None:
    """Law: a request is refused with a clear line, or the plan's context holds its depth, prompt and answer (a
    context under two tokens with none of them asked for plans its memory alone)."""
    try:
        req = make_request("llama3.1:8b", context_tokens=ctx, depth_tokens=depth, prompt_tokens=prompt,
                           gen_tokens=gen)
    except InvalidInput:
        assert ctx is not None
        return
    r = plan(req)
    need = req.depth_tokens + req.prompt_tokens + req.gen_tokens
    assert r.memory.run.context_tokens >= need or (ctx is not None and ctx < 2 and not (depth or prompt or gen))


def test_a_micro_batch_above_the_batch_is_said() -> None:
    """llama.cpp runs n_ubatch = min(n_batch, n_ubatch) (llama_context); rigfit plans the same and says so."""
    r = fit("llama3.1:8b", hardware=["RTX 4090"], n_ubatch=100000)
    assert r.memory.run.n_ubatch == r.memory.run.n_batch == 2048
    assert any(w.startswith("micro-batch 100,000 is larger than the batch") for w in r.memory.warnings)
