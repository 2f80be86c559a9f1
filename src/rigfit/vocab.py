"""rigfit's vocabularies as ``StrEnum``s: each member is its own JSON string, so documents stay as they were
while code compares members, never message text."""

from __future__ import annotations

from enum import StrEnum


class Backend(StrEnum):
    """The compute backend an engine runs on a device (llama.cpp's ggml backends; vLLM on CUDA/ROCm)."""

    CUDA = "cuda"
    ROCM = "rocm"
    METAL = "metal"
    VULKAN = "vulkan"
    SYCL = "sycl"
    CPU = "cpu"

    @property
    def discrete(self) -> bool:
        """A backend with its own device memory (a PCIe card): weights are uploaded, the host keeps what the
        engine leaves behind."""
        return self in (Backend.CUDA, Backend.ROCM, Backend.VULKAN, Backend.SYCL)


class WeightFormat(StrEnum):
    """How an engine stores weights: GGUF files (llama.cpp family) or tensor checkpoints (safetensors)."""

    GGUF = "gguf"
    TENSOR = "tensor"


class DeviceKind(StrEnum):
    GPU = "gpu"  # a card with its own memory
    APPLE = "apple"  # an Apple silicon chip configuration (unified memory)
    SOC = "soc"  # another unified-memory system (Strix Halo, DGX Spark, Jetson)
    CPU = "cpu"  # a CPU platform and its RAM


class Vendor(StrEnum):
    NVIDIA = "nvidia"
    AMD = "amd"
    INTEL = "intel"
    APPLE = "apple"
    OTHER = "other"

    @classmethod
    def of(cls, text: str) -> Vendor:
        """The vendor a name or string starts with or names (``"AMD Ryzen 9"`` -> AMD), else OTHER."""
        t = text.strip().lower()
        return next((v for v in cls if v != cls.OTHER and (t == v or t.startswith(v + " ") or f" {v} " in f" {t} ")),
                    cls.OTHER)


class Form(StrEnum):
    DESKTOP = "desktop"
    LAPTOP = "laptop"
    WORKSTATION = "workstation"
    DATACENTER = "datacenter"
    MINI = "mini"
    EMBEDDED = "embedded"
    SERVER = "server"
    HEDT = "hedt"
    SOC = "soc"


class Target(StrEnum):
    """A target of the advisor that a build can miss."""

    DECODE = "decode_speed"
    FIRST_TOKEN = "first_token"
    EPOCH = "epoch_time"
    BUDGET = "budget"


class WorkloadKind(StrEnum):
    INFERENCE = "inference"
    TRAINING = "training"


class Component(StrEnum):
    """What an item of memory is for."""

    WEIGHTS = "weights"
    KV_CACHE = "kv_cache"
    COMPUTE = "compute"
    OVERHEAD = "overhead"
    GRADIENTS = "gradients"  # training only
    OPTIMIZER = "optimizer"  # training only
    ACTIVATIONS = "activations"  # training only (inference activations are compute buffers)


class Location(StrEnum):
    """Where an item of memory lives before placement: on the accelerator or in system RAM."""

    DEVICE = "device"
    HOST = "host"


class Verdict(StrEnum):
    """Where a model runs on the hardware, best first."""

    GPU = "gpu"
    PARTIAL_OFFLOAD = "partial_offload"
    CPU = "cpu"
    DOES_NOT_FIT = "does_not_fit"

    @property
    def rank(self) -> int:
        """0 is best; a plan with a lower rank runs better."""
        return _VERDICT_ORDER.index(self)

    @property
    def label(self) -> str:
        return _VERDICT_LABEL[self]

    @property
    def short(self) -> str:
        """For a table column."""
        return _VERDICT_SHORT[self]


_VERDICT_ORDER = tuple(Verdict)
_VERDICT_LABEL = {Verdict.GPU: "runs fully on the GPU",
                  Verdict.PARTIAL_OFFLOAD: "runs with part of the model in system RAM",
                  Verdict.CPU: "runs on the CPU only", Verdict.DOES_NOT_FIT: "does NOT fit"}
_VERDICT_SHORT = {Verdict.GPU: "GPU", Verdict.PARTIAL_OFFLOAD: "offload", Verdict.CPU: "CPU",
                  Verdict.DOES_NOT_FIT: "no"}


