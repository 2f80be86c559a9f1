"""The tensor inventory of a model, named and shaped as in llama.cpp's GGUF files.

Shapes are in ggml order: ``shape[0]`` is the row length (the input dimension of a matmul), then rows,
then experts.  Names follow ``gguf-py/gguf/constants.py`` TENSOR_NAMES; which tensors exist per
architecture follows ``src/llama-model.cpp`` (ggml-org/llama.cpp, 2026).  A GGUF file gives the exact
list; for catalog and config.json models this module derives it from the architecture facts.
"""

from __future__ import annotations

import functools

from ..errors import BadModelFile
from ..vocab import LayerKind
from .arch import Arch, Attention, Mixer, get_arch
from .spec import ModelSpec
from .tensor import Tensor

# Gemma 3n's AltUp stream count and LAuReL rank: fixed in llama.cpp (src/llama-hparams.h n_altup = 4,
# laurel_rank = 64), the values every Gemma 3n config has (altup_num_inputs, laurel_rank)
ALTUP_STREAMS = 4
LAUREL_RANK = 64


def arch_of(spec: ModelSpec) -> Arch:
    return get_arch(spec.arch)


def build_tensors(spec: ModelSpec) -> tuple[Tensor, ...]:
    """Derive the GGUF tensor list (names and shapes) of ``spec``'s text model."""
    return _build_tensors(spec.structure)


