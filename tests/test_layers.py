"""The package's import graph goes down the pipeline only, and has no cycle.

Every ``import`` of a rigfit module (at module level or inside a function; ``if TYPE_CHECKING:`` blocks are
annotations only and do not count) is an edge.  An edge between top-level parts must go to a lower layer of
``LAYERS``; edges inside one part (``models.resolve -> models.spec``) must not form a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "rigfit"

# Lowest first: resolve -> memory -> placement -> speed -> pipeline -> advise -> render -> shells.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "vocab"),
    ("units", "_validate", "safeio", "catalogdata", "diskcache", "lsq", "measured"),
    ("tensorformats",),
    ("quant", "breakdown"),
    ("quality",),
    ("models", "hardware"),
    ("system", "cost"),
    ("calibration", "thismachine"),
    ("engines",),
    ("request", "calstore"),
    ("memory",),
    ("placement", "training"),
    ("network", "speedclass"),
    ("speedwork",),
    ("microbatch",),
    ("speed", "ranking"),
    ("api",),
    ("launch",),
    ("options", "advise", "calibrate", "bench", "compare"),
    ("guide",),
    ("report",),
    ("flags",),
    ("web",),
    ("cli_io",),
    ("cli_advise", "cli_bench"),
    ("cli",),
    ("__main__", "__init__"),  # the package's lazy public facade sits on top
)
RANK = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.ImportFrom | ast.Import, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if node.module is None:  # from . import x: each name is a module
        return [f"{mod}.{a.name}" for a in node.names]
    return [mod]


def import_edges() -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for path in ROOT.rglob("*.py"):
        mod = _module(path)
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            edges.update((mod, t) for t in _targets(node, package) if t.startswith("rigfit.") and t != mod)
    return edges


def _part(mod: str) -> str:
    return mod.split(".")[1] if "." in mod else "__init__"


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module(p)) for p in ROOT.rglob("*.py") if _module(p) != "rigfit"}
    assert sorted(parts - set(RANK)) == []


def test_edges_go_down_the_pipeline() -> None:
    up = sorted(f"{a} -> {b}" for a, b in import_edges()
                if _part(a) != _part(b) and RANK[_part(b)] >= RANK[_part(a)])
    assert up == []


def _cycle(edges: set[tuple[str, str]]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return []


def test_no_import_cycle() -> None:
    assert _cycle(import_edges()) == []


@pytest.mark.parametrize(("edges", "cycle"), [
    ({("rigfit.a", "rigfit.b"), ("rigfit.b", "rigfit.a")}, ["rigfit.a", "rigfit.b", "rigfit.a"]),
    ({("rigfit.a", "rigfit.b"), ("rigfit.b", "rigfit.c")}, []),
])
def test_cycle_finder(edges: set[tuple[str, str]], cycle: list[str]) -> None:
    assert _cycle(edges) == cycle
