"""Ollama's MLX runner (engine "ollama-mlx"): Ollama's MLX quantization policy in bytes, its per-model rules,
MLX's speed for its tags, and one-line errors for what it cannot run.  Policy: ollama/ollama x/create/create.go
GetTensorQuantization and x/create/quantpolicy.go useMoreBits at fb30760 (2026-08-21)."""

from __future__ import annotations

import json
import math

import pytest

from rigfit import fit
from rigfit.errors import InvalidInput
from rigfit.memory import weight_bytes
from rigfit.models.catalog import default_catalog
from rigfit.quant import resolve_quant
from rigfit.tensorformats import more_bits_layer

from .conftest import run_cli


def _bits(model: str, quant: str) -> dict[str, float]:
    """Bits per weight of layer 0's and the top-level tensors, by name."""
    spec = default_catalog().lookup(model)
    tensors, sizes, _ = weight_bytes(spec, resolve_quant(quant, prefer="tensor"))
    return {t.name: 8 * b / math.prod(t.shape) for t, b in zip(tensors, sizes, strict=True)
            if t.layer in (0, 3) or t.layer is None}


@pytest.mark.parametrize(("quant", "base", "eight", "expert_down"), [
    # nvfp4: E2M1 + an E4M3 scale per 16 (4.5 bits); its 8-bit family type mxfp8 (8 + an E8M0 scale per 32); the
    # routed experts keep the base type ("fp4 skips experts since their kernels take a single mode")
    ("OLLAMA-NVFP4", 4.5, 8.25, 4.5),
    ("OLLAMA-MXFP4", 4.25, 8.25, 4.25),
    # int4: affine, a bf16 scale and bias per 64 (4.5 bits); int8 likewise (8.5); the experts' down raised too
    ("OLLAMA-INT4", 4.5, 8.5, 8.5),
])
def test_the_policy_raises_k_v_down_and_the_head(quant: str, base: float, eight: float, expert_down: float) -> None:
    b = _bits("Qwen3.6-35B-A3B", quant)
    assert b["token_embd.weight"] == 16.0  # embeddings stay at source precision
    assert b["output.weight"] == pytest.approx(eight)  # lm_head: the family's 8-bit type
    assert b["blk.0.attn_qkv.weight"] == pytest.approx(base)  # a Gated DeltaNet layer's fused projection
    assert b["blk.0.ssm_alpha.weight"] == b["blk.0.ssm_beta.weight"] == 16.0  # in_proj_a / b (x/create/qwen35.go)
    assert b["blk.3.attn_q.weight"] == pytest.approx(base)
    assert b["blk.3.attn_k.weight"] == b["blk.3.attn_v.weight"] == pytest.approx(eight)
    assert b["blk.0.ffn_down_shexp.weight"] == pytest.approx(eight)
    assert b["blk.0.ffn_up_exps.weight"] == pytest.approx(base)
    assert b["blk.0.ffn_down_exps.weight"] == pytest.approx(expert_down)


def test_more_bits_layers_follow_ollamas_rule() -> None:
    # useMoreBits(i, 16): the first and last eighth (0, 1 and 14, 15), and every third layer from the first eighth
    # on (i - 2) % 3 == 2 between them
    assert [i for i in range(16) if more_bits_layer(i, 16)] == [0, 1, 4, 7, 10, 13, 14, 15]


def test_gemma_4_takes_its_own_rules() -> None:
    """x/create/gemma4.go: 8-bit token embeddings; v and down raised only in the more-bits layers."""
    spec = default_catalog().lookup("gemma-4-12B-it")
    b = _bits("gemma-4-12B-it", "OLLAMA-NVFP4")
    assert b["token_embd.weight"] == pytest.approx(8.25)
    tensors, sizes, _ = weight_bytes(spec, resolve_quant("OLLAMA-NVFP4", prefer="tensor"))
    down = {t.layer: 8 * s / math.prod(t.shape) for t, s in zip(tensors, sizes, strict=True)
            if t.name.endswith("ffn_down.weight")}
    assert {i for i, bits in down.items() if bits > 8} == {i for i in down if more_bits_layer(i, spec.n_layers)}


def test_gemma_4_12b_nvfp4_file_size() -> None:
    # Ollama's NVFP4 benchmark post (2026-06-11, as quoted by stridenote.net "Ollama NVFP4 local quality"): the
    # gemma4 12B nvfp4 pull is "roughly 7.8 GB" (its q4_K_M 7.5 GB); 5 % for "roughly"
    r = fit("gemma4:12b-nvfp4", engine="ollama", hardware=["M4 Pro 48GB"])
    assert r.engine.name == "ollama-mlx" and r.quant.name == "OLLAMA-NVFP4"
    assert r.memory.model_file_bytes / 1e9 == pytest.approx(7.8, rel=0.05)


