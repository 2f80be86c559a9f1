"""Quantization: ggml block geometry, llama.cpp file-type mixtures, and the other engines' formats.

* ggml tensor types are stored as (elements per block, bytes per block); bits per weight are derived,
  never typed.  Table: ``gguf/constants.py`` ``GGML_QUANT_SIZES`` (gguf 0.19.0 = llama.cpp gguf-py);
  ``tests/test_quant.py`` checks it against the installed ``gguf`` package.
* llama.cpp file types ("Q4_K_M", ...) are *mixtures*: a default tensor type plus per-tensor rules.
  ``ggml_types_for`` follows ``llama_tensor_get_type_impl`` / ``tensor_type_fallback`` in
  ``src/llama-quant.cpp`` (ggml-org/llama.cpp @007dbbf, 2026).
* Other engines' formats (AWQ, GPTQ, bitsandbytes, MLX, EXL2, FP8, plain dtypes) live in ``tensorformats``;
  ``resolve_quant`` turns a name into either kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .errors import InvalidInput, UnknownQuant
from .tensorformats import TENSOR_ALIASES, TENSOR_FORMATS, TensorFormat, exl2_format

if TYPE_CHECKING:
    from .models.spec import ModelSpec
    from .models.tensor import Tensor


# ---------------------------------------------------------------------------------------------
# ggml tensor types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GGMLType:
    """One ggml tensor type: ``block_size`` elements stored in ``type_size`` bytes."""

    name: str
    type_id: int
    block_size: int
    type_size: int

    @property
    def bits_per_weight(self) -> Fraction:
        return Fraction(8 * self.type_size, self.block_size)

    @property
    def is_quantized(self) -> bool:
        return self.block_size > 1

    def row_bytes(self, n_elements: int) -> int:
        """Bytes of one row of ``n_elements`` (ggml_row_size); the row must hold whole blocks."""
        if n_elements % self.block_size:
            raise InvalidInput(
                f"a row of {n_elements} elements is not a whole number of {self.name} blocks ({self.block_size})"
            )
        return n_elements // self.block_size * self.type_size


# (name, ggml type id, block size, bytes per block) -- gguf-py constants.py, GGML_QUANT_SIZES.
_GGML_TABLE: tuple[tuple[str, int, int, int], ...] = (
    ("F32", 0, 1, 4), ("F16", 1, 1, 2), ("Q4_0", 2, 32, 18), ("Q4_1", 3, 32, 20),
    ("Q5_0", 6, 32, 22), ("Q5_1", 7, 32, 24), ("Q8_0", 8, 32, 34), ("Q8_1", 9, 32, 40),
    ("Q2_K", 10, 256, 84), ("Q3_K", 11, 256, 110), ("Q4_K", 12, 256, 144), ("Q5_K", 13, 256, 176),
    ("Q6_K", 14, 256, 210), ("Q8_K", 15, 256, 292), ("IQ2_XXS", 16, 256, 66), ("IQ2_XS", 17, 256, 74),
    ("IQ3_XXS", 18, 256, 98), ("IQ1_S", 19, 256, 50), ("IQ4_NL", 20, 32, 18), ("IQ3_S", 21, 256, 110),
    ("IQ2_S", 22, 256, 82), ("IQ4_XS", 23, 256, 136), ("I8", 24, 1, 1), ("I16", 25, 1, 2),
    ("I32", 26, 1, 4), ("I64", 27, 1, 8), ("F64", 28, 1, 8), ("IQ1_M", 29, 256, 56),
    ("BF16", 30, 1, 2), ("TQ1_0", 34, 256, 54), ("TQ2_0", 35, 256, 66), ("MXFP4", 39, 32, 17),
    ("NVFP4", 40, 64, 36), ("Q1_0", 41, 128, 18),
)

GGML_TYPES: dict[str, GGMLType] = {
    n: GGMLType(name=n, type_id=i, block_size=b, type_size=s) for n, i, b, s in _GGML_TABLE
}
_GGML_BY_ID: dict[int, GGMLType] = {t.type_id: t for t in GGML_TYPES.values()}


def ggml_type(name: str) -> GGMLType:
    t = GGML_TYPES.get(name.upper())
    if t is None:
        raise UnknownQuant(name, GGML_TYPES, hint="ggml tensor type")
    return t


def ggml_type_by_id(type_id: int) -> GGMLType:
    t = _GGML_BY_ID.get(type_id)
    if t is None:
        raise InvalidInput(f"unknown ggml tensor type id {type_id}")
    return t


# ---------------------------------------------------------------------------------------------
# llama.cpp file types (mixtures)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GGUFFileType:
    """A llama.cpp ``--ftype`` (or a common community variant of one)."""

    name: str
    ftype_id: int  # general.file_type (LlamaFileType); variants share their base id
    default: str  # llama_ftype_get_default_type
    base: str  # the llama.cpp ftype whose mixture rules apply
    output_type: str | None = None  # --output-tensor-type override (bartowski's *_L files use Q8_0)
    token_embd_type: str | None = None  # --token-embedding-type override
    imatrix: bool = False  # quantized with an importance matrix (changes a few IQ/Q4_0 rules)
    note: str = ""

    @property
    def kind(self) -> str:
        return "gguf"


# (name, ftype id, default ggml type) -- llama_ftype_get_default_type in src/llama-quant.cpp.
_FTYPES: tuple[tuple[str, int, str], ...] = (
    ("F32", 0, "F32"), ("F16", 1, "F16"), ("BF16", 32, "BF16"), ("Q8_0", 7, "Q8_0"),
    ("Q6_K", 18, "Q6_K"), ("Q5_K_M", 17, "Q5_K"), ("Q5_K_S", 16, "Q5_K"), ("Q5_1", 9, "Q5_1"),
    ("Q5_0", 8, "Q5_0"), ("Q4_K_M", 15, "Q4_K"), ("Q4_K_S", 14, "Q4_K"), ("Q4_1", 3, "Q4_1"),
    ("Q4_0", 2, "Q4_0"), ("IQ4_XS", 30, "IQ4_XS"), ("IQ4_NL", 25, "IQ4_NL"), ("Q3_K_L", 13, "Q3_K"),
    ("Q3_K_M", 12, "Q3_K"), ("Q3_K_S", 11, "Q3_K"), ("IQ3_M", 27, "IQ3_S"), ("IQ3_S", 26, "IQ3_S"),
    ("IQ3_XS", 22, "IQ3_S"), ("IQ3_XXS", 23, "IQ3_XXS"), ("Q2_K", 10, "Q2_K"), ("Q2_K_S", 21, "Q2_K"),
    ("IQ2_M", 29, "IQ2_S"), ("IQ2_S", 28, "IQ2_XS"), ("IQ2_XS", 20, "IQ2_XS"), ("IQ2_XXS", 19, "IQ2_XXS"),
    ("IQ1_M", 31, "IQ1_M"), ("IQ1_S", 24, "IQ1_S"), ("TQ2_0", 37, "TQ2_0"), ("TQ1_0", 36, "TQ1_0"),
    ("MXFP4_MOE", 38, "MXFP4"), ("NVFP4", 39, "NVFP4"),
)

GGUF_FILE_TYPES: dict[str, GGUFFileType] = {
    n: GGUFFileType(name=n, ftype_id=i, default=d, base=n, imatrix=n.startswith("IQ"))
    for n, i, d in _FTYPES
}
# Community variants seen on the Hub: bartowski's "_L"/"_XL" files keep output and token
# embeddings at Q8_0; ARM repacks ("Q4_0_4_4"...) have Q4_0's geometry.
for _name, _base in (("Q6_K_L", "Q6_K"), ("Q5_K_L", "Q5_K_M"), ("Q4_K_L", "Q4_K_M"),
                     ("Q3_K_XL", "Q3_K_L"), ("Q2_K_L", "Q2_K")):
    _b = GGUF_FILE_TYPES[_base]
    GGUF_FILE_TYPES[_name] = GGUFFileType(
        name=_name, ftype_id=_b.ftype_id, default=_b.default, base=_base, output_type="Q8_0",
        token_embd_type="Q8_0", note=f"{_base} with Q8_0 output and token embeddings (bartowski)",
    )
# unsloth "Dynamic 2.0" (UD) files: per-layer mixtures unsloth does not publish as rules; modelled as the
# base K/IQ mixture with Q8_0 output and embeddings (their dense-model files are within about 5 % of the base
# type's, e.g. Qwen3-32B UD-Q4_K_XL 20.0 GB vs Q4_K_M 19.8 GB on unsloth's model pages).  Q8_K_XL keeps its
# upcast tensors in BF16.
for _name, _base, _hi in (("UD-Q8_K_XL", "Q8_0", "BF16"), ("UD-Q6_K_XL", "Q6_K", "Q8_0"),
                          ("UD-Q5_K_XL", "Q5_K_M", "Q8_0"), ("UD-Q4_K_XL", "Q4_K_M", "Q8_0"),
                          ("UD-Q3_K_XL", "Q3_K_M", "Q8_0"), ("UD-Q2_K_XL", "Q2_K", "Q8_0"),
                          ("UD-IQ3_XXS", "IQ3_XXS", "Q8_0"), ("UD-IQ2_M", "IQ2_M", "Q8_0"),
                          ("UD-IQ2_XXS", "IQ2_XXS", "Q8_0"), ("UD-IQ1_M", "IQ1_M", "Q8_0"),
                          ("UD-IQ1_S", "IQ1_S", "Q8_0"), ("UD-TQ1_0", "TQ1_0", "Q8_0")):
    _b = GGUF_FILE_TYPES[_base]
    GGUF_FILE_TYPES[_name] = GGUFFileType(
        name=_name, ftype_id=_b.ftype_id, default=_b.default, base=_base, output_type=_hi,
        token_embd_type=_hi, imatrix=True, note=f"unsloth dynamic: {_base} with {_hi} output and embeddings",
    )
# unsloth also tags plain-named files of its dynamic method "UD-" (UD-Q6_K, UD-Q3_K_M, UD-IQ4_NL, ...): the same
# model, the base type with Q8_0 output and embeddings
for _name, _i, _d in _FTYPES:
    if f"UD-{_name}" not in GGUF_FILE_TYPES and _d not in ("F32", "F16", "BF16"):
        GGUF_FILE_TYPES[f"UD-{_name}"] = GGUFFileType(
            name=f"UD-{_name}", ftype_id=_i, default=_d, base=_name, output_type="Q8_0", token_embd_type="Q8_0",
            imatrix=True, note=f"unsloth dynamic: {_name} with Q8_0 output and embeddings")
for _short in ("Q8_K_XL", "Q6_K_XL", "Q5_K_XL", "Q4_K_XL", "Q2_K_XL"):  # unsloth's names without "UD-"
    GGUF_FILE_TYPES[_short] = GGUF_FILE_TYPES[f"UD-{_short}"]
for _name in ("Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8"):
    GGUF_FILE_TYPES[_name] = GGUFFileType(
        name=_name, ftype_id=2, default="Q4_0", base="Q4_0", note="Q4_0 repacked for ARM (same size)"
    )
_FTYPE_BY_ID: dict[int, GGUFFileType] = {}
for _ft in GGUF_FILE_TYPES.values():
    _FTYPE_BY_ID.setdefault(_ft.ftype_id, _ft)


def gguf_file_type_by_id(ftype_id: int) -> GGUFFileType | None:
    return _FTYPE_BY_ID.get(ftype_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class MixtureContext:
    """Model facts the llama.cpp mixture rules look at."""

    arch: str
    n_layers: int
    n_gqa: int  # n_head / n_head_kv
    n_expert: int
    is_70b: bool  # llama.cpp LLM_TYPE_70B (80-layer llama/qwen2 models)
    mxfp4_experts: bool = False  # experts published in MXFP4 (gpt-oss): every GGUF of it keeps them so


def mixture_context(spec: ModelSpec) -> MixtureContext:
    """The model facts llama-quantize's rules read (LLM_TYPE_70B: 80-layer llama/qwen2 models)."""
    return MixtureContext(arch=spec.arch, n_layers=spec.n_layers, n_gqa=spec.n_gqa,
                          n_expert=spec.n_experts, is_70b=spec.n_layers == 80 and spec.arch in ("llama", "qwen2"),
                          mxfp4_experts=spec.native_quant == "MXFP4_MOE")


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _fallback(t: Tensor, name: str) -> str:
    """tensor_type_fallback: a type whose blocks do not divide the row length is swapped."""
    ne0 = t.shape[0]
    if ne0 % GGML_TYPES[name].block_size == 0:
        return name
    alt = {
        "IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL", "IQ2_S": "IQ4_NL",
        "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL", "Q2_K": "Q4_0", "Q3_K": "Q4_0",
        "TQ1_0": "Q4_0", "TQ2_0": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
    }.get(name, "F16")
    return alt if ne0 % GGML_TYPES[alt].block_size == 0 else "F16"


