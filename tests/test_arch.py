"""The architecture registry and the layer kinds of 2025-2026 models (issue 15 item 1).

Parameter counts are checked against the safetensors totals the model repos publish (the Hugging Face
"Safetensors" parameter count, as recorded in AlexsJones/llmfit data/hf_models.json): a config the registry
reads gives the same tensors, element for element.  Recurrent state per sequence and layer is
llama.cpp's ``n_embd_r() + n_embd_s()`` in f32 (src/llama-hparams.cpp, llama-memory-recurrent.cpp).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rigfit
from rigfit.errors import BadModelFile, UnknownName
from rigfit.models.arch import REGISTRY, UnknownArchitecture, arch_for_config, get_arch, recurrent_state_bytes
from rigfit.models.hf_config import spec_from_config
from rigfit.models.resolve import resolve_model
from rigfit.models.tensors import build_tensors, count_params
from rigfit.vocab import LayerKind

CONFIGS = Path(__file__).parent / "data" / "configs"


def _spec(name: str):  # type: ignore[no-untyped-def]
    return spec_from_config(json.loads((CONFIGS / f"{name}.json").read_text()), name=name, where=name)


# (config file, published parameter count, text-only note)
@pytest.mark.parametrize(("name", "params"), [
    # Mamba-2 + attention + MoE hybrid; the GGUF also holds each of the 23 MoE layers' 128 routing-score
    # correction biases (exp_probs_b: llama.cpp refuses the file without them, benchmarks/llamacpp_probe.py),
    # which the published count leaves out
    ("nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", 31_577_937_344 + 23 * 128),
    ("LiquidAI__LFM2-700M", 742_489_344),  # short convolutions + attention
    ("allenai__OLMo-2-1124-7B-Instruct", 7_298_617_344),  # full-width Q/K norms
    ("ibm-granite__granite-4.0-h-tiny", 6_939_037_248),  # Mamba-2 + attention + MoE with a shared expert
    ("HuggingFaceTB__SmolLM2-1.7B-Instruct", 1_711_376_384),
])
def test_parameters_equal_the_published_count(name: str, params: int) -> None:
    assert count_params(build_tensors(_spec(name))) == params


# Qwen3.5 and Qwen3-Next checkpoints also hold a vision tower and one MTP layer that llama.cpp's text GGUF
# leaves out (Qwen3.5-27B: 27,781,427,952 published = text + 460,730,096 vision + 424,699,392 MTP).
@pytest.mark.parametrize(("name", "text_params"), [
    ("Qwen__Qwen3.5-27B", 27_781_427_952 - 460_730_096 - 424_699_392),
])
def test_hybrid_text_parameters(name: str, text_params: int) -> None:
    assert count_params(build_tensors(_spec(name))) == pytest.approx(text_params, rel=1e-4)


# Gemma 4 checkpoints store the tied output head a second time and carry a 569,550,384-parameter vision tower
# (huggingface.co/rnagabh/gemma4-vision-encoder); Llama 4 Maverick's vision tower is Scout's, 871,932,416
# (Scout's 108,641,793,536 published vs llama.cpp's 107.77B text model).
@pytest.mark.parametrize(("name", "published", "not_text"), [
    ("google__gemma-4-31B-it", 32_682_372_656, 569_550_384 + 262_144 * 5376),
    ("google__gemma-4-26B-A4B-it", 26_544_131_376, 569_550_384 + 262_144 * 2816),
    ("meta-llama__Llama-4-Maverick-17B-128E-Instruct", 401_583_781_376, 871_932_416),
])
def test_per_layer_architectures_match_the_published_counts(name: str, published: int, not_text: int) -> None:
    assert count_params(build_tensors(_spec(name))) == pytest.approx(published - not_text, rel=5e-4)


def test_gemma4_layers_differ() -> None:
    """Gemma 4 31B: sliding layers 16 KV heads x 256, full layers 4 x 512 with V = K; E2B: the last 20 of
    35 layers reuse earlier KV caches and have double-wide MLPs; 256-wide per-layer embeddings."""
    big = _spec("google__gemma-4-31B-it")
    assert (big.kv_heads(0), big.head_dim_of(0), big.kv_heads(5), big.head_dim_of(5)) == (16, 256, 4, 512)
    r = rigfit.fit(big, quant="Q4_K_M", context_tokens=8192)
    kv = {i.name: i.n_bytes for i in r.memory.items if i.component == "kv_cache"}
    assert kv["KV cache, full-attention layers"] == 10 * 2 * 4 * 512 * 2 * 8192
    small = _spec("google__gemma-4-E2B-it")
    assert small.kv_shared_from == 15 and small.ffn_size_of(15) == 2 * small.ffn_size_of(14)
    assert [small.has_kv(il) for il in (14, 15)] == [True, False] and small.per_layer_input_size == 256
    names = {t.name for t in build_tensors(small)}
    assert "per_layer_token_embd.weight" in names and "blk.0.per_layer_proj.weight" in names


def test_gemma4_12b_unified_is_sized_as_gemma4() -> None:
    """Gemma 4 12B ships as gemma4_unified (no encoder towers; the text model is Gemma 4's): 48 layers, 5 sliding
    (8 KV heads x 256, window 1024) to 1 global (1 KV head x 512, V = K); the model card gives 11.95B
    parameters (the text model here, tolerance 1 %: the card counts the image and audio projections too)."""
    from rigfit.models.resolve import resolve_model

    spec = resolve_model("gemma4:12b", online=False)
    assert spec.name == "gemma-4-12B-it" and spec.arch == "gemma4"
    assert spec.params_total == pytest.approx(11.95e9, rel=0.01)
    assert (spec.kv_heads(0), spec.head_dim_of(0), spec.kv_heads(5), spec.head_dim_of(5)) == (8, 256, 1, 512)
    r = rigfit.fit(spec, quant="Q4_K_M", context_tokens=32768)
    kv = {i.name: i.n_bytes for i in r.memory.items if i.component == "kv_cache"}
    assert kv["KV cache, full-attention layers"] == 8 * 2 * 1 * 512 * 2 * 32768
    assert kv["KV cache, sliding-window layers"] == 40 * 2 * 8 * 256 * 2 * (1024 + 512)


def test_gated_deltanet_layers_keep_a_state_not_a_kv_cache() -> None:
    """Qwen3-Next-80B-A3B: 48 layers, every 4th full attention; linear layers with 16 key heads x 128 and
    32 value heads x 128, conv kernel 4.  llama.cpp: n_embd_r = 3 x (4096 + 2 x 16 x 128) = 20,480;
    n_embd_s = 128 x 4096 = 524,288; f32: 2,179,072 + ... = 4 x 548,864 = 2,195,456 bytes per sequence."""
    s = _spec("Qwen__Qwen3-Next-80B-A3B-Instruct")
    assert s.layer_types.count(LayerKind.FULL) == 12 and s.layer_types[3] == LayerKind.FULL
    assert s.recurrent_state_bytes == 4 * (3 * (4096 + 2 * 16 * 128) + 128 * 4096) == 2_195_456
    r = rigfit.fit(s, quant="Q4_K_M", context_tokens=32768)
    kv = {i.name: i.n_bytes for i in r.memory.items if i.component == "kv_cache"}
    # 12 full layers x 2 KV heads x 256 x 2 (K, V) x 2 bytes x 32,768 cells; 36 x the state per sequence
    assert kv["KV cache, full-attention layers"] == 12 * 2 * 256 * 2 * 2 * 32768
    assert kv["KV cache, recurrent state"] == 36 * 2_195_456 * r.memory.run.n_seq


@pytest.mark.parametrize(("kw", "expected"), [
    (dict(d_conv=4, d_inner=4096, d_state=128, n_group=8), 4 * (3 * (4096 + 2 * 8 * 128) + 128 * 4096)),  # Mamba-2
    (dict(d_conv=0, d_inner=0, d_state=0, n_group=0, l_cache=3, n_embd=1536), 4 * 1536 * 2),  # LFM2 short conv
])
def test_recurrent_state_formula(kw: dict[str, int], expected: int) -> None:
    assert recurrent_state_bytes(**kw) == expected


def test_nemotron_h_blocks_are_mamba_attention_or_ffn() -> None:
    s = _spec("nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    kinds = {k: s.layer_types.count(k) for k in LayerKind}
    assert kinds[LayerKind.RECURRENT] == 23 and kinds[LayerKind.FULL] == 6 and kinds[LayerKind.NONE] == 23
    assert s.layer_ffn.count("moe") == 23 and s.layer_ffn.count("dense") == 0
    # d_inner = 64 heads x 64 = 4096, 8 groups of 128 states, conv 4 (the published config)
    assert s.recurrent_state_bytes == 4 * (3 * (4096 + 2 * 8 * 128) + 128 * 4096)


def test_lfm2_short_convolution_state() -> None:
    s = _spec("LiquidAI__LFM2-700M")
    assert s.layer_types.count(LayerKind.RECURRENT) == 10 and s.recurrent_state_bytes == 4 * 1536 * 2


def test_an_unknown_model_type_is_named_with_the_supported_ones() -> None:
    with pytest.raises(UnknownArchitecture) as exc:
        spec_from_config({"model_type": "mystery_net", "num_hidden_layers": 2, "hidden_size": 64,
                          "num_attention_heads": 4, "vocab_size": 100, "intermediate_size": 128}, name="x", where="x")
    msg = str(exc.value)
    assert msg.startswith("unknown architecture 'mystery_net'") and "supported: llama, qwen2" in msg
    assert "\n" not in msg and isinstance(exc.value, UnknownName)


def test_a_hybrid_config_missing_its_sizes_names_the_field() -> None:
    cfg = {"model_type": "qwen3_next", "num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 4,
           "vocab_size": 100, "intermediate_size": 128, "full_attention_interval": 4}
    with pytest.raises(BadModelFile, match="missing linear_num_value_heads"):
        spec_from_config(cfg, name="x", where="x")


def test_registry_names_are_unique_and_every_catalog_model_is_registered() -> None:
    names = [a.name for a in REGISTRY]
    assert len(names) == len(set(names))
    from rigfit.models.catalog import default_catalog

    for m in default_catalog().models:
        get_arch(m.arch)
    assert arch_for_config("mistral").name == "llama"
    assert arch_for_config("", "Qwen3NextForCausalLM").name == "qwen3next"


def test_an_unknown_gguf_architecture_is_an_error(tmp_path: Path) -> None:
    from rigfit.models.gguf_file import load_gguf_model
    from tests.ggufbuild import llama

    path = tmp_path / "m.gguf"
    path.write_bytes(llama(arch="mystery"))
    with pytest.raises(UnknownArchitecture, match="unknown architecture 'mystery'"):
        load_gguf_model(path)


def test_deepseek_v4_compressed_cache() -> None:
    """DeepSeek-V4-Flash (284B published, 13B active) as llama.cpp lays its cache out (src/llama-kv-cache-dsv4.cpp,
    b11434): a K-only window of GGML_PAD(128 + n_ubatch, 256) = 768 cells of 512 f16 on each of the 43
    layers; ratio-4 layers add ctx/4 compressed keys and as many 128-wide indexer keys, plus f32 compressor
    states (kv and score, 8 rows of 1,024 and of 256); ratio-128 layers ctx/128 keys (padded to 256) and a
    128-row state of 512.  Other engines keep the generic approximation (window + ctx/ratio entries)."""
    s = _spec("deepseek-ai__DeepSeek-V4-Flash")
    assert count_params(build_tensors(s)) == pytest.approx(284e9, rel=0.005)
    ctx = 8192
    r = rigfit.fit(s, quant="Q4_K_M", context_tokens=ctx)
    expected = 0
    for ratio in s.compress_ratios[:s.n_layers]:  # the MTP layer's slot keeps no cache
        expected += 768 * 512 * 2
        if ratio == 4:
            expected += (ctx // 4) * (512 + 128) * 2 + 2 * 4 * 8 * (1024 + 256)
        elif ratio == 128:
            expected += 256 * 512 * 2 + 2 * 4 * 128 * 512
    assert r.memory.kv_cache_bytes == expected
    approx = rigfit.fit(s, quant="BF16", engine="vllm", context_tokens=ctx).memory.kv_cache_bytes
    assert approx != expected  # vLLM's own V4 layout is not modelled: the generic approximation


# Vision towers (what llama.cpp's --mmproj file holds), against published totals minus the text model that
# rigfit counts: Qwen3.5-27B 460,730,096 (above); Qwen3-VL-8B 8,767,123,696 published, Qwen2.5-VL-7B
# 8,292,166,656 (AlexsJones/llmfit hf_models.json); Gemma 4 31B 569,550,384 (rnagabh/gemma4-vision-encoder).
# The count leaves out norms and biases, so it may be low by a few tenths of a percent; 1.5% tolerance.
@pytest.mark.parametrize(("name", "vision"), [
    ("Qwen__Qwen3.5-27B", 460_730_096),
    ("Qwen__Qwen3-VL-8B-Instruct", 8_767_123_696 - 8_190_735_360),
    ("Qwen__Qwen2.5-VL-7B-Instruct", 8_292_166_656 - 7_615_616_512),
    ("google__gemma-4-31B-it", 569_550_384),
])
def test_vision_tower_parameters(name: str, vision: int) -> None:
    assert _spec(name).vision_params == pytest.approx(vision, rel=0.015)


def test_text_only_configs_have_no_vision_tower() -> None:
    assert _spec("allenai__OLMo-2-1124-7B-Instruct").vision_params == 0
    assert _spec("LiquidAI__LFM2-700M").vision_params == 0


# Catalog entries: Gemma 3's SigLIP tower (google/gemma-3-4b-it publishes 4,300,079,472 and gemma-3-27b-it
# 27,432,406,640 parameters: text model + 64 vocabulary rows llama.cpp trims + the tower) and Llama 4's
# (871,932,416, above); 1.5% tolerance as above.
@pytest.mark.parametrize(("name", "vision"), [
    ("gemma-3-4b-it", 4_300_079_472 - 3_880_099_328 - 64 * 2560),
    ("gemma-3-27b-it", 27_432_406_640 - 27_009_002_240 - 64 * 5376),
    ("Llama-4-Scout-17B-16E-Instruct", 871_932_416),
    # GLM-4.6V and GLM-4.6V-Flash publish 107,710,933,120 and 10,292,777,472 safetensors parameters: the text
    # model (GLM-4.5-Air's and GLM-4 9B's layers) plus the tower
    ("GLM-4.6V", 107_710_933_120 - 106_852_251_264), ("GLM-4.6V-Flash", 10_292_777_472 - 9_400_279_040),
])
def test_catalog_vision_towers(name: str, vision: int) -> None:
    spec = resolve_model(name, online=False)
    assert spec.vision_params == pytest.approx(vision, rel=0.015)


# Imported entries of architectures added for them, against the counts their repos publish (AlexsJones/llmfit
# hf_models.json parameters_raw): OLMoE (Q/K norms over all heads, no shared expert) and Arcee AFM (an
# ungated up/down MLP); exact.
@pytest.mark.parametrize(("name", "published"), [
    ("OLMoE-1B-7B-0125-Instruct", 6_919_161_856),
    ("AFM-4.5B", 4_619_184_640),
])
def test_new_architectures_match_published_counts(name: str, published: int) -> None:
    assert count_params(build_tensors(resolve_model(name, online=False))) == published


def test_a_tied_head_copies_token_embd_only() -> None:
    """Gemma 4 E2B ties its head to token_embd (262,144 x 1,536); the per-layer embedding table (262,144 x
    8,960) is a CPU-side lookup (llama-arch.cpp: LLM_TENSOR_LAYER_INPUT) and is not copied to the GPU with it."""
    r = rigfit.fit(resolve_model("gemma-4-E2B-it", online=False), quant="Q8_0", backend="cuda")
    items = {i.name: i.n_bytes for i in r.memory.items}
    assert items["output head (copy of tied embeddings)"] == 262_144 * 1_536 // 32 * 34  # Q8_0: 34 B / 32
    assert items["token embeddings"] > 6 * items["output head (copy of tied embeddings)"]


@pytest.mark.parametrize(("name", "total", "active"), [
    # aiconfigurator@095f58a model_configs: Nemotron 3 Ultra lists its blocks as layers_block_type (no
    # hybrid_override_pattern, no num_hidden_layers); GLM-5 is MLA + DeepSeek sparse attention's indexer
    ("NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16", 550e9, 55e9),
    ("GLM-5", 744e9, 40e9),
])
def test_2026_flagships_from_their_configs(name: str, total: float, active: float) -> None:
    """Against the names' own counts (550B-A55B; GLM-5: 744B total, 40B active per Z.ai): within 5 %."""
    spec = resolve_model(name, online=False)
    assert count_params(build_tensors(spec)) == pytest.approx(total, rel=0.05)
    assert spec.params_active == pytest.approx(active, rel=0.05)


# --- Falcon-H1, Gemma 3n, Hunyuan A13B (llama.cpp @ ec98e2002: src/llama-model.cpp create_memory and
# load_tensors for LLM_ARCH_FALCON_H1 / LLM_ARCH_GEMMA3N / LLM_ARCH_HUNYUAN_MOE) ----------------------

def _memory(spec, context: int):  # type: ignore[no-untyped-def]
    from rigfit import get_engine, make_run_config, resolve_quant
    from rigfit.memory import estimate_memory

    run, _ = make_run_config(spec, get_engine("llama.cpp"), context_tokens=context, kv_cache_type="f16")
    return estimate_memory(spec, resolve_quant("F16"), run)


def test_falcon_h1_tensors_match_the_published_count() -> None:
    # tiiuae/Falcon-H1-0.5B-Base (the Instruct model's architecture): 521,411,104 parameters in
    # AlexsJones/llmfit hf_models.json @5bdc9df
    assert count_params(build_tensors(_spec("tiiuae__Falcon-H1-0.5B-Instruct"))) == 521_411_104


def test_falcon_h1_layers_hold_a_kv_cache_and_a_state() -> None:
    # every layer attends and scans: a KV cache of 2 x 2 KV heads x 64 per token in all 36 layers, plus an f32
    # state of (d_conv - 1)(d_ssm + 2 n_group d_state) + d_state d_ssm = 3 x 1,792 + 128 x 1,536 floats per layer
    spec = _spec("tiiuae__Falcon-H1-0.5B-Instruct")
    assert all(spec.has_kv(il) and spec.has_state(il) for il in range(spec.n_layers))
    assert spec.recurrent_state_bytes == 4 * (3 * 1_792 + 128 * 1_536) == 807_936
    bd = _memory(spec, 32_768)
    kv = {i.name: i.n_bytes for i in bd.items if i.component == "kv_cache"}
    assert kv["KV cache, full-attention layers"] == 36 * 32_768 * 2 * 128 * 2  # 576 MiB
    assert kv["KV cache, recurrent state"] == 36 * 807_936  # 27.7 MiB per sequence


def test_gemma3n_kv_sharing_and_per_layer_embeddings() -> None:
    # only layers 0-19 own a cache (hparams.n_layer_kv_from_start = 20): 16 sliding-window layers of
    # pad256(512 + 512) = 1,024 cells and 4 full layers (4, 9, 14, 19); 2 KV heads x 256 per token
    spec = _spec("google__gemma-3n-E2B-it")
    assert [il for il in range(30) if spec.has_kv(il) and spec.layer_kind(il) == LayerKind.FULL] == [4, 9, 14, 19]
    bd = _memory(spec, 32_768)
    kv = {i.name: i.n_bytes for i in bd.items if i.component == "kv_cache"}
    assert kv["KV cache, full-attention layers"] == 4 * 32_768 * 2 * 512 * 2 == 256 << 20
    assert kv["KV cache, sliding-window layers"] == 16 * 1_024 * 2 * 512 * 2 == 32 << 20
    names = {t.name for t in build_tensors(spec)}
    assert {"per_layer_token_embd.weight", "altup_proj.weight", "blk.0.laurel_l.weight"} <= names
    # the per-layer table: 30 layers x 256 wide x 262,144 rows
    ple = next(t for t in build_tensors(spec) if t.name == "per_layer_token_embd.weight")
    assert ple.n_elements == 30 * 256 * 262_144


def test_hunyuan_per_layer_lists_and_counts() -> None:
    spec = _spec("tencent__Hunyuan-A13B-Instruct")
    assert (spec.n_experts, spec.n_experts_active, spec.expert_ffn_size, spec.n_shared_experts) == (64, 8, 3_072, 1)
    # model card: 80B total, 13B active (within 1.5 % / 3 %)
    assert count_params(build_tensors(spec)) == pytest.approx(80e9, rel=0.015)
    from rigfit.models.importer import active_params
    assert active_params(spec) == pytest.approx(13e9, rel=0.03)
    cfg = json.loads((CONFIGS / "tencent__Hunyuan-A13B-Instruct.json").read_text())
    cfg["moe_topk"] = [8] * 31 + [4]
    with pytest.raises(BadModelFile, match="moe_topk varies by layer"):
        spec_from_config(cfg, name="x", where="x")


def test_jamba_mamba1_layers_match_the_published_count() -> None:
    # ai21labs/AI21-Jamba-1.5-Mini: 51,570,323,328 parameters (AlexsJones/llmfit hf_models.json), element for
    # element: 28 Mamba-1 layers (x_proj, dt_proj, A per channel, dt/B/C norms), 4 attention layers (every 8th
    # from layer 4), MoE of 16 experts on the odd layers; AI21: 12B active
    spec = _spec("ai21labs__AI21-Jamba-1.5-Mini")
    assert count_params(build_tensors(spec)) == 51_570_323_328
    from rigfit.models.importer import active_params
    assert active_params(spec) == pytest.approx(12e9, rel=0.02)
    assert [il for il in range(32) if spec.layer_kind(il) == LayerKind.FULL] == [4, 12, 20, 28]
    # Mamba-1 state: (d_conv - 1) x d_inner conv + d_state x d_inner scan, f32 (no groups)
    assert spec.recurrent_state_bytes == 4 * (3 * 8_192 + 16 * 8_192)


@pytest.mark.parametrize("name", ["tiiuae__Falcon-H1-0.5B-Instruct", "google__gemma-3n-E2B-it",
                                  "ai21labs__AI21-Jamba-1.5-Mini", "tencent__Hunyuan-A13B-Instruct"])
def test_new_architectures_read_back_from_their_gguf(tmp_path: Path, name: str) -> None:
    # a sparse GGUF written from the config reads back as the same tensors, caches and memory
    pytest.importorskip("gguf")
    from rigfit.models.gguf_file import load_gguf_model
    from rigfit.models.gguf_write import write_sparse_gguf

    spec = _spec(name)
    write_sparse_gguf(tmp_path / "m.gguf", spec, "Q4_K_M")
    back = load_gguf_model(tmp_path / "m.gguf")
    assert back.gguf is not None
    assert sorted(t.shape for t in build_tensors(spec)) == sorted(t.shape for t in back.gguf.tensors)
    kv = {i.name: i.n_bytes for i in _memory(spec, 8_192).items if i.component == "kv_cache"}
    assert kv == {i.name: i.n_bytes for i in _memory(back, 8_192).items if i.component == "kv_cache"}


# --- 2026 architectures: AFMoE, Laguna, Cohere2MoE, Hy3 (llama.cpp LLM_ARCH_AFMOE / LAGUNA / COHERE2MOE /
# HY_V3, src/models/*.cpp) and MobileLLM on the llama layers ------------------------------------------------

# Against the counts their makers publish (model cards: Trinity-Mini 26B, Laguna-XS-2.1 33B, Laguna-S-2.1 118B
# on its Hugging Face page, North-Mini-Code-1.0 30B (docs.cohere.com), Hy3 295B (Tencent-Hunyuan/Hy3 README,
# without its 3.8B MTP layer); MobileLLM 124.6M and 345.3M (model card table)): the names' counts are rounded,
# so within 1.5 % (MobileLLM: 0.1 %).
@pytest.mark.parametrize(("name", "published", "rel"), [
    ("Trinity-Mini", 26e9, 0.015), ("Laguna-XS-2.1", 33e9, 0.015), ("Laguna-S-2.1", 118e9, 0.015),
    ("North-Mini-Code-1.0", 30e9, 0.02), ("Hy3", 295e9, 0.015),
    ("MobileLLM-125M", 124.6e6, 0.001), ("MobileLLM-350M", 345.3e6, 0.001),
    # Ling-mini-2.0 16.26B (inclusionAI model card), Step-3.5-Flash 196B (StepFun), MiMo-V2-Flash 309B (Xiaomi)
    ("Ling-mini-2.0", 16.26e9, 0.002), ("Step-3.5-Flash", 196e9, 0.015), ("MiMo-V2-Flash", 309e9, 0.015),
    # exact Hugging Face / GGUF counts (AlexsJones/llmfit hf_models.json; unsloth's granite-4.0-h-small GGUF)
    ("LFM2-24B-A2B", 23_843_661_440, 0.0), ("granite-4.0-h-small", 32_207_337_984, 0.0),
    ("granite-4.0-h-micro", 3_191_396_096, 0.0), ("Nanbeige4.1-3B", 3_933_637_120, 0.0),
    # Mistral Small 4 119B (Mistral's card; MLA + MoE under a Mistral 3 wrapper), EXAONE 4.0 32B (LG's card:
    # 32.0B), its 1.2B's 1.07B without the tied embedding (102,400 x 2,048)
    ("Mistral-Small-4-119B-2603", 119e9, 0.005), ("EXAONE-4.0-32B", 32.0e9, 0.002),
    ("EXAONE-4.0-1.2B", 1.07e9 + 102_400 * 2_048, 0.002),
])
def test_2026_architectures_match_published_counts(name: str, published: float, rel: float) -> None:
    assert count_params(build_tensors(resolve_model(name, online=False))) == pytest.approx(published, rel=rel)


def test_laguna_query_heads_and_gates_follow_each_layer() -> None:
    """Laguna-XS-2.1: 48 query heads on the full-attention layers and 64 on the sliding ones, 8 KV heads of
    128 on every layer, a per-head output gate (one value per head), a dense layer 0, then MoE."""
    spec = resolve_model("Laguna-XS-2.1", online=False)
    shapes = {t.name: t.shape for t in build_tensors(spec)}
    assert shapes["blk.0.attn_q.weight"] == (2048, 48 * 128) and shapes["blk.1.attn_q.weight"] == (2048, 64 * 128)
    assert shapes["blk.1.attn_output.weight"] == (64 * 128, 2048)
    assert shapes["blk.0.attn_gate.weight"] == (2048, 48) and shapes["blk.1.attn_gate.weight"] == (2048, 64)
    assert shapes["blk.1.attn_k.weight"] == shapes["blk.0.attn_k.weight"] == (2048, 8 * 128)
    assert "blk.0.ffn_up.weight" in shapes and "blk.1.ffn_up_exps.weight" in shapes
    assert shapes["blk.1.ffn_up_shexp.weight"] == (2048, 512) and "blk.1.exp_probs_b.bias" in shapes
    assert [spec.layer_kind(il) for il in range(5)] == [LayerKind.FULL] + [LayerKind.SLIDING] * 3 + [LayerKind.FULL]
    assert spec.sliding_window == 512


def test_afmoe_cohere2moe_and_hy3_layers() -> None:
    trinity = {t.name: t.shape for t in build_tensors(resolve_model("Trinity-Mini", online=False))}
    assert trinity["blk.0.attn_gate.weight"] == (2048, 32 * 128)  # a gate as wide as Q
    assert "blk.1.ffn_up.weight" in trinity and "blk.2.ffn_up_exps.weight" in trinity  # 2 dense layers
    assert trinity["blk.2.ffn_up_shexp.weight"] == (2048, 1024) and "blk.2.post_ffw_norm.weight" in trinity
    north = resolve_model("North-Mini-Code-1.0", online=False)
    shapes = {t.name: t.shape for t in build_tensors(north)}
    assert shapes["blk.0.ffn_up.weight"] == (2048, 3072)  # prefix_dense_intermediate_size
    assert shapes["blk.1.ffn_up_exps.weight"] == (2048, 768, 128)  # intermediate_size: the experts'
    assert "blk.1.ffn_norm.weight" not in shapes and "output.weight" not in shapes  # parallel block, tied head
    hy3 = resolve_model("Hy3", online=False)
    assert hy3.sliding_window == 0 and all(hy3.has_kv(il) for il in range(hy3.n_layers))
    assert {t.name: t.shape for t in build_tensors(hy3)}["blk.1.ffn_up_shexp.weight"] == (4096, 1536)


def test_mimo2_and_step35_attention_layouts() -> None:
    """MiMo-V2-Flash (llama.cpp LLM_ARCH_MIMO2): keys 192 and values 128 wide, 4 KV heads on the 9 full layers
    and 8 on the sliding ones, sinks on the sliding layers only; its KV cache per token and layer is K 768 +
    V 512 (full) and K 1536 + V 1024 (sliding).  Step-3.5-Flash (LLM_ARCH_STEP35): 64 query heads on full
    layers, 96 on sliding ones, a per-head gate, 3 dense layers."""
    from rigfit.engines.base import head_kv_dims

    mimo = resolve_model("MiMo-V2-Flash", online=False)
    shapes = {t.name: t.shape for t in build_tensors(mimo)}
    assert mimo.layer_kind(0) == LayerKind.FULL and mimo.layer_kind(1) == LayerKind.SLIDING
    assert shapes["blk.0.attn_k.weight"] == (4096, 4 * 192) and shapes["blk.0.attn_v.weight"] == (4096, 4 * 128)
    assert shapes["blk.1.attn_v.weight"] == (4096, 8 * 128) and shapes["blk.1.attn_output.weight"] == (64 * 128, 4096)
    assert "blk.1.attn_sinks.weight" in shapes and "blk.0.attn_sinks.weight" not in shapes
    assert head_kv_dims(mimo, 0, decompress_mla=False) == (768, 512)
    assert head_kv_dims(mimo, 1, decompress_mla=False) == (1536, 1024)
    assert sum(mimo.layer_kind(il) == LayerKind.FULL for il in range(mimo.n_layers)) == 9
    step = resolve_model("Step-3.5-Flash", online=False)
    shapes = {t.name: t.shape for t in build_tensors(step)}
    assert shapes["blk.0.attn_q.weight"] == (4096, 64 * 128) and shapes["blk.1.attn_q.weight"] == (4096, 96 * 128)
    assert shapes["blk.1.attn_gate.weight"] == (4096, 96) and shapes["blk.1.attn_k.weight"] == (4096, 8 * 128)
    assert "blk.2.ffn_up.weight" in shapes and shapes["blk.3.ffn_up_exps.weight"] == (4096, 1280, 288)


def test_mistral4_exaone4_and_hunyuan_dense_layers() -> None:
    """Mistral Small 4: a Mistral3ForConditionalGeneration whose text model is MLA (llama.cpp LLM_ARCH_MISTRAL4:
    deepseek2's tensors), K-only cache of kv_lora_rank + rope dims = 320 per layer, no routing bias; EXAONE 4:
    post-norms only, global attention on every 4th layer of the 32B; Hunyuan dense: Q/K norms, tied head."""
    from rigfit.engines.base import head_kv_dims

    m4 = resolve_model("Mistral-Small-4-119B-2603", online=False)
    assert m4.arch == "mistral4" and m4.uses_mla and head_kv_dims(m4, 0, decompress_mla=False) == (320, 0)
    names = {t.name for t in build_tensors(m4)}
    assert "blk.0.attn_q_a.weight" in names and "blk.0.exp_probs_b.bias" not in names
    ex = resolve_model("EXAONE-4.0-32B", online=False)
    shapes = {t.name: t.shape for t in build_tensors(ex)}
    assert "blk.0.attn_norm.weight" not in shapes and "blk.0.ffn_norm.weight" not in shapes
    assert shapes["blk.0.post_attention_norm.weight"] == (5120,) and shapes["blk.0.attn_q_norm.weight"] == (128,)
    assert [ex.layer_kind(il) for il in range(4)] == [LayerKind.SLIDING] * 3 + [LayerKind.FULL]
    hy = resolve_model("Hunyuan-7B-Instruct", online=False)
    assert hy.tied_embeddings and "blk.0.attn_k_norm.weight" in {t.name for t in build_tensors(hy)}


def test_kimi_linear_delta_attention_and_mla_layers() -> None:
    """Kimi Linear 48B-A3B (llama.cpp LLM_ARCH_KIMI_LINEAR): its tensors sum to the 49,122,681,728 elements a
    published Q4_K_M GGUF's header lists (pmains/kimi-linear-48b-ssd-streaming@1cf673da, bartowski's file, 610
    tensors); 20 KDA layers keep a state of 3 x (4 - 1) x 4,096 conv values and 32 heads x 128 x 128 f32
    values (llama-hparams.cpp n_embd_r / n_embd_s: 2,244,608 bytes per sequence), 7 MLA layers a K-only cache
    of 512 + 64 per token (the config's 1-based full_attn_layers 4, 8, ..., 24, 27)."""
    from rigfit.engines.base import head_kv_dims

    spec = resolve_model("kimi-linear", online=False)
    assert count_params(build_tensors(spec)) == 49_122_681_728
    full = [il for il in range(spec.n_layers) if spec.layer_kind(il) == LayerKind.FULL]
    assert full == [3, 7, 11, 15, 19, 23, 26]
    assert spec.recurrent_state_bytes == 2_244_608 and spec.has_state(0) and not spec.has_state(3)
    assert head_kv_dims(spec, 3, decompress_mla=False) == (576, 0)


def test_gpt2_learned_positions_and_biases() -> None:
    """GPT-2 small (openai-community/gpt2's config): 124,439,808 parameters as published (the head tied to the
    token table), plus the copy of that table llama.cpp's converter writes as output.weight (50,257 x 768);
    the TinyStories GPT-2 replica's GGUF holds 101 tensors (llama.cpp LLM_ARCH_GPT2: position_embd, biased
    LayerNorms, fused QKV and MLP with biases)."""
    spec = _spec("openai-community__gpt2")
    tensors = build_tensors(spec)
    assert count_params(tensors) == 124_439_808 + 50_257 * 768
    shapes = {t.name: t.shape for t in tensors}
    assert shapes["position_embd.weight"] == (768, 1024) and shapes["blk.0.attn_qkv.bias"] == (3 * 768,)
    assert shapes["blk.0.ffn_up.weight"] == (768, 4 * 768) and "blk.0.ffn_gate.weight" not in shapes
    assert len(build_tensors(resolve_model("Tinystories-gpt-0.1-3m", online=False))) == 101
