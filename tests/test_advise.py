"""The advisor (rigfit recommend / machine / guide), fine-tuning memory and time, and the build rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rigfit
from rigfit import api
from rigfit.advise import Request, default_workloads, get_workload, parse_workloads, recommend
from rigfit.advise.buildrules import cooling_rule, default_parts, parse_parts, psu_rule, ram_rule, storage_rule
from rigfit.errors import CatalogError, InvalidInput, NoBuild, UnknownName
from rigfit.hardware.resolve import resolve_device
from rigfit.training import NF4_DQ_BITS, FineTune, fit_training, training_memory
from rigfit.units import GIB, TB
from tests.conftest import run_cli

STACK = api.DEFAULT_STACK




# ---- fine-tuning memory --------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "rank", "targets", "trainable"), [
    # PEFT's print_trainable_parameters() for these configurations (as printed in countless notebooks):
    ("Llama-2-7B", 8, "attention", 4_194_304),  # r=8 on q_proj, v_proj: "trainable params: 4,194,304"
    ("Meta-Llama-3-8B", 16, "all-linear", 41_943_040),  # r=16 on all 7 projections: "41,943,040"
], ids=["llama2-7b-r8-qv", "llama3-8b-r16-all"])
def test_lora_trainable_params_match_peft(model: str, rank: int, targets: str, trainable: int) -> None:
    spec = rigfit.fit(model).spec
    mem = training_memory(spec, FineTune(method="lora", lora_rank=rank, lora_targets=targets))
    assert mem.params_trainable == trainable


def test_full_finetune_is_18_bytes_per_param() -> None:
    # transformers "model memory anatomy": 6 B weights + 4 B grads + 8 B AdamW per parameter.
    spec = rigfit.fit("Llama-3.1-8B-Instruct").spec
    mem = training_memory(spec, FineTune(method="full"))
    states = mem.total("weights") + mem.total("gradients") + mem.total("optimizer")
    assert states == 18 * mem.params_total
    eight_bit = training_memory(spec, FineTune(method="full", optimizer="adamw-8bit"))
    assert mem.total_bytes - eight_bit.total_bytes >= 6 * mem.params_total


def test_qlora_base_is_nf4_with_double_quant() -> None:
    assert pytest.approx(4.127, abs=5e-4) == NF4_DQ_BITS  # QLoRA paper, section 3
    spec = rigfit.fit("Mistral-7B-Instruct-v0.3").spec
    q = training_memory(spec, FineTune(method="qlora"))
    lo = training_memory(spec, FineTune(method="lora"))
    assert q.total_bytes < 0.6 * lo.total_bytes


def test_gradient_checkpointing_saves_activation_memory() -> None:
    spec = rigfit.fit("Llama-3.1-8B-Instruct").spec
    on = training_memory(spec, FineTune(method="lora", seq_len=4096))
    off = training_memory(spec, FineTune(method="lora", seq_len=4096, gradient_checkpointing=False))
    assert off.total("activations") > 3 * on.total("activations")  # every layer's tensors vs layer inputs only
    assert off.total_bytes > on.total_bytes


def test_training_fit_and_time() -> None:
    spec = rigfit.fit("Mistral-7B-Instruct-v0.3").spec
    d = resolve_device("RTX 4090")
    tf = fit_training(spec, FineTune(method="qlora"), d, 24 * GIB)
    assert tf.fits and tf.time is not None
    # 10M tokens at ~900 tokens/s (165 TFLOPS x 25 % / (4 passes x 2N)): about 3 h per epoch
    assert 1.5 < tf.time.epoch_s / 3600 < 6
    assert not fit_training(spec, FineTune(method="full"), d, 24 * GIB).fits
    two = fit_training(rigfit.fit("Qwen2.5-Coder-32B-Instruct").spec, FineTune(method="qlora"), d, 24 * GIB, 2)
    assert two.fits and two.parallel == "layer-split"


def test_mlx_lora_on_a_mac() -> None:
    spec = rigfit.fit("Llama-3.1-8B-Instruct").spec
    d = resolve_device("M4 Max 40-core 64GB")
    tf = fit_training(spec, FineTune(method="qlora", framework="mlx"), d, 48 * GIB)
    assert tf.fits and tf.time is not None and tf.memory.finetune.framework == "mlx"


@pytest.mark.parametrize(("ft", "message"), [
    (FineTune(method="dpo"), "unknown fine-tune method 'dpo'"),
    (FineTune(method="lora", lora_rank=0), "LoRA rank must be between 1 and 4,096, got 0"),
    (FineTune(method="lora", framework="mlx", optimizer="adamw-8bit"), "mlx-lm has no 'adamw-8bit'"),
])
def test_bad_finetune_settings(ft: FineTune, message: str) -> None:
    with pytest.raises((InvalidInput, UnknownName), match=message):
        training_memory(rigfit.fit("Llama-3.1-8B-Instruct").spec, ft)


# ---- build rules ---------------------------------------------------------------------------------------


def test_psu_rule_and_circuit_limit() -> None:
    parts = default_parts()
    one, notes = psu_rule(parts, [350], 65)
    assert one.quantity == 750 and not notes  # (350 + 65 + 75) x 1.4 = 686 W -> 750 W (NVIDIA: 750 W for a 3090)
    four, notes = psu_rule(parts, [350] * 4, 350)
    assert four.quantity >= 2 * 1600 - 1  # 1825 W x 1.4 = 2555 W: two PSUs
    assert any("1440 W" in n for n in notes) and any("2 PSUs" in n for n in notes)


def test_ram_rule() -> None:
    parts = default_parts()
    r = ram_rule(parts, memory_type="DDR5", accelerator_bytes=48 * GIB, host_need_bytes=0, max_ram_gib=192)
    assert r.quantity == 48  # at least the GPUs' 48 GiB
    r = ram_rule(parts, memory_type="DDR5", accelerator_bytes=8 * GIB, host_need_bytes=0, max_ram_gib=192)
    assert r.quantity == 32  # the 32 GB floor
    r = ram_rule(parts, memory_type="DDR5", accelerator_bytes=24 * GIB, host_need_bytes=70 * GIB, max_ram_gib=192)
    assert r.quantity == 96  # offload need + 8 GiB OS


def test_storage_rule_picks_capacity_and_warns_on_endurance() -> None:
    parts = default_parts()
    s = storage_rule(parts, int(1.5 * TB), training=True)
    assert s.quantity == 2 and "TBW" in s.rule
    big = storage_rule(parts, 20 * TB, training=False)
    assert big.quantity >= 20  # several of the largest drive


def test_cooling_rule_tiers() -> None:
    parts = default_parts()
    g = resolve_device("RTX 3090")
    assert cooling_rule(parts, [g])[0].name.startswith("air")
    # the CPU cooler follows the CPU; the case follows the cards' heat (issue 17: two RTX 3060s got a 360 mm
    # AIO and a full tower)
    cool, case, _ = cooling_rule(parts, [g, g])
    assert cool.name.startswith("air") and case is not None and case.name == "full-tower case"  # 700 W
    small = resolve_device("RTX 3060 12GB")
    cool, case, notes = cooling_rule(parts, [small, small])
    assert cool.name.startswith("air") and case is not None and case.name == "mid-tower case"  # 340 W
    assert cooling_rule(parts, [g], cpu_tdp_w=350)[0].name.startswith("aio-360")  # Threadripper
    cool, case, notes = cooling_rule(parts, [g] * 4)
    assert cool.name.startswith("open-frame") and case is None and notes
    assert any("blower" in n for n in cooling_rule(parts, [resolve_device("Tesla P40")])[2])


@pytest.mark.parametrize(("board", "n", "split"), [
    ("MSI MAG B550 Tomahawk", 2, "x16/x4"), ("ASUS TUF Gaming B650-PLUS WIFI", 2, "x16/x4"),
    ("ASRock TRX50 WS", 2, "x16/x16"), ("ASUS Pro WS WRX90E-SAGE SE", 4, "x16/x16/x16/x16")])
def test_slot_notes_follow_the_boards_own_wiring(board: str, n: int, split: str) -> None:
    """Every 2-GPU build was told "x8/x8 PCIe" although the B550 board entry runs its second slot at x4."""
    from rigfit.advise.buildrules import slot_notes

    b = next(m for m in default_parts().motherboard if m.example == board)
    (note,) = slot_notes(b.example, b.slot_lanes, n)
    assert f"run at {split} PCIe" in note and ("chipset" in note) == ("x4" in split)


def test_parts_catalog_errors_name_the_key() -> None:
    raw = {"ram": [{"kind": "DDR9", "usd_per_gb": 3, "price_date": "2025-01", "source": "x", "as_of": "2026-01-01"}]}
    with pytest.raises(CatalogError, match=r"ram\[0\]\.kind: expected one of DDR4, DDR5, DDR5-RDIMM"):
        parse_parts(raw)
    with pytest.raises(CatalogError, match=r"storage: at least one entry is needed"):
        parse_parts({})


def test_workload_catalog_errors_name_the_key() -> None:
    raw = {"workloads": [{"name": "x", "kind": "training", "description": "d", "rationale": "r", "source": "s",
                          "as_of": "2026-01-01"}]}
    with pytest.raises(CatalogError, match=r"workloads\[0\]\.method: missing"):
        parse_workloads(raw)


def test_every_workload_has_defaults_and_a_source() -> None:
    names = [w.name for w in default_workloads()]
    assert names == ["chat", "code", "reasoning", "rag", "lora", "qlora", "full-finetune"]
    assert get_workload("code").max_ttft_s < get_workload("chat").max_ttft_s  # completion needs low latency
    assert get_workload("reasoning").answer_tokens >= 4000  # long thinking traces
    assert all(w.source.startswith("https://") for w in default_workloads())


# ---- the recommender -----------------------------------------------------------------------------------


def test_recommend_ranks_by_price_with_a_pareto_front() -> None:
    rec = recommend(Request(models=STACK, top=10))
    prices = [r.build.price_usd for r in rec.builds]
    assert prices == sorted(prices)
    assert rec.builds[0].pareto and rec.pareto[0].rank == 1
    speeds = [r.slowest_decode_tokens_per_s for r in rec.pareto]
    assert speeds == sorted(speeds) and len(set(speeds)) == len(speeds)  # each step on the front is faster
    for r in rec.builds:
        assert all(m.verdict == "gpu" and m.meets for m in r.models)
        assert abs(sum(p.usd for p in r.build.parts) - r.build.price_usd) < 0.01
        assert all(p.price_date and p.source for p in r.build.parts)
    assert rec.cheapest_limits  # the cheapest build always has limits to state


def test_recommend_respects_constraints() -> None:
    mac = recommend(Request(models=STACK, platform="macos"))
    assert all(r.build.kind == "mac" and r.build.os_names == ("macos",) for r in mac.builds)
    used = recommend(Request(models=STACK, condition="used", top=10))
    assert all(r.build.condition == "used" for r in used.builds)
    amd = recommend(Request(models=STACK, vendor="amd", top=10))
    assert all(r.build.device.vendor == "amd" for r in amd.builds)
    fast = recommend(Request(models=STACK, min_tokens_per_s=40))
    assert all(r.slowest_decode_tokens_per_s >= 40 for r in fast.builds)
    lap = recommend(Request(models=STACK, form="laptop"))
    assert all(r.build.form == "laptop" for r in lap.builds)


def test_code_workload_needs_more_than_chat() -> None:
    chat = recommend(Request(models=STACK, workload="chat"))
    code = recommend(Request(models=STACK, workload="code"))
    assert code.builds[0].build.price_usd >= chat.builds[0].build.price_usd
    assert code.context_tokens[STACK[0]] == 16384


def test_training_workload() -> None:
    rec = recommend(Request(models=("Llama-3.1-8B-Instruct",), workload="qlora"))
    top = rec.builds[0]
    m = top.models[0]
    assert m.training is not None and m.training.fits and m.training.time is not None
    assert m.training.time.epoch_s / 3600 <= 24
    assert any("TBW" in p.rule for p in top.build.parts if p.role == "storage") or top.build.kind != "pc"


@pytest.mark.parametrize(("req", "message"), [
    (Request(models=STACK, budget_usd=900), r"no build under the \$900 budget runs .*; the cheapest that does is "
                                            r".* at \$[0-9,]+$"),
    (Request(models=STACK, platform="macos", vendor="nvidia"), r"contradictory constraints: macOS runs only Apple "
                                                               r"silicon GPUs .*nearest: on nvidia with any OS: .*\$"),
    (Request(models=STACK, vendor="apple", platform="linux"), "Apple silicon Macs run macOS, not linux"),
    (Request(models=STACK, workload="chatt"), "unknown workload 'chatt'; did you mean: chat"),
    (Request(models=STACK, platform="beos"), "unknown platform 'beos'"),
    (Request(models=STACK, budget_usd=-5), "budget must be between"),
    (Request(models=STACK, platform="macos", condition="used"), "without the condition constraint: Mac"),
    (Request(models=("Qwen3-235B-A22B",), form="laptop", vendor="nvidia"), "without the form factor constraint"),
], ids=["budget", "macos-nvidia", "apple-linux", "workload", "platform", "negative-budget", "used-mac",
        "235b-nvidia-laptop"])
def test_bad_requests_say_what_fails(req: Request, message: str) -> None:
    with pytest.raises((NoBuild, InvalidInput, UnknownName), match=message):
        recommend(req)


def test_a_671b_moe_on_laptops_is_a_cluster_of_macs() -> None:
    """No laptop holds DeepSeek-R1 (671B); four 128 GB MacBook Pros do under exo, whose MLX model code caches
    MLA's latent (70 KB per token at 8k, not the 5 MB of per-head keys and values: engines/mlx.py)."""
    rec = recommend(Request(models=("DeepSeek-R1",), form="laptop"))
    assert not rec.builds
    best = rec.clusters[0]
    assert best.meets and best.nodes == 4 and best.engine == "exo" and best.machine.form == "laptop"


