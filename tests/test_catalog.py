"""The embedded catalog: required models, sources, validation that names the bad key."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from rigfit.errors import CatalogError
from rigfit.models.catalog import default_catalog, load_catalog_file, parse_catalog
from rigfit.models.spec import ModelSpec
from rigfit.models.tensors import build_tensors, count_params

REQUIRED = [
    "Qwen2.5-Coder-0.5B-Instruct", "Qwen2.5-Coder-1.5B-Instruct", "Qwen2.5-Coder-3B-Instruct",
    "Qwen2.5-Coder-7B-Instruct", "Qwen2.5-Coder-14B-Instruct", "Qwen2.5-Coder-32B-Instruct",
    "DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-7B", "DeepSeek-R1-Distill-Qwen-14B",
    "DeepSeek-R1-Distill-Qwen-32B", "DeepSeek-R1-Distill-Llama-8B", "DeepSeek-R1-Distill-Llama-70B",
    "Llama-3.1-8B-Instruct", "Llama-3.1-70B-Instruct", "Llama-3.3-70B-Instruct", "Llama-3.2-1B-Instruct",
    "Llama-3.2-3B-Instruct", "Mistral-7B-Instruct-v0.3", "Mistral-Small-24B-Instruct-2501",
    "Mixtral-8x7B-Instruct-v0.1", "gemma-2-9b-it", "gemma-2-27b-it", "gemma-3-4b-it", "gemma-3-12b-it",
    "gemma-3-27b-it", "phi-4", "Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B", "Qwen3-14B", "Qwen3-32B",
    "Qwen3-30B-A3B", "Qwen3-235B-A22B", "Qwen3-Coder-30B-A3B-Instruct", "gpt-oss-20b", "gpt-oss-120b",
    "DeepSeek-V3", "DeepSeek-R1", "Llama-4-Scout-17B-16E-Instruct",
]


def test_catalog_has_required_models() -> None:
    names = default_catalog().names()
    assert len(names) >= 40
    assert [n for n in REQUIRED if n not in names] == []


@pytest.mark.parametrize("spec", default_catalog().models, ids=lambda s: s.name)
def test_derived_parameters_match_published(spec: ModelSpec) -> None:
    """The tensor inventory built from the architecture facts reproduces the published parameter count
    (llama.cpp "model params" or the model card) within 0.5 %: a check on every catalog row."""
    assert count_params(build_tensors(spec)) == pytest.approx(spec.params_total, rel=0.005)
    assert spec.source and spec.as_of


def _base() -> dict[str, object]:
    text = resources.files("rigfit").joinpath("data/models.toml").read_text()
    return tomllib.loads(text)


def test_validation_names_every_bad_key() -> None:
    data = _base()
    models = data["models"]
    assert isinstance(models, list)
    models[3]["n_layers"] = -1
    models[5]["head_dmi"] = 128
    del models[7]["source"]
    with pytest.raises(CatalogError) as exc:
        parse_catalog(data, "models.toml")
    msg = str(exc.value)
    assert "models[3].n_layers: expected a positive integer, got -1" in msg
    assert "models[5].head_dmi: unknown key" in msg
    assert "models[7].source: missing" in msg


def test_duplicate_alias_is_an_error() -> None:
    data = _base()
    models = data["models"]
    assert isinstance(models, list)
    models[1]["aliases"] = ["qwen2.5-coder-32b"]
    # the later entry (Qwen2.5-Coder-32B, models[5]) is the one that collides
    with pytest.raises(CatalogError, match=r"models\[5\].aliases: 'qwen2.5-coder-32b' already names Qwen2.5"):
        parse_catalog(data, "models.toml")


def test_bad_toml_file(tmp_path: Path) -> None:
    p = tmp_path / "m.toml"
    p.write_text("[[models]\nname=")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog_file(p)


@pytest.mark.parametrize("spec", default_catalog().models[:8], ids=lambda s: s.name)
def test_json_round_trip(spec: ModelSpec) -> None:
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize("name", ["apple", "builds", "gpus", "models", "platforms", "speed_fit", "workloads"])
def test_compiled_catalogs_are_current(name: str) -> None:
    """data/compiled/NAME.json is the TOML's parsed value under the TOML's digest (regenerate with
    ``python -m rigfit.catalogdata`` after editing a catalog)."""
    import hashlib
    import json
    import tomllib
    from importlib import resources

    from rigfit.catalogdata import NAMES, embedded

    data = resources.files("rigfit").joinpath("data")
    raw = data.joinpath(f"{name}.toml").read_bytes()
    doc = json.loads(data.joinpath("compiled", f"{name}.json").read_bytes())
    assert doc["sha256"] == hashlib.sha256(raw).hexdigest(), "stale: run python -m rigfit.catalogdata"
    assert doc["data"] == tomllib.loads(raw.decode()) == embedded(name)
    assert name in NAMES
