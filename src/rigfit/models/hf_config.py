"""Hugging Face ``config.json`` (and safetensors headers) -> ModelSpec.

Keys follow transformers' configuration classes (LlamaConfig, Qwen2Config, Qwen3MoeConfig, Gemma3Config
with ``text_config``, DeepseekV3Config, GptOssConfig, Llama4Config).  ``head_dim`` is taken from the
config when present, never recomputed as hidden/heads.  Exact parameter counts come from the
safetensors headers via ``huggingface_hub.get_local_safetensors_metadata``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import BadModelFile
from ..vocab import LayerKind
from .spec import ModelSpec, swa_layer_types

ARCH_BY_CLASS = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "MixtralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3", "Qwen3MoeForCausalLM": "qwen3moe",
    "Gemma2ForCausalLM": "gemma2", "Gemma3ForCausalLM": "gemma3", "Gemma3ForConditionalGeneration": "gemma3",
    "Phi3ForCausalLM": "phi3", "DeepseekV3ForCausalLM": "deepseek2", "DeepseekV2ForCausalLM": "deepseek2",
    "GptOssForCausalLM": "gpt-oss", "Llama4ForConditionalGeneration": "llama4", "Llama4ForCausalLM": "llama4",
    "Mistral3ForConditionalGeneration": "llama", "Qwen3NextForCausalLM": "qwen3next",
}
_SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2, "llama4": 4}


def _int(cfg: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    v = cfg.get(key, default)
    if v is None:
        raise BadModelFile(f"{where}: missing {key}")
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise BadModelFile(f"{where}: {key} must be a non-negative integer, got {v!r}")
    return v


def spec_from_config(cfg: Any, *, name: str, where: str, params_total: int | None = None,
                     origin: str = "config.json", hf_repo: str = "") -> ModelSpec:
    if not isinstance(cfg, dict):
        raise BadModelFile(f"{where}: expected a JSON object")
    archs = cfg.get("architectures") or []
    cls = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else ""
    text = cfg.get("text_config")
    c = {**cfg, **text} if isinstance(text, dict) else cfg
    arch = ARCH_BY_CLASS.get(cls) or str(c.get("model_type") or cfg.get("model_type") or "")
    if not arch:
        raise BadModelFile(f"{where}: no architectures or model_type")
    arch = {"mistral": "llama", "mixtral": "llama", "deepseek_v3": "deepseek2", "gpt_oss": "gpt-oss",
            "gemma3_text": "gemma3", "qwen3_moe": "qwen3moe", "llama4_text": "llama4"}.get(arch, arch)
    n_layers = _int(c, "num_hidden_layers", where)
    hidden = _int(c, "hidden_size", where)
    heads = _int(c, "num_attention_heads", where)
    if n_layers == 0 or hidden == 0 or heads == 0:
        raise BadModelFile(f"{where}: num_hidden_layers, hidden_size and num_attention_heads must be positive")
    kv = _int(c, "num_key_value_heads", where, heads) or heads
    head_dim = _int(c, "head_dim", where, hidden // heads) if c.get("head_dim") is not None else hidden // heads
    vocab = _int(c, "vocab_size", where)
    n_experts = int(c.get("num_experts") or c.get("num_local_experts") or c.get("n_routed_experts") or 0)
    ff = _int(c, "intermediate_size", where, 0)
    expert_ff = int(c.get("moe_intermediate_size") or (ff if n_experts else 0))
    if arch == "llama4":
        ff = int(c.get("intermediate_size_mlp") or ff)
        expert_ff = int(c.get("intermediate_size") or expert_ff)
    if not ff and not expert_ff:
        raise BadModelFile(f"{where}: missing intermediate_size")
    layer_types: tuple[LayerKind, ...] = ()
    window = c.get("sliding_window") if c.get("use_sliding_window", True) else None
    lt = c.get("layer_types")
    if isinstance(lt, list) and len(lt) == n_layers:
        kinds = {"sliding_attention": LayerKind.SLIDING, "full_attention": LayerKind.FULL,
                 "linear_attention": LayerKind.RECURRENT, "chunked_attention": LayerKind.SLIDING}
        layer_types = tuple(kinds.get(str(x), LayerKind.FULL) for x in lt)
    elif isinstance(window, int) and window > 0 and arch in _SWA_PATTERN:
        pattern = c.get("sliding_window_pattern") or _SWA_PATTERN[arch]
        layer_types = swa_layer_types(n_layers, int(pattern))
    if arch == "llama4" and c.get("attention_chunk_size"):
        window = c["attention_chunk_size"]
        layer_types = layer_types or swa_layer_types(n_layers, 4)
    if LayerKind.SLIDING not in layer_types:
        window = None
    tied_default = arch in ("gemma2", "gemma3")
    tied = c.get("tie_word_embeddings", cfg.get("tie_word_embeddings", tied_default))
    shared = int(c.get("n_shared_experts") or (1 if c.get("shared_expert_intermediate_size") else 0))
    dtype = str(c.get("torch_dtype") or c.get("dtype") or cfg.get("torch_dtype") or "bfloat16")
    return ModelSpec(
        name=name, arch=arch, n_layers=n_layers, hidden_size=hidden, n_heads=heads, n_kv_heads=kv,
        head_dim=head_dim, ffn_size=ff or expert_ff, vocab_size=vocab,
        max_context=int(c.get("max_position_embeddings") or 4096), tied_embeddings=bool(tied),
        attn_bias=bool(c.get("attention_bias", arch == "qwen2")), qk_norm=arch in ("qwen3", "qwen3moe", "gemma3"),
        sliding_window=int(window or 0), layer_types=layer_types,
        n_experts=n_experts, n_experts_active=int(c.get("num_experts_per_tok") or 0) if n_experts else 0,
        expert_ffn_size=expert_ff if n_experts else 0, n_shared_experts=shared,
        shared_expert_ffn_size=int(c.get("shared_expert_intermediate_size") or 0),
        n_dense_layers=int(c.get("first_k_dense_replace") or 0),
        q_lora_rank=int(c.get("q_lora_rank") or 0), kv_lora_rank=int(c.get("kv_lora_rank") or 0),
        qk_rope_head_dim=int(c.get("qk_rope_head_dim") or 0), qk_nope_head_dim=int(c.get("qk_nope_head_dim") or 0),
        v_head_dim=int(c.get("v_head_dim") or 0), params_total=params_total,
        dtype={"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(dtype, "bf16"),
        hf_repo=hf_repo, source=where, origin=origin,
    )


def read_config(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadModelFile(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadModelFile(f"{path}: not valid JSON ({exc})") from None


def safetensors_param_count(folder: Path) -> int | None:
    """Exact parameter count from the safetensors headers in ``folder`` (None when there are none)."""
    if not any(folder.glob("*.safetensors")):
        return None
    from huggingface_hub import get_local_safetensors_metadata

    try:
        meta = get_local_safetensors_metadata(folder)
    except Exception as exc:  # the hub raises several types for corrupt headers
        raise BadModelFile(f"{folder}: cannot read safetensors headers ({exc})") from None
    return int(sum(meta.parameter_count.values()))


def load_config_model(path: Path, *, name: str | None = None, origin: str = "config.json",
                      hf_repo: str = "") -> ModelSpec:
    folder = path if path.is_dir() else path.parent
    cfg_path = path / "config.json" if path.is_dir() else path
    cfg = read_config(cfg_path)
    params = safetensors_param_count(folder)
    return spec_from_config(cfg, name=name or folder.name or cfg_path.stem, where=str(cfg_path),
                            params_total=params, origin=origin, hf_repo=hf_repo)
