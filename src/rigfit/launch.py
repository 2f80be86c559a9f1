"""Launch commands: the exact command line, Modelfile or load settings that realize a planned placement.

Every value comes from the FitResult (run config and placement), so what the engine is told is what rigfit
sized.  Each engine writes its own recipe (``Engine.launch`` in ``engines/``, with the flag spellings and
their sources); this module checks that the plan can run and picks the engine.
"""

from __future__ import annotations

from .api import FitResult
from .engines import LAUNCH_ENGINES, engine_for, get_engine
from .engines.recipe import Launch, LaunchFile, plan_summary
from .errors import InvalidInput, UnknownName
from .vocab import Verdict


def check_command(name: str) -> str:
    """The engine a launch-command name names (aliases accepted), or an error listing the supported ones."""
    try:
        eng = get_engine(name)
    except UnknownName:
        raise UnknownName("launch command engine", name, LAUNCH_ENGINES) from None
    if eng.default_port is None:
        raise InvalidInput(f"no launch command for {eng.name}; rigfit writes commands for "
                           f"{', '.join(LAUNCH_ENGINES)}", options=("command",))
    return eng.name


def launch(r: FitResult, command: str | None = None, *, host: str = "127.0.0.1", port: int | None = None) -> Launch:
    """The launch recipe for ``r`` (planned for ``r.engine``); ``command`` must name that engine."""
    engine = check_command(command or r.engine.name)
    if engine != r.engine.name and engine_for(get_engine(engine), r.spec.resolved_from).name == r.engine.name:
        engine = r.engine.name  # "--command ollama" for an MLX tag: Ollama's MLX runner serves it
    if engine != r.engine.name:
        raise InvalidInput(f"the {engine} command needs a plan for {engine}, but this fit was planned for "
                           f"{r.engine.name}", options=("command", "engine"))
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"port must be between 1 and 65535, got {port}")
    p = r.placement
    eng = get_engine(engine)
    if p is not None and p.verdict == Verdict.DOES_NOT_FIT:
        why = "; ".join(p.notes) or "it does not fit"
        return Launch(engine=engine, runnable=False, summary=plan_summary(r, layer_counts=eng.placement.gpu_layers),
                      notes=(f"no command: {r.spec.name} {r.quant.name} does not fit this hardware ({why})",))
    assert eng.default_port is not None
    return eng.launch(r, host, port or eng.default_port)


__all__ = ["LAUNCH_ENGINES", "Launch", "LaunchFile", "check_command", "launch"]
