"""The vision tower a multimodal checkpoint carries (llama.cpp loads it from a separate ``--mmproj`` file),
counted from the config's ``vision_config``.

A ViT: ``depth`` blocks of attention (4 h^2) and an MLP (2 h x ffn, or 3 with a gate: SiLU MLPs and Gemma 4's
tower), a patch embedding (channels x patch^2 x temporal patches x h), learned positions where the config
has them, and the projector into the language model: Qwen's patch merger ((h m^2)^2 + h m^2 x out, one more
per DeepStack level), Llama 4's pixel-shuffle adapter, or a linear map h -> text hidden size.  Checked
against published parameter counts (total minus text model): Qwen3.5-27B 460.7M, Qwen3-VL-8B 576.4M,
Qwen2.5-VL-7B 676.6M, Gemma 4 31B 569.6M, Gemma 3 4B/27B 419.8M/423.1M, Llama 4 Scout 871.9M,
GLM-4.6V 858.7M, GLM-4.6V-Flash 892.5M (tests/test_arch.py).
"""

from __future__ import annotations

from typing import Any


def _n(v: dict[str, Any], *keys: str) -> int:
    for k in keys:
        x = v.get(k)
        if isinstance(x, int) and not isinstance(x, bool) and 0 < x < 1 << 20:
            return x
    return 0


def vision_params(cfg: dict[str, Any], text_hidden: int) -> int:
    """Parameters of the vision tower and projector; 0 when the config has none (or not enough facts)."""
    v = cfg.get("vision_config")
    if not isinstance(v, dict):
        return 0
    depth, h = _n(v, "depth", "num_hidden_layers"), _n(v, "hidden_size")
    ffn = _n(v, "intermediate_size")
    if not (depth and h and ffn):
        return 0
    gated = str(v.get("hidden_act", "")) == "silu" or str(v.get("model_type", "")) == "gemma4_vision"
    blocks = depth * (4 * h * h + (3 if gated else 2) * h * ffn)
    p = _n(v, "patch_size", "spatial_patch_size")
    patch = _n(v, "in_channels", "in_chans", "num_channels") or 3
    patch_embed = patch * p * p * (_n(v, "temporal_patch_size") or 1) * h
    pos = (_n(v, "num_position_embeddings", "position_embedding_size") or
           ((_n(v, "image_size") // p) ** 2 if p and _n(v, "image_size") and "siglip" in str(v.get("model_type"))
            else 0)) * h
    m = _n(v, "spatial_merge_size")
    out = _n(v, "out_hidden_size") or text_hidden
    if str(v.get("model_type", "")) == "llama4_vision_model":
        # Llama 4: a class token and positions for (image/patch)^2 + 1 tokens; a pixel-shuffle adapter (the
        # 2x2-shuffled features, h / ratio^2 wide, through two linear layers), then one linear map to the
        # text width (transformers models/llama4/modeling_llama4.py, Llama4VisionPixelShuffleMLP)
        ratio = v.get("pixel_shuffle_ratio")
        shuffled = int(h / ratio**2) if isinstance(ratio, float) and 0 < ratio <= 1 else h
        p_in, p_out = _n(v, "projector_input_dim"), _n(v, "projector_output_dim")
        side = _n(v, "image_size") // p if p else 0
        pos = (side * side + 2) * h  # positions (+1 for the class token) and the class embedding
        return blocks + patch_embed + pos + shuffled * p_in + p_in * p_out + \
            (_n(v, "vision_output_dim") or p_out) * text_hidden
    if str(v.get("model_type", "")).startswith("glm4v"):
        # GLM-4.1V / 4.5V / 4.6V: the blocks' SwiGLU MLP is out_hidden_size wide; a 2x2 convolution merges
        # patches into the text width, then a linear map and a SwiGLU of intermediate_size (transformers
        # models/glm4v/modeling_glm4v.py Glm4vVisionModel: downsample, Glm4vVisionPatchMerger)
        blocks = depth * (4 * h * h + 3 * h * out)
        pos = (_n(v, "image_size") // p) ** 2 * h if p else 0
        return blocks + patch_embed + pos + h * out * m * m + out * out + 3 * out * ffn
    if m:  # Qwen's patch merger, once per DeepStack level too
        levels = 1 + len(v.get("deepstack_visual_indexes") or [])
        proj = levels * ((h * m * m) ** 2 + h * m * m * out)
    else:
        proj = h * out
    return blocks + patch_embed + pos + proj
