"""The engines rigfit models, one module each behind the ``Engine`` interface (``engines/base.py``).

``ENGINES`` is the registry, in the order the CLI and the page list them; ``get_engine`` resolves a name or
alias.  Adding an engine: a module here with a subclass of ``Engine`` and its instance, and one line below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidInput, UnknownName
from .base import KV_ELEMENT_BYTES, ClusterRules, Engine, PlacementRules
from .exllamav2 import EXLLAMAV2
from .exo import EXO_ENGINE
from .llamacpp import LLAMA_CPP, LM_STUDIO, OLLAMA
from .llamafile import LLAMAFILE
from .mlx import MLX_ENGINE
from .ollama_mlx import OLLAMA_MLX
from .transformers import TRANSFORMERS
from .vllm import VLLM_ENGINE

if TYPE_CHECKING:
    from ..quant import QuantScheme

ENGINES: dict[str, Engine] = {
    e.name: e for e in (LLAMA_CPP, OLLAMA, OLLAMA_MLX, LM_STUDIO, LLAMAFILE, VLLM_ENGINE, MLX_ENGINE, EXO_ENGINE,
                         TRANSFORMERS, EXLLAMAV2)
}
_ENGINE_INDEX = {a: e for e in ENGINES.values() for a in (e.name, *e.aliases)}
LAUNCH_ENGINES = tuple(e.name for e in ENGINES.values() if e.default_port is not None)


def get_engine(name: str) -> Engine:
    e = _ENGINE_INDEX.get(name.strip().lower())
    if e is None:
        raise UnknownName("engine", name, ENGINES)
    return e


def typed_name(model: object) -> str:
    """What the user typed for ``model``: the name itself, or the name a ModelSpec was resolved from."""
    name = model if isinstance(model, str) else getattr(model, "resolved_from", "")
    return name if isinstance(name, str) else ""


def engine_for(engine: Engine, model: object) -> Engine:
    """The engine that runs ``model`` (a name, or a ModelSpec resolved from one) when ``engine`` is asked to: the
    one serving its MLX tags where the name is such a tag ("qwen3.6:27b-mlx" under Ollama runs on Ollama's MLX
    runner), else ``engine`` itself."""
    if engine.mlx_tags_engine is not None:
        from ..quant import tag_is_mlx

        if tag_is_mlx(typed_name(model)):
            return get_engine(engine.mlx_tags_engine)
    return engine


def check_loads(engine: Engine, quant: QuantScheme) -> None:
    """A quant ``engine`` cannot load is an error that lists what it loads and names the engines that do load it
    ("Qwen/Qwen3-8B-AWQ" under llama.cpp: vLLM and transformers load AWQ)."""
    try:
        engine.check_quant(quant)
    except InvalidInput as e:
        others = [o.name for o in ENGINES.values() if o.loads(quant)]
        if not others:
            raise
        raise InvalidInput(f"{e}; engines that load {quant.name}: {', '.join(others)}",
                           options=("quant", "engine")) from None


__all__ = ["ENGINES", "KV_ELEMENT_BYTES", "LAUNCH_ENGINES", "ClusterRules", "Engine", "PlacementRules",
           "check_loads", "engine_for", "get_engine", "typed_name"]
