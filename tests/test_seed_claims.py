"""Every quantitative claim of the two seed guides (shared/seeds/000 and 001), computed with rigfit.

Each test states the seed's claim, computes it, and asserts the computed value with a tolerance.
Where the seed is off, the assertion pins the computed value and the comment says how the seed errs.
"""

from __future__ import annotations

import pytest

import rigfit
from rigfit import api
from rigfit.advise import Request, recommend
from rigfit.advise.buildrules import default_parts, psu_rule
from rigfit.guide import min_mac_gib, min_vram_gib
from rigfit.hardware.resolve import resolve_device
from rigfit.request import Search
from rigfit.training import FineTune, training_memory
from rigfit.units import GB, GIB

STACK = api.DEFAULT_STACK


@pytest.mark.parametrize("model", STACK)
def test_32b_q4_k_m_is_19_to_20_gb(model: str) -> None:
    # Seed 000: "At 4-bit Quantization (Q4_K_M), it shrinks to ~19-20GB". Computed: 19.8 GB (the published
    # Qwen2.5-Coder-32B-Instruct-Q4_K_M.gguf is 19.85 GB). Correct.
    w = rigfit.fit(model, quant="Q4_K_M").memory.weights_bytes
    assert 19.0 * GB <= w <= 20.5 * GB


@pytest.mark.parametrize("model", STACK)
def test_32b_fp16_needs_about_64_gb(model: str) -> None:
    # Seed 000: "32B at FP16 needs ~64GB just for weights". Computed 65.5 GB (32.8B params x 2 bytes): the seed
    # rounds the parameter count down to 32B; within 3 %.
    w = rigfit.fit(model, quant="F16").memory.weights_bytes
    assert w == pytest.approx(64 * GB, rel=0.03)


def test_32b_fp16_needs_80gb_class_or_unified() -> None:
    # Seed 000: FP16 32B "generally requires 80GB-class GPUs, unified memory, or CPU offload".
    for hw, verdict in (("RTX 6000 Ada", "partial_offload"), ("H100 PCIe", "gpu"), ("M3 Ultra 60-core 96GB", "gpu")):
        r = rigfit.fit(STACK[0], quant="F16", hardware=[hw], context_tokens=8192, ram_bytes=128 * GIB)
        assert r.placement is not None and r.placement.verdict == verdict, hw


def test_24gb_card_runs_32b_4bit_with_limited_context() -> None:
    # Seed 000: a 24 GB card is "a practical target for 32B @ 4-bit, but very large contexts (16k+) can become
    # tight". Computed: fits fully at 8k; the largest context that stays on an RTX 3090 is about 21k tokens
    # (f16 KV), so 16k fits and 32k does not.
    for model in STACK:
        at8k = rigfit.fit(model, quant="Q4_K_M", hardware=["RTX 3090"], context_tokens=8192)
        assert at8k.placement is not None and at8k.placement.verdict == "gpu"
        mc = rigfit.fit(model, search=Search.MAX_CONTEXT, quant="Q4_K_M", hardware=["RTX 3090"])
        assert 16_384 <= mc.memory.run.context_tokens <= 24_576
        at32k = rigfit.fit(model, quant="Q4_K_M", hardware=["RTX 3090"], context_tokens=32768)
        assert at32k.placement is not None and at32k.placement.verdict == "partial_offload"


def test_minimum_vram_for_the_stack_is_24gb() -> None:
    # Seed 000: "Minimum VRAM: 24 GB". Computed: the smallest single desktop card that holds the stack at
    # Q4_K_M / 8k fully has 24 GB (20 GB cards do not).
    rec = recommend(Request(models=STACK, form="desktop", top=100))
    singles = [r for r in rec.builds if r.build.kind == "pc" and r.build.count == 1]
    assert min(r.build.device.memory_bytes for r in singles) == 24 * GIB
    r20 = rigfit.fit(STACK[0], quant="Q4_K_M", hardware=["RTX 4000 Ada"], context_tokens=8192)
    assert r20.placement is not None and r20.placement.verdict != "gpu"


def test_used_3090_is_about_700_and_the_best_value_single_card() -> None:
    # Seed 000: "Best Value GPU: Used NVIDIA RTX 3090 (~$700)". Catalog: $750 used (2026-05), within 10 %; and it
    # is the cheapest single card whose build runs the stack well. (Two used RTX 3060 12GB cost less but decode
    # at under half the speed.)
    d = resolve_device("RTX 3090")
    assert d.used_usd == pytest.approx(700, rel=0.10)
    rec = recommend(Request(models=STACK, form="desktop", top=100))
    singles = [r for r in rec.builds if r.build.kind == "pc" and r.build.count == 1]
    assert singles[0].build.device.name == "NVIDIA GeForce RTX 3090"


