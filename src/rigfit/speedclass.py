"""Speed classes and their fitted constants: which class a device runs in (per backend and hardware class, not
per card), and the efficiencies ``benchmarks/fit_speed.py`` fitted for each (``data/speed_fit.toml``, loaded
and validated here).  ``speed`` prices the work with them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .hardware.rates import datacenter_silicon, has_matrix_units
from .hardware.spec import Device
from .vocab import SpeedClass

DECODE_KEYS = ("a_w", "a_kv", "t_layer")
PREFILL_KEYS = ("a_fq", "a_ff", "a_sc", "t_ub")
# weight-type families of the CPU's prompt kernels (speedwork.CPU_PROMPT_FAMILY: lo, q8, q4) and a GPU's
# (speedwork.GPU_PROMPT_FAMILY: mq), each with its own a_fq_<family>
PROMPT_FAMILIES = ("lo", "q8", "q4", "mq")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedParams:
    classes: dict[str, dict[str, float]]  # class -> {a_w: 1/e_w, a_kv, t_layer, a_fq, a_ff, a_sc, t_ub}
    globals_: dict[str, float]  # t_hop, row_*, t_allreduce_*
    bands: dict[str, dict[str, tuple[float, float]]]  # class -> tg|pp -> (q10, q90) of measured/predicted
    fitted: dict[str, bool]  # class -> fitted on data (False: prior)
    source: str
    batched_fitted: frozenset[str] = frozenset()  # classes whose a_bd was fitted on runs with several users
    prompt_prior: frozenset[str] = frozenset()  # fitted classes whose prompt constants are still priors


@functools.cache
def load_speed_params() -> SpeedParams:
    from .catalogdata import embedded

    raw = embedded("speed_fit")
    return parse_speed_params(raw)


def parse_speed_params(raw: dict[str, Any]) -> SpeedParams:
    from .errors import CatalogError

    classes, bands, fitted = {}, {}, {}
    batched: set[str] = set()
    prompt_prior: set[str] = set()
    records = raw.get("classes", {})
    for name, own in records.items():
        # class@2023-12: prefill only (decode shared with the May 2024 builds); other eras carry both.  An era
        # class holds what its rows set; a constant they could not (no 2024 row on a tensor-core chip ran ggml's
        # quantized matmuls: speedwork.DeviceWork.cublas_era_prompts) is the class's own
        keys = PREFILL_KEYS if name.endswith("@2023-12") else (*DECODE_KEYS, *PREFILL_KEYS)
        rec = dict(own)
        for parent in era_parents(name):
            rec = {k: v for k, v in records.get(parent, {}).items() if k in keys} | rec
        missing = [k for k in keys if not isinstance(rec.get(k), int | float)]
        if missing:
            raise CatalogError(f"speed_fit.toml: classes.{name}.{missing[0]}: expected a number")
        classes[name] = {k: float(rec[k]) for k in keys}
        if not name.endswith("@2023-12"):
            # decode's terms priced where the rows tell them apart, else 0 (speed.decode_terms): the unpacking of
            # quantized weights, attention's arithmetic (DECODE_ATTENTION_CLASSES), the cost per routed-expert
            # matmul (DECODE_EXPERT_CLASSES)
            for key in ("a_dq", "a_at", "t_x", "a_w4"):
                classes[name][key] = float(rec[key]) if isinstance(rec.get(key), int | float) else 0.0
            # batched decode's matmuls against the prefill rate (speed.batch_compute_s): fitted where runs
            # with several users exist, else 1 (a prior: batched decode runs the prompt's kernels)
            bd = rec.get("a_bd")
            classes[name]["a_bd"] = 1.0
            if isinstance(bd, int | float):
                classes[name]["a_bd"] = float(bd)
                batched.add(name)
        # the terms a current build's class prices apart (speed.prefill_terms): flash attention's FLOPs, a MoE's
        # routed experts' FLOPs and the matmuls' activation traffic; where not fitted (every class but the current
        # CUDA one, and their build eras), at the F16 and quantized matmuls' constants and 0
        # and each micro-batch's read of its weights (a_rd)
        # and the conversion of quantized weights to F16 for a cuBLAS GEMM (a_cv: 1, the full bandwidth; a prior)
        for key, default in (("a_fa", classes[name]["a_ff"]), ("a_fx", classes[name]["a_fq"]), ("a_ac", 0.0),
                             ("a_rd", 0.0), ("a_cv", 1.0)):
            classes[name][key] = float(rec[key]) if isinstance(rec.get(key), int | float) else default
        for key in ("a_ss", "a_xt"):  # a prompt's recurrent scan, its MoE experts' fixed cost (speed.prefill_terms)
            if isinstance(rec.get(key), int | float):
                classes[name][key] = float(rec[key])
            elif "@" not in name:
                classes[name][key] = 0.0  # not fitted: priced as the active FLOPs alone
        if isinstance(rec.get("a_x"), int | float):
            classes[name]["a_x"] = float(rec["a_x"])  # MoE micro-batch expert work (moe_ubatch_elements)
        for fam in PROMPT_FAMILIES:  # a weight-type family's prompt constant (speed.prefill_terms), else a_fq's
            key = f"a_fq_{fam}"
            classes[name][key] = float(rec[key]) if isinstance(rec.get(key), int | float) else classes[name]["a_fq"]
        bands[name] = {m: (float(rec.get(f"{m}_q10", 0.7)), float(rec.get(f"{m}_q90", 1.3))) for m in ("tg", "pp")}
        fitted[name] = bool(rec.get("fitted", False))
        if rec.get("pp_prior") is True:
            prompt_prior.add(name)
    return SpeedParams(classes=classes, globals_={k: float(v) for k, v in raw.get("globals", {}).items()},
                       bands=bands, fitted=fitted, source=str(raw.get("source", "")),
                       batched_fitted=frozenset(batched), prompt_prior=frozenset(prompt_prior))


# NVIDIA SoC GPUs on a bus shared with the rest of the chip that the cards' class prices too fast (Jetson Orin's
# GA10B): the "cuda-orin" class
SHARED_BUS_CHIPS = ("GA10B",)


def hardware_class(device: Device | None, backend: str) -> str:
    """Fitted per backend and hardware class, not per card."""
    if device is None or device.kind == "cpu" or backend == "cpu":
        return "cpu"  # llama.cpp's CPU backend, also on a machine whose iGPU shares the RAM
    if device.vendor == "apple":
        # an Ultra is two Max dies joined by UltraFusion: its decode reaches a different share of its bandwidth
        # (fitted on the M1/M2 Ultra rows of throughput_llamacpp.csv); base, Pro and Max chips share a class,
        # apart from the chips whose GPU cores carry matrix units (the M5 generation's Neural Accelerators:
        # a matmul peak above the ALUs' FP32 rate), which only some kernels reach
        if device.arch.split()[-1:] == ["Ultra"]:
            return "metal-ultra"
        return "metal-na" if apple_matrix_units(device) else "metal"
    if device.vendor == "nvidia" and backend == "vulkan":
        # llama.cpp's Vulkan backend runs its own shaders (ggml-vulkan), not the CUDA kernels the cuda classes
        # were fitted on; no Vulkan-on-NVIDIA runs in the calibration files: the Vulkan prior, and it says so
        return "vulkan"
    if device.vendor == "nvidia" and device.unified and device.chip in SHARED_BUS_CHIPS:
        # Jetson Orin's Ampere iGPU shares the SoC's LPDDR5 bus with its CPU cores and accelerators: its decode
        # reaches a smaller share of the listed bandwidth than a card's GDDR does, and a slower host CPU drives
        # its kernels; fitted as a class of its own on cited runs (benchmarks/data/jetson_orin.csv).  GB10 (DGX
        # Spark) decodes at the cards' class (benchmarks/data/cuda_current.csv)
        return "cuda-orin"
    if device.vendor == "nvidia":
        # the class follows the silicon: L4/L40/A40/T4 share the GeForce/RTX dies; A100/H100/B200 are HBM
        # compute dies.  A user's card without a chip name falls back to its form.
        if device.chip and not has_matrix_units(device.vendor, device.chip):
            return "cuda-legacy"  # Pascal / Maxwell: DP4A and FP32 kernels, no tensor cores
        dc = datacenter_silicon(device.vendor, device.chip) if device.chip else device.form == "datacenter"
        return "cuda-datacenter" if dc else "cuda"
    if device.vendor == "amd":
        # Strix Halo class APUs (unified LPDDR5X, RDNA 3.5 iGPU) reach other shares of their bandwidth and
        # compute than discrete Radeons: their own classes, fitted on Strix Halo runs (benchmarks/data)
        base = "rocm" if backend != "vulkan" else "vulkan"
        return f"{base}-apu" if device.unified else base
    if device.vendor == "intel":
        # SYCL (oneAPI) is Intel's own backend; Vulkan runs ggml-vulkan's shaders as on any other card
        return "vulkan" if backend == "vulkan" else "sycl"
    return "vulkan"


# the classes fitted on Apple GPUs with matrix units (benchmarks/data/apple_matrix.csv); another engine's class
# on such a chip is its family's ("ollama-metal-na" -> "ollama-metal"): no runs tell them apart
MATRIX_CLASSES = ("metal-na", "mlx-metal-na")


def apple_matrix_units(device: Device) -> bool:
    """An Apple GPU whose matmul peak exceeds its ALUs' FP32 rate (data/apple.toml: the M5 generation's GPU
    Neural Accelerators, 4x the FP16 FLOPs per core per clock of M1-M4, whose fp16 equals their fp32)."""
    fp32 = device.fp32_tflops
    return bool(device.vendor == "apple" and fp32 and device.fp16_tflops and device.fp16_tflops > 1.5 * fp32)


def family_class(cls: str) -> str:
    """``cls`` where it was fitted, else the class of its family on chips without matrix units."""
    return cls if cls in MATRIX_CLASSES else cls.removesuffix("-na")


def stand_in(cls: str) -> str:
    """The llama.cpp class whose constants stand in for another engine's unfitted class ("mlx-metal" ->
    "metal")."""
    for sc in SpeedClass:
        if sc != SpeedClass.LLAMA_CPP and cls.startswith(f"{sc}-"):
            return cls[len(sc) + 1:]
    return cls


# engines whose GPU kernels are their own, not ggml's: on a tier of the same backend that their runs do not reach
# (vLLM on an H100: "vllm-cuda-datacenter") their own constants for that backend stand in before llama.cpp's for
# the tier, since the per-layer cost and the GEMMs' efficiency are the engine's (llama.cpp's datacenter class holds
# its May 2024 builds' 124 us per layer; vLLM's CUDA graphs on an RTX 5090 cost 47)
OWN_KERNEL_CLASSES = (SpeedClass.VLLM, SpeedClass.TRANSFORMERS, SpeedClass.EXLLAMAV2)


def stand_in_class(p: SpeedParams, cls: str) -> str:
    """The class whose constants price ``cls`` where ``cls`` has none of its own (class_params' order)."""
    base = cls.partition("@")[0]
    if base in p.classes:
        return base
    lower = base.removesuffix("-ultra") if base.startswith(f"{SpeedClass.LLAMAFILE}-") else base
    if any(base.startswith(f"{sc}-") for sc in OWN_KERNEL_CLASSES):
        lower = base.removesuffix("-datacenter")
    return next((c for c in (family_class(base), lower, stand_in(base)) if c in p.classes), "cuda")


def era_parents(cls: str) -> list[str]:
    """The classes an older build era's class (``cls@era``) takes what it does not hold from, nearest first: a Dec
    2023 class its May 2024 one, then the class itself; none for a current class."""
    base, _, era = cls.partition("@")
    return (([f"{base}@2024-05"] if era == "2023-12" else []) + [base]) if era else []


def class_params(p: SpeedParams, cls: str) -> dict[str, float]:
    """A class's constants; for an older build era (``cls@era``) the era's own over the class's.  The Dec 2023
    builds' classes hold prefill only: their decode is the May 2024 builds' where that era has its own."""
    base = cls.partition("@")[0]
    if base not in p.classes:
        # llamafile on an Ultra: its own constants for the tier below before llama.cpp's for the tier (its older
        # kernels cost about 250 us per layer on the M1 Max / M3 Max / M4 Pro where current llama.cpp builds on an Ultra
        # cost 146; LocalScore's M2 Ultra decode rows then come within 4 %, +30 % with llama.cpp's).  MLX and
        # Ollama keep llama.cpp's Ultra constants (the exo anchors of four M3 Ultras, tests/test_cluster.py)
        return p.classes[stand_in_class(p, base)]
    out = p.classes[base]
    for name in [*reversed(era_parents(cls)[:-1]), cls] if cls != base else []:  # the farthest first, then its own
        if name in p.classes:
            out = out | p.classes[name]
    return out


def hop_key(build: str) -> str:
    """The global constant of one hand-off between devices (layer split, or the CPU's layers and a GPU's) for a
    llama.cpp build era: current builds have their own; the 2023 and 2024 builds share the May 2024 fit's."""
    return "t_hop" if build == "current" else "t_hop@2024-05"


def value(params: SpeedParams, key: str) -> float:
    cls, _, name = key.partition(":")
    if cls == "global":
        # an era's constant where the file has one, else the current builds'
        return params.globals_.get(name, params.globals_.get(name.split("@", maxsplit=1)[0], 0.0))
    return class_params(params, cls)[name]


def era_class(cls: str, build: str) -> str:
    """The constants' class for a llama.cpp build era: ``cls@build`` for an older build (its own constants
    where they were fitted, else the class's), the class itself for current builds and for the CPU."""
    return cls if build == "current" or cls == "cpu" or cls.endswith("-cpu") else f"{cls}@{build}"
