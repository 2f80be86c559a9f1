"""How the shells (the CLI and the web page, which takes the same names as query parameters) spell the request
fields that library errors name (``RigfitError.options``).  The library itself never names a flag."""

from __future__ import annotations

from .errors import RigfitError

# The request fields library errors name (RigfitError.options), as this shell spells them.
FLAGS = {"model": "MODEL", "quant": "--quant", "context_tokens": "--ctx", "kv_cache_type": "--kv-cache",
         "engine": "--engine", "flash_attention": "--flash-attn", "n_batch": "--batch", "n_ubatch": "--ubatch",
         "n_seq": "--parallel", "backend": "--backend", "hardware": "--hardware", "gpu_memory_bytes": "--gpu-memory",
         "gpu_memory_utilization": "--gpu-memory-utilization", "ram_bytes": "--ram", "split_mode": "--split-mode",
         "gpu_layers": "--gpu-layers", "tensor_split": "--tensor-split", "tensor_parallel": "--tensor-parallel",
         "pipeline_parallel": "--pipeline-parallel", "command": "--command", "prompt_tokens": "--prompt-tokens",
         "gen_tokens": "--gen-tokens"}


def error_line(exc: RigfitError) -> str:
    """``rigfit: error: <message>``, with the flags the error is about."""
    flags = [FLAGS.get(o, o) for o in exc.options]
    return f"rigfit: error: {exc}" + (f" ({', '.join(flags)})" if flags else "")


__all__ = ["FLAGS", "error_line"]