class Role(StrEnum):
    """What a device does in a placement."""

    GPU = "gpu"  # a discrete accelerator with its own memory
    UNIFIED = "unified"  # a GPU sharing memory with the CPU (Apple, Strix Halo, DGX Spark)
    CPU = "cpu"  # the CPU, from system RAM


class Split(StrEnum):
    """How a placement spreads the model over devices."""

    NONE = "none"
    LAYER = "layer"
    ROW = "row"
    TENSOR = "tensor"
    PIPELINE = "pipeline"
    TENSOR_PIPELINE = "tensor+pipeline"
    UNIFIED = "unified"
    CPU = "cpu"


class LayerKind(StrEnum):
    """What a repeating block caches per token."""

    FULL = "full"  # attention over the whole context
    SLIDING = "sliding"  # attention over a window
    RECURRENT = "recurrent"  # a fixed-size state per sequence (Mamba, linear attention)
    NONE = "none"  # no token mixer, nothing cached (an MLP-only block of Nemotron-H)


class ClusterMode(StrEnum):
    """How a plan across several machines splits the model."""

    PIPELINE = "pipeline"  # contiguous layers per node, one node after the other for each token
    TENSOR = "tensor"  # every layer sharded over the nodes, an all-reduce after attention and after the MLP


class PlacementStyle(StrEnum):
    """How an engine spreads a model over several accelerators."""

    LAYER_SPLIT = "layer_split"  # contiguous runs of layers per GPU (llama.cpp, transformers, exllamav2)
    TENSOR_PARALLEL = "tensor_parallel"  # every layer sharded over tp GPUs, stages over pp (vLLM)
    UNIFIED_ONLY = "unified_only"  # one unified-memory device (MLX on Apple silicon)


class CpuIsa(StrEnum):
    """A CPU's widest integer SIMD, which sets how many int8 products a core's quantized dot-product kernels do
    per clock (ggml-cpu's Q4/Q8 x Q8 dot products: 128-bit SSSE3/AVX, 256-bit AVX2, 512-bit AVX-512; on Arm,
    128-bit NEON widening multiplies, the ARMv8.2 SDOT dot products, the ARMv8.6 SMMLA matrix multiplies)."""

    AVX = "avx"  # Sandy Bridge / Ivy Bridge: 256-bit floating point, 128-bit integer
    AVX2 = "avx2"  # Haswell to Raptor Lake, Zen 1-3: 256-bit integer
    AVX512 = "avx512"  # Skylake-SP and later Xeons, Rocket Lake, Zen 4-5: 512-bit integer
    NEON = "neon"  # Armv8.0 cores without dot products (Cortex-A53 / A72: Raspberry Pi 3 / 4)
    DOTPROD = "dotprod"  # Armv8.2 SDOT / UDOT (Cortex-A55 / A76 / A78, X1: Raspberry Pi 5, RK3588, Snapdragon 888)
    I8MM = "i8mm"  # Armv8.6 / v9 SMMLA (Cortex-A710 / X2 and later, Oryon: Snapdragon 8 Gen 1 on)


class DecodeKernel(StrEnum):
    """The kind of kernel an engine's one-token (decode) attention runs for a layer, as the speed model prices it."""

    VECTOR = "vector"  # reads the cache as stored; its arithmetic priced at the ALU rate (a_at)
    MATRIX = "matrix"  # reads an F16 cache (another type converted into a copy each step); arithmetic on matrix units
    TILE = "tile"  # reads an F16 cache as MATRIX does; its arithmetic on the shader ALUs


class SpeedClass(StrEnum):
    """Which fitted speed model an engine's kernels follow."""

    LLAMA_CPP = "llama.cpp"
    OLLAMA = "ollama"
    LLAMAFILE = "llamafile"
    VLLM = "vllm"
    MLX = "mlx"
    TRANSFORMERS = "transformers"
    EXLLAMAV2 = "exllamav2"


__all__ = ["Backend", "Component", "CpuIsa", "DecodeKernel", "DeviceKind", "Form", "LayerKind", "Location",
           "PlacementStyle", "Role", "SpeedClass", "Split", "Target", "Vendor", "Verdict", "WeightFormat",
           "WorkloadKind"]
