"""`rigfit models import` and the imported half of the embedded catalog (issue 15 items 2-4)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from rigfit.catalogdata import embedded
from rigfit.models.catalog import default_catalog, parse_catalog
from rigfit.models.hf_config import spec_from_config
from rigfit.models.importer import import_config, record_toml
from rigfit.models.tensors import build_tensors, count_params
from tests.conftest import run_cli

CONFIGS = Path(__file__).parent / "data" / "configs"


def test_an_imported_entry_reads_back_as_the_same_model(tmp_path: Path) -> None:
    src = CONFIGS / "LiquidAI__LFM2-700M.json"
    rec = import_config(src, as_of="2026-12-02")
    text = record_toml(rec)
    cat = parse_catalog(tomllib.loads(text), "imported")
    spec = cat.lookup("LiquidAI__LFM2-700M")
    direct = spec_from_config(json.loads(src.read_text()), name="LFM2-700M", where="x")
    assert spec.layer_types == direct.layer_types and spec.recurrent_state_bytes == direct.recurrent_state_bytes
    assert rec["params_total"] == count_params(build_tensors(direct)) == 742_489_344  # the repo's own count
    assert rec["as_of"] == "2026-12-02" and rec["source"] == str(src)


def test_the_cli_prints_toml_and_refuses_an_unknown_architecture(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "models", "import", str(CONFIGS / "allenai__OLMo-2-1124-7B-Instruct.json"))
    assert code == 0 and out.startswith("[[models]]\nname = \"allenai__OLMo-2-1124-7B-Instruct\"")
    assert tomllib.loads(out)["models"][0]["params_total"] == 7_298_617_344
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "mystery_net", "num_hidden_layers": 2}))
    code, _, err = run_cli(capsys, "models", "import", str(tmp_path))
    assert code == 2 and err.startswith("rigfit: error: unknown architecture 'mystery_net'") and err.count("\n") == 1


def test_a_cache_snapshot_names_repo_and_revision(tmp_path: Path) -> None:
    snap = tmp_path / "models--allenai--OLMo-2-1124-7B-Instruct" / "snapshots" / "b76b2b1"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text((CONFIGS / "allenai__OLMo-2-1124-7B-Instruct.json").read_text())
    rec = import_config(snap, as_of="2026-12-02")
    assert rec["hf_repo"] == "allenai/OLMo-2-1124-7B-Instruct" and rec["name"] == "OLMo-2-1124-7B-Instruct"
    assert rec["source"] == "https://huggingface.co/allenai/OLMo-2-1124-7B-Instruct/blob/b76b2b1/config.json"


@pytest.mark.slow
def test_every_embedded_entry_sizes_and_counts_its_parameters() -> None:
    """Every imported entry's config goes through the registry, and its params_total is the text model's
    tensor count (the curated number cannot drift from the config)."""
    raw = embedded("models")
    cat = parse_catalog(raw, "embedded", lazy=False)
    imported = [r for r in raw["models"] if "config" in r]
    assert len(imported) >= 100 and len(cat.models) >= 150
    for rec in imported:
        spec = cat.lookup(rec["name"])
        assert count_params(build_tensors(spec)) == rec["params_total"], rec["name"]


@pytest.mark.parametrize(("name", "arch"), [
    ("qwen3.6:27b", "qwen35"), ("Qwen/Qwen3.6-35B-A3B", "qwen35moe"), ("gemma4:26b", "gemma4"),
    ("nemotron-3-nano", "nemotron_h"), ("lfm2:700m", "lfm2"), ("GLM-4.7-Flash", "deepseek2"),
    ("deepseek-ai/DeepSeek-V3.2", "deepseek32"), ("minimax m2.5", "minimax-m2"), ("granite4:tiny-h", "granitehybrid"),
])
def test_2026_families_resolve(name: str, arch: str) -> None:
    assert default_catalog().lookup(name).arch == arch


def test_a_native_format_survives_the_import(tmp_path: Path) -> None:
    """The stored config leaves out quantization_config; what it said (gpt-oss: MXFP4 experts) is kept as the
    entry's native_quant, so the imported entry plans the published 61 GB file, not a BF16 conversion."""
    cfg = {"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "hidden_size": 2880,
           "intermediate_size": 2880, "num_hidden_layers": 2, "num_attention_heads": 64, "num_key_value_heads": 8,
           "head_dim": 64, "num_local_experts": 32, "num_experts_per_tok": 4, "vocab_size": 201088,
           "sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"],
           "max_position_embeddings": 131072, "quantization_config": {"quant_method": "mxfp4"}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    rec = import_config(path, as_of="2026-12-02")
    assert rec["native_quant"] == "MXFP4_MOE" and "quantization_config" not in rec["config"]
    spec = parse_catalog(tomllib.loads(record_toml(rec)), "imported").lookup(rec["name"])
    assert spec.native_quant == "MXFP4_MOE"
