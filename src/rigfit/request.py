"""FitRequest: the one validated request value.  The CLI, the web app, the advisor, the guide and the
benchmarks all build one (``make_request`` from typed values, ``options.request_from_options`` from what a
user types) and hand it to ``api.fit``, the one pipeline entry.

Validation happens here, once, before any estimate: names resolve (model, engine, hardware), numbers are in
range, and every option is one the engine honours on this hardware.  An option the engine cannot honour is an
error naming it, never silently dropped:

* each device must be drivable by the engine (vLLM, exllamav2 and transformers have no Metal backend; MLX runs
  on Apple silicon only), and the accelerators of one plan need one backend (NVIDIA + AMD: Vulkan);
* tensor/pipeline parallelism only where the engine shards layers (vLLM), a GPU-layer count only where the
  engine takes one and not on unified memory (rigfit plans those by the OS's GPU limit), a tensor split or
  row split only with two or more GPUs and an engine that takes one;
* engine settings (flash attention, batch sizes, vLLM's memory fraction, ...) only for engines that have them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from .calibration import Calibration
from .cost import DEFAULT_KWH_PRICE_USD, check_kwh_price
from .engines import Engine, engine_for, get_engine, typed_name
from .errors import InvalidInput
from .hardware.links import LinkSpec
from .models.spec import ModelSpec
from .system import (
    OS,
    System,
    default_backend,
    device_backends,
    make_cluster,
    make_system,
    vm_share_note,
    with_backends,
    with_headroom,
    with_ram,
)
from .vocab import Backend, ClusterMode, PlacementStyle

MAX_TOKENS = 1 << 24
MAX_RAM_BYTES = 64 << 40
MAX_HEADROOM_BYTES = 64 << 30
MAX_THREADS = 1024
# the prompt and answer a plan's speed is timed over when none are given (shortened to what an asked-for context holds)
DEFAULT_PROMPT_TOKENS = 512
DEFAULT_GEN_TOKENS = 128


class Search(StrEnum):
    """What ``api.fit`` solves for besides the plan itself."""

    NONE = "none"  # the plan for exactly this quant and context
    BEST_QUANT = "best_quant"  # the highest-quality quant with the best verdict reachable
    MAX_CONTEXT = "max_context"  # the largest context that keeps the best verdict
    MAX_USERS = "max_users"  # the most parallel sequences (users) at this context that keep the best verdict


class SplitMode(StrEnum):
    LAYER = "layer"
    ROW = "row"


# Engine settings a request may carry, with the engine capability each needs and how messages name it.
_ENGINE_SETTINGS: tuple[tuple[str, str], ...] = (
    ("flash_attention", "flash attention"), ("n_batch", "the batch size"), ("n_ubatch", "the micro-batch size"),
    ("gpu_memory_bytes", "the GPU memory size its KV pool is sized from"),
    ("gpu_memory_utilization", "the GPU memory fraction"), ("swa_full", "a full-size sliding-window cache"),
    ("logits_all", "logits for a whole micro-batch"), ("mmproj", "a separate vision projector file"),
    ("op_offload", "op offload (prompt matmuls of weights kept in RAM run on the GPU)"),
    ("n_cpu_moe", "a count of layers whose MoE experts stay in RAM"),
    ("kv_cache_type_v", "a V-cache type apart from the K cache's"),
    ("n_threads", "a CPU thread count"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FitRequest:
    """Everything one plan depends on.  ``None`` means "the engine's default" (or, for ``quant``, the
    engine's usual quant, or the GGUF file's own type)."""

    model: ModelSpec
    engine: Engine
    quant: str | None = None
    search: Search = Search.NONE
    context_tokens: int | None = None
    kv_cache_type: str | None = None
    kv_cache_type_v: str | None = None  # llama.cpp -ctv where it differs from -ctk (None: the K cache's type)
    flash_attention: bool | None = None
    n_batch: int | None = None
    n_ubatch: int | None = None
    n_seq: int = 1
    swa_full: bool | None = None
    logits_all: bool | None = None
    mmproj: bool | None = None
    op_offload: bool | None = None  # llama.cpp: False = --no-op-offload
    n_threads: int | None = None  # llama.cpp -t: CPU threads (None: one per physical core)
    backend: Backend | None = None  # the user's choice for every accelerator
    gpu_memory_bytes: int | None = None
    gpu_memory_utilization: float | None = None
    system: System | None = None
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    gen_tokens: int = DEFAULT_GEN_TOKENS
    depth_tokens: int = 0  # tokens already in the KV cache when the prompt and the answer start (llama-bench -d)
    split_mode: SplitMode | None = None
    tensor_split: tuple[float, ...] | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    gpu_layers: int | None = None
    cpu_moe: bool = True
    n_cpu_moe: int | None = None  # llama.cpp --n-cpu-moe: experts of the first N layers in RAM (None: as few as fit)
    # calibration to apply: the CPU memory bandwidth (else the platform's or an assumed one) and which
    # llama.cpp build's kernels the speed constants describe
    cpu_bandwidth_gb_s: float | None = None
    llamacpp_build: str = "current"
    # the safety margin kept free on each accelerator (already taken off the system's usable memory)
    headroom_bytes: int = 0
    kwh_price_usd: float = DEFAULT_KWH_PRICE_USD  # electricity price for the running cost
    # per-machine corrections from measured runs (rigfit.calibration); applied where one matches the plan's
    # machine, engine and backend
    calibration: Calibration | None = None
    # a plan across machines (system with several nodes): how the model is split over them (None: the
    # engine's choice, tensor over an RDMA link where the engine and the model allow it)
    cluster_mode: ClusterMode | None = None

    @property
    def timed_context_tokens(self) -> int:
        """The cells a plan's context must hold for what it times: the depth, the prompt and the answer."""
        return self.depth_tokens + self.prompt_tokens + self.gen_tokens

    @property
    def run_backend(self) -> Backend:
        """The backend the run uses: the user's, else the one driving the first device, else the engine's."""
        if self.backend is not None:
            return self.backend
        if self.system is not None and self.system.devices:
            return self.system.devices[0].backend
        return self.engine.default_backend


