"""vLLM: safetensors checkpoints (BF16, FP8, AWQ, GPTQ, bitsandbytes), a preallocated paged KV pool, the
profile run's activation peak, tensor and pipeline parallelism, ``vllm serve``.

Sources: vllm ``vllm/v1/worker/gpu_worker.py`` (determine_available_memory: requested = total x
gpu_memory_utilization, the KV pool is what weights, activations and non-torch memory leave),
``vllm/v1/kv_cache_interface.py`` (blocks of 16 tokens; MLAAttentionSpec caches the latent),
``vllm/v1/core/kv_cache_utils.py`` (startup fails when one max_model_len request does not fit),
``vllm/engine/arg_utils.py`` (max_num_seqs 256, 1024 on GPUs of 70 GiB or more), engine-facts.md 2.4.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..breakdown import MemoryItem, RunConfig, sum_items
from ..hardware.rates import geforce_halves_fp32_accumulate
from ..units import GIB, MIB
from ..vocab import Backend, ClusterMode, Component, LayerKind, Location, PlacementStyle, SpeedClass, WeightFormat
from .base import (
    ClusterRules,
    PlacementRules,
    TensorEngine,
    activation_rows,
    head_kv_dims,
    pad,
)

if TYPE_CHECKING:
    from ..api import FitResult
    from ..hardware.spec import Device
    from ..models.spec import ModelSpec
    from .recipe import Launch

BLOCK_TOKENS = 16  # DEFAULT_BLOCK_SIZE
# profile_run peak: the sampler's fp32 logits and sort buffers for max_num_seqs rows dominate (~38.4 B per
# (seq x vocab) fits Llama-3.1-8B 4.76 GiB, Qwen3-0.6B 5.56 GiB, gpt-oss-20b 7.38 GiB on H100 with 1024 seqs,
# engine-facts.md 2.4); token activations scale with max_num_batched_tokens.
SAMPLER_BYTES_PER_SEQ_VOCAB = 38.4
_REPO_SUFFIX = {"AWQ": "-AWQ", "GPTQ": "-GPTQ-Int4", "GPTQ-8BIT": "-GPTQ-Int8"}


# vLLM's prompt GEMMs by weight format.  16-bit weights, and the weight-only formats vLLM runs through Marlin
# (AWQ, GPTQ, INT4: W4A16 / W8A16, vllm/model_executor/layers/quantization/utils/marlin_utils.py) or dequantizes
# (bitsandbytes NF4), multiply in FP16/BF16 with FP32 accumulation; FP8 W8A8 runs on FP8 tensor cores where the
# chip has them (Ada, Hopper, Blackwell, CDNA 3: cutlass_scaled_mm, quantization/fp8.py; Marlin W8A16 before
# them); INT8 W8A8 on the INT8 tensor cores (compressed-tensors W8A8Int8); NVFP4 W4A4 on Blackwell's FP4 tensor
# cores at twice the FP8 rate (quantization/modelopt.py, cutlass_scaled_fp4_mm for sm_100 and sm_120; Marlin
# W4A16 elsewhere); MXFP4 (gpt-oss) as MXFP4 x MXFP8 at the FP8 rate on Blackwell (quantization/mxfp4.py), W4A16
# elsewhere.  The catalog lists GeForce FP8 at FP16 accumulation; FP32 accumulation runs at half that on GeForce
# (Ada and RTX Blackwell whitepapers), as it does for FP16.
_W16_FORMATS = ("BF16", "FP16", "FP32", "AWQ", "GPTQ", "GPTQ-8BIT", "INT4", "NF4", "NF4-DQ")


class VLLM(TensorEngine):
    def prompt_rates_tflops(self, quant: str, dev: Device) -> tuple[float, float] | None:
        f16 = dev.fp16_tflops
        if not f16 or dev.kind == "cpu":
            return None
        halved = geforce_halves_fp32_accumulate(dev.vendor, dev.chip, dev.name)
        fp8 = (dev.fp8_tflops or 0.0) / (2 if halved else 1)
        blackwell = dev.arch == "Blackwell"
        q = quant.upper()
        if q in _W16_FORMATS:
            return f16, f16
        if q == "FP8":
            return f16, fp8 or f16
        if q == "INT8":  # INT8 tensor cores from Turing on (DP4A on Volta and Pascal stays below FP16)
            return f16, max(dev.int8_tops or 0.0, f16)
        if q == "NVFP4":
            return f16, 2 * (dev.fp8_tflops or 0.0) if blackwell and dev.fp8_tflops else f16
        if q == "MXFP4":
            return f16, fp8 if blackwell and fp8 else f16
        return None

    def check_run(self, run: RunConfig) -> None:
        return None  # every KV dtype vLLM takes works with its attention backends

    def kv_dims(self, spec: ModelSpec, il: int) -> tuple[int, int]:
        return head_kv_dims(spec, il, decompress_mla=False)

    def kv_cells(self, spec: ModelSpec, il: int, run: RunConfig) -> int:
        per = pad(run.context_tokens, BLOCK_TOKENS)
        w = spec.sliding_window
        if spec.layer_kind(il) == LayerKind.SLIDING and w:
            per = min(per, pad(w, BLOCK_TOKENS) + BLOCK_TOKENS)  # the window plus one block being filled
        return per * run.n_seq

    def compute_items(self, spec: ModelSpec, run: RunConfig) -> list[MemoryItem]:
        sampler = math.ceil(run.max_num_seqs * spec.vocab_size * SAMPLER_BYTES_PER_SEQ_VOCAB)
        tokens = run.max_num_batched_tokens * activation_rows(spec) * 2
        return [MemoryItem(component=Component.COMPUTE, name="activation peak (profile run)",
                           n_bytes=max(sampler, tokens),
                           note=f"max_num_seqs {run.max_num_seqs}, max_num_batched_tokens "
                           f"{run.max_num_batched_tokens}")]

    def allocate_pool(self, items: list[MemoryItem], run: RunConfig) -> tuple[list[MemoryItem], str]:
        """requested = ceil(total * gpu_memory_utilization); the KV pool is what the weights, the profile-run
        activation peak and the non-torch/graph overhead leave.  Startup fails when the pool cannot hold one
        max_model_len request."""
        if not run.gpu_memory_bytes:
            return items, ""  # no device given: the KV one request needs
        requested = math.ceil(run.gpu_memory_bytes * run.gpu_memory_utilization)
        needed = sum_items(tuple(items), Component.KV_CACHE)
        non_kv = sum(i.n_bytes for i in items if i.component != Component.KV_CACHE and i.location == Location.DEVICE)
        pool = requested - non_kv
        if pool < needed:
            if pool <= 0:
                msg = (f"vLLM would not start: weights, activations and overhead ({non_kv / GIB:.2f} GiB) exceed "
                       f"gpu_memory_utilization x memory ({requested / GIB:.2f} GiB)")
            else:
                max_len = int(run.context_tokens * pool / needed) // BLOCK_TOKENS * BLOCK_TOKENS
                who = f"one {run.context_tokens:,}-token request needs" if run.n_seq == 1 else \
                    f"{run.n_seq} requests of {run.context_tokens:,} tokens need"
                msg = (f"vLLM would not start: {who} {needed / GIB:.2f} GiB of KV cache but the pool holds "
                       f"{pool / GIB:.2f} GiB; the largest max_model_len that fits is about {max_len:,}")
            return items, msg
        kept = [i for i in items if i.component != Component.KV_CACHE]
        kept.append(MemoryItem(component=Component.KV_CACHE, name="KV cache pool (preallocated)", n_bytes=pool,
                               note=f"{run.gpu_memory_utilization:g} x GPU memory minus the rest; one "
                               f"{run.context_tokens:,}-token sequence needs {needed / GIB:.2f} GiB"))
        return kept, ""

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        run, p = r.memory.run, r.placement
        repo = r.spec.hf_repo or r.spec.name
        notes: list[str] = []
        q = r.quant.name
        extra: list[str] = []
        if q in _REPO_SUFFIX:
            if repo.startswith("Qwen/"):
                repo += _REPO_SUFFIX[q]  # Qwen publishes its own AWQ / GPTQ checkpoints under these names
            else:
                notes.append(f"model: use a {q} checkpoint of {repo} (vLLM reads the quantization from its config)")
                repo = f"{repo}{_REPO_SUFFIX[q]}"
        elif q == "FP8":
            extra += ["--quantization", "fp8"]  # online dynamic FP8 from the 16-bit weights
        elif q in ("NF4", "NF4-DQ"):
            extra += ["--quantization", "bitsandbytes"]  # in-flight 4-bit bitsandbytes
        elif q in ("BF16", "FP16", "FP32"):
            extra += ["--dtype", {"BF16": "bfloat16", "FP16": "float16", "FP32": "float32"}[q]]
        tp = p.tensor_parallel if p else 1
        pp = p.pipeline_parallel if p else 1
        args = ["vllm", "serve", repo, "--max-model-len", str(run.context_tokens),
                "--gpu-memory-utilization", f"{run.gpu_memory_utilization:g}"]
        if tp > 1:
            args += ["--tensor-parallel-size", str(tp)]
        if pp > 1:
            args += ["--pipeline-parallel-size", str(pp)]
        if run.kv_cache_type == "fp8":
            args += ["--kv-cache-dtype", "fp8"]
        if run.n_seq > 1:
            args += ["--max-num-seqs", str(run.n_seq)]
        args += [*extra, "--host", host, "--port", str(port)]
        settings = [("max_model_len", str(run.context_tokens)),
                    ("gpu_memory_utilization", f"{run.gpu_memory_utilization:g}"),
                    ("tensor_parallel_size", str(tp)), ("pipeline_parallel_size", str(pp)),
                    ("kv_cache_dtype", "fp8" if run.kv_cache_type == "fp8" else "auto")]
        if p is None:
            notes.append("no hardware given: one GPU assumed (tensor parallel 1)")
        commands: tuple[str, ...] = (shlex.join(args),)
        system = r.system
        if system is not None and system.is_cluster:
            # vllm docs/serving/parallelism_scaling.md: a Ray cluster, then vllm serve on the head node
            args.insert(args.index("--host"), "--distributed-executor-backend")
            args.insert(args.index("--host"), "ray")
            workers = [f"# on {n.name} (a worker):" for n in system.nodes[1:]]
            commands = ("# on node 1 (the head):", "ray start --head --port 6379",
                        *(x for w in workers for x in (w, "ray start --address node1:6379")),
                        "# then on node 1:", shlex.join(args))
            settings.append(("distributed_executor_backend", "ray"))
            notes.append("node1: the head node's address on the cluster network; every node needs the same vLLM, "
                         "model files and NCCL able to reach the others (NCCL_SOCKET_IFNAME on multi-NIC hosts)")
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=False),
                      argv=tuple(args), commands=commands, settings=tuple(settings), notes=tuple(notes))


VLLM_ENGINE = VLLM(
    name="vllm", title="vLLM", aliases=("vllm-serve",), weights=WeightFormat.TENSOR,
    formats=("BF16", "FP16", "FP32", "FP8", "AWQ", "GPTQ", "GPTQ-8BIT", "NF4", "NF4-DQ", "INT8", "INT4", "NVFP4",
             "MXFP4"),
    default_quant="BF16", quant_ladder=("BF16", "FP8", "AWQ", "GPTQ"), fp4_formats=("NVFP4",),
    kv_types=("auto", "bf16", "f16", "fp8"), kv_type_names={"auto": "bf16"},
    default_kv="auto", default_ctx=None, backends=(Backend.CUDA, Backend.ROCM, Backend.CPU),
    runtime_overhead_bytes={Backend.CUDA: 1024 * MIB, Backend.ROCM: 1024 * MIB, Backend.CPU: 0},
    overhead_source="CUDA context ~0.5 GiB + non-torch (NCCL, cuBLAS) 0.13-0.55 GiB + CUDA graphs "
    "up to ~1 GiB, measured on H100 (engine-facts.md 2.4)",
    headroom_bytes=0, headroom_source="vLLM keeps 1 - gpu_memory_utilization of each GPU free itself",
    request_overhead_s=0.025, request_overhead_source=(
        "vLLM request latency (scheduler step, detokenizer, HTTP): median of measured - predicted time to first "
        "token over the 16 throughput_modern.csv vLLM rows with prompts under 256 tokens (RTX 5090, 2026)"),
    placement=PlacementRules(style=PlacementStyle.TENSOR_PARALLEL, cpu_offload=False, expert_offload=False,
                             gpu_layers=False, tensor_split=False, row_split=False),
    settings=frozenset({"gpu_memory_bytes", "gpu_memory_utilization"}),
    speed_class=SpeedClass.VLLM, default_port=8000,
    cluster=ClusterRules(
        how="a Ray cluster (ray start --head / --address): tensor parallel over each node's GPUs, pipeline "
            "parallel over the nodes",
        modes=(ClusterMode.PIPELINE,), default_mode=ClusterMode.PIPELINE, tp_within_node=True,
        round_trips_per_hop=1.0, hop_overhead_s=0.5e-3, activation_bytes=2, fitted=False,
        source="vllm-project/vllm docs/serving/parallelism_scaling.md @096bd6a (TP within a node, PP across "
               "nodes over Ray; PP needs far less bandwidth than cross-node TP); per-hop cost a prior"),
    source="vllm/v1/worker/gpu_worker.py, vllm/v1/kv_cache_interface.py (block 16 tokens), "
    "max_model_len defaults to max_position_embeddings",
)
