"""exllamav2 (TabbyAPI): EXL2 mixed-bit weights, a cache preallocated in 256-token pages with FP16 or
Q8/Q6/Q4 variants, 2,048-token input chunks, layers split over GPUs (no CPU offload).  No launch command yet.

Sources: turboderp/exllamav2 ``exllamav2/cache.py`` (ExLlamaV2Cache, _Q8/_Q6/_Q4 variants; pages of 256
tokens), ``exllamav2/config.py`` (max_input_len 2048), ``exllamav2/model.py`` (load_autosplit over GPUs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig
from ..errors import InvalidInput
from ..units import MIB
from ..vocab import Backend, PlacementStyle, SpeedClass, WeightFormat
from .base import (
    PlacementRules,
    TensorEngine,
    chunk_activations,
    head_kv_dims,
    pad,
)

if TYPE_CHECKING:
    from ..api import FitResult
    from ..models.spec import ModelSpec
    from .recipe import Launch

PAGE_TOKENS = 256
MAX_INPUT_TOKENS = 2048


class ExLlamaV2(TensorEngine):
    def check_run(self, run: RunConfig) -> None:
        return None

    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        return head_kv_dims(spec, il, decompress_mla=False)

    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        return pad(run.context_tokens, PAGE_TOKENS) * run.n_seq  # every layer gets the full cache

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        return chunk_activations(spec, run, MAX_INPUT_TOKENS, "max_input_len 2048 chunks")

    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        return items, ""

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        raise InvalidInput("rigfit writes no launch command for exllamav2 yet")


EXLLAMAV2 = ExLlamaV2(
    name="exllamav2", title="exllamav2", aliases=("exl2", "tabbyapi", "exllama"), weights=WeightFormat.TENSOR,
    formats=("EXL2", "FP16", "BF16"), default_quant="EXL2-4.0",
    quant_ladder=("EXL2-8.0", "EXL2-6.0", "EXL2-5.0", "EXL2-4.5", "EXL2-4.0", "EXL2-3.5", "EXL2-3.0", "EXL2-2.5"),
    kv_types=("f16", "q8", "q6", "q4"), kv_type_names={"q8": "exl2-q8", "q6": "exl2-q6", "q4": "exl2-q4"},
    backends=(Backend.CUDA, Backend.ROCM), runtime_overhead_bytes={Backend.CUDA: 500 * MIB, Backend.ROCM: 500 * MIB},
    overhead_source="CUDA context + PyTorch allocator (~0.5 GiB)",
    placement=PlacementRules(style=PlacementStyle.LAYER_SPLIT, cpu_offload=False, expert_offload=False,
                             gpu_layers=False, tensor_split=True, row_split=False),
    speed_class=SpeedClass.EXLLAMAV2,
    source="turboderp/exllamav2 cache.py (ExLlamaV2Cache, _Q8/_Q6/_Q4 variants; pages of 256 tokens)",
)
