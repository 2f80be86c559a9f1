"""Detect this machine: each probe is a pure parser of a tool's output plus a thin call.

NVIDIA: ``nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits``
(NVML through nvidia-ml-py when installed).  AMD: ``amd-smi static --asic --vram --json`` (ROCm 6+),
``rocm-smi --showproductname --showmeminfo vram --json``, or sysfs
``/sys/class/drm/card*/device/mem_info_vram_total``.  Intel: sysfs, xe ``device/tile*/physical_vram_size_bytes``
or i915 ``lmem_total_bytes``.  Apple: ``sysctl``, ``system_profiler SPHardwareDataType SPDisplaysDataType
-json`` and Metal's ``recommendedMaxWorkingSetSize``.  CPU and RAM: ``/proc/cpuinfo``, ``/proc/meminfo``.
Nothing runs at import time; ``detect()`` runs only when asked.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RigfitError
from ..units import GIB, KIB, MIB
from .resolve import resolve_device
from .spec import Device


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectedDevice:
    name: str  # as the tool reported it
    vendor: str
    memory_total_bytes: int
    memory_free_bytes: int | None
    matched: Device | None  # the catalog entry it maps to (None: unknown, bandwidth unknown)
    how: str  # which probe found it and how it mapped


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectedSystem:
    os_name: str
    cpu_model: str
    cpu_cores: int
    cpu_flags: tuple[str, ...]
    ram_total_bytes: int
    ram_available_bytes: int | None
    disk_free_bytes: int | None
    devices: tuple[DetectedDevice, ...]
    gpu_working_set_bytes: int | None = None  # macOS: Metal's recommendedMaxWorkingSetSize as measured
    notes: tuple[str, ...] = field(default=())


# ---- pure parsers ------------------------------------------------------------------------------


def parse_nvidia_smi_csv(text: str) -> list[tuple[str, int, int | None]]:
    """Lines ``NVIDIA GeForce RTX 4090, 24564, 23012`` (MiB) -> (name, total bytes, free bytes)."""
    out = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2 or not parts[1].replace(".", "").isdigit():
            continue
        free = int(float(parts[2]) * MIB) if len(parts) > 2 and parts[2].replace(".", "").isdigit() else None
        out.append((parts[0], int(float(parts[1]) * MIB), free))
    return out


def parse_meminfo(text: str) -> tuple[int, int | None]:
    vals: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        num = rest.strip().split(" ")[0]
        if num.isdigit():
            vals[key.strip()] = int(num) * KIB
    if "MemTotal" not in vals:
        raise RigfitError("no MemTotal in /proc/meminfo")
    return vals["MemTotal"], vals.get("MemAvailable")


def parse_cpuinfo(text: str) -> tuple[str, int, tuple[str, ...]]:
    model, cores = "", 0
    flags: tuple[str, ...] = ()
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = val.strip()
        elif key == "flags" and not flags:
            flags = tuple(f for f in val.split() if f.startswith(("avx", "amx", "fma", "f16c", "sve", "neon")))
        elif key == "processor":
            cores += 1
    return model, cores, flags


def parse_sysctl(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, val = line.partition(":")
        if sep:
            out[key.strip()] = val.strip()
    return out


def parse_system_profiler(text: str) -> tuple[str, int | None, int | None]:
    """-> (chip, memory bytes, GPU cores) from ``system_profiler SPHardwareDataType SPDisplaysDataType -json``."""
    doc = json.loads(text)
    hw = (doc.get("SPHardwareDataType") or [{}])[0]
    chip = str(hw.get("chip_type", ""))
    first = str(hw.get("physical_memory", "")).split(maxsplit=1)
    mem = int(first[0]) * GIB if first and first[0].isdigit() else None
    cores = None
    for disp in doc.get("SPDisplaysDataType") or []:
        raw = disp.get("sppci_cores")
        if raw is not None and str(raw).isdigit():
            cores = int(raw)
    return chip, mem, cores


def parse_rocm_smi_json(text: str) -> list[tuple[str, int, int | None]]:
    doc = json.loads(text)
    out = []
    for card, vals in doc.items():
        if not isinstance(vals, dict) or not card.startswith("card"):
            continue
        total = vals.get("VRAM Total Memory (B)")
        used = vals.get("VRAM Total Used Memory (B)")
        name = vals.get("Card Series") or vals.get("Card series") or vals.get("Card Model") or card
        if total is not None and str(total).isdigit():
            free = int(total) - int(used) if used is not None and str(used).isdigit() else None
            out.append((str(name), int(total), free))
    return out


def parse_amd_sysfs(cards: dict[str, dict[str, str]]) -> list[tuple[str, int, int | None]]:
    """``/sys/class/drm/cardN/device/{vendor,mem_info_vram_total,mem_info_vram_used,product_name}`` contents
    per card -> AMD GPUs (vendor 0x1002).  APUs report a small VRAM carve-out; their GTT is in mem_info_gtt_total."""
    out = []
    for card, files in sorted(cards.items()):
        if files.get("vendor", "").strip() != "0x1002":
            continue
        total = files.get("mem_info_vram_total", "").strip()
        used = files.get("mem_info_vram_used", "").strip()
        if not total.isdigit():
            continue
        name = files.get("product_name", "").strip() or f"AMD GPU ({card})"
        out.append((name, int(total), int(total) - int(used) if used.isdigit() else None))
    return out


def _mb_value(raw: Any) -> int | None:
    """amd-smi sizes: ``{"value": 24560, "unit": "MB"}`` (ROCm 6.1+) or ``"24560 MB"`` (6.0) -> bytes."""
    if isinstance(raw, dict):
        val, unit = raw.get("value"), str(raw.get("unit", "MB"))
    else:
        val, _, unit = str(raw).strip().partition(" ")
    try:
        num = float(str(val))
    except ValueError:
        return None
    scale = {"B": 1, "KB": KIB, "MB": MIB, "MIB": MIB, "GB": GIB, "GIB": GIB}.get(unit.strip().upper() or "MB")
    return int(num * scale) if scale and num > 0 else None


def parse_amd_smi_json(text: str) -> list[tuple[str, int, int | None]]:
    """``amd-smi static --asic --vram --json``: a list (or ``{"gpu_data": [...]}``) of per-GPU records with
    ``asic.market_name`` and ``vram.size`` (AMD SMI CLI docs, ROCm 6.x)."""
    doc = json.loads(text)
    if isinstance(doc, dict):
        doc = next((v for v in doc.values() if isinstance(v, list)), [])
    out: list[tuple[str, int, int | None]] = []
    for rec in doc if isinstance(doc, list) else []:
        if not isinstance(rec, dict):
            continue
        asic, vram = rec.get("asic") or {}, rec.get("vram") or {}
        if not isinstance(asic, dict) or not isinstance(vram, dict):
            continue
        total = _mb_value(vram.get("size"))
        if total is None:
            continue
        name = str(asic.get("market_name") or f"AMD GPU {rec.get('gpu', '?')}")
        out.append((name, total, None))
    return out


# Intel discrete GPUs by PCI device id (Linux pci.ids); anything else is reported by id, bandwidth unknown.
INTEL_PCI_NAMES = {"0x56a0": "Intel Arc A770", "0x56a1": "Intel Arc A750", "0x56a5": "Intel Arc A380",
                   "0xe20b": "Intel Arc B580", "0xe20c": "Intel Arc B570", "0xe211": "Intel Arc Pro B60",
                   "0xe212": "Intel Arc Pro B50"}


def parse_intel_sysfs(cards: dict[str, dict[str, str]]) -> list[tuple[str, int, int | None]]:
    """Intel (vendor 0x8086) cards with local memory: xe publishes ``device/tileN/physical_vram_size_bytes``
    per tile (summed; igt-gpu-tools xe_sysfs test), i915 ``lmem_total_bytes``.  Integrated GPUs have neither
    and are skipped: they share system RAM."""
    out: list[tuple[str, int, int | None]] = []
    for card, files in sorted(cards.items()):
        if files.get("vendor", "").strip() != "0x8086":
            continue
        tiles = [int(v.strip()) for k, v in files.items() if k.endswith("physical_vram_size_bytes")
                 and v.strip().isdigit()]
        total = sum(tiles) if tiles else None
        if total is None and files.get("lmem_total_bytes", "").strip().isdigit():
            total = int(files["lmem_total_bytes"].strip())
        if not total:
            continue
        dev_id = files.get("device", "").strip().lower()
        out.append((INTEL_PCI_NAMES.get(dev_id, f"Intel GPU {dev_id or card}"), total, None))
    return out


# ---- mapping and probes ------------------------------------------------------------------------


def match_catalog(name: str, memory_bytes: int) -> tuple[Device | None, str]:
    try:
        d = resolve_device(f"{name} {round(memory_bytes / GIB)}GB")
    except RigfitError:
        try:
            d = resolve_device(name)
        except RigfitError as exc:
            return None, f"not in the catalog ({exc}); memory as measured, bandwidth unknown"
    return d, f"mapped to catalog entry {d.name!r}"


def _run(args: list[str]) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _probe_nvml() -> list[tuple[str, int, int | None]] | None:
    """NVML through nvidia-ml-py when it is installed (None: no library or no driver)."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound / DriverNotLoaded: no NVIDIA GPU here
        return None
    try:
        out: list[tuple[str, int, int | None]] = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            out.append((name.decode() if isinstance(name, bytes) else str(name), int(mem.total), int(mem.free)))
        return out
    except Exception:
        return None
    finally:
        pynvml.nvmlShutdown()


