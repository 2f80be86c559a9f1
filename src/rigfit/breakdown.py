"""The values of the memory stage: how the engine is run (``RunConfig``) and the itemized answer
(``MemoryItem``, ``LayerMemory``, ``MemoryBreakdown``).  A leaf module: engines build items, ``memory``
assembles them, placement and speed read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from .vocab import Backend, Component, Location


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """How the engine is run.  ``context_tokens`` is per sequence; ``n_seq`` parallel sequences."""

    engine: str = "llama.cpp"
    backend: Backend = Backend.CUDA
    context_tokens: int = 8192
    kv_cache_type: str = "f16"  # the K cache's, and the V cache's unless kv_cache_type_v says otherwise
    # llama.cpp -ctv where it differs from -ctk (common/arg.cpp --cache-type-v); "": the K cache's type
    kv_cache_type_v: str = ""
    flash_attention: bool = True
    n_batch: int = 2048  # llama.cpp common/common.h defaults
    n_ubatch: int = 512
    n_seq: int = 1
    swa_full: bool = False  # llama.cpp --swa-full (C API default true, CLI default false)
    # llama.cpp reserves logits for every token of a micro-batch (the bindings, llama-cpp-python, and builds
    # before June 2026) instead of one per sequence (llama-server since PR #23861, n_outputs_max)
    logits_all: bool = False
    mmproj: bool = False  # llama.cpp --mmproj: the vision tower is loaded beside the model
    # llama.cpp op offload (default on; --no-op-offload): a prompt micro-batch's matmuls over weights kept in
    # RAM run on the GPU with the weights copied over PCIe, instead of on the CPU where they are
    op_offload: bool = True
    # llama.cpp -t (Ollama num_thread, LM Studio's CPU thread pool): the threads that run the CPU's share of
    # the work; None: the engine's default, one per physical core (common/common.cpp cpu_get_num_math)
    n_threads: int | None = None
    max_num_seqs: int = 256  # vLLM scheduler defaults below 70 GiB GPUs (arg_utils.get_batch_defaults)
    max_num_batched_tokens: int = 8192
    gpu_memory_bytes: int = 0  # the device's total memory when known (vLLM sizes its KV pool from it)
    gpu_memory_utilization: float = 0.92  # vllm/config/cache.py default (0.9 before 2025)

    @property
    def kv_type_v(self) -> str:
        """The V cache's element type."""
        return self.kv_cache_type_v or self.kv_cache_type

    @property
    def kv_label(self) -> str:
        """The cache type as printed: one type, or K's and V's where they differ."""
        return self.kv_cache_type if self.kv_type_v == self.kv_cache_type else \
            f"K {self.kv_cache_type} / V {self.kv_type_v}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryItem:
    component: Component
    name: str
    n_bytes: int
    location: Location = Location.DEVICE
    note: str = ""


class LayerMemory(NamedTuple):
    """One block's bytes (a tuple: a listing builds some 30,000 of these per run)."""

    layer: int  # its position (0 = the first block)
    kind: str
    weights_bytes: int  # everything in the block, routed experts included
    kv_bytes: int
    expert_bytes: int = 0  # routed MoE expert tensors (*_exps) in this block: what --n-cpu-moe moves


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryBreakdown:
    model: str
    quant: str
    run: RunConfig
    items: tuple[MemoryItem, ...]
    layers: tuple[LayerMemory, ...]
    model_file_bytes: int  # GGUF file (header + tensors) or checkpoint bytes in this format
    kv_bytes_per_token: Fraction  # full-attention layers, one sequence
    bits_per_weight: float
    exact_weights: bool  # weights read from a real file's tensor table
    run_warnings: tuple[str, ...] = field(default=())
    # the engine's one-GPU startup check (vLLM: the KV pool cannot hold one request); a tensor- or
    # pipeline-parallel plan checks each GPU's share itself and clears it
    pool_warning: str = ""
    output_layer_bytes: int = 0  # output head (+ its norm, or the tied-embedding copy): llama.cpp "layer n_layer"
    token_embd_bytes: int = 0
    # weight elements (not bytes) of the repeating blocks and of the output layer: what a matmul multiplies
    layer_elements: int = 0
    output_elements: int = 0
    layer_type_elements: tuple[tuple[str, int], ...] = ()  # the blocks' matrix elements by ggml type (GGUF)

    @property
    def warnings(self) -> tuple[str, ...]:
        return (*self.run_warnings, self.pool_warning) if self.pool_warning else self.run_warnings

    def total(self, component: Component | None = None, location: Location | None = None) -> int:
        return sum_items(self.items, component, location)

    @property
    def weights_bytes(self) -> int:
        return self.total(Component.WEIGHTS)

    @property
    def kv_cache_bytes(self) -> int:
        return self.total(Component.KV_CACHE)

    @property
    def compute_bytes(self) -> int:
        return self.total(Component.COMPUTE)

    @property
    def overhead_bytes(self) -> int:
        return self.total(Component.OVERHEAD)

    @property
    def total_bytes(self) -> int:
        return self.total()

    @property
    def device_bytes(self) -> int:
        return self.total(location=Location.DEVICE)

    @property
    def host_bytes(self) -> int:
        return self.total(location=Location.HOST)


def sum_items(items: tuple[MemoryItem, ...], component: Component | None = None,
              location: Location | None = None) -> int:
    return sum(i.n_bytes for i in items
               if (component is None or i.component == component) and (location is None or i.location == location))


__all__ = ["LayerMemory", "MemoryBreakdown", "MemoryItem", "RunConfig", "sum_items"]
