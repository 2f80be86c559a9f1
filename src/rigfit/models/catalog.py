"""The embedded model catalog (``data/models.toml``): loaded once, validated, indexed by name and alias."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._validate import Field, Problems, check_record
from ..errors import CatalogError, UnknownModel
from .spec import ModelSpec, spec_problems, swa_layer_types

SCHEMA: dict[str, Field] = {
    "name": Field("str", True), "arch": Field("str", True), "hf_repo": Field("str"),
    "aliases": Field("str_list"), "n_layers": Field("pos_int", True), "hidden_size": Field("pos_int", True),
    "n_heads": Field("pos_int", True), "n_kv_heads": Field("pos_int", True), "head_dim": Field("pos_int", True),
    "ffn_size": Field("pos_int", True), "vocab_size": Field("pos_int", True), "gguf_vocab_size": Field("pos_int"),
    "tied_embeddings": Field("bool", True), "max_context": Field("pos_int", True), "attn_bias": Field("bool"),
    "qk_norm": Field("bool"), "sliding_window": Field("pos_int"), "swa_pattern": Field("pos_int"),
    "n_experts": Field("pos_int"), "n_experts_active": Field("pos_int"), "expert_ffn_size": Field("pos_int"),
    "n_shared_experts": Field("pos_int"), "shared_expert_ffn_size": Field("pos_int"),
    "n_dense_layers": Field("int"), "q_lora_rank": Field("pos_int"), "kv_lora_rank": Field("pos_int"),
    "qk_rope_head_dim": Field("pos_int"), "qk_nope_head_dim": Field("pos_int"), "v_head_dim": Field("pos_int"),
    "params_total": Field("pos_int", True), "params_active": Field("pos_int"), "license": Field("str"),
    "released": Field("date"), "source": Field("str", True), "as_of": Field("date", True), "notes": Field("str"),
    "dtype": Field("str", choices=("bf16", "fp16", "fp32")),
}
_MLA_KEYS = ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
_MOE_KEYS = ("n_experts", "n_experts_active")


def normalize(name: str) -> str:
    """Lookup key: case, spaces, underscores and a trailing ``:latest`` ignored."""
    key = name.strip().lower().removesuffix(":latest")
    return re.sub(r"[\s_]+", "-", key)


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    models: tuple[ModelSpec, ...]
    index: dict[str, ModelSpec]
    path: str

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def all_keys(self) -> list[str]:
        return [*self.names(), *(a for m in self.models for a in m.aliases)]

    def get(self, name: str) -> ModelSpec | None:
        key = normalize(name)
        hit = self.index.get(key)
        if hit is None and "/" in key:  # an HF repo id of an entry we know by its base name
            hit = self.index.get(key.rsplit("/", 1)[1])
        return hit

    def lookup(self, name: str) -> ModelSpec:
        spec = self.get(name)
        if spec is None:
            raise UnknownModel(name, self.all_keys())
        return spec


def _semantic_checks(rec: dict[str, Any], key: str, problems: Problems) -> None:
    if ("sliding_window" in rec) != ("swa_pattern" in rec):
        problems.add(f"{key}.swa_pattern", "sliding_window and swa_pattern go together")
    moe = [k for k in _MOE_KEYS if k in rec]
    if moe and len(moe) != len(_MOE_KEYS):
        problems.add(f"{key}.n_experts_active", "MoE needs both n_experts and n_experts_active")
    if len(moe) == 2 and rec["n_experts_active"] > rec["n_experts"]:
        problems.add(f"{key}.n_experts_active", f"more active experts than experts ({rec['n_experts']})")
    mla = [k for k in _MLA_KEYS if k in rec]
    if mla and len(mla) != len(_MLA_KEYS):
        problems.add(f"{key}.kv_lora_rank", "MLA needs " + ", ".join(_MLA_KEYS))
    if rec.get("n_heads", 1) % rec.get("n_kv_heads", 1):
        problems.add(f"{key}.n_kv_heads", f"does not divide n_heads ({rec.get('n_heads')})")
    if rec.get("n_dense_layers", 0) >= rec.get("n_layers", 1):
        problems.add(f"{key}.n_dense_layers", "must be below n_layers")


def spec_from_record(rec: dict[str, Any]) -> ModelSpec:
    kw = dict(rec)
    pattern = kw.pop("swa_pattern", 0)
    kw["aliases"] = tuple(kw.get("aliases", ()))
    if pattern:
        kw["layer_types"] = swa_layer_types(kw["n_layers"], pattern)
    return ModelSpec(**kw)


def parse_catalog(data: dict[str, Any], where: str) -> ModelCatalog:
    problems = Problems(where)
    records = data.get("models")
    if not isinstance(records, list) or not records:
        raise CatalogError(f"{where}: models: expected a non-empty array of tables")
    specs: list[ModelSpec] = []
    index: dict[str, ModelSpec] = {}
    for i, rec in enumerate(records):
        key = f"models[{i}]"
        if not check_record(rec, SCHEMA, key, problems):
            continue
        _semantic_checks(rec, key, problems)
        if "swa_pattern" in rec and not 0 < rec["swa_pattern"] <= rec["n_layers"]:
            problems.add(f"{key}.swa_pattern", f"must be 1..n_layers, got {rec['swa_pattern']!r}")
            continue
        spec = spec_from_record(rec)
        bad = spec_problems(spec)
        for b in bad:
            problems.add(f"{key}.{b.split(' ', 1)[0]}", b.split(" ", 1)[1] if " " in b else b)
        if bad:
            continue
        specs.append(spec)
        keys = {normalize(spec.name), *(normalize(a) for a in spec.aliases)}
        if spec.hf_repo:
            keys.add(normalize(spec.hf_repo))
        for k in keys:
            other = index.get(k)
            if other is not None and other is not spec:
                problems.add(f"{key}.aliases", f"{k!r} already names {other.name}")
            index[k] = spec
    problems.raise_if_any()
    return ModelCatalog(models=tuple(specs), index=index, path=where)


def load_catalog_file(path: str | Path) -> ModelCatalog:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{p}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{p}: not valid TOML: {exc}") from None
    return parse_catalog(data, str(p))


@functools.cache
def default_catalog() -> ModelCatalog:
    from ..catalogdata import embedded

    return parse_catalog(embedded("models"), "rigfit/data/models.toml")
