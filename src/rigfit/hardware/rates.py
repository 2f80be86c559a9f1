"""Matrix rates per compute unit and clock, per GPU architecture: what a catalog entry's dense tensor rates
must equal (units x boost clock x rate), and which silicon class a chip belongs to.

A "unit" is an NVIDIA SM, an AMD CU or an Intel Xe core.  Rates are dense (no sparsity) operations per unit
per clock; FP16 is FP16/BF16 inputs with FP32 accumulate at the full rate.  GeForce parts run FP32 accumulate
at half that rate (``geforce_half``); their INT8 runs at the full rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..vocab import CpuIsa, Vendor


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRate:
    fp16_ops: int  # dense FP16 ops (2 per FMA) per unit per clock, FP32 accumulate, full rate
    int8_ops: int | None  # dense INT8 tensor ops per unit per clock (None: no INT8 matrix unit)
    geforce_half: bool  # consumer parts of this architecture halve FP16 with FP32 accumulate
    source: str


_TURING = "NVIDIA Turing architecture whitepaper (2018), Table 1 and Appendix A: 8 tensor cores x 64 FP16 FMA per SM"
_GA10X = "NVIDIA Ampere GA102 whitepaper (2020): 4 third-gen tensor cores x 128 dense FP16 FMA per SM"
_ADA = "NVIDIA Ada Lovelace architecture whitepaper v1.0 (2022), Appendix A (RTX 4090 / RTX 6000 Ada)"
_GB20X = "NVIDIA RTX Blackwell GPU architecture whitepaper v1.0 (2025), Appendix A (RTX 5090 / RTX PRO 6000)"
_RDNA3 = "AMD RDNA 3 ISA guide (2023), WMMA: 512 dense FP16 ops per CU per clock (7900 XTX 123 TFLOPS at 2.5 GHz)"

# keyed by (vendor, chip family); the chip family is the die name without its last digits (AD102 -> AD10)
RATES: dict[tuple[Vendor, str], UnitRate] = {
    (Vendor.NVIDIA, "GV100"): UnitRate(fp16_ops=1024, int8_ops=None, geforce_half=False,
                                      source="NVIDIA Tesla V100 whitepaper (2017): 8 tensor cores x 64 FMA per SM"),
    (Vendor.NVIDIA, "TU10"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=True, source=_TURING),
    (Vendor.NVIDIA, "TU11"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=True, source=_TURING),
    (Vendor.NVIDIA, "GA10"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=True, source=_GA10X),
    (Vendor.NVIDIA, "GA100"): UnitRate(fp16_ops=2048, int8_ops=4096, geforce_half=False,
                                       source="NVIDIA A100 Tensor Core GPU architecture whitepaper (2020), Table 3"),
    (Vendor.NVIDIA, "AD10"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=True, source=_ADA),
    (Vendor.NVIDIA, "GH100"): UnitRate(fp16_ops=4096, int8_ops=8192, geforce_half=False,
                                       source="NVIDIA H100 Tensor Core GPU architecture whitepaper (2022), Table 2"),
    (Vendor.NVIDIA, "GB20"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=True, source=_GB20X),
    (Vendor.AMD, "Navi3"): UnitRate(fp16_ops=512, int8_ops=512, geforce_half=False, source=_RDNA3),
    (Vendor.AMD, "Navi4"): UnitRate(fp16_ops=1024, int8_ops=2048, geforce_half=False,
                                    source="AMD RDNA 4 architecture (2025): WMMA twice RDNA 3's FP16, INT8 2x FP16 "
                                           "(RX 9070 XT 195 dense FP16 TFLOPS at 2.97 GHz, 64 CUs)"),
    (Vendor.AMD, "Aqua Vanjaram"): UnitRate(fp16_ops=2048, int8_ops=4096, geforce_half=False,
                                            source="AMD CDNA 3 whitepaper (2023): MI300X 1307 dense FP16 TFLOPS, "
                                                   "304 CUs at 2.1 GHz"),
    (Vendor.AMD, "Aldebaran"): UnitRate(fp16_ops=1024, int8_ops=1024, geforce_half=False,
                                        source="AMD CDNA 2 whitepaper (2021): MI250X 383 FP16 TFLOPS, 220 CUs at "
                                               "1.7 GHz"),
    (Vendor.INTEL, "BMG"): UnitRate(fp16_ops=2048, int8_ops=4096, geforce_half=False,
                                    source="Intel Arc B-series (Xe2) launch material (2024): 8 XMX engines x 256 "
                                           "FP16 ops per Xe core per clock (B580 233 INT8 TOPS)"),
    (Vendor.INTEL, "DG2"): UnitRate(fp16_ops=2048, int8_ops=4096, geforce_half=False,
                                    source="Intel Xe-HPG (Alchemist) architecture (2022): 16 XMX engines x 128 FP16 "
                                           "ops per Xe core per clock"),
}


def chip_family(chip: str) -> str:
    """The die family a chip belongs to: 'AD102' -> 'AD10', 'GA100' -> 'GA100', 'Navi 31' -> 'Navi3'."""
    c = chip.strip()
    if re.fullmatch(r"G[A-Z]\d00", c):  # NVIDIA's x100 dies are their own family (HBM, compute SMs)
        return c
    if m := re.fullmatch(r"([A-Z]{2}\d{2})\d[A-Z]?", c):  # AD102 -> AD10, GB203 -> GB20, TU116 -> TU11
        return m.group(1)
    if m := re.fullmatch(r"Navi\s*(\d)\d", c):
        return f"Navi{m.group(1)}"
    if m := re.fullmatch(r"(BMG|DG2)-.*", c):
        return m.group(1)
    return c


def unit_rate(vendor: Vendor, chip: str) -> UnitRate | None:
    if mma_without_tensor_cores(vendor, chip):
        return None  # Turing without tensor cores (GTX 16 series): no matrix rate to derive
    return RATES.get((vendor, chip_family(chip)))


def geforce_halves_fp32_accumulate(vendor: Vendor | str, chip: str, name: str) -> bool:
    """A GeForce card, whose architecture runs FP16 (and FP8) matmuls with FP32 accumulation at half the rate of
    FP16 accumulation (``geforce_half``; the catalog lists FP16 at FP32 accumulation, FP8 at FP16 accumulation).
    The product line is in the name: GeForce and RTX workstation boards share the dies."""
    v = Vendor.of(vendor)
    rate = unit_rate(v, chip) if chip else None
    return v == Vendor.NVIDIA and "geforce" in name.lower() and (rate is None or rate.geforce_half)


def has_matrix_units(vendor: Vendor, chip: str) -> bool:
    """NVIDIA chips from Volta on have tensor cores; Pascal (GP1xx), Maxwell (GM2xx) and the GTX 16 series'
    Turing dies (TU116, TU117) do not."""
    pre_volta = vendor == Vendor.NVIDIA and re.match(r"G[PMK]\d", chip.strip()) is not None
    return not (pre_volta or mma_without_tensor_cores(vendor, chip))


def mma_without_tensor_cores(vendor: Vendor, chip: str) -> bool:
    """The GTX 16 series' Turing dies (TU116, TU117): no tensor cores, yet compute capability 7.5, so ggml's MMQ
    takes its Turing path of int8 MMA instructions (ggml-cuda/common.cuh turing_mma_available: cc >= 7.5), which
    these dies execute on their FP16 units: their quantized prompts run at the FP16 rate, not the DP4A integer
    rate the Pascal cards' MMQ uses.  Measured: LocalScore's llamafile prompts on a GTX 1660, 1660 Ti and 1650 Ti
    (throughput_modern.csv) ran 2.7-2.8x below the DP4A rate at the constants that fit a GTX 1070 and 1050 Ti
    within 15 %."""
    return vendor == Vendor.NVIDIA and re.match(r"TU11[67]", chip.strip()) is not None


def fp16_tensor_only(vendor: Vendor, chip: str) -> bool:
    """Matrix units for FP16 but not INT8 (NVIDIA Volta): llama.cpp runs quantized prompt batches of 64+ tokens
    through dequantization to FP16 and cuBLAS there, not through its INT8 kernels (ggml-cuda/mmq.cu,
    ``ggml_cuda_should_use_mmq``: ``!fp16_mma_hardware_available(cc) || ne11 < MMQ_DP4A_MAX_BATCH_SIZE``)."""
    r = unit_rate(vendor, chip) if chip else None
    return r is not None and r.int8_ops is None


# The share of a chip's INT8 tensor peak that llama.cpp's current MMQ kernels see, against the Ampere-and-later
# cards the CUDA prompt constants were fitted on.  Turing has no m16n8k16 INT8 MMA (ggml-cuda/mma.cuh issues two
# m8n8k16 instructions for each tile) and no asynchronous copies to shared memory (cp.async is sm_80+): an RTX
# 2080 Ti prefills llama-2-13B Q4_K_M at 1,494 tok/s (pp512, flash attention, build 7474,
# github.com/geerlingguy/ai-benchmarks issue 46), 0.42 x what its INT8 peak gives at the Ampere-Ada constants
# (re-derived from that run whenever the CUDA prompt constants are refitted).
TURING_MMQ_SHARE = 0.42


def mmq_int8_share(vendor: Vendor, chip: str) -> float:
    """How much of the INT8 tensor peak llama.cpp's MMQ reaches on this chip relative to Ampere and later: 0.5
    on Turing (TURING_MMQ_SHARE), 1 elsewhere and for an unknown chip."""
    family = chip_family(chip) if chip else ""
    return TURING_MMQ_SHARE if vendor == Vendor.NVIDIA and family in ("TU10", "TU11") else 1.0


# Watts an SM draws per GHz of its clock running tensor-core GEMMs, per die family: a board whose power limit is
# below SMs x boost clock x this cannot hold its boost clock through a prompt's matmuls and runs them at the share
# of its listed tensor rate that its TDP allows.  Ada (AD10x): 1.3, fitted in-sample on the May 2024 calibration
# prompts (benchmarks/fit_speed.py --power-grid; 2023-2024 prompts 10.5 -> 8.7 % in-sample, 19.6 -> 14.5 % held
# out by device): the RTX 6000 Ada (300 W for 142 SMs at 2.5 GHz: 0.65) and the L40S (350 W: 0.75) prefilled at
# 0.71-0.85x an RTX 4090's rate (450 W for 128 SMs: no limit) where their listed tensor rates are 1.1x it (the
# rows' author found the RTX 6000 Ada below the 4090 too: XiongjieDai/GPU-Benchmarks-on-LLM-Inference issue #2;
# power-cap sweeps show the SM clock falling with the cap, e.g. an RTX 3090 at 1.40-1.47 GHz under 210-220 W:
# noonghunna/club-3090 issue #103).  Other families: no evidence in the rows (the Ampere workstation cards prefill
# no slower than the GeForce ones), no limit.
TENSOR_W_PER_SM_GHZ = {"AD10": 1.3}


def power_limited_share(vendor: Vendor | str, chip: str | None, units: int | None, boost_mhz: int | None,
                        tdp_w: int | None) -> float:
    """The share of its listed tensor rate a board sustains through compute-bound matmuls under its power limit
    (TENSOR_W_PER_SM_GHZ); 1 where the family has no figure or the board's facts are missing."""
    w = TENSOR_W_PER_SM_GHZ.get(chip_family(chip)) if chip and Vendor.of(vendor) == Vendor.NVIDIA else None
    if not (w and units and boost_mhz and tdp_w):
        return 1.0
    return min(1.0, tdp_w / (w * units * boost_mhz / 1000.0))