def ggml_types_for(tensors: Sequence[Tensor], ft: GGUFFileType, ctx: MixtureContext) -> list[str]:
    """The ggml type llama-quantize gives each tensor of an F16/BF16 GGUF for file type ``ft``.

    Non-quantizable tensors keep the converter's type: F32 for 1-D tensors, biases and MoE routers
    (convert_hf_to_gguf.py), the file's float type otherwise.
    """
    base = ft.base
    float_type = ft.default if not GGML_TYPES[ft.default].is_quantized else "F16"
    quantized = GGML_TYPES[ft.default].is_quantized
    tied = not any(t.name == "output.weight" for t in tensors)
    attn_v_idx = 0
    n_attn_v = sum(1 for t in tensors if t.quant_kind in ("attn_v", "attn_qkv", "attn_kv_b"))
    counters = {"ffn_down": 0, "ffn_gate": 0, "ffn_up": 0}
    n_exp = ctx.n_expert
    iq_low = ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M")
    out: list[str] = []
    for t in tensors:
        cat = t.quant_kind
        if cat == "f32":
            out.append("F32")
            continue
        if ctx.mxfp4_experts and len(t.shape) > 2 and t.shape[2] > 1 and "_exps" in t.name:
            # gpt-oss GGUFs carry the MXFP4 experts through every quant (ggml-org's and unsloth's gpt-oss-120b
            # files are 60-65 GB from F16 to Q2_K); llama-quantize leaves MXFP4 tensors as they are
            out.append("MXFP4")
            continue
        if cat == "float":
            out.append(float_type)
            continue
        if not quantized:
            out.append(ft.default)
            continue
        if cat == "token_embd" and ft.token_embd_type and not tied:
            out.append(ft.token_embd_type)
            continue
        if (cat == "output" or (tied and cat == "token_embd")) and ft.output_type:
            out.append(ft.output_type)
            continue
        new = ft.default
        layer = t.layer if t.layer is not None else 0
        if cat == "output" or (tied and cat == "token_embd"):
            if base == "MXFP4_MOE" or t.shape[0] % GGML_TYPES[new].block_size:
                new = "Q8_0"
            elif base in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
                new = "Q5_K"
            elif new != "Q8_0":
                new = "Q6_K"
        elif base == "MXFP4_MOE":
            new = "MXFP4" if len(t.shape) > 2 and t.shape[2] > 1 else "Q8_0"
        elif cat == "token_embd":
            if base in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
                new = "Q2_K"
            elif base in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
                new = "IQ3_S"
            elif base in ("TQ1_0", "TQ2_0"):
                new = "Q4_K"
        elif base in iq_low:
            new = _iq_low_rule(base, cat, new, ctx, counters, attn_v_idx)
            if cat in ("attn_v", "attn_qkv", "attn_kv_b"):
                attn_v_idx += 1
            elif cat == "ffn_down":
                counters["ffn_down"] += 1
        elif cat in ("attn_v", "attn_qkv", "attn_kv_b"):
            new = _attn_v_rule(base, new, ctx, attn_v_idx, n_attn_v, ft.imatrix)
            attn_v_idx += 1
        elif cat == "attn_k":
            if n_exp == 8:
                new = "Q8_0"
            elif base == "IQ3_XS":
                new = "IQ3_XXS"
            elif base == "IQ3_XXS":
                new = "IQ2_S"
        elif cat == "attn_q":
            if base == "IQ3_XS":
                new = "IQ3_XXS"
            elif base == "IQ3_XXS":
                new = "IQ2_S"
        elif cat == "ffn_down":
            i = layer if n_exp > 1 else counters["ffn_down"]
            new = _ffn_down_rule(base, new, ctx, i, ctx.n_layers, ft.imatrix)
            counters["ffn_down"] += 1
        elif cat == "attn_output":
            new = _attn_output_rule(base, new, ctx)
        elif cat in ("ffn_gate", "ffn_up"):
            i = layer if n_exp > 1 else counters[cat]
            n = ctx.n_layers
            if base == "IQ3_XS" and n // 8 <= i < 7 * n // 8:
                new = "IQ3_XXS"
            counters[cat] += 1
        out.append(_fallback(t, new))
    return out