def test_entry_gpus_cannot_run_32b_but_run_14b_fast() -> None:
    # Seed 000 entry tier: 8-16 GB cards "can NOT run 32B comfortably" (offload, very slow) and run the 14B
    # versions fast.
    for hw in ("RTX 3060 12GB", "RTX 4060", "RTX 4070", "RTX 4060 Ti 16GB"):
        big = rigfit.fit(STACK[0], quant="Q4_K_M", hardware=[hw], context_tokens=8192, ram_bytes=32 * GIB)
        assert big.placement is not None and big.placement.verdict == "partial_offload", hw
        assert big.speed is not None and big.speed.decode_tokens_per_s < 10, hw
    for hw in ("RTX 3060 12GB", "RTX 4070", "RTX 4060 Ti 16GB"):
        small = rigfit.fit("Qwen2.5-Coder-14B-Instruct", quant="Q4_K_M", hardware=[hw], context_tokens=8192)
        assert small.placement is not None and small.placement.verdict == "gpu", hw
        assert small.speed is not None and small.speed.decode_tokens_per_s > 25, hw
    # Seed wrong for the 8 GB RTX 4060: even the 14B model does not fit fully (9+ GB at 8k).
    r = rigfit.fit("Qwen2.5-Coder-14B-Instruct", quant="Q4_K_M", hardware=["RTX 4060"], context_tokens=8192)
    assert r.placement is not None and r.placement.verdict == "partial_offload"


@pytest.mark.parametrize("model", ["Llama-3.3-70B-Instruct", "DeepSeek-R1-Distill-Llama-70B"])
def test_70b_4bit_needs_48gb(model: str) -> None:
    # Seed 000/001: 70B at 4-bit needs 48 GB+ (2x24 GB). Computed: ~46 GB at 8k: not on one 24 or 32 GB card,
    # fully on 2x RTX 3090 (48 GB).
    total = rigfit.fit(model, quant="Q4_K_M", context_tokens=8192).memory.total_bytes
    assert 44 * GB <= total <= 48 * GB
    one = rigfit.fit(model, quant="Q4_K_M", hardware=["RTX 5090"], context_tokens=8192)
    two = rigfit.fit(model, quant="Q4_K_M", hardware=["2x RTX 3090"], context_tokens=8192)
    assert one.placement is not None and one.placement.verdict == "partial_offload"
    assert two.placement is not None and two.placement.verdict == "gpu"


def test_70b_on_a_64gb_mac() -> None:
    # Seed 000: "Mac Studio/MBP with 64GB+ unified memory" runs 70B at 4-bit; seed 001 says 96-192 GB. Computed:
    # a 64 GB Mac's GPU limit (3/4 = 48 GiB) holds 70B Q4_K_M at 8k, so seed 001's 96 GB floor is too high.
    r = rigfit.fit("Llama-3.3-70B-Instruct", quant="Q4_K_M", hardware=["M4 Max 40-core 64GB"], context_tokens=8192)
    assert r.placement is not None and r.placement.verdict == "gpu"
    assert min_mac_gib(r.memory.total_bytes) == 64


def test_16gb_laptop_gpu_cannot_hold_the_32b_stack() -> None:
    # Seed 000: do not buy an RTX 4090 Mobile (16 GB) laptop for this stack: the VRAM is too low. Correct.
    d = resolve_device("RTX 4090 Laptop")
    assert d.memory_bytes == 16 * GIB
    for model in STACK:
        r = rigfit.fit(model, quant="Q4_K_M", hardware=["RTX 4090 Laptop"], context_tokens=8192)
        assert r.placement is not None and r.placement.verdict == "partial_offload"


def test_laptop_pick_is_a_macbook_pro_under_64_gb() -> None:
    # Seed 000: buy a MacBook Pro M3/M4 Max with at least 64 GB. Computed: 64 GB is not needed for the 32B stack
    # at 8k; the cheapest laptop that runs it well (chat: >= 10 tok/s, first token <= 5 s) is a MacBook Pro 16
    # with an M4 Pro 20-core and 48 GB (12.7 tok/s, 4.6 s: current Metal builds' prompt rate, fitted on the
    # 2025-2026 rows), and an M4 Max with 36 GB follows within $100 with 45 % faster decode.
    rec = recommend(Request(models=STACK, form="laptop"))
    top = rec.builds[0]
    assert top.build.kind == "mac" and "MacBook Pro" in top.build.name
    assert top.build.device.memory_bytes < 64 * GIB
    max_pick = next(b for b in rec.builds[:3] if "M4 Max" in b.build.name)
    assert max_pick.build.device.memory_bytes < 64 * GIB
    assert max_pick.slowest_decode_tokens_per_s > 1.3 * top.slowest_decode_tokens_per_s


