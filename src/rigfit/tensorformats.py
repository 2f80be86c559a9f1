"""The other engines' weight formats (AWQ, GPTQ, bitsandbytes, MLX, EXL2, FP8, NVFP4, MXFP4, plain dtypes):
group-quantization geometries applied to linear layers, with embeddings and output heads as each engine stores
them.  ``quant`` resolves names to these or to llama.cpp's file types."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from .errors import InvalidInput


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupGeometry:
    """Integer weights in groups along the input dimension, with per-group scale (and zero) metadata.

    bytes(out, in) = out*in*bits/8 + out*ceil(in/group)*(scale_bits+zero_bits)/8
                     + out*row_bits/8 + in*col_bits/8 + tensor_bytes
    """

    bits: int
    group_size: int = 0  # 0: no groups (a plain dtype)
    scale_bits: int = 0
    zero_bits: int = 0
    row_bits: int = 0  # per output row (LLM.int8 row scales, FP8 per-channel)
    col_bits: int = 0  # per input column (GPTQ g_idx)
    tensor_bytes: int = 0  # per tensor (FP8 per-tensor scale)
    extra_bits_per_weight: Fraction = Fraction(0)  # second-level metadata (bitsandbytes double quant)

    def matrix_bytes(self, rows: int, cols: int) -> int:
        bits = Fraction(rows * cols * self.bits) + self.extra_bits_per_weight * rows * cols
        if self.group_size:
            groups = -(-cols // self.group_size)
            bits += rows * groups * (self.scale_bits + self.zero_bits)
        bits += rows * self.row_bits + cols * self.col_bits
        return -(-bits.numerator // (8 * bits.denominator)) + self.tensor_bytes

    @property
    def bits_per_weight(self) -> Fraction:
        """Per weight for a large matrix (row/column/tensor terms vanish)."""
        b = Fraction(self.bits) + self.extra_bits_per_weight
        if self.group_size:
            b += Fraction(self.scale_bits + self.zero_bits, self.group_size)
        return b


BF16 = GroupGeometry(bits=16)
F32 = GroupGeometry(bits=32)


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorFormat:
    """A non-GGUF weight format: geometry for linear layers, embeddings and the output head."""

    name: str
    linear: GroupGeometry
    embedding: GroupGeometry = BF16
    head: GroupGeometry = BF16
    embeddings_on_host: bool = False  # exllamav2 keeps the embedding table in system RAM
    experts: GroupGeometry | None = None  # routed experts in their own geometry (None: as ``linear``)
    checkpoint_only: bool = False  # engines load it from a checkpoint published in it; none quantizes to it
    attention: GroupGeometry | None = None  # attention / token-mixer matrices in their own geometry
    delta_net: TensorFormat | None = None  # the layout its Gated DeltaNet hybrids' checkpoints use instead
    promoted: GroupGeometry | None = None  # the wider type quantization-sensitive projections are raised to
    promoted_tensors: tuple[str, ...] = ()  # those projections' name endings (checked before ``experts``)
    promoted_layers: frozenset[int] | None = None  # the layers whose projections are raised (None: every layer)
    kept_tensors: tuple[str, ...] = ()  # linear weights left at source precision (BF16)
    # architectures its quantizer treats apart: token embeddings at the head's type, and the projections raised
    # in some layers only (Ollama's per-model policies); ``for_arch`` applies them
    arch_embedding: tuple[str, ...] = ()
    arch_layered: tuple[str, ...] = ()
    source: str = ""

    @property
    def kind(self) -> str:
        return "tensor"

    def for_arch(self, arch: str, n_layers: int) -> TensorFormat:
        """The format as its quantizer applies it to one architecture (itself for most)."""
        if arch not in self.arch_embedding:
            return self
        layers = frozenset(i for i in range(n_layers) if more_bits_layer(i, n_layers)) \
            if arch in self.arch_layered else None
        return replace(self, embedding=self.head, promoted_layers=layers, arch_embedding=(), arch_layered=())


def more_bits_layer(i: int, n_layers: int) -> bool:
    """Ollama's useMoreBits (x/create/quantpolicy.go): the first and last eighth of the layers and every third
    layer between keep their sensitive projections at 8 bits."""
    first, last = n_layers // 8, 7 * n_layers // 8
    return i < first or i >= last or (i - first) % 3 == 2


def _fmt(name: str, linear: GroupGeometry, source: str, **kw: object) -> TensorFormat:
    return TensorFormat(name=name, linear=linear, source=source, **kw)  # type: ignore[arg-type]


def _mlx(bits: int) -> TensorFormat:
    g = GroupGeometry(bits=bits, group_size=64, scale_bits=16, zero_bits=16)
    return _fmt(f"MLX-{bits}BIT", g, "mlx.core.quantize docs: affine, group 64, fp16 scale and bias; "
                "mlx_lm quantizes Linear and Embedding layers", embedding=g, head=g)


# mlx-lm's floating-point modes (mlx_lm/convert.py --q-mode affine|mxfp4|nvfp4|mxfp8; mlx_lm/utils.py
# quantize_model defaults_for_mode: mxfp4 group 32 / 4 bits, nvfp4 group 16 / 4 bits, mxfp8 group 32 / 8 bits;
# ml-explore/mlx-lm d78bf58, 2026-08-22): E2M1 or E4M3 elements with one 8-bit scale per group (E8M0 for the MX
# modes, E4M3 for nvfp4) and no bias, on every Linear and Embedding as the affine modes
MLX_FP_MODES = {"MXFP4": (4, 32), "NVFP4": (4, 16), "MXFP8": (8, 32)}


def _mlx_fp(mode: str) -> TensorFormat:
    bits, group = MLX_FP_MODES[mode]
    g = GroupGeometry(bits=bits, group_size=group, scale_bits=8)
    return _fmt(f"MLX-{mode}", g, f"mlx-lm --q-mode {mode.lower()}: {bits}-bit floats, an 8-bit scale per "
                f"{group}, no bias (mlx_lm/utils.py quantize_model, d78bf58); Linear and Embedding layers alike",
                embedding=g, head=g)


# Kimi K2 Thinking's native format as MLX runs it (mlx-community/Kimi-K2-Thinking): the routed experts in
# INT4 (quantization-aware trained, weight-only, group 32 with 16-bit scale and bias), every other weight in
# BF16 (moonshotai/Kimi-K2-Thinking model card: "INT4 weight-only quantization to the MoE components");
# exo's model card lists 706.5 GB for it (resources/inference_model_cards/mlx-community--Kimi-K2-Thinking.toml)
_MOE_INT4 = TensorFormat(name="MLX-4BIT-MOE", linear=BF16, experts=GroupGeometry(bits=4, group_size=32, scale_bits=16,
                                                                                 zero_bits=16),
                         source="Kimi K2 Thinking native INT4: routed experts 4-bit (group 32), the rest BF16 "
                         "(moonshotai model card; mlx-community/Kimi-K2-Thinking)")

# gpt-oss's published format (openai/gpt-oss-20b and -120b model cards: the MoE weights in MXFP4, 90 % of the
# parameters, every other tensor in BF16).  MXFP4 is the OCP Microscaling format (OCP MX specification v1.0,
# 2023): blocks of 32 FP4 (E2M1) elements sharing one 8-bit power-of-two (E8M0) scale, 4.25 bits/weight; the
# checkpoint stores them as the *_blocks and *_scales tensors vLLM's Mxfp4 method loads
# (vllm/model_executor/layers/quantization/mxfp4.py).  vLLM does not quantize a 16-bit model to it.
_MXFP4_EXPERTS = TensorFormat(name="MXFP4", linear=BF16, experts=GroupGeometry(bits=4, group_size=32, scale_bits=8),
                              checkpoint_only=True,
                              source="OCP MX v1.0 MXFP4 (E2M1, an E8M0 scale per 32) on the routed experts, the "
                              "rest BF16: gpt-oss's published checkpoint (openai/gpt-oss model cards)")

# NVFP4 as NVIDIA publishes the Gated DeltaNet hybrids (nvidia/Qwen3.6-35B-A3B-NVFP4, nvidia/Qwen3.6-27B-NVFP4):
# Model Optimizer's recipe huggingface/qwen3_5/ptq/w4a16_nvfp4-fp8_attn-kv_fp8_cast (and its qwen3_5_moe twin)
# puts NVFP4 on the MLP / expert projections and lm_head, FP8 with per-tensor scales on self-attention q/k/v/o
# and the linear-attention in_proj_qkv / in_proj_z / out_proj, and leaves in_proj_a / in_proj_b, conv1d, the
# routers and the embeddings in BF16 (NVIDIA/Model-Optimizer modelopt_recipes README, "Architecture-aware
# quant_cfg"; a ModelOpt 0.46 re-quantization's census: 193 NVFP4, 208 FP8, 257 BF16 tensors for a 27B)
_NVFP4 = GroupGeometry(bits=4, group_size=16, scale_bits=8, tensor_bytes=8)
_NVFP4_DELTA_NET = TensorFormat(name="NVFP4", linear=_NVFP4, head=_NVFP4,
                                attention=GroupGeometry(bits=8, tensor_bytes=8),
                                source="NVIDIA Model Optimizer recipe w4a16_nvfp4-fp8_attn-kv_fp8_cast "
                                "(Qwen3.5 / 3.6): NVFP4 MLPs, experts and lm_head; FP8 attention and "
                                "linear-attention projections; BF16 embeddings, routers, in_proj_a/b, conv1d")

# Ollama's MLX runner (Ollama 0.19+ on Apple silicon) loads safetensors models that ``ollama create --quantize``
# wrote in one of five MLX modes (ollama/ollama x/quant/quant.go at fb30760, 2026-08-21): nvfp4 (E2M1, an FP8
# E4M3 scale per 16), mxfp4 (an E8M0 scale per 32), mxfp8 (8-bit, an E8M0 scale per 32), int4 and int8 (affine,
# a bf16 scale and bias per 64).  Its policy (x/create/create.go GetTensorQuantization, ShouldQuantize;
# x/create/qwen35.go): embeddings, norms, biases, routers and tensors under 1,024 elements stay BF16; lm_head
# takes the family's 8-bit type (int8 for int4 / int8, mxfp8 for the FP modes); with int4 (every projection)
# and nvfp4 / mxfp4 (outside the routed experts, "their kernels take a single mode") the k, v and down
# projections are raised to that 8-bit type; Qwen3.5's low-rank linear-attention projections (in_proj_a / b)
# stay at source precision.  Gemma 4, Laguna, Cohere2-MoE and Nemotron-H store their token embeddings at 8 bits
# (x/create/gemma4.go, laguna.go, cohere2moe.go, nemotron_h.go); Gemma 4, Cohere2-MoE and Nemotron-H raise their
# sensitive projections in the useMoreBits layers only (TensorFormat.for_arch; the finer cases, Gemma 4's k
# projections kept at the base type and Laguna's attention and expert rules, are priced as the general policy).
_OLLAMA_SOURCE = "Ollama MLX runner: ollama/ollama x/quant/quant.go, x/create/create.go (fb30760, 2026-08-21)"
_OLLAMA_KEPT = ("ssm_alpha.weight", "ssm_beta.weight", "ssm_ba.weight", "ssm_conv1d.weight")
_OLLAMA_RAISED = ("attn_k.weight", "attn_v.weight", "ffn_down.weight", "ffn_down_shexp.weight")
_MX8 = GroupGeometry(bits=8, group_size=32, scale_bits=8)
_AFFINE8 = GroupGeometry(bits=8, group_size=64, scale_bits=16, zero_bits=16)


def _ollama(mode: str, linear: GroupGeometry, eight: GroupGeometry, raised: tuple[str, ...]) -> TensorFormat:
    return TensorFormat(name=f"OLLAMA-{mode}", linear=linear, head=eight, promoted=eight if raised else None,
                        promoted_tensors=raised, kept_tensors=_OLLAMA_KEPT,
                        arch_embedding=("gemma4", "laguna", "cohere2moe", "nemotron_h"),
                        arch_layered=("gemma4", "cohere2moe", "nemotron_h"),
                        source=f"{_OLLAMA_SOURCE}: {mode.lower()}, lm_head {'int8' if eight is _AFFINE8 else 'mxfp8'}"
                        + (", k / v / down projections at 8 bits" if raised else ""))


OLLAMA_MLX_FORMATS = (
    _ollama("NVFP4", GroupGeometry(bits=4, group_size=16, scale_bits=8), _MX8, _OLLAMA_RAISED),
    _ollama("MXFP4", GroupGeometry(bits=4, group_size=32, scale_bits=8), _MX8, _OLLAMA_RAISED),
    _ollama("MXFP8", _MX8, _MX8, ()),
    _ollama("INT4", GroupGeometry(bits=4, group_size=64, scale_bits=16, zero_bits=16), _AFFINE8,
            (*_OLLAMA_RAISED, "ffn_down_exps.weight")),
    _ollama("INT8", _AFFINE8, _AFFINE8, ()),
)

TENSOR_FORMATS: dict[str, TensorFormat] = {
    f.name: f
    for f in (
        _MOE_INT4, _MXFP4_EXPERTS,
        _fmt("FP32", F32, "torch float32", embedding=F32, head=F32),
        _fmt("FP16", GroupGeometry(bits=16), "torch float16"),
        _fmt("BF16", BF16, "torch bfloat16 (the usual checkpoint dtype)"),
        _fmt("FP8", GroupGeometry(bits=8, row_bits=32), "vLLM fp8 (e4m3) with per-channel fp32 scales; "
             "embeddings and lm_head stay 16-bit (vllm/model_executor/layers/quantization/fp8.py)"),
        _fmt("AWQ", GroupGeometry(bits=4, group_size=128, scale_bits=16, zero_bits=4),
             "AutoAWQ GEMM: 4-bit, group 128, fp16 scales, packed 4-bit zeros (qzeros)"),
        _fmt("GPTQ", GroupGeometry(bits=4, group_size=128, scale_bits=16, zero_bits=4, col_bits=32),
             "AutoGPTQ/GPTQModel: qweight 4-bit, qzeros 4-bit and fp16 scales per group 128, int32 g_idx"),
        _fmt("GPTQ-8BIT", GroupGeometry(bits=8, group_size=128, scale_bits=16, zero_bits=8, col_bits=32),
             "GPTQ 8-bit, group 128"),
        _fmt("NF4", GroupGeometry(bits=4, group_size=64, scale_bits=32),
             "bitsandbytes quantize_4bit: blocksize 64, fp32 absmax (4.5 bits/weight); only nn.Linear"),
        _fmt("NF4-DQ", GroupGeometry(bits=4, group_size=64, scale_bits=8,
                                     extra_bits_per_weight=Fraction(32, 64 * 256)),
             "bitsandbytes double quant: 8-bit absmax per 64, fp32 per 256 absmax blocks (QLoRA, 4.127 bits)"),
        _fmt("INT8", GroupGeometry(bits=8, row_bits=32),
             "int8 weights + an fp32 scale per output row: bitsandbytes LLM.int8() (SCB) and compressed-tensors "
             "W8A8 channel-wise checkpoints alike; lm_head kept 16-bit"),
        _fmt("INT4", GroupGeometry(bits=4, group_size=128, scale_bits=16),
             "compressed-tensors W4A16 (llm-compressor's usual scheme): symmetric int4 packed in int32, "
             "a bf16 scale per group of 128, no zero point; lm_head kept 16-bit"),
        _fmt("NVFP4", _NVFP4,
             "NVIDIA ModelOpt / compressed-tensors NVFP4: E2M1 values, an FP8 (E4M3) scale per 16 and two fp32 "
             "global scales per tensor (4.5 bits/weight); embeddings and lm_head kept 16-bit; Qwen3.5 / 3.6 "
             "hybrids in NVIDIA's own layout (delta_net)", delta_net=_NVFP4_DELTA_NET),
        _mlx(3), _mlx(4), _mlx(6), _mlx(8), *(_mlx_fp(m) for m in MLX_FP_MODES), *OLLAMA_MLX_FORMATS,
    )
}
TENSOR_ALIASES = {
    "FLOAT16": "FP16", "HALF": "FP16", "BFLOAT16": "BF16", "FLOAT32": "FP32", "AWQ-4BIT": "AWQ",
    "GPTQ-4BIT": "GPTQ", "GPTQ-INT4": "GPTQ", "GPTQ-INT8": "GPTQ-8BIT", "BNB-NF4": "NF4",
    "BNB-4BIT": "NF4-DQ", "QLORA": "NF4-DQ", "BNB-INT8": "INT8", "LLM.INT8": "INT8", "MLX-4": "MLX-4BIT",
    "MLX-8": "MLX-8BIT", "MLX4": "MLX-4BIT", "MLX8": "MLX-8BIT", "FP8-E4M3": "FP8", "W8A8": "INT8",
    "W8A8-INT8": "INT8", "W4A16": "INT4", "INT4-W4A16": "INT4", "GPTQ4": "GPTQ", "AWQ-INT4": "AWQ",
    "NVFP4-W4A4": "NVFP4", "MXFP4_MOE": "MXFP4",
    # AutoRound int4 checkpoints are GPTQ-packed (quantization_config packing_format "auto_round:auto_gptq")
    "AUTOROUND": "GPTQ", "AUTO-ROUND": "GPTQ", "INT4-AUTOROUND": "GPTQ",
}

EXL2_HEAD_BITS = 6  # exllamav2 convert.py default -hb 6


def exl2_format(bpw: float) -> TensorFormat:
    """EXL2 at ``bpw`` average bits (the target already includes its scales, exllamav2 convert.py)."""
    if not 2.0 <= bpw <= 8.0:
        raise InvalidInput(f"EXL2 bits per weight {bpw} is outside exllamav2's range 2.0-8.0")
    frac = Fraction(bpw).limit_denominator(100)
    lin = GroupGeometry(bits=0, extra_bits_per_weight=frac)
    return TensorFormat(
        name=f"EXL2-{bpw:g}", linear=lin, embedding=BF16, head=GroupGeometry(bits=EXL2_HEAD_BITS),
        embeddings_on_host=True, source="exllamav2: mixed-bit rows averaging the target bpw; 6-bit head; "
        "embedding table in system RAM (exllamav2/embedding.py)",
    )
