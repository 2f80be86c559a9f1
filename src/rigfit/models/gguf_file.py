"""Read a GGUF file's header and tensor table without loading tensors.

Format: ggml-org/ggml ``docs/gguf.md`` (version 2/3: magic, version, tensor count, KV count, KV pairs,
tensor infos, alignment padding, data).  Type ids and block sizes come from ``rigfit.quant`` (checked
against ``gguf.constants`` in the tests).  ``gguf.GGUFReader`` materialises every array element
(seconds on a 150k-token vocabulary); this reader walks the header in one buffer and skips arrays,
so a 150k-vocab header parses in tens of milliseconds.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BadModelFile
from ..quant import ggml_type_by_id, gguf_file_type_by_id
from ..vocab import LayerKind
from .spec import GGUFWeights, ModelSpec, swa_layer_types
from .tensor import Tensor

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
_MAX_COUNT = 1 << 24  # no real file has 16M tensors or KV pairs
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
    """A growing read buffer over the file's head."""

    def __init__(self, fh: BinaryIO, path: str, file_size: int) -> None:
        self.fh, self.path, self.file_size = fh, path, file_size
        self.data = fh.read(min(file_size, 1 << 20))
        self.pos = 0

    def need(self, n: int) -> None:
        end = self.pos + n
        if end <= len(self.data):
            return
        if end > self.file_size:
            raise BadModelFile(f"{self.path}: truncated GGUF header (needs byte {end}, file has {self.file_size})")
        more = max(end - len(self.data), 1 << 22)
        self.data += self.fh.read(more)
        if end > len(self.data):
            raise BadModelFile(f"{self.path}: truncated GGUF header")

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

    def string(self) -> str:
        n = self.u64()
        if n > self.file_size:
            raise BadModelFile(f"{self.path}: corrupt GGUF header (string length {n})")
        self.need(n)
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace")

    def _skip_strings(self, count: int) -> None:
        """Skip ``count`` length-prefixed strings (the hot loop for tokenizer arrays)."""
        unpack = _U64.unpack_from
        data, pos, limit = self.data, self.pos, self.file_size
        for _ in range(count):
            if pos + 8 > len(data):
                self.pos = pos
                self.need(8)
                data = self.data
            (n,) = unpack(data, pos)
            if n > limit:
                raise BadModelFile(f"{self.path}: corrupt GGUF header (string length {n})")
            pos += 8 + n
        self.pos = pos
        self.need(0)

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

    def array(self) -> Any:
        etype = self.u32()
        count = self.u64()
        if count > self.file_size:
            raise BadModelFile(f"{self.path}: corrupt GGUF header (array of {count} elements)")
        if etype in _SCALAR:
            size = _SIZE[etype] * count
            self.need(size)
            head: tuple[Any, ...] = ()
            if count <= 4096:  # per-layer hyperparameters: keep them
                head = struct.unpack_from("<" + _SCALAR[etype][1] * count, self.data, self.pos)
            self.pos += size
            return ArrayInfo(etype, count, head)
        if etype == 8:
            self._skip_strings(count)
            return ArrayInfo(etype, count, ())
        if etype == 9:
            for _ in range(count):
                self.array()
            return ArrayInfo(etype, count, ())
        raise BadModelFile(f"{self.path}: corrupt GGUF header (unknown array element type {etype})")


def read_gguf_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Parse magic, metadata and tensor infos; check that every tensor's data lies inside the file."""
    p = Path(path)
    try:
        file_size = p.stat().st_size
        fh = p.open("rb")
    except OSError as exc:
        raise BadModelFile(f"{p}: cannot open: {exc.strerror or exc}") from None
    with fh:
        buf = _Buf(fh, str(p), file_size)
        buf.need(4)
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
            name = buf.string()
            n_dims = buf.u32()
            if not 1 <= n_dims <= 4:
                raise BadModelFile(f"{p}: corrupt tensor info for {name!r} ({n_dims} dimensions)")
            shape = tuple(buf.u64() for _ in range(n_dims))
            infos.append((name, shape, buf.u32(), buf.u64()))
        align = meta.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(align, int) or align <= 0 or align & (align - 1):
            raise BadModelFile(f"{p}: bad general.alignment {align!r}")
        data_offset = -(-buf.pos // align) * align
    tensors: list[Tensor] = []
    for name, shape, type_id, offset in infos:
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
        layer = None
        if name.startswith("blk."):
            part = name.split(".", 2)[1]
            layer = int(part) if part.isdigit() else None
        tensors.append(Tensor(name=name, shape=shape, layer=layer, ggml_type=gt.name, n_bytes=n_bytes))
    return GGUFHeader(path=str(p), version=version, metadata=meta, tensors=tuple(tensors),
                      data_offset=data_offset, file_size=file_size)


# llama.cpp per-arch sliding-window periods (src/llama-model.cpp, hparams.set_swa_pattern).
SWA_PATTERN_BY_ARCH = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2, "llama4": 4, "cohere2": 4, "gemma3n": 5}