def test_pc_decodes_faster_than_mac() -> None:
    # Seed 000: PC (NVIDIA) has significantly faster token generation than Apple silicon.
    pc = rigfit.fit(STACK[0], quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192).speed
    mac = rigfit.fit(STACK[0], quant="Q4_K_M", hardware=["M4 Max 40-core 128GB"], context_tokens=8192).speed
    assert pc is not None and mac is not None
    assert pc.decode_tokens_per_s > 1.5 * mac.decode_tokens_per_s
    assert pc.prefill_tokens_per_s is not None and mac.prefill_tokens_per_s is not None
    assert pc.prefill_tokens_per_s > 3 * mac.prefill_tokens_per_s


def test_multi_gpu_layer_split_does_not_need_nvlink() -> None:
    # Seed 000: "NVLink is not required in many setups". llama.cpp's layer split over PCIe runs 70B on 2 cards.
    r = rigfit.fit("Llama-3.3-70B-Instruct", quant="Q4_K_M", hardware=["2x RTX 4090"], context_tokens=8192)
    assert r.placement is not None and r.placement.verdict == "gpu" and r.placement.split_mode == "layer"


# Seed 001 "How model size maps to hardware": typical quant Q4_K_M; the seed's VRAM ranges are generous.
@pytest.mark.parametrize(("model", "seed_low_gb", "computed_max_gb"), [
    ("Llama-3.2-3B-Instruct", 4, 4.5),  # seed 4-6 GB: computed 4.0 GB at 8k (right at the low end)
    ("Qwen2.5-7B-Instruct", 8, 6.5),  # seed 8-12 GB: computed 6.0 GB at 8k; a 6-8 GB card suffices
    ("Llama-3.1-8B-Instruct", 10, 7.0),  # seed 10-14 GB: computed 6.7 GB; an 8 GB card holds it
    ("Qwen2.5-14B-Instruct", 16, 12.0),  # seed 16-20 GB for 13B: computed 11.4 GB for 14B; 12 GB is enough
])
def test_seed_001_size_table(model: str, seed_low_gb: float, computed_max_gb: float) -> None:
    total = rigfit.fit(model, quant="Q4_K_M", context_tokens=8192).memory.total_bytes
    assert total <= computed_max_gb * GB
    assert total <= seed_low_gb * GB * 1.05  # the seed's lower bound is never too small: it over-states


def test_seed_001_qlora_8b_wants_16gb() -> None:
    # Seed 001: QLoRA of 7-8B "+ 4k ctx" wants >= 16 GB VRAM. Computed (transformers + PEFT + bitsandbytes,
    # rank 16 all-linear, micro-batch 1, gradient checkpointing): ~19.7 GB at 4k for Llama-3.1-8B, because the
    # 128k-vocabulary logits (fp32 upcast + grad, ~7 GB at 4k) and the fp32 embeddings PEFT casts dominate;
    # Mistral-7B (32k vocabulary) needs ~10 GB. The seed's 16 GB holds for 7B, not for Llama-3 8B at 4k.
    llama = training_memory(rigfit.fit("Llama-3.1-8B-Instruct").spec, FineTune(method="qlora", seq_len=4096))
    mistral = training_memory(rigfit.fit("Mistral-7B-Instruct-v0.3").spec, FineTune(method="qlora", seq_len=4096))
    assert 17 * GB <= llama.total_bytes <= 22 * GB
    assert mistral.total_bytes <= 16 * GB
    assert min_vram_gib(mistral.total_bytes) is not None


@pytest.mark.parametrize(("gpu", "seed_w"), [("RTX 4080", 850), ("RTX 4090", 1000)])
def test_seed_001_psu(gpu: str, seed_w: int) -> None:
    # Seed 001: PSU 850 W (4080) or 1000-1200 W (4090). Computed from board power x 1.4 headroom with a 105 W
    # CPU: 4080 -> 850 W... within one PSU size of the seed (NVIDIA itself asks 750 W / 850 W).
    d = resolve_device(gpu)
    assert d.tdp_w is not None
    choice, _ = psu_rule(default_parts(), [d.tdp_w], 105)
    sizes = [p.watts for p in default_parts().psu]
    assert abs(sizes.index(int(choice.quantity)) - sizes.index(seed_w)) <= 1


def test_seed_001_ram_minimum_32gb() -> None:
    # Seed 001: minimum 32 GB of system RAM. Every recommended PC build has at least 32 GB.
    rec = recommend(Request(models=("Llama-3.1-8B-Instruct",), form="desktop", top=20))
    assert all(r.build.ram_bytes >= 32 * GIB for r in rec.builds if r.build.kind == "pc")
