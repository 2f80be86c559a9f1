"""CPU threads (llama.cpp -t, Ollama num_thread, LM Studio's CPU thread pool; issue 16 item 3: the CPU's real
bandwidth with its thread count).

A thread keeps one core busy: an x86 core draws at most rates.CPU_CORE_STREAM_GB_S of RAM bandwidth (Little's
law, fitted on LocalScore's CPU rows), so fewer threads than cores lower decode on the CPU; the prompt's
arithmetic scales with the busy cores x SIMD width.  Threads beyond the physical cores add nothing.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rigfit
from rigfit.errors import InvalidInput
from rigfit.hardware.rates import CPU_CORE_STREAM_GB_S, cpu_stream_gb_s
from tests.conftest import run_cli

MODEL, QUANT = "Llama-3.1-8B-Instruct", "Q4_K_M"


def _cpu(threads: int | None, cpu: str = "Ryzen 7 7700") -> rigfit.FitResult:
    return rigfit.fit(MODEL, quant=QUANT, hardware=[cpu], n_threads=threads)


@pytest.mark.parametrize(("platform", "cores", "isa", "threads", "drawn"), [
    (89.6, 8, "avx512", None, 89.6),  # 8 Zen 4 cores draw the whole 2-channel DDR5-5600 platform (8 x 12 > 89.6)
    (89.6, 8, "avx512", 4, 4 * CPU_CORE_STREAM_GB_S),  # -t 4: four cores' worth
    (89.6, 8, "avx512", 16, 89.6),  # SMT threads beyond the cores draw no more
    (17.1, 4, "i8mm", 1, 17.1 / 4),  # Arm: one core's share of the platform
    (17.1, 4, "i8mm", None, 17.1),
])
def test_bandwidth_the_busy_cores_draw(platform: float, cores: int, isa: str, threads: int | None,
                                       drawn: float) -> None:
    assert cpu_stream_gb_s(platform, cores, isa, threads) == pytest.approx(drawn, rel=1e-9)


def test_fewer_threads_than_cores_decode_and_prefill_slower_on_the_cpu() -> None:
    """An 8-core Ryzen 7 7700: -t 4 draws 48 of 89.6 GB/s (decode at that share, within 5 % for the fixed
    per-token costs) and runs the prompt on half the SIMD units (within 5 %)."""
    whole, half = _cpu(None).speed, _cpu(4).speed
    assert whole is not None and half is not None
    assert half.decode_tokens_per_s / whole.decode_tokens_per_s == pytest.approx(48 / 89.6, rel=0.05)
    assert half.prefill_tokens_per_s is not None and whole.prefill_tokens_per_s is not None
    assert half.prefill_tokens_per_s / whole.prefill_tokens_per_s == pytest.approx(0.5, rel=0.05)
    assert any("4 threads draw about 48 of its 89.6 GB/s" in n for n in half.notes)
    assert _cpu(16).speed == whole  # as many threads as cores or more: the default plan


def test_threads_leave_a_whole_gpu_plan_alone() -> None:
    """With every layer on the GPU the CPU threads do not enter the token time."""
    a = rigfit.fit(MODEL, quant=QUANT, hardware=["RTX 4090"], n_threads=2).speed
    b = rigfit.fit(MODEL, quant=QUANT, hardware=["RTX 4090"]).speed
    assert a is not None and b is not None and a.decode_tokens_per_s == b.decode_tokens_per_s


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=15))
def test_more_threads_never_slower(threads: int) -> None:
    """Law: one more thread never lowers decode or prefill (partial offload of a MoE to a 7700's RAM, op offload
    off so the prompt's RAM-resident matmuls run on the CPU too)."""
    def run(t: int) -> tuple[float, float]:
        s = rigfit.fit("qwen3-30b-a3b", quant=QUANT, hardware=["RTX 4060 8GB", "Ryzen 7 7700"], n_threads=t,
                       op_offload=False).speed
        assert s is not None and s.prefill_tokens_per_s is not None
        return s.decode_tokens_per_s, s.prefill_tokens_per_s
    lo, hi = run(threads), run(threads + 1)
    assert hi[0] >= lo[0] * (1 - 1e-9) and hi[1] >= lo[1] * (1 - 1e-9)


@pytest.mark.parametrize(("engine", "needle"), [
    ("llama.cpp", "-t 6"),
    ("llamafile", "-t 6"),
    ("ollama", "PARAMETER num_thread 6"),
    ("lmstudio", "CPU Thread Pool Size"),
])
def test_launch_commands_carry_the_threads(capsys: pytest.CaptureFixture[str], engine: str, needle: str) -> None:
    code, out, err = run_cli(capsys, "fit", "qwen3-30b-a3b", "-q", QUANT, "-H", "RTX 4060 8GB", "-H", "Ryzen 7 7700",
                             "--threads", "6", "--command", engine)
    assert code == 0, err
    assert needle in out


def test_threads_in_json_settings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "fit", MODEL, "-q", QUANT, "-H", "Ryzen 7 7700", "-t", "4", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"]["n_threads"] == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--threads", "0"], "CPU threads must be between 1 and 1024, got 0 (--threads)"),
    (["--threads", "5000"], "CPU threads must be between 1 and 1024, got 5000 (--threads)"),
    (["--threads", "4", "--engine", "vllm", "-H", "RTX 4090"],
     "vLLM has no setting for a CPU thread count (--threads, --engine)"),
    (["--threads", "4", "--engine", "mlx", "-H", "M4 Max"],
     "MLX has no setting for a CPU thread count (--threads, --engine)"),
])
def test_bad_threads_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                             message: str) -> None:
    code, out, err = run_cli(capsys, "fit", "qwen3-8b", *args)
    assert code == 2 and not out
    assert err.strip() == f"rigfit: error: {message}"


def test_threads_out_of_range_in_the_library() -> None:
    with pytest.raises(InvalidInput, match="CPU threads must be between 1 and 1024"):
        rigfit.fit(MODEL, n_threads=-1)


@pytest.mark.parametrize(("cpu", "ram_gb", "threads", "noted"), [
    ("Xeon Platinum 8259CL", 16, None, True),  # LocalScore's runs: 15.2 GB on a 24-core socket, an AWS instance
    ("AMD EPYC 9634", 8, None, True),
    ("Xeon Platinum 8259CL", 16, 4, False),  # the VM's threads given: planned on them, nothing to say
    ("Xeon Platinum 8259CL", 256, None, False),  # a server's own RAM
    ("Xeon Platinum 8259CL", 24, None, False),  # 1 GiB per core: the least a server board holds (the threshold)
    ("Ryzen 9 5900X", 8, None, False),  # a desktop with little RAM is still a desktop
])
def test_a_server_cpu_with_a_vm_s_ram_says_so(cpu: str, ram_gb: int, threads: int | None, noted: bool) -> None:
    """A server CPU with less RAM than any server of it holds (system.VM_SHARE_RAM_PER_CORE_BYTES per core) is
    likely a cloud VM's slice of the socket: the plan says so and asks for the VM's threads."""
    r = rigfit.fit("qwen3-4b", hardware=[cpu], ram_bytes=ram_gb << 30, n_threads=threads)
    assert r.system is not None
    said = [n for n in r.system.notes if "cloud VM" in n]
    assert bool(said) is noted
    if noted:
        cores = r.system.node.cpu.units if r.system.node.cpu else 0
        assert said[0].startswith(f"{cores} cores with {ram_gb:.1f} GiB of RAM")
