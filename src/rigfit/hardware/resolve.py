"""Forgiving hardware names: "3090", "rtx3090", "RTX 3090 24GB", "2x RTX 4090", "M4 Max 40-core 128GB".

A name that matches several devices equally well (RTX 4090 vs RTX 4090 Laptop, or a Mac chip without
its memory size) is an error that lists the candidates; an unknown one lists the closest names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import replace

from ..errors import AmbiguousHardware, InvalidInput, UnknownName
from ..safeio import check_name, is_existing_path
from ..units import GIB
from ..vocab import DeviceKind
from .catalog import default_hardware
from .spec import Device

# vendor words, the trademark marks operating systems print in CPU names ("Intel(R) Core(TM) Ultra 7 155H";
# "Intel R Core TM ..." once the brackets are stripped) and the "Series" Windows appends to some Radeons ("Radeon
# RX 580 Series")
_NOISE = re.compile(r"\((?:r|tm)\)|\b(nvidia|geforce|amd|radeon|intel|apple|graphics|gpu|edition|founders|series|r|"
                    r"tm)\b")
# "48GB", "48 GiB", "48 g"; not the G of a CPU's model number ("Ryzen 5 4600G")
_MEM = re.compile(r"(\d+(?:\.\d+)?)(?:\s*(?:gb|gib)|\s+g)\b")
# "2x 3090", "2 x 3090", "2×3090", "2*3090"; but "7900 xtx" is a name (the x must not start a word)
_COUNT = re.compile(r"^\s*(\d+)\s*(?:[×*]|x(?![a-z]))\s*(.+)$", re.IGNORECASE)
_COUNT_AFTER = re.compile(r"^\s*(.*\S)\s+[x×*]\s*(\d+)\s*$", re.IGNORECASE)  # "3090 x2", "RTX 4090 ×4"
MAX_DEVICES = 64
# what operating systems and benchmark tools print around a CPU's model number: "11th Gen Intel(R) Core(TM)
# i7-1185G7 @ 3.00GHz", "AMD Ryzen 9 5900X 12-Core Processor", "AMD Ryzen 7 7840HS w/ Radeon 780M Graphics", and
# the compiler's microarchitecture name llamafile appends ("(tigerlake)", "(znver4)": llamafile_describe_cpu)
_CPU_DECOR = re.compile(
    r"\((?:[a-z]+lake(?:-[a-z0-9]+)?|[a-z]+rapids|broadwell|haswell|ivybridge|sandybridge|westmere|nehalem|"
    r"znver\d|bdver\d|btver\d|amdfam\d+)\)|@\s*[\d.]+\s*ghz|\s(?:w/|with)\s+radeon\b.*$|"
    r"\b\d+-core processor\b|\b\d+-cores\b|\bprocessor\b|\bcpu\b")


# Apple's core-count spelling in benchmark listings: "M4 Pro 10P+4E+20GPU" = the 20-core GPU bin, "16P+8E"
# names only the CPU cores
_APPLE_CORES = re.compile(r"\b\d+p\+\d+e(?:\+(\d+)\s*gpu)?\b")


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> str:
    t = _APPLE_CORES.sub(lambda m: f" {m.group(1)}-core " if m.group(1) else " ", text.lower())
    t = _NOISE.sub(" ", t)
    t = t.replace("-core", "c").replace(" core", "c")
    return re.sub(r"[^a-z0-9]+", "", t)


@functools.lru_cache(maxsize=4096)
def _split_memory(text: str) -> tuple[str, int | None]:
    m = _MEM.search(text.lower())
    if not m:
        return text, None
    return (text[: m.start()] + text[m.end():]).strip(), round(float(m.group(1)))


def resolve_device(text: str, devices: Sequence[Device] | None = None) -> Device:
    return resolve_device_noted(text, devices)[0]


def resolve_device_noted(text: str, devices: Sequence[Device] | None = None) -> tuple[Device, str]:
    """The device ``text`` names, and a note when rigfit chose among configurations (a bare Apple chip name
    such as "M4 Max" is its base configuration; the note names it and the other sizes), else ""."""
    check_name("hardware", text)
    if devices is None:
        return _resolve_default(text)
    return _resolve(text, tuple(devices))


@functools.lru_cache(maxsize=512)
def _resolve_default(text: str) -> tuple[Device, str]:
    # The embedded catalog never changes within a process; bad names raise and are not cached.
    return _resolve(text, default_hardware().devices)


def _within(key: str, name_key: str) -> bool:
    """``key`` occurs in ``name_key`` without splitting a model number: "h20" is not inside "h200", nor
    "3060" inside "13060"."""
    start = name_key.find(key)
    while start >= 0:
        end = start + len(key)
        cut_before = start > 0 and name_key[start - 1].isdigit() and key[0].isdigit()
        cut_after = end < len(name_key) and name_key[end].isdigit() and key[-1].isdigit()
        if not cut_before and not cut_after:
            return True
        start = name_key.find(key, start + 1)
    return False


def _base_configuration(text: str, hits: Sequence[Device]) -> tuple[Device, str] | None:
    """One chip in several configurations (Apple GPU core bins and memory sizes; a unified-memory PC chip's
    memory sizes): the configuration a bare name plans on, and a note saying so."""
    chips = {d.arch for d in hits}
    if len(chips) != 1 or not next(iter(chips)):
        return None
    if all(d.kind == DeviceKind.SOC for d in hits):
        soc = next((d for d in hits if d.base_config), None)
        if soc is None:
            return None
        by_size = sorted(hits, key=lambda d: d.memory_bytes)
        listed = "/".join(str(round(d.memory_bytes / GIB)) for d in by_size)
        smaller = next(d for d in by_size if d is not soc)
        return soc, (f"{text.strip()!r} is sold with {listed} GB: planned on {round(soc.memory_bytes / GIB)} GB "
                     f"({soc.name}); name a size for another, e.g. {smaller.name!r}")
    if any(d.kind != DeviceKind.APPLE for d in hits):
        return None
    base = min(hits, key=lambda d: (d.bandwidth_gb_s or 0.0, d.fp32_tflops or 0.0, d.memory_bytes, d.name))
    cores = {d.name: m.group(1) for d in hits if (m := _BIN.search(d.name))}
    bins = sorted(set(cores.values()), key=int)
    sizes = sorted({round(d.memory_bytes / GIB) for d in hits})
    other = (f"{'/'.join(bins)}-core GPU, " if len(bins) > 1 else "") + "/".join(str(s) for s in sizes) + " GB"
    biggest = max(hits, key=lambda d: (d.fp32_tflops or 0.0, d.memory_bytes))
    example = f"{biggest.arch} {cores[biggest.name]}-core {round(biggest.memory_bytes / GIB)}GB" \
        if biggest.name in cores else biggest.name
    note = (f"{text.strip()!r} is a chip, not a machine: planned on its base configuration, {base.name} "
            f"(configurations: {other}; name one, e.g. {example!r})")
    return base, note


_BIN = re.compile(r"\((\d+)-core GPU\)")


def _other_sizes(typed: str, device: Device, pool: Sequence[Device]) -> str:
    """A card sold in several memory sizes whose bare name ("RTX 5060 Ti") is an alias of one of them: a note
    naming the size planned on and the others, since the plan turns on it; "" where no other size exists."""
    base = _key(_split_memory(device.name)[0])
    if base == _key(device.name):
        return ""  # the entry's own name carries no size
    others = sorted((d for d in pool if d is not device and _key(_split_memory(d.name)[0]) == base
                     and d.memory_bytes != device.memory_bytes), key=lambda d: d.memory_bytes)
    if not others:
        return ""
    sizes = "/".join(str(round(d.memory_bytes / GIB)) for d in sorted([device, *others], key=lambda d: d.memory_bytes))
    other = others[-1]
    example = other.name
    for text in (f"{typed.strip()} {round(other.memory_bytes / GIB)}GB", *other.aliases):  # the shortest that works
        try:
            if _resolve_name(text, text, pool)[0] is other:
                example = text
                break
        except (AmbiguousHardware, InvalidInput, UnknownName):
            continue
    return (f"{typed.strip()!r} is sold with {sizes} GB: planned on {round(device.memory_bytes / GIB)} GB "
            f"({device.name}); name a size for another, e.g. {example!r}")


def _resolve(text: str, pool: Sequence[Device]) -> tuple[Device, str]:
    if not text.strip():
        raise InvalidInput("empty hardware name")
    bare = _CPU_DECOR.sub(" ", text.lower()).strip()
    if not bare or bare == text.lower().strip():
        return _resolve_name(text, text, pool)
    try:  # the name as typed first: a device may carry "CPU" or a clock in its own name (a custom .toml)
        return _resolve_name(text, text, pool)
    except UnknownName:
        return _resolve_name(bare, text, pool)


def _resolve_name(text: str, typed: str, pool: Sequence[Device]) -> tuple[Device, str]:
    """The device ``text`` names in ``pool``; messages quote ``typed``, the name as the user gave it."""
    base, mem_gb = _split_memory(text)
    key, full_key = _key(base), _key(text)
    exact: list[Device] = []
    partial: list[Device] = []
    named: list[Device] = []  # the typed text is a device's own name or alias, memory included
    # a chip's own name picks that chip: "M4" is Apple's M4, not the M4 Pro or Max, nor the A100 SXM4 its letters
    # are in (and "M1" finds the M1, whose keys run on into a core count: "applem17c")
    chip: list[Device] = []
    for d in pool:
        names = (d.name, *d.aliases)
        if full_key in {_key(n) for n in names}:
            named.append(d)
        if d.arch and _key(d.arch) == key:
            chip.append(d)
        keys = {_key(_split_memory(n)[0]) for n in names}
        if key in keys:
            exact.append(d)
        elif key and any(_within(key, k) for k in keys):
            partial.append(d)
    hits = exact or chip or partial
    if len(named) == 1:
        # the text is one device's own name or alias, a size in it included, even one that is not the device's
        # memory ("GH200 480GB", as nvidia-smi names the 96 GB part: its CPU's)
        return named[0], _other_sizes(typed, named[0], pool) if mem_gb is None else ""
    if mem_gb is not None:
        sized = [d for d in hits if round(d.memory_bytes / GIB) == mem_gb]
        if hits and not sized:
            raise InvalidInput(f"no {hits[0].name} with {mem_gb} GB; it has "
                               + ", ".join(sorted({f"{round(d.memory_bytes / GIB)} GB" for d in hits})))
        hits = sized
    if len(hits) == 1:
        return hits[0], ""
    if len(hits) > 1:
        chosen = _base_configuration(typed, hits)
        if chosen is not None:
            return chosen
        raise AmbiguousHardware(typed, [f"{d.name} ({round(d.memory_bytes / GIB)} GB {d.form})" for d in hits])
    model = default_hardware().cpu_model(text) if mem_gb is None else None
    platform = next((d for d in pool if model is not None and d.name == model.platform), None)
    if platform is not None and model is not None:
        # a desktop CPU's name: its platform, whose memory channels and speed feed offloaded layers, with the
        # CPU's own cores and SIMD width where its model entry gives them (they price its prompt arithmetic)
        own = default_hardware().cpu_core_count(text)
        cpu = replace(platform, units=own or platform.units, isa=model.isa or platform.isa)
        cores = (f"; {cpu.units} cores, {cpu.isa.upper()}" if cpu.units and cpu.isa else "") + (
            ", its example CPU's: the catalog has no core count for this one" if cpu.units and not own else "")
        return cpu, (f"{typed.strip()!r} is planned as its platform, {platform.name} "
                     f"({platform.bandwidth_gb_s or 0:.1f} GB/s of system memory bandwidth{cores})")
    raise UnknownName("hardware", typed, [d.name for d in pool] + [a for d in pool for a in d.aliases])


def resolve_system(specs: Sequence[str]) -> tuple[tuple[Device, int], ...]:
    """Several ``--hardware`` values: ``"2x RTX 3090"``, ``"RTX 4090"``, or a custom ``.toml`` file."""
    return resolve_system_noted(specs)[0]


def resolve_system_noted(specs: Sequence[str]) -> tuple[tuple[tuple[Device, int], ...], tuple[str, ...]]:
    """``resolve_system`` and the notes of the choices it made (a bare chip name's base configuration)."""
    from .catalog import load_custom_hardware

    custom_pool: list[Device] = []  # devices from .toml files, nameable by later values
    out: list[tuple[Device, int]] = []
    notes: list[str] = []
    for spec in specs:
        check_name("hardware", spec)
        if spec.strip().lower().endswith(".toml") or is_existing_path(spec):
            custom = load_custom_hardware(spec)
            out.extend(custom)
            custom_pool.extend(d for d, _ in custom)
        else:
            pool = [*default_hardware().devices, *custom_pool] if custom_pool else None
            device, count, note = parse_hardware_spec_noted(spec, pool)
            out.append((device, count))
            notes += [note] if note else []
    return tuple(out), tuple(notes)


def parse_hardware_spec(spec: str, devices: Sequence[Device] | None = None) -> tuple[Device, int]:
    """``"2x RTX 4090"`` (or ``"RTX 4090 x2"``) -> (RTX 4090, 2)."""
    device, count, _ = parse_hardware_spec_noted(spec, devices)
    return device, count


def parse_hardware_spec_noted(spec: str, devices: Sequence[Device] | None = None) -> tuple[Device, int, str]:
    """``parse_hardware_spec`` and the note of a configuration rigfit chose (see ``resolve_device_noted``)."""
    # "2x 3090" or "3090 x2": of the two readings, the one whose count is a plausible number of devices
    # ("3090 x2" also reads as 3090 devices named "2"); the leading count when both are
    readings = [(int(m.group(1)), m.group(2)) for m in (_COUNT.match(spec),) if m]
    readings += [(int(m.group(2)), m.group(1)) for m in (_COUNT_AFTER.match(spec),) if m]
    count, name = next((r for r in readings if 1 <= r[0] <= MAX_DEVICES), readings[0] if readings else (1, spec))
    if not 1 <= count <= MAX_DEVICES:
        raise InvalidInput(f"device count {count} in {spec[:80]!r} is outside 1-{MAX_DEVICES}")
    device, note = resolve_device_noted(name, devices)
    return device, count, note
