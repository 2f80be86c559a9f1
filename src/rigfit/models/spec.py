"""ModelSpec: the architecture facts the memory and speed models need, as a frozen value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..vocab import LayerKind
from .arch import BY_NAME, Arch, Mixer
from .tensor import Tensor


@dataclass(frozen=True, slots=True, kw_only=True)
class GGUFWeights:
    """What a real GGUF file says about its tensors: exact types and bytes."""

    path: str
    file_type: str  # e.g. "Q4_K_M" (from general.file_type) or "unknown"
    tensors: tuple[Tensor, ...]
    tensor_data_bytes: int
    file_size_bytes: int
    metadata_bytes: int  # header + KV + tensor infos (everything before the data section)


_STRUCTURES: dict[int, tuple[ModelSpec, ModelSpec]] = {}  # id(spec) -> (spec, spec.structure)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """A transformer's text model as llama.cpp sees it (vision towers excluded)."""

    name: str
    arch: str
    n_layers: int
    hidden_size: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_size: int
    vocab_size: int
    max_context: int
    tied_embeddings: bool = False
    gguf_vocab_size: int = 0  # token_embd rows in GGUF when the converter trims them (Gemma 3)
    attn_bias: bool = False
    qk_norm: bool = False
    sliding_window: int = 0
    layer_types: tuple[LayerKind, ...] = ()  # per layer; () = all full
    n_kv_heads_per_layer: tuple[int, ...] = ()  # when KV heads vary by layer; () = n_kv_heads
    n_heads_per_layer: tuple[int, ...] = ()  # when query heads vary by layer (Laguna); () = n_heads (the most)
    attn_gate_dim: int = 0  # an attention output gate tensor: outputs per query head (head_dim, or 1 per head)
    n_experts: int = 0
    n_experts_active: int = 0
    expert_ffn_size: int = 0
    n_shared_experts: int = 0
    shared_expert_ffn_size: int = 0
    n_dense_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    recurrent_state_bytes: int = 0  # per sequence, per recurrent layer (f32 conv + ssm state)
    # recurrent mixers, as llama.cpp's hparams name them (ssm.conv_kernel, ssm.inner_size, ssm.state_size,
    # ssm.group_count, ssm.time_step_rank; shortconv.l_cache)
    ssm_d_conv: int = 0
    ssm_d_inner: int = 0
    ssm_d_state: int = 0
    ssm_n_group: int = 0
    ssm_dt_rank: int = 0
    shortconv_l_cache: int = 0
    layer_ffn: tuple[str, ...] = ()  # per layer: "dense" | "moe" | "none"; () = MoE from n_dense_layers on
    nextn_layers: int = 0  # multi-token-prediction layers the GGUF carries after the main ones
    head_dim_per_layer: tuple[int, ...] = ()  # when full and sliding layers differ (Gemma 4: 512 / 256)
    ffn_size_per_layer: tuple[int, ...] = ()  # when layers differ (Gemma 4 E models' double-wide MLPs)
    kv_shared_from: int = 0  # layers from here on reuse earlier layers' KV cache (Gemma 3n/4 E models); 0: none
    k_eq_v: bool = False  # full-attention layers have no V projection: V is K (Gemma 4 31B / 26B)
    per_layer_input_size: int = 0  # per-layer embeddings width (Gemma 4 E models); 0: none
    per_layer_vocab_size: int = 0
    compress_ratios: tuple[int, ...] = ()  # DeepSeek V4 per layer: 0 dense, r = one cached entry per r tokens
    o_lora_rank: int = 0  # DeepSeek V4 grouped low-rank output projection
    o_groups: int = 0
    moe_latent_size: int = 0  # routed experts work in a smaller latent width (Nemotron 3 Super's LatentMoE)
    indexer_heads: int = 0  # DeepSeek V3.2 sparse-attention indexer: query heads and head size; 0: none
    indexer_head_dim: int = 0
    params_total: int | None = None  # as published (None: not stated)
    params_active: int | None = None
    dtype: str = "bf16"  # checkpoint dtype
    has_vision: bool = False  # the checkpoint carries a vision tower (its config's vision_config)
    vision_params: int = 0  # its parameters (models/vision.py), what a --mmproj file holds
    native_quant: str = ""  # the GGUF file type the model ships in where it is not 16-bit (gpt-oss: MXFP4_MOE)
    # config.json's top-level model_type ("" from a GGUF): what engines that pick their model code by it read
    # (mlx-lm's module per type caches MLA as the latent or per head: engines/mlx.py)
    model_type: str = ""
    hf_repo: str = ""
    aliases: tuple[str, ...] = ()
    license: str = ""
    released: str = ""
    source: str = ""
    as_of: str = ""
    notes: str = ""
    origin: str = "catalog"  # catalog | config.json | gguf | hub
    resolved_from: str = ""  # what was typed, when it named a fine-tune or repackaging of this model
    resolved_via: str = ""  # how that name leads here when it does not contain this model's (the catalog's derivatives)
    gguf: GGUFWeights | None = field(default=None, compare=False)

    # --- derived facts -----------------------------------------------------------------------
    @property
    def structure(self) -> ModelSpec:
        """This spec with only the facts that shape its tensors and caches: models of one architecture and
        size (GLM-4.5/4.6/4.7, a model and its fine-tunes) share it, and so share cached sizes."""
        if not (self.name or self.aliases or self.source or self.notes or self.hf_repo or self.resolved_from
                or self.resolved_via):
            return self
        got = _STRUCTURES.get(id(self))
        if got is not None and got[0] is self:  # memoized: a listing asks for it a dozen times per model
            return got[1]
        structure = replace(self, name="", aliases=(), hf_repo="", license="", released="", source="", as_of="",
                            notes="", params_total=None, params_active=None, resolved_from="", resolved_via="")
        if len(_STRUCTURES) > 4096:
            _STRUCTURES.clear()
        _STRUCTURES[id(self)] = (self, structure)  # the spec is kept alive, so its id is not reused
        return structure

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    @property
    def uses_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def embedding_rows(self) -> int:
        return self.gguf_vocab_size or self.vocab_size

    def layer_kind(self, il: int) -> LayerKind:
        return self.layer_types[il] if self.layer_types else LayerKind.FULL

    def heads(self, il: int) -> int:
        return self.n_heads_per_layer[il] if self.n_heads_per_layer else self.n_heads

    def kv_heads(self, il: int) -> int:
        return self.n_kv_heads_per_layer[il] if self.n_kv_heads_per_layer else self.n_kv_heads

    def is_moe_layer(self, il: int) -> bool:
        if self.layer_ffn:
            return self.layer_ffn[il] == "moe"
        return self.is_moe and il >= self.n_dense_layers

    def has_ffn(self, il: int) -> bool:
        return not self.layer_ffn or self.layer_ffn[il] != "none"

    def has_attention(self, il: int) -> bool:
        return self.layer_kind(il) in (LayerKind.FULL, LayerKind.SLIDING)

    def has_kv(self, il: int) -> bool:
        """The layer keeps its own KV cache (attention, and not sharing an earlier layer's)."""
        return self.has_attention(il) and not (self.kv_shared_from and il >= self.kv_shared_from)

    def has_state(self, il: int) -> bool:
        """The layer keeps a recurrent state: a recurrent layer, or any layer of an architecture whose layers
        run attention and a recurrent mixer side by side (Falcon-H1)."""
        if self.layer_kind(il) == LayerKind.RECURRENT:
            return True
        return self.parallel_mixer and self.has_attention(il)

    @property
    def delta_net(self) -> bool:
        """A hybrid whose recurrent layers are Gated DeltaNets (Qwen3-Next, Qwen3.5 / 3.6 linear attention)."""
        a = _registered(self.arch)
        return bool(self.layer_types) and a is not None and a.mixer == Mixer.GATED_DELTANET

    @property
    def parallel_mixer(self) -> bool:
        """Attention layers also run a recurrent mixer and keep its state (Falcon-H1)."""
        a = _registered(self.arch)
        return bool(self.recurrent_state_bytes) and a is not None and a.parallel_mixer

    def head_dim_of(self, il: int) -> int:
        return self.head_dim_per_layer[il] if self.head_dim_per_layer else self.head_dim

    def ffn_size_of(self, il: int) -> int:
        return self.ffn_size_per_layer[il] if self.ffn_size_per_layer else self.ffn_size

    @property
    def n_gqa(self) -> int:
        return max(1, self.n_heads // max(1, self.n_kv_heads))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "gguf":
                continue
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "gguf"}
        return cls(**kw)


