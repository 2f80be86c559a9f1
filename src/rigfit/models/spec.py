"""ModelSpec: the architecture facts the memory and speed models need, as a frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vocab import LayerKind
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
    params_total: int | None = None  # as published (None: not stated)
    params_active: int | None = None
    dtype: str = "bf16"  # checkpoint dtype
    hf_repo: str = ""
    aliases: tuple[str, ...] = ()
    license: str = ""
    released: str = ""
    source: str = ""
    as_of: str = ""
    notes: str = ""
    origin: str = "catalog"  # catalog | config.json | gguf | hub
    gguf: GGUFWeights | None = field(default=None, compare=False)

    # --- derived facts -----------------------------------------------------------------------
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

    def kv_heads(self, il: int) -> int:
        return self.n_kv_heads_per_layer[il] if self.n_kv_heads_per_layer else self.n_kv_heads

    def is_moe_layer(self, il: int) -> bool:
        return self.is_moe and il >= self.n_dense_layers

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


def swa_layer_types(n_layers: int, pattern: int) -> tuple[LayerKind, ...]:
    """llama.cpp ``hparams.set_swa_pattern(n)``: layer il slides iff ``il % n < n - 1`` (src/llama-hparams.cpp)."""
    if pattern <= 0:
        return ()
    return tuple(LayerKind.SLIDING if il % pattern < pattern - 1 else LayerKind.FULL for il in range(n_layers))
