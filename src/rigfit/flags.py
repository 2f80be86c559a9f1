"""How each shell spells the request fields that library errors name (``RigfitError.options``): the CLI by its
flags, the web API by its query parameters.  The library itself never names either."""

from __future__ import annotations

from .errors import RigfitError

# request field -> CLI flag
FLAGS = {"model": "MODEL", "quant": "--quant", "context_tokens": "--ctx", "kv_cache_type": "--kv-cache",
         "kv_cache_type_v": "--kv-cache-v",
         "engine": "--engine", "flash_attention": "--flash-attn", "n_batch": "--batch", "n_ubatch": "--ubatch",
         "n_seq": "--parallel", "backend": "--backend", "hardware": "--hardware", "gpu_memory_bytes": "--gpu-memory",
         "gpu_memory_utilization": "--gpu-memory-utilization", "ram_bytes": "--ram", "split_mode": "--split-mode",
         "gpu_layers": "--gpu-layers", "n_cpu_moe": "--n-cpu-moe", "tensor_split": "--tensor-split",
         "tensor_parallel": "--tensor-parallel",
         "pipeline_parallel": "--pipeline-parallel", "command": "--command", "prompt_tokens": "--prompt-tokens",
         "depth_tokens": "--depth", "gen_tokens": "--gen-tokens", "users": "--users", "swa_full": "--swa-full",
         "logits_all": "--logits-all", "mmproj": "--mmproj", "op_offload": "--no-op-offload", "n_threads": "--threads",
         "os_name": "--os", "headroom_bytes": "--headroom",
         "display": "--display", "kwh_price_usd": "--kwh-price", "have": "--have", "form": "--form",
         "for_hardware": "--for", "layers": "--layers", "repeats": "--repeats", "nodes": "--node",
         "link": "--link", "cluster_mode": "--cluster-mode", "cluster": "--cluster"}
# request field -> /api/fit query parameter, where the two differ
PARAMS = {"context_tokens": "ctx", "kv_cache_type": "kv_cache", "kv_cache_type_v": "kv_cache_v",
          "flash_attention": "flash_attn", "n_batch": "batch",
          "n_ubatch": "ubatch", "n_seq": "parallel", "gpu_memory_bytes": "gpu_memory", "ram_bytes": "ram",
          "os_name": "os", "headroom_bytes": "headroom", "kwh_price_usd": "kwh_price"}


def error_line(exc: RigfitError) -> str:
    """The CLI's ``rigfit: error: <message> (<flags>)``."""
    flags = [FLAGS.get(o, o) for o in exc.options]
    return f"rigfit: error: {exc}" + (f" ({', '.join(flags)})" if flags else "")


def query_parameters(exc: RigfitError) -> list[str]:
    """The web API's query parameters an error is about."""
    return [PARAMS.get(o, o) for o in exc.options]


__all__ = ["FLAGS", "PARAMS", "error_line", "query_parameters"]
