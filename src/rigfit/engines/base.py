"""The one interface every engine implements, and the pieces engines share.

An engine is a frozen value (its data: formats, KV types, defaults, backends, overheads, placement rules) with
the methods that differ between engines: which quants it loads, how it allocates KV cells, its compute
buffers and memory pool, and its launch command.  ``Engine`` is abstract: a new engine that leaves a part out
cannot be constructed, so nothing falls back silently to another engine's behaviour.  Memory, placement,
speed and launch call these methods; no module outside ``engines/`` compares engine names.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig
from ..errors import InvalidInput, UnknownName
from ..quant import GGUFFileType, QuantScheme
from ..tensorformats import TensorFormat
from ..vocab import Backend, ClusterMode, Component, DecodeKernel, PlacementStyle, SpeedClass, Vendor, WeightFormat

if TYPE_CHECKING:  # the launch step hands its FitResult down; engines never import the pipeline
    from ..api import FitResult
    from ..hardware.spec import Device
    from ..models.spec import ModelSpec
    from .recipe import Launch

# Bytes per cached element for each KV-cache type (ggml types: gguf constants; vLLM fp8: 1 byte;
# mlx --kv-bits: affine group 64 with 16-bit scale+bias; exllamav2 Q8/Q6/Q4 caches: group 32 + fp16 scale).
KV_ELEMENT_BYTES: dict[str, Fraction] = {
    "f32": Fraction(4), "f16": Fraction(2), "bf16": Fraction(2), "q8_0": Fraction(34, 32),
    "q5_1": Fraction(24, 32), "q5_0": Fraction(22, 32), "q4_1": Fraction(20, 32), "q4_0": Fraction(18, 32),
    "iq4_nl": Fraction(18, 32), "fp8": Fraction(1), "mlx-q8": Fraction(8 * 64 + 32, 8 * 64),
    "mlx-q4": Fraction(4 * 64 + 32, 8 * 64), "exl2-q8": Fraction(8 * 32 + 16, 8 * 32),
    "exl2-q6": Fraction(6 * 32 + 16, 8 * 32), "exl2-q4": Fraction(4 * 32 + 16, 8 * 32),
}
UNQUANTIZED_KV = ("f32", "f16", "bf16", "fp8")
_KV_ALIASES = {"fp16": "f16", "float16": "f16", "auto": "f16", "bfloat16": "bf16", "fp32": "f32",
               "fp8_e4m3": "fp8", "fp8_e5m2": "fp8", "q8": "q8_0", "q4": "q4_0"}
ALL_BACKENDS = tuple(Backend)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementRules:
    """What an engine can do with a model that spans devices (each rule cites its engine in the module)."""

    style: PlacementStyle
    cpu_offload: bool  # layers may run on the CPU from system RAM (llama.cpp -ngl, accelerate device_map)
    expert_offload: bool  # routed experts of some layers may stay in RAM (llama.cpp --n-cpu-moe)
    gpu_layers: bool  # the user may set how many layers go to the GPU (-ngl, num_gpu)
    tensor_split: bool  # the user may set per-GPU proportions (--tensor-split, exllamav2 gpu_split, max_memory)
    row_split: bool  # rows of each matrix split over GPUs (llama.cpp --split-mode row)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterRules:
    """How an engine runs one model across machines, and what each exchange between them costs.

    Decode, per token: pipeline mode adds ``remote_overhead_s`` once when any stage is on another node and,
    per boundary between nodes, ``round_trips_per_hop`` small-message round trips of the link plus the
    activations (``activation_bytes`` per hidden element) over its data rate plus ``hop_overhead_s``; tensor
    mode adds, per all-reduce (two per layer), ``allreduce_overhead_s`` plus (nodes - 1) round trips plus the
    ring's 2 (N - 1) / N of the activations over the link.  Prefill pays the same per micro-batch."""

    how: str  # one line: what runs where
    modes: tuple[ClusterMode, ...]
    default_mode: ClusterMode
    tp_within_node: bool = False  # tensor parallel over each node's GPUs, pipeline over the nodes (vLLM + Ray)
    apple_only: bool = False  # MLX-based: every node an Apple silicon Mac
    main_host_last: bool = False  # the main host holds the last layers and the output (llama.cpp RPC)
    mixed_backends: bool = False  # each machine runs its own backend (llama.cpp RPC: a Mac's Metal beside CUDA)
    round_trips_per_hop: float = 1.0
    hop_overhead_s: float = 0.0
    remote_overhead_s: float = 0.0
    allreduce_overhead_s: float = 0.0
    activation_bytes: int = 2
    overlapped: bool = True  # prompt micro-batches overlap across the stages (else one stage at a time)
    fitted: bool = False  # constants fitted on published cluster runs (else priors: a wider band)
    source: str = ""


