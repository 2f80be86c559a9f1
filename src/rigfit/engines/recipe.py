"""Launch recipes as values (what ``Engine.launch`` returns), loaded only when a command is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import FitResult


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchFile:
    name: str
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """How to start an engine so that it does what the placement planned.

    ``argv`` is the main command (the server start) as a list, ``commands`` every shell line in order,
    ``files`` what must be written first (an Ollama Modelfile), ``settings`` the values by the engine's own
    names (LM Studio's load panel, Ollama's PARAMETERs, the flags' meaning), ``notes`` what to check."""

    engine: str
    runnable: bool
    summary: str
    argv: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    files: tuple[LaunchFile, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def plan_summary(r: FitResult, *, layer_counts: bool) -> str:
    """One line naming the plan a launch recipe realizes (with ``-ngl``-style layer counts for engines that
    count layers)."""
    run, p = r.memory.run, r.placement
    where = ", ".join(f"{s.count}x {s.device.name}" if s.count > 1 else s.device.name for s in r.devices) \
        or "no hardware given"
    text = f"{r.spec.name} {r.quant.name} on {where}, {run.context_tokens:,} tokens"
    if run.n_seq > 1:
        text += f" x {run.n_seq} sequences"
    if p is not None:
        text += f"; {p.verdict}"
        if layer_counts:
            text += f", {p.gpu_layers} of {p.n_layers + 1} layers on the GPU"
    return text


__all__ = ["Launch", "LaunchFile", "plan_summary"]