def _sysfs_cards() -> dict[str, dict[str, str]]:
    cards: dict[str, dict[str, str]] = {}
    for dev in Path("/sys/class/drm").glob("card[0-9]*/device"):
        files = {}
        for f in ("vendor", "device", "mem_info_vram_total", "mem_info_vram_used", "product_name",
                  "lmem_total_bytes"):
            text = _read(str(dev / f))
            if text is not None:
                files[f] = text
        for tile in sorted(dev.glob("tile[0-9]*")):
            for tile_file in (tile / "physical_vram_size_bytes", tile / "memory" / "physical_vram_size_bytes"):
                text = _read(str(tile_file))
                if text is not None:
                    files[f"{tile.name}/physical_vram_size_bytes"] = text
        cards[dev.parent.name] = files
    return cards


def _metal_working_set_bytes() -> int | None:
    """``MTLCreateSystemDefaultDevice().recommendedMaxWorkingSetSize`` through the Objective-C runtime:
    the GPU budget llama.cpp (ggml-metal) and MLX size their allocations against.  None off macOS."""
    import ctypes
    import ctypes.util

    try:
        objc = ctypes.cdll.LoadLibrary(ctypes.util.find_library("objc") or "libobjc.dylib")
        metal = ctypes.cdll.LoadLibrary("/System/Library/Frameworks/Metal.framework/Metal")
    except OSError:
        return None
    try:
        metal.MTLCreateSystemDefaultDevice.restype = ctypes.c_void_p
        device = metal.MTLCreateSystemDefaultDevice()
        if not device:
            return None
        objc.sel_registerName.restype = ctypes.c_void_p
        objc.sel_registerName.argtypes = [ctypes.c_char_p]
        sel = objc.sel_registerName(b"recommendedMaxWorkingSetSize")
        send = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)(("objc_msgSend", objc))
        value = int(send(device, sel))
    except (AttributeError, OSError, ValueError):
        return None
    return value or None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def detect() -> DetectedSystem:
    """Probe this machine.  Missing tools or garbage output give an honest partial answer."""
    notes: list[str] = []
    devices: list[DetectedDevice] = []
    metal_limit: int | None = None
    nvml = _probe_nvml()
    out = None if nvml else _run(["nvidia-smi", "--query-gpu=name,memory.total,memory.free",
                                  "--format=csv,noheader,nounits"])
    for name, total, free in nvml or []:
        dev, how = match_catalog(name, total)
        devices.append(DetectedDevice(name=name, vendor="nvidia", memory_total_bytes=total,
                                      memory_free_bytes=free, matched=dev, how=f"NVML; {how}"))
    if out is not None:
        for name, total, free in parse_nvidia_smi_csv(out):
            dev, how = match_catalog(name, total)
            devices.append(DetectedDevice(name=name, vendor="nvidia", memory_total_bytes=total,
                                          memory_free_bytes=free, matched=dev, how=f"nvidia-smi; {how}"))
    smi = _run(["amd-smi", "static", "--asic", "--vram", "--json"])
    amd = []
    if smi is not None:
        try:
            amd = parse_amd_smi_json(smi)
        except (json.JSONDecodeError, AttributeError, TypeError):
            notes.append("amd-smi printed something that is not its JSON; trying rocm-smi")
    for name, total, free in amd:
        dev, how = match_catalog(name, total)
        devices.append(DetectedDevice(name=name, vendor="amd", memory_total_bytes=total,
                                      memory_free_bytes=free, matched=dev, how=f"amd-smi; {how}"))
    out = None if amd else _run(["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json"])
    cards = _sysfs_cards() if platform.system() == "Linux" else {}
    if out is not None:
        try:
            for name, total, free in parse_rocm_smi_json(out):
                dev, how = match_catalog(name, total)
                devices.append(DetectedDevice(name=name, vendor="amd", memory_total_bytes=total,
                                              memory_free_bytes=free, matched=dev, how=f"rocm-smi; {how}"))
        except (json.JSONDecodeError, AttributeError):
            notes.append("rocm-smi printed something that is not its JSON; AMD GPUs not read")
    elif not amd:
        for name, total, free in parse_amd_sysfs(cards):
            dev, how = match_catalog(name, total)
            devices.append(DetectedDevice(name=name, vendor="amd", memory_total_bytes=total,
                                          memory_free_bytes=free, matched=dev, how=f"sysfs; {how}"))
    for name, total, free in parse_intel_sysfs(cards):
        dev, how = match_catalog(name, total)
        devices.append(DetectedDevice(name=name, vendor="intel", memory_total_bytes=total,
                                      memory_free_bytes=free, matched=dev, how=f"sysfs; {how}"))
    system = platform.system().lower()
    cpu_model, cores = platform.processor() or platform.machine(), os.cpu_count() or 0
    flags: tuple[str, ...] = ()
    ram_total, ram_avail = 0, None
    if system == "linux":
        info = _read("/proc/cpuinfo")
        if info:
            cpu_model, n, flags = parse_cpuinfo(info)
            cores = n or cores
        mem = _read("/proc/meminfo")
        if mem:
            try:
                ram_total, ram_avail = parse_meminfo(mem)
            except RigfitError as exc:
                notes.append(str(exc))
    elif system == "darwin":
        sc = parse_sysctl(_run(["sysctl", "hw.memsize", "machdep.cpu.brand_string", "iogpu.wired_limit_mb"]) or "")
        cpu_model = sc.get("machdep.cpu.brand_string", cpu_model)
        ram_total = int(sc["hw.memsize"]) if sc.get("hw.memsize", "").isdigit() else 0
        sp = _run(["system_profiler", "SPHardwareDataType", "SPDisplaysDataType", "-json"])
        if sp:
            try:
                chip, mem_b, gpu_cores = parse_system_profiler(sp)
                label = f"{chip} {gpu_cores}-core" if gpu_cores else chip
                dev, how = match_catalog(label, mem_b or ram_total)
                devices.append(DetectedDevice(name=label, vendor="apple", memory_total_bytes=mem_b or ram_total,
                                              memory_free_bytes=None, matched=dev, how=f"system_profiler; {how}"))
            except (json.JSONDecodeError, IndexError, AttributeError):
                notes.append("system_profiler output could not be read")
        working_set = _metal_working_set_bytes()
        if working_set:
            notes.append(f"Metal recommendedMaxWorkingSetSize: {working_set} bytes (the GPU budget)")
        metal_limit = working_set or None
    if not devices:
        notes.append("no GPU found (NVML, nvidia-smi, amd-smi, rocm-smi, sysfs and system_profiler absent or "
                     "silent): CPU only")
    disk = shutil.disk_usage(os.getcwd()).free
    return DetectedSystem(os_name=system, cpu_model=cpu_model, cpu_cores=cores, cpu_flags=tuple(flags),
                          ram_total_bytes=ram_total, ram_available_bytes=ram_avail, disk_free_bytes=disk,
                          devices=tuple(devices), gpu_working_set_bytes=metal_limit, notes=tuple(notes))


def detected_dict(s: DetectedSystem) -> dict[str, Any]:
    return {
        "os": s.os_name, "cpu": {"model": s.cpu_model, "cores": s.cpu_cores, "flags": list(s.cpu_flags)},
        "ram_total_bytes": s.ram_total_bytes, "ram_available_bytes": s.ram_available_bytes,
        "disk_free_bytes": s.disk_free_bytes, "gpu_working_set_bytes": s.gpu_working_set_bytes,
        "devices": [{"name": d.name, "vendor": d.vendor, "memory_total_bytes": d.memory_total_bytes,
                     "memory_free_bytes": d.memory_free_bytes, "catalog": d.matched.name if d.matched else None,
                     "bandwidth_gb_s": d.matched.bandwidth_gb_s if d.matched else None, "how": d.how}
                    for d in s.devices],
        "notes": list(s.notes),
    }
