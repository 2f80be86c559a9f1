"""MoE experts in system RAM (issue 16 item 3) and the CPU class fitted on 2025-2026 rows.

Prefill with CPU-resident experts: a 512-token micro-batch routes to nearly every expert and llama.cpp copies
the RAM-resident weights to the GPU for the matmul (ggml-cuda offload_op), so the prompt rate is bounded by
all of those experts crossing PCIe per micro-batch, not by the active share that decode reads.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rigfit
from rigfit.speedwork import DEFAULT_CPU_BANDWIDTH_GB_S


def test_gpt_oss_120b_with_experts_in_ram_on_a_3090() -> None:
    """Measured 120-250 tok/s prefill with --n-cpu-moe on an RTX 3090 (issue 16); rigfit said 3,693 before."""
    r = rigfit.fit("gpt-oss-120b", hardware=["RTX 3090"], ram_bytes=64 << 30, context_tokens=16384)
    assert r.placement is not None and r.placement.n_cpu_moe > 0 and r.speed is not None
    assert r.speed.prefill_tokens_per_s is not None
    assert 120 <= r.speed.prefill_tokens_per_s <= 250
    assert r.speed.decode_tokens_per_s > 15


def test_qwen3_30b_a3b_on_an_8gb_card() -> None:
    r = rigfit.fit("qwen3:30b-a3b", quant="Q4_K_M", hardware=["RTX 4060"], ram_bytes=32 << 30, context_tokens=8192)
    assert r.placement is not None and r.placement.verdict == "partial_offload"
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    # the experts of the RAM layers (about 14 GB at Q4_K_M) cross a PCIe 4.0 x8 link per micro-batch
    assert 100 < r.speed.prefill_tokens_per_s < 1000
    assert 15 < r.speed.decode_tokens_per_s < 80


def _offload(pcie_gb_s: float | None = None, ram_gb_s: float | None = None,
             op_offload: bool | None = None) -> rigfit.FitResult:
    r = rigfit.fit("gpt-oss-120b", hardware=["RTX 3090"], ram_bytes=64 << 30, context_tokens=16384,
                   cpu_bandwidth_gb_s=ram_gb_s or DEFAULT_CPU_BANDWIDTH_GB_S, op_offload=op_offload)
    if pcie_gb_s is None:
        return r
    from rigfit.api import fit
    from rigfit.system import LinkKind

    assert r.system is not None
    node = r.system.node
    links = tuple(replace(link, gb_s=pcie_gb_s) if link.kind == LinkKind.PCIE else link for link in node.links)
    system = replace(r.system, nodes=(replace(node, links=links), *r.system.nodes[1:]))
    return fit(replace(r.request, quant=r.quant.name, system=system, search=rigfit.Search.NONE))


@pytest.mark.parametrize(("knob", "low", "high", "rate"), [
    ("pcie_gb_s", 4.0, 64.0, "prefill_tokens_per_s"),  # more PCIe never slows prefill with experts in RAM
    ("ram_gb_s", 20.0, 400.0, "decode_tokens_per_s"),  # more RAM bandwidth never slows decode with offload
])
@settings(max_examples=20)
@given(data=st.data())
def test_a_faster_link_is_never_slower(knob: str, low: float, high: float, rate: str, data: st.DataObject) -> None:
    a, b = sorted((data.draw(st.floats(low, high)), data.draw(st.floats(low, high))))
    slow, fast = _offload(**{knob: a}).speed, _offload(**{knob: b}).speed
    assert slow is not None and fast is not None
    assert (getattr(fast, rate) or 0) >= (getattr(slow, rate) or 0) * (1 - 1e-9)


def test_without_op_offload_the_cpu_runs_its_experts_in_prompts() -> None:
    """llama-server --no-op-offload: the prompt's matmuls over the experts kept in RAM run on the CPU (the
    active experts of each token, at the CPU's rate), so the PCIe link no longer sets the prompt rate; decode,
    which never copies weights, is unchanged."""
    slow, fast = _offload(pcie_gb_s=4.0, op_offload=False).speed, _offload(pcie_gb_s=64.0, op_offload=False).speed
    on = _offload(pcie_gb_s=4.0).speed
    assert slow is not None and fast is not None and on is not None
    assert slow.prefill_tokens_per_s == pytest.approx(fast.prefill_tokens_per_s, rel=1e-9)
    assert (on.prefill_tokens_per_s or 0) < (slow.prefill_tokens_per_s or 0)  # 4 GB/s of PCIe: offload loses
    assert slow.decode_tokens_per_s == pytest.approx(on.decode_tokens_per_s, rel=1e-9)


def test_no_op_offload_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    code, out, _ = run_cli(capsys, "fit", "gpt-oss-120b", "-H", "RTX 3090", "--no-op-offload", "--command",
                           "llama.cpp")
    assert code == 0 and " --n-cpu-moe " in out and " --no-op-offload " in out
    code, out, _ = run_cli(capsys, "fit", "gpt-oss-120b", "-H", "RTX 3090", "--no-op-offload", "--json")
    assert code == 0 and json.loads(out)["settings"]["op_offload"] is False
    code, _, err = run_cli(capsys, "fit", "gpt-oss-120b", "-e", "ollama", "-H", "RTX 3090", "--no-op-offload")
    assert code == 2 and err == ("rigfit: error: Ollama has no setting for op offload (prompt matmuls of weights "
                                 "kept in RAM run on the GPU) (--no-op-offload, --engine)\n")


@pytest.mark.parametrize(("model", "quant", "measured_tg", "measured_pp"), [
    # throughput_modern.csv, llama-bench -t 8 on a Ryzen 7 7840HS (steveseguin, 2026-07-14)
    ("LiquidAI/LFM2-350M", "Q4_K_M", 219.1, None),
])
def test_cpu_class_on_its_rows(model: str, quant: str, measured_tg: float, measured_pp: float | None) -> None:
    r = rigfit.fit(model, quant=quant, hardware=["AMD Ryzen 7 7840HS"], backend="cpu", prompt_tokens=64,
                   gen_tokens=256)
    assert r.speed is not None and r.speed.classes == ("cpu",)
    assert r.speed.decode_tokens_per_s == pytest.approx(measured_tg, rel=0.15)


@settings(max_examples=25, deadline=None)
@given(model=st.sampled_from(["Qwen3-30B-A3B", "gpt-oss-20b", "LFM2-8B-A1B", "Llama-3.1-8B-Instruct"]),
       hardware=st.sampled_from(["RTX 4090", "Apple M4 Max 40-core 128GB"]),
       prompt=st.integers(min_value=1, max_value=3000))
def test_a_longer_prompt_never_takes_less_time(model: str, hardware: str, prompt: int) -> None:
    """Law: one more prompt token never shortens the first token, MoE micro-batch costs included (a
    remainder micro-batch pays at most its own routed FLOPs again: microbatch.moe_expert_overhead_s)."""
    def ttft(n: int) -> float:
        r = rigfit.fit(model, quant="Q4_K_M", hardware=[hardware], prompt_tokens=n, context_tokens=4096)
        assert r.speed is not None and r.speed.time_to_first_token_s is not None
        return r.speed.time_to_first_token_s

    assert ttft(prompt + 1) >= ttft(prompt) * (1 - 1e-9)


# ---- --n-cpu-moe N as the user sets it -------------------------------------------------------------------
def test_n_cpu_moe_is_placed_as_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """llama.cpp --n-cpu-moe N keeps the experts of the first N layers in RAM: rigfit plans that split (the
    planner alone keeps as few as fit: 23 of gpt-oss-120b's 36 on a 24 GB card), the launch command carries it,
    and more experts in RAM read more from RAM per token and cross PCIe in every prompt micro-batch."""
    from tests.conftest import run_cli

    auto = json.loads(run_cli(capsys, "fit", "gpt-oss-120b", "-q", "Q4_K_M", "-H", "RTX 3090", "--json")[1])
    code, out, _ = run_cli(capsys, "fit", "gpt-oss-120b", "-q", "Q4_K_M", "-H", "RTX 3090", "--n-cpu-moe", "30",
                           "--json")
    doc = json.loads(out)
    assert code == 0 and auto["placement"]["n_cpu_moe"] == 23 and doc["placement"]["n_cpu_moe"] == 30
    assert doc["placement"]["verdict"] == "partial_offload"
    assert doc["speed"]["decode_tokens_per_s"] < auto["speed"]["decode_tokens_per_s"]
    assert doc["speed"]["prefill_tokens_per_s"] < auto["speed"]["prefill_tokens_per_s"]
    code, out, _ = run_cli(capsys, "fit", "gpt-oss-120b", "-q", "Q4_K_M", "-H", "RTX 3090", "--n-cpu-moe", "30",
                           "--command", "llama.cpp")
    assert code == 0 and " -ngl 37 --n-cpu-moe 30 " in out
    # too few layers' experts in RAM for 24 GB: placed as asked, and it does not fit
    code, out, _ = run_cli(capsys, "fit", "gpt-oss-120b", "-q", "Q4_K_M", "-H", "RTX 3090", "--n-cpu-moe", "5",
                           "--json")
    assert code == 0 and json.loads(out)["placement"]["verdict"] == "does_not_fit"


@pytest.mark.parametrize(("args", "line"), [
    (["llama3.1:8b", "-H", "3090", "--n-cpu-moe", "3"],
     "Llama-3.1-8B-Instruct has no routed experts to keep in RAM (not a mixture-of-experts model) (--n-cpu-moe, "
     "MODEL)"),
    (["gpt-oss-120b", "--n-cpu-moe", "3"], "keeping experts in RAM is a placement: it needs hardware (--n-cpu-moe, "
     "--hardware)"),
    (["gpt-oss-120b", "-H", "3090", "--n-cpu-moe", "99"],
     "the layers whose experts stay in RAM must be between 0 and 36 (the model's layers), got 99 (--n-cpu-moe)"),
    (["gpt-oss-120b", "-H", "3090", "-e", "ollama", "--n-cpu-moe", "3"],
     "Ollama has no setting for a count of layers whose MoE experts stay in RAM (--n-cpu-moe, --engine)"),
    (["gpt-oss-120b", "-H", "M4 Max 40-core 128GB", "--n-cpu-moe", "3"],
     "experts kept in RAM apply to discrete GPUs; on unified memory the GPU reads the same RAM (--n-cpu-moe, "
     "--hardware)"),
])
def test_n_cpu_moe_it_cannot_honour_is_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                               line: str) -> None:
    from tests.conftest import run_cli

    code, out, err = run_cli(capsys, "fit", *args)
    assert (code, out, err) == (2, "", f"rigfit: error: {line}\n")


@settings(max_examples=15, deadline=None)
@given(k=st.integers(min_value=23, max_value=35))
def test_more_experts_in_ram_are_never_faster(k: int) -> None:
    """Law: one more layer's experts in RAM never speeds decode or prefill up (more bytes from RAM per token,
    more weights across PCIe per prompt micro-batch)."""
    a = rigfit.fit("gpt-oss-120b", quant="Q4_K_M", hardware=["RTX 3090"], n_cpu_moe=k).speed
    b = rigfit.fit("gpt-oss-120b", quant="Q4_K_M", hardware=["RTX 3090"], n_cpu_moe=k + 1).speed
    assert a is not None and b is not None
    assert b.decode_tokens_per_s <= a.decode_tokens_per_s * (1 + 1e-9)
    assert (b.prefill_tokens_per_s or 0) <= (a.prefill_tokens_per_s or 0) * (1 + 1e-9)


def test_ram_layers_kv_cache_crosses_pcie_each_micro_batch() -> None:
    """With op offload the RAM layers' matmuls run on the GPU, and so does their attention: the scheduler spreads
    the GPU's assignment up to the attention op (ggml-backend.cpp, pass 2 "expand gpu up"), whose KV cache views
    live in RAM and are copied in for each micro-batch.  The copies come before the GPU computes with them (one
    stream), so their time adds to the micro-batch's: the RAM layers' weights and the cells it attends, at the
    link's rate over a_pcie (24 of Qwen2.5-Coder-32B's 64 layers in RAM on a 24 GB card): 32k tokens deeper, 32k
    more cells of those layers' cache cross."""
    from dataclasses import replace

    from rigfit.speed import prefill_time_s
    from rigfit.speedclass import load_speed_params
    from rigfit.speedwork import device_work

    r = rigfit.fit("Qwen2.5-Coder-32B-Instruct", quant="Q4_K_M", hardware=["RTX 3090"], ram_bytes=64 << 30,
                   context_tokens=40960, gpu_layers=41)
    assert r.placement is not None and r.placement.verdict == "partial_offload"
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list)
    ram = next(w for w in works if w.on_cpu)
    assert ram.streamed_bytes > 0 and ram.kv_bytes_per_pos > 0 and not ram.swa_bytes_per_pos
    params = load_speed_params()
    a_pcie = params.globals_["a_pcie"]
    link = ram.pcie_gb_s * 1e9 / a_pcie
    run = r.memory.run

    def copies_s(depth: int) -> float:
        def t(a: float) -> float:
            p = replace(params, globals_={**params.globals_, "a_pcie": a})
            return prefill_time_s(works, r.placement, 512, run.n_ubatch,  # type: ignore[arg-type]
                                  run.flash_attention, False, p, start=depth)
        return t(a_pcie) - t(0.0)

    for depth in (0, 32768):
        cells = depth + (512 + 512) / 2
        assert copies_s(depth) == pytest.approx((ram.streamed_bytes + ram.kv_bytes_per_pos * cells) / link, rel=1e-9)
    assert copies_s(32768) - copies_s(0) == pytest.approx(ram.kv_bytes_per_pos * 32768 / link, rel=1e-9)


