"""Launch commands: the exact command line, Modelfile or load settings that realize a planned placement.

Every value comes from the FitResult (run config and placement), so what the engine is told is what rigfit
sized.  Flag spellings follow the engines' own help and sources:

* llama-server (llama.cpp ``common/arg.cpp``, builds from late 2025 on): ``-c`` is the total context over the
  ``-np`` slots, ``-ngl`` counts the output layer (n_layer + 1 = everything), ``-fa on|off``, ``-ctk/-ctv``,
  ``--n-cpu-moe N``, ``--split-mode``, ``--tensor-split`` (per-GPU proportions; llama.cpp gives layer ``il``
  to the first GPU whose cumulative share exceeds ``(il - first) / ngl``, ``src/llama-model.cpp``).
* Ollama (``docs/modelfile.md``; ``llm/llama_server.go`` passes ``num_gpu`` as ``-ngl`` and
  ``-c num_ctx*OLLAMA_NUM_PARALLEL``; ``OLLAMA_KV_CACHE_TYPE`` needs ``OLLAMA_FLASH_ATTENTION=1``).
* LM Studio (``lms load --gpu max|off|0-1 --context-length N``, lmstudio.ai/docs/cli/load; the model
  load panel's GPU Offload, Flash Attention and K/V cache quantization settings).
* vLLM (``vllm serve`` engine args: ``--tensor-parallel-size``, ``--pipeline-parallel-size``,
  ``--max-model-len``, ``--gpu-memory-utilization``, ``--kv-cache-dtype``, ``--quantization``).
* mlx-lm (``mlx_lm/convert.py`` ``-q --q-bits --q-group-size``; ``mlx_lm/server.py`` ``--max-kv-size``,
  ``--kv-bits``, ``--decode-concurrency``; the two KV flags cannot be combined there).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .api import FitResult
from .errors import InvalidInput, UnknownName

LAUNCH_ENGINES = ("llama.cpp", "ollama", "lmstudio", "vllm", "mlx")
DEFAULT_PORTS = {"llama.cpp": 8080, "ollama": 11434, "lmstudio": 1234, "vllm": 8000, "mlx": 8080}


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchFile:
    name: str
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """How to start ``engine`` so that it does what the placement planned.

    ``argv`` is the main command (the server start) as a list, ``commands`` every shell line in order,
    ``files`` what must be written first (an Ollama Modelfile), ``settings`` the values by the engine's own
    names (LM Studio's load panel, Ollama's PARAMETERs, the flags' meaning), ``notes`` what to check."""

    engine: str
    runnable: bool
    summary: str
    argv: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    files: tuple[LaunchFile, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def check_command(name: str) -> str:
    """The engine a ``--command`` value names (aliases accepted), or an error listing the supported ones."""
    from .engines import get_engine

    try:
        eng = get_engine(name).name
    except UnknownName:
        raise UnknownName("launch command engine", name, LAUNCH_ENGINES) from None
    if eng not in LAUNCH_ENGINES:
        raise InvalidInput(f"no launch command for {eng}; --command takes {', '.join(LAUNCH_ENGINES)}")
    return eng


def _gguf_path(r: FitResult) -> str:
    if r.spec.gguf is not None:
        return r.spec.gguf.path
    return f"{r.spec.name}-{r.quant.name}.gguf"


def _summary(r: FitResult) -> str:
    run, p = r.memory.run, r.placement
    where = ", ".join(f"{s.count}x {s.device.name}" if s.count > 1 else s.device.name for s in r.system) \
        or "no hardware given"
    text = f"{r.spec.name} {r.quant.name} on {where}, {run.context_tokens:,} tokens"
    if run.n_seq > 1:
        text += f" x {run.n_seq} sequences"
    if p is not None:
        text += f"; {p.verdict}"
        if r.engine.weights == "gguf":
            text += f", {p.gpu_layers} of {p.n_layers + 1} layers on the GPU"
    return text


def _gpu_layers(r: FitResult) -> tuple[int, list[str]]:
    """llama.cpp -ngl for the plan (n_layer + 1 when no hardware was given: everything offloaded)."""
    if r.placement is not None:
        return r.placement.gpu_layers, []
    if r.memory.run.backend == "cpu":
        return 0, []
    return r.spec.n_layers + 1, ["no --hardware given: every layer offloaded (-ngl n_layer + 1); "
                                 "give --hardware to plan a partial offload"]


def _layer_counts(r: FitResult) -> list[int]:
    """Per-GPU units (repeating layers plus the output layer) of a multi-GPU layer split, in device order."""
    p = r.placement
    if p is None:
        return []
    gpus = [d for d in p.devices if d.role == "gpu"]
    if len(gpus) < 2:
        return []
    return [len(d.layers) + (1 if d.has_output else 0) for d in gpus]


def _not_runnable(r: FitResult, engine: str) -> Launch | None:
    p = r.placement
    if p is not None and p.verdict == "does_not_fit":
        why = "; ".join(p.notes) or "it does not fit"
        return Launch(engine=engine, runnable=False, summary=_summary(r),
                      notes=(f"no command: {r.spec.name} {r.quant.name} does not fit this hardware ({why})",))
    return None


def _llama_args(r: FitResult) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    run, p = r.memory.run, r.placement
    ngl, notes = _gpu_layers(r)
    args = ["-c", str(run.context_tokens * run.n_seq)]
    settings = [("context tokens per sequence", str(run.context_tokens))]
    if run.n_seq > 1:
        args += ["-np", str(run.n_seq)]
        settings.append(("parallel sequences", str(run.n_seq)))
    args += ["-ngl", str(ngl)]
    settings.append(("GPU layers (output layer counts)", f"{ngl} of {r.spec.n_layers + 1}"))
    if p is not None and p.n_cpu_moe:
        args += ["--n-cpu-moe", str(p.n_cpu_moe)]
        settings.append(("MoE layers with experts in RAM", str(p.n_cpu_moe)))
    counts = _layer_counts(r)
    if counts:
        assert p is not None
        args += ["--split-mode", p.split_mode if p.split_mode in ("layer", "row") else "layer",
                 "--tensor-split", ",".join(str(c) for c in counts)]
        settings.append(("tensor split (layers per GPU)", ",".join(str(c) for c in counts)))
    args += ["-fa", "on" if run.flash_attention else "off"]
    settings.append(("flash attention", "on" if run.flash_attention else "off"))
    if run.kv_cache_type != "f16":
        args += ["-ctk", run.kv_cache_type, "-ctv", run.kv_cache_type]
    settings.append(("KV cache type", run.kv_cache_type))
    if run.n_batch != 2048:
        args += ["-b", str(run.n_batch)]
    if run.n_ubatch != 512:
        args += ["-ub", str(run.n_ubatch)]
    return args, settings, notes


def _backend_note(r: FitResult) -> list[str]:
    be = r.memory.run.backend
    build = {"cuda": "a CUDA build", "rocm": "a ROCm (HIP) build", "metal": "the Metal build (macOS default)",
             "vulkan": "a Vulkan build", "sycl": "a SYCL build", "cpu": "any build"}.get(be, be)
    return [f"backend {be}: use {build} of llama.cpp"]


def _llama_cpp(r: FitResult, host: str, port: int) -> Launch:
    args, settings, notes = _llama_args(r)
    argv = ("llama-server", "-m", _gguf_path(r), *args, "--host", host, "--port", str(port))
    if r.spec.gguf is None:
        notes.append(f"-m: the path of your {r.quant.name} GGUF file of {r.spec.name}")
    return Launch(engine="llama.cpp", runnable=True, summary=_summary(r), argv=argv, commands=(shlex.join(argv),),
                  settings=tuple(settings), notes=tuple(notes + _backend_note(r)))


def _ollama_from(r: FitResult) -> tuple[str, list[str]]:
    tags = [a for a in r.spec.aliases if ":" in a and "/" not in a]
    if r.spec.gguf is None and tags and r.quant.name == "Q4_K_M":
        return tags[0], [f"FROM {tags[0]}: Ollama library tags without a quant suffix are Q4_K_M"]
    path = _gguf_path(r)
    return (path if path.startswith(("/", ".")) else f"./{path}"), \
        [f"FROM: the path of your {r.quant.name} GGUF file of {r.spec.name}"]


def _ollama(r: FitResult, host: str, port: int) -> Launch:
    run = r.memory.run
    ngl, notes = _gpu_layers(r)
    src, from_notes = _ollama_from(r)
    params = [("num_ctx", str(run.context_tokens)), ("num_gpu", str(ngl))]
    if run.n_batch != 512:  # Ollama's num_batch default is 512 (api/types.go)
        params.append(("num_batch", str(run.n_batch)))
    modelfile = "\n".join([f"FROM {src}", *(f"PARAMETER {k} {v}" for k, v in params)]) + "\n"
    env = [f"OLLAMA_HOST={host}:{port}", f"OLLAMA_FLASH_ATTENTION={1 if run.flash_attention else 0}"]
    if run.kv_cache_type != "f16":
        env.append(f"OLLAMA_KV_CACHE_TYPE={run.kv_cache_type}")
    if run.n_seq > 1:
        env.append(f"OLLAMA_NUM_PARALLEL={run.n_seq}")
    name = f"{r.spec.name.lower()}-{r.quant.name.lower()}-{_ctx_label(run.context_tokens)}"
    argv = ("env", *env, "ollama", "serve")
    commands = (shlex.join(argv), f"ollama create {shlex.quote(name)} -f Modelfile", f"ollama run {shlex.quote(name)}")
    notes += from_notes
    p = r.placement
    if p is not None and p.n_cpu_moe:
        notes.append(f"Ollama has no --n-cpu-moe setting: its own fit decides which experts stay in RAM "
                     f"(the plan keeps the experts of {p.n_cpu_moe} layers there)")
    counts = _layer_counts(r)
    if counts:
        notes.append("Ollama splits layers over the GPUs itself (no tensor-split setting); "
                     f"the plan puts {counts} layers on the GPUs in order")
    settings = (*params, *((e.split("=", 1)[0], e.split("=", 1)[1]) for e in env))
    return Launch(engine="ollama", runnable=True, summary=_summary(r), argv=argv, commands=commands,
                  files=(LaunchFile(name="Modelfile", content=modelfile),), settings=tuple(settings),
                  notes=tuple(notes))


def _ctx_label(tokens: int) -> str:
    return f"{tokens // 1024}k" if tokens % 1024 == 0 else str(tokens)


def _lmstudio(r: FitResult, host: str, port: int) -> Launch:
    run, p = r.memory.run, r.placement
    ngl, notes = _gpu_layers(r)
    n = r.spec.n_layers
    key = r.spec.name.lower()
    if ngl >= n + 1:
        gpu, offload = "max", f"{n} / {n} (max)"
    elif ngl == 0:
        gpu, offload = "off", f"0 / {n}"
    else:
        gpu, offload = f"{ngl / (n + 1):.2f}", f"{ngl} / {n}"
        notes.append(f"--gpu is a fraction: check that the GPU Offload slider reads {ngl}")
    argv = ("lms", "load", key, "--gpu", gpu, "--context-length", str(run.context_tokens), "--identifier", key)
    settings: list[tuple[str, str]] = [("Context Length", str(run.context_tokens)), ("GPU Offload", offload),
                                       ("Flash Attention", "on" if run.flash_attention else "off")]
    if run.kv_cache_type != "f16":
        settings += [("K Cache Quantization Type", run.kv_cache_type),
                     ("V Cache Quantization Type", run.kv_cache_type)]
    if p is not None and p.n_cpu_moe:
        settings.append(("Number of layers for which to force MoE weights onto CPU", str(p.n_cpu_moe)))
    if run.n_seq > 1:
        settings.append(("Max Concurrent Predictions", str(run.n_seq)))
    if run.n_batch != 2048:
        settings.append(("Evaluation Batch Size", str(run.n_batch)))
    commands = (f"lms server start --port {port}", shlex.join(argv))
    notes.append(f"{key}: the model key `lms ls` shows for your {r.quant.name} download of {r.spec.name}")
    notes.append("flash attention and KV-cache types are set in the model's load settings "
                 "(Developer tab or My Models), not by lms load")
    if host not in ("127.0.0.1", "localhost"):
        notes.append("serve on the network: enable 'Serve on Local Network' in LM Studio's server settings")
    return Launch(engine="lmstudio", runnable=True, summary=_summary(r), argv=argv, commands=commands,
                  settings=tuple(settings), notes=tuple(notes))


_VLLM_REPO_SUFFIX = {"AWQ": "-AWQ", "GPTQ": "-GPTQ-Int4", "GPTQ-8BIT": "-GPTQ-Int8"}


def _vllm(r: FitResult, host: str, port: int) -> Launch:
    run, p = r.memory.run, r.placement
    repo = r.spec.hf_repo or r.spec.name
    notes: list[str] = []
    q = r.quant.name
    extra: list[str] = []
    if q in _VLLM_REPO_SUFFIX:
        if repo.startswith("Qwen/"):
            repo += _VLLM_REPO_SUFFIX[q]  # Qwen publishes its own AWQ / GPTQ checkpoints under these names
        else:
            notes.append(f"model: use a {q} checkpoint of {repo} (vLLM reads the quantization from its config)")
            repo = f"{repo}{_VLLM_REPO_SUFFIX[q]}"
    elif q == "FP8":
        extra += ["--quantization", "fp8"]  # online dynamic FP8 from the 16-bit weights
    elif q in ("NF4", "NF4-DQ"):
        extra += ["--quantization", "bitsandbytes"]  # in-flight 4-bit bitsandbytes
    elif q in ("BF16", "FP16", "FP32"):
        extra += ["--dtype", {"BF16": "bfloat16", "FP16": "float16", "FP32": "float32"}[q]]
    tp = p.tensor_parallel if p else 1
    pp = p.pipeline_parallel if p else 1
    args = ["vllm", "serve", repo, "--max-model-len", str(run.context_tokens),
            "--gpu-memory-utilization", f"{run.gpu_memory_utilization:g}"]
    if tp > 1:
        args += ["--tensor-parallel-size", str(tp)]
    if pp > 1:
        args += ["--pipeline-parallel-size", str(pp)]
    if run.kv_cache_type == "fp8":
        args += ["--kv-cache-dtype", "fp8"]
    if run.n_seq > 1:
        args += ["--max-num-seqs", str(run.n_seq)]
    args += [*extra, "--host", host, "--port", str(port)]
    settings = [("max_model_len", str(run.context_tokens)),
                ("gpu_memory_utilization", f"{run.gpu_memory_utilization:g}"),
                ("tensor_parallel_size", str(tp)), ("pipeline_parallel_size", str(pp)),
                ("kv_cache_dtype", "fp8" if run.kv_cache_type == "fp8" else "auto")]
    if p is None:
        notes.append("no --hardware given: one GPU assumed (tensor parallel 1)")
    return Launch(engine="vllm", runnable=True, summary=_summary(r), argv=tuple(args), commands=(shlex.join(args),),
                  settings=tuple(settings), notes=tuple(notes))


def _mlx(r: FitResult, host: str, port: int) -> Launch:
    run = r.memory.run
    repo = r.spec.hf_repo or r.spec.name
    commands: list[str] = []
    settings: list[tuple[str, str]] = []
    q = r.quant.name
    if q.startswith("MLX-") and q.endswith("BIT"):
        bits = q.removeprefix("MLX-").removesuffix("BIT")
        local = f"{r.spec.name}-{bits}bit"
        conv = ["mlx_lm.convert", "--hf-path", repo, "--mlx-path", local, "-q", "--q-bits", bits,
                "--q-group-size", "64"]
        commands.append(shlex.join(conv))
        model = local
        settings.append(("weights", f"{bits}-bit affine, group size 64"))
    else:
        model = repo
        settings.append(("weights", q))
    args = ["mlx_lm.server", "--model", model]
    notes: list[str] = []
    if run.kv_cache_type in ("mlx-q8", "mlx-q4"):
        bits = "8" if run.kv_cache_type == "mlx-q8" else "4"
        args += ["--kv-bits", bits, "--kv-group-size", "64", "--quantized-kv-start", "0",
                 "--max-prompt-tokens", str(run.context_tokens)]
        settings += [("kv_bits", bits), ("max_prompt_tokens", str(run.context_tokens))]
        notes.append("mlx_lm.server cannot bound a quantized KV cache with --max-kv-size; "
                     "--max-prompt-tokens keeps prompts within the planned context")
    else:
        args += ["--max-kv-size", str(run.context_tokens)]
        settings.append(("max_kv_size", str(run.context_tokens)))
    conc = str(run.n_seq)
    args += ["--decode-concurrency", conc, "--prompt-concurrency", conc, "--host", host, "--port", str(port)]
    settings.append(("decode_concurrency", conc))
    notes.append("concurrency is set to the planned sequences: the server's default of 32 parallel decodes "
                 "would hold up to 32 KV caches")
    commands.append(shlex.join(args))
    return Launch(engine="mlx", runnable=True, summary=_summary(r), argv=tuple(args), commands=tuple(commands),
                  settings=tuple(settings), notes=tuple(notes))


_BUILDERS = {"llama.cpp": _llama_cpp, "ollama": _ollama, "lmstudio": _lmstudio, "vllm": _vllm, "mlx": _mlx}


def launch(r: FitResult, command: str | None = None, *, host: str = "127.0.0.1", port: int | None = None) -> Launch:
    """The launch recipe for ``r`` (planned for ``r.engine``); ``command`` must name that engine."""
    engine = check_command(command or r.engine.name)
    if engine != r.engine.name:
        raise InvalidInput(f"--command {engine} needs a plan for {engine}, but this fit was planned for "
                           f"{r.engine.name}; use --engine {engine} (or leave --engine out)")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"port must be between 1 and 65535, got {port}")
    blocked = _not_runnable(r, engine)
    if blocked is not None:
        return blocked
    return _BUILDERS[engine](r, host, port or DEFAULT_PORTS[engine])