@dataclass(frozen=True, kw_only=True)  # no slots: seven singletons, and a slotted copy costs import time
class Engine(ABC):
    """One inference engine.  Data fields first; the abstract methods are the parts each engine supplies."""

    name: str
    title: str  # as the project writes it, for messages ("LM Studio", "vLLM")
    aliases: tuple[str, ...]
    weights: WeightFormat
    formats: tuple[str, ...]  # accepted quant names (GGUF file types or TensorFormat names)
    default_quant: str
    quant_ladder: tuple[str, ...]  # best quality first: what best_quant searches
    # the model name fixes the file (Ollama: a tag is one GGUF, its quant in the tag or the library default),
    # so there is no quant to search for
    quant_from_name: bool = False
    # the engine that serves the MLX tags of this one's names (Ollama's MLX runner); None: no such tags
    mlx_tags_engine: str | None = None
    kv_types: tuple[str, ...]
    kv_type_names: dict[str, str] = field(default_factory=dict)  # engine spelling -> KV_ELEMENT_BYTES key
    default_kv: str = "f16"
    default_ctx: int | None = 8192  # None: the model's own maximum (vLLM's max_model_len default)
    default_n_batch: int = 2048
    default_n_ubatch: int = 512
    ubatch_is_batch: bool = False  # the engine passes its batch as the micro-batch too (Ollama: -b N -ub N)
    backends: tuple[Backend, ...] = ALL_BACKENDS
    default_backend: Backend = Backend.CUDA
    # the backend the engine's own install drives a GPU with when it lacks that GPU's native one (Ollama's bundled
    # Vulkan for Intel GPUs), on the OSes where its install brings that backend's runtime; None, or another OS:
    # such a GPU is an error that names the backends both take
    fallback_backend: Backend | None = None
    fallback_os: tuple[str, ...] = ()
    flash_attention_default: bool = True
    runtime_overhead_bytes: dict[Backend, int] = field(default_factory=dict)
    overhead_source: str = ""
    # the safety margin a plan keeps free on every accelerator, on top of the OS and display reserves
    headroom_bytes: int = 1024**3
    headroom_source: str = ("1 GiB kept free per device, as llama.cpp's own fit does (common/common.h "
                            "fit_params_target, --fit-target 1024 MiB, llama.cpp b11434)")
    # fixed latency a server adds to every request before the first token (HTTP, scheduling, tokenization)
    request_overhead_s: float = 0.0
    request_overhead_source: str = ""
    placement: PlacementRules
    settings: frozenset[str] = frozenset()  # the optional FitRequest engine settings it honours
    speed_class: SpeedClass
    # where the speed class is another engine's, fitted on that engine's runs: the note that says so (the plan's
    # band then widens as for a prior); "" where the constants were fitted on this engine's own runs
    speed_stand_in: str = ""
    # the engine's CPU matmuls are its own (llamafile's tinyBLAS), not ggml-cpu's as llama.cpp runs them: its CPU
    # work then has a class of its own ("llamafile-cpu"), else the CPU class prices it for every engine
    own_cpu_kernels: bool = False
    # GPU vendors whose matrix units the engine's prompt kernels do not reach: on a chip that has them
    # (hardware.rates.unit_rate) its prompts run on the shader ALUs (hardware.rates.alu_prompt_tflops)
    alu_prompt_vendors: tuple[Vendor, ...] = ()
    # (backend, GPU vendor) pairs whose flash-attention prompt kernels run on the shader ALUs, not the matrix units:
    # a prompt's attention FLOPs are then priced at the ALU rate (speedwork.DeviceWork.attention_tflops)
    alu_attention: tuple[tuple[Backend, Vendor], ...] = ()
    # weight formats whose 4-bit floating-point matmuls run through kernels of the engine's own, priced apart per
    # byte where its class is fitted on them (speed.FP4_KERNEL_CLASSES: a_w4)
    fp4_formats: tuple[str, ...] = ()
    cluster: ClusterRules | None = None  # None: the engine plans one machine only
    default_port: int | None = None  # None: rigfit writes no launch command for this engine
    source: str = ""

    def attention_on_alus(self, backend: Backend, vendor: Vendor, chip: str, head_dim: int, gqa: int) -> bool:
        """Whether the engine's flash-attention prompt kernel for one attention layer (query-key heads of
        ``head_dim``, each key head shared by ``gqa`` query heads) runs on the GPU's shader ALUs rather than its
        matrix units (``alu_attention``)."""
        return (backend, vendor) in self.alu_attention

    def overlaps_prompt_stages(self, experts_in_ram: bool) -> bool:
        """Whether a prompt's micro-batches overlap across the GPUs of a layer split (one GPU starts the next
        micro-batch while the next GPU works on this one), with or without routed experts kept in RAM."""
        return True

    def decode_kernel(self, backend: Backend, vendor: Vendor, chip: str, head_dim: int) -> DecodeKernel:
        """The kernel the engine's one-token (decode) attention runs for a layer with query-key heads of
        ``head_dim``: one that reads the cache as stored, or one that reads it as F16 only (a cache of another type
        is then converted into an F16 copy at every step, written and read back: speedwork.DeviceWork
        .kv_copy_bytes_per_pos), its arithmetic on the matrix units or the ALUs."""
        return DecodeKernel.VECTOR

    # -- options ---------------------------------------------------------------------------------------
    def kv_key(self, kv_type: str) -> str:
        """The internal KV element key for the engine's spelling (``auto``, ``q8``, ``fp8_e4m3``, ...)."""
        k = kv_type.strip().lower()
        if k in self.kv_type_names.values():
            return k  # already the internal key (mlx-q8, exl2-q4, ...)
        k = _KV_ALIASES.get(k, k) if k not in self.kv_types else k
        if k not in self.kv_types:
            raise UnknownName(f"KV-cache type for {self.name}", kv_type, self.kv_types)
        return self.kv_type_names.get(k, k)

    @abstractmethod
    def check_run(self, run: RunConfig) -> None:
        """Raise InvalidInput for a combination of settings the engine refuses."""

    def run_warnings(self, run: RunConfig) -> tuple[str, ...]:
        """Settings the engine takes but runs far from the estimate in its usual build (none by default)."""
        return ()

    # -- defaults that follow the machine -------------------------------------------------------------
    def context_choices(self, spec: ModelSpec, gpu_bytes: int) -> tuple[tuple[int, str], ...]:
        """The contexts the engine picks itself when none is asked for, in the order it tries them (the next
        when the model does not load), each with the rule that gives it; ``gpu_bytes``: the accelerators' total
        memory.  One choice by default: the engine's default context, else the model's maximum."""
        return ((self.default_ctx or spec.max_context, ""),)

    def batch_for(self, context_tokens: int, predicted_bytes: int, gpu_bytes: int, run: RunConfig) -> int:
        """The batch the engine picks itself for a context (all sequences' tokens) when none is asked for;
        ``predicted_bytes``: the plan's memory at its default batch (default: the engine's default batch)."""
        return self.default_n_batch

    # -- weights ---------------------------------------------------------------------------------------
    def quant_of_name(self, name: str) -> str | None:
        """The quant a model name fixes for an engine whose names fix it (``quant_from_name``: an Ollama tag's
        GGUF file type, "qwen2.5:7b-instruct-q8_0" -> Q8_0); None where the name names none."""
        from ..quant import tag_quant

        return tag_quant(name) if self.quant_from_name else None

    def quant_name(self, name: str) -> str:
        """A quant as typed, in the engine's own spelling where it has one ("nvfp4" on Ollama's MLX runner)."""
        return name

    @abstractmethod
    def loads(self, quant: QuantScheme) -> bool:
        """Whether the engine loads weights in this format."""

    def check_quant(self, quant: QuantScheme) -> None:
        """A quant the engine cannot load is an error that lists what it does load."""
        if not self.loads(quant):
            raise InvalidInput(f"{self.name} does not load {quant.name} weights; it takes {self.formats_text()}")

    @abstractmethod
    def formats_text(self) -> str:
        """The formats the engine loads, for messages."""

    @abstractmethod
    def embeddings_on_host(self, run: RunConfig, quant: QuantScheme) -> bool:
        """Whether the token-embedding table stays in system RAM."""

    @abstractmethod
    def duplicates_tied_output(self, run: RunConfig) -> bool:
        """Whether a tied embedding gets a second copy on the device as the output head."""

    # -- KV cache --------------------------------------------------------------------------------------
    @abstractmethod
    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        """Elements cached per token in layer ``il`` for K and V."""

    @abstractmethod
    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        """Token slots allocated for layer ``il`` (all sequences): a function of the layer's kind, which
        memory.py asks once per kind and head shape."""

    @abstractmethod
    def kv_layer_bytes(self, k: int, v: int, cells: int, kv_type: str, kv_type_v: str) -> int:
        """Bytes of one layer's K and V caches of ``cells`` token slots (K at ``kv_type``, V at ``kv_type_v``)."""

    def compressed_layer_bytes(self, spec: ModelSpec, il: int, run: RunConfig) -> int | None:
        """Cache bytes of a layer with compressed memory (DeepSeek V4's ``compress_ratios``, all sequences)
        where the engine's own layout is known; None: the generic approximation (memory.compressed_cells)."""
        return None

    # -- buffers and pool ------------------------------------------------------------------------------
    @abstractmethod
    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        """The engine's compute/activation buffers."""

    @abstractmethod
    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        """The items as the engine finally allocates them (vLLM preallocates a KV pool) and a startup
        warning for one device, or ``""``."""

    # -- speed -----------------------------------------------------------------------------------------
    def prompt_rates_tflops(self, quant: str, dev: Device) -> tuple[float, float] | None:
        """The dense tensor rates (TFLOPS) the engine's prompt kernels run at on accelerator ``dev``: its
        16-bit matmuls and attention, and its matmuls with ``quant`` weights; None: ggml's rules
        (speedwork.device_work: MMQ on the INT8 tensor cores, F16 GEMMs with FP16 accumulation on GeForce)."""
        return None

    # -- launch ----------------------------------------------------------------------------------------
    @abstractmethod
    def launch(self, r: FitResult, host: str, port: int) -> Launch:  # recipe.Launch (loaded with launch)
        """The command line, files and settings that realize the plan ``r`` (a plan that fits)."""


