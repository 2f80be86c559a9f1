"""What a program can really allocate on a device, with the rule's source.

Total memory is what the catalog (or detection) says the device has; usable memory subtracts what the
OS, the display and the driver keep.  The engine's own runtime overhead (CUDA context, ...) is part of
the memory estimate, not of these rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import GIB, MIB
from .spec import Device


@dataclass(frozen=True, slots=True, kw_only=True)
class UsableMemory:
    total_bytes: int
    usable_bytes: int  # what a plan may fill: total less the reserves and the safety headroom
    rules: tuple[str, ...]
    headroom_bytes: int = 0  # the safety margin kept free on top of the reserves (part of total - usable)


def with_headroom(u: UsableMemory, headroom_bytes: int, rule: str) -> UsableMemory:
    """``u`` with ``headroom_bytes`` more kept free (a plan never fills a device to its last MiB)."""
    if headroom_bytes <= 0:
        return u
    return UsableMemory(total_bytes=u.total_bytes, usable_bytes=max(0, u.usable_bytes - headroom_bytes),
                        rules=(*u.rules, rule), headroom_bytes=u.headroom_bytes + headroom_bytes)


def macos_gpu_limit_bytes(ram_bytes: int, wired_limit_mb: int = 0) -> tuple[int, str]:
    """Metal's recommendedMaxWorkingSetSize, which llama.cpp and MLX treat as the GPU budget.

    Observed: 2/3 of RAM up to 36 GB machines (21,845 MB on a 32 GB M1 Max, llama.cpp PR #2011), 3/4
    above (gpustack/gpustack#1375); ``sudo sysctl iogpu.wired_limit_mb=N`` raises it (llmfit PR #754).
    """
    if wired_limit_mb > 0:
        return min(ram_bytes, wired_limit_mb * MIB), f"iogpu.wired_limit_mb = {wired_limit_mb}"
    frac_num, frac_den = (2, 3) if ram_bytes <= 36 * GIB else (3, 4)
    return ram_bytes * frac_num // frac_den, (
        f"macOS default GPU working set: {frac_num}/{frac_den} of RAM (raise with sysctl iogpu.wired_limit_mb)")


def usable_memory(device: Device, *, os_name: str = "linux", display: bool = False, wired_limit_mb: int = 0,
                  free_bytes: int | None = None, tuned: bool = False) -> UsableMemory:
    """Usable accelerator memory for ``device`` under ``os_name`` (linux | windows | macos).

    ``tuned``: the user raised the unified-memory GPU limit (ttm.pages_limit, BIOS carve-out)."""
    total = device.memory_bytes
    rules: list[str] = []
    usable = total
    if device.kind == "apple":
        usable, why = macos_gpu_limit_bytes(total, wired_limit_mb)
        rules.append(why)
    elif device.kind == "soc":
        if device.vendor == "amd" and not tuned:
            # Untuned, the GPU gets half of RAM: amdgpu's default GTT on Linux (ollama-linux-amd-apu#4; raise
            # with ttm.pages_limit = GiB x 262144, 96 GiB measured on a 128 GB Strix Halo, nix-amd-ai#42);
            # on Windows the BIOS VRAM carve-out (AMD Variable Graphics Memory, up to 96 GB when set).
            usable = total // 2
            rules.append("Linux amdgpu default GTT: half of RAM (raise with ttm.pages_limit)" if os_name == "linux"
                         else "Windows: the BIOS VRAM carve-out (AMD Variable Graphics Memory; half of RAM "
                         "assumed, up to 96 GB when set)")
        elif device.vendor == "nvidia":
            # Jetson / DGX Spark: one LPDDR pool; CUDA device, host and managed allocations all come from the
            # same DRAM and cudaMemGetInfo reports system free memory (NVIDIA "CUDA for Tegra" app note,
            # memory-management section), so the GPU may use everything the OS is not using.
            rules.append("NVIDIA unified memory (Jetson/GB10): the GPU allocates from system RAM")
        elif device.gpu_memory_max_bytes:
            usable = min(usable, device.gpu_memory_max_bytes)
            rules.append("most memory the GPU can be given on this system (VRAM carve-out + GTT, tuned)")
        os_reserve = 4 * GIB  # the OS and desktop live in the same memory
        if usable > total - os_reserve:
            usable = total - os_reserve
            rules.append("4 GiB left to the operating system in shared memory")
    elif os_name == "windows":
        # WDDM keeps part of VRAM for the desktop compositor and itself; CUDA sees about 90-95 %.
        reserve = max(GIB // 2, total // 20)
        usable -= reserve
        rules.append("Windows WDDM reserve: max(0.5 GiB, 5 %) of VRAM")
    elif display:
        # A desktop on the card: Xorg/Wayland compositor, browser and other GPU clients typically hold
        # 0.3-1 GiB (nvidia-smi process list on an idle GNOME or KDE desktop); 0.5 GiB assumed.
        usable -= GIB // 2
        rules.append("display attached: ~0.5 GiB for the compositor and desktop apps")
    if free_bytes is not None and free_bytes < usable:
        usable = free_bytes
        rules.append("limited to the memory free right now")
    return UsableMemory(total_bytes=total, usable_bytes=max(0, usable), rules=tuple(rules))