@pytest.mark.parametrize(("hardware", "gpu_layers", "overlaps"), [
    (["RTX 3090"], 40, False),  # one GPU and RAM: the layers it streams run on it too, after its own
    (["2x RTX 3090"], None, True),  # two GPUs, every layer on them: micro-batches overlap across the cards
    (["2x RTX 3060"], 63, True),  # two GPUs and two layers in RAM (as the dual RTX 3060 llama-bench runs: one)
])
def test_prompt_micro_batches_overlap_only_across_gpus(hardware: list[str], gpu_layers: int | None,
                                                        overlaps: bool) -> None:
    """A 2,048-token prompt (four 512-token micro-batches) takes four times one micro-batch's stages where a single
    GPU runs them, less where two GPUs pipeline (speed.pipelined; throughput_modern.csv: the dual RTX 3060
    prefills a 2,048-token prompt at 1.4x a 512-token one's rate, one card flat)."""
    from rigfit.speed import pipelined, prefill_time_s
    from rigfit.speedclass import load_speed_params
    from rigfit.speedwork import device_work

    kw = {"gpu_layers": gpu_layers} if gpu_layers is not None else {}
    r = rigfit.fit("Qwen2.5-Coder-32B-Instruct", quant="Q4_K_M", hardware=hardware, ram_bytes=64 << 30,
                   context_tokens=4096, **kw)  # type: ignore[arg-type]
    assert r.placement is not None
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list) and len(works) >= 2
    assert pipelined(works, r.placement) is overlaps
    run, params = r.memory.run, load_speed_params()

    def t(overlap: float) -> float:
        return prefill_time_s(works, r.placement, 2048, 512, run.flash_attention, False,  # type: ignore[arg-type]
                              params, overlap=overlap)

    assert (t(1.0) < 0.9 * t(0.0)) is overlaps


