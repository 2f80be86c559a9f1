"""Upgrade mode: the parts a user already has (CPU, RAM, PSU, board), read from a short description or from
this machine's detection, so the advisor prices only what must change (GPUs, and the PSU or RAM when they are
too small) and checks the power and the slots against what is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..hardware.catalog import CpuModel, default_hardware
from ..units import GIB
from . import buildrules as br

_RAM = re.compile(r"(\d{1,4})\s*(?:gb|gib|g)\s*(ddr[45])?(?:[- ]?\d{4})?", re.I)
_PSU = re.compile(r"(\d{3,4})\s*w(?:att)?s?(?:\s*psu)?", re.I)
HAVE_HINT = "e.g. \"Ryzen 7 5800X, 32GB DDR4, 750W, B550\""


@dataclass(frozen=True, slots=True, kw_only=True)
class Have:
    """What the user keeps: the CPU (hence the platform), RAM, PSU and board; None where unknown."""

    cpu: str
    platform: str
    cpu_tdp_w: int
    ram_gib: int | None = None
    ram_type: str | None = None
    psu_w: int | None = None
    board: str | None = None  # the chipset class named
    slot_lanes: tuple[int, ...] = ()  # electrical lanes of the GPU slots, in order; () unknown
    notes: tuple[str, ...] = field(default=())

    @property
    def gpu_slots(self) -> int:
        return len(self.slot_lanes) if self.slot_lanes else 1

    def describe(self) -> str:
        parts = [f"{self.cpu} ({self.platform})"]
        if self.ram_gib:
            parts.append(f"{self.ram_gib} GB {self.ram_type or ''}".strip())
        if self.psu_w:
            parts.append(f"{self.psu_w} W PSU")
        if self.board:
            parts.append(f"{self.board} board")
        return ", ".join(parts)


def _cpu(text: str) -> CpuModel | None:
    return default_hardware().cpu_model(text)


def _chipset(text: str, parts: br.Parts) -> br.Chipset | None:
    up = text.upper()
    names = sorted(((n, c) for c in parts.chipset for n in (c.name, *c.aliases)), key=lambda x: -len(x[0]))
    return next((c for n, c in names if re.search(rf"(?<![A-Z0-9]){re.escape(n.upper())}(?![0-9])", up)), None)


def parse_have(text: str, parts: br.Parts | None = None) -> Have:
    """The parts in ``text`` (comma-separated: a CPU, RAM, a PSU, a board chipset); a part it cannot read is
    one error naming it."""
    parts = parts or br.default_parts()
    if len(text) > 300:
        raise InvalidInput("the parts you have must be under 300 characters", options=("have",))
    cpu = ram = psu = board = None
    ram_type = None
    for raw in (x.strip() for x in text.split(",")):
        if not raw:
            continue
        if (fam := _cpu(raw)) is not None and cpu is None:
            cpu = (raw, fam)
        elif (m := _PSU.fullmatch(raw)) is not None:
            psu = int(m.group(1))
        elif (m := _RAM.fullmatch(raw)) is not None:
            ram, ram_type = int(m.group(1)), (m.group(2) or "").upper() or None
        elif (chip := _chipset(raw, parts)) is not None:
            board = chip
        else:
            raise InvalidInput(f"cannot read {raw[:60]!r} among the parts you have; give a CPU, RAM, a PSU and a "
                               f"board chipset, {HAVE_HINT}", options=("have",))
    if cpu is None:
        raise InvalidInput(f"name the CPU you have (it fixes the platform), {HAVE_HINT}", options=("have",))
    name, fam = cpu
    notes = []
    if board is not None and board.platform != fam.platform:
        raise InvalidInput(f"a {board.name} board does not take a {name} ({fam.platform})", options=("have",))
    if board is None:
        notes.append("board not named: one GPU slot assumed; name its chipset (B550, X670E x8/x8, ...) for more")
    if ram is not None and not 1 <= ram <= 4096:
        raise InvalidInput(f"RAM must be between 1 and 4,096 GB, got {ram}", options=("have",))
    if psu is not None and not 200 <= psu <= 3000:
        raise InvalidInput(f"PSU must be between 200 and 3,000 W, got {psu}", options=("have",))
    return Have(cpu=name, platform=fam.platform, cpu_tdp_w=fam.tdp_w, ram_gib=ram, ram_type=ram_type, psu_w=psu,
                board=board.name if board else None, slot_lanes=board.slot_lanes if board else (),
                notes=tuple(notes))


def have_from_detected(det: Any) -> Have:
    """This machine's CPU and RAM as detected; the PSU and board are not visible to software."""
    fam = _cpu(det.cpu_model or "")
    if fam is None:
        raise InvalidInput(f"this machine's CPU ({det.cpu_model or 'not detected'}) is not a desktop CPU rigfit "
                           f"knows; describe the parts instead, {HAVE_HINT}", options=("have",))
    ram = round(det.ram_total_bytes / GIB) if det.ram_total_bytes else None
    return Have(cpu=det.cpu_model, platform=fam.platform, cpu_tdp_w=fam.tdp_w, ram_gib=ram,
                notes=("PSU and board are not visible to software: the PSU is priced as needed and one GPU slot "
                       "is assumed; describe them for a closer answer",))


THIS_MACHINE = "this-machine"


def resolve_have(text: str) -> Have:
    """The parts described by ``text``, or this machine's detected CPU and RAM for ``this-machine``."""
    if text.strip().lower() == THIS_MACHINE:
        from ..hardware.detect import detect

        return have_from_detected(detect())
    return parse_have(text)


__all__ = ["THIS_MACHINE", "Have", "have_from_detected", "parse_have", "resolve_have"]
