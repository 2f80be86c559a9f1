"""FitRequest: one validated value; options an engine cannot honour on the hardware are one-line errors that
name the options (the CLI adds its flags), never silently dropped."""

from __future__ import annotations

import pytest

import rigfit
from rigfit.api import fit
from rigfit.cli import main
from rigfit.errors import InvalidInput
from rigfit.request import FitRequest, Search, make_request
from rigfit.system import LinkKind
from rigfit.vocab import Backend


@pytest.mark.parametrize(("kw", "message", "options"), [
    ({"engine": "vllm", "hardware": ["M4 Max 40-core 128GB"]},
     "vLLM does not run on Apple M4 Max (40-core GPU) 128GB (metal); it runs on cuda, rocm, cpu",
     ("engine", "hardware")),
    ({"engine": "exllamav2", "hardware": ["M2 Ultra 76-core 192GB"]},
     "exllamav2 does not run on Apple M2 Ultra (76-core GPU) 192GB (metal); it runs on cuda, rocm",
     ("engine", "hardware")),
    ({"engine": "mlx", "hardware": ["RTX 4090"]},
     "MLX does not run on NVIDIA GeForce RTX 4090 (cuda); it runs on metal", ("engine", "hardware")),
    ({"hardware": ["RTX 3090", "7900 XTX"]},
     "NVIDIA GeForce RTX 3090, AMD Radeon RX 7900 XTX need different backends (cuda, rocm) and llama.cpp runs "
     "one per plan; the vulkan backend drives both", ("hardware", "backend")),
    ({"hardware": ["RTX 3090", "7900 XTX"], "backend": "cuda"},
     "the cuda backend cannot drive AMD Radeon RX 7900 XTX; it runs on rocm, vulkan, cpu", ("backend", "hardware")),
    ({"hardware": ["M4 Max 40-core 128GB"], "gpu_layers": 20},
     "a GPU-layer count applies to discrete GPUs; on unified memory rigfit plans the layers by the OS's GPU "
     "memory limit", ("gpu_layers", "hardware")),
    ({"hardware": ["2x RTX 3090"], "tensor_parallel": 2},
     "llama.cpp has no tensor or pipeline parallelism (vLLM has)", ("tensor_parallel", "pipeline_parallel", "engine")),
    ({"hardware": ["RTX 3090"], "tensor_split": (3.0, 1.0)},
     "a tensor split spreads layers over GPUs; this plan has 1", ("tensor_split", "hardware")),
    ({"hardware": ["RTX 3090"], "split_mode": "row"},
     "a row split spreads each matrix over GPUs; this plan has 1", ("split_mode", "hardware")),
    ({"engine": "vllm", "hardware": ["2x RTX 3090"], "split_mode": "row"},
     "vLLM has no row split", ("split_mode", "engine")),
    ({"engine": "vllm", "hardware": ["RTX 3090"], "gpu_layers": 10},
     "vLLM takes no GPU-layer count: it places every layer itself", ("gpu_layers", "engine")),
    ({"engine": "vllm", "flash_attention": False}, "vLLM has no setting for flash attention",
     ("flash_attention", "engine")),
    ({"engine": "mlx", "n_batch": 1024}, "MLX has no setting for the batch size", ("n_batch", "engine")),
    ({"gpu_memory_utilization": 0.8}, "llama.cpp has no setting for the GPU memory fraction",
     ("gpu_memory_utilization", "engine")),
    ({"engine": "exllamav2", "hardware": ["AM5 desktop"]}, "exllamav2 needs a GPU; it runs on cuda, rocm",
     ("engine", "hardware")),
    ({"prompt_tokens": 0}, "prompt tokens must be between 1 and 16,777,216, got 0", ("prompt_tokens",)),
    ({"ram_bytes": -1}, "system RAM must be between 1 byte and 64 TiB, got -1 bytes", ("ram_bytes",)),
])
def test_options_the_engine_cannot_honour(kw: dict[str, object], message: str, options: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as info:
        make_request("Llama-3.1-8B-Instruct", **kw)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert info.value.options == options


@pytest.mark.parametrize("backend", ["cpu", None])
def test_no_gpu_layers_on_an_apu(backend: str | None) -> None:
    """-ngl 0 with llama.cpp's CPU backend on an APU is the CPU run it asks for (the localmaxxing CPU-only
    llama-bench runs on a Ryzen 7 7840HS pass it): planned as the run without it; with the GPU backend it is
    still an error (rigfit plans an APU's layers by the OS's GPU memory limit)."""
    kw = {"backend": backend} if backend else {}
    req = dict(hardware=["AMD Ryzen 7 7840HS"], quant="Q4_K_M", **kw)
    if backend is None:
        with pytest.raises(InvalidInput, match="applies to discrete GPUs"):
            make_request("Qwen/Qwen3-8B", gpu_layers=0, **req)
        return
    with_ngl = fit(make_request("Qwen/Qwen3-8B", gpu_layers=0, **req))
    without = fit(make_request("Qwen/Qwen3-8B", **req))
    assert with_ngl.speed is not None and without.speed is not None
    assert with_ngl.speed.decode_tokens_per_s == without.speed.decode_tokens_per_s
    with pytest.raises(InvalidInput, match="applies to discrete GPUs"):
        make_request("Qwen/Qwen3-8B", gpu_layers=4, **req)


def test_vulkan_drives_a_mixed_pair() -> None:
    req = make_request("Llama-3.1-8B-Instruct", hardware=["RTX 3090", "7900 XTX"], backend="vulkan")
    assert req.system is not None
    assert [sd.backend for sd in req.system.devices] == [Backend.VULKAN, Backend.VULKAN]
    assert fit(req).memory.run.backend == Backend.VULKAN


@pytest.mark.parametrize(("engine", "backend"), [("ollama", Backend.VULKAN), ("llama.cpp", Backend.SYCL)])
def test_ollama_drives_an_intel_gpu_with_its_bundled_vulkan(engine: str, backend: Backend) -> None:
    """Ollama has no SYCL build; since ollama/ollama#16031 its Vulkan backend is on by default (docs/gpu.mdx),
    so under Windows, whose GPU drivers bring the Vulkan runtime, an Intel GPU runs through Vulkan without being
    asked.  llama.cpp keeps the device's own SYCL build."""
    req = make_request("llama3.2:1b", engine=engine, hardware=["Arc B580"], os_name="windows")
    assert req.system is not None
    assert [sd.backend for sd in req.system.devices] == [backend]
    assert fit(req).memory.run.backend == backend


def test_ollama_on_linux_asks_for_the_vulkan_backend_on_an_intel_gpu() -> None:
    """Linux needs Vulkan components installed apart (docs/gpu.mdx): the backend is asked for, not assumed."""
    with pytest.raises(InvalidInput, match=r"Ollama does not run on Intel Arc B580 \(sycl\).*a backend both take: "
                                           "vulkan"):
        make_request("llama3.2:1b", engine="ollama", hardware=["Arc B580"])
    assert make_request("llama3.2:1b", engine="ollama", hardware=["Arc B580"], backend="vulkan").system is not None


def test_ollama_on_linux_runs_an_integrated_intel_gpu_s_model_on_the_cpu() -> None:
    """Ollama drives Intel GPUs through Vulkan, whose runtime a Linux install needs added (docs/gpu.mdx); without it
    Ollama runs on the CPU, sees no GPU memory (num_ctx 4,096) and says so.  throughput_modern.csv, llmfit community
    (llmfit 1.1.10): a Core Ultra 7 258V under Linux decodes deepseek-r1:7b at 6.70 tok/s (eval_count /
    eval_duration, 3 runs).  Within 15 %."""
    r = rigfit.fit("deepseek-r1:7b", engine="ollama", hardware=["Core Ultra 7 258V"])
    assert r.placement is not None and r.placement.verdict == "cpu" and r.memory.run.backend == "cpu"
    assert r.memory.run.context_tokens == 4096
    assert any("through its vulkan backend" in n for n in r.placement.notes)
    assert r.speed is not None and r.speed.decode_tokens_per_s == pytest.approx(6.70, rel=0.15)
    on_windows = rigfit.fit("deepseek-r1:7b", engine="ollama", hardware=["Core Ultra 7 258V"], os_name="windows")
    assert on_windows.memory.run.backend == "vulkan"


def test_the_cpu_backend_leaves_a_discrete_gpu_empty() -> None:
    """A CPU build (or -ngl 0) beside an RTX 4090 runs every layer from RAM: the plan, its speed and Ollama's
    Modelfile (num_gpu 0) say so; the card's memory is not the engine's (Ollama's default context 4,096)."""
    from rigfit.launch import launch

    gpu = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["RTX 4090"], ram_bytes=64 << 30)
    r = rigfit.fit("llama3.1:8b", quant="Q4_K_M", hardware=["RTX 4090"], backend="cpu", ram_bytes=64 << 30)
    assert r.placement is not None and r.placement.verdict == "cpu" and r.placement.gpu_layers == 0
    assert r.speed is not None and gpu.speed is not None
    assert r.speed.decode_tokens_per_s < gpu.speed.decode_tokens_per_s / 5
    assert r.cost is None and "no accelerator" in r.cost_unknown  # the idle card's rated power is not the run's
    o = rigfit.fit("llama3.1:8b", quant="Q4_K_M", engine="ollama", hardware=["RTX 4090"], backend="cpu")
    assert o.memory.run.context_tokens == 4096
    assert "PARAMETER num_gpu 0" in launch(o, "ollama").files[0].content


