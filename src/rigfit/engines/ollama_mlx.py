"""Ollama's MLX runner: the engine Ollama (0.19 and later) serves safetensors models with on Apple silicon, its
library's MLX tags ("qwen3.6:27b-mlx", "north-mini-code-1.0:mlx-nvfp4").  MLX kernels as mlx-lm runs them,
so the plan is MLX's (a bf16 KV cache grown in 256-token steps, rotating caches for sliding-window layers,
2,048-token prefill chunks) with Ollama's quantization policy (tensorformats.OLLAMA_MLX_FORMATS), its
server, port and context setting.

Sources (ollama/ollama at fb30760, 2026-08-21): ``x/mlxrunner/cache/kvcache.go`` (KVCache step 256, no KV
quantization), ``x/mlxrunner/cache/rotating.go`` (RotatingKVCache for windowed layers),
``x/mlxrunner/pipeline.go`` (prefillChunkSize 2 << 10), ``x/quant/quant.go`` (nvfp4, mxfp4, mxfp8, int4,
int8), ``server/images.go`` (a safetensors model runs on the MLX runner), ``x/mlxrunner/client.go`` (Apple
silicon only on macOS).  Which mode a plain "-mlx" library tag holds is not published: rigfit takes NVFP4, the
mode Ollama's announcement benchmarks (ollama.com/blog/mlx: Qwen3.5-35B-A3B on an M5 Max decodes 112 tok/s
in NVFP4, 134 in int4; measured runs of qwen3.6:35b-mlx on an M5 Max give 115).  Some library models carry a
multi-token-prediction draft the runner speculates with (``x/mlxrunner/mtp.go``, ``x/create/draft.go``); rigfit
plans plain decoding, so such a tag can decode up to about twice the planned rate (gemma4:12b-mlx measured at
113 tok/s on an M5 Max, where reading its weights once per token allows about 75).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..quant import tag_parts
from ..tensorformats import OLLAMA_MLX_FORMATS
from ..units import MIB
from ..vocab import Backend, PlacementStyle, SpeedClass, WeightFormat
from .base import PlacementRules, chunk_activations
from .llamacpp import ollama_context_choices
from .mlx import MLX

if TYPE_CHECKING:
    from ..api import FitResult
    from ..breakdown import MemoryItem, RunConfig
    from ..models.spec import ModelSpec
    from .recipe import Launch

PREFILL_CHUNK_TOKENS = 2048  # x/mlxrunner/pipeline.go prefillChunkSize: 2 << 10

# the tag words that name a mode ("...:mlx-mxfp8", "...:27b-int4"); "fp8" / "q8" and "fp4" / "q4" are Ollama's
# own aliases of int8 and int4 (x/create/create.go normalizeQuantType)
_TAG_MODES = {"nvfp4": "OLLAMA-NVFP4", "mxfp4": "OLLAMA-MXFP4", "mxfp8": "OLLAMA-MXFP8", "int4": "OLLAMA-INT4",
              "q4": "OLLAMA-INT4", "fp4": "OLLAMA-INT4", "int8": "OLLAMA-INT8", "q8": "OLLAMA-INT8",
              "fp8": "OLLAMA-INT8", "bf16": "BF16"}


class OllamaMLX(MLX):
    """MLX's memory and kernels behind Ollama's server."""

    def quant_of_name(self, name: str) -> str | None:
        for part in reversed(tag_parts(name)):
            mode = _TAG_MODES.get(part.lower())
            if mode is not None:
                return mode
        return None

    def context_choices(self, spec: ModelSpec, gpu_bytes: int) -> tuple[tuple[int, str], ...]:
        return ollama_context_choices(spec, gpu_bytes)  # the server's num_ctx default, the runner's soft limit

    def quant_name(self, name: str) -> str:
        return _TAG_MODES.get(name.strip().lower(), name)

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        return chunk_activations(spec, run, PREFILL_CHUNK_TOKENS, "prompt in 2,048-token chunks "
                                 "(ollama x/mlxrunner/pipeline.go prefillChunkSize)")

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        run = r.memory.run
        tag = r.spec.resolved_from if ":" in r.spec.resolved_from else ""
        env = [f"OLLAMA_HOST={host}:{port}", f"OLLAMA_CONTEXT_LENGTH={run.context_tokens}"]
        notes = ["the MLX runner grows its cache with the conversation: the context length is the most it keeps, "
                 "not memory set aside at load"]
        if run.n_seq > 1:
            env.append(f"OLLAMA_NUM_PARALLEL={run.n_seq}")
        if not tag:
            notes.append(f"MODEL: an MLX tag of {r.spec.name} in {r.quant.name.removeprefix('OLLAMA-')} "
                         f"(ollama create --experimental --quantize {r.quant.name.removeprefix('OLLAMA-').lower()} "
                         "from its safetensors folder makes one)")
        argv = ("env", *env, "ollama", "serve")
        model = tag or "MODEL"
        commands = (shlex.join(argv), f"ollama run {shlex.quote(model) if tag else model}")
        settings = tuple((e.split("=", 1)[0], e.split("=", 1)[1]) for e in env)
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=False), argv=argv,
                      commands=commands, settings=settings, notes=tuple(notes))


OLLAMA_MLX = OllamaMLX(
    name="ollama-mlx", title="Ollama (MLX runner)", aliases=("ollama mlx", "ollama-mlx-runner"),
    weights=WeightFormat.TENSOR, formats=(*(f.name for f in OLLAMA_MLX_FORMATS), "BF16"),
    default_quant="OLLAMA-NVFP4",
    quant_ladder=("BF16", "OLLAMA-INT8", "OLLAMA-MXFP8", "OLLAMA-NVFP4", "OLLAMA-INT4", "OLLAMA-MXFP4"),
    quant_from_name=True, kv_types=("bf16",), default_kv="bf16", default_ctx=4096,
    backends=(Backend.METAL,), default_backend=Backend.METAL,
    # Ollama's scheduler keeps 512 MiB free on Metal (ml/device.go MinimumMemory), as for its llama.cpp runner
    runtime_overhead_bytes={Backend.METAL: 512 * MIB},
    overhead_source="Ollama server and MLX runner: Ollama reserves 512 MiB on Metal (ml/device.go)",
    placement=PlacementRules(style=PlacementStyle.UNIFIED_ONLY, cpu_offload=False, expert_offload=False,
                             gpu_layers=False, tensor_split=False, row_split=False),
    speed_class=SpeedClass.MLX, default_port=11434,
    # decode: 12 % median error on the 15 measured runs of its tags (M4 Pro, M5 Max); prompts: Ollama's own M5 Max
    # figures are Qwen3.5-35B-A3B NVFP4 at 1,810 tok/s (ollama.com/blog/mlx) and qwen3.6:27b NVFP4 at 769
    # (ollama/ollama 2b4a993), where mlx_lm's constants give about 11,400 and 1,300
    speed_stand_in="Ollama's MLX runner: mlx_lm's fitted constants stand in (decode 12 % median error on 15 runs "
                   "of its tags; its prompts on an M5 Max ran 1.2-2.3x below mlx_lm's price, ollama.com/blog/mlx "
                   "and ollama#17884; wider band)",
    source="Ollama's MLX runner (ollama/ollama x/mlxrunner, fb30760): MLX kernels, a bf16 KV cache grown in "
    "256-token steps, 2,048-token prefill chunks; Ollama's MLX quantization policy (x/create/create.go)",
)