# ---- CLI -----------------------------------------------------------------------------------------------


def test_recommend_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "recommend", "--json", "--top", "3")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["builds"]) == 3
    for b in doc["builds"]:
        assert isinstance(b["price_usd"], (int, float)) and b["price_usd"] > 0
        assert b["devices"][0]["name"] and b["devices"][0]["count"] >= 1
        # the 32B stack at Q4_K_M / 8k needs about 21.5 GiB: two 11 GB GTX 1080 Ti (22 GiB) are the smallest
        assert b["accelerator_memory_bytes"] >= 22 * GIB
        assert {m["model"] for m in b["models"]} == set(STACK)
        assert all(m["verdict"] == "gpu" and m["decode_tokens_per_s"] > 10 for m in b["models"])
    assert doc["workload"]["name"] == "chat" and doc["pareto"] and doc["rules"]


def test_recommend_budget_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "recommend", "--budget", "900")
    assert code == 2 and out == ""
    assert err.startswith("rigfit: error: no build under the $900 budget runs Qwen2.5-Coder-32B-Instruct, "
                          "DeepSeek-R1-Distill-Qwen-32B (chat, Q4_K_M); the cheapest that does is ")
    assert err.count("\n") == 1


def test_recommend_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "recommend", "-m", "llama3.1:8b", "--workload", "code", "--top", "2")
    assert code == 0
    assert "workload code" in out and "#1 " in out and "price/speed front:" in out and "psu" in out