def _iq_low_rule(base: str, cat: str, new: str, ctx: MixtureContext, counters: dict[str, int],
                 attn_v_idx: int) -> str:
    s_or_m = base in ("IQ2_S", "IQ2_M")
    if cat in ("attn_v", "attn_qkv", "attn_kv_b"):
        if ctx.n_gqa >= 4 or ctx.n_expert >= 4:
            return "Q4_K"
        return "IQ3_S" if s_or_m else "Q2_K"
    if ctx.n_expert == 8 and cat == "attn_k":
        return "Q4_K"
    if cat == "ffn_down":
        if counters["ffn_down"] < ctx.n_layers // 8:
            return "IQ3_S" if s_or_m else "Q2_K"
        return new
    if cat == "attn_output":
        if ctx.n_expert == 8:
            return "Q5_K"
        if base in ("IQ1_S", "IQ1_M"):
            return "IQ2_XXS"
        if s_or_m:
            return "IQ3_S"
    return new


def _attn_v_rule(base: str, new: str, ctx: MixtureContext, i: int, n: int, imatrix: bool) -> str:
    g4 = ctx.n_gqa >= 4
    if base == "Q2_K":
        new = "Q4_K" if g4 else "Q3_K"
    elif base == "Q2_K_S" and g4:
        new = "Q4_K"
    elif base == "IQ3_XXS":
        new = "Q4_K" if g4 else ("IQ3_XXS" if imatrix else "IQ3_S")
    elif (base in ("IQ3_XS", "IQ3_S") and g4) or base == "IQ3_M":
        new = "Q4_K"
    elif base == "Q3_K_M":
        new = "Q5_K" if i < 2 else "Q4_K"
    elif base == "Q3_K_L" or (base in ("IQ4_NL", "IQ4_XS") and g4):
        new = "Q5_K"
    elif base in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i, n):
        new = "Q6_K"
    elif base == "Q4_K_S" and i < 4:
        new = "Q5_K"
    if ctx.is_70b and new in ("Q3_K", "Q4_K"):
        new = "Q5_K"
    if ctx.n_expert == 8:
        new = "Q8_0"
    return new


