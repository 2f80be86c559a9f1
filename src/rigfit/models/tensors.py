"""The tensor inventory of a model, named and shaped as in llama.cpp's GGUF files.

Shapes are in ggml order: ``shape[0]`` is the row length (the input dimension of a matmul), then rows,
then experts.  Names follow ``gguf-py/gguf/constants.py`` TENSOR_NAMES; which tensors exist per
architecture follows ``src/llama-model.cpp`` (ggml-org/llama.cpp, 2026).  A GGUF file gives the exact
list; for catalog and config.json models this module derives it from the architecture facts.
"""

from __future__ import annotations

import functools

from ..vocab import LayerKind
from .spec import ModelSpec
from .tensor import Tensor


@functools.lru_cache(maxsize=64)  # pure in the (frozen) spec; every quant a search tries starts from it
def build_tensors(spec: ModelSpec) -> tuple[Tensor, ...]:
    """Derive the GGUF tensor list (names and shapes) of ``spec``'s text model."""
    e = spec.hidden_size
    out: list[Tensor] = [Tensor(name="token_embd.weight", shape=(e, spec.embedding_rows))]
    for il in range(spec.n_layers):
        out.extend(_layer_tensors(spec, il))
    out.append(Tensor(name="output_norm.weight", shape=(e,)))
    if not spec.tied_embeddings:
        out.append(Tensor(name="output.weight", shape=(e, spec.embedding_rows)))
    return tuple(out)


def _t(il: int, name: str, *shape: int) -> Tensor:
    return Tensor(name=f"blk.{il}.{name}", shape=tuple(shape), layer=il)


def _layer_tensors(spec: ModelSpec, il: int) -> list[Tensor]:
    e, hd = spec.hidden_size, spec.head_dim
    nh, nkv = spec.n_heads, spec.kv_heads(il)
    arch = spec.arch
    ts = [_t(il, "attn_norm.weight", e)]
    kind = spec.layer_kind(il)
    if kind == LayerKind.RECURRENT:
        # Linear-attention / SSM block: in + out projections of comparable size (approximation).
        ts += [_t(il, "ssm_in.weight", e, 2 * nh * hd), _t(il, "ssm_out.weight", nh * hd, e)]
    elif spec.uses_mla:
        qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        if spec.q_lora_rank:
            ts += [_t(il, "attn_q_a.weight", e, spec.q_lora_rank),
                   _t(il, "attn_q_a_norm.weight", spec.q_lora_rank),
                   _t(il, "attn_q_b.weight", spec.q_lora_rank, nh * qk)]
        else:
            ts.append(_t(il, "attn_q.weight", e, nh * qk))
        ts += [_t(il, "attn_kv_a_mqa.weight", e, spec.kv_lora_rank + spec.qk_rope_head_dim),
               _t(il, "attn_kv_a_norm.weight", spec.kv_lora_rank),
               _t(il, "attn_kv_b.weight", spec.kv_lora_rank, nh * (spec.qk_nope_head_dim + spec.v_head_dim)),
               _t(il, "attn_output.weight", nh * spec.v_head_dim, e)]
    elif arch == "phi3":
        ts += [_t(il, "attn_qkv.weight", e, nh * hd + 2 * nkv * hd), _t(il, "attn_output.weight", nh * hd, e)]
    else:
        ts += [_t(il, "attn_q.weight", e, nh * hd), _t(il, "attn_k.weight", e, nkv * hd),
               _t(il, "attn_v.weight", e, nkv * hd), _t(il, "attn_output.weight", nh * hd, e)]
        if spec.attn_bias:
            ts += [_t(il, "attn_q.bias", nh * hd), _t(il, "attn_k.bias", nkv * hd), _t(il, "attn_v.bias", nkv * hd)]
            if arch == "gpt-oss":
                ts.append(_t(il, "attn_output.bias", e))
        if spec.qk_norm:
            ts += [_t(il, "attn_q_norm.weight", hd), _t(il, "attn_k_norm.weight", hd)]
        if arch == "gpt-oss":
            ts.append(_t(il, "attn_sinks.weight", nh))
    if arch in ("gemma2", "gemma3"):
        ts += [_t(il, "post_attention_norm.weight", e), _t(il, "post_ffw_norm.weight", e)]
    ts.append(_t(il, "ffn_norm.weight", e))
    if spec.is_moe_layer(il):
        ne, ff = spec.n_experts, spec.expert_ffn_size or spec.ffn_size
        ts += [_t(il, "ffn_gate_inp.weight", e, ne),
               _t(il, "ffn_gate_exps.weight", e, ff, ne), _t(il, "ffn_up_exps.weight", e, ff, ne),
               _t(il, "ffn_down_exps.weight", ff, e, ne)]
        if arch == "gpt-oss":
            ts += [_t(il, "ffn_gate_inp.bias", ne), _t(il, "ffn_gate_exps.bias", ff, ne),
                   _t(il, "ffn_up_exps.bias", ff, ne), _t(il, "ffn_down_exps.bias", e, ne)]
        if arch == "deepseek2":
            ts.append(_t(il, "exp_probs_b.bias", ne))
        if spec.n_shared_experts:
            sf = (spec.shared_expert_ffn_size or ff) * spec.n_shared_experts
            ts += [_t(il, "ffn_gate_shexp.weight", e, sf), _t(il, "ffn_up_shexp.weight", e, sf),
                   _t(il, "ffn_down_shexp.weight", sf, e)]
    elif arch == "phi3":
        ts += [_t(il, "ffn_up.weight", e, 2 * spec.ffn_size), _t(il, "ffn_down.weight", spec.ffn_size, e)]
    else:
        ff = spec.ffn_size
        ts += [_t(il, "ffn_gate.weight", e, ff), _t(il, "ffn_up.weight", e, ff), _t(il, "ffn_down.weight", ff, e)]
    return ts


def count_params(tensors: tuple[Tensor, ...]) -> int:
    return sum(t.n_elements for t in tensors)

