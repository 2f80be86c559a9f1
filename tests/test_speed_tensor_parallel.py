"""Tensor-parallel prompts pay for their all-reduces' bytes (network.tp_allreduce_token_s), and a GPU's link runs at
the older PCIe generation of card and board (system.pcie_link)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigfit import fit
from rigfit.hardware.resolve import resolve_device
from rigfit.network import AR_PCIE_SHARE, tp_allreduce_token_s
from rigfit.system import make_system, pcie_link

LAGUNA = dict(engine="vllm", quant="NVFP4", prompt_tokens=32000, gen_tokens=1024, context_tokens=40000,
              kv_cache_type="fp8")


def test_a_pcie5_card_in_a_pcie4_board_links_at_pcie4() -> None:
    card = resolve_device("RTX 5090")
    assert pcie_link(card).gb_s == 63.0 and pcie_link(card, host_gen=4).gb_s == 31.5
    assert pcie_link(card, host_gen=5).gb_s == 63.0 and pcie_link(resolve_device("RTX 3090"), host_gen=5).gb_s == 31.5
    board = resolve_device("Threadripper PRO 5955WX")
    system = make_system([(card, 4), (board, 1)])
    assert [link.gb_s for link in system.node.links] == [31.5]


def test_allreduce_bytes_per_token() -> None:
    """Laguna-S-2.1's 3,072-wide BF16 activations, four GPUs on PCIe 4.0: the ring's 2 x 3/4 of 6,144 bytes over
    31.5 GB/s at AR_PCIE_SHARE; none over NVLink (A100 SXM), none with one GPU."""
    r = fit("poolside/Laguna-S-2.1", hardware=["4x RTX 5090", "Threadripper PRO 5955WX"], **LAGUNA)  # type: ignore[arg-type]
    assert r.placement is not None and r.placement.tensor_parallel == 4
    want = 1.5 * 3072 * 2 / (31.5e9 * AR_PCIE_SHARE)
    assert tp_allreduce_token_s(r.spec, r.placement, r.system) == pytest.approx(want, rel=1e-9)
    nv = fit("Meta-Llama-3-70B", engine="vllm", quant="BF16", context_tokens=8192, hardware=["4x A100 80GB SXM"])
    assert nv.placement is not None and nv.placement.tensor_parallel == 4
    assert tp_allreduce_token_s(nv.spec, nv.placement, nv.system) == 0.0
    one = fit("Meta-Llama-3-8B", engine="vllm", quant="BF16", context_tokens=8192, hardware=["RTX 5090"])
    assert one.placement is not None and tp_allreduce_token_s(one.spec, one.placement, one.system) == 0.0


def test_laguna_s_on_four_rtx_5090s(monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM 0.23 nightly, Laguna-S-2.1-NVFP4, tensor parallel 4 on 4x RTX 5090 in a Threadripper PRO 5955WX
    (PCIe 4.0) board, --disable-custom-all-reduce, FP8 KV: a 32,000-token prompt at 6,262 tok/s (TTFT ~5.1 s)
    and 157.1 tok/s decode (localmaxxing.com submission cmrxk8q0x00dco401yhwzjx9m, 2026-07-23, in
    throughput_modern.csv).  The all-reduces' bytes cut the predicted prompt rate to under half (PCIe 4.0 at
    AR_PCIE_SHARE); what is left, about 2x fast, is vLLM's MoE prompt kernels on this card, priced as its dense
    GEMMs at the FP4 rate (a prior: no other vLLM MoE prompt rows), so the measurement sits at the lower edge
    of the plan's prior band (x0.5-2), within 5 % of it; decode within 10 %."""
    s = fit("poolside/Laguna-S-2.1", hardware=["4x RTX 5090", "Threadripper PRO 5955WX"], **LAGUNA).speed  # type: ignore[arg-type]
    assert s is not None and s.prefill_tokens_per_s is not None and s.prefill_band is not None
    assert s.prefill_band[0] <= 6262 * 1.05 and s.prefill_band[1] >= 6262 and s.prefill_tokens_per_s / 6262 < 2.1
    assert s.decode_tokens_per_s == pytest.approx(157.1, rel=0.10)
    monkeypatch.setattr("rigfit.network.AR_PCIE_SHARE", 1e9)  # the activations' bytes free
    free = fit("poolside/Laguna-S-2.1", hardware=["4x RTX 5090", "Threadripper PRO 5955WX"], **LAGUNA).speed  # type: ignore[arg-type]
    assert free is not None and free.prefill_tokens_per_s is not None
    assert free.prefill_tokens_per_s > 1.8 * s.prefill_tokens_per_s


@settings(max_examples=12, deadline=None)
@given(slow=st.sampled_from([3, 4]), tokens=st.sampled_from([2048, 8192, 32000]))
def test_a_newer_pcie_board_never_slows_a_tensor_parallel_prompt(slow: int, tokens: int) -> None:
    """Law: the same four cards on a board of a newer PCIe generation never prefill slower."""
    boards = {3: "Xeon E5-2697 v2", 4: "Threadripper PRO 5955WX", 5: "Threadripper PRO 7975WX"}
    rates = []
    for gen in (slow, 5):
        s = fit("poolside/Laguna-S-2.1", hardware=["4x RTX 5090", boards[gen]],
                **{**LAGUNA, "prompt_tokens": tokens}).speed  # type: ignore[arg-type]
        assert s is not None and s.prefill_tokens_per_s is not None
        rates.append(s.prefill_tokens_per_s)
    assert rates[1] >= rates[0]