def _ffn_down_rule(base: str, new: str, ctx: MixtureContext, i: int, n: int, imatrix: bool) -> str:
    falcon = ctx.arch == "falcon"
    if base == "Q2_K":
        return "Q3_K"
    if base == "Q2_K_S":
        return "Q4_K" if i < n // 8 else new
    if base == "IQ3_XXS" and not imatrix:
        return "Q4_K" if i < n // 8 else "Q3_K"
    if base == "Q3_K_M":
        if i < n // 16:
            return "Q5_K"
        return "Q4_K" if (not falcon or _use_more_bits(i, n)) else "Q3_K"
    if base == "IQ3_M" and (i < n // 8 or (ctx.n_expert == 8 and _use_more_bits(i, n))):
        return "Q4_K"
    if base == "Q3_K_L":
        return "Q4_K" if falcon else "Q5_K"
    if base == "Q4_K_M":
        if falcon:
            return "Q6_K" if i < n // 16 else ("Q5_K" if _use_more_bits(i, n) else "Q4_K")
        return "Q6_K" if _use_more_bits(i, n) else new
    if i < n // 8 and base in ("IQ4_NL", "IQ4_XS") and not imatrix:
        return "Q5_K"
    if base == "Q5_K_M" and _use_more_bits(i, n):
        return "Q6_K"
    if base == "Q4_K_S" and not falcon and i < n // 8:
        return "Q5_K"
    if base in ("Q4_0", "Q5_0") and imatrix and i < n // 8:
        return "Q4_1" if base == "Q4_0" else "Q5_1"
    return new


def _attn_output_rule(base: str, new: str, ctx: MixtureContext) -> str:
    if ctx.arch == "falcon":
        return "Q4_K" if base == "Q3_K_L" else new
    if ctx.n_expert == 8:
        if base in ("Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M",
                    "IQ3_S", "IQ3_M", "IQ4_XS"):
            return "Q5_K"
        return new
    return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K", "IQ3_M": "Q4_K"}.get(
        base, new
    )