def _scalar_or_first(v: Any) -> Any:
    if isinstance(v, ArrayInfo):
        return max(v.head) if v.head else None
    return v


def _per_layer(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, ArrayInfo) and v.head and len(v.head) == n:
        return tuple(int(x) for x in v.head)
    return ()


def spec_from_gguf(header: GGUFHeader) -> ModelSpec:
    """Architecture facts from the GGUF metadata (keys per gguf-py ``Keys``) and tensor table."""
    m = header.metadata
    p = header.path
    arch = m.get("general.architecture")
    if not isinstance(arch, str):
        raise BadModelFile(f"{p}: GGUF has no general.architecture")

    def key(k: str, default: Any = None) -> Any:
        return _scalar_or_first(m.get(f"{arch}.{k}", default))

    n_layers = key("block_count")
    n_embd = key("embedding_length")
    n_head = key("attention.head_count")
    if not all(isinstance(x, int) and x > 0 for x in (n_layers, n_embd, n_head)):
        raise BadModelFile(f"{p}: GGUF lacks {arch}.block_count / embedding_length / attention.head_count")
    kv_raw = m.get(f"{arch}.attention.head_count_kv", n_head)
    kv_layers = _per_layer(kv_raw, n_layers)
    n_kv = _scalar_or_first(kv_raw) or n_head
    by_name = {t.name: t for t in header.tensors}
    embd = by_name.get("token_embd.weight")
    vocab = embd.shape[1] if embd is not None and len(embd.shape) > 1 else key("vocab_size") or 0
    head_dim = key("attention.key_length") or n_embd // n_head
    ff = key("feed_forward_length") or 0
    n_expert = key("expert_count") or 0
    kv_lora = key("attention.kv_lora_rank") or 0
    layer_types: tuple[LayerKind, ...] = ()
    window = key("attention.sliding_window") or 0
    pattern_raw = m.get(f"{arch}.attention.sliding_window_pattern")
    if window:
        flags = _per_layer(pattern_raw, n_layers)
        if flags:
            layer_types = tuple(LayerKind.SLIDING if f else LayerKind.FULL for f in flags)
        elif isinstance(pattern_raw, int) and pattern_raw > 0:
            layer_types = swa_layer_types(n_layers, pattern_raw)
        elif arch in SWA_PATTERN_BY_ARCH:
            layer_types = swa_layer_types(n_layers, SWA_PATTERN_BY_ARCH[arch])
    has_attn = [any(f"blk.{il}.attn_{x}" in by_name for x in ("k.weight", "qkv.weight", "kv_a_mqa.weight"))
                for il in range(n_layers)]
    if not all(has_attn) and any(has_attn):
        base = layer_types or (LayerKind.FULL,) * n_layers
        layer_types = tuple(k if has_attn[il] else LayerKind.RECURRENT for il, k in enumerate(base))
    n_dense = key("leading_dense_block_count") or 0
    ft_id = m.get("general.file_type")
    ft = gguf_file_type_by_id(ft_id) if isinstance(ft_id, int) else None
    name = m.get("general.name") or Path(p).stem
    total = sum(t.n_elements for t in header.tensors)
    weights = GGUFWeights(
        path=p, file_type=ft.name if ft else "unknown", tensors=header.tensors,
        tensor_data_bytes=header.tensor_data_bytes, file_size_bytes=header.file_size,
        metadata_bytes=header.data_offset,
    )
    return ModelSpec(
        name=str(name), arch=arch, n_layers=n_layers, hidden_size=n_embd, n_heads=n_head,
        n_kv_heads=int(n_kv), head_dim=int(head_dim), ffn_size=int(ff), vocab_size=int(vocab),
        max_context=int(key("context_length") or 0) or 4096,
        tied_embeddings="output.weight" not in by_name,
        attn_bias="blk.0.attn_q.bias" in by_name, qk_norm="blk.0.attn_q_norm.weight" in by_name,
        sliding_window=int(window) if layer_types else 0, layer_types=layer_types,
        n_kv_heads_per_layer=kv_layers if len(set(kv_layers)) > 1 else (),
        n_experts=int(n_expert), n_experts_active=int(key("expert_used_count") or 0),
        expert_ffn_size=int(key("expert_feed_forward_length") or 0),
        n_shared_experts=int(key("expert_shared_count") or 0), n_dense_layers=int(n_dense),
        q_lora_rank=int(key("attention.q_lora_rank") or 0), kv_lora_rank=int(kv_lora),
        qk_rope_head_dim=int(key("rope.dimension_count") or 0) if kv_lora else 0,
        qk_nope_head_dim=int((key("attention.key_length_mla") or head_dim) - (key("rope.dimension_count") or 0))
        if kv_lora else 0,
        v_head_dim=int(key("attention.value_length_mla") or key("attention.value_length") or 0) if kv_lora else 0,
        params_total=total, dtype="bf16", source=p, origin="gguf", gguf=weights,
    )


def load_gguf_model(path: str | os.PathLike[str]) -> ModelSpec:
    return spec_from_gguf(read_gguf_header(path))