class TensorEngine(Engine, ABC):
    """The parts every safetensors-checkpoint engine (vLLM, MLX, transformers, exllamav2) shares: it loads the
    formats in its list, keeps embeddings where the format says, stores no second copy of a tied head, and
    caches K and V at the cache type's bytes per element."""


    def loads(self, quant: QuantScheme) -> bool:
        if isinstance(quant, GGUFFileType):
            return False
        name = "EXL2" if quant.name.startswith("EXL2") else quant.name  # EXL2 at any bit rate
        return name in self.formats

    def formats_text(self) -> str:
        return ", ".join(self.formats)

    def embeddings_on_host(self, run: RunConfig, quant: QuantScheme) -> bool:
        return isinstance(quant, TensorFormat) and quant.embeddings_on_host  # exllamav2 keeps them in RAM

    def duplicates_tied_output(self, run: RunConfig) -> bool:
        return False

    def kv_layer_bytes(self, k: int, v: int, cells: int, kv_type: str, kv_type_v: str) -> int:
        if kv_type == kv_type_v:
            return math.ceil((k + v) * cells * KV_ELEMENT_BYTES[kv_type])
        return math.ceil((k * KV_ELEMENT_BYTES[kv_type] + v * KV_ELEMENT_BYTES[kv_type_v]) * cells)