def datacenter_silicon(vendor: Vendor, chip: str) -> bool:
    """HBM compute dies (NVIDIA GP100/GV100/GA100/GH100/GB100/GB110, AMD CDNA) as opposed to the graphics dies
    that GeForce, RTX workstation and L4/L40/A40/T4 boards share: the speed model fits them as separate classes
    because their per-layer overheads and kernel efficiencies differ (llama.cpp on A100/H100 vs 3090/4090)."""
    if vendor == Vendor.NVIDIA:
        return bool(re.fullmatch(r"G[A-Z]\d[01]0", chip.strip()))
    return vendor == Vendor.AMD and chip.strip() in ("Aqua Vanjaram", "Aldebaran", "Arcturus", "Vega 20")


def amd_mfma_chip(chip: str) -> bool:
    """AMD CDNA dies (Instinct MI100 and later), whose matrix cores ROCm reaches through MFMA instructions."""
    return chip.strip() in ("Arcturus", "Aldebaran", "Aqua Vanjaram", "Galaxy")


def amd_wmma_chip(chip: str) -> bool:
    """AMD RDNA 3, 3.5 and 4 dies, which have WMMA matrix instructions (AMD RDNA 3 ISA guide, 2023; RDNA 4, 2025):
    Navi 3x / 4x, or the LLVM targets gfx11xx / gfx12xx that ROCm prints for the integrated ones."""
    return chip_family(chip) in ("Navi3", "Navi4") or re.fullmatch(r"gfx1[12]\d\d", chip.strip()) is not None