QuantScheme = GGUFFileType | TensorFormat


def quant_names() -> list[str]:
    return [*GGUF_FILE_TYPES, *TENSOR_FORMATS, "EXL2-<bpw>"]


# llama.cpp names the gpt-oss file type MXFP4_MOE (LLAMA_FTYPE_MOSTLY_MXFP4_MOE, src/llama-model-loader.cpp);
# Ollama's `ollama show` and the Hub's file names call it MXFP4
_GGUF_ALIASES = {"MXFP4": "MXFP4_MOE"}
_FLOAT_TO_TENSOR = {"F16": "FP16", "BF16": "BF16", "F32": "FP32", "FP16": "FP16", "FP32": "FP32"}
_FLOAT_TO_GGUF = {"FP16": "F16", "FP32": "F32"}
_TO_GGUF = _GGUF_ALIASES | _FLOAT_TO_GGUF  # the names resolve_quant maps to a GGUF file type's


_GGUF_NAME = re.compile(
    r"^(?P<model>.+?)[-_.](?P<quant>(?:UD[-_])?(?:I?Q\d(?:_[0-9A-Z]+)*(?:_XL|_XXS|_XS|_S|_M|_L)?|TQ\d_0|MXFP4(?:_MOE)?"
    r"|BF16|F16|F32))(?:-\d{5}-of-\d{5})?\.gguf$", re.IGNORECASE)


