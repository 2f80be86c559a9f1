"""Model specs and the places they come from (catalog, config.json, GGUF, Hugging Face Hub)."""

from .spec import GGUFWeights, ModelSpec
from .tensor import Tensor
from .tensors import build_tensors

__all__ = ["GGUFWeights", "ModelSpec", "Tensor", "build_tensors"]
