"""Byte units.  Inside the library every size is an ``int`` of bytes; GiB vs GB is a display choice.

One meaning of "GB" where a user types a memory size (system RAM, GPU memory, a device name such as
"RTX 4060 Ti 16GB"): memory is made and sold in binary units, so "64GB" of RAM or a "24GB" card holds 64 or
24 GiB (JEDEC JESD100B.01 keeps the memory prefixes K, M, G as powers of two).  ``parse_memory_size`` reads
GB and GiB alike as 2**30 bytes.  Decimal GB (10**9) appear only where the world measures that way:
bandwidth (GB/s), file sizes and disks, and are printed as "GB"; memory is printed as "GiB"."""

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
_MEMORY_FACTORS = {"b": 1, "k": KIB, "m": MIB, "g": GIB, "t": TIB}
MAX_MEMORY_BYTES = 64 * TIB


def parse_memory_size(text: str, *, default_unit: str = "g") -> int:
    """A memory size in bytes: ``"64GB"``, ``"64 GiB"``, ``"64G"``, ``"512MiB"`` or a bare number of
    ``default_unit`` (GiB); GB and GiB mean the same 2**30 bytes (see the module's note)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise InvalidInput(f"cannot read size {text!r}: expected a number with an optional unit such as 24GB or 16GiB")
    unit = (m.group(2) or default_unit).lower()[0]
    try:
        n_bytes = round(float(m.group(1)) * _MEMORY_FACTORS[unit])
    except OverflowError:
        n_bytes = MAX_MEMORY_BYTES + 1
    if n_bytes > MAX_MEMORY_BYTES:
        raise InvalidInput(f"size {text[:40]!r} is beyond any machine (at most 64 TiB)")
    return n_bytes


def fmt_gib(n_bytes: int, digits: int = 2) -> str:
    return f"{n_bytes / GIB:.{digits}f} GiB"


def fmt_gb(n_bytes: int, digits: int = 2) -> str:
    return f"{n_bytes / GB:.{digits}f} GB"


def fmt_bytes(n_bytes: int, *, binary: bool = True) -> str:
    """Human size with the unit always printed: MiB below 1 GiB, GiB above (or MB/GB when not binary)."""
    if binary:
        return f"{n_bytes / MIB:.0f} MiB" if abs(n_bytes) < GIB else fmt_gib(n_bytes)
    return f"{n_bytes / MB:.0f} MB" if abs(n_bytes) < GB else fmt_gb(n_bytes)
