"""The engines rigfit models, one module each behind the ``Engine`` interface (``engines/base.py``).

``ENGINES`` is the registry, in the order the CLI and the page list them; ``get_engine`` resolves a name or
alias.  Adding an engine: a module here with a subclass of ``Engine`` and its instance, and one line below.
"""

from __future__ import annotations

from ..errors import UnknownName
from .base import KV_ELEMENT_BYTES, ClusterRules, Engine, PlacementRules
from .exllamav2 import EXLLAMAV2
from .exo import EXO_ENGINE
from .llamacpp import LLAMA_CPP, LM_STUDIO, OLLAMA
from .llamafile import LLAMAFILE
from .mlx import MLX_ENGINE
from .transformers import TRANSFORMERS
from .vllm import VLLM_ENGINE

ENGINES: dict[str, Engine] = {
    e.name: e for e in (LLAMA_CPP, OLLAMA, LM_STUDIO, LLAMAFILE, VLLM_ENGINE, MLX_ENGINE, EXO_ENGINE, TRANSFORMERS,
                         EXLLAMAV2)
}
_ENGINE_INDEX = {a: e for e in ENGINES.values() for a in (e.name, *e.aliases)}
LAUNCH_ENGINES = tuple(e.name for e in ENGINES.values() if e.default_port is not None)


def get_engine(name: str) -> Engine:
    e = _ENGINE_INDEX.get(name.strip().lower())
    if e is None:
        raise UnknownName("engine", name, ENGINES)
    return e


__all__ = ["ENGINES", "KV_ELEMENT_BYTES", "LAUNCH_ENGINES", "ClusterRules", "Engine", "PlacementRules",
           "get_engine"]