@functools.lru_cache(maxsize=512)  # pure in the (frozen) structure; every quant a search tries starts from it
def _build_tensors(spec: ModelSpec) -> tuple[Tensor, ...]:
    e = spec.hidden_size
    arch = arch_of(spec)
    out: list[Tensor] = [Tensor(name="token_embd.weight", shape=(e, spec.embedding_rows))]
    if spec.per_layer_input_size:  # per-layer embeddings: a second token table and its projection
        ple = spec.n_layers * spec.per_layer_input_size
        out += [Tensor(name="per_layer_token_embd.weight", shape=(ple, spec.per_layer_vocab_size or spec.vocab_size)),
                Tensor(name="per_layer_model_proj.weight", shape=(e, ple)),
                Tensor(name="per_layer_proj_norm.weight", shape=(spec.per_layer_input_size,))]
    if arch.altup:  # the extra AltUp streams' projections in and out (n_altup - 1 of each)
        out += [Tensor(name="altup_proj.weight", shape=(e, e, ALTUP_STREAMS - 1)),
                Tensor(name="altup_unembd_proj.weight", shape=(e, e, ALTUP_STREAMS - 1))]
    if spec.arch == "gemma4" and LayerKind.FULL in spec.layer_types:
        # proportional RoPE frequencies of the full-attention layers (llama.cpp src/models/gemma4.cpp)
        full = next(spec.head_dim_of(il) for il in range(spec.n_layers) if spec.layer_kind(il) == LayerKind.FULL)
        out.append(Tensor(name="rope_freqs.weight", shape=(full // 2,)))
    if arch.learned_positions:
        out.append(Tensor(name="position_embd.weight", shape=(e, spec.max_context)))
    for il in range(spec.n_layers):
        out.extend(_layer_tensors(spec, il))
    out.append(Tensor(name="output_norm.weight", shape=(e,)))
    if arch.biases:
        out.append(Tensor(name="output_norm.bias", shape=(e,)))
    if not spec.tied_embeddings:
        out.append(Tensor(name="output.weight", shape=(e, spec.embedding_rows)))
    return tuple(out)


def _t(il: int, name: str, *shape: int) -> Tensor:
    return Tensor(name=f"blk.{il}.{name}", shape=tuple(shape), layer=il)


def _layer_tensors(spec: ModelSpec, il: int) -> list[Tensor]:
    arch = get_arch(spec.arch)
    e = spec.hidden_size
    ts = [_t(il, "attn_norm.weight", e)] if arch.pre_norms else []
    if arch.biases:
        ts.append(_t(il, "attn_norm.bias", e))
    kind = spec.layer_kind(il)
    if kind == LayerKind.RECURRENT:
        ts += _mixer_tensors(spec, arch.mixer, il)
    elif kind != LayerKind.NONE:
        ts += _attention_tensors(spec, arch, il)
        if arch.parallel_mixer:
            ts += _mixer_tensors(spec, arch.mixer, il)
    if arch.altup:  # AltUp's per-layer router and coefficients, LAuReL's low-rank residual
        n, r = ALTUP_STREAMS, LAUREL_RANK
        ts += [_t(il, "altup_correct_coef.weight", n, n), _t(il, "altup_correct_scale.weight", e),
               _t(il, "altup_predict_coef.weight", n, n * n), _t(il, "altup_router.weight", e, n),
               _t(il, "altup_router_norm.weight", e), _t(il, "laurel_l.weight", e, r), _t(il, "laurel_r.weight", r, e),
               _t(il, "laurel_post_norm.weight", e)]
    if arch.post_norms:
        ts += [_t(il, "post_attention_norm.weight", e), _t(il, "post_ffw_norm.weight", e)]
    if spec.has_ffn(il):
        if arch.ffn_norm and arch.pre_norms:
            ts.append(_t(il, f"{arch.ffn_norm_name}.weight", e))
            if arch.biases:
                ts.append(_t(il, f"{arch.ffn_norm_name}.bias", e))
        ts += _ffn_tensors(spec, arch, il)
    if spec.per_layer_input_size:
        p = spec.per_layer_input_size
        ts += [_t(il, "per_layer_inp_gate.weight", e, p), _t(il, "per_layer_proj.weight", p, e),
               _t(il, "per_layer_post_norm.weight", e)]
    return ts


def _attention_tensors(spec: ModelSpec, arch: Arch, il: int) -> list[Tensor]:
    e, hd = spec.hidden_size, spec.head_dim_of(il)
    nh, nkv = spec.heads(il), spec.kv_heads(il)
    if arch.attention == Attention.MLA:
        qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        ts = [_t(il, "attn_q_a.weight", e, spec.q_lora_rank), _t(il, "attn_q_a_norm.weight", spec.q_lora_rank),
              _t(il, "attn_q_b.weight", spec.q_lora_rank, nh * qk)] if spec.q_lora_rank else \
            [_t(il, "attn_q.weight", e, nh * qk)]
        if spec.indexer_head_dim:
            ih, ihd = spec.indexer_heads, spec.indexer_head_dim
            ts += [_t(il, "indexer.attn_q_b.weight", spec.q_lora_rank or e, ih * ihd),
                   _t(il, "indexer.attn_k.weight", e, ihd), _t(il, "indexer.k_norm.weight", ihd),
                   _t(il, "indexer.k_norm.bias", ihd), _t(il, "indexer.proj.weight", e, ih)]
        return [*ts, _t(il, "attn_kv_a_mqa.weight", e, spec.kv_lora_rank + spec.qk_rope_head_dim),
                     _t(il, "attn_kv_a_norm.weight", spec.kv_lora_rank),
                     _t(il, "attn_kv_b.weight", spec.kv_lora_rank, nh * (spec.qk_nope_head_dim + spec.v_head_dim)),
                     _t(il, "attn_output.weight", nh * spec.v_head_dim, e)]
    if arch.attention == Attention.COMPRESSED:
        q, r = spec.q_lora_rank, spec.compress_ratios[il] if spec.compress_ratios else 0
        og = max(spec.o_groups, 1)
        ts = [_t(il, "attn_q_a.weight", e, q), _t(il, "attn_q_a_norm.weight", q), _t(il, "attn_q_b.weight", q, nh * hd),
              _t(il, "attn_kv.weight", e, hd), _t(il, "attn_kv_norm.weight", hd),
              _t(il, "attn_output_a.weight", nh * hd // og, spec.o_lora_rank, og),
              _t(il, "attn_output_b.weight", og * spec.o_lora_rank, e), _t(il, "attn_sinks.weight", nh)]
        if r:  # the compressor's gated pooling of the window into one entry per r tokens
            ts += [_t(il, "attn_compress.weight", e, 2 * hd), _t(il, "attn_compress_norm.weight", hd)]
        if r == 4 and spec.indexer_head_dim:  # compressed-sparse layers pick their entries with an indexer
            ih, ihd = spec.indexer_heads, spec.indexer_head_dim
            ts += [_t(il, "indexer.attn_q_b.weight", q, ih * ihd), _t(il, "indexer.attn_k.weight", e, 2 * ihd),
                   _t(il, "indexer.k_norm.weight", ihd), _t(il, "indexer.proj.weight", e, ih)]
        return ts
    vd = spec.v_head_dim or hd  # value heads may be narrower than key heads (MiMo-V2)
    if arch.attention == Attention.FUSED_QKV:
        ts = [_t(il, "attn_qkv.weight", e, nh * hd + 2 * nkv * hd), _t(il, "attn_output.weight", nh * hd, e)]
    else:
        q_rows = 2 * nh * hd if arch.attention == Attention.GATED_Q else nh * hd  # query and its output gate
        ts = [_t(il, "attn_q.weight", e, q_rows), _t(il, "attn_k.weight", e, nkv * hd),
              _t(il, "attn_v.weight", e, nkv * vd), _t(il, "attn_output.weight", nh * vd, e)]
    if spec.k_eq_v and spec.layer_kind(il) == LayerKind.FULL and arch.attention != Attention.FUSED_QKV:
        del ts[2]  # V is the K projection
    if spec.attn_bias:
        if arch.attention == Attention.FUSED_QKV:
            ts.append(_t(il, "attn_qkv.bias", nh * hd + 2 * nkv * hd))
        else:
            ts += [_t(il, "attn_q.bias", nh * hd), _t(il, "attn_k.bias", nkv * hd), _t(il, "attn_v.bias", nkv * hd)]
        if arch.attn_out_bias:
            ts.append(_t(il, "attn_output.bias", e))
    if spec.qk_norm:
        full = arch.qk_norm_full
        ts += [_t(il, "attn_q_norm.weight", nh * hd if full else hd),
               _t(il, "attn_k_norm.weight", nkv * hd if full else hd)]
    if arch.attn_sinks and (not arch.sinks_sliding_only or spec.layer_kind(il) == LayerKind.SLIDING):
        ts.append(_t(il, "attn_sinks.weight", nh))
    if spec.attn_gate_dim:
        ts.append(_t(il, "attn_gate.weight", e, nh * spec.attn_gate_dim))
    return ts


def _mixer_tensors(spec: ModelSpec, mixer: Mixer | None, il: int) -> list[Tensor]:
    """The recurrent mixer's tensors (llama.cpp load_tensors for LLM_ARCH_QWEN3NEXT / QWEN35, MAMBA2 /
    NEMOTRON_H / GRANITE_HYBRID, LFM2)."""
    e = spec.hidden_size
    d_inner, d_state, ng, nh = spec.ssm_d_inner, spec.ssm_d_state, spec.ssm_n_group, spec.ssm_dt_rank
    if mixer == Mixer.SHORTCONV:
        return [_t(il, "shortconv.conv.weight", spec.shortconv_l_cache, e),
                _t(il, "shortconv.in_proj.weight", e, 3 * e), _t(il, "shortconv.out_proj.weight", e, e)]
    if mixer == Mixer.GATED_DELTANET:
        conv = 2 * ng * d_state + d_inner  # q, k (n_group key heads x d_state) and v (d_inner)
        # beta and alpha per value head: one fused tensor (Qwen3-Next) or two (Qwen3.5: src/models/qwen35.cpp)
        split = get_arch(spec.arch).split_beta_alpha
        ba = [_t(il, "ssm_beta.weight", e, nh), _t(il, "ssm_alpha.weight", e, nh)] if split \
            else [_t(il, "ssm_ba.weight", e, 2 * nh)]
        return [_t(il, "attn_qkv.weight", e, conv), _t(il, "attn_gate.weight", e, d_inner),
                *ba, _t(il, "ssm_conv1d.weight", spec.ssm_d_conv, conv),
                _t(il, "ssm_dt.bias", nh), _t(il, "ssm_a", nh), _t(il, "ssm_norm.weight", d_inner // max(nh, 1)),
                _t(il, "ssm_out.weight", d_inner, e)]
    if mixer == Mixer.KIMI_DELTA:  # llama.cpp load_tensors LLM_ARCH_KIMI_LINEAR (KDA layers: n_head_kv == 0)
        r = d_state  # the decay and output gates' low rank: one head's width
        return [*(_t(il, f"attn_{x}.weight", e, d_inner) for x in "qkv"),
                *(_t(il, f"ssm_conv1d_{x}.weight", spec.ssm_d_conv, 1, d_inner) for x in "qkv"),
                _t(il, "ssm_f_a.weight", e, r), _t(il, "ssm_f_b.weight", r, d_inner), _t(il, "ssm_beta.weight", e, nh),
                _t(il, "ssm_a", 1, nh), _t(il, "ssm_dt.bias", d_inner), _t(il, "ssm_g_a.weight", e, r),
                _t(il, "ssm_g_b.weight", r, d_inner), _t(il, "ssm_norm.weight", d_state),
                _t(il, "attn_output.weight", d_inner, e)]
    if mixer == Mixer.MAMBA1:  # llama.cpp load_tensors LLM_ARCH_JAMBA (Mamba layers: n_head_kv == 0)
        r = spec.ssm_dt_rank
        return [_t(il, "ssm_in.weight", e, 2 * d_inner), _t(il, "ssm_conv1d.weight", spec.ssm_d_conv, d_inner),
                _t(il, "ssm_conv1d.bias", d_inner), _t(il, "ssm_x.weight", d_inner, r + 2 * d_state),
                _t(il, "ssm_dt_norm.weight", r), _t(il, "ssm_dt.weight", r, d_inner), _t(il, "ssm_dt.bias", d_inner),
                _t(il, "ssm_b_norm.weight", d_state), _t(il, "ssm_c_norm.weight", d_state),
                _t(il, "ssm_a", d_state, d_inner), _t(il, "ssm_d", d_inner), _t(il, "ssm_out.weight", d_inner, e)]
    if mixer == Mixer.MAMBA2:
        conv = d_inner + 2 * ng * d_state
        ts = [_t(il, "ssm_in.weight", e, 2 * d_inner + 2 * ng * d_state + nh),
              _t(il, "ssm_conv1d.weight", spec.ssm_d_conv, conv), _t(il, "ssm_conv1d.bias", conv),
              _t(il, "ssm_dt.bias", nh), _t(il, "ssm_a", 1, nh), _t(il, "ssm_d", 1, nh),
              _t(il, "ssm_norm.weight", d_inner // max(ng, 1), ng), _t(il, "ssm_out.weight", d_inner, e)]
        if not get_arch(spec.arch).mixer_norm:
            del ts[6]  # no gated norm after the scan (the tensor is optional in llama.cpp)
        return ts
    raise BadModelFile(f"{spec.name}: architecture {spec.arch} has no recurrent layers, but layer {il} is one")


def _ffn_tensors(spec: ModelSpec, arch: Arch, il: int) -> list[Tensor]:
    e = spec.hidden_size
    if spec.is_moe_layer(il):
        ne, ff = spec.n_experts, spec.expert_ffn_size or spec.ffn_size
        x = spec.moe_latent_size or e  # the width the routed experts work in
        ts = [_t(il, "ffn_gate_inp.weight", e, ne), _t(il, "ffn_up_exps.weight", x, ff, ne),
              _t(il, "ffn_down_exps.weight", ff, x, ne)]
        if arch.gated_ffn:
            ts.insert(1, _t(il, "ffn_gate_exps.weight", x, ff, ne))
        if spec.moe_latent_size:
            ts += [_t(il, "ffn_latent_in.weight", e, x), _t(il, "ffn_latent_out.weight", x, e)]
        if arch.expert_bias:
            ts += [_t(il, "ffn_gate_inp.bias", ne), _t(il, "ffn_gate_exps.bias", ff, ne),
                   _t(il, "ffn_up_exps.bias", ff, ne), _t(il, "ffn_down_exps.bias", e, ne)]
        if arch.expert_probs_bias:
            ts.append(_t(il, "exp_probs_b.bias", ne))
        if spec.arch == "gemma4":  # the router's input scale and the norms around the parallel MoE block
            ts += [_t(il, "ffn_gate_inp.scale", e), _t(il, "pre_ffw_norm_2.weight", e),
                   _t(il, "post_ffw_norm_1.weight", e), _t(il, "post_ffw_norm_2.weight", e)]
        if spec.n_shared_experts:
            sf = (spec.shared_expert_ffn_size or ff) * spec.n_shared_experts
            ts += [_t(il, "ffn_up_shexp.weight", e, sf), _t(il, "ffn_down_shexp.weight", sf, e)]
            if arch.gated_ffn:
                ts.append(_t(il, "ffn_gate_shexp.weight", e, sf))
            if arch.shared_expert_gate:
                ts.append(_t(il, "ffn_gate_inp_shexp.weight", e))
        return ts
    if arch.fused_up_gate:
        return [_t(il, "ffn_up.weight", e, 2 * spec.ffn_size), _t(il, "ffn_down.weight", spec.ffn_size, e)]
    ff = spec.ffn_size_of(il)
    ts = [_t(il, "ffn_up.weight", e, ff), _t(il, "ffn_down.weight", ff, e)]
    if arch.biases:
        ts += [_t(il, "ffn_up.bias", ff), _t(il, "ffn_down.bias", e)]
    return [_t(il, "ffn_gate.weight", e, ff), *ts] if arch.gated_ffn else ts


def count_params(tensors: tuple[Tensor, ...]) -> int:
    return sum(t.n_elements for t in tensors)

