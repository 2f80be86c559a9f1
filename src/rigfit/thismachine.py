"""This machine as rigfit plans on it: the detected GPUs' catalog entries with the memory free now, the detected
RAM, and the CPU's catalog platform (its memory bandwidth feeds layers in RAM, its cores and SIMD width the CPU's
prompt rate); the CPU and its RAM alone where no GPU was found.  ``hardware.detect`` does the probing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .hardware.spec import Device
from .system import OS, System, make_system, with_usable
from .vocab import DeviceKind, Form, Vendor


def _cpu_label(det: Any) -> str:
    return f"CPU ({det.cpu_model or 'unknown'}, {det.cpu_cores} threads)"


def _os_name(det: Any) -> str:
    """The detected OS as rigfit names it (darwin: macos; an OS it does not know plans as linux)."""
    name = {"darwin": "macos"}.get(det.os_name, det.os_name)
    return name if name in tuple(OS) else "linux"


def detected_cpu(det: Any) -> tuple[Device | None, str]:
    """The catalog's CPU platform for the detected CPU's name (as the OS prints it), under the detected name:
    its memory bandwidth feeds layers and experts in RAM, its cores and SIMD width the CPU's prompt rate.
    (None, why) when the name is not a CPU the catalog knows (an Apple chip is planned as its GPU)."""
    from .errors import RigfitError
    from .hardware.resolve import resolve_device_noted

    if not det.cpu_model:
        return None, "CPU model not detected: system RAM bandwidth assumed"
    try:
        dev, _ = resolve_device_noted(det.cpu_model)
    except RigfitError:
        dev = None
    if dev is None or dev.kind != DeviceKind.CPU:
        return None, f"{det.cpu_model}: no catalog CPU platform matches this name, system RAM bandwidth assumed"
    # a virtual machine shows a slice of its host's CPU: at most the threads detected run llama.cpp's matmuls and
    # draw its memory (a 4-vCPU cloud instance of a 24-core Xeon: rates.cpu_stream_gb_s caps it at 4 cores)
    units = min(dev.units, det.cpu_cores) if dev.units and det.cpu_cores else dev.units
    return replace(dev, name=_cpu_label(det), memory_bytes=det.ram_total_bytes or dev.memory_bytes, units=units), ""


def system_from_detected(det: Any) -> tuple[System | None, list[str]]:
    """This machine as fit() sees it: catalog matches of the detected GPUs (measured memory when the device is
    unknown), usable memory under this OS (Metal's working-set limit, the memory free now), the detected RAM
    and the CPU's platform where the catalog knows it (``detected_cpu``); None when no GPU was found."""
    from .hardware.usable import usable_memory

    os_name = _os_name(det)
    found: list[tuple[Device, int]] = []
    usable = []
    notes: list[str] = []
    for d in det.devices:
        dev = d.matched or Device(name=d.name, kind=DeviceKind.GPU, vendor=Vendor.of(d.vendor), form=Form.DESKTOP,
                                  memory_bytes=d.memory_total_bytes, bandwidth_gb_s=None, source="detected")
        if dev.kind == "apple" and det.gpu_working_set_bytes:
            u = usable_memory(dev, os_name=os_name)
            u = replace(u, usable_bytes=det.gpu_working_set_bytes, rules=("Metal recommendedMaxWorkingSetSize",))
        else:
            u = usable_memory(dev, os_name=os_name, free_bytes=d.memory_free_bytes)
        found.append((dev, 1))
        usable.append(u)
        if d.matched is None:
            notes.append(f"{d.name}: not in the catalog, bandwidth unknown")
    if not found:
        return None, notes
    if not any(d.kind in (DeviceKind.APPLE, DeviceKind.SOC) for d, _ in found):  # unified memory: no host CPU
        cpu, why = detected_cpu(det)
        if cpu is not None:
            found.append((cpu, 1))
            usable.append(usable_memory(cpu, os_name=os_name))
        else:
            notes.append(why)
    system = make_system(found, os_name=os_name, ram_bytes=det.ram_total_bytes or None, name="this machine")
    return with_usable(system, usable), notes


def this_machine(det: Any) -> tuple[System, list[str]]:
    """``system_from_detected``, with the CPU and its RAM standing in when no GPU was found (models then run
    on the CPU from system RAM)."""
    system, notes = system_from_detected(det)
    if system is None:
        cpu, why = detected_cpu(det)
        if cpu is None:
            notes = [*notes, why]
            cpu = Device(name=_cpu_label(det), kind=DeviceKind.CPU, vendor=Vendor.of(det.cpu_model or ""),
                         form=Form.DESKTOP, memory_bytes=det.ram_total_bytes, bandwidth_gb_s=None, source="detected")
        system = make_system([(cpu, 1)], os_name=_os_name(det), ram_bytes=det.ram_total_bytes or None,
                             name="this machine")
        notes = [*notes, "no GPU: models run on the CPU from system RAM"]
    return system, notes


__all__ = ["detected_cpu", "system_from_detected", "this_machine"]