def test_main_job_without_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys)
    assert code == 0
    assert "This machine:" in out and "Cheapest build that runs all of it well:" in out
    code, out, _ = run_cli(capsys, "machine", "--json")
    doc = json.loads(out)
    assert [m["model"]["name"] for m in doc["models"]] == list(STACK)
    assert doc["cheapest_build"]["price_usd"] > 0 and isinstance(doc["runs_all_well"], bool)


def test_guide_markdown_has_the_original_guides_sections(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "guide.md"
    code, out, _ = run_cli(capsys, "guide", "--out", str(out_file))
    assert code == 0 and out == f"wrote {out_file}\n"
    text = out_file.read_text()
    for title in ("The sweet spot", "Hardware tiers for your stack", "Memory math", "Mac vs PC",
                  "Summary recommendation", "How model size maps to hardware", "Platform details and build rules",
                  "Training and fine-tuning"):
        assert f"## {title}" in text
    assert "| Golden | NVIDIA GeForce RTX 3090 (24 GB)" in text
    # the original guides are named by their titles, never by an internal word (issue 17 item 5)
    assert 'FP16 weights 65.5 GB ("Hardware Recommendations for Local AI": ~64 GB)' in text
    assert "seed" not in text.lower() and " said" not in text


def test_a_guide_for_another_stack_does_not_quote_the_32b_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "guide", "-m", "llama3.1:8b", "-m", "qwen3:30b-a3b")
    assert code == 0
    assert "~64 GB" not in out and "~19-20 GB" not in out and "16k+ becomes tight" not in out
    assert "minimum 24 GB; best value a used RTX 3090" not in out
    assert "Llama-3.1-8B-Instruct: FP16 weights 16.1 GB; Q4_K_M weights 4.9 GB." in out


def test_guide_html_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "guide", "-m", "llama3.1:8b", "--format", "html")
    assert code == 0 and out.startswith("<!doctype html>") and "<table>" in out and "http" not in out.split(
        "<body>")[0]
    code, out, _ = run_cli(capsys, "guide", "-m", "llama3.1:8b", "--json")
    doc = json.loads(out)
    assert doc["models"] == ["Llama-3.1-8B-Instruct"] and len(doc["sections"]) == 8


def test_guide_bad_output_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "guide", "--out", str(tmp_path / "no" / "such" / "dir.md"))
    assert code == 2 and err.startswith("rigfit: error: cannot write ") and err.count("\n") == 1
