"""Hand-built GGUF bytes (docs/gguf.md layout) for hostile-input tests and the fuzz targets."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

STRING, ARRAY, U32, U64, F32 = 8, 9, 4, 10, 6


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv(key: str, vtype: int, value: Any) -> bytes:
    out = s(key) + struct.pack("<I", vtype)
    if vtype == STRING:
        return out + s(value)
    if vtype == U32:
        return out + struct.pack("<I", value)
    if vtype == U64:
        return out + struct.pack("<Q", value)
    if vtype == F32:
        return out + struct.pack("<f", value)
    return out + value  # raw bytes of an array


def tensor_info(name: str | bytes, shape: Sequence[int], type_id: int, offset: int) -> bytes:
    return s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape) + \
        struct.pack("<IQ", type_id, offset)


def gguf(kvs: Sequence[bytes], infos: Sequence[bytes], data: bytes = b"", *, n_tensors: int | None = None,
         n_kv: int | None = None, align: int = 32) -> bytes:
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv) + b"".join(kvs) + b"".join(infos)
    pad = -len(head) % align
    return head + b"\0" * pad + data


def llama(block_count: int = 2, *, name: str = "tiny", arch: str = "llama", extra: Sequence[bytes] = (),
          head_count: Any = 4, layers: int = 2) -> bytes:
    """A small valid llama-shaped GGUF: F32 tensors (type 0) of a 64-wide model with ``layers`` blocks."""
    e = 64
    kvs = [kv("general.architecture", STRING, arch), kv("general.name", STRING, name),
           kv(f"{arch}.block_count", U32, block_count), kv(f"{arch}.embedding_length", U32, e),
           kv(f"{arch}.context_length", U32, 2048), kv(f"{arch}.feed_forward_length", U32, 128),
           kv(f"{arch}.attention.head_count", U32, head_count) if isinstance(head_count, int)
           else kv(f"{arch}.attention.head_count", STRING, str(head_count)), *extra]
    shapes = [("token_embd.weight", (e, 100))]
    for il in range(layers):
        shapes += [(f"blk.{il}.attn_q.weight", (e, e)), (f"blk.{il}.attn_k.weight", (e, e)),
                   (f"blk.{il}.attn_v.weight", (e, e)), (f"blk.{il}.ffn_up.weight", (e, 128))]
    infos, offset = [], 0
    for name_, shape in shapes:
        infos.append(tensor_info(name_, shape, 0, offset))
        n = 4 * shape[0] * shape[1]
        offset += n + (-n % 32)
    return gguf(kvs, infos, b"\0" * offset)
