"""Turn what a user typed into a ModelSpec: catalog name or alias (incl. Ollama tags and HF repo ids
of catalog entries), a local .gguf, config.json or model folder, or a Hugging Face repo id."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from ..errors import BadModelFile, NotAvailableOffline, UnknownModel
from ..quant import split_gguf_name
from ..safeio import check_name, is_existing_path
from .catalog import default_catalog
from .gguf_file import load_gguf_model
from .hf_config import load_config_model
from .spec import ModelSpec

UNKNOWN_MODEL_HINT = "a config.json, model folder or .gguf file can be given instead"
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Ollama pulls Hugging Face GGUFs as hf.co/{user}/{repo}[:{quant}] (ollama.com/docs: "Use Ollama with any GGUF
# model on Hugging Face Hub")
_HF_PULL = re.compile(r"^(?:https?://)?(?:hf\.co|huggingface\.co)/([A-Za-z0-9][\w.-]*/[\w.-]+?)(?::([\w.-]+))?/?$")
_TAG_SIZE = re.compile(r"^(\d+(?:\.\d+)?)b\b", re.IGNORECASE)
# a tag of format words only, the model's one size implied ("north-mini-code-1.0:mlx-nvfp4", "laguna-xs-2.1:mxfp8")
_FORMAT_TAG = re.compile(r"^(?:(?:mlx|nvfp4|mxfp4|mxfp8|int4|int8|bf16|fp16|q\d(?:_[0-9a-z]+)*)(?:-|$))+$",
                         re.IGNORECASE)


def hf_pull_name(text: str) -> tuple[str, str | None] | None:
    """(repo id, quant) from an Ollama-style Hugging Face pull name, None for anything else."""
    m = _HF_PULL.match(text.strip())
    return (m.group(1), m.group(2)) if m else None


def _looks_like_path(text: str) -> bool:
    if text.endswith((".gguf", ".json")) or text.startswith((".", "/", "~")):
        return True
    return text.count("/") > 1


def resolve_model(text: str, *, online: bool | None = None) -> ModelSpec:
    """Resolve ``text``; ``online`` (default: env RIGFIT_ONLINE=1) allows Hub downloads."""
    text = check_name("model", text.strip())
    if not text:
        raise UnknownModel(text, default_catalog().all_keys(), hint="empty model name")
    p = Path(text).expanduser()
    if is_existing_path(text):
        return _from_path(p)
    pulled = hf_pull_name(text)
    if pulled is not None:  # hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M: the repo names the model, the tag the quant
        return replace(resolve_model(pulled[0], online=online), resolved_from=text)
    cat = default_catalog()
    named = split_gguf_name(text) if text.lower().endswith(".gguf") else None
    if named is not None and "/" not in text.strip("/"):  # a GGUF file's name, as the Hub lists it
        spec = cat.get(named[0]) or cat.base_of(named[0])
        if spec is not None:
            return replace(spec, resolved_from=text)
    if _looks_like_path(text):
        raise BadModelFile(f"{text}: no such file or folder")
    spec = cat.get(text)
    if spec is not None:
        return spec
    name, _, tag = text.partition(":")
    size = _TAG_SIZE.match(tag) if tag else None
    if tag and not size and _FORMAT_TAG.match(tag) and (plain := cat.get(name)) is not None:
        return replace(plain, resolved_from=text)  # a tag that names only a format: "...:mlx-nvfp4"
    if size is not None:
        billions = float(size.group(1))

        def at_size(found: ModelSpec) -> bool:
            return bool(found.params_total) and abs((found.params_total or 0) / 1e9 / billions - 1) < 0.25

        known = cat.get(name)
        if known is not None and at_size(known):  # an Ollama tag of a known name at its size: "mistral-small3.2:24b"
            return replace(known, resolved_from=text)
        sized = cat.base_of(f"{name}-{size.group(0)}")  # a family tag at its size: "olmo-3:32b" -> Olmo-3-1125-32B
        if sized is not None and at_size(sized):
            return replace(sized, resolved_from=text)
    online = online if online is not None else os.environ.get("RIGFIT_ONLINE") == "1"
    if _REPO_RE.match(text) and online:
        return _from_hub(text, online=online)
    base = cat.base_of(text)
    if base is not None:  # a fine-tune or repackaging of a catalog model: its architecture is the base's
        return replace(base, resolved_from=text)
    if _REPO_RE.match(text):
        return _from_hub(text, online=online)
    raise UnknownModel(text, cat.all_keys(), hint=UNKNOWN_MODEL_HINT)


def _from_path(p: Path) -> ModelSpec:
    if p.is_dir():
        ggufs = sorted(p.glob("*.gguf"))
        if (p / "config.json").exists():
            return load_config_model(p)
        if len(ggufs) == 1:
            return load_gguf_model(ggufs[0])
        raise BadModelFile(f"{p}: folder has no config.json" + (" and several .gguf files" if ggufs else ""))
    if p.suffix == ".gguf":
        return load_gguf_model(p)
    if p.suffix == ".json":
        return load_config_model(p)
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise BadModelFile(f"{p}: cannot open: {exc.strerror or exc}") from None
    if magic == b"GGUF":
        return load_gguf_model(p)
    raise BadModelFile(f"{p}: not a .gguf file, config.json or model folder")


def _from_hub(repo: str, *, online: bool) -> ModelSpec:
    """config.json (and safetensors headers, when cached) through huggingface_hub's cache."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        cfg = hf_hub_download(repo, "config.json", local_files_only=not online)
    except LocalEntryNotFoundError:
        raise NotAvailableOffline(
            f"Hugging Face repo {repo!r} is not in the local cache and rigfit is offline "
            "(set RIGFIT_ONLINE=1 to download its config.json)"
        ) from None
    except (RepositoryNotFoundError, EntryNotFoundError):
        raise UnknownModel(repo, default_catalog().all_keys(), hint="no config.json on the Hub") from None
    except Exception as exc:  # network errors: one line, no traceback
        raise NotAvailableOffline(f"cannot fetch {repo!r} from the Hugging Face Hub: {exc}") from None
    return load_config_model(Path(cfg), name=repo.rsplit("/", 1)[1], origin="hub", hf_repo=repo)
