"""MLX (mlx-lm) on Apple silicon: MLX affine- or FP-quantized weights, a KV cache that grows in 256-token
steps (rotating caches for sliding-window layers), 2,048-token prefill chunks, ``mlx_lm.server``.

Sources: ml-explore/mlx-lm ``mlx_lm/models/cache.py`` (KVCache.step = 256, RotatingKVCache(max_size=window)),
``mlx_lm/generate.py`` (--kv-bits, prefill_step_size 2048), ``mlx_lm/convert.py`` (-q --q-bits
--q-group-size, --q-mode affine / mxfp4 / nvfp4 / mxfp8), ``mlx_lm/server.py`` (--max-kv-size, --kv-bits,
--decode-concurrency; the two KV flags cannot be combined there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig
from ..tensorformats import MLX_FP_MODES
from ..units import MIB
from ..vocab import Backend, ClusterMode, LayerKind, PlacementStyle, SpeedClass, WeightFormat
from .base import (
    ClusterRules,
    PlacementRules,
    TensorEngine,
    chunk_activations,
    head_kv_dims,
    pad,
)

if TYPE_CHECKING:
    from ..api import FitResult
    from ..models.spec import ModelSpec
    from .recipe import Launch

PREFILL_STEP_TOKENS = 2048  # mlx_lm/generate.py prefill_step_size
# per MLX all-reduce beyond the link's round trips: fitted by benchmarks/fit_cluster.py --fit on the exo
# Tensor + RDMA runs of 4 x M3 Ultra (engines/exo.py)
MLX_ALLREDUCE_S = 3.52e-5
# the model types whose mlx-lm module caches MLA per head (keys and values out of kv_b_proj: mlx_lm/models/
# deepseek_v2.py, minicpm3.py, youtu_llm.py); every other MLA module caches the latent and the rope key and
# attends in the latent when decoding (deepseek_v3.py since ml-explore/mlx-lm PR #839, v0.30.6, Feb 2026; the
# modules built on it: glm4_moe_lite, deepseek_v32 with its indexer keys, glm_moe_dsa, kimi_k25, kimi_linear,
# longcat_flash; kimi_k2 is mapped to deepseek_v3 by mlx_lm/utils.py MODEL_REMAPPING), checked at mlx-lm 0.32.0
PER_HEAD_MLA_TYPES = ("deepseek_v2", "minicpm3", "youtu_llm")
# the floating-point modes as typed ("--quant nvfp4") -> their formats (mlx_lm/convert.py --q-mode)
FP_MODES = {mode.lower(): f"MLX-{mode}" for mode in MLX_FP_MODES}


class MLX(TensorEngine):
    def check_run(self, run: RunConfig) -> None:
        return None  # quantized KV works with any attention path in mlx-lm

    def quant_name(self, name: str) -> str:
        return FP_MODES.get(name.strip().lower(), name)

    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        return head_kv_dims(spec, il, decompress_mla=spec.model_type in PER_HEAD_MLA_TYPES)

    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        per = pad(run.context_tokens, 256)  # KVCache.step = 256
        w = spec.sliding_window
        if spec.layer_kind(il) == LayerKind.SLIDING and w:
            per = min(per, w)  # RotatingKVCache(max_size=sliding_window)
        return per * run.n_seq

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        return chunk_activations(spec, run, PREFILL_STEP_TOKENS, "prefill_step_size 2048 (mlx_lm/generate.py)")

    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        return items, ""  # the cache grows with the sequence

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        run = r.memory.run
        repo = r.spec.hf_repo or r.spec.name
        commands: list[str] = []
        settings: list[tuple[str, str]] = []
        q = r.quant.name
        if q.startswith("MLX-") and q.endswith("BIT"):
            bits = q.removeprefix("MLX-").removesuffix("BIT")
            local = f"{r.spec.name}-{bits}bit"
            conv = ["mlx_lm.convert", "--hf-path", repo, "--mlx-path", local, "-q", "--q-bits", bits,
                    "--q-group-size", "64"]
            commands.append(shlex.join(conv))
            model = local
            settings.append(("weights", f"{bits}-bit affine, group size 64"))
        elif q in FP_MODES.values():
            mode = q.removeprefix("MLX-").lower()
            local = f"{r.spec.name}-{mode}"
            commands.append(shlex.join(["mlx_lm.convert", "--hf-path", repo, "--mlx-path", local, "-q",
                                        "--q-mode", mode]))
            model = local
            settings.append(("weights", f"{mode}, the mode's own group size"))
        else:
            model = repo
            settings.append(("weights", q))
        args = ["mlx_lm.server", "--model", model]
        notes: list[str] = []
        if run.kv_cache_type in ("mlx-q8", "mlx-q4"):
            bits = "8" if run.kv_cache_type == "mlx-q8" else "4"
            args += ["--kv-bits", bits, "--kv-group-size", "64", "--quantized-kv-start", "0",
                     "--max-prompt-tokens", str(run.context_tokens)]
            settings += [("kv_bits", bits), ("max_prompt_tokens", str(run.context_tokens))]
            notes.append("mlx_lm.server cannot bound a quantized KV cache with --max-kv-size; "
                         "--max-prompt-tokens keeps prompts within the planned context")
        else:
            args += ["--max-kv-size", str(run.context_tokens)]
            settings.append(("max_kv_size", str(run.context_tokens)))
        conc = str(run.n_seq)
        args += ["--decode-concurrency", conc, "--prompt-concurrency", conc, "--host", host, "--port", str(port)]
        settings.append(("decode_concurrency", conc))
        notes.append("concurrency is set to the planned sequences: the server's default of 32 parallel decodes "
                     "would hold up to 32 KV caches")
        system = r.system
        if system is not None and system.is_cluster:
            # MLX docs (distributed): mlx.launch starts the same program on every host over ring (TCP) or jaccl
            link = system.network_link
            backend = "jaccl" if link is not None and link.rdma else "ring"
            hosts = ",".join(n.name.replace(" ", "") for n in system.nodes)
            args = ["mlx.launch", "--hosts", hosts, "--backend", backend, "--", *args]
            settings.append(("distributed_backend", backend))
            notes.append(f"{hosts}: the Macs' addresses; the same mlx-lm and model files on every Mac"
                         + ("; JACCL needs 'rdma_ctl enable' (macOS 26.2+) and a Thunderbolt 5 cable between "
                            "every pair" if backend == "jaccl" else ""))
        commands.append(shlex.join(args))
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=False),
                      argv=tuple(args), commands=tuple(commands), settings=tuple(settings), notes=tuple(notes))


MLX_ENGINE = MLX(
    name="mlx", title="MLX", aliases=("mlx-lm", "mlx_lm"), weights=WeightFormat.TENSOR,
    formats=("MLX-4BIT", "MLX-3BIT", "MLX-6BIT", "MLX-8BIT", "MLX-MXFP4", "MLX-NVFP4", "MLX-MXFP8", "MLX-4BIT-MOE",
             "BF16", "FP16"),
    default_quant="MLX-4BIT",
    quant_ladder=("BF16", "MLX-8BIT", "MLX-6BIT", "MLX-4BIT", "MLX-3BIT"),
    # mxfp4 decodes below the affine modes' rate per byte (gpt-oss-20b / 120b MXFP4 against MLX-4BIT on an M5 Max,
    # benchmarks/data/mlx_macs.csv); no mlx_lm nvfp4 run is measured, and Ollama's MLX runner's nvfp4 tags decode
    # on an M5 Max at the affine rate or above (throughput_modern.csv), so only mxfp4 is priced apart
    fp4_formats=("MLX-MXFP4",),
    kv_types=("bf16", "f16", "q8", "q4"), kv_type_names={"q8": "mlx-q8", "q4": "mlx-q4"},
    default_kv="bf16", backends=(Backend.METAL,), default_backend=Backend.METAL,
    runtime_overhead_bytes={Backend.METAL: 256 * MIB},
    overhead_source="MLX/Metal process (Python, mlx runtime, command buffers): ~0.25 GiB",
    placement=PlacementRules(style=PlacementStyle.UNIFIED_ONLY, cpu_offload=False, expert_offload=False,
                             gpu_layers=False, tensor_split=False, row_split=False),
    speed_class=SpeedClass.MLX, default_port=8080,
    cluster=ClusterRules(
        how="mlx.launch starts one process per Mac (MLX distributed: ring over TCP or JACCL over Thunderbolt "
            "RDMA); the model is sharded by pipeline (layers per Mac) or tensor parallel (each layer over the Macs)",
        modes=(ClusterMode.PIPELINE, ClusterMode.TENSOR), default_mode=ClusterMode.PIPELINE, apple_only=True,
        round_trips_per_hop=1.0, hop_overhead_s=0.5e-3, allreduce_overhead_s=MLX_ALLREDUCE_S, activation_bytes=2,
        fitted=False,
        source="MLX docs (distributed communication: mlx.launch, ring and jaccl backends); ml-explore/mlx-lm "
               "PR #698 (tensor parallel); costs as exo's fitted ones, which run the same MLX collectives"),
    source="ml-explore/mlx-lm mlx_lm/models/cache.py (KV grows in 256-token steps; rotating cache "
    "for sliding-window layers), mlx_lm/generate.py (--kv-bits, prefill_step_size 2048)",
)
