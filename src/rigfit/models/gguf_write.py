"""Write a *sparse* GGUF for a ModelSpec with ``gguf.GGUFWriter``: real header, tensor table and
tokenizer, zero-filled data made by truncating the file (holes cost no disk).  llama.cpp loads such a
file, so its real allocator can be asked what it would use (tests, ``benchmarks/llamacpp_probe.py``,
or a run on a GPU machine: "random-weight models" without downloading weights).

Key names follow gguf-py ``Keys``; the tokenizer is a minimal SentencePiece-style vocabulary
(256 byte tokens + fillers), which llama.cpp accepts for any architecture.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..quant import GGML_TYPES, GGUF_FILE_TYPES, GGUFFileType, ggml_types_for
from ..vocab import LayerKind
from .spec import ModelSpec
from .tensor import Tensor
from .tensors import build_tensors


def planned_types(spec: ModelSpec, ft: GGUFFileType, tensors: tuple[Tensor, ...] | None = None) -> list[str]:
    """The ggml type llama-quantize would give each tensor of ``spec`` for file type ``ft``."""
    from ..quant import mixture_context

    return ggml_types_for(tensors or build_tensors(spec), ft, mixture_context(spec))


def write_sparse_gguf(path: str | os.PathLike[str], spec: ModelSpec, file_type: str = "Q4_K_M", *,
                      tokenizer: bool = True) -> int:
    """Write ``path``; returns the tensor data bytes.  Requires the ``gguf`` package (and numpy)."""
    import gguf
    import numpy as np

    ft = GGUF_FILE_TYPES[file_type.upper()]
    tensors = build_tensors(spec)
    types = planned_types(spec, ft, tensors)
    arch = spec.arch
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(spec.name)
    w.add_file_type(ft.ftype_id)
    u32 = w.add_uint32
    u32(f"{arch}.context_length", spec.max_context)
    u32(f"{arch}.embedding_length", spec.hidden_size)
    u32(f"{arch}.block_count", spec.n_layers)
    u32(f"{arch}.feed_forward_length", spec.ffn_size)
    u32(f"{arch}.attention.head_count", spec.n_heads)
    u32(f"{arch}.attention.head_count_kv", spec.n_kv_heads)
    u32(f"{arch}.attention.key_length", spec.head_dim)
    u32(f"{arch}.attention.value_length", spec.head_dim)
    u32(f"{arch}.rope.dimension_count", spec.qk_rope_head_dim or spec.head_dim)
    u32(f"{arch}.vocab_size", spec.embedding_rows)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32(f"{arch}.attention.layer_norm_epsilon", 1e-5)  # LayerNorm archs (Nemotron-H) read this one
    w.add_float32(f"{arch}.rope.freq_base", 10000.0)
    if spec.sliding_window:
        u32(f"{arch}.attention.sliding_window", spec.sliding_window)
    _hybrid_keys(w, spec)
    if spec.is_moe:
        u32(f"{arch}.expert_count", spec.n_experts)
        u32(f"{arch}.expert_used_count", spec.n_experts_active)
        u32(f"{arch}.expert_feed_forward_length", spec.expert_ffn_size or spec.ffn_size)
        if spec.n_shared_experts:
            u32(f"{arch}.expert_shared_count", spec.n_shared_experts)
        if spec.shared_expert_ffn_size:
            u32(f"{arch}.expert_shared_feed_forward_length", spec.shared_expert_ffn_size)
        if spec.n_dense_layers:
            u32(f"{arch}.leading_dense_block_count", spec.n_dense_layers)
    if tokenizer:
        n = spec.embedding_rows
        w.add_tokenizer_model("llama")
        toks = [f"<0x{i:02X}>" for i in range(256)] + [f"t{i}" for i in range(256, n)]
        w.add_token_list(toks)
        w.add_token_scores([0.0] * n)
        w.add_token_types([6] * 256 + [1] * (n - 256))
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
    padded = data = 0
    align = 32
    for t, tname in zip(tensors, types, strict=True):
        nbytes = GGML_TYPES[tname].row_bytes(t.shape[0]) * (t.n_elements // t.shape[0])
        w.add_tensor_info(_RENAMED.get(arch, {}).get(t.name, t.name), tuple(reversed(t.shape)), np.dtype(np.float32),
                          nbytes, raw_dtype=gguf.GGMLQuantizationType[tname])
        padded += -(-nbytes // align) * align
        data += nbytes
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    size = Path(path).stat().st_size
    data_start = -(-size // align) * align
    os.truncate(path, data_start + padded)
    return data


# names llama.cpp gives a tensor that other architectures name otherwise (same shape and bytes)
_RENAMED = {"lfm2": {"output_norm.weight": "token_embd_norm.weight"},
            "lfm2moe": {"output_norm.weight": "token_embd_norm.weight"}}


def _hybrid_keys(w: Any, spec: ModelSpec) -> None:
    """The keys llama.cpp's load_hparams reads for recurrent and hybrid architectures (gguf-py Keys.SSM,
    Keys.ShortConv; per-layer arrays where the layer kind is told by a zero)."""
    arch = spec.arch
    add_u32 = w.add_uint32
    add_array = w.add_array
    if spec.ssm_d_conv:
        add_u32(f"{arch}.ssm.conv_kernel", spec.ssm_d_conv)
        add_u32(f"{arch}.ssm.inner_size", spec.ssm_d_inner)
        add_u32(f"{arch}.ssm.state_size", spec.ssm_d_state)
        add_u32(f"{arch}.ssm.group_count", spec.ssm_n_group)
        add_u32(f"{arch}.ssm.time_step_rank", spec.ssm_dt_rank)
    if spec.shortconv_l_cache:
        add_u32(f"{arch}.shortconv.l_cache", spec.shortconv_l_cache)
    kinds = [spec.layer_kind(il) for il in range(spec.n_layers)]
    if arch in ("qwen3next", "qwen35", "qwen35moe") and LayerKind.FULL in kinds:
        add_u32(f"{arch}.full_attention_interval", kinds.index(LayerKind.FULL) + 1)
    if arch in ("qwen35", "qwen35moe"):
        # M-RoPE sections of the text model (Qwen3.5 config rope_parameters.mrope_section): rotation only
        add_array(f"{arch}.rope.dimension_sections", [11, 11, 10, 0])
    if arch in ("nemotron_h", "granitehybrid", "lfm2", "lfm2moe"):
        # which layers attend and which have an FFN, told per layer by zeros (llama.cpp recurrent_layer_arr)
        add_array(f"{arch}.attention.head_count_kv",
                  [spec.kv_heads(il) if k in (LayerKind.FULL, LayerKind.SLIDING) else 0 for il, k in enumerate(kinds)])
        if arch == "nemotron_h":
            add_array(f"{arch}.feed_forward_length",
                      [spec.ffn_size_of(il) if spec.has_ffn(il) else 0 for il in range(spec.n_layers)])
