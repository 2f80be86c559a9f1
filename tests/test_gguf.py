"""GGUF header reader: agrees with gguf.GGUFReader, sizes files exactly, rejects broken files."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from rigfit import fit
from rigfit.errors import BadModelFile
from rigfit.models.gguf_file import read_gguf_header, spec_from_gguf
from rigfit.models.resolve import resolve_model

from .conftest import spec


@pytest.mark.slow
def test_reader_agrees_with_gguf_reader(tiny_gguf: Path) -> None:
    ours = read_gguf_header(tiny_gguf)
    ref = gguf.GGUFReader(tiny_gguf)
    assert [t.name for t in ours.tensors] == [t.name for t in ref.tensors]
    assert [t.shape for t in ours.tensors] == [tuple(int(x) for x in t.shape) for t in ref.tensors]
    assert [t.ggml_type for t in ours.tensors] == [t.tensor_type.name for t in ref.tensors]
    assert ours.tensor_data_bytes == sum(int(t.n_bytes) for t in ref.tensors)
    assert ours.data_offset == ref.data_offset


def test_spec_from_gguf(tiny_gguf: Path) -> None:
    s = spec_from_gguf(read_gguf_header(tiny_gguf))
    cat = spec("Qwen2.5-Coder-0.5B-Instruct")
    assert (s.arch, s.n_layers, s.hidden_size, s.n_heads, s.n_kv_heads, s.head_dim, s.vocab_size) == (
        cat.arch, cat.n_layers, cat.hidden_size, cat.n_heads, cat.n_kv_heads, cat.head_dim, cat.vocab_size)
    assert s.tied_embeddings and s.attn_bias
    assert s.gguf is not None and s.gguf.file_type == "Q4_K_M"
    assert s.params_total == 494_032_768


def test_fit_on_gguf_uses_exact_tensor_bytes(tiny_gguf: Path) -> None:
    r = fit(str(tiny_gguf), context_tokens=4096)
    assert r.memory.exact_weights
    assert r.memory.model_file_bytes == tiny_gguf.stat().st_size
    hdr = read_gguf_header(tiny_gguf)
    # weights in memory = file tensors + the GPU copy of the tied embeddings (TENSOR_DUPLICATED)
    embd = next(t.n_bytes for t in hdr.tensors if t.name == "token_embd.weight")
    assert r.memory.weights_bytes == hdr.tensor_data_bytes + embd
    # the prediction from the catalog agrees with the real file's tensors
    assert fit("Qwen2.5-Coder-0.5B-Instruct", context_tokens=4096).memory.weights_bytes == r.memory.weights_bytes


def test_resolve_gguf_path(tiny_gguf: Path) -> None:
    assert resolve_model(str(tiny_gguf)).origin == "gguf"


def _corrupt(tmp_path: Path, data: bytes, name: str = "bad.gguf") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda src: src[: len(src) // 2], "truncated"),
        (lambda src: b"GGML" + src[4:], "not a GGUF file"),
        (lambda src: src[:4] + (9).to_bytes(4, "little") + src[8:], "unsupported GGUF version 9"),
        (lambda src: src[:8] + (1 << 40).to_bytes(8, "little") + src[16:], "corrupt"),
        (lambda src: src[:64], "truncated"),
        (lambda src: b"", "not a GGUF file|truncated"),
    ],
    ids=["half", "magic", "version", "count", "header-cut", "empty"],
)
def test_broken_files(tmp_path: Path, tiny_gguf: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    head = tiny_gguf.read_bytes()[: 4 << 20]
    src = head + b"\0" * 1024 if tiny_gguf.stat().st_size > len(head) else tiny_gguf.read_bytes()
    with pytest.raises(BadModelFile, match=message):
        read_gguf_header(_corrupt(tmp_path, make(src)))


def test_truncated_data_section(tmp_path: Path, tiny_gguf: Path) -> None:
    p = tmp_path / "cut.gguf"
    with tiny_gguf.open("rb") as f:
        p.write_bytes(f.read(8 << 20))
    with pytest.raises(BadModelFile, match="truncated GGUF: tensor"):
        read_gguf_header(p)
