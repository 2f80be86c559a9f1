"""The embedded model catalog (``data/models.toml``): loaded once, validated, indexed by name and alias."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from .._validate import Field, Problems, check_record
from ..errors import CatalogError, RigfitError, UnknownModel
from .spec import ModelSpec, spec_problems, swa_layer_types
from .vision import vision_params

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
    "dtype": Field("str", choices=("bf16", "fp16", "fp32")), "native_quant": Field("str"),
    "vision_config": Field("table"),  # the published config's vision_config: what --mmproj loads
}
# An entry made by ``rigfit models import``: the published config.json itself plus the curated facts; its
# architecture numbers come from the config through the registry, never typed by hand.
CONFIG_SCHEMA: dict[str, Field] = {
    "name": Field("str", True), "hf_repo": Field("str"), "aliases": Field("str_list"),
    "params_total": Field("pos_int", True), "params_active": Field("pos_int"), "license": Field("str"),
    "released": Field("date"), "source": Field("str", True), "as_of": Field("date", True), "notes": Field("str"),
    "native_quant": Field("str"), "config": Field("table", True),
}
_MLA_KEYS = ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
_MOE_KEYS = ("n_experts", "n_experts_active")


def normalize(name: str) -> str:
    """Lookup key: case, spaces, underscores and a trailing ``:latest`` ignored."""
    key = name.strip().lower().removesuffix(":latest")
    return re.sub(r"[\s_]+", "-", key)


_V = TypeVar("_V")


def _by_repo(table: dict[str, _V], key: str) -> _V | None:
    """The entry under a normalized name, or for an HF repo id, under its name after the organisation (an entry
    known by its base name)."""
    hit = table.get(key)
    if hit is None and "/" in key:
        hit = table.get(key.rsplit("/", 1)[1])
    return hit


class ModelCatalog:
    """The catalog's entries, indexed by name, alias and repo.  Imported entries (a config per model) are
    sized through the registry when first looked up, so a lookup does not pay for the whole catalog."""

    def __init__(self, records: list[dict[str, Any]], specs: list[ModelSpec | None], index: dict[str, int],
                 path: str, derivatives: dict[str, tuple[int, str]] | None = None) -> None:
        self._records = records
        self._specs = specs
        self.index = index
        self.path = path
        # fine-tunes and repackagings whose names do not contain their base's: key -> (base position, how)
        self.derivatives = derivatives or {}

    def _spec(self, i: int) -> ModelSpec:
        spec = self._specs[i]
        if spec is None:
            spec = self._specs[i] = spec_from_config_record(self._records[i], f"{self.path} models[{i}]")
        return spec

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return tuple(self._spec(i) for i in range(len(self._specs)))

    def names(self) -> list[str]:
        return [r["name"] for r in self._records]

    def all_keys(self) -> list[str]:
        return [*self.names(), *(a for r in self._records for a in r.get("aliases", ()))]

    def get(self, name: str) -> ModelSpec | None:
        hit = _by_repo(self.index, normalize(name))
        return None if hit is None else self._spec(hit)

    def base_of(self, name: str) -> ModelSpec | None:
        """The catalog model a fine-tune, merge or repackaging is built on: one the catalog's ``[[derivatives]]``
        list (with the source that names its base), else one whose name contains the base's name or alias with
        its size ("bekoozkan/godot-gemma-4-e4b-it-GGUF" -> gemma-4-E4B-it,
        "sakamakismile/Huihui-Qwen3.6-27B-abliterated-NVFP4-MTP" -> Qwen3.6-27B): the longest such name wins.
        Packaging words (GGUF, MLX, AWQ, GPTQ, NVFP4, FP8, int4, bnb-4bit, i1, QAT, MTP, ...) and an
        organisation are ignored; a name without a size (a bare family) never matches."""
        known = _by_repo(self.derivatives, normalize(name))
        if known is not None:  # listed under [[derivatives]]: its model card names the base
            return replace(self._spec(known[0]), resolved_via=known[1])
        text = _base_key(name)
        exact = self.index.get(text)  # the base's own name once packaging words are dropped, size or not
        if exact is not None:  # ("unsloth/Phi-4-mini-reasoning-GGUF" -> Phi-4-mini-reasoning)
            return self._spec(exact)
        best: tuple[int, int] | None = None
        for key, pos in self._base_keys():
            if len(key) > (best[0] if best else 0) and _contains(text, key):
                best = (len(key), pos)
        return None if best is None else self._spec(best[1])

    def _base_keys(self) -> list[tuple[str, int]]:
        if not hasattr(self, "_bases"):
            out: dict[str, int] = {}
            for k, pos in self.index.items():
                for key in {_base_key(k), _base_key(k, drop_variant=True)}:
                    if _SIZE.search(key) and len(key) >= 5:
                        out.setdefault(key, pos)
            self._bases = sorted(out.items())
        return self._bases

    def lookup(self, name: str) -> ModelSpec:
        spec = self.get(name)
        if spec is None:
            raise UnknownModel(name, self.all_keys())
        return spec


_SIZE = re.compile(r"(?:^|[-:])(?:\d+(?:\.\d+)?[bm]|e\d+b|\d+x\d+b|a\d+(?:\.\d+)?b)(?:$|[-:])")
_PACKAGING = re.compile(
    r"-(?:gguf|ggml|mlx|awq|gptq|exl2|exl3|nvfp4|mxfp4|fp8|fp4|int4|int8|w4a16|w8a8|bnb|4bit|8bit|6bit|3bit|"
    r"5bit|i1|imatrix|qat|mtp|autoround|dflash|text|i?q\d\w*(?:-(?:xxs|xs|s|m|l|xl|nl|k))*|bf16|f16|dwq|hf|dynamic|ud)"
    r"(?=$|-)")
_VARIANT = re.compile(r"-(?:instruct|it|chat|base|pt|hf)(?=$|-)")


def _base_key(name: str, *, drop_variant: bool = False) -> str:
    key = normalize(name).rsplit("/", 1)[-1].replace(".", "\u0000")
    key = re.sub(r"\u0000", ".", key)
    prev = None
    while prev != key:
        prev, key = key, _PACKAGING.sub("", key)
    return _VARIANT.sub("", key) if drop_variant else key


def _contains(text: str, key: str) -> bool:
    """``key`` occurs in ``text`` on word boundaries (-, :, start, end)."""
    start = text.find(key)
    while start >= 0:
        end = start + len(key)
        if (start == 0 or text[start - 1] in "-:") and (end == len(text) or text[end] in "-:"):
            return True
        start = text.find(key, start + 1)
    return False


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
    vision = kw.pop("vision_config", None)
    if vision:
        kw["has_vision"], kw["vision_params"] = True, vision_params({"vision_config": vision}, kw["hidden_size"])
    if pattern:
        kw["layer_types"] = swa_layer_types(kw["n_layers"], pattern)
    return ModelSpec(**kw)


def spec_from_config_record(rec: dict[str, Any], where: str) -> ModelSpec:
    """The spec of an imported entry: the registry reads its config; the curated facts are laid over."""
    from .hf_config import spec_from_config

    spec = spec_from_config(rec["config"], name=rec["name"], where=where, origin="catalog",
                            hf_repo=rec.get("hf_repo", ""))
    return replace(spec, aliases=tuple(rec.get("aliases", ())), params_total=rec["params_total"],
                   params_active=rec.get("params_active"), license=rec.get("license", ""),
                   released=rec.get("released", ""), source=rec["source"], as_of=rec["as_of"],
                   notes=rec.get("notes", ""), native_quant=rec.get("native_quant", spec.native_quant))


def parse_catalog(data: dict[str, Any], where: str, *, lazy: bool = False) -> ModelCatalog:
    """Validate every entry (each problem named by its key); ``lazy``: imported entries are sized on first
    lookup (the embedded catalog, whose configs the test suite sizes in full)."""
    problems = Problems(where)
    records = data.get("models")
    if not isinstance(records, list) or not records:
        raise CatalogError(f"{where}: models: expected a non-empty array of tables")
    kept: list[dict[str, Any]] = []
    specs: list[ModelSpec | None] = []
    index: dict[str, int] = {}
    for i, rec in enumerate(records):
        key = f"models[{i}]"
        spec: ModelSpec | None
        if isinstance(rec, dict) and "config" in rec:
            if not check_record(rec, CONFIG_SCHEMA, key, problems):
                continue
            try:
                spec = None if lazy else spec_from_config_record(rec, f"{where} {key}")
            except RigfitError as exc:
                problems.add(f"{key}.config", str(exc))
                continue
            names = (rec["name"], *rec.get("aliases", ()), rec.get("hf_repo", ""))
        else:
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
            names = (spec.name, *spec.aliases, spec.hf_repo)
        pos = len(kept)
        kept.append(rec)
        specs.append(spec)
        for k in {normalize(n) for n in names if n}:
            other = index.get(k)
            if other is not None and other != pos:
                problems.add(f"{key}.aliases", f"{k!r} already names {kept[other]['name']}")
            index[k] = pos
    derivatives = _derivatives(data.get("derivatives", []), kept, index, problems)
    problems.raise_if_any()
    return ModelCatalog(kept, specs, index, where, derivatives)


DERIVATIVE_SCHEMA: dict[str, Field] = {
    "repo": Field("str", True), "base": Field("str", True), "source": Field("str", True),
    "as_of": Field("date", True), "notes": Field("str", True),
}


def _derivatives(records: Any, kept: list[dict[str, Any]], index: dict[str, int],
                 problems: Problems) -> dict[str, tuple[int, str]]:
    """The ``[[derivatives]]`` tables: a published model (``repo``) whose architecture and size are its base
    catalog model's (``base``), with the ``source`` that says so and a short ``notes`` line the plan quotes."""
    out: dict[str, tuple[int, str]] = {}
    if not isinstance(records, list):
        problems.add("derivatives", "expected an array of tables")
        return out
    for i, rec in enumerate(records):
        key = f"derivatives[{i}]"
        if not check_record(rec, DERIVATIVE_SCHEMA, key, problems):
            continue
        pos = index.get(normalize(rec["base"]))
        if pos is None:
            problems.add(f"{key}.base", f"{rec['base']!r} is not a catalog model")
            continue
        repo = normalize(rec["repo"])
        for k in (repo, repo.rsplit("/", 1)[-1]):
            if k in index:
                problems.add(f"{key}.repo", f"{k!r} already names {kept[index[k]]['name']}")
            elif k in out and out[k][0] != pos:
                problems.add(f"{key}.repo", f"{k!r} is listed twice with different bases")
            else:
                out[k] = (pos, f"the model it is built on ({rec['notes']})")
    return out


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

    return parse_catalog(embedded("models"), "rigfit/data/models.toml", lazy=True)
