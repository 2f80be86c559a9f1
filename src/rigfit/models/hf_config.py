"""Hugging Face ``config.json`` (and safetensors headers) -> ModelSpec.

Keys follow transformers' configuration classes (LlamaConfig, Qwen2Config, Qwen3MoeConfig, Gemma3Config
with ``text_config``, DeepseekV3Config, GptOssConfig, Llama4Config).  ``head_dim`` is taken from the
config when present, never recomputed as hidden/heads.  Exact parameter counts come from the
safetensors headers via ``huggingface_hub.get_local_safetensors_metadata``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import BadModelFile
from ..safeio import clean_text, read_regular_file
from ..vocab import LayerKind
from .arch import Arch, Attention, Mixer, arch_for_config, arch_of_type, recurrent_state_bytes
from .spec import SPEC_RANGES, ModelSpec, checked, count_value, swa_layer_types
from .vision import vision_params

# Sliding-window periods where a config gives a window but no layer pattern (transformers' defaults).
_SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gemma3n": 5, "gpt-oss": 2, "llama4": 4, "cohere2": 4, "exaone4": 4}


MAX_CONFIG_BYTES = 16 << 20  # real config.json files are a few KB
MAX_SAFETENSORS_HEADER = 100 << 20  # the safetensors format's own header limit (safetensors docs)
MAX_PARAMS = 1 << 47  # 140T parameters


def _int(cfg: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    v = cfg.get(key)
    if v is None:
        if default is None:
            raise BadModelFile(f"{where}: missing {key}")
        return default
    n = count_value(v)
    if n is None:
        raise BadModelFile(f"{where}: {key} must be a non-negative integer, got {_shown(v)}")
    return n


def _opt(cfg: dict[str, Any], where: str, *keys: str) -> int:
    """The first of ``keys`` that is set (0 when none is), checked like ``_int``."""
    for k in keys:
        if cfg.get(k) not in (None, 0, False):
            return _int(cfg, k, where)
    return 0


def _shown(v: Any) -> str:
    text = clean_text(repr(v))
    return text if len(text) <= 60 else text[:57] + "..."


def spec_from_config(cfg: Any, *, name: str, where: str, params_total: int | None = None,
                     origin: str = "config.json", hf_repo: str = "") -> ModelSpec:
    if not isinstance(cfg, dict):
        raise BadModelFile(f"{where}: expected a JSON object")
    archs = cfg.get("architectures") or []
    cls = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else ""
    text = cfg.get("text_config")
    c = {**cfg, **text} if isinstance(text, dict) else cfg
    blocks = c.get("layers_block_type")
    if isinstance(blocks, list) and blocks and "hybrid_override_pattern" not in c:
        # newer Nemotron-H configs (transformers 5) list block kinds instead of the pattern string
        letters = {"mamba": "M", "attention": "*", "mlp": "-", "moe": "E"}
        if all(isinstance(b, str) and b in letters for b in blocks):
            c = {**c, "hybrid_override_pattern": "".join(letters[b] for b in blocks)}
            c.setdefault("num_hidden_layers", len(blocks))
    c = _uniform_lists(c, where)
    c = {**{k: c[old] for old, k in _GPT2_KEYS.items() if old in c and k not in c}, **c}
    model_type = str(cfg.get("model_type") or c.get("model_type") or "")
    if not cls and not model_type:
        raise BadModelFile(f"{where}: no architectures or model_type")
    registered = arch_for_config(clean_text(model_type, 60), clean_text(cls, 80))
    text_type = str(text.get("model_type") or "") if isinstance(text, dict) else ""
    inner = arch_of_type(text_type) if text_type else None
    if inner is not None and inner.attention == Attention.MLA:
        registered = inner  # an MLA text model in a dense model's wrapper (Mistral Small 4)
    arch = registered.name
    n_layers = _int(c, "num_hidden_layers", where)
    hidden = _int(c, "hidden_size", where)
    heads = _int(c, "num_attention_heads", where)
    if n_layers == 0 or hidden == 0 or heads == 0:
        raise BadModelFile(f"{where}: num_hidden_layers, hidden_size and num_attention_heads must be positive")
    if n_layers > SPEC_RANGES["n_layers"][1]:  # before anything loops over the layers
        raise BadModelFile(f"{where}: num_hidden_layers = {n_layers:,} (expected 1..{SPEC_RANGES['n_layers'][1]:,})")
    kv = _opt(c, where, "num_key_value_heads", "num_attention_groups") or heads  # Step 3.5: attention groups
    head_dim = _int(c, "head_dim", where, hidden // heads)
    vocab = _int(c, "vocab_size", where)
    n_experts = _opt(c, where, "num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")
    if n_experts == 1:
        n_experts = 0  # one expert is a dense FFN (transformers JambaSparseMoeBlock only when num_experts > 1)
    ff = _int(c, "intermediate_size", where, 0) or _opt(c, where, "block_ff_dim") or (
        4 * hidden if registered.learned_positions else 0)  # GPT-2: llama.cpp writes 4 x n_embd (n_inner unread)
    expert_ff = _opt(c, where, "moe_intermediate_size") or (ff if n_experts else 0)
    if arch == "llama4":
        ff = _opt(c, where, "intermediate_size_mlp") or ff
        expert_ff = _opt(c, where, "intermediate_size") or expert_ff
    if not ff and not expert_ff:
        raise BadModelFile(f"{where}: missing intermediate_size")
    layer_types: tuple[LayerKind, ...] = ()
    window = _opt(c, where, "sliding_window") if c.get("use_sliding_window", True) else None
    lt = c.get("layer_types")
    if isinstance(lt, list) and len(lt) == n_layers + _opt(c, where, "num_nextn_predict_layers"):
        lt = lt[:n_layers]  # the multi-token-prediction layers' entries follow the trunk's (Step 3.5)
    if isinstance(lt, list) and len(lt) == n_layers:
        kinds = {"sliding_attention": LayerKind.SLIDING, "full_attention": LayerKind.FULL,
                 "linear_attention": LayerKind.RECURRENT, "chunked_attention": LayerKind.SLIDING,
                 "attention": LayerKind.FULL, "mamba": LayerKind.RECURRENT, "conv": LayerKind.RECURRENT}
        unknown = sorted({str(x) for x in lt} - set(kinds))
        if unknown:
            raise BadModelFile(f"{where}: layer_types holds {_shown(unknown[0])}, which rigfit does not know")
        layer_types = tuple(kinds[str(x)] for x in lt)
    elif window and arch in _SWA_PATTERN:
        given = c.get("sliding_window_pattern")
        pattern = len(given) if isinstance(given, str) and 0 < len(given) <= 64 else (  # "LLLG": every 4th global
            _opt(c, where, "sliding_window_pattern") or _SWA_PATTERN[arch])
        layer_types = swa_layer_types(n_layers, pattern)
    if arch == "llama4" and c.get("attention_chunk_size"):
        window = _int(c, "attention_chunk_size", where)
        layer_types = layer_types or swa_layer_types(n_layers, 4)
    hybrid = _hybrid(registered, c, where, n_layers, layer_types, hidden)
    hybrid.update(_per_layer(arch, c, where, n_layers, layer_types, ff, heads, kv, head_dim))
    layer_types = hybrid.pop("layer_types", layer_types)
    if LayerKind.SLIDING not in layer_types:
        window = None
    tied = c.get("tie_word_embeddings", cfg.get("tie_word_embeddings", registered.tied)) or \
        c.get("share_embedding") is True  # MobileLLM names its tied head so
    shared = _opt(c, where, "n_shared_experts", "moe_num_shared_experts", "num_shared_expert",
                  "num_shared_experts") or (
        1 if c.get("shared_expert_intermediate_size") or c.get("shared_intermediate_size") or
        c.get("share_expert_dim") else 0)
    dtype = str(c.get("torch_dtype") or c.get("dtype") or cfg.get("torch_dtype") or "bfloat16")
    qc = cfg.get("quantization_config")
    native = "MXFP4_MOE" if isinstance(qc, dict) and qc.get("quant_method") == "mxfp4" else ""
    spec = ModelSpec(
        name=clean_text(name), arch=clean_text(arch), n_layers=n_layers, hidden_size=hidden,
        n_heads=hybrid.pop("n_heads", heads),
        n_kv_heads=kv, head_dim=head_dim, ffn_size=hybrid.pop("ffn_size", 0) or ff or expert_ff, vocab_size=vocab,
        max_context=_opt(c, where, "max_position_embeddings") or 4096, tied_embeddings=bool(tied),
        attn_bias=bool(c.get("attention_bias", registered.attn_bias)), qk_norm=registered.qk_norm,
        sliding_window=hybrid.pop("sliding_window", int(window or 0)), layer_types=layer_types,
        n_experts=hybrid.pop("n_experts", n_experts),
        n_experts_active=hybrid.pop("n_experts_active", _opt(c, where, "num_experts_per_tok", "moe_k", "moe_topk",
                                                             "moe_top_k", "num_experts_per_token")
                                    if n_experts else 0),
        expert_ffn_size=hybrid.pop("expert_ffn_size", expert_ff if n_experts else 0),
        n_shared_experts=hybrid.pop("n_shared_experts", shared),
        shared_expert_ffn_size=hybrid.pop("shared_expert_ffn_size", _opt(
            c, where, "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size",
            "shared_intermediate_size", "share_expert_dim")),
        n_dense_layers=hybrid.pop("n_dense_layers", _opt(c, where, "first_k_dense_replace", "num_dense_layers",
                                                         "moe_layer_start_index")),
        moe_latent_size=_opt(c, where, "moe_latent_size"),
        q_lora_rank=_opt(c, where, "q_lora_rank"), kv_lora_rank=_opt(c, where, "kv_lora_rank"),
        qk_rope_head_dim=_opt(c, where, "qk_rope_head_dim"), qk_nope_head_dim=_opt(c, where, "qk_nope_head_dim"),
        v_head_dim=_opt(c, where, "v_head_dim"), params_total=params_total, **hybrid,
        dtype={"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(dtype, "bf16"),
        hf_repo=hf_repo, source=where, origin=origin, native_quant=native, model_type=clean_text(model_type, 60),
        has_vision=isinstance(cfg.get("vision_config"), dict), vision_params=vision_params(cfg, hidden),
    )
    return checked(spec, where)


def _laguna(c: dict[str, Any], where: str, n_layers: int, kv: int, head_dim: int) -> dict[str, Any]:
    """Laguna's per-layer query heads, its dense prefix (mlp_layer_types) and its gate width (one value per
    head when gating is per-head, else head_dim per head: llama.cpp src/models/laguna.cpp)."""
    out: dict[str, Any] = {}
    per = c.get("num_attention_heads_per_layer")
    if per is not None:
        if not isinstance(per, list) or len(per) != n_layers or any(
                count_value(h) in (None, 0) or count_value(h) % max(kv, 1) for h in per):  # type: ignore[operator]
            raise BadModelFile(f"{where}: num_attention_heads_per_layer must list {n_layers} multiples of the "
                               f"{kv} KV heads")
        out["n_heads_per_layer"] = tuple(int(h) for h in per)
        out["n_heads"] = max(out["n_heads_per_layer"])
    kinds = c.get("mlp_layer_types")
    if isinstance(kinds, list) and len(kinds) == n_layers:
        ffn = tuple("dense" if k == "dense" else "moe" for k in kinds)
        out["n_dense_layers"] = next((i for i, f in enumerate(ffn) if f == "moe"), n_layers)
        if "dense" in ffn[out["n_dense_layers"]:]:
            out["layer_ffn"] = ffn
    gating = c.get("gating_types") or [c.get("gating")] * n_layers
    per_head = all(str(g).replace("_", "-") == "per-head" for g in gating)
    out["attn_gate_dim"] = 1 if per_head else head_dim
    return out


def _step35(c: dict[str, Any], where: str, n_layers: int, layer_types: tuple[LayerKind, ...],
            heads: int) -> dict[str, Any]:
    """Step 3.5: the sliding layers' query heads (attention_other_setting), a per-head output gate
    (use_head_wise_attn_gate) and the MoE layers listed in moe_layers_enum (the rest dense)."""
    out: dict[str, Any] = {}
    other = c.get("attention_other_setting")
    if isinstance(other, dict) and layer_types:
        swa = _opt(other, where, "num_attention_heads") or heads
        out["n_heads_per_layer"] = tuple(swa if k == LayerKind.SLIDING else heads for k in layer_types)
        out["n_heads"] = max(heads, swa)
    if c.get("use_head_wise_attn_gate"):
        out["attn_gate_dim"] = 1
    moe = c.get("moe_layers_enum")
    if isinstance(moe, str) and moe.strip():
        ids = [count_value(int(x)) if x.strip().isdigit() else None for x in moe.split(",")]
        if any(i is None for i in ids):
            raise BadModelFile(f"{where}: moe_layers_enum must list layer numbers, got {_shown(moe)}")
        out["n_dense_layers"] = min(i for i in ids if i is not None)
    return out


def _mimo2(c: dict[str, Any], where: str, n_layers: int, kv: int) -> dict[str, Any]:
    """MiMo-V2: hybrid_layer_pattern (1 = sliding window) with the sliding layers' own KV heads, value heads
    narrower than key heads (v_head_dim), moe_layer_freq (0 = dense)."""
    out: dict[str, Any] = {}
    pattern = c.get("hybrid_layer_pattern")
    if isinstance(pattern, list) and len(pattern) == n_layers:
        sliding = [p == 1 for p in pattern]
        out["layer_types"] = tuple(LayerKind.SLIDING if s else LayerKind.FULL for s in sliding)
        out["sliding_window"] = _opt(c, where, "sliding_window", "sliding_window_size")
        swa_kv = _opt(c, where, "swa_num_key_value_heads") or kv
        if swa_kv != kv:
            out["n_kv_heads_per_layer"] = tuple(swa_kv if s else kv for s in sliding)
    freq = c.get("moe_layer_freq")
    if isinstance(freq, list) and len(freq) == n_layers:
        out["n_dense_layers"] = next((i for i, f in enumerate(freq) if f), n_layers)
    return out


# GPT-2's config names (transformers GPT2Config) for the keys the others use
_GPT2_KEYS = {"n_embd": "hidden_size", "n_layer": "num_hidden_layers", "n_head": "num_attention_heads",
              "n_positions": "max_position_embeddings"}


# Keys that some configs give per layer (Hunyuan A13B: moe_intermediate_size, moe_topk, num_shared_expert;
# Gemma 3n: intermediate_size); llama.cpp's converters write one value and require the list to be uniform.
_PER_LAYER_KEYS = ("moe_intermediate_size", "moe_topk", "num_shared_expert", "intermediate_size")


def _uniform_lists(c: dict[str, Any], where: str) -> dict[str, Any]:
    out = c
    for k in _PER_LAYER_KEYS:
        v = c.get(k)
        if isinstance(v, list) and v:
            if len(v) > SPEC_RANGES["n_layers"][1] or any(x != v[0] for x in v):
                raise BadModelFile(f"{where}: {k} varies by layer ({_shown(v)}), which rigfit cannot size yet")
            out = {**out, k: v[0]}
    return out


def _per_layer(arch: str, c: dict[str, Any], where: str, n_layers: int, layer_types: tuple[LayerKind, ...],
               ff: int, heads: int, kv: int, head_dim: int) -> dict[str, Any]:
    """Layers that differ from each other: Gemma 4 (transformers Gemma4TextConfig: global_head_dim and
    num_global_key_value_heads on full-attention layers, num_kv_shared_layers, use_double_wide_mlp,
    hidden_size_per_layer_input, enable_moe_block beside the dense MLP) and Llama 4's interleaved MoE
    (interleave_moe_layer_step; dense layers use intermediate_size_mlp)."""
    out: dict[str, Any] = {}
    if arch == "llama4":
        step = _opt(c, where, "interleave_moe_layer_step") or 1
        if step > 1:
            out["layer_ffn"] = tuple("moe" if (il + 1) % step == 0 else "dense" for il in range(n_layers))
        out["n_shared_experts"] = 1  # Llama4TextMoe: one shared expert as wide as the routed ones
    if arch == "deepseek4":
        ratios = c.get("compress_ratios")
        if not isinstance(ratios, list) or len(ratios) < n_layers or any(count_value(r) is None for r in ratios):
            raise BadModelFile(f"{where}: a DeepSeek V4 config needs compress_ratios for its {n_layers} layers")
        out.update(sliding_window=_int(c, "sliding_window", where),
                   compress_ratios=tuple(int(r) for r in ratios[:n_layers]),  # a trailing entry is the MTP layer's
                   o_lora_rank=_int(c, "o_lora_rank", where), o_groups=_int(c, "o_groups", where),
                   indexer_heads=_int(c, "index_n_heads", where), indexer_head_dim=_int(c, "index_head_dim", where))
    if arch == "hunyuan-moe":  # the shared expert is intermediate_size wide (HunYuanMoEV1: use_mixed_mlp_moe)
        out["shared_expert_ffn_size"] = ff
    if arch == "afmoe":  # the sigmoid output gate is as wide as Q
        out["attn_gate_dim"] = head_dim
    if arch == "cohere2moe":  # intermediate_size is the experts' width; the dense prefix has its own
        out["ffn_size"] = _int(c, "prefix_dense_intermediate_size", where)
    if arch == "laguna":
        out.update(_laguna(c, where, n_layers, kv, head_dim))
    if arch == "step35":
        out.update(_step35(c, where, n_layers, layer_types, heads))
    if arch == "mimo2":
        out.update(_mimo2(c, where, n_layers, kv))
    if arch == "deepseek32":
        out.update(indexer_heads=_int(c, "index_n_heads", where), indexer_head_dim=_int(c, "index_head_dim", where))
    if arch == "gemma3n":  # GGUF token tables hold the tokenizer's rows, not the soft audio/vision tokens
        out["gguf_vocab_size"] = _opt(c, where, "vocab_size_per_layer_input")
    if arch not in ("gemma4", "gemma3n"):
        return out
    full = [k == LayerKind.FULL for k in layer_types] or [False] * n_layers
    hd, ghd = _int(c, "head_dim", where), _opt(c, where, "global_head_dim")
    gkv = _opt(c, where, "num_global_key_value_heads") or kv
    if ghd and ghd != hd:
        out["head_dim_per_layer"] = tuple(ghd if f else hd for f in full)
    if gkv != kv:
        out["n_kv_heads_per_layer"] = tuple(gkv if f else kv for f in full)
    shared = _opt(c, where, "num_kv_shared_layers")
    if shared:
        out["kv_shared_from"] = n_layers - shared
        if c.get("use_double_wide_mlp"):
            out["ffn_size_per_layer"] = tuple(2 * ff if il >= n_layers - shared else ff for il in range(n_layers))
    out["k_eq_v"] = bool(c.get("attention_k_eq_v"))
    ple = _opt(c, where, "hidden_size_per_layer_input")
    if ple:
        out.update(per_layer_input_size=ple, per_layer_vocab_size=_opt(c, where, "vocab_size_per_layer_input"))
    if c.get("enable_moe_block"):  # routed experts beside an always-on dense MLP of intermediate_size
        out.update(n_experts=_int(c, "num_experts", where), n_experts_active=_int(c, "top_k_experts", where),
                   expert_ffn_size=_opt(c, where, "moe_intermediate_size", "expert_intermediate_size"),
                   n_shared_experts=1, shared_expert_ffn_size=ff)
    return out


def _hybrid(arch: Arch, c: dict[str, Any], where: str, n_layers: int, layer_types: tuple[LayerKind, ...],
            hidden: int) -> dict[str, Any]:
    """The recurrent mixer's sizes and the layer pattern of a hybrid, from its config keys (transformers'
    Qwen3NextConfig / Qwen3_5Config, NemotronHConfig, GraniteMoeHybridConfig, Lfm2Config), mapped to llama.cpp's
    hparams the way convert_hf_to_gguf.py writes them."""
    if arch.mixer is None:
        return {}
    out: dict[str, Any] = {}
    if arch.mixer == Mixer.GATED_DELTANET:
        if not layer_types:
            interval = _int(c, "full_attention_interval", where, 4)
            layer_types = tuple(LayerKind.FULL if (il + 1) % max(interval, 1) == 0 else LayerKind.RECURRENT
                                for il in range(n_layers))
        vh, vd = _int(c, "linear_num_value_heads", where), _int(c, "linear_value_head_dim", where)
        out.update(ssm_d_conv=_int(c, "linear_conv_kernel_dim", where, 4),
                   ssm_d_state=_int(c, "linear_key_head_dim", where),
                   ssm_n_group=_int(c, "linear_num_key_heads", where), ssm_d_inner=vh * vd, ssm_dt_rank=vh)
    elif arch.mixer == Mixer.MAMBA2:
        pattern = c.get("hybrid_override_pattern")
        if isinstance(pattern, str) and pattern:
            if len(pattern) != n_layers or set(pattern) - set("M*-E"):
                raise BadModelFile(f"{where}: hybrid_override_pattern {_shown(pattern)} does not fit "
                                   f"{n_layers} layers of M, *, - and E")
            layer_types = tuple({"M": LayerKind.RECURRENT, "*": LayerKind.FULL}.get(ch, LayerKind.NONE)
                                for ch in pattern)
            out["layer_ffn"] = tuple({"-": "dense", "E": "moe"}.get(ch, "none") for ch in pattern)
        heads = _opt(c, where, "mamba_num_heads", "mamba_n_heads")
        head_dim = _opt(c, where, "mamba_head_dim", "mamba_d_head")
        d_inner = heads * head_dim or _opt(c, where, "mamba_expand", "expand") * hidden
        out.update(ssm_d_conv=_opt(c, where, "conv_kernel", "mamba_d_conv") or 4,
                   ssm_d_state=_opt(c, where, "ssm_state_size", "mamba_d_state"),
                   ssm_n_group=_opt(c, where, "n_groups", "mamba_n_groups") or 1, ssm_d_inner=d_inner,
                   ssm_dt_rank=heads)
        if arch.parallel_mixer:  # every layer attends and scans (Falcon-H1)
            layer_types = layer_types or (LayerKind.FULL,) * n_layers
        elif not layer_types and d_inner:
            raise BadModelFile(f"{where}: a {arch.name} config needs hybrid_override_pattern or layer_types")
    elif arch.mixer == Mixer.KIMI_DELTA:  # KimiLinearConfig.linear_attn_config (full_attn_layers: 1-based)
        la = c.get("linear_attn_config")
        if not isinstance(la, dict):
            raise BadModelFile(f"{where}: a Kimi Linear config needs linear_attn_config")
        listed = {count_value(i) for i in la.get("full_attn_layers") or []}
        layer_types = tuple(LayerKind.FULL if il + 1 in listed else LayerKind.RECURRENT for il in range(n_layers))
        heads, hd = _int(la, "num_heads", where), _int(la, "head_dim", where)
        # the state as llama.cpp sizes it: conv rows for q, k and v, a head_dim x head_dim matrix per head
        out.update(ssm_d_conv=_int(la, "short_conv_kernel_size", where, 4), ssm_d_state=hd, ssm_n_group=heads,
                   ssm_d_inner=heads * hd, ssm_dt_rank=heads)
    elif arch.mixer == Mixer.MAMBA1:  # transformers JambaConfig: layer roles from periods and offsets
        if not layer_types:
            period, offset = _int(c, "attn_layer_period", where), _int(c, "attn_layer_offset", where)
            layer_types = tuple(LayerKind.FULL if period and il % period == offset else LayerKind.RECURRENT
                                for il in range(n_layers))
        period, offset = _int(c, "expert_layer_period", where, 1), _int(c, "expert_layer_offset", where, 0)
        moe = _int(c, "num_experts", where, 1) > 1  # Jamba Reasoning 3B: num_experts 1, a dense FFN everywhere
        out["layer_ffn"] = tuple("moe" if moe and period and il % period == offset else "dense"
                                 for il in range(n_layers))
        out.update(ssm_d_conv=_int(c, "mamba_d_conv", where, 4), ssm_d_state=_int(c, "mamba_d_state", where),
                   ssm_n_group=0, ssm_d_inner=_int(c, "mamba_expand", where, 2) * hidden,
                   ssm_dt_rank=_int(c, "mamba_dt_rank", where))
    elif arch.mixer == Mixer.SHORTCONV:
        if not layer_types:
            full = c.get("full_attn_idxs")
            if not isinstance(full, list):
                raise BadModelFile(f"{where}: an LFM2 config needs layer_types or full_attn_idxs")
            idx = {count_value(i) for i in full}
            layer_types = tuple(LayerKind.FULL if il in idx else LayerKind.RECURRENT for il in range(n_layers))
        out["shortconv_l_cache"] = _int(c, "conv_L_cache", where, 3)
        ff = _opt(c, where, "block_ff_dim")
        if ff:  # Lfm2MLP: two thirds when auto-adjusted, times the multiplier, rounded up to block_multiple_of
            if c.get("block_auto_adjust_ff_dim"):
                ff = int(2 * ff / 3)
                mult = c.get("block_ffn_dim_multiplier")
                if isinstance(mult, int | float) and not isinstance(mult, bool) and 0 < mult < 64:
                    ff = int(mult * ff)
                step = _opt(c, where, "block_multiple_of") or 1
                ff = step * -(-ff // step)
            out["ffn_size"] = ff
    # a hybrid family's all-attention member (Granite 4.0 micro)
    if LayerKind.RECURRENT not in layer_types and not arch.parallel_mixer:
        return {"layer_types": layer_types, **{k: v for k, v in out.items() if k in ("layer_ffn", "ffn_size")}}
    if not out.get("shortconv_l_cache") and not out.get("ssm_d_inner"):
        raise BadModelFile(f"{where}: the recurrent layers' sizes are missing (linear_* or mamba_* keys)")
    out["recurrent_state_bytes"] = recurrent_state_bytes(
        d_conv=out.get("ssm_d_conv", 0), d_inner=out.get("ssm_d_inner", 0), d_state=out.get("ssm_d_state", 0),
        n_group=out.get("ssm_n_group", 0), l_cache=out.get("shortconv_l_cache", 0), n_embd=hidden)
    out["layer_types"] = layer_types
    return out


def read_config(path: Path) -> Any:
    raw = read_regular_file(path, MAX_CONFIG_BYTES, "config.json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadModelFile(f"{path}: not valid JSON ({clean_text(str(exc))})") from None
    except (RecursionError, ValueError):  # nesting too deep; an integer of more digits than Python reads
        raise BadModelFile(f"{path}: not a config.json (nested too deep or a number too long)") from None


def safetensors_param_count(folder: Path) -> int | None:
    """Exact parameter count from the safetensors headers in ``folder`` (None when there are none).

    The header is read as the format defines it (safetensors docs: an 8-byte little-endian length, then that
    many bytes of JSON mapping each tensor to its dtype, shape and data offsets; at most 100 MB), by rigfit
    itself so that nothing a hostile header claims is allocated or walked: only regular files directly in the
    folder, every shape a short list of non-negative integers, the total at most 140T parameters.  An index
    may only name regular files in the folder."""
    try:
        files = sorted(f for f in folder.iterdir() if f.name.endswith(".safetensors"))
    except OSError as exc:
        raise BadModelFile(f"{folder}: cannot list: {exc.strerror or exc}") from None
    if not files:
        return None
    index = folder / "model.safetensors.index.json"
    if index.exists():
        doc = read_config(index)
        weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
        if not isinstance(weight_map, dict):
            raise BadModelFile(f"{index}: no weight_map")
        for target in set(weight_map.values()):
            if not isinstance(target, str) or Path(target).name != target or not (folder / target).is_file():
                raise BadModelFile(f"{index}: weight_map names {_shown(target)}, not a file in {folder.name}")
    total = 0
    for f in files:
        total += _safetensors_params(f)
        if total > MAX_PARAMS:
            raise BadModelFile(f"{folder}: safetensors shapes give more than 140T parameters")
    return total


def _safetensors_params(path: Path) -> int:
    head = read_regular_file(path, None, "safetensors file", head_bytes=8)
    n = int.from_bytes(head, "little") if len(head) == 8 else -1
    if not 2 <= n <= MAX_SAFETENSORS_HEADER:
        raise BadModelFile(f"{path}: not a safetensors file (header length {n})")
    raw = read_regular_file(path, None, "safetensors file", head_bytes=8 + n)[8:]
    if len(raw) < n:
        raise BadModelFile(f"{path}: truncated safetensors header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadModelFile(f"{path}: safetensors header is not JSON") from None
    if not isinstance(header, dict):
        raise BadModelFile(f"{path}: safetensors header is not a JSON object")
    total = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shape = info.get("shape") if isinstance(info, dict) else None
        dims = [count_value(d) for d in shape] if isinstance(shape, list) and len(shape) <= 8 else [None]
        if any(d is None or d > MAX_PARAMS for d in dims):
            raise BadModelFile(f"{path}: tensor {clean_text(str(name), 60)!r} has shape {_shown(shape)}")
        total += math.prod(d for d in dims if d is not None)
        if total > MAX_PARAMS:
            raise BadModelFile(f"{path}: safetensors shapes give more than 140T parameters")
    return total


def load_config_model(path: Path, *, name: str | None = None, origin: str = "config.json",
                      hf_repo: str = "") -> ModelSpec:
    folder = path if path.is_dir() else path.parent
    cfg_path = path / "config.json" if path.is_dir() else path
    cfg = read_config(cfg_path)
    params = safetensors_param_count(folder)
    return spec_from_config(cfg, name=name or folder.name or cfg_path.stem, where=str(cfg_path),
                            params_total=params, origin=origin, hf_repo=hf_repo)
