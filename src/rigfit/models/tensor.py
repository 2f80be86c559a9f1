"""One tensor of a model: name, shape in ggml order, layer, and (from a file) its type and bytes.  A leaf
module: the model spec, the tensor inventory, the GGUF reader and the quant rules all use it."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    layer: int | None = None
    ggml_type: str | None = None  # known when read from a GGUF file
    n_bytes: int | None = None  # known when read from a file
    # derived once (every quant a search sizes reads them)
    n_elements: int = field(init=False, compare=False)
    group: str = field(init=False, compare=False)
    rows: int = field(init=False, compare=False)  # elements / row length
    quant_kind: str = field(init=False, compare=False)  # "f32", "float" or llama-quant's category

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_elements", math.prod(self.shape))
        local = self.name.split(".", 2)[2] if self.name.startswith("blk.") and self.name.count(".") >= 2 \
            else self.name  # the rules read the name without its block number: computed once per kind
        object.__setattr__(self, "group", _group(local, len(self.shape)))
        object.__setattr__(self, "rows", math.prod(self.shape[1:]))
        object.__setattr__(self, "quant_kind", _kind(local, len(self.shape)))

    @property
    def is_linear(self) -> bool:
        """A matmul weight inside a block (what AWQ/GPTQ/bnb/EXL2 quantize)."""
        return self.layer is not None and len(self.shape) >= 2 and self.name.endswith(".weight") \
            and "ffn_gate_inp" not in self.name and "_norm" not in self.name


# the embedding tables, which sit outside the blocks and count as token_embd
_EMBEDDINGS = ("token_embd", "per_layer_token_embd", "position_embd")


@functools.lru_cache(maxsize=1024)
def _group(local: str, n_dims: int) -> str:
    top = local.startswith((*_EMBEDDINGS, "output"))
    return tensor_group(local if top else "." + local, n_dims)


@functools.lru_cache(maxsize=1024)
def _kind(local: str, n_dims: int) -> str:
    return quant_kind(local, n_dims)


def quant_kind(name: str, n_dims: int) -> str:
    """How llama-quantize treats a tensor (src/llama-quant.cpp): "f32" for 1-D tensors, biases and MoE routers
    (kept F32 by convert_hf_to_gguf.py), "float" for other tensors it never quantizes (norms), else its
    tensor_get_category (substring rules, same order)."""
    if n_dims < 2 or not name.endswith("weight") or "ffn_gate_inp" in name:
        return "f32"
    if "_norm.weight" in name:
        return "float"
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for key, cat in (("attn_qkv.weight", "attn_qkv"), ("attn_kv_b.weight", "attn_kv_b"),
                     ("attn_v.weight", "attn_v"), ("attn_k.weight", "attn_k"), ("attn_q.weight", "attn_q"),
                     ("attn_output.weight", "attn_output"), ("ffn_up", "ffn_up"), ("ffn_gate", "ffn_gate"),
                     ("ffn_down", "ffn_down")):
        if key in name:
            return cat
    return "other"


def tensor_group(name: str, n_dims: int) -> str:
    if name.startswith(_EMBEDDINGS):
        return "token_embd"
    if name.startswith(("output.", "output_norm")) and n_dims >= 2:
        return "output"
    if n_dims < 2 or "_norm" in name:
        return "norms"
    if "_exps" in name or "_chexps" in name:
        return "experts"
    if ".ffn_" in name:
        return "ffn"
    return "attention"


__all__ = ["Tensor", "quant_kind", "tensor_group"]
