"""Read a GGUF file's header and tensor table without loading tensors.

Format: ggml-org/ggml ``docs/gguf.md`` (version 2/3: magic, version, tensor count, KV count, KV pairs,
tensor infos, alignment padding, data).  Type ids and block sizes come from ``rigfit.quant`` (checked
against ``gguf.constants`` in the tests).  ``gguf.GGUFReader`` materialises every array element
(seconds on a 150k-token vocabulary); this reader walks the header in one buffer and skips arrays,
so a 150k-vocab header parses in tens of milliseconds.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BadModelFile
from ..quant import ggml_type_by_id, gguf_file_type_by_id
from ..safeio import clean_text, regular_file_size
from ..vocab import LayerKind
from .arch import get_arch, recurrent_state_bytes
from .spec import SPEC_RANGES, GGUFWeights, ModelSpec, checked, count_value, swa_layer_types
from .tensor import Tensor

GEMMA3N_KV_LAYERS = 20

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
_MAX_COUNT = 1 << 24  # no real file has 16M tensors or KV pairs
# Bounds a hostile header cannot talk the reader past (real files: a 256k-token vocabulary's tokens and merges
# are ~20 MB of header, strings are short, arrays nest one level):
MAX_STRING_BYTES = 1 << 20  # one metadata string kept (longer ones are skipped unread)
MAX_ARRAY_ITEMS = 1 << 22  # elements of one metadata array (4M; vocabularies and merges are under 1M)
MAX_ARRAY_DEPTH = 4  # arrays of arrays
MAX_NAME_BYTES = 1024  # a tensor name
MAX_LAYER_INDEX = 1 << 16
_LAYER_INDEX = re.compile(r"[0-9]{1,6}")
# GGUF value types -> struct format (scalars) ; 8 = string, 9 = array.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_SIZE = {k: struct.calcsize(v) for k, v in _SCALAR.items()}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


@dataclass(frozen=True, slots=True)
class ArrayInfo:
    """A metadata array the reader skipped: its element type and length."""

    elem_type: int
    count: int
    head: tuple[Any, ...]  # first elements for small scalar arrays (per-layer hparams), else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GGUFHeader:
    path: str
    version: int
    metadata: dict[str, Any]
    tensors: tuple[Tensor, ...]
    data_offset: int
    file_size: int

    @property
    def tensor_data_bytes(self) -> int:
        return sum(t.n_bytes or 0 for t in self.tensors)


class _Buf:
    """A sliding read window over the file's head: ``base`` is the file offset of ``data[0]``.  Items are
    read through the window, items the reader does not keep are skipped by seeking, so memory stays bounded
    by the window whatever lengths a corrupt header claims."""

    WINDOW = 1 << 20

    def __init__(self, fh: BinaryIO, path: str, file_size: int) -> None:
        self.fh, self.path, self.file_size = fh, path, file_size
        self.base = 0
        self.data = fh.read(min(file_size, self.WINDOW))
        self.pos = 0

    @property
    def offset(self) -> int:
        """The absolute file offset of the next byte."""
        return self.base + self.pos

    def need(self, n: int) -> None:
        """Make ``n`` bytes from ``pos`` available (n at most MAX_STRING_BYTES)."""
        end = self.offset + n
        if self.pos + n <= len(self.data):
            return
        if end > self.file_size:
            raise BadModelFile(f"{self.path}: truncated GGUF header (needs byte {end}, file has {self.file_size})")
        self.fh.seek(self.offset)
        self.base, self.pos = self.offset, 0
        self.data = self.fh.read(max(n, self.WINDOW))
        if n > len(self.data):
            raise BadModelFile(f"{self.path}: truncated GGUF header")

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes without reading them."""
        if self.offset + n > self.file_size:
            raise BadModelFile(f"{self.path}: truncated GGUF header (an item of {n:,} bytes runs past the end)")
        if self.pos + n <= len(self.data):
            self.pos += n
            return
        self.base, self.pos, self.data = self.offset + n, 0, b""

    def u32(self) -> int:
        self.need(4)
        (v,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(v)

    def u64(self) -> int:
        self.need(8)
        (v,) = _U64.unpack_from(self.data, self.pos)
        self.pos += 8
        return int(v)

    def string(self, limit: int = MAX_STRING_BYTES, *, strict: bool = False) -> str:
        """A length-prefixed UTF-8 string; one longer than ``limit`` is skipped unread (``""``), or with
        ``strict`` (names) an error."""
        n = self.u64()
        if n > limit:
            if strict:
                raise BadModelFile(f"{self.path}: corrupt GGUF header (a name of {n:,} bytes)")
            self.skip(n)
            return ""
        self.need(n)
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def _skip_strings(self, count: int) -> None:
        """Skip ``count`` length-prefixed strings (the hot loop for tokenizer arrays): only the length
        prefixes are read; every string must end inside the file."""
        unpack = _U64.unpack_from
        for _ in range(count):
            if self.pos + 8 > len(self.data):
                self.need(8)
            (n,) = unpack(self.data, self.pos)
            self.pos += 8
            if self.pos + n <= len(self.data):
                self.pos += n
            else:
                self.skip(n)

    def scalar(self, vtype: int) -> Any:
        fmt = _SCALAR[vtype]
        size = _SIZE[vtype]
        self.need(size)
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return v

    def value(self, vtype: int) -> Any:
        if vtype in _SCALAR:
            return self.scalar(vtype)
        if vtype == 8:
            return self.string()
        if vtype == 9:
            return self.array()
        raise BadModelFile(f"{self.path}: corrupt GGUF header (unknown value type {vtype})")

    def array(self, depth: int = 0) -> Any:
        etype = self.u32()
        count = self.u64()
        if count > MAX_ARRAY_ITEMS or depth >= MAX_ARRAY_DEPTH:
            raise BadModelFile(f"{self.path}: corrupt GGUF header (array of {count:,} elements, nested "
                               f"{depth + 1} deep)")
        if etype in _SCALAR:
            size = _SIZE[etype] * count
            head: tuple[Any, ...] = ()
            if count <= 4096:  # per-layer hyperparameters: keep them
                self.need(size)
                head = struct.unpack_from("<" + _SCALAR[etype][1] * count, self.data, self.pos)
                self.pos += size
            else:
                self.skip(size)
            return ArrayInfo(etype, count, head)
        if etype == 8:
            self._skip_strings(count)
            return ArrayInfo(etype, count, ())
        if etype == 9:
            for _ in range(count):
                self.array(depth + 1)
            return ArrayInfo(etype, count, ())
        raise BadModelFile(f"{self.path}: corrupt GGUF header (unknown array element type {etype})")


def read_gguf_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Parse magic, metadata and tensor infos; check that every tensor's data lies inside the file."""
    p = Path(path)
    file_size = regular_file_size(p, "GGUF file")
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise BadModelFile(f"{p}: cannot open: {exc.strerror or exc}") from None
    with fh:
        buf = _Buf(fh, str(p), file_size)
        if buf.data[:4] != GGUF_MAGIC:
            raise BadModelFile(f"{p}: not a GGUF file (magic {buf.data[:4]!r}, expected b'GGUF')")
        buf.pos = 4
        version = buf.u32()
        if version not in (2, 3):
            raise BadModelFile(f"{p}: unsupported GGUF version {version} (rigfit reads 2 and 3)")
        n_tensors, n_kv = buf.u64(), buf.u64()
        if n_tensors > _MAX_COUNT or n_kv > _MAX_COUNT:
            raise BadModelFile(f"{p}: corrupt GGUF header ({n_tensors} tensors, {n_kv} metadata keys)")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = buf.string()
            meta[key] = buf.value(buf.u32())
        infos: list[tuple[str, tuple[int, ...], int, int]] = []
        for _ in range(n_tensors):
            name = buf.string(MAX_NAME_BYTES, strict=True)
            n_dims = buf.u32()
            if not 1 <= n_dims <= 4:
                raise BadModelFile(f"{p}: corrupt tensor info for {name!r} ({n_dims} dimensions)")
            shape = tuple(buf.u64() for _ in range(n_dims))
            infos.append((name, shape, buf.u32(), buf.u64()))
        align = meta.get("general.alignment", DEFAULT_ALIGNMENT)
        if isinstance(align, bool) or not isinstance(align, int) or not 0 < align <= 1 << 20 or align & (align - 1):
            raise BadModelFile(f"{p}: bad general.alignment {clean_text(repr(align))}")
        data_offset = -(-buf.offset // align) * align
    tensors: list[Tensor] = []
    spans: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for name, shape, type_id, offset in infos:
        if name in seen:
            raise BadModelFile(f"{p}: tensor {clean_text(name)!r} appears twice in the tensor table")
        seen.add(name)
        if offset % align:
            raise BadModelFile(f"{p}: tensor {clean_text(name)!r} at offset {offset} is not aligned to {align}")
        if any(d == 0 for d in shape):
            raise BadModelFile(f"{p}: tensor {clean_text(name)!r} has an empty dimension {shape}")
        try:
            gt = ggml_type_by_id(type_id)
        except Exception:
            raise BadModelFile(f"{p}: tensor {name!r} has unknown ggml type id {type_id}") from None
        rows = 1
        for d in shape[1:]:
            rows *= d
        if shape[0] % gt.block_size:
            raise BadModelFile(f"{p}: tensor {name!r} row of {shape[0]} is not whole {gt.name} blocks")
        n_bytes = rows * (shape[0] // gt.block_size) * gt.type_size
        if data_offset + offset + n_bytes > file_size:
            raise BadModelFile(
                f"{p}: truncated GGUF: tensor {name!r} ends at byte {data_offset + offset + n_bytes}, "
                f"file has {file_size}"
            )
        spans.append((offset, offset + n_bytes, name))
        layer = None
        if name.startswith("blk."):
            part = name.split(".", 2)[1]
            if not _LAYER_INDEX.fullmatch(part) or int(part) > MAX_LAYER_INDEX:
                raise BadModelFile(f"{p}: tensor name {clean_text(name)!r} has no layer number")
            layer = int(part)
        tensors.append(Tensor(name=name, shape=shape, layer=layer, ggml_type=gt.name, n_bytes=n_bytes))
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        if start < end:
            raise BadModelFile(f"{p}: tensors {clean_text(a)!r} and {clean_text(b)!r} overlap in the data section")
    return GGUFHeader(path=str(p), version=version, metadata=meta, tensors=tuple(tensors),
                      data_offset=data_offset, file_size=file_size)


# llama.cpp per-arch sliding-window periods (src/llama-model.cpp, hparams.set_swa_pattern).
SWA_PATTERN_BY_ARCH = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2, "llama4": 4, "cohere2": 4, "gemma3n": 5}


def _count(v: Any) -> int | None:
    return count_value(v, allow_bool=True)  # GGUF's bool type is a 0/1 count


def _scalar_or_first(v: Any) -> Any:
    if isinstance(v, ArrayInfo):
        counts = [_count(x) for x in v.head]
        known = [c for c in counts if c is not None]
        return max(known) if known and len(known) == len(counts) else (None if not v.head else -1)
    return v


def _per_layer(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, ArrayInfo) and v.head and len(v.head) == n:
        counts = [_count(x) for x in v.head]
        return tuple(c for c in counts if c is not None) if None not in counts else ()
    return ()


def spec_from_gguf(header: GGUFHeader) -> ModelSpec:
    """Architecture facts from the GGUF metadata (keys per gguf-py ``Keys``) and tensor table."""
    m = header.metadata
    p = header.path
    arch = m.get("general.architecture")
    if not isinstance(arch, str):
        raise BadModelFile(f"{p}: GGUF has no general.architecture")

    raw_arch: str = arch
    arch = clean_text(arch, 64)
    get_arch(arch)  # an architecture rigfit does not know is named, never sized as a llama

    def key(k: str, default: int | None = None) -> int:
        """A count from the metadata: absent -> ``default`` (0), else a non-negative integer or an error
        naming the key and the value."""
        raw = m.get(f"{raw_arch}.{k}")
        if raw is None:
            return default or 0
        n = _count(_scalar_or_first(raw))
        if n is None:
            raise BadModelFile(f"{p}: {arch}.{k} = {clean_text(repr(raw), 60)} is not a count")
        return n
    n_layers = key("block_count")
    n_embd = key("embedding_length")
    n_head = key("attention.head_count")
    if not all(x > 0 for x in (n_layers, n_embd, n_head)):
        raise BadModelFile(f"{p}: GGUF lacks {arch}.block_count / embedding_length / attention.head_count")
    max_layers = min(SPEC_RANGES["n_layers"][1], len(header.tensors))  # a block has at least one tensor
    if n_layers > max_layers:
        raise BadModelFile(f"{p}: {arch}.block_count = {n_layers:,} but the file has {len(header.tensors):,} "
                           f"tensors (at most {max_layers:,} blocks)")
    kv_raw = m.get(f"{raw_arch}.attention.head_count_kv", n_head)
    kv_layers = _per_layer(kv_raw, n_layers)
    head_layers = _per_layer(m.get(f"{raw_arch}.attention.head_count", n_head), n_layers)
    n_kv = key("attention.head_count_kv") or n_head
    by_name = {t.name: t for t in header.tensors}
    embd = by_name.get("token_embd.weight")
    vocab = embd.shape[1] if embd is not None and len(embd.shape) > 1 else key("vocab_size") or 0
    head_dim = key("attention.key_length") or n_embd // n_head
    ff = key("feed_forward_length") or 0
    n_expert = key("expert_count") or 0
    kv_lora = key("attention.kv_lora_rank") or 0
    layer_types: tuple[LayerKind, ...] = ()
    window = key("attention.sliding_window") or 0
    pattern_raw = m.get(f"{raw_arch}.attention.sliding_window_pattern")
    if window:
        flags = _per_layer(pattern_raw, n_layers)
        if flags:
            layer_types = tuple(LayerKind.SLIDING if f else LayerKind.FULL for f in flags)
        elif isinstance(pattern_raw, int) and not isinstance(pattern_raw, bool) and 0 < pattern_raw <= n_layers:
            layer_types = swa_layer_types(n_layers, pattern_raw)
        elif arch in SWA_PATTERN_BY_ARCH:
            layer_types = swa_layer_types(n_layers, SWA_PATTERN_BY_ARCH[arch])
    recurrent = [f"blk.{il}.ssm_conv1d.weight" in by_name or f"blk.{il}.shortconv.conv.weight" in by_name
                 for il in range(n_layers)]
    parallel = get_arch(arch).parallel_mixer  # Falcon-H1: a mixer and attention in every layer
    has_attn = [(parallel or not recurrent[il]) and any(f"blk.{il}.attn_{x}" in by_name
                                          for x in ("k.weight", "qkv.weight", "kv_a_mqa.weight"))
                for il in range(n_layers)]
    if not all(has_attn):
        base = layer_types or (LayerKind.FULL,) * n_layers
        layer_types = tuple(k if has_attn[il] else LayerKind.RECURRENT if recurrent[il] else LayerKind.NONE
                            for il, k in enumerate(base))
    ffn = tuple("moe" if f"blk.{il}.ffn_up_exps.weight" in by_name else
                "dense" if f"blk.{il}.ffn_up.weight" in by_name else "none" for il in range(n_layers))
    ssm: dict[str, int] = dict(ssm_d_conv=key("ssm.conv_kernel"), ssm_d_inner=key("ssm.inner_size"),
               ssm_d_state=key("ssm.state_size"), ssm_n_group=key("ssm.group_count"),
               ssm_dt_rank=key("ssm.time_step_rank"), shortconv_l_cache=key("shortconv.l_cache"))
    state = recurrent_state_bytes(d_conv=ssm["ssm_d_conv"], d_inner=ssm["ssm_d_inner"],
                                  d_state=ssm["ssm_d_state"], n_group=ssm["ssm_n_group"],
                                  l_cache=ssm["shortconv_l_cache"], n_embd=n_embd) if any(recurrent) else 0
    n_dense = key("leading_dense_block_count") or 0
    swa_dim = key("attention.key_length_swa")  # Gemma 4: sliding layers' head size differs from full ones'
    head_dims = tuple(swa_dim if k == LayerKind.SLIDING else head_dim for k in layer_types) \
        if swa_dim and swa_dim != head_dim and layer_types else ()
    shared_kv = key("attention.shared_kv_layers")
    ft_id = m.get("general.file_type")
    ft = gguf_file_type_by_id(ft_id) if isinstance(ft_id, int) else None
    name = m.get("general.name")
    name = clean_text(name if isinstance(name, str) and name.strip() else Path(p).stem, 120)
    total = sum(t.n_elements for t in header.tensors)
    weights = GGUFWeights(
        path=p, file_type=ft.name if ft else "unknown", tensors=header.tensors,
        tensor_data_bytes=header.tensor_data_bytes, file_size_bytes=header.file_size,
        metadata_bytes=header.data_offset,
    )
    return checked(ModelSpec(
        name=name, arch=arch, n_layers=n_layers, hidden_size=n_embd, n_heads=n_head,
        n_kv_heads=int(n_kv), head_dim=int(head_dim), ffn_size=int(ff), vocab_size=int(vocab),
        max_context=int(key("context_length") or 0) or 4096,
        tied_embeddings="output.weight" not in by_name,
        attn_bias="blk.0.attn_q.bias" in by_name, qk_norm="blk.0.attn_q_norm.weight" in by_name,
        sliding_window=int(window) if layer_types else 0, layer_types=layer_types,
        n_kv_heads_per_layer=kv_layers if len(set(kv_layers)) > 1 else (),
        n_heads_per_layer=head_layers if len(set(head_layers)) > 1 else (),
        n_experts=int(n_expert), n_experts_active=int(key("expert_used_count") or 0),
        expert_ffn_size=int(key("expert_feed_forward_length") or 0),
        n_shared_experts=int(key("expert_shared_count") or 0), n_dense_layers=int(n_dense),
        q_lora_rank=int(key("attention.q_lora_rank") or 0), kv_lora_rank=int(kv_lora),
        qk_rope_head_dim=int(key("rope.dimension_count") or 0) if kv_lora else 0,
        qk_nope_head_dim=int((key("attention.key_length_mla") or head_dim) - (key("rope.dimension_count") or 0))
        if kv_lora else 0,
        v_head_dim=int(key("attention.value_length_mla") or key("attention.value_length") or 0) if kv_lora else
        # MiMo-V2: value heads narrower than the key heads (192 / 128)
        int(key("attention.value_length") or 0) if key("attention.value_length") not in (0, head_dim) else 0,
        params_total=total, dtype="bf16", source=p, origin="gguf", gguf=weights,
        layer_ffn=ffn if "none" in ffn or (n_expert and any(f == "dense" for f in ffn[n_dense:])) else (),
        recurrent_state_bytes=state, nextn_layers=key("nextn_predict_layers"), head_dim_per_layer=head_dims,
        kv_shared_from=n_layers - shared_kv if 0 < shared_kv < n_layers else
        # Gemma 3n files do not say: llama.cpp fixes hparams.n_layer_kv_from_start = 20 (src/llama-model.cpp)
        GEMMA3N_KV_LAYERS if arch == "gemma3n" and n_layers > GEMMA3N_KV_LAYERS else 0,
        per_layer_input_size=key("embedding_length_per_layer_input"),
        ssm_d_conv=ssm["ssm_d_conv"], ssm_d_inner=ssm["ssm_d_inner"], ssm_d_state=ssm["ssm_d_state"],
        ssm_n_group=ssm["ssm_n_group"], ssm_dt_rank=ssm["ssm_dt_rank"], shortconv_l_cache=ssm["shortconv_l_cache"],
    ), p)


def load_gguf_model(path: str | os.PathLike[str]) -> ModelSpec:
    return spec_from_gguf(read_gguf_header(path))

