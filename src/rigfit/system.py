"""System: the machine(s) a plan runs on, as one frozen value.

A ``System`` holds nodes; a node is one computer (its CPU platform, system RAM and OS) holding devices (each
with its count, the memory a program may use on it, and the backend the engine drives it with) and the links
that join them: each accelerator's PCIe link to the host, NVLink between GPUs that have it, and (between
nodes) a network link.  rigfit plans on one node today; the network link is already part of the value so
that plans across machines hang off the same type.

Link rates: PCIe per direction for x16 (PCI-SIG: gen 3 15.75 GB/s, gen 4 31.5, gen 5 63.0), scaled by the
lanes the device uses; NVLink as a flag (its rate is inside the fitted all-reduce cost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import pairwise

from .hardware.spec import Device
from .hardware.usable import UsableMemory, usable_memory
from .hardware.usable import with_headroom as _usable_with_headroom
from .units import GIB
from .vocab import Backend, Form

PCIE_X16_GB_S = {3: 15.75, 4: 31.5, 5: 63.0}  # per direction, PCI-SIG


class OS(StrEnum):
    LINUX = "linux"
    WINDOWS = "windows"
    MACOS = "macos"


class LinkKind(StrEnum):
    PCIE = "pcie"  # accelerator <-> host
    NVLINK = "nvlink"  # GPU <-> GPU
    NETWORK = "network"  # node <-> node (Ethernet, Thunderbolt, InfiniBand)


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    kind: LinkKind
    ends: tuple[str, str]  # device or node names
    gb_s: float | None  # per direction; None: unknown (PCIe generation not in the catalog) or, for NVLink, a
    # rate the speed model takes from its fitted constants
    pcie_gen: int | None = None
    lanes: int | None = None
    name: str = ""  # a network link's catalog name (tb5-rdma, 25gbe)
    rtt_us: float | None = None  # a network link's small-message round trip
    rdma: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemDevice:
    """``count`` identical devices, what a program may allocate on each, and the backend driving them."""

    device: Device
    count: int
    usable: UsableMemory  # per device
    backend: Backend


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    os: OS
    devices: tuple[SystemDevice, ...]
    ram_bytes: int | None  # None: not given (placement assumes a size and says so)
    cpu: Device | None = None  # the CPU platform, when known (its memory bandwidth drives CPU offload)
    links: tuple[Link, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    nodes: tuple[Node, ...]
    network: tuple[Link, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # choices made resolving it (a bare chip's base configuration)

    @property
    def devices(self) -> tuple[SystemDevice, ...]:
        return tuple(d for n in self.nodes for d in n.devices)

    @property
    def accelerators(self) -> tuple[SystemDevice, ...]:
        return tuple(d for d in self.devices if d.device.kind != "cpu")

    @property
    def node(self) -> Node:
        """The node a one-machine plan runs on (a cluster's main host)."""
        return self.nodes[0]

    @property
    def is_cluster(self) -> bool:
        return len(self.nodes) > 1

    @property
    def network_link(self) -> Link | None:
        """The link joining a cluster's nodes (one kind for all of them)."""
        return self.network[0] if self.network else None

    @property
    def cpu_device(self) -> Device | None:
        return next((d.device for d in self.devices if d.device.kind == "cpu"), self.node.cpu)

    @property
    def ram_bytes(self) -> int | None:
        return self.node.ram_bytes

    @property
    def os(self) -> OS:
        return self.node.os

    def host_link_gb_s(self, device_name: str) -> float | None:
        """The PCIe rate between a device and its host (per direction), None when unknown."""
        return next((link.gb_s for n in self.nodes for link in n.links
                     if link.kind == LinkKind.PCIE and link.ends[0] == device_name), None)

    @property
    def nvlink(self) -> bool:
        """The node's GPUs are joined by NVLink."""
        return any(link.kind == LinkKind.NVLINK for link in self.node.links)


def default_backend(device: Device) -> Backend:
    """The backend an engine uses on ``device`` unless told otherwise (llama.cpp: CUDA, ROCm, Metal, SYCL; the
    first of the device's own list where the catalog gives one)."""
    if device.backends and device.kind != "cpu":
        return Backend(device.backends[0])
    return {"nvidia": Backend.CUDA, "amd": Backend.ROCM, "apple": Backend.METAL,
            "intel": Backend.SYCL}.get(device.vendor, Backend.CPU) if device.kind != "cpu" else Backend.CPU


def device_backends(device: Device) -> tuple[Backend, ...]:
    """The backends that can drive ``device`` (each vendor's own, Vulkan on any discrete or integrated GPU,
    and the CPU, which ignores the GPU)."""
    if device.kind == "cpu":
        return (Backend.CPU,)
    if device.backends:
        return (*(Backend(b) for b in device.backends), Backend.CPU)
    own = default_backend(device)
    if own == Backend.METAL:
        return (Backend.METAL, Backend.CPU)
    return tuple(dict.fromkeys((own, Backend.VULKAN, Backend.CPU)))


def pcie_link(device: Device, host_gen: int | None = None) -> Link:
    """A GPU's link to its host: its own PCIe generation and lanes, at the host platform's generation where that
    is older (a PCIe 5.0 card in a PCIe 4.0 board trains at 4.0: the link runs at the lower of the two ends)."""
    gen = min(device.pcie_gen, host_gen) if device.pcie_gen and host_gen else device.pcie_gen
    lanes = device.pcie_lanes or 16
    rate = PCIE_X16_GB_S.get(gen, 31.5) * lanes / 16 if gen else None
    return Link(kind=LinkKind.PCIE, ends=(device.name, "host"), gb_s=rate, pcie_gen=gen, lanes=lanes)


def gpu_host_gb_s(system: System | None, device: Device) -> float | None:
    """A GPU's PCIe rate to its host, per direction: the system's link (at the board's generation where the CPU is
    named), else the card's own; None where the generation is unknown."""
    return system.host_link_gb_s(device.name) if system is not None else pcie_link(device).gb_s


def _links(devices: Sequence[SystemDevice], cpu: Device | None = None) -> tuple[Link, ...]:
    host_gen = cpu.pcie_gen if cpu is not None else None
    out = [pcie_link(d.device, host_gen) for d in devices if not d.device.unified and d.device.kind == "gpu"]
    gpus = [d for d in devices if d.device.kind == "gpu"]
    if sum(d.count for d in gpus) > 1 and all(d.device.nvlink for d in gpus):
        out.append(Link(kind=LinkKind.NVLINK, ends=(gpus[0].device.name, gpus[-1].device.name), gb_s=None))
    return tuple(out)


def make_system(found: Sequence[tuple[Device, int]], *, os_name: str = "linux", ram_bytes: int | None = None,
                backend: Backend | None = None, name: str = "this plan", notes: Sequence[str] = (),
                display: bool = False) -> System:
    """One node from devices and counts: each device's usable memory under the OS (macOS for Apple silicon;
    ``display``: a desktop on the first GPU), the backend (``backend`` for every accelerator, else each
    device's usual one), PCIe and NVLink links.  A CPU platform among ``found`` is the node's CPU; with no
    accelerator its memory is the RAM."""
    os_ = OS.MACOS if any(d.kind == "apple" for d, _ in found) else OS(os_name)
    first_gpu = next((i for i, (d, _) in enumerate(found) if d.kind == "gpu"), None)
    devs = tuple(SystemDevice(device=d, count=n,
                              usable=usable_memory(d, os_name=os_, display=display and i == first_gpu),
                              backend=(backend if backend is not None and d.kind != "cpu" else default_backend(d)))
                 for i, (d, n) in enumerate(found))
    cpu = next((d for d, _ in found if d.kind == "cpu"), None)
    if ram_bytes is None and cpu is not None and not any(d.kind != "cpu" for d, _ in found):
        ram_bytes = cpu.memory_bytes
    return System(nodes=(Node(name=name, os=os_, devices=devs, ram_bytes=ram_bytes, cpu=cpu,
                              links=_links(devs, cpu)),), notes=tuple(notes))


def make_cluster(nodes: Sequence[System], *, link_name: str, gb_s: float, rtt_us: float, rdma: bool,
                 notes: Sequence[str] = ()) -> System:
    """Several one-node Systems joined by one kind of network link into a cluster (node 1 is the main host:
    llama.cpp's client, Ray's head, exo's first node).  A single node gives that node unchanged."""
    if len(nodes) == 1:
        return nodes[0]
    named = tuple(replace(n.node, name=f"node {i + 1}") for i, n in enumerate(nodes))
    network = tuple(Link(kind=LinkKind.NETWORK, ends=(a.name, b.name), gb_s=gb_s, name=link_name, rtt_us=rtt_us,
                         rdma=rdma) for a, b in pairwise(named))
    return System(nodes=named, network=network,
                  notes=tuple(dict.fromkeys([*(x for n in nodes for x in n.notes), *notes])))


def with_backends(system: System, backend_of: dict[str, Backend]) -> System:
    """The same system with each device (by name) driven by the given backend."""
    nodes = tuple(replace(n, devices=tuple(replace(d, backend=backend_of.get(d.device.name, d.backend))
                                           for d in n.devices)) for n in system.nodes)
    return replace(system, nodes=nodes)


def with_ram(system: System, ram_bytes: int | None) -> System:
    if ram_bytes is None:
        return system
    return replace(system, nodes=(replace(system.node, ram_bytes=ram_bytes), *system.nodes[1:]))


# below this much RAM per core a server CPU is not a machine of its own: a server board's least memory population
# (one DIMM per channel, 6-12 channels of 8-16 GB) holds 2 GiB or more per core, while cloud instances sell a VM
# 2-8 GiB per vCPU (AWS m5 / c5 / r5, GCP n2-standard, Azure Dv5), a small slice of the socket's cores
# (LocalScore's "Xeon Platinum 8259CL" runs with 15 GB decoded at an eighth of the 24-core socket's rate)
VM_SHARE_RAM_PER_CORE_BYTES = GIB


def vm_share_note(system: System, threads: int | None) -> System:
    """A plan whose CPU is a server part with less RAM than any server of it holds (VM_SHARE_RAM_PER_CORE_BYTES
    per core) and no thread count given: a note that it is likely a cloud VM's share of the socket, which the
    plan still runs on every core of."""
    node = system.node
    cpu = node.cpu
    if (threads is not None or cpu is None or cpu.form != Form.SERVER or not cpu.units or node.ram_bytes is None
            or node.ram_bytes >= cpu.units * VM_SHARE_RAM_PER_CORE_BYTES):
        return system
    note = (f"{cpu.units} cores with {node.ram_bytes / GIB:.1f} GiB of RAM: likely a cloud VM's share of the "
            f"socket (instances sell 2-8 GiB per vCPU); planned on all {cpu.units} cores: give the VM's thread "
            "count (its vCPUs) for its own share")
    return replace(system, notes=(*system.notes, note))


def with_headroom(system: System, headroom_bytes: int, rule: str) -> System:
    """The same system with ``headroom_bytes`` more kept free on every accelerator."""
    nodes = tuple(replace(n, devices=tuple(
        replace(d, usable=_usable_with_headroom(d.usable, headroom_bytes, rule)) if d.device.kind != "cpu" else d
        for d in n.devices)) for n in system.nodes)
    return replace(system, nodes=nodes)


def with_usable(system: System, usable: Sequence[UsableMemory]) -> System:
    """The same system with each device's usable memory replaced (detected free memory, Metal's limit)."""
    it = iter(usable)
    nodes = tuple(replace(n, devices=tuple(replace(d, usable=next(it)) for d in n.devices)) for n in system.nodes)
    return replace(system, nodes=nodes)


__all__ = ["OS", "Link", "LinkKind", "Node", "System", "SystemDevice", "default_backend", "device_backends",
           "make_cluster", "make_system", "pcie_link", "vm_share_note", "with_backends", "with_ram", "with_usable"]
