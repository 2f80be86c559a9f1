"""rigfit: what LLMs can this machine run, how fast, with which settings, and what to buy.

The public API is re-exported lazily so that ``import rigfit`` stays cheap.  The pipeline takes one
``FitRequest`` (``make_request``) through ``rigfit.api.fit``; ``rigfit.fit(model, **options)`` below is the
keyword shortcut scripts use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FitResult": "rigfit.api", "DEFAULT_STACK": "rigfit.api", "what_runs": "rigfit.api",
    "FitRequest": "rigfit.request", "make_request": "rigfit.request", "Search": "rigfit.request",
    "System": "rigfit.system", "make_system": "rigfit.system",
    "resolve_model": "rigfit.models.resolve", "ModelSpec": "rigfit.models.spec",
    "resolve_quant": "rigfit.quant", "estimate_memory": "rigfit.memory", "make_run_config": "rigfit.memory",
    "MemoryBreakdown": "rigfit.memory", "RunConfig": "rigfit.memory", "get_engine": "rigfit.engines",
    "RigfitError": "rigfit.errors",
}

if TYPE_CHECKING:
    from .api import DEFAULT_STACK, FitResult, what_runs
    from .engines import get_engine
    from .errors import RigfitError
    from .memory import MemoryBreakdown, RunConfig, estimate_memory, make_run_config
    from .models.resolve import resolve_model
    from .models.spec import ModelSpec
    from .quant import resolve_quant
    from .request import FitRequest, Search, make_request
    from .system import System, make_system


def fit(model: str | ModelSpec, **options: Any) -> FitResult:
    """The plan for ``model`` (a catalog name or alias, an Ollama tag, an HF repo id, a .gguf file, a
    config.json or model folder, or a ModelSpec), as ``rigfit fit`` computes it.

    ``options`` are ``make_request``'s keywords: ``quant``, ``engine`` (default llama.cpp), ``context_tokens``,
    ``kv_cache_type``, ``flash_attention``, ``n_batch``, ``n_ubatch``, ``n_seq``, ``backend``,
    ``gpu_memory_bytes``, ``gpu_memory_utilization``, ``hardware`` (catalog names such as ``"2x RTX 3090"``)
    or ``system`` (a System), ``ram_bytes``, ``prompt_tokens``, ``gen_tokens``, ``split_mode``,
    ``tensor_split``, ``tensor_parallel``, ``pipeline_parallel``, ``gpu_layers``, ``cpu_moe``, ``n_cpu_moe``,
    ``cpu_bandwidth_gb_s``, ``llamacpp_build``, and ``search`` (``Search.BEST_QUANT`` or
    ``Search.MAX_CONTEXT``).  Bad values raise a RigfitError naming them.

    Example: ``rigfit.fit("llama3.1:8b", quant="Q5_K_M", context_tokens=32768, hardware=["RTX 3090"])``
    """
    from .api import fit_model

    return fit_model(model, **options)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'rigfit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)


__all__ = [
    "DEFAULT_STACK", "FitRequest", "FitResult", "MemoryBreakdown", "ModelSpec", "RigfitError", "RunConfig", "Search",
    "System", "estimate_memory", "fit", "get_engine", "make_request", "make_run_config", "make_system",
    "resolve_model", "resolve_quant", "what_runs",
]