def test_hybrid_layers_in_ram_scan_their_state_on_the_cpu() -> None:
    """Qwen3.6-27B (48 of 64 layers Gated DeltaNet) Q4_K_M on an RTX 4070 with a Ryzen 5 5600X, llama-bench pp512
    @ d4096: 470 tok/s measured (throughput_modern.csv, localmaxxing h1st0ry3D, 2026-08-03; no -ngl: llama.cpp's own
    fit).  The RAM layers' matmuls run on the GPU with their weights copied over, their recurrent scan on the CPU
    beside the state those layers keep in RAM; rigfit said 726 before (copies overlapped, scan on the GPU).  15 %."""
    r = rigfit.fit("unsloth/Qwen3.6-27B-GGUF", quant="Q4_K_M", hardware=["RTX 4070", "Ryzen 5 5600X"],
                   prompt_tokens=512, depth_tokens=4096, context_tokens=4096 + 512 + 128 + 16, headroom_bytes=0)
    assert r.placement is not None and r.placement.verdict == "partial_offload"
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(470.3, rel=0.15)


@pytest.mark.parametrize(("platform_gb_s", "cores", "isa", "drawn"), [
    (76.8, 2, "avx2", 24.0),  # a 2-P-core laptop (Core i5-1335U): its cores, not its LPDDR5
    (119.5, 6, "avx2", 72.0),  # Core Ultra 7 155H's 6 P-cores
    (51.2, 6, "avx2", 51.2),  # a desktop Ryzen 5 5600X draws its dual-channel DDR4
    (460.8, 84, "avx512", 460.8),  # a many-core EPYC: the channels bind
    (17.0, 4, "dotprod", 17.0),  # Arm cores: no per-core figure, the platform's
    (51.2, None, "avx2", 51.2),  # cores unknown: the platform's
])
def test_few_x86_cores_draw_less_than_their_platform(platform_gb_s: float, cores: int | None, isa: str,
                                                      drawn: float) -> None:
    from rigfit.hardware.rates import cpu_stream_gb_s

    assert cpu_stream_gb_s(platform_gb_s, cores, isa) == pytest.approx(drawn)


