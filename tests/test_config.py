"""config.json and model folders: explicit head_dim, nested text_config, safetensors counts, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rigfit import fit
from rigfit.errors import BadModelFile, NotAvailableOffline, UnknownModel
from rigfit.models.resolve import resolve_model

QWEN3_32B = {  # Qwen/Qwen3-32B config.json (architecture keys)
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 5120, "num_hidden_layers": 64,
    "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 25600,
    "vocab_size": 151936, "max_position_embeddings": 40960, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
GEMMA3_12B = {  # google/gemma-3-12b-it: text_config nested in a multimodal config
    "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
    "text_config": {"hidden_size": 3840, "num_hidden_layers": 48, "num_attention_heads": 16,
                    "num_key_value_heads": 8, "head_dim": 256, "intermediate_size": 15360, "vocab_size": 262208,
                    "max_position_embeddings": 131072, "sliding_window": 1024, "model_type": "gemma3_text"},
}


def _write(tmp_path: Path, cfg: object, name: str = "config.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(cfg) if not isinstance(cfg, str) else cfg)
    return p


def test_explicit_head_dim_is_kept(tmp_path: Path) -> None:
    s = resolve_model(str(_write(tmp_path, QWEN3_32B)))
    assert s.head_dim == 128  # not 5120 / 64 = 80
    r = fit(s, context_tokens=32768, kv_cache_type="f16")
    assert r.memory.kv_cache_bytes == 8 * 1024**3  # 2 * 64 layers * 8 heads * 128 * 2 B * 32768


def test_text_config_and_sliding_window(tmp_path: Path) -> None:
    s = resolve_model(str(_write(tmp_path, GEMMA3_12B)))
    assert (s.arch, s.n_layers, s.head_dim, s.tied_embeddings) == ("gemma3", 48, 256, True)
    assert s.layer_types.count("sliding") == 40 and s.sliding_window == 1024


def test_folder_with_safetensors_counts_parameters(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    cfg = dict(QWEN3_32B, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               head_dim=16, intermediate_size=128, vocab_size=1000)
    _write(tmp_path, cfg)
    save_file({"a": np.zeros((10, 20), dtype=np.float16), "b": np.zeros((7,), dtype=np.float32)},
              str(tmp_path / "model.safetensors"))
    s = resolve_model(str(tmp_path))
    assert s.params_total == 207


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ([1, 2], "expected a JSON object"),
     ({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}, "missing num_hidden_layers"),
     (dict(QWEN3_32B, num_hidden_layers=-3), "num_hidden_layers must be a non-negative integer, got -3"),
     (dict(QWEN3_32B, hidden_size="big"), "hidden_size must be"), ({}, "no architectures or model_type")],
    ids=["syntax", "array", "missing", "negative", "string", "empty"],
)
def test_malformed_config(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(BadModelFile, match=message):
        resolve_model(str(_write(tmp_path, content)))


def test_missing_path() -> None:
    with pytest.raises(BadModelFile, match="no such file"):
        resolve_model("./does/not/exist.gguf")


def test_hub_repo_offline_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("RIGFIT_ONLINE", raising=False)
    with pytest.raises(NotAvailableOffline, match="not in the local cache"):
        resolve_model("someorg/some-model-7b")


def test_catalog_repo_id_needs_no_network() -> None:
    assert resolve_model("Qwen/Qwen2.5-Coder-32B-Instruct").name == "Qwen2.5-Coder-32B-Instruct"


def test_unknown_model_suggests() -> None:
    with pytest.raises(UnknownModel, match="did you mean: qwen2.5-coder-32b"):
        resolve_model("qwen2.5-coder-32")


@pytest.mark.parametrize(("name", "experts", "ffn"), [
    # AI21 Jamba Reasoning 3B's config says num_experts 1: transformers builds a dense JambaMLP for it
    ("jamba-reasoning-3b", (0, 0), ("dense", "dense", "dense")),
    # Jamba 1.5 Mini: 16 experts, 2 a token, on every other layer (expert_layer_period 2, offset 1)
    ("jamba-1.5-mini", (16, 2), ("dense", "moe", "dense")),
])
def test_one_expert_is_a_dense_ffn(name: str, experts: tuple[int, int], ffn: tuple[str, ...]) -> None:
    from rigfit.models.catalog import default_catalog

    s = default_catalog().lookup(name)
    assert (s.n_experts, s.n_experts_active) == experts
    assert s.layer_ffn[:3] == ffn
