"""Hugging Face transformers (PyTorch, with bitsandbytes, AWQ and GPTQ loaders): a DynamicCache that grows
with the sequence (sliding layers keep the window), the whole prompt in one forward pass, layers spread over
GPUs and the CPU by accelerate's ``device_map="auto"``.  No launch command: it is a library, not a server.

Sources: transformers ``cache_utils.py`` (DynamicCache, sliding-window layers), ``DeepseekV3Attention``
(decompressed per-head K/V), accelerate ``big_modeling.py`` (device_map offload to CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig
from ..errors import InvalidInput
from ..units import MIB
from ..vocab import Backend, LayerKind, PlacementStyle, SpeedClass, WeightFormat
from .base import (
    PlacementRules,
    TensorEngine,
    chunk_activations,
    head_kv_dims,
)

if TYPE_CHECKING:
    from ..api import FitResult
    from ..models.spec import ModelSpec
    from .recipe import Launch


class Transformers(TensorEngine):
    def check_run(self, run: RunConfig) -> None:
        return None

    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        return head_kv_dims(spec, il, decompress_mla=True)

    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        w = spec.sliding_window
        per = min(run.context_tokens, w) if (spec.layer_kind(il) == LayerKind.SLIDING and w) else run.context_tokens
        return per * run.n_seq

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        return chunk_activations(spec, run, run.context_tokens,
                                 "whole prompt in one forward pass (transformers generate)")

    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        return items, ""

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        raise InvalidInput("transformers is a Python library, not a server: rigfit writes no launch command "
                           "for it")


TRANSFORMERS = Transformers(
    name="transformers", title="transformers", aliases=("hf", "huggingface", "bitsandbytes", "bnb"),
    weights=WeightFormat.TENSOR,
    formats=("BF16", "FP16", "FP32", "NF4", "NF4-DQ", "INT8", "AWQ", "GPTQ", "GPTQ-8BIT"),
    default_quant="BF16", quant_ladder=("BF16", "INT8", "NF4-DQ"), kv_types=("bf16", "f16"), default_kv="bf16",
    backends=(Backend.CUDA, Backend.ROCM, Backend.METAL, Backend.CPU),
    runtime_overhead_bytes={Backend.CUDA: 600 * MIB, Backend.ROCM: 600 * MIB, Backend.METAL: 256 * MIB,
                            Backend.CPU: 0},
    overhead_source="CUDA context + cuBLAS workspace + PyTorch caching-allocator slack (~0.6 GiB)",
    placement=PlacementRules(style=PlacementStyle.LAYER_SPLIT, cpu_offload=True, expert_offload=True,
                             gpu_layers=True, tensor_split=True, row_split=False),
    speed_class=SpeedClass.TRANSFORMERS,
    source="transformers DynamicCache (grows with the sequence; sliding layers keep the window)",
)
