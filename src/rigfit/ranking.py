"""Plans ranked by how useful they are: the best verdict first, then the models fast enough to use, the most
capable of those (parameters x the quant's kept quality), then the fastest.  The catalog listing (api.what_runs)
and the advisor order plans with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .models.spec import ModelSpec
from .quality import relative_loss
from .vocab import Verdict

if TYPE_CHECKING:
    from .api import FitResult

USABLE_TOKENS_PER_S = 10.0  # the chat workload's minimum (data/workloads.toml: ahead of a fast reader)


def dense_equivalent_params(spec: ModelSpec) -> float:
    """A model's size as a dense model's: the total for dense models; for a mixture of experts the geometric
    mean of total and active parameters, the rule of thumb MoE comparisons use (e.g. Mixtral 8x7B, 46.7B
    total / 12.9B active, behaves like a ~25B dense model)."""
    total = float(spec.params_total or 0)
    if not spec.is_moe:
        return total
    active = float(spec.params_active or 0)
    if not active and spec.n_experts:
        from .memory import weight_bytes
        from .tensorformats import TENSOR_FORMATS

        tensors, _, _ = weight_bytes(spec, TENSOR_FORMATS["BF16"])
        experts = sum(t.n_elements for t in tensors if "_exps" in t.name)
        active = total - experts * (1 - spec.n_experts_active / spec.n_experts)
    return float((total * max(active, 0.0)) ** 0.5)


def rank_runs(results: Sequence[FitResult]) -> list[FitResult]:
    """Most useful first: the best verdict; within it the models fast enough to use (10 tok/s) before the
    rest, and among those the most capable (parameters x the quant's kept quality, llama.cpp's perplexity
    table), then the fastest."""
    def key(r: FitResult) -> tuple[int, int, float, float]:
        rank = r.placement.verdict.rank if r.placement else len(Verdict)
        tps = r.speed.decode_tokens_per_s if r.speed else 0.0
        usable = tps >= USABLE_TOKENS_PER_S
        loss = relative_loss(r.quant.name) or 0.0
        capability = dense_equivalent_params(r.spec) * max(0.0, 1.0 - loss)
        return rank, 0 if usable else 1, -capability if usable else 0.0, -tps

    return sorted(results, key=key)
