"""rigfit: what LLMs can this machine run, how fast, with which settings, and what to buy.

The public API is re-exported lazily so that ``import rigfit`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "fit": "rigfit.api", "FitResult": "rigfit.api", "DEFAULT_STACK": "rigfit.api",
    "resolve_model": "rigfit.models.resolve", "ModelSpec": "rigfit.models.spec",
    "resolve_quant": "rigfit.quant", "estimate_memory": "rigfit.memory", "make_run_config": "rigfit.memory",
    "MemoryBreakdown": "rigfit.memory", "RunConfig": "rigfit.memory", "get_engine": "rigfit.engines",
    "RigfitError": "rigfit.errors",
}

if TYPE_CHECKING:
    from .api import DEFAULT_STACK, FitResult, fit
    from .engines import get_engine
    from .errors import RigfitError
    from .memory import MemoryBreakdown, RunConfig, estimate_memory, make_run_config
    from .models.resolve import resolve_model
    from .models.spec import ModelSpec
    from .quant import resolve_quant


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'rigfit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)


__all__ = [
    "DEFAULT_STACK", "FitResult", "MemoryBreakdown", "ModelSpec", "RigfitError", "RunConfig", "estimate_memory",
    "fit", "get_engine", "make_run_config", "resolve_model", "resolve_quant",
]
