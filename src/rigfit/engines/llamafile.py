"""llamafile: Mozilla's single-file build of llama.cpp (Cosmopolitan Libc; the GPU module compiled on the user's
machine at first run).  Memory, KV cache, compute buffers and placement are llama.cpp's: it bundles llama.cpp and
passes its flags through (-ngl, -c, -fa, -ctk / -ctv, -sm / -ts, --n-cpu-moe, --no-op-offload, -np, -b / -ub).  Its
own parts: the launch command (``llamafile --server --gpu MODE``), the GPU backends it builds (no SYCL), and its
speed class: llamafile 0.9 ran its own matmul kernels (tinyBLAS), on the CPU too, so its constants are fitted on its
LocalScore runs (throughput_modern.csv, March-July 2025), llama.cpp's standing in where a class has none (the CPU's).

Sources: mozilla-ai/llamafile ``docs/cli_arguments.md`` (wrapper flags ``--server``, ``--gpu
auto|nvidia|amd|apple|vulkan|disable``; llama.cpp flags passed through, v0.10.4), ``docs/running_llamafile.md``
(``llamafile -m model.gguf --server``, port 8080), ``docs/gpu-support.md`` (Metal offload by default, ``-ngl 999``
on NVIDIA and AMD, the GPU module built with nvcc / hipcc / Xcode at first run, CPU fallback), Mozilla-Ocho/llamafile
``localscore/cmd.cpp`` (LocalScore: -ngl 9999, flash attention off, n_batch 2048, n_ubatch 512, one GPU).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ..vocab import Backend, SpeedClass, Vendor
from .llamacpp import LLAMA_FAMILY, LLAMA_KV_TYPES, LLAMA_OVERHEAD, LlamaCpp, gguf_path, llama_server_args

if TYPE_CHECKING:
    from ..api import FitResult
    from .recipe import Launch

# llamafile --gpu MODE for each backend it builds (docs/cli_arguments.md "Additional Accepted Parameter Spellings")
GPU_MODE = {Backend.CUDA: "nvidia", Backend.ROCM: "amd", Backend.METAL: "apple", Backend.VULKAN: "vulkan",
            Backend.CPU: "disable"}


class Llamafile(LlamaCpp):
    """``llamafile --server``: llama.cpp's server inside one portable executable."""

    def launch(self, r: FitResult, host: str, port: int) -> Launch:
        from .recipe import Launch, plan_summary

        args, settings, notes = llama_server_args(r)
        backend = r.memory.run.backend
        mode = GPU_MODE[backend]
        argv = ("llamafile", "--server", "--gpu", mode, "-m", gguf_path(r), *args, "--host", host, "--port",
                str(port))
        settings = [("GPU backend (--gpu)", mode), *settings]
        if r.spec.gguf is None:
            notes.append(f"-m: the path of your {r.quant.name} GGUF file of {r.spec.name} (or run a .llamafile that "
                         "bundles it with the same flags, without -m)")
        if backend in (Backend.CUDA, Backend.ROCM):
            notes.append("llamafile builds its GPU module at first run with the CUDA or ROCm SDK (nvcc / hipcc on "
                         "the PATH) or uses its prebuilt one; if neither loads it runs on the CPU")
        elif backend == Backend.METAL:
            notes.append("llamafile compiles its Metal module at first run: install the Xcode Command Line Tools")
        return Launch(engine=self.name, runnable=True, summary=plan_summary(r, layer_counts=True), argv=argv,
                      commands=(shlex.join(argv),), settings=tuple(settings), notes=tuple(notes))


LLAMAFILE = Llamafile(
    name="llamafile", title="llamafile", aliases=("llamafile-server",), kv_types=LLAMA_KV_TYPES, default_port=8080,
    backends=tuple(GPU_MODE),
    request_overhead_s=0.008, request_overhead_source=(
        "llama-server request latency, as llama.cpp's (llamafile --server runs llama.cpp's server)"),
    source="mozilla-ai/llamafile docs/cli_arguments.md (v0.10.4: llama.cpp flags passed through), "
           "docs/gpu-support.md; Mozilla-Ocho/llamafile localscore/cmd.cpp (LocalScore's settings)",
    **{**LLAMA_FAMILY, "settings": LLAMA_FAMILY["settings"] | {"op_offload", "n_cpu_moe", "kv_cache_type_v"},  # type: ignore[operator]
       "speed_class": SpeedClass.LLAMAFILE, "own_cpu_kernels": True,
       # llamafile 0.9's ggml predates llama.cpp's WMMA quantized matmuls for Radeons (PR #17156, RDNA 4, Nov 2025;
       # PR #17576, RDNA 3): its ROCm prompts run MMQ on the ALUs.  LocalScore's RDNA 3 prompt rows (RX 7600 / 7800
       # XT / 7900 XT, throughput_modern.csv) ran 2.7x below the WMMA rate the RDNA 2 rows' constants gave them
       "alu_prompt_vendors": (Vendor.AMD,),
       "runtime_overhead_bytes": {b: n for b, n in LLAMA_OVERHEAD.items() if b in GPU_MODE}},
)