@given(cores=st.integers(1, 128), platform=st.floats(5.0, 1000.0))
def test_more_cores_never_draw_less(cores: int, platform: float) -> None:
    from rigfit.hardware.rates import cpu_stream_gb_s

    assert cpu_stream_gb_s(platform, cores + 1, "avx2") >= cpu_stream_gb_s(platform, cores, "avx2")
    assert cpu_stream_gb_s(platform, cores, "avx2") <= platform


@pytest.mark.parametrize(("model", "measured"), [
    # throughput_modern.csv, localmaxxing (dpenev98, 2026-05-07): llama-bench b9033 on a Core Ultra 7 155H's CPU,
    # Q4_K_M, tg128 after pp256, -ctk q8_0: rigfit said 48.0 / 14.0 before its 6 cores' limit (LPDDR5x-7467's
    # 119.5 GB/s, of which the cores draw ~72)
    ("google/gemma-4-E2B-it", 27.61),
    ("Qwen/Qwen3.5-9B", 8.45),
])
def test_core_ultra_155h_decodes_at_what_its_cores_draw(model: str, measured: float) -> None:
    r = rigfit.fit(model, quant="Q4_K_M", hardware=["Intel Core Ultra 7 155H"], backend="cpu", prompt_tokens=256,
                   gen_tokens=128, context_tokens=2048, kv_cache_type="q8_0", kv_cache_type_v="f16", headroom_bytes=0)
    assert r.speed is not None and r.speed.decode_tokens_per_s == pytest.approx(measured, rel=0.15)
    assert any("cores draw about 72 of its 119.5 GB/s" in n for n in r.speed.notes)


