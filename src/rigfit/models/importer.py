"""Catalog entries from a model's own facts: a config.json (or a model folder, or a Hugging Face cache
snapshot), validated through the architecture registry, written as a ``[[models]]`` table that holds the
config itself plus the few facts a person curates (aliases, Ollama tags, notes).  ``rigfit models import``
prints them; the embedded catalog's 2025-2026 entries were made this way.

A ``NAME.meta.json`` beside a ``NAME.json`` config may supply the curated facts: ``hf_repo``,
``config_source``, ``params_total``, ``params_active``, ``aliases``, ``ollama_tags``, ``license``,
``released``, ``notes``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from ..errors import BadModelFile
from ..safeio import clean_text
from .hf_config import read_config, safetensors_param_count, spec_from_config
from .spec import ModelSpec
from .tensors import build_tensors, count_params

_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _repo_from_cache(folder: Path) -> tuple[str, str]:
    """(org/name, revision) of a Hugging Face cache snapshot folder (.../models--org--name/snapshots/REV)."""
    parts = folder.resolve().parts
    for i, part in enumerate(parts):
        if part.startswith("models--") and i + 2 < len(parts) and parts[i + 1] == "snapshots":
            return part.removeprefix("models--").replace("--", "/", 1), parts[i + 2]
    return "", ""


def import_config(path: str | Path, *, as_of: str) -> dict[str, Any]:
    """One catalog record from a config.json, a model folder or a cache snapshot (BadModelFile or
    UnknownArchitecture when it is not a model rigfit can size)."""
    p = Path(path)
    cfg_path = p / "config.json" if p.is_dir() else p
    folder = cfg_path.parent
    cfg = read_config(cfg_path)
    if not isinstance(cfg, dict):
        raise BadModelFile(f"{cfg_path}: expected a JSON object")
    meta_path = cfg_path.with_name(cfg_path.name.removesuffix(".json") + ".meta.json")
    meta = read_config(meta_path) if meta_path.is_file() and meta_path != cfg_path else {}
    if not isinstance(meta, dict):
        raise BadModelFile(f"{meta_path}: expected a JSON object")
    repo, revision = _repo_from_cache(folder)
    repo = str(meta.get("hf_repo") or repo or cfg.get("_name_or_path") or "")
    base = folder.name if cfg_path.name == "config.json" else cfg_path.stem
    name = clean_text((repo.rsplit("/", 1)[-1] if repo else base) or cfg_path.stem, 120)
    where = str(cfg_path)
    spec = spec_from_config(cfg, name=name, where=where, hf_repo=repo)
    counted = safetensors_param_count(folder) if folder.is_dir() and not meta else None
    text_params = count_params(build_tensors(spec))
    published = meta.get("params_total")
    told = str(meta.get("config_source") or "")
    url = re.search(r"https?://[^\s,;()'\"]+", told)
    source = url.group(0) if url else told or (
        f"https://huggingface.co/{repo}/blob/{revision}/config.json" if revision else where)
    rec: dict[str, Any] = {"name": name}
    if repo:
        rec["hf_repo"] = repo
    aliases = _aliases(name, meta)
    if aliases:
        rec["aliases"] = aliases
    rec["params_total"] = text_params
    if spec.is_moe:
        rec["params_active"] = active_params(spec)
    for key in ("license", "released"):
        v = meta.get(key)
        if isinstance(v, str) and v and (key != "released" or _DATE.match(v)):
            rec[key] = v
    rec["source"] = source
    rec["as_of"] = as_of
    notes = [f"params_total counts the text model llama.cpp loads ({text_params:,})"]
    if isinstance(published, int) and published != text_params:
        notes.append(f"the repo publishes {published:,} (vision tower, MTP layers or a second copy of a "
                     "tied head included there)")
    if counted and counted != text_params:
        notes.append(f"safetensors here hold {counted:,}")
    if meta.get("config_complete") is False:
        missing = meta.get("missing_keys") or []
        notes.append("config reconstructed from copies; keys not found: "
                     + (", ".join(str(k) for k in missing[:8]) or "none listed"))
    if told and (not url or len(told) > len(url.group(0)) + 8):
        notes.append("config from: " + clean_text(told, 300))
    extra = meta.get("notes")
    if isinstance(extra, str) and extra.strip():
        notes.append(clean_text(extra.strip(), 400))
    rec["notes"] = ". ".join(notes)
    if spec.native_quant:  # read from quantization_config, which the stored config leaves out
        rec["native_quant"] = spec.native_quant
    rec["config"] = {k: v for k, v in cfg.items() if k != "quantization_config"}
    return rec


def active_params(spec: ModelSpec) -> int:
    """Parameters one token uses: every tensor but the routed experts, plus the active experts' share."""
    total = 0
    for t in build_tensors(spec):
        n = t.n_elements
        if "_exps" in t.name and spec.n_experts:
            n = n * spec.n_experts_active // spec.n_experts
        total += n
    return total


def _aliases(name: str, meta: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for a in [*(meta.get("aliases") or []), *(meta.get("ollama_tags") or [])]:
        if isinstance(a, str) and a.strip() and a.strip().lower() != name.lower():
            out.append(clean_text(a.strip().lower(), 120))
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# TOML: written by hand (the standard library reads TOML but does not write it)
# ---------------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"  # TOML 1.0 special floats (configs use Infinity for "no clamp")
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + "}"
    raise BadModelFile(f"a config value of type {type(v).__name__} cannot be written to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def record_toml(rec: dict[str, Any]) -> str:
    """A ``[[models]]`` table, the config as its ``[models.config]`` sub-table (None values dropped: TOML
    has no null, and transformers reads a missing key as its default)."""
    lines = ["[[models]]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in rec.items() if k != "config" and v is not None]
    lines.append("")
    lines += _table("models.config", rec["config"])
    return "\n".join(lines) + "\n"


def _table(prefix: str, d: dict[str, Any]) -> list[str]:
    out = [f"[{prefix}]"]
    subs = []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, dict) and v and len(json.dumps(v)) > 100:
            subs.append((k, v))
        else:
            out.append(f"{_key(k)} = {_value(v)}")
    for k, v in subs:
        out += ["", *_table(f"{prefix}.{_key(k)}", v)]
    return out