def apple_serial_dequant(vendor: Vendor, arch: str) -> bool:
    """Apple GPUs of the M1 and M2 generations issue integer and floating-point instructions one stream at a
    time, so unpacking quantized weights in a decode GEMV adds to the memory stream instead of hiding behind
    it; from M3 on (Apple family 9) the shader core's ALU pipelines run FP32, FP16 and integer work in parallel
    (Apple tech talk "Explore GPU advancements in M3 and A17 Pro", 2023; summarized at appleinsider.com/
    articles/23/11/10/what-apples-three-gpu-enhancements-in-a17-pro-and-m3-actually-do).  Measured: an M1 Max
    32-core decodes Llama 3 8B F16 at 18.75 tok/s and Q4_K_M at 35.73 (1.9x for 3.3x fewer bytes), an M3 Max
    40-core on the same 400 GB/s 48.97 at Q4_K_M (XiongjieDai/GPU-Benchmarks-on-LLM-Inference @aa72e0e);
    llama.cpp on an M4 Pro 16-core reaches the full-bandwidth rate at Q4_K_M (throughput_modern.csv, 29
    llmfit community whole-request runs)."""
    m = re.match(r"M(\d+)\b", arch.strip())
    return vendor == Vendor.APPLE and m is not None and int(m.group(1)) <= 2