def test_experts_in_ram_stop_the_gpus_pipelining_a_prompt() -> None:
    """llama.cpp turns pipeline parallelism off when any tensor buffer override is set (src/llama-context.cpp
    pipeline_parallel: !model.has_tensor_overrides()), and --n-cpu-moe is one: gpt-oss-120b on two RTX 3090s with
    some layers' experts in RAM runs its prompt's micro-batches through the cards in turn."""
    from rigfit.speed import pipelined
    from rigfit.speedwork import device_work

    r = rigfit.fit("gpt-oss-120b", hardware=["2x RTX 3090"], ram_bytes=128 << 30, context_tokens=8192)
    assert r.placement is not None and r.placement.n_cpu_moe > 0
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list) and sum(not w.on_cpu for w in works) == 2
    assert not pipelined(works, r.placement)
    both = rigfit.fit("gpt-oss-20b", hardware=["2x RTX 3090"], context_tokens=8192, tensor_split=(0.5, 0.5))
    assert both.placement is not None and both.placement.n_cpu_moe == 0
    w2 = device_work(both.spec, both.memory, both.placement, system=both.system)
    assert isinstance(w2, list) and pipelined(w2, both.placement)


def test_several_users_read_the_experts_their_tokens_touch() -> None:
    """One decode step for n sequences reads each routed expert any of their tokens picks once: 1 - (1 - k/E)^n of
    a layer's experts (Qwen3-30B-A3B: 8 of 128), not one token's k (vLLM's fused MoE and llama.cpp's mul_mat_id
    both run the step's tokens through each picked expert); a dense model's weights are read once either way."""
    from rigfit.microbatch import step_work, touched_share
    from rigfit.speedwork import device_work

    r = rigfit.fit("qwen3:30b-a3b", quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192)
    (w,) = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert touched_share(w, 4) == pytest.approx(1 - (1 - 8 / 128) ** 4)
    per_element = w.weights_read_bytes / w.params
    extra = step_work(w, 4).weights_read_bytes - w.weights_read_bytes
    assert extra == pytest.approx(w.resident_expert_elements * (touched_share(w, 4) - 8 / 128) * per_element)
    assert step_work(w, 1) is w
    dense = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192)
    (d,) = device_work(dense.spec, dense.memory, dense.placement, system=dense.system)
    assert step_work(d, 8) is d
    one, four = (rigfit.fit("qwen3:30b-a3b", quant="Q4_K_M", hardware=["RTX 4090"], context_tokens=8192,
                            n_seq=n).speed for n in (1, 4))
    assert one is not None and four is not None
    agg1, agg4 = one.aggregate_decode_tokens_per_s, four.aggregate_decode_tokens_per_s
    assert agg1 < agg4 < 4 * agg1


