"""Byte units.  Inside the library every size is an ``int`` of bytes; GiB vs GB is a display choice."""

from __future__ import annotations

import re

from .errors import InvalidInput

KIB = 1024
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4
KB = 1000
MB = 1000**2
GB = 1000**3
TB = 1000**4

_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_FACTORS = {
    "b": 1, "k": KB, "kb": KB, "kib": KIB, "m": MB, "mb": MB, "mib": MIB,
    "g": GB, "gb": GB, "gib": GIB, "t": TB, "tb": TB, "tib": TIB,
}


def parse_size(text: str, *, default_unit: str = "gb") -> int:
    """Parse ``"24GB"``, ``"24 GiB"``, ``"512MiB"`` or a bare number (``default_unit``) into bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise InvalidInput(f"cannot read size {text!r}: expected a number with an optional unit such as 24GB or 16GiB")
    unit = (m.group(2) or default_unit).lower()
    return round(float(m.group(1)) * _FACTORS[unit])


def fmt_gib(n_bytes: int, digits: int = 2) -> str:
    return f"{n_bytes / GIB:.{digits}f} GiB"


def fmt_gb(n_bytes: int, digits: int = 2) -> str:
    return f"{n_bytes / GB:.{digits}f} GB"


def fmt_bytes(n_bytes: int, *, binary: bool = True) -> str:
    """Human size with the unit always printed: MiB below 1 GiB, GiB above (or MB/GB when not binary)."""
    if binary:
        return f"{n_bytes / MIB:.0f} MiB" if abs(n_bytes) < GIB else fmt_gib(n_bytes)
    return f"{n_bytes / MB:.0f} MB" if abs(n_bytes) < GB else fmt_gb(n_bytes)