def split_gguf_name(name: str) -> tuple[str, str] | None:
    """(model, quant) from a GGUF file name as the Hub spells them ("Qwen3.6-35B-A3B-UD-Q4_K_XL.gguf",
    "gemma-4-26B-A4B-it-qat-Q4_0.gguf", split files "...-00001-of-00003.gguf"); None when it has no quant."""
    m = _GGUF_NAME.match(name.strip().rsplit("/", 1)[-1])
    if not m:
        return None
    quant = m.group("quant").upper().replace("UD_", "UD-")
    return m.group("model"), _GGUF_ALIASES.get(quant, quant)


def tag_parts(tag: str) -> list[str]:
    """The dash-separated parts of an Ollama tag after its colon ("qwen3.6:27b-mlx" -> 27b, mlx); none for a name
    that is not a library tag (no colon, or a path / repo)."""
    return tag.split(":", 1)[1].split("-") if ":" in tag and "/" not in tag else []


def tag_is_mlx(tag: str) -> bool:
    """An Ollama tag of MLX weights ("qwen3.6:27b-mlx", "north-mini-code-1.0:mlx-mxfp8", "gemma4:12b-nvfp4"),
    which Ollama runs with its MLX runner on Apple silicon rather than with llama.cpp: its NVFP4, MXFP8 and
    int4 / int8 models came with that runner (ollama.com/blog/mlx, March 2026; GGUF tags name K-quants and Q8_0).
    MXFP4 alone is not one: gpt-oss's GGUF experts are MXFP4."""
    return any(part.lower() in ("mlx", "nvfp4", "mxfp8", "int4", "int8") for part in tag_parts(tag))


def tag_quant(tag: str) -> str | None:
    """The GGUF file type an Ollama tag names ("qwen2.5:7b-instruct-q8_0" -> Q8_0, "llama3.1:8b-fp16" -> F16);
    None for a tag without one ("llama3.1:8b": the library's default file, Q4_K_M for most models)."""
    parts = tag_parts(tag)
    for part in reversed(parts):
        key = _FLOAT_TO_GGUF.get(part.upper(), part.upper())
        if key in GGUF_FILE_TYPES:
            return key
    # a quantization-aware-trained tag ("gemma3:27b-it-qat", "gemma4:e4b-it-qat") is Google's QAT Q4_0 file
    # (gemma-3-27b-it-qat-q4_0-gguf; neobundy/CWK-Deep-Dive-Into-AI-Reboot guides/13-Gemma3-QAT-with-Ollama-Guide.md
    # runs it as gemma3:27b-it-qat), not the library's Q4_K_M default
    return "Q4_0" if any(part.lower() == "qat" for part in parts) else None