@pytest.mark.parametrize(("args", "line"), [
    (["-H", "2x 3090", "-tp", "2"], "rigfit: error: llama.cpp has no tensor or pipeline parallelism (vLLM has) "
                                    "(--tensor-parallel, --pipeline-parallel, --engine)\n"),
    (["-H", "3090", "--tensor-split", "3,1"], "rigfit: error: a tensor split spreads layers over GPUs; this plan "
                                              "has 1 (--tensor-split, --hardware)\n"),
    (["-H", "M4 Max 40-core 128GB", "-e", "vllm"],
     "rigfit: error: vLLM does not run on Apple M4 Max (40-core GPU) 128GB (metal); it runs on cuda, rocm, cpu "
     "(--engine, --hardware)\n"),
])
def test_cli_names_the_flags(capsys: pytest.CaptureFixture[str], args: list[str], line: str) -> None:
    code = main(["fit", "llama3.1:8b", *args])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", line)


def test_request_is_frozen_and_carries_the_system() -> None:
    req = make_request("Llama-3.1-8B-Instruct", hardware=["2x RTX 3090"], ram_bytes=128 << 30)
    assert isinstance(req, FitRequest)
    with pytest.raises(AttributeError):
        req.n_seq = 2  # type: ignore[misc]
    assert req.system is not None and req.system.ram_bytes == 128 << 30
    kinds = [link.kind for link in req.system.node.links]
    assert kinds.count(LinkKind.PCIE) == 1  # one entry for the pair of identical cards
    assert req.system.node.links[0].gb_s == pytest.approx(31.5)  # PCIe 4.0 x16, PCI-SIG
    assert fit(req).placement is not None and fit(req).placement.ram_bytes == 128 << 30  # type: ignore[union-attr]


