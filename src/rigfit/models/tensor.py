"""One tensor of a model: name, shape in ggml order, layer, and (from a file) its type and bytes.  A leaf
module: the model spec, the tensor inventory, the GGUF reader and the quant rules all use it."""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_elements", math.prod(self.shape))
        object.__setattr__(self, "group", tensor_group(self.name, len(self.shape)))

    @property
    def is_linear(self) -> bool:
        """A matmul weight inside a block (what AWQ/GPTQ/bnb/EXL2 quantize)."""
        return self.layer is not None and len(self.shape) >= 2 and self.name.endswith(".weight") \
            and "ffn_gate_inp" not in self.name and "_norm" not in self.name


def tensor_group(name: str, n_dims: int) -> str:
    if name.startswith(("token_embd", "per_layer_token_embd")):
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


__all__ = ["Tensor", "tensor_group"]