# The share of an M3-or-later GPU's prompt rate (per listed FLOP) an M1 or M2 GPU's prompt matmuls reached in llama.cpp
# builds of May 2024 and before (apple_serial_dequant: one instruction stream at a time, so the kernels' integer and
# conversion work added to their arithmetic).  The May 2024 rows: an M3 Max 40-core prefilled Llama 3 8B at 1.49x (F16)
# and 1.70x (Q4_K_M) an M1 Max 32-core's rate, 70B Q4_K_M at 2.0x, where the listed rates are 1.37x apart
# (XiongjieDai/GPU-Benchmarks-on-LLM-Inference @aa72e0e).  Fitted in-sample on the May 2024 Metal prompt rows
# (benchmarks/fit_speed.py apple_serial_prompt_grid).  Priced as the newer chips' gain in those builds
# (speedwork.DeviceWork.old_prompt_share), their constants fitted on M1 / M2 rates; current builds' M1 Max prompts
# (throughput_modern.csv) show no such gap, so current builds have no share
APPLE_SERIAL_PROMPT_SHARE = 0.7


def vulkan_reaches_matrix_units(vendor: Vendor) -> bool:
    """Whether llama.cpp's Vulkan prompt shaders reach the card's matrix units: AMD RDNA 3 / 4 through
    VK_KHR_cooperative_matrix, NVIDIA through its cooperative-matrix extensions and integer dot products; not
    Intel Arc's XMX in the published runs (benchmarks/data/vulkan_discrete.csv: an Arc A770 prefilled Llama 2 7B
    Q4_0 at 0.11 of its XMX peak priced as a Radeon's WMMA, a B580 at 0.06-0.21, where an RX 9070 XT met it), whose
    prompts then run on the shader ALUs at the FP32 rate."""
    return vendor != Vendor.INTEL