def test_nvlink_pairs_get_a_link() -> None:
    req = make_request("Llama-3.1-8B-Instruct", hardware=["4x H100 SXM"])
    assert req.system is not None
    assert LinkKind.NVLINK in {link.kind for link in req.system.node.links}


def test_keyword_wrapper_is_the_pipeline() -> None:
    kw = {"quant": "Q4_K_M", "context_tokens": 8192, "hardware": ["RTX 3090"]}
    assert rigfit.fit("Llama-3.1-8B-Instruct", **kw) == fit(make_request("Llama-3.1-8B-Instruct", **kw))


def test_search_requests_run_through_fit() -> None:
    best = rigfit.fit("Qwen2.5-Coder-32B-Instruct", hardware=["RTX 3090"], search=Search.BEST_QUANT)
    # the result carries the concrete request of the plan the search settled on
    assert best.request.search == Search.NONE and best.request.quant == best.quant.name
    assert best.placement is not None and best.placement.verdict == "gpu"
    longest = rigfit.fit("Qwen2.5-Coder-32B-Instruct", quant="Q4_K_M", hardware=["RTX 3090"],
                         search=Search.MAX_CONTEXT)
    assert longest.memory.run.context_tokens % 256 == 0 and longest.memory.run.context_tokens > 8192


@pytest.mark.parametrize("card", ["RTX 4090", "Arc B580", "RX 7900 XTX"])
def test_vulkan_is_its_own_class_on_every_vendor(card: str) -> None:
    """llama.cpp's Vulkan backend runs ggml-vulkan's shaders, not the CUDA, HIP or SYCL kernels: a card driven by
    Vulkan gets the discrete Vulkan class (decode fitted on benchmarks/data/vulkan_discrete.csv, 19 cards), whose
    prompt constants are still priors and say so, with the wider prompt band."""
    vk = fit(make_request("Llama-3.1-8B-Instruct", quant="Q4_K_M", hardware=[card], backend="vulkan"))
    assert vk.speed is not None and vk.speed.classes == ("vulkan",)
    assert not any(n.startswith("vulkan: efficiencies are priors") for n in vk.speed.notes)
    assert any(n.startswith("vulkan: prompt efficiencies are priors") for n in vk.speed.notes)
    assert vk.speed.prefill_band is not None
    lo, hi = vk.speed.prefill_band
    assert hi / lo >= 3.0


