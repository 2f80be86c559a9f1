"""ggml geometry and llama.cpp mixtures against gguf-py and llama.cpp's published sizes."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import gguf
import pytest

from rigfit.errors import InvalidInput, UnknownQuant
from rigfit.memory import weight_bytes
from rigfit.quant import GGML_TYPES, GGUF_FILE_TYPES, checkpoint_quant, resolve_quant
from rigfit.tensorformats import TENSOR_FORMATS

from .conftest import run_cli, spec


def test_block_geometry_matches_gguf_package() -> None:
    ours = {t.type_id: (t.block_size, t.type_size) for t in GGML_TYPES.values()}
    theirs = {int(k): v for k, v in gguf.GGML_QUANT_SIZES.items()}
    assert ours == theirs


def test_file_type_ids_match_gguf_package() -> None:
    for ft in GGUF_FILE_TYPES.values():
        if ft.base == ft.name and ft.name not in ("Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8"):
            assert gguf.LlamaFileType[f"MOSTLY_{ft.name}" if ft.name != "F32" else "ALL_F32"] == ft.ftype_id


@pytest.mark.parametrize(("name", "bpw"), [("Q4_0", "4.5"), ("Q4_K", "4.5"), ("Q6_K", "6.5625"), ("Q8_0", "8.5"),
                                           ("IQ4_XS", "4.25"), ("MXFP4", "4.25"), ("Q2_K", "2.625")])
def test_bits_per_weight_derived(name: str, bpw: str) -> None:
    assert GGML_TYPES[name].bits_per_weight == Fraction(bpw)


# Llama-3.1-8B (8.03 B) whole-file bits per weight, llama.cpp tools/quantize/README.md table.
LLAMA31_8B_BPW = {
    "IQ1_S": 2.0042, "IQ1_M": 2.1460, "IQ2_XXS": 2.3824, "IQ2_M": 2.9294, "Q2_K": 3.1593, "IQ3_XXS": 3.2548,
    "IQ3_M": 3.7628, "Q3_K_M": 3.9960, "Q3_K_L": 4.2979, "Q4_K_S": 4.6672, "Q4_K_M": 4.8944,
    "Q5_K_S": 5.5704, "Q5_K_M": 5.7036, "Q6_K": 6.5633, "Q8_0": 8.5008, "F16": 16.0005,
}


@pytest.mark.parametrize(("ftype", "expected"), sorted(LLAMA31_8B_BPW.items()))
def test_mixture_bpw_matches_llamacpp_table(ftype: str, expected: float) -> None:
    tensors, sizes, _ = weight_bytes(spec("Llama-3.1-8B-Instruct"), resolve_quant(ftype))
    bpw = 8 * sum(sizes) / sum(t.n_elements for t in tensors)
    assert bpw == pytest.approx(expected, rel=1e-4)  # the table prints 4 decimals


def test_iq4_xs_without_imatrix_matches_table() -> None:
    # The README's IQ4_XS row (4.4597) was made without an importance matrix: ffn_down of the first
    # n/8 layers goes to Q5_K (llama-quant.cpp); Hub files are made with one (rigfit's default).
    ft = dataclasses.replace(GGUF_FILE_TYPES["IQ4_XS"], imatrix=False)
    tensors, sizes, _ = weight_bytes(spec("Llama-3.1-8B-Instruct"), ft)
    assert 8 * sum(sizes) / sum(t.n_elements for t in tensors) == pytest.approx(4.4597, rel=1e-4)


def test_q4_k_m_tensor_bytes_exact() -> None:
    # 4,912,898,048 tensor bytes: llama.cpp's Llama-3.1-8B Q4_K_M (4.58 GiB), engine-facts.md 1.1.
    _, sizes, _ = weight_bytes(spec("Llama-3.1-8B-Instruct"), resolve_quant("Q4_K_M"))
    assert sum(sizes) == 4_912_898_048


def test_row_not_divisible_falls_back() -> None:
    # Qwen2.5-0.5B has n_embd 896 (not a multiple of 256): Q4_K rows fall back to Q5_0, Q6_K to Q8_0.
    from rigfit.models.gguf_write import planned_types
    from rigfit.models.tensors import build_tensors

    s = spec("Qwen2.5-Coder-0.5B-Instruct")
    types = dict(zip([t.name for t in build_tensors(s)], planned_types(s, GGUF_FILE_TYPES["Q4_K_M"]), strict=True))
    assert types["blk.5.attn_q.weight"] == "Q5_0"
    assert types["token_embd.weight"] == "Q8_0"  # tied: output rule, 896 % 256 != 0 -> Q8_0
    assert types["blk.0.ffn_down.weight"] == "Q6_K"  # 4864 = 19 * 256


@pytest.mark.parametrize(("text", "name"), [("q4_k_m", "Q4_K_M"), ("awq", "AWQ"), ("GPTQ-INT4", "GPTQ"),
                                            ("bnb-4bit", "NF4-DQ"), ("mlx-4", "MLX-4BIT"), ("exl2-4.65", "EXL2-4.65"),
                                            ("fp16", "F16"), ("Q4_K_L", "Q4_K_L")])
def test_resolve_quant_names(text: str, name: str) -> None:
    assert resolve_quant(text).name == name


@pytest.mark.parametrize(("fmt", "bpw"), [("NF4", "4.5"), ("MLX-4BIT", "4.5"), ("MLX-8BIT", "8.5"),
                                          ("AWQ", "4.15625"),
                                          # OCP MX v1.0: 32 elements share an 8-bit E8M0 scale; NVFP4: 16 share
                                          # an E4M3 scale (mlx-lm --q-mode group sizes 32 / 16 / 32)
                                          ("MLX-MXFP4", "4.25"), ("MLX-NVFP4", "4.5"), ("MLX-MXFP8", "8.25")])
def test_tensor_format_bits(fmt: str, bpw: str) -> None:
    assert TENSOR_FORMATS[fmt].linear.bits_per_weight == Fraction(bpw)


def test_nf4_double_quant_is_qlora_figure() -> None:
    # QLoRA paper: double quantization costs 0.127 bits per parameter on top of 4.
    assert float(TENSOR_FORMATS["NF4-DQ"].linear.bits_per_weight) == pytest.approx(4.127, abs=1e-3)


def test_unknown_quant_lists_options() -> None:
    with pytest.raises(UnknownQuant, match="Q4_K_M"):
        resolve_quant("Q4_K_MM")


def test_exl2_out_of_range() -> None:
    with pytest.raises(InvalidInput, match="9"):
        resolve_quant("exl2-9")


# gpt-oss ships its routed experts in MXFP4 (OCP MX: E2M1 values, an E8M0 scale per 32 -> 4.25 bits/weight), the
# rest in BF16.  The gpt-oss model card (OpenAI, August 2025, arXiv 2508.10925, Table 1) lists the checkpoints at
# 60.8 GiB (gpt-oss-120b) and 12.8 GiB (gpt-oss-20b): vLLM serves them as published.  Tolerance: the card's
# rounding (0.05 GiB) plus 0.5 %.
@pytest.mark.parametrize(("model", "checkpoint_gib"), [("openai/gpt-oss-20b", 12.8), ("openai/gpt-oss-120b", 60.8)])
def test_vllm_serves_gpt_oss_as_published(capsys: pytest.CaptureFixture[str], model: str,
                                          checkpoint_gib: float) -> None:
    import json

    from .conftest import run_cli

    assert TENSOR_FORMATS["MXFP4"].experts is not None
    assert TENSOR_FORMATS["MXFP4"].experts.bits_per_weight == Fraction("4.25")
    code, out, _ = run_cli(capsys, "fit", model, "-e", "vllm", "-H", "H100 SXM", "-c", "32k", "--json")
    assert code == 0
    got = json.loads(out)
    assert got["quant"] == "MXFP4"
    weights = sum(i["bytes"] for i in got["memory"]["items"] if i["component"] == "weights") / 2**30
    assert weights == pytest.approx(checkpoint_gib, abs=0.05 + 0.005 * checkpoint_gib)
    code, out, _ = run_cli(capsys, "fit", model, "-e", "vllm", "-H", "H100 SXM", "-c", "32k", "--command", "vllm")
    assert code == 0
    serve = next(line for line in out.splitlines() if line.startswith("vllm serve"))
    assert serve.split()[2] == model and "--quantization" not in serve and "--dtype" not in serve


@pytest.mark.parametrize(("engine", "name"), [("ollama", "MXFP4_MOE"), ("llama.cpp", "MXFP4_MOE"), ("vllm", "MXFP4")])
def test_mxfp4_names_the_format_each_engine_loads(engine: str, name: str) -> None:
    # Ollama's `ollama show` calls gpt-oss's file type MXFP4; llama.cpp's name for it is MXFP4_MOE
    from rigfit import fit

    assert fit("openai/gpt-oss-20b", quant="MXFP4", engine=engine).quant.name == name


def test_mxfp4_on_a_model_not_published_in_it_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import run_cli

    code, out, err = run_cli(capsys, "fit", "Qwen3-30B-A3B", "-q", "MXFP4", "-e", "vllm")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "MXFP4" in err and "Qwen3-30B-A3B" in err


# NVIDIA's NVFP4 checkpoints of the Gated DeltaNet hybrids follow Model Optimizer's recipe
# huggingface/qwen3_5/ptq/w4a16_nvfp4-fp8_attn-kv_fp8_cast (NVIDIA/Model-Optimizer modelopt_recipes README):
# NVFP4 on the MLP projections and lm_head, FP8 on self-attention q/k/v/o and the linear-attention in_proj_qkv,
# in_proj_z and out_proj, BF16 for the rest.  A 27B checkpoint quantized with it (64 layers: 48 Gated DeltaNet,
# 16 full attention) counts 193 NVFP4 tensors and 208 FP8 ones (a published model card's tensor census, code
# index id 60824586980).  Exact counts, and every other linear tensor of that model in BF16.
def test_nvfp4_on_a_delta_net_hybrid_is_nvidias_layout() -> None:
    from rigfit.memory import _format_geometry
    from rigfit.tensorformats import BF16

    s = spec("Qwen3.6-27B")
    fmt = TENSOR_FORMATS["NVFP4"].delta_net
    assert s.delta_net and fmt is not None and fmt.attention is not None
    tensors, _, _ = weight_bytes(s, resolve_quant("NVFP4", prefer="tensor"))
    geos = [_format_geometry(fmt, t) for t in tensors if t.is_linear or t.group == "output"]
    assert sum(g == fmt.linear for g in geos) == 193
    assert sum(g == fmt.attention for g in geos) == 208
    assert all(g in (fmt.linear, fmt.attention, BF16) for g in geos)
    # a model without Gated DeltaNet layers keeps the plain NVFP4 layout: lm_head 16-bit, attention 4-bit
    dense = spec("Qwen3-8B")
    assert not dense.delta_net
    head = next(b for t, b in zip(*weight_bytes(dense, resolve_quant("NVFP4", prefer="tensor"))[:2], strict=True)
                if t.group == "output")
    assert head == 151936 * 4096 * 2


@pytest.mark.parametrize(("name", "quant"), [
    ("Qwen/Qwen3-8B-AWQ", "AWQ"), ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8", "GPTQ-8BIT"),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "GPTQ"), ("Qwen/Qwen3-8B-FP8", "FP8"),
    ("RedHatAI/Qwen3-8B-FP8-dynamic", "FP8"), ("RedHatAI/Qwen3-8B-quantized.w4a16", "INT4"),
    ("RedHatAI/Qwen3-8B-quantized.w8a8", "INT8"), ("nvidia/Qwen3.6-27B-NVFP4", "nvfp4"),
    ("Intel/gemma-4-31B-it-int4-AutoRound", "GPTQ"), ("Lorbus/Qwen3.6-27B-int4-AutoRound", "GPTQ"),
    ("unsloth/Qwen3-8B-bnb-4bit", "BNB-4BIT"), ("mlx-community/Qwen3-8B-4bit", "MLX-4BIT"),
    ("/models/Qwen3-8B-AWQ/", "AWQ"),
    ("mlx-community/Qwen3-8B-8bit", "MLX-8BIT"), ("mlx-community/gpt-oss-20b-MXFP4-Q8", "mxfp4"),
    # names that give no format: a GGUF repository holds one file per quant; a plain model; an Ollama tag
    ("unsloth/Qwen3-8B-GGUF", None), ("Qwen/Qwen3-8B", None), ("qwen3:8b-fp16", None),
    ("someone/Qwen3-8B-4bit", None),
])
def test_a_checkpoint_name_gives_its_format(name: str, quant: str | None) -> None:
    assert checkpoint_quant(name) == quant


def test_no_catalog_name_reads_as_a_checkpoint_format() -> None:
    from rigfit.models.catalog import default_catalog

    assert [k for k in default_catalog().all_keys() if checkpoint_quant(k)] == []


@pytest.mark.parametrize(("engine", "name", "quant"), [
    ("vllm", "Qwen/Qwen3-8B-AWQ", "AWQ"), ("vllm", "Lorbus/Qwen3.6-27B-int4-AutoRound", "GPTQ"),
    ("vllm", "nvidia/Qwen3.6-27B-NVFP4", "NVFP4"), ("mlx", "mlx-community/Qwen3-8B-nvfp4", "MLX-NVFP4"),
    ("mlx", "mlx-community/Qwen3-8B-4bit", "MLX-4BIT"),
])
def test_the_named_checkpoint_is_planned_not_a_searched_quant(capsys: pytest.CaptureFixture[str], engine: str,
                                                              name: str, quant: str) -> None:
    import json

    hw = "RTX 4090" if engine == "vllm" else "M4 Max 40-core 128GB"
    code, out, err = run_cli(capsys, "fit", name, "-e", engine, "-H", hw, "--json")
    assert code == 0, err
    assert json.loads(out)["quant"] == quant


def test_an_engine_that_cannot_load_the_checkpoint_names_those_that_can(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "fit", "Qwen/Qwen3-8B-AWQ", "-H", "RTX 4090")
    assert code == 2
    assert err == ("rigfit: error: llama.cpp does not load AWQ weights; it takes Q8_0, Q6_K, Q5_K_M, Q4_K_M, IQ4_XS, "
                   "Q3_K_M and the other GGUF types; engines that load AWQ: vllm, transformers (--quant, --engine)\n")
