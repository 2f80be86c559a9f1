"""Engine profiles: which weight formats and KV-cache types an engine takes, its defaults, where it
puts tensors, and the fixed runtime memory it needs per backend (each with its source)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .errors import InvalidInput, UnknownName
from .quant import GGUF_FILE_TYPES, TENSOR_FORMATS, GGUFFileType, QuantScheme
from .units import MIB

BACKENDS = ("cuda", "rocm", "metal", "vulkan", "sycl", "cpu")
DISCRETE_BACKENDS = ("cuda", "rocm", "vulkan", "sycl")

# Bytes per cached element for each KV-cache type (ggml types: gguf constants; vLLM fp8: 1 byte;
# mlx --kv-bits: affine group 64 with 16-bit scale+bias; exllamav2 Q8/Q6/Q4 caches: group 32 + fp16 scale).
KV_ELEMENT_BYTES: dict[str, Fraction] = {
    "f32": Fraction(4), "f16": Fraction(2), "bf16": Fraction(2), "q8_0": Fraction(34, 32),
    "q5_1": Fraction(24, 32), "q5_0": Fraction(22, 32), "q4_1": Fraction(20, 32), "q4_0": Fraction(18, 32),
    "iq4_nl": Fraction(18, 32), "fp8": Fraction(1), "mlx-q8": Fraction(8 * 64 + 32, 8 * 64),
    "mlx-q4": Fraction(4 * 64 + 32, 8 * 64), "exl2-q8": Fraction(8 * 32 + 16, 8 * 32),
    "exl2-q6": Fraction(6 * 32 + 16, 8 * 32), "exl2-q4": Fraction(4 * 32 + 16, 8 * 32),
}
_KV_ALIASES = {"fp16": "f16", "float16": "f16", "auto": "f16", "bfloat16": "bf16", "fp32": "f32",
               "fp8_e4m3": "fp8", "fp8_e5m2": "fp8", "q8": "q8_0", "q4": "q4_0"}


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineProfile:
    name: str
    aliases: tuple[str, ...]
    weights: str  # "gguf" or "tensor"
    formats: tuple[str, ...]  # accepted quant names (GGUF file types or TensorFormat names)
    default_quant: str
    kv_types: tuple[str, ...]
    kv_type_names: dict[str, str] = field(default_factory=dict)  # engine spelling -> KV_ELEMENT_BYTES key
    default_kv: str = "f16"
    default_ctx: int | None = 8192  # None: the model's own maximum (vLLM's max_model_len default)
    ctx_pad: int = 1  # KV cells are allocated in multiples of this
    backends: tuple[str, ...] = BACKENDS
    default_backend: str = "cuda"
    flash_attention_default: bool = True
    runtime_overhead_bytes: dict[str, int] = field(default_factory=dict)
    overhead_source: str = ""
    source: str = ""

    def kv_key(self, kv_type: str) -> str:
        k = kv_type.strip().lower()
        if k in self.kv_type_names.values():
            return k  # already the internal key (mlx-q8, exl2-q4, ...)
        k = _KV_ALIASES.get(k, k) if k not in self.kv_types else k
        if k not in self.kv_types:
            raise UnknownName(f"KV-cache type for {self.name}", kv_type, self.kv_types)
        return self.kv_type_names.get(k, k)


_LLAMA_KV = ("f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")
_GGUF = tuple(GGUF_FILE_TYPES)
# Per-process memory outside llama.cpp's own buffers (CUDA context, cuBLAS/hipBLAS workspaces):
# Ollama reserves MinimumMemory() = 457 MiB per CUDA/ROCm GPU and 512 MiB on Metal (ml/device.go).
_LLAMA_OVERHEAD = {"cuda": 457 * MIB, "rocm": 457 * MIB, "vulkan": 457 * MIB, "sycl": 457 * MIB,
                   "metal": 512 * MIB, "cpu": 0}
_LLAMA_SRC = "CUDA context etc.: Ollama reserves 457 MiB (512 on Metal), ml/device.go"

ENGINES: dict[str, EngineProfile] = {
    e.name: e
    for e in (
        EngineProfile(
            name="llama.cpp", aliases=("llamacpp", "llama-cpp", "llama-server", "llama-cli"), weights="gguf",
            formats=_GGUF, default_quant="Q4_K_M", kv_types=_LLAMA_KV, ctx_pad=256,
            runtime_overhead_bytes=_LLAMA_OVERHEAD, overhead_source=_LLAMA_SRC,
            source="ggml-org/llama.cpp src/llama-context.cpp, src/llama-kv-cache.cpp (n_ctx padded to 256)",
        ),
        EngineProfile(
            name="ollama", aliases=("ollama-server",), weights="gguf", formats=_GGUF, default_quant="Q4_K_M",
            kv_types=("f16", "q8_0", "q4_0"), default_ctx=4096, ctx_pad=256,
            runtime_overhead_bytes=_LLAMA_OVERHEAD, overhead_source=_LLAMA_SRC,
            source="ollama runs llama-server (PR #16031); num_ctx 4096 below 23 GiB VRAM (server/routes.go); "
            "OLLAMA_KV_CACHE_TYPE f16|q8_0|q4_0",
        ),
        EngineProfile(
            name="lmstudio", aliases=("lm-studio", "lms", "lm studio"), weights="gguf", formats=_GGUF,
            default_quant="Q4_K_M", kv_types=_LLAMA_KV, default_ctx=4096, ctx_pad=256,
            runtime_overhead_bytes=_LLAMA_OVERHEAD, overhead_source=_LLAMA_SRC,
            source="LM Studio's llama.cpp runtime (default context length 4096 in its load settings)",
        ),
        EngineProfile(
            name="vllm", aliases=("vllm-serve",), weights="tensor",
            formats=("BF16", "FP16", "FP32", "FP8", "AWQ", "GPTQ", "GPTQ-8BIT", "NF4", "NF4-DQ"),
            default_quant="BF16", kv_types=("auto", "bf16", "f16", "fp8"), kv_type_names={"auto": "bf16"},
            default_kv="auto", default_ctx=None, ctx_pad=16, backends=("cuda", "rocm", "cpu"),
            runtime_overhead_bytes={"cuda": 1024 * MIB, "rocm": 1024 * MIB, "cpu": 0},
            overhead_source="CUDA context ~0.5 GiB + non-torch (NCCL, cuBLAS) 0.13-0.55 GiB + CUDA graphs "
            "up to ~1 GiB, measured on H100 (engine-facts.md 2.4)",
            source="vllm/v1/worker/gpu_worker.py, vllm/v1/kv_cache_interface.py (block 16 tokens), "
            "max_model_len defaults to max_position_embeddings",
        ),
        EngineProfile(
            name="mlx", aliases=("mlx-lm", "mlx_lm"), weights="tensor",
            formats=("MLX-4BIT", "MLX-3BIT", "MLX-6BIT", "MLX-8BIT", "BF16", "FP16"), default_quant="MLX-4BIT",
            kv_types=("bf16", "f16", "q8", "q4"), kv_type_names={"q8": "mlx-q8", "q4": "mlx-q4"},
            default_kv="bf16", ctx_pad=256, backends=("metal",), default_backend="metal",
            runtime_overhead_bytes={"metal": 256 * MIB},
            overhead_source="MLX/Metal process (Python, mlx runtime, command buffers): ~0.25 GiB",
            source="ml-explore/mlx-lm mlx_lm/models/cache.py (KV grows in 256-token steps; rotating cache "
            "for sliding-window layers), mlx_lm/generate.py (--kv-bits, prefill_step_size 2048)",
        ),
        EngineProfile(
            name="transformers", aliases=("hf", "huggingface", "bitsandbytes", "bnb"), weights="tensor",
            formats=("BF16", "FP16", "FP32", "NF4", "NF4-DQ", "INT8", "AWQ", "GPTQ", "GPTQ-8BIT"),
            default_quant="BF16", kv_types=("bf16", "f16"), default_kv="bf16",
            backends=("cuda", "rocm", "metal", "cpu"),
            runtime_overhead_bytes={"cuda": 600 * MIB, "rocm": 600 * MIB, "metal": 256 * MIB, "cpu": 0},
            overhead_source="CUDA context + cuBLAS workspace + PyTorch caching-allocator slack (~0.6 GiB)",
            source="transformers DynamicCache (grows with the sequence; sliding layers keep the window)",
        ),
        EngineProfile(
            name="exllamav2", aliases=("exl2", "tabbyapi", "exllama"), weights="tensor",
            formats=("EXL2", "FP16", "BF16"), default_quant="EXL2-4.0",
            kv_types=("f16", "q8", "q6", "q4"), kv_type_names={"q8": "exl2-q8", "q6": "exl2-q6", "q4": "exl2-q4"},
            ctx_pad=256, backends=("cuda", "rocm"),
            runtime_overhead_bytes={"cuda": 500 * MIB, "rocm": 500 * MIB},
            overhead_source="CUDA context + PyTorch allocator (~0.5 GiB)",
            source="turboderp/exllamav2 cache.py (ExLlamaV2Cache, _Q8/_Q6/_Q4 variants; pages of 256 tokens)",
        ),
    )
}
_ENGINE_INDEX = {a: e for e in ENGINES.values() for a in (e.name, *e.aliases)}


def get_engine(name: str) -> EngineProfile:
    e = _ENGINE_INDEX.get(name.strip().lower())
    if e is None:
        raise UnknownName("engine", name, ENGINES)
    return e


def check_quant_for_engine(engine: EngineProfile, quant: QuantScheme) -> None:
    """A quant the engine cannot load is an error that lists what it does load."""
    ok: bool
    if isinstance(quant, GGUFFileType):
        ok = engine.weights == "gguf"
    else:
        name = "EXL2" if quant.name.startswith("EXL2") else quant.name
        ok = engine.weights == "tensor" and name in engine.formats
    if not ok:
        shown = [f for f in engine.formats if f in ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M")] \
            if engine.weights == "gguf" else list(engine.formats)
        raise InvalidInput(
            f"{engine.name} does not load {quant.name} weights; it takes "
            + (", ".join(shown) + " and the other GGUF types" if engine.weights == "gguf" else ", ".join(shown))
        )


__all__ = ["BACKENDS", "ENGINES", "KV_ELEMENT_BYTES", "TENSOR_FORMATS", "EngineProfile", "get_engine"]