def alu_prompt_tflops(vendor: Vendor, chip: str, fp32_tflops: float) -> float:
    """The rate a GPU's shader ALUs run quantized prompt matmuls at, where an engine's kernels do not reach its
    matrix units: the FP32 rate the catalog lists, halved on AMD RDNA 3 and 4, whose listed FP32 rate counts
    dual-issued instructions (VOPD, AMD "RDNA 3" instruction set architecture reference guide, 2023) that the
    integer dot products of ggml's MMQ kernels do not pair into.  Measured: LocalScore's llamafile 0.9 prompts on
    an RX 7600 XT / 7800 XT / 7900 XT (throughput_modern.csv) beside the RDNA 2 cards' (their listed packed-FP16
    rate): at the listed FP32 rate the RX 7800 XT stayed 62 % too fast, at half of it -3 % (RX 7600 XT +25 %, one
    RX 7900 XT row -41 %)."""
    if vendor == Vendor.AMD and chip_family(chip) in ("Navi3", "Navi4"):
        return fp32_tflops / 2
    return fp32_tflops


# A CPU core's quantized dot products by its widest integer SIMD, relative to AVX2: ggml-cpu's Q4/Q8 x Q8 kernels
# multiply int8 lanes (ggml-cpu/arch/x86/quants.c: SSSE3 _mm_maddubs_epi16 on 128-bit registers under AVX,
# _mm256_maddubs_epi16 under AVX2, 512-bit forms under AVX-512), so the lanes per instruction are 16, 32 and 64
# (Intel 64 and IA-32 Architectures Software Developer's Manual vol. 1, ch. 14-15: AVX keeps integer SIMD at
# 128 bits, AVX2 widens it to 256, AVX-512 to 512).  Zen 4 runs 512-bit work as two 256-bit halves; the
# width is kept as nominal (the LocalScore CPU rows fit no better with a per-ISA constant, fit_speed.py).
CPU_SIMD_WIDTH = {CpuIsa.AVX: 0.5, CpuIsa.AVX2: 1.0, CpuIsa.AVX512: 2.0,
                  # Arm, in the same int8 products per instruction (Arm A-profile architecture reference manual):
                  # NEON's widening SMLAL multiplies 8 lanes, SDOT 16 (4 x 4-way dot products in 128 bits), SMMLA 32
                  # (a 2 x 8 by 8 x 2 int8 block); ggml-cpu's Arm kernels use the widest the core has
                  # (ggml-cpu/arch/arm/quants.c, repack.cpp)
                  CpuIsa.NEON: 0.25, CpuIsa.DOTPROD: 0.5, CpuIsa.I8MM: 1.0}