def make_request(
    model: str | ModelSpec,
    *,
    quant: str | None = None,
    engine: str | Engine = "llama.cpp",
    search: Search = Search.NONE,
    context_tokens: int | None = None,
    kv_cache_type: str | None = None,
    kv_cache_type_v: str | None = None,
    flash_attention: bool | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    n_seq: int = 1,
    swa_full: bool | None = None,
    logits_all: bool | None = None,
    mmproj: bool | None = None,
    op_offload: bool | None = None,
    n_threads: int | None = None,
    backend: str | None = None,
    gpu_memory_bytes: int | None = None,
    gpu_memory_utilization: float | None = None,
    hardware: Sequence[str] = (),
    system: System | None = None,
    ram_bytes: int | None = None,
    os_name: str = "linux",
    display: bool = False,
    headroom_bytes: int | None = None,
    kwh_price_usd: float | None = None,
    prompt_tokens: int | None = None,
    depth_tokens: int = 0,
    gen_tokens: int | None = None,
    split_mode: str | None = None,
    tensor_split: tuple[float, ...] | None = None,
    tensor_parallel: int | None = None,
    pipeline_parallel: int | None = None,
    gpu_layers: int | None = None,
    cpu_moe: bool = True,
    n_cpu_moe: int | None = None,
    cpu_bandwidth_gb_s: float | None = None,
    llamacpp_build: str = "current",
    calibration: Calibration | None = None,
    nodes: Sequence[str] = (),
    link: str | LinkSpec | None = None,
    cluster_mode: str | None = None,
) -> FitRequest:
    """The validated request for ``model`` (a name, path or spec).  ``hardware`` (catalog names, ``"2x RTX
    3090"``, .toml files) or ``system`` give the machine; ``ram_bytes`` its system RAM; ``os_name`` and
    ``display`` (a desktop on the first GPU) its reserves; ``headroom_bytes`` the memory kept free on every
    accelerator (None: the engine's default, llama.cpp's 1 GiB fit margin)."""
    from .models.resolve import resolve_model
    from .models.spec import checked

    # Ollama's MLX tags run on its MLX runner, not its llama.cpp
    eng = engine_for(get_engine(engine) if isinstance(engine, str) else engine, model)
    if quant is None and search == Search.NONE:  # an Ollama tag names its file's quant ("...:8b-instruct-q8_0")
        quant = eng.quant_of_name(typed_name(model))
    # a spec a script built itself is checked like one read from a file (catalog and file specs already are)
    spec = resolve_model(model) if isinstance(model, str) else checked(model, f"model {model.name!r}")
    if quant is None and search == Search.NONE and isinstance(model, str) and spec.resolved_from:
        from .models.resolve import hf_pull_name
        from .quant import checkpoint_quant, split_gguf_name

        named = split_gguf_name(model)
        pulled = hf_pull_name(model)
        # "...-UD-Q4_K_XL.gguf" and "hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M" name their quant, and a quantized
        # checkpoint's repository its format ("Qwen/Qwen3-8B-AWQ")
        quant = named[1] if named else (pulled[1].upper() if pulled and pulled[1] else
                                        checkpoint_quant(typed_name(model)))
    if prompt_tokens is not None and not 1 <= prompt_tokens <= MAX_TOKENS:
        raise InvalidInput(f"prompt tokens must be between 1 and {MAX_TOKENS:,}, got {prompt_tokens}",
                           options=("prompt_tokens",))
    if not 0 <= depth_tokens <= MAX_TOKENS:
        raise InvalidInput(f"depth must be between 0 and {MAX_TOKENS:,} tokens, got {depth_tokens}",
                           options=("depth_tokens",))
    if gen_tokens is not None and not 1 <= gen_tokens <= MAX_TOKENS:
        raise InvalidInput(f"generated tokens must be between 1 and {MAX_TOKENS:,}, got {gen_tokens}",
                           options=("gen_tokens",))
    prompt_tokens, gen_tokens = timed_tokens(context_tokens, prompt_tokens, depth_tokens, gen_tokens)
    if ram_bytes is not None and not 0 < ram_bytes <= MAX_RAM_BYTES:
        raise InvalidInput(f"system RAM must be between 1 byte and 64 TiB, got {ram_bytes} bytes",
                           options=("ram_bytes",))
    if gpu_memory_bytes is not None and not 0 < gpu_memory_bytes <= MAX_RAM_BYTES:
        raise InvalidInput(f"GPU memory must be between 1 byte and 64 TiB, got {gpu_memory_bytes} bytes",
                           options=("gpu_memory_bytes",))
    for label, value, field_ in (("tensor parallel size", tensor_parallel, "tensor_parallel"),
                                 ("pipeline parallel size", pipeline_parallel, "pipeline_parallel")):
        if value is not None and not 1 <= value <= 64:
            raise InvalidInput(f"{label} must be between 1 and 64, got {value}", options=(field_,))
    if n_threads is not None and not 1 <= n_threads <= MAX_THREADS:
        raise InvalidInput(f"CPU threads must be between 1 and {MAX_THREADS}, got {n_threads}", options=("n_threads",))
    check_os(os_name)
    if kwh_price_usd is not None:
        check_kwh_price(kwh_price_usd, options=("kwh_price_usd",))
    if headroom_bytes is not None and not 0 <= headroom_bytes <= MAX_HEADROOM_BYTES:
        raise InvalidInput(f"headroom must be between 0 and 64 GiB, got {headroom_bytes} bytes",
                           options=("headroom_bytes",))
    be = _backend(backend, eng)
    if split_mode is not None and split_mode not in tuple(SplitMode):
        raise InvalidInput(f"split mode must be layer or row, got {split_mode!r}", options=("split_mode",))
    if nodes and (hardware or system is not None):
        raise InvalidInput("give the machines of a cluster as nodes, or one machine's hardware, not both",
                           options=("nodes", "hardware"))
    if nodes:
        system = _cluster(nodes, link, os_name)
    elif link is not None:
        raise InvalidInput("a link joins the machines of a cluster: give two or more nodes", options=("link", "nodes"))
    if system is None and hardware:
        from .hardware.resolve import resolve_system_noted

        found, notes = resolve_system_noted(hardware)
        system = make_system(found, os_name=os_name, display=display, notes=notes)
    headroom = eng.headroom_bytes if headroom_bytes is None else headroom_bytes
    if system is not None:
        system = vm_share_note(_drive(with_ram(system, ram_bytes), eng, be), n_threads)
        rule = eng.headroom_source if headroom_bytes is None else f"{headroom / 1024**3:.2f} GiB kept free (headroom)"
        system = with_headroom(system, headroom, rule)
    req = FitRequest(
        model=spec, engine=eng, quant=quant, search=search, context_tokens=context_tokens,
        kv_cache_type=kv_cache_type, kv_cache_type_v=kv_cache_type_v, flash_attention=flash_attention,
        n_batch=n_batch, n_ubatch=n_ubatch, n_seq=n_seq, swa_full=swa_full, logits_all=logits_all, mmproj=mmproj,
        op_offload=op_offload, n_threads=n_threads, backend=be,
        gpu_memory_bytes=gpu_memory_bytes,
        gpu_memory_utilization=gpu_memory_utilization, system=system, prompt_tokens=prompt_tokens,
        depth_tokens=depth_tokens,
        gen_tokens=gen_tokens, split_mode=SplitMode(split_mode) if split_mode else None,
        tensor_split=tensor_split, tensor_parallel=tensor_parallel, pipeline_parallel=pipeline_parallel,
        gpu_layers=gpu_layers, cpu_moe=cpu_moe, n_cpu_moe=n_cpu_moe, cpu_bandwidth_gb_s=cpu_bandwidth_gb_s,
        llamacpp_build=llamacpp_build, headroom_bytes=headroom if system is not None else 0,
        kwh_price_usd=DEFAULT_KWH_PRICE_USD if kwh_price_usd is None else kwh_price_usd,
        calibration=calibration, cluster_mode=_cluster_mode(cluster_mode))
    check_request(req)
    return req