def _registered(arch: str) -> Arch | None:
    """The registry's entry for ``arch``, or None (a spec may name an architecture the registry lacks)."""
    return BY_NAME.get(arch)


PER_LAYER_FIELDS = ("layer_types", "n_kv_heads_per_layer", "n_heads_per_layer", "layer_ffn", "head_dim_per_layer",
                    "ffn_size_per_layer", "compress_ratios")


def first_layers(spec: ModelSpec, k: int, *, n_dense_layers: int, kv_shared_from: int) -> ModelSpec:
    """``spec`` cut to its first ``k`` layers, every per-layer fact cut alike; the dense-prefix and KV-sharing
    counts as the caller needs them (scaled for a probe in proportion, capped for a measured prefix)."""
    cut = {name: getattr(spec, name)[:k] for name in PER_LAYER_FIELDS if getattr(spec, name)}
    return replace(spec, n_layers=k, n_dense_layers=n_dense_layers, kv_shared_from=kv_shared_from, **cut)


def swa_layer_types(n_layers: int, pattern: int) -> tuple[LayerKind, ...]:
    """llama.cpp ``hparams.set_swa_pattern(n)``: layer il slides iff ``il % n < n - 1`` (src/llama-hparams.cpp)."""
    if pattern <= 0:
        return ()
    return tuple(LayerKind.SLIDING if il % pattern < pattern - 1 else LayerKind.FULL for il in range(n_layers))