# Discrete cards on Vulkan, tg128 from an empty cache, all layers on the card (benchmarks/data/vulkan_discrete.csv):
# the fit's rows, each within 15 %
@pytest.mark.parametrize(("card", "model", "quant", "measured"), [
    ("RX 5700 XT", "Llama-2-7B", "Q4_0", 65.19),  # llama.cpp PR #13324 (May 2025), RADV
    ("Radeon Pro VII", "Meta-Llama-3-8B", "Q4_0", 102.76),  # PR #22933 (June 2026), master column
    ("RTX 3090", "Meta-Llama-3-8B", "Q4_0", 146.73),  # PR #21024 (May 2026), master column
    ("RX 7800 XT", "Llama-2-7B", "Q4_0", 111.19),  # PR #13324 (May 2025), RADV
])
def test_vulkan_decode_against_published_runs(card: str, model: str, quant: str, measured: float) -> None:
    r = fit(make_request(model, quant=quant, hardware=[card], backend="vulkan", headroom_bytes=0,
                         context_tokens=1024, prompt_tokens=512, gen_tokens=128))
    assert r.speed is not None and r.speed.classes == ("vulkan",)
    assert r.speed.decode_tokens_per_s == pytest.approx(measured, rel=0.15)


def test_a_polaris_card_plans_on_vulkan() -> None:
    """ROCm dropped Polaris: the RX 580 plans on Vulkan unasked, and ROCm is one error naming what it takes."""
    r = fit(make_request("Llama-3.1-8B-Instruct", quant="Q4_K_M", hardware=["RX 580"]))
    assert r.memory.run.backend == "vulkan"
    with pytest.raises(InvalidInput, match=r"the rocm backend cannot drive AMD Radeon RX 580; it runs on vulkan, cpu"):
        make_request("Llama-3.1-8B-Instruct", hardware=["RX 580"], backend="rocm")


def test_vulkan_prior_on_an_rtx_4090_against_a_published_run() -> None:
    """geerlingguy/ai-benchmarks issue #43 (2025-12-09, llama.cpp build 7340, Vulkan, ngl 99): Llama 3.2 3B
    Instruct Q4_K_M pp512 20,323 tok/s on an RTX 4090.  The Vulkan prior on the card's INT8 rate lands within its
    own band (+-50 % for priors); on the FP16 rate it would be 63 % low."""
    r = fit(make_request("Llama-3.2-3B-Instruct", quant="Q4_K_M", hardware=["RTX 4090"], backend="vulkan",
                         prompt_tokens=512))
    assert r.speed is not None and r.speed.prefill_tokens_per_s is not None and r.speed.prefill_band is not None
    assert r.speed.prefill_tokens_per_s == pytest.approx(20_323, rel=0.25)
    assert r.speed.prefill_band[0] <= 20_323 <= r.speed.prefill_band[1]