@pytest.mark.parametrize(("tag", "measured"), [
    # throughput_modern.csv: llmfit community run, Ollama on an M5 Max 48 GB, qwen3.6:35b-mlx, eval_count /
    # eval_duration 115.48 tok/s
    ("qwen3.6:35b-mlx", 115.48),
    # ollama.com/blog/mlx (Ollama 0.19): Qwen3.5-35B-A3B in NVFP4 on an M5 Max decodes 112 tok/s
    ("qwen3.5:35b-mlx", 112.0),
])
def test_mlx_tags_decode_at_mlx_speed(tag: str, measured: float) -> None:
    r = fit(tag, engine="ollama", hardware=["M5 Max 48GB"], prompt_tokens=64, gen_tokens=300)
    # the M5's GPU Neural Accelerators: MLX's class on chips with matrix units (decode as mlx-metal's)
    assert r.speed is not None and r.speed.classes == ("mlx-metal-na",)
    assert r.speed.decode_tokens_per_s == pytest.approx(measured, rel=0.15)  # the mlx-metal class's band


def test_the_ollama_command_serves_an_mlx_tag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "fit", "qwen3.6:27b-mlx", "-H", "M4 Pro 48GB", "--command", "ollama")
    assert code == 0 and err == ""
    assert out.splitlines()[1:3] == ["env OLLAMA_HOST=127.0.0.1:11434 OLLAMA_CONTEXT_LENGTH=32768 ollama serve",
                                    "ollama run qwen3.6:27b-mlx"]


@pytest.mark.parametrize(("args", "message"), [
    (["-q", "Q4_K_M"], "rigfit: error: ollama-mlx does not load Q4_K_M weights; it takes OLLAMA-NVFP4, "
                       "OLLAMA-MXFP4, OLLAMA-MXFP8, OLLAMA-INT4, OLLAMA-INT8, BF16"),
    (["--kv-cache", "q8_0"], "rigfit: error: unknown KV-cache type for ollama-mlx 'q8_0'; valid: bf16"),
])
def test_what_the_runner_cannot_do_is_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                               message: str) -> None:
    code, out, err = run_cli(capsys, "fit", "Qwen3.6-27B", "-e", "ollama-mlx", "-H", "M4 Pro 48GB", *args)
    assert code == 2 and out == ""
    assert err.strip().startswith(message)


@pytest.mark.parametrize(("quant", "name"), [("nvfp4", "OLLAMA-NVFP4"), ("int8", "OLLAMA-INT8"),
                                             ("mxfp8", "OLLAMA-MXFP8"), ("bf16", "BF16")])
def test_modes_as_ollama_spells_them(capsys: pytest.CaptureFixture[str], quant: str, name: str) -> None:
    code, out, _ = run_cli(capsys, "fit", "Qwen3.6-27B", "-e", "ollama-mlx", "-q", quant, "--json")
    assert code == 0 and json.loads(out)["quant"] == name


def test_library_callers_get_the_runner_too() -> None:
    r = fit("north-mini-code-1.0:mlx-mxfp8", engine="ollama", hardware=["M5 Max 48GB"])
    assert (r.engine.name, r.quant.name, r.spec.name) == ("ollama-mlx", "OLLAMA-MXFP8", "North-Mini-Code-1.0")
    with pytest.raises(InvalidInput, match="does not run on NVIDIA GeForce RTX 4090"):
        fit("qwen3.6:27b-mlx", engine="ollama", hardware=["RTX 4090"])


@pytest.mark.parametrize(("hardware", "status", "engine"),
                         [("M4 Pro 48GB", 200, "ollama-mlx"), ("RTX 4090", 422, None)])
def test_the_page_routes_mlx_tags_too(hardware: str, status: int, engine: str | None) -> None:
    from fastapi.testclient import TestClient

    from rigfit.web.app import create_app

    client = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    r = client.get("/api/fit", params={"model": "qwen3.6:27b-mlx", "engine": "ollama", "hardware": hardware})
    assert r.status_code == status
    if engine:
        assert (r.json()["engine"], r.json()["quant"]) == (engine, "OLLAMA-NVFP4")
    else:
        assert r.json()["parameters"] == ["engine", "hardware"]


def test_the_runner_says_whose_constants_stand_in() -> None:
    mine = fit("qwen3.6:35b-mlx", engine="ollama", hardware=["M5 Max 48GB"])
    theirs = fit("Qwen3.6-35B-A3B", engine="mlx", quant="MLX-4BIT", hardware=["M5 Max 48GB"])
    assert mine.speed is not None and theirs.speed is not None
    assert any(n.startswith("Ollama's MLX runner: mlx_lm's fitted constants stand in") for n in mine.speed.notes)
    assert not any("stand in" in n for n in theirs.speed.notes)
    lo, hi = mine.speed.decode_band
    assert lo <= 0.6 * mine.speed.decode_tokens_per_s and hi >= 1.6 * mine.speed.decode_tokens_per_s  # widened