# Intel cores with AVX-512 gain no integer lanes per clock over AVX2: 512-bit integer work issues on ports 0 and 1
# fused (client Ice / Tiger / Rocket Lake and one-FMA Xeons; Intel 64 and IA-32 Architectures Optimization
# Reference Manual, "Intel AVX-512" execution ports), and two-FMA Xeons drop to their AVX-512 clocks.
# Measured: LocalScore's prompt rates on Intel AVX-512 CPUs (Tiger Lake laptops, Skylake-SP / Cascade Lake
# Xeons, Rocket Lake, Skylake-W) ran 1.6-4x below the 2x width, where Zen 4 / Zen 5 (AVX-512 with VNNI) met it;
# at AVX2's width the llamafile CPU prompt rows' median error is 24.9 % against 31.4 %.
INTEL_AVX512_WIDTH = 1.0
# TFLOPS per core per unit of width: scaled so an 8-core AVX-512 CPU (the Ryzen 7 7840HS the llama.cpp cpu
# class is fitted on) is the 1.0 TFLOPS every CPU was priced at before cores and widths were known
CPU_TFLOPS_PER_CORE_WIDTH = 1 / 16


def cpu_prompt_tflops(cores: int | None, isa: str, vendor: Vendor | None = None) -> float | None:
    """A CPU's quantized matmul rate, cores x SIMD width (nominal, the cpu class's constants carry the
    efficiency; an Intel AVX-512 core at AVX2's width, INTEL_AVX512_WIDTH), or None where the catalog gives
    neither."""
    if not cores or isa not in CPU_SIMD_WIDTH:
        return None
    width = CPU_SIMD_WIDTH[CpuIsa(isa)]
    if vendor == Vendor.INTEL and CpuIsa(isa) == CpuIsa.AVX512:
        width = INTEL_AVX512_WIDTH
    return cores * width * CPU_TFLOPS_PER_CORE_WIDTH


# The RAM bandwidth one x86 core draws while it streams weights: Little's law, the line fills a core keeps in flight
# x 64 bytes / DRAM latency (10-12 L1D fill buffers on Skylake-era cores, 16 on Golden Cove and Zen 4; 70-110 ns;
# Intel 64 and IA-32 Architectures Optimization Reference Manual, "Fill buffers"), raised by the L2 streamer's
# prefetches to some 10-15 GB/s.  A CPU with few cores cannot draw its platform's channels x speed: on LocalScore's
# llamafile CPU decode rows (throughput_modern.csv) 2-core laptops decoded at 17-23 GB/s on 26-77 GB/s platforms,
# the Core Ultra 7 155H's 6 P-cores at 47 of 120, Xeon Silver 4110 / 4210R (8 / 10 cores) at 61-68 of 128.  A scan
# of 8-20 GB/s per core put those rows' least median error at 11-12; with 12 and the classes refitted, the llamafile
# CPU decode rows' median error went 17.7 -> 17.2 % (p90 174 -> 106 %), llama.cpp's CPU rows' p90 40 -> 10 %.
CPU_CORE_STREAM_GB_S = 12.0
X86_ISAS = (CpuIsa.AVX, CpuIsa.AVX2, CpuIsa.AVX512)


def busy_cores(cores: int | None, threads: int | None) -> int | None:
    """The cores an engine keeps busy: one per thread up to the CPU's cores (llama.cpp -t; SMT threads beyond
    the physical cores add no SIMD units or fill buffers), all of them by default (None)."""
    if threads is None:
        return cores
    return min(cores, threads) if cores else threads


def cpu_stream_gb_s(platform_gb_s: float, cores: int | None, isa: str, threads: int | None = None) -> float:
    """The RAM bandwidth a CPU's busy cores draw (all ``cores``, or one per engine thread up to them: llama.cpp
    -t): an x86 CPU's platform bandwidth, at most busy cores x CPU_CORE_STREAM_GB_S.  Arm cores keep the
    platform's, or the busy cores' share of it where the threads are fewer than the cores (one per-core figure
    does not span a Cortex-A72 and an Oryon); so does a CPU whose ISA the catalog does not give."""
    busy = busy_cores(cores, threads)
    if busy and isa in X86_ISAS:
        return min(platform_gb_s, busy * CPU_CORE_STREAM_GB_S)
    if cores and busy and busy < cores:
        return platform_gb_s * busy / cores
    return platform_gb_s
