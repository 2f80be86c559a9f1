"""Every registered engine implements every part of the Engine interface, with data that agrees with itself."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest

from rigfit.engines import ENGINES, LAUNCH_ENGINES, Engine, get_engine
from rigfit.engines.base import KV_ELEMENT_BYTES
from rigfit.errors import UnknownName
from rigfit.quant import resolve_quant

PARTS = sorted(Engine.__abstractmethods__)


def test_the_interface_has_every_part() -> None:
    assert sorted(["allocate_pool", "check_run", "compute_items", "duplicates_tied_output",
                            "embeddings_on_host", "formats_text", "kv_cells", "kv_dims", "kv_layer_bytes",
                            "launch", "loads"]) == PARTS


@pytest.mark.parametrize("name", list(ENGINES))
@pytest.mark.parametrize("part", PARTS)
def test_engine_implements_part(name: str, part: str) -> None:
    """Each part is defined by the engine's own class or an engine it is a dialect of, never left abstract."""
    eng = ENGINES[name]
    owner = next(c for c in type(eng).__mro__ if part in c.__dict__)
    assert owner is not Engine
    assert not getattr(getattr(eng, part), "__isabstractmethod__", False)


def test_an_engine_missing_a_part_cannot_be_made() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Half(type(ENGINES["vllm"]).__mro__[1]):  # type: ignore[misc]
        pass

    with pytest.raises(TypeError, match="abstract"):
        Half(**{f: getattr(ENGINES["vllm"], f) for f in inspect.signature(Engine).parameters})


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_data_agrees(name: str) -> None:
    eng = ENGINES[name]
    prefer = eng.weights.value
    assert eng.loads(resolve_quant(eng.default_quant, prefer=prefer))
    assert eng.quant_ladder and all(eng.loads(resolve_quant(q, prefer=prefer)) for q in eng.quant_ladder)
    assert eng.kv_key(eng.default_kv) in KV_ELEMENT_BYTES
    assert all(eng.kv_key(k) in KV_ELEMENT_BYTES for k in eng.kv_types)
    assert eng.default_backend in eng.backends
    assert set(eng.runtime_overhead_bytes) <= set(eng.backends)
    assert get_engine(name) is eng and all(get_engine(a) is eng for a in eng.aliases)
    assert (name in LAUNCH_ENGINES) == (eng.default_port is not None)


def test_launch_engines() -> None:
    assert LAUNCH_ENGINES == ("llama.cpp", "ollama", "ollama-mlx", "lmstudio", "llamafile", "vllm", "mlx", "exo")


def test_unknown_engine_names_the_close_ones() -> None:
    with pytest.raises(UnknownName, match="unknown engine 'vlm'; did you mean: vllm"):
        get_engine("vlm")
