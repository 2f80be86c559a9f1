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
    keys: dict[str, int | float | list[int] | list[bool]] = {
        "context_length": spec.max_context, "embedding_length": spec.hidden_size, "block_count": spec.n_layers,
        "feed_forward_length": spec.ffn_size, "attention.head_count": spec.n_heads,
        "attention.head_count_kv": spec.n_kv_heads, "attention.key_length": spec.head_dim,
        "attention.value_length": spec.head_dim, "rope.dimension_count": spec.qk_rope_head_dim or spec.head_dim,
        "vocab_size": spec.embedding_rows, "attention.layer_norm_rms_epsilon": 1e-6,
        "attention.layer_norm_epsilon": 1e-5,  # LayerNorm archs (Nemotron-H) read this one
        "rope.freq_base": 10000.0,
    }
    if spec.sliding_window:
        keys["attention.sliding_window"] = spec.sliding_window
    keys |= _arch_keys(spec)
    for k, v in keys.items():
        if isinstance(v, list):
            w.add_array(f"{arch}.{k}", v)
        elif isinstance(v, float):
            w.add_float32(f"{arch}.{k}", v)
        else:
            w.add_uint32(f"{arch}.{k}", v)
    u32 = w.add_uint32
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
        w.add_tensor_info(_gguf_name(arch, t.name), tuple(reversed(t.shape)), np.dtype(np.float32),
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


# names llama.cpp gives a tensor that other architectures name otherwise (same shape and bytes); per-block
# names without their "blk.N." prefix
_RENAMED = {"lfm2": {"output_norm.weight": "token_embd_norm.weight"},
            "lfm2moe": {"output_norm.weight": "token_embd_norm.weight"},
            # llama.cpp's Falcon-H1 loader asks for the pre-FFN norm without a ".weight" suffix
            "falcon-h1": {"ffn_norm.weight": "ffn_norm"},
            "gemma3n": {"per_layer_inp_gate.weight": "inp_gate.weight", "per_layer_proj.weight": "proj.weight",
                        "per_layer_post_norm.weight": "post_norm.weight"},
            "gemma4": {"per_layer_inp_gate.weight": "inp_gate.weight", "per_layer_proj.weight": "proj.weight",
                       "per_layer_post_norm.weight": "post_norm.weight",
                       # the 26B-A4B's dense MLP beside its experts (rigfit sizes it as a shared expert)
                       "ffn_up_shexp.weight": "ffn_up.weight", "ffn_down_shexp.weight": "ffn_down.weight",
                       "ffn_gate_shexp.weight": "ffn_gate.weight"}}


def _gguf_name(arch: str, name: str) -> str:
    names = _RENAMED.get(arch, {})
    if name.startswith("blk."):
        blk, il, local = name.split(".", 2)
        return f"{blk}.{il}.{names.get(local, local)}"
    return names.get(name, name)


def _arch_keys(spec: ModelSpec) -> dict[str, int | float | list[int] | list[bool]]:
    """The keys llama.cpp's load_hparams reads for recurrent, hybrid and per-layer architectures (gguf-py
    Keys.SSM, Keys.ShortConv, Gemma 4's per-layer keys; arrays where layers differ, a zero telling a layer
    without attention or FFN)."""
    arch = spec.arch
    out: dict[str, int | float | list[int] | list[bool]] = {}
    if spec.ssm_d_conv:
        out |= {"ssm.conv_kernel": spec.ssm_d_conv, "ssm.inner_size": spec.ssm_d_inner,
                "ssm.state_size": spec.ssm_d_state, "ssm.group_count": spec.ssm_n_group,
                "ssm.time_step_rank": spec.ssm_dt_rank}
    if spec.shortconv_l_cache:
        out["shortconv.l_cache"] = spec.shortconv_l_cache
    kinds = [spec.layer_kind(il) for il in range(spec.n_layers)]
    attends = (LayerKind.FULL, LayerKind.SLIDING)
    if arch in ("qwen3next", "qwen35", "qwen35moe") and LayerKind.FULL in kinds:
        out["full_attention_interval"] = kinds.index(LayerKind.FULL) + 1
    if arch in ("qwen35", "qwen35moe"):
        # M-RoPE sections of the text model (Qwen3.5 config rope_parameters.mrope_section): rotation only
        out["rope.dimension_sections"] = [11, 11, 10, 0]
    if arch in ("nemotron_h", "granitehybrid", "lfm2", "lfm2moe", "gemma4", "jamba"):
        # which layers attend, and with how many KV heads (llama.cpp recurrent_layer_arr / per-layer n_head_kv)
        out["attention.head_count_kv"] = [spec.kv_heads(il) if k in attends else 0 for il, k in enumerate(kinds)]
    if arch in ("nemotron_h", "gemma4"):
        out["feed_forward_length"] = [spec.ffn_size_of(il) if spec.has_ffn(il) else 0 for il in range(spec.n_layers)]
    if arch == "gemma4":
        full = next((spec.head_dim_of(il) for il, k in enumerate(kinds) if k == LayerKind.FULL), spec.head_dim)
        swa = next((spec.head_dim_of(il) for il, k in enumerate(kinds) if k == LayerKind.SLIDING), spec.head_dim)
        out |= {"attention.sliding_window_pattern": [k == LayerKind.SLIDING for k in kinds],
                "attention.key_length": full, "attention.value_length": full,
                "attention.key_length_swa": swa, "attention.value_length_swa": swa,
                "embedding_length_per_layer_input": spec.per_layer_input_size,
                "attention.shared_kv_layers": spec.n_layers - spec.kv_shared_from if spec.kv_shared_from else 0}
    return out
