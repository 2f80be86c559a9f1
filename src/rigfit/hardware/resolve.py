"""Forgiving hardware names: "3090", "rtx3090", "RTX 3090 24GB", "2x RTX 4090", "M4 Max 40-core 128GB".

A name that matches several devices equally well (RTX 4090 vs RTX 4090 Laptop, or a Mac chip without
its memory size) is an error that lists the candidates; an unknown one lists the closest names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ..errors import AmbiguousHardware, InvalidInput, UnknownName
from ..safeio import check_name, is_existing_path
from ..units import GIB
from .catalog import default_hardware
from .spec import Device

_NOISE = re.compile(r"\b(nvidia|geforce|amd|radeon|intel|apple|graphics|gpu|edition|founders)\b")
_MEM = re.compile(r"(\d+(?:\.\d+)?)\s*(?:gb|gib|g)\b")
# "2x 3090", "2 x 3090", "2×3090", "2*3090"; but "7900 xtx" is a name (the x must not start a word)
_COUNT = re.compile(r"^\s*(\d+)\s*(?:[×*]|x(?![a-z]))\s*(.+)$", re.IGNORECASE)
MAX_DEVICES = 64


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> str:
    t = _NOISE.sub(" ", text.lower())
    t = t.replace("-core", "c").replace(" core", "c")
    return re.sub(r"[^a-z0-9]+", "", t)


@functools.lru_cache(maxsize=4096)
def _split_memory(text: str) -> tuple[str, int | None]:
    m = _MEM.search(text.lower())
    if not m:
        return text, None
    return (text[: m.start()] + text[m.end():]).strip(), round(float(m.group(1)))


def resolve_device(text: str, devices: Sequence[Device] | None = None) -> Device:
    check_name("hardware", text)
    if devices is None:
        return _resolve_default(text)
    return _resolve(text, tuple(devices))


@functools.lru_cache(maxsize=512)
def _resolve_default(text: str) -> Device:
    # The embedded catalog never changes within a process; bad names raise and are not cached.
    return _resolve(text, default_hardware().devices)


def _resolve(text: str, pool: Sequence[Device]) -> Device:
    if not text.strip():
        raise InvalidInput("empty hardware name")
    base, mem_gb = _split_memory(text)
    key, full_key = _key(base), _key(text)
    exact: list[Device] = []
    partial: list[Device] = []
    named: list[Device] = []  # the typed text is a device's own name or alias, memory included
    for d in pool:
        names = (d.name, *d.aliases)
        if full_key in {_key(n) for n in names}:
            named.append(d)
        keys = {_key(_split_memory(n)[0]) for n in names}
        if key in keys:
            exact.append(d)
        elif key and any(key in k for k in keys):
            partial.append(d)
    hits = exact or partial
    if mem_gb is not None:
        sized = [d for d in hits if round(d.memory_bytes / GIB) == mem_gb]
        if hits and not sized:
            raise InvalidInput(f"no {hits[0].name} with {mem_gb} GB; it has "
                               + ", ".join(sorted({f"{round(d.memory_bytes / GIB)} GB" for d in hits})))
        hits = sized
    elif len(named) == 1:
        return named[0]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise AmbiguousHardware(text, [d.name for d in hits])
    raise UnknownName("hardware", text, [d.name for d in pool] + [a for d in pool for a in d.aliases])


def resolve_system(specs: Sequence[str]) -> tuple[tuple[Device, int], ...]:
    """Several ``--hardware`` values: ``"2x RTX 3090"``, ``"RTX 4090"``, or a custom ``.toml`` file."""

    from .catalog import load_custom_hardware

    custom_pool: list[Device] = []  # devices from .toml files, nameable by later values
    out: list[tuple[Device, int]] = []
    for spec in specs:
        check_name("hardware", spec)
        if spec.strip().lower().endswith(".toml") or is_existing_path(spec):
            custom = load_custom_hardware(spec)
            out.extend(custom)
            custom_pool.extend(d for d, _ in custom)
        else:
            pool = [*default_hardware().devices, *custom_pool] if custom_pool else None
            out.append(parse_hardware_spec(spec, pool))
    return tuple(out)


def parse_hardware_spec(spec: str, devices: Sequence[Device] | None = None) -> tuple[Device, int]:
    """``"2x RTX 4090"`` -> (RTX 4090, 2)."""
    m = _COUNT.match(spec)
    count, name = (int(m.group(1)), m.group(2)) if m else (1, spec)
    if not 1 <= count <= MAX_DEVICES:
        raise InvalidInput(f"device count {count} in {spec!r} is outside 1-{MAX_DEVICES}")
    return resolve_device(name, devices), count