# Physically plausible ranges for the facts a file states (the largest released models are far inside them:
# ~130 layers, hidden 16k-25k, vocab 256k, 256 routed experts, 10M-token context).  A fact outside its range
# is a corrupt or hostile file, named with its value, never a silent overflow or a negative answer later.
SPEC_RANGES: dict[str, tuple[int, int]] = {
    "n_layers": (1, 1024), "hidden_size": (1, 1 << 17), "n_heads": (1, 4096), "n_kv_heads": (1, 4096),
    "head_dim": (1, 8192), "ffn_size": (0, 1 << 20), "vocab_size": (1, 1 << 22), "gguf_vocab_size": (0, 1 << 22),
    "max_context": (1, 1 << 24), "sliding_window": (0, 1 << 24), "n_experts": (0, 4096),
    "n_experts_active": (0, 4096), "expert_ffn_size": (0, 1 << 20), "n_shared_experts": (0, 64),
    "shared_expert_ffn_size": (0, 1 << 20), "n_dense_layers": (0, 1024), "q_lora_rank": (0, 1 << 16),
    "kv_lora_rank": (0, 1 << 16), "qk_rope_head_dim": (0, 8192), "qk_nope_head_dim": (0, 8192),
    "v_head_dim": (0, 8192), "attn_gate_dim": (0, 8192), "recurrent_state_bytes": (0, 1 << 40), "ssm_d_conv": (0, 64),
    "ssm_d_inner": (0, 1 << 18), "ssm_d_state": (0, 1 << 12), "ssm_n_group": (0, 1 << 10), "ssm_dt_rank": (0, 1 << 12),
    "shortconv_l_cache": (0, 64), "nextn_layers": (0, 16), "kv_shared_from": (0, 1024),
    "per_layer_input_size": (0, 1 << 14), "per_layer_vocab_size": (0, 1 << 22), "indexer_heads": (0, 4096),
    "moe_latent_size": (0, 1 << 17), "o_lora_rank": (0, 1 << 16),
    "o_groups": (0, 1024), "vision_params": (0, 1 << 40),
    "indexer_head_dim": (0, 8192),
}


def count_value(v: Any, *, allow_bool: bool = False) -> int | None:
    """A non-negative integer count from a file's value: an integer, or an integral finite float below 2**63
    (JSON's 4096.0); None for anything else (strings, lists, NaN, inf, fractions, negatives, and bools unless
    ``allow_bool``: GGUF has a bool type, JSON's true is never a count)."""
    if isinstance(v, bool):
        return int(v) if allow_bool else None
    if isinstance(v, int):
        return v if v >= 0 else None
    if isinstance(v, float) and math.isfinite(v) and v >= 0 and v.is_integer() and v < 2**63:
        return int(v)
    return None


def spec_problems(spec: ModelSpec) -> list[str]:
    """Every fact of ``spec`` outside its plausible range, as ``field = value (expected lo..hi)``."""
    out = []
    for name, (lo, hi) in SPEC_RANGES.items():
        v = getattr(spec, name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            out.append(f"{name} = {v!r} (expected an integer {lo:,}..{hi:,})")
    if spec.n_experts_active > max(spec.n_experts, 0):
        out.append(f"n_experts_active = {spec.n_experts_active} (more than the {spec.n_experts} experts)")
    if any(f not in ("dense", "moe", "none") for f in spec.layer_ffn):
        out.append("layer_ffn has a value other than dense, moe, none")
    for name in PER_LAYER_FIELDS:
        v = getattr(spec, name)
        if v and len(v) != spec.n_layers:
            out.append(f"{name} has {len(v)} entries for {spec.n_layers} layers")
    for name in ("n_kv_heads_per_layer", "n_heads_per_layer"):
        if any(isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 4096 for h in getattr(spec, name)):
            out.append(f"{name} has a value outside 0..4,096")
    for name in ("params_total", "params_active"):
        v = getattr(spec, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1 << 47):
            out.append(f"{name} = {v!r} (expected 0..140T parameters)")
    return out


def checked(spec: ModelSpec, where: str) -> ModelSpec:
    """``spec`` when every fact is in range; else BadModelFile naming ``where`` and each bad field."""
    from ..errors import BadModelFile

    problems = spec_problems(spec)
    if problems:
        raise BadModelFile(f"{where}: " + "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else ""))
    return spec