# ---------------------------------------------------------------------------------------------
# Helpers the engine modules share
# ---------------------------------------------------------------------------------------------


def pad(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def head_kv_dims(spec: ModelSpec, il: int, *, decompress_mla: bool) -> tuple[int, int]:
    """K and V elements per token: KV heads x head_dim, nothing for recurrent layers; MLA either as the
    compressed latent (kv_lora_rank + rope dims, no separate V: llama.cpp deepseek2, vLLM MLAAttentionSpec)
    or decompressed per head (transformers DeepseekV3Attention, mlx-lm's deepseek_v2 module)."""
    if not spec.has_kv(il):
        return 0, 0
    if spec.uses_mla:
        if decompress_mla:
            nh = spec.n_heads
            return nh * (spec.qk_nope_head_dim + spec.qk_rope_head_dim), nh * spec.v_head_dim
        return spec.kv_lora_rank + spec.qk_rope_head_dim + spec.indexer_head_dim, 0  # + V3.2's indexer key
    n = spec.kv_heads(il) * spec.head_dim_of(il)
    if spec.v_head_dim:  # value heads narrower than the key heads (MiMo-V2: 192 / 128)
        return n, spec.kv_heads(il) * spec.v_head_dim
    if spec.compress_ratios:  # DeepSeek V4: one entry serves as key and value; indexer keys on ratio-4 layers
        return n + (spec.indexer_head_dim if spec.compress_ratios[il] == 4 else 0), 0
    return n, n


def chunk_activations(spec: ModelSpec, run: RunConfig, chunk_tokens: int, note: str) -> list[MemoryItem]:
    """16-bit activations of one prompt chunk (the whole prompt when ``chunk_tokens`` is the context) plus
    fp32 logits for one token per sequence: the peak of engines that run the prompt in chunks."""
    chunk = min(chunk_tokens, run.context_tokens)
    act = chunk * activation_rows(spec) * 2 + spec.vocab_size * 4 * run.n_seq
    return [MemoryItem(component=Component.COMPUTE, name="activations", n_bytes=act, note=note)]


def activation_rows(spec: ModelSpec) -> int:
    """f32/bf16 activation elements alive per token in one layer (gate+up, residual streams)."""
    ff = spec.ffn_size
    if spec.is_moe:
        ff = spec.n_experts_active * (spec.expert_ffn_size or spec.ffn_size)
    return 2 * ff + 4 * spec.hidden_size


__all__ = ["ALL_BACKENDS", "KV_ELEMENT_BYTES", "UNQUANTIZED_KV", "Engine", "PlacementRules",
           "TensorEngine", "activation_rows", "chunk_activations", "head_kv_dims", "pad"]