# the words a quantized checkpoint's repository name carries, in precedence order ("Qwen/Qwen3-8B-AWQ",
# "Qwen/Qwen3-8B-GPTQ-Int8", "RedHatAI/...-quantized.w4a16", "nvidia/Qwen3.6-27B-NVFP4", "mlx-community/...-4bit").
# AutoRound's int4 checkpoints are packed as GPTQ (quantization_config packing_format "auto_round:auto_gptq",
# bits 4, group 128, e.g. Intel/gemma-4-31B-it-int4-AutoRound), which vLLM loads through
# vllm/model_executor/layers/quantization/auto_round.py
_CHECKPOINT_WORDS = (("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("mxfp8", "mxfp8"), ("awq", "AWQ"), ("gptq", "GPTQ"),
                     ("autoround", "GPTQ"), ("fp8", "FP8"), ("w4a16", "INT4"), ("w8a8", "INT8"))


def checkpoint_quant(name: str) -> str | None:
    """The format a quantized checkpoint's name gives it ("Qwen/Qwen3-8B-AWQ" -> AWQ, "mlx-community/Qwen3-8B-4bit"
    -> MLX-4BIT, "Intel/gemma-4-31B-it-int4-AutoRound" -> GPTQ); the floating-point modes as typed ("nvfp4": each
    engine spells them its own way); None for a name that gives none, an Ollama tag or a GGUF repository (many
    files, one per quant)."""
    if ":" in name and "/" not in name:
        return None  # an Ollama tag (tag_quant reads those)
    owner, _, repo = name.strip().rstrip("/").rpartition("/")  # a repository id, or a local folder's path
    words = [w for w in re.split(r"[-_.\s]+", repo.lower()) if w]
    if "gguf" in words:
        return None
    for word, quant in _CHECKPOINT_WORDS:
        if word in words:
            if quant == "GPTQ" and ("int8" in words or "8bit" in words):
                return "GPTQ-8BIT"
            return quant
    if "bnb" in words:
        return "BNB-4BIT" if "4bit" in words else "BNB-INT8" if "8bit" in words else None
    if owner.lower().endswith("mlx-community") or "mlx" in words:
        for bits in ("3", "4", "6", "8"):
            if f"{bits}bit" in words:
                return f"MLX-{bits}BIT"
    return None


def resolve_quant(name: str, *, prefer: str = "gguf") -> QuantScheme:
    """``"q4_k_m"`` -> Q4_K_M mixture, ``"awq"`` -> AWQ, ``"exl2-4.65"`` -> EXL2 at 4.65 bpw, ...

    Plain float names (F16, BF16, FP32) exist in both worlds: ``prefer="tensor"`` (engines that load
    safetensors) gives the torch dtype, ``"gguf"`` the llama.cpp file type.  A GGUF name with a "-QAT" tail (a
    file of a quantization-aware-trained checkpoint) is its type.
    """
    key = name.strip().upper().replace(" ", "")
    if not key:
        raise InvalidInput("empty quantization name")
    if prefer == "tensor" and key in _FLOAT_TO_TENSOR:
        return TENSOR_FORMATS[_FLOAT_TO_TENSOR[key]]
    if prefer == "tensor" and TENSOR_ALIASES.get(key, key) in TENSOR_FORMATS:
        return TENSOR_FORMATS[TENSOR_ALIASES.get(key, key)]  # NVFP4: the checkpoint format, not the GGUF type
    key = _TO_GGUF.get(key, key) if prefer == "gguf" else key
    if key.endswith("-QAT") and key[:-4] in GGUF_FILE_TYPES:
        key = key[:-4]  # a quantization-aware-trained checkpoint's file ("UD-Q4_K_XL-QAT"): the same layout
    if key in GGUF_FILE_TYPES:
        return GGUF_FILE_TYPES[key]
    key = TENSOR_ALIASES.get(key, key)
    if key in TENSOR_FORMATS:
        return TENSOR_FORMATS[key]
    if key.startswith("EXL2"):
        num = key[4:].lstrip("-_").removesuffix("BPW")
        try:
            return exl2_format(float(num))
        except ValueError:
            pass
    raise UnknownQuant(name, quant_names())
