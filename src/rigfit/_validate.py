"""Validation of catalog records: every problem found, each naming its key (``models[12].n_layers``)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import CatalogError

_DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
MAX_RECORD_NUMBER = 10**15  # no catalog fact (parameters, GiB, GB/s, TFLOPS, W, USD) is larger; inf and 1e308 are


@dataclass(frozen=True, slots=True)
class Field:
    kind: str  # "int" | "pos_int" | "num" | "pos_num" | "str" | "bool" | "date" | "str_list" | "int_list" | "table"
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass
class Problems:
    where: str
    items: list[str] = field(default_factory=list)

    def add(self, key: str, msg: str) -> None:
        self.items.append(f"{key}: {msg}")

    def raise_if_any(self) -> None:
        if self.items:
            shown = "; ".join(self.items[:8])
            more = f" (and {len(self.items) - 8} more)" if len(self.items) > 8 else ""
            raise CatalogError(f"{self.where}: {shown}{more}")


def check_record(rec: Any, schema: Mapping[str, Field], key: str, problems: Problems) -> bool:
    """Check one table against ``schema``; record every problem.  True when it is usable."""
    if not isinstance(rec, dict):
        problems.add(key, f"expected a table, got {type(rec).__name__}")
        return False
    ok = True
    for name in rec:
        if name not in schema:
            problems.add(f"{key}.{name}", "unknown key")
            ok = False
    for name, spec in schema.items():
        if name not in rec:
            if spec.required:
                problems.add(f"{key}.{name}", "missing")
                ok = False
            continue
        msg = _check_value(rec[name], spec)
        if msg:
            problems.add(f"{key}.{name}", f"{msg}, got {rec[name]!r}")
            ok = False
    return ok


def _check_value(v: Any, spec: Field) -> str:
    k = spec.kind
    is_int = isinstance(v, int) and not isinstance(v, bool) and abs(v) <= MAX_RECORD_NUMBER
    is_num = (is_int or (isinstance(v, float) and math.isfinite(v) and abs(v) <= MAX_RECORD_NUMBER)) \
        and not isinstance(v, bool)
    if k == "int" and not (is_int and v >= 0):
        return "expected a non-negative integer"
    if k == "pos_int" and not (is_int and v > 0):
        return "expected a positive integer"
    if k == "num" and not (is_num and v >= 0):
        return "expected a non-negative number"
    if k == "pos_num" and not (is_num and v > 0):
        return "expected a positive number"
    if k == "bool" and not isinstance(v, bool):
        return "expected true or false"
    if k == "str" and not (isinstance(v, str) and v.strip()):
        return "expected a non-empty string"
    if k == "date" and not (isinstance(v, str) and _DATE_RE.match(v)):
        return "expected a date YYYY-MM-DD"
    if k == "str_list" and not (isinstance(v, list) and all(isinstance(x, str) and x for x in v)):
        return "expected a list of strings"
    if k == "int_list" and not (isinstance(v, list) and all(isinstance(x, int) and x >= 0 for x in v)):
        return "expected a list of non-negative integers"
    if k == "table" and not (isinstance(v, dict) and v):
        return "expected a table"
    if spec.choices and (any(x not in spec.choices for x in v) if k == "str_list" else v not in spec.choices):
        return ("expected a list of " if k == "str_list" else "expected one of ") + ", ".join(spec.choices)
    return ""


_R = TypeVar("_R")


def spec(kind: str, required: bool = False, choices: tuple[str, ...] = (), *, default: Any = None) -> Any:
    """A field of a catalog record dataclass with its check: the dataclass is the schema (``schema_of``)."""
    meta = {"check": Field(kind, required, choices)}
    if required:
        return dataclasses.field(metadata=meta)
    if kind in ("str_list", "int_list"):
        return dataclasses.field(default=(), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def schema_of(cls: type[Any]) -> dict[str, Field]:
    """The checks of a record dataclass built with ``spec`` fields."""
    return {f.name: f.metadata["check"] for f in dataclasses.fields(cls) if "check" in f.metadata}


def from_record(cls: type[_R], rec: Mapping[str, Any]) -> _R:
    """A record dataclass from a table that passed ``check_record(rec, schema_of(cls), ...)`` (lists become
    tuples so the value stays frozen)."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in rec.items()})
