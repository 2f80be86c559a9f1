"""exo: MLX on a cluster of Macs that find each other, each node running the same model server.

exo shards a model with MLX (the same weights, KV cache and buffers as mlx-lm, so its memory is ``MLX``'s) in
``Pipeline`` (contiguous layers per node) or ``Tensor`` sharding (every layer over the nodes; needs
``hidden_size`` and the KV heads divisible by the node count), over MLX Ring (TCP) or MLX JACCL (RDMA over
Thunderbolt 5, macOS 26.2+).  Sources: exo-explore/exo @b5375f8 README (``uv run exo``, API on :52415,
RDMA), ``docs/api.md`` (``POST /place_instance`` with ``model_id``, ``sharding``, ``instance_meta``,
``min_nodes``), ``src/exo/shared/types/worker/shards.py`` (Sharding.Tensor / Pipeline),
``src/exo/master/placement.py`` (tensor placement only where hidden_size % nodes == 0 and kv_heads % nodes
== 0; JACCL only over RDMA-connected cycles).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING

from ..vocab import ClusterMode
from .base import ClusterRules
from .mlx import MLX, MLX_ALLREDUCE_S, MLX_ENGINE

if TYPE_CHECKING:
    from ..api import FitResult
    from .recipe import Launch

EXO_PORT = 52415


class Exo(MLX):
    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        import shlex

        from .recipe import Launch, plan_summary

        system = r.system
        nodes = len(system.nodes) if system is not None else 1
        link = system.network_link if system is not None else None
        mode = r.placement.cluster_mode if r.placement is not None else None
        sharding = "Tensor" if mode == ClusterMode.TENSOR else "Pipeline"
        meta = "MlxJaccl" if link is not None and link.rdma else "MlxRing"
        repo = r.spec.hf_repo or r.spec.name
        body = {"model_id": repo, "sharding": sharding, "instance_meta": meta, "min_nodes": nodes}
        commands = [f"# on each of the {nodes} Macs (they find each other on the network):" if nodes > 1
                    else "# on the Mac:", "uv run exo",
                    "# then, on any of them, place the model:",
                    shlex.join(["curl", "-X", "POST", f"http://{host}:{port}/place_instance", "-H",
                                "Content-Type: application/json", "-d", json.dumps(body)])]
        settings = [("sharding", sharding), ("instance_meta", meta), ("min_nodes", str(nodes)),
                    ("weights", r.quant.name)]
        notes = ["exo downloads the model's MLX weights itself; the OpenAI-compatible API is on port "
                 f"{EXO_PORT} of every node"]
        if meta == "MlxJaccl":
            notes.append("RDMA: run 'rdma_ctl enable' in macOS Recovery on every Mac (macOS 26.2+) and connect "
                         "every pair of Macs with a Thunderbolt 5 cable")
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=False),
                      argv=("uv", "run", "exo"), commands=tuple(commands), settings=tuple(settings),
                      notes=tuple(notes))


# Per all-reduce beyond the link's round trips: fitted on the exo Tensor + RDMA runs of 4 x M3 Ultra (Jeff
# Geerling, "15 TB VRAM on Mac Studio - RDMA over Thunderbolt 5", charts in exo docs/benchmarks/jeffgeerling):
# Qwen3-235B 8-bit 19.5 / 26.2 / 31.9 tok/s on 1 / 2 / 4 nodes (tests/test_cluster.py holds every anchor)
EXO_CLUSTER = ClusterRules(
    how="every Mac runs exo; the model is placed with Tensor sharding (each layer over the nodes, MLX JACCL "
        "over RDMA or MLX Ring over TCP) or Pipeline sharding (contiguous layers per node)",
    modes=(ClusterMode.TENSOR, ClusterMode.PIPELINE), default_mode=ClusterMode.PIPELINE, apple_only=True,
    round_trips_per_hop=1.0, hop_overhead_s=0.5e-3, allreduce_overhead_s=MLX_ALLREDUCE_S,
    activation_bytes=2, fitted=True,
    source="exo-explore/exo @b5375f8 (README; src/exo/master/placement.py); all-reduce cost fitted on Jeff "
           "Geerling's 4 x M3 Ultra Tensor RDMA runs (exo docs/benchmarks/jeffgeerling)")

EXO_ENGINE = Exo(**{f.name: getattr(MLX_ENGINE, f.name) for f in fields(MLX_ENGINE)} | {
    "name": "exo", "title": "exo", "aliases": ("exo-explore", "exolabs"), "cluster": EXO_CLUSTER,
    "default_port": EXO_PORT,
    "source": "exo-explore/exo @b5375f8: MLX inference sharded over the Macs of a cluster (memory as mlx-lm's)"})
