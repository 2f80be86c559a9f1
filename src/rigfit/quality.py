"""How much each quant costs in quality: the perplexity increase llama.cpp publishes for its file types.

Source: llama.cpp ``tools/quantize/quantize.cpp`` QUANT_OPTIONS (the table ``llama-quantize --help`` prints),
"+X ppl @ Llama-3-8B" against the F16 model (wikitext-2; Llama-3-8B F16 perplexity about 6.23).  The IQ types
carry no figure there; they are placed on the K-quants' curve by bits per weight (interpolated, said so in
``SOURCE``).  A relative loss (delta / 6.23) is what a search compares.
"""

from __future__ import annotations

from .quant import GGUF_FILE_TYPES

SOURCE = ("llama.cpp tools/quantize/quantize.cpp QUANT_OPTIONS, '+ppl @ Llama-3-8B' (F16 perplexity ~6.23); "
          "IQ types interpolated on the K-quant curve by bits per weight")
REFERENCE_PPL = 6.23

# file type -> perplexity increase at Llama-3-8B (published), or None where only bits per weight are given
PPL_DELTA: dict[str, float] = {
    "F32": 0.0, "F16": 0.0, "BF16": 0.0,
    "Q8_0": 0.0026, "Q6_K": 0.0217, "Q5_K_M": 0.0569, "Q5_K_S": 0.1049, "Q5_1": 0.1062, "Q5_0": 0.1316,
    "Q4_K_M": 0.1754, "Q4_K_S": 0.2689, "Q4_1": 0.4511, "Q4_0": 0.4685, "Q3_K_L": 0.5562, "Q3_K_M": 0.6569,
    "Q3_K_S": 1.6321, "Q2_K_S": 3.1836, "Q2_K": 3.5199,
    # interpolated by bits per weight between the published K-quants (IQ4_XS 4.25 bpw sits between Q4_K_S
    # 4.58 and Q3_K_L 4.27; the IQ2/IQ1 types below Q2_K's 2.96 bpw are extrapolated upward)
    "IQ4_NL": 0.30, "IQ4_XS": 0.33, "IQ3_M": 0.85, "IQ3_S": 1.0, "IQ3_XS": 1.3, "IQ3_XXS": 1.7,
    "IQ2_M": 4.0, "IQ2_S": 4.6, "IQ2_XS": 5.3, "IQ2_XXS": 6.3, "IQ1_M": 9.0, "IQ1_S": 12.0,
    "MXFP4_MOE": 0.30,  # MXFP4 (4.25 bpw) at IQ4_XS's place on the curve
}
NEAR_LOSSLESS = 0.01  # relative perplexity increase below which a quant reads as the 16-bit model (Q8_0, Q6_K)


def relative_loss(quant_name: str) -> float | None:
    """The relative perplexity increase of a GGUF file type (its base type's for community variants)."""
    ft = GGUF_FILE_TYPES.get(quant_name)
    key = quant_name if quant_name in PPL_DELTA else (ft.base if ft is not None else "")
    delta = PPL_DELTA.get(key)
    return None if delta is None else delta / REFERENCE_PPL


def near_lossless(quant_name: str) -> bool:
    loss = relative_loss(quant_name)
    return loss is not None and loss <= NEAR_LOSSLESS