def timed_tokens(context_tokens: int | None, prompt_tokens: int | None, depth_tokens: int,
                 gen_tokens: int | None) -> tuple[int, int]:
    """The prompt and answer a plan's speed is timed over: as given, else DEFAULT_PROMPT_TOKENS and
    DEFAULT_GEN_TOKENS shortened to what a given context holds after the depth (a 256-token context: a 128-token
    prompt and answer).  Given ones that overflow a given context with the depth are refused, as the engines refuse
    such a request (llama-server: "the request exceeds the available context size"); with no context given, the
    plan's context is sized to hold them (api.fit)."""
    if context_tokens is None or context_tokens < 1:  # no context, or one make_run_config refuses with its own line
        return prompt_tokens or DEFAULT_PROMPT_TOKENS, gen_tokens or DEFAULT_GEN_TOKENS
    room = context_tokens - depth_tokens
    if room < 2 and depth_tokens:
        raise InvalidInput(f"the {depth_tokens:,} tokens already in the cache leave no room for a prompt and an "
                           f"answer in the {context_tokens:,}-token context asked for",
                           options=("context_tokens", "depth_tokens"))
    if room < 2 and not (prompt_tokens or gen_tokens):
        return 1, 1  # a context too small for any request: its memory is what is asked
    gen = gen_tokens or min(DEFAULT_GEN_TOKENS, max(1, room - prompt_tokens if prompt_tokens else room // 2))
    prompt = prompt_tokens or min(DEFAULT_PROMPT_TOKENS, max(1, room - gen))
    if depth_tokens + prompt + gen > context_tokens:
        parts = [f"the prompt ({prompt:,} tokens)" if prompt_tokens else "a prompt",
                 f"the answer ({gen:,} tokens)" if gen_tokens else "an answer"]
        if depth_tokens:
            parts.insert(0, f"the {depth_tokens:,} tokens already in the cache")
        given = [name for name, value in (("depth_tokens", depth_tokens), ("prompt_tokens", prompt_tokens),
                                          ("gen_tokens", gen_tokens)) if value]
        least = "" if prompt_tokens and gen_tokens else "at least "
        need = depth_tokens + (prompt_tokens or 1) + (gen_tokens or 1)
        raise InvalidInput(f"{', '.join(parts[:-1])} and {parts[-1]} need {least}{need:,} "
                           f"tokens of context, more than the {context_tokens:,} asked for",
                           options=("context_tokens", *given))
    return prompt, gen


MAX_NODES = 64


def _cluster(nodes: Sequence[str], link: str | LinkSpec | None, os_name: str) -> System:
    """Machines as typed (``"M3 Ultra 512GB"``, ``"2x RTX 3090, 64GB"``: devices, then an optional RAM size
    after a comma) joined by a catalog link."""
    from .hardware.links import resolve_link
    from .hardware.resolve import resolve_system_noted
    from .units import parse_memory_size

    if len(nodes) > MAX_NODES:
        raise InvalidInput(f"at most {MAX_NODES} nodes, got {len(nodes)}", options=("nodes",))
    if len(nodes) > 1 and link is None:
        raise InvalidInput("a cluster needs the link between its machines (tb5-rdma, 25gbe, 10gbe, ib-ndr, ...)",
                           options=("link",))
    machines = []
    for text in nodes:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        ram = None
        hw = []
        for part in parts:
            if re.fullmatch(r"[0-9.]+\s*[kmgt]i?b?(\s*ram)?", part, re.IGNORECASE):
                ram = parse_memory_size(re.sub(r"(?i)\s*ram$", "", part))
            else:
                hw.append(part)
        if not hw:
            raise InvalidInput(f"node {text[:60]!r} names no device", options=("nodes",))
        found, notes = resolve_system_noted(hw)
        machines.append(make_system(found, os_name=os_name, ram_bytes=ram, notes=notes))
    if len(machines) == 1:
        return machines[0]
    spec = link if isinstance(link, LinkSpec) else resolve_link(link or "")
    return make_cluster(machines, link_name=spec.name, gb_s=spec.gb_s, rtt_us=spec.rtt_us, rdma=spec.rdma)


def _cluster_mode(text: str | None) -> ClusterMode | None:
    if text is None:
        return None
    t = text.strip().lower()
    if t not in tuple(ClusterMode):
        raise InvalidInput(f"cluster mode must be {' or '.join(ClusterMode)}, got {text[:40]!r}",
                           options=("cluster_mode",))
    return ClusterMode(t)


def check_os(os_name: str) -> None:
    if os_name not in tuple(OS):
        raise InvalidInput(f"unknown OS {os_name[:40]!r}; one of {', '.join(OS)}", options=("os_name",))


def _backend(backend: str | None, eng: Engine) -> Backend | None:
    if backend is None:
        return None
    b = backend.strip().lower()
    if b not in eng.backends:
        raise InvalidInput(f"{eng.name} does not run on backend {b!r}; it runs on {', '.join(eng.backends)}",
                           options=("backend", "engine"))
    return Backend(b)


def _drive(system: System, eng: Engine, backend: Backend | None) -> System:
    """Each device with the backend the engine drives it with; an error when it cannot."""
    chosen: dict[str, Backend] = {}
    notes: list[str] = []
    os_of = {sd.device.name: n.os for n in system.nodes for sd in n.devices}
    for sd in system.devices:
        d = sd.device
        if d.kind == "cpu" and system.accelerators:
            continue  # the host CPU beside the accelerators runs what they offload, on its own backend
        if backend is not None:
            if backend not in device_backends(d):
                raise InvalidInput(f"the {backend} backend cannot drive {d.name}; it runs on "
                                   f"{', '.join(device_backends(d))}", options=("backend", "hardware"))
            chosen[d.name] = backend
            continue
        own = default_backend(d)
        if own in eng.backends:
            chosen[d.name] = own
        elif d.kind != "cpu" and eng.fallback_backend in device_backends(d) and os_of.get(d.name) in eng.fallback_os:
            chosen[d.name] = eng.fallback_backend
        elif (d.kind != "cpu" and d.unified and eng.fallback_backend in device_backends(d)
              and Backend.CPU in eng.backends):
            # elsewhere the install finds no runtime for that backend unless one is added, and an integrated GPU's
            # runs on the CPU (an Ultra 7 258V's Ollama runs under Linux in throughput_modern.csv decode at the
            # CPU's rate); a discrete card's owner is asked which backend (below)
            chosen[d.name] = Backend.CPU
            notes.append(f"{eng.title} drives {d.name} through its {eng.fallback_backend} backend, whose runtime a "
                         f"{os_of.get(d.name)} install needs added (most distributions do not ship it); planned on "
                         f"the CPU, where {eng.title} runs without it; ask for the {eng.fallback_backend} backend "
                         "to plan the GPU")
        elif d.kind == "cpu" and not system.accelerators:
            raise InvalidInput(f"{eng.title} needs a GPU; it runs on {', '.join(eng.backends)}",
                               options=("engine", "hardware"))
        elif d.kind != "cpu":
            both = [b for b in device_backends(d) if b in eng.backends and b != Backend.CPU]
            hint = f"; a backend both take: {', '.join(both)}" if both else ""
            raise InvalidInput(f"{eng.title} does not run on {d.name} ({own}); it runs on "
                               f"{', '.join(eng.backends)}{hint}",
                               options=("engine", "hardware", *(("backend",) if both else ())))
    drives = {chosen[sd.device.name] for sd in system.accelerators}
    if len(drives) > 1 and not (system.is_cluster and eng.cluster is not None and eng.cluster.mixed_backends):
        # one backend per process, unless the engine runs one process per machine with its own (llama.cpp RPC)
        hint = "; the vulkan backend drives both" if Backend.VULKAN in eng.backends else ""
        raise InvalidInput(f"{', '.join(sd.device.name for sd in system.accelerators)} need different backends "
                           f"({', '.join(sorted(drives))}) and {eng.title} runs one per plan{hint}",
                           options=("hardware", "backend"))
    driven = with_backends(system, chosen)
    return replace(driven, notes=(*driven.notes, *notes)) if notes else driven


def check_request(req: FitRequest) -> None:
    """The options the engine honours on this system (see the module's list)."""
    if req.search == Search.MAX_CONTEXT and req.system is None:
        raise InvalidInput("the largest context needs hardware (the context that fits depends on the device)",
                           options=("context_tokens", "hardware"))
    if req.search == Search.MAX_USERS and req.system is None:
        raise InvalidInput("the most users needs hardware (how many fit depends on the device)",
                           options=("n_seq", "hardware"))
    eng, rules = req.engine, req.engine.placement
    _check_cluster(req)
    for name, label in _ENGINE_SETTINGS:
        if getattr(req, name) is not None and name not in eng.settings:
            raise InvalidInput(f"{eng.title} has no setting for {label}", options=(name, "engine"))
    n_gpus = sum(sd.count for sd in req.system.accelerators) if req.system else 0
    unified = req.system is not None and any(sd.device.unified for sd in req.system.accelerators)
    on_cpu = req.system is not None and all(sd.backend == Backend.CPU for sd in req.system.accelerators)
    if (req.tensor_parallel not in (None, 1) or req.pipeline_parallel not in (None, 1)) and \
            rules.style != PlacementStyle.TENSOR_PARALLEL:
        raise InvalidInput(f"{eng.title} has no tensor or pipeline parallelism (vLLM has)",
                           options=("tensor_parallel", "pipeline_parallel", "engine"))
    if req.gpu_layers is not None:
        if not rules.gpu_layers:
            raise InvalidInput(f"{eng.title} takes no GPU-layer count: it places every layer itself",
                               options=("gpu_layers", "engine"))
        if unified and not (on_cpu and req.gpu_layers == 0):  # -ngl 0 with the CPU backend: what it runs anyway
            raise InvalidInput("a GPU-layer count applies to discrete GPUs; on unified memory rigfit plans the "
                               "layers by the OS's GPU memory limit", options=("gpu_layers", "hardware"))
    if req.n_cpu_moe is not None:
        if req.system is None:
            raise InvalidInput("keeping experts in RAM is a placement: it needs hardware",
                               options=("n_cpu_moe", "hardware"))
        if not req.model.is_moe:
            raise InvalidInput(f"{req.model.name} has no routed experts to keep in RAM (not a mixture-of-experts "
                               "model)", options=("n_cpu_moe", "model"))
        if unified:
            raise InvalidInput("experts kept in RAM apply to discrete GPUs; on unified memory the GPU reads the "
                               "same RAM", options=("n_cpu_moe", "hardware"))
        if not 0 <= req.n_cpu_moe <= req.model.n_layers:
            raise InvalidInput(f"the layers whose experts stay in RAM must be between 0 and {req.model.n_layers} "
                               f"(the model's layers), got {req.n_cpu_moe}", options=("n_cpu_moe",))
    if req.tensor_split is not None:
        if not rules.tensor_split:
            raise InvalidInput(f"{eng.title} takes no tensor split", options=("tensor_split", "engine"))
        if n_gpus < 2:
            raise InvalidInput(f"a tensor split spreads layers over GPUs; this plan has {n_gpus}",
                               options=("tensor_split", "hardware"))
    if req.split_mode == SplitMode.ROW:
        if not rules.row_split:
            raise InvalidInput(f"{eng.title} has no row split", options=("split_mode", "engine"))
        if n_gpus < 2:
            raise InvalidInput(f"a row split spreads each matrix over GPUs; this plan has {n_gpus}",
                               options=("split_mode", "hardware"))


def _check_cluster(req: FitRequest) -> None:
    """A plan across machines: an engine that runs one, a split mode it has, the machines it runs on."""
    system, eng = req.system, req.engine
    if system is None or not system.is_cluster:
        if req.cluster_mode is not None:
            raise InvalidInput("a cluster mode applies to a plan across machines: give two or more nodes",
                               options=("cluster_mode", "nodes"))
        return
    rules = eng.cluster
    if rules is None:
        multi = ", ".join(e for e in ("llama.cpp", "vllm", "exo", "mlx"))
        raise InvalidInput(f"{eng.title} plans one machine; across machines rigfit plans {multi}",
                           options=("engine", "nodes"))
    if req.cluster_mode is not None and req.cluster_mode not in rules.modes:
        raise InvalidInput(f"{eng.title} splits a model across machines by {', '.join(rules.modes)}, not "
                           f"{req.cluster_mode}", options=("cluster_mode", "engine"))
    others = sorted({sd.device.name for sd in system.accelerators if sd.device.vendor != "apple"})
    if rules.apple_only and others:
        raise InvalidInput(f"{eng.title} clusters Apple silicon Macs (MLX); {', '.join(others)} cannot join",
                           options=("engine", "nodes"))
    if any(not n.devices or all(sd.device.kind == "cpu" for sd in n.devices) for n in system.nodes):
        raise InvalidInput("every machine of a cluster needs an accelerator (a GPU or a unified-memory chip)",
                           options=("nodes",))
    for name in ("gpu_layers", "n_cpu_moe", "tensor_split", "tensor_parallel", "pipeline_parallel"):
        if getattr(req, name) not in (None, 1):
            raise InvalidInput(f"a plan across machines sets {name.replace('_', ' ')} itself "
                               f"({rules.how})", options=(name, "nodes"))
    if req.split_mode == SplitMode.ROW:
        raise InvalidInput("a row split works within one machine, not across a network",
                           options=("split_mode", "nodes"))


def with_plan(req: FitRequest, **changes: object) -> FitRequest:
    """The same request with some fields changed (a search step, a curve point); checked again."""
    new = replace(req, **changes)  # type: ignore[arg-type]
    check_request(new)
    return new


__all__ = ["FitRequest", "Search", "SplitMode", "check_os", "check_request", "make_request", "with_plan"]