def test_several_users_with_experts_in_ram_read_more_of_them_on_the_cpu() -> None:
    """With --n-cpu-moe the CPU reads the RAM-resident experts of the GPU's layers, and a step for several users
    reads each one any of their tokens picks (gpt-oss-120b: 4 of 128 per token; four users touch 12 % of a layer's
    experts where one touches 3 %): the CPU's RAM, not the GPU, then sets the pace, and four users get little more
    in total than one (before, each step read one token's experts and four users came out near 3x one)."""
    from rigfit.microbatch import step_work
    from rigfit.speedwork import device_work

    fits = {n: rigfit.fit("gpt-oss-120b", hardware=["RTX 3090"], ram_bytes=128 << 30, context_tokens=8192, n_seq=n)
            for n in (1, 4)}
    r = fits[4]
    assert r.placement is not None and r.placement.n_cpu_moe > 0
    works = device_work(r.spec, r.memory, r.placement, system=r.system)
    assert isinstance(works, list)
    (cpu,) = [w for w in works if w.on_cpu]
    assert cpu.ram_expert_bytes > 0
    assert step_work(cpu, 4).weights_read_bytes > 2.5 * cpu.weights_read_bytes
    one, four = (fits[n].speed for n in (1, 4))
    assert one is not None and four is not None
    agg1, agg4 = one.aggregate_decode_tokens_per_s, four.aggregate_decode_tokens_per_s
    assert agg1 < agg4 < 1.5 * agg1
