"""Device: one accelerator, Mac chip configuration, unified-memory PC or CPU platform, as a frozen value."""

from __future__ import annotations

from dataclasses import dataclass

from ..vocab import DeviceKind, Form, Vendor


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    name: str
    kind: DeviceKind
    vendor: Vendor
    form: Form
    memory_bytes: int
    bandwidth_gb_s: float | None  # None: unknown (speed cannot be predicted)
    fp16_tflops: float | None = None  # dense FP16/BF16 tensor rate
    int8_tops: float | None = None
    fp8_tflops: float | None = None
    fp32_tflops: float | None = None
    tdp_w: int | None = None
    pcie_gen: int | None = None
    pcie_lanes: int | None = None
    nvlink: bool = False
    unified: bool = False  # memory shared with the CPU (Apple, Strix Halo, DGX Spark, Jetson)
    # the GPU backends that drive it where its vendor's own does not (ROCm has dropped Polaris and does not list
    # RDNA 1): the first is its default; () for every backend of its vendor
    backends: tuple[str, ...] = ()
    arch: str = ""
    chip: str = ""  # die name (AD102, GB202, Navi 31): decides the speed class and the per-unit tensor rate
    units: int | None = None  # SMs (NVIDIA), CUs (AMD), Xe cores (Intel); a CPU's cores
    isa: str = ""  # a CPU's widest integer SIMD (vocab.CpuIsa); "" where unknown
    boost_mhz: int | None = None  # the clock the tensor rates are quoted at
    memory_type: str = ""
    released: str = ""
    msrp_usd: float | None = None
    msrp_date: str = ""
    used_usd: float | None = None
    used_date: str = ""
    used_source: str = ""
    street_usd: float | None = None  # what it sells for new, dated (msrp_usd is the launch price)
    street_date: str = ""
    street_source: str = ""
    base_config: bool = False  # the configuration a bare chip name plans on (unified systems sold in sizes)
    gpu_memory_max_bytes: int | None = None  # unified systems: most the GPU can be given
    aliases: tuple[str, ...] = ()
    source: str = ""
    as_of: str = ""
    notes: str = ""
