"""Command-line interface: a thin shell over the library.  Every command has --json and --help.

Errors from the library (RigfitError) and from argument parsing become one line on stderr and exit
code 2; nothing here computes what the library should.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from .cli_advise import guide, machine, recommend
from .cli_bench import bench, calibrate
from .cli_io import emit_json as _emit_json
from .cli_io import parse_ctx, parse_params
from .cli_io import parse_size as _size
from .cli_io import print_renderable as _print
from .errors import InvalidInput, RigfitError
from .flags import error_line

EXIT_BAD_INPUT = 2
_HOST = re.compile(r"[A-Za-z0-9.:%\-\[\]]{1,253}")  # a host name, IPv4 or IPv6 address
_fit_options = [
    click.option(
        "--quant", "-q",
        help="Quantization: Q4_K_M, Q8_0, IQ4_XS, AWQ, GPTQ, NF4, MLX-4BIT, EXL2-4.5, FP8, BF16."),
    click.option("--ctx", "-c", help="Context length in tokens per sequence (8192, 32k, or max with --hardware)."),
    click.option("--kv-cache", help="KV-cache type: f16, q8_0, q4_0 (llama.cpp); fp8 (vLLM); q8/q4 (MLX, EXL2)."),
    click.option("--kv-cache-v", help="The V cache's type where it differs from --kv-cache's, which then sets the K "
                 "cache's (llama.cpp -ctk / -ctv, LM Studio)."),
    click.option("--engine", "-e",
                 help="llama.cpp (default), ollama, lmstudio, llamafile, vllm, mlx, transformers, exllamav2."),
    click.option("--flash-attn", type=click.Choice(["on", "off", "auto"]), default=None,
                 help="Flash attention (default: the engine's choice)."),
    click.option("--swa-full", is_flag=True, default=None,
                 help="llama.cpp --swa-full: full-size KV cache on sliding-window layers."),
    click.option("--no-op-offload", "no_op_offload", is_flag=True, default=None,
                 help="llama.cpp --no-op-offload: prompts run the matmuls of weights kept in RAM on the CPU "
                 "instead of copying them to the GPU."),
    click.option("--threads", "-t", "threads", type=int,
                 help="CPU threads (llama.cpp -t, Ollama num_thread): the cores that run the layers kept in RAM "
                 "(default: one per physical core)."),
    click.option("--mmproj", is_flag=True, default=None,
                 help="Load the vision projector (llama.cpp --mmproj) of a vision-language model."),
    click.option("--logits-all", is_flag=True, default=None,
                 help="Size llama.cpp's compute buffer as the bindings (llama-cpp-python) do: logits for every "
                 "token of a micro-batch, not one per sequence as llama-server."),
    click.option("--batch", type=int, help="Logical batch (llama.cpp -b, default 2048)."),
    click.option("--ubatch", type=int, help="Physical micro-batch (llama.cpp -ub, default 512)."),
    click.option("--parallel", "-np", "n_seq", type=int, default=1, show_default=True,
                 help="Parallel sequences, each with its own context."),
    click.option("--users", help="Users answered at once (each a parallel sequence with the full context), "
                 "or 'max' for the most that keep the plan's verdict."),
    click.option("--backend", help="cuda, rocm, metal, vulkan, cpu (default: the engine's usual one)."),
    click.option("--hardware", "-H", multiple=True,
                 help="Device(s): a catalog name with optional 'Nx ' prefix, or a custom .toml; repeatable."),
    click.option("--gpu-memory", help="The GPU's memory (24GB = 24 GiB): vLLM sizes its KV pool from it."),
    click.option("--gpu-memory-utilization", type=float, help="vLLM's fraction of GPU memory (default 0.92)."),
    click.option("--ram", help="System RAM of the described machine (64GB = 64 GiB, as memory is sold); default "
                 "64 GiB, or the CPU platform's."),
    click.option("--headroom", help="Memory kept free on each GPU (1GB = 1 GiB; default 1 GiB as llama.cpp's "
                 "own fit keeps, 0 for vLLM, which keeps its own)."),
    click.option("--os", "os_name", help="linux (default), windows or macos: the OS's reserve on the GPU "
                 "(Windows WDDM keeps max(0.5 GiB, 5 %))."),
    click.option("--display", is_flag=True, default=False,
                 help="A desktop runs on the first GPU (~0.5 GiB for the compositor and apps)."),
    click.option("--kwh-price", type=float, help="Electricity price, USD per kWh, for the running cost (default "
                 "0.17, the 2025 US residential average)."),
    click.option("--prompt-tokens", type=int,
                 help="Prompt length for prefill speed and time to first token (default: 512, or what --ctx holds)."),
    click.option("--gen-tokens", type=int,
                 help="Answer length for decode speed and total time (default: 128, or what --ctx holds)."),
    click.option("--depth", "depth_tokens", type=int, default=0, show_default=True,
                 help="Tokens already in the KV cache when the prompt and the answer start (llama-bench -d)."),
    click.option("--split-mode", type=click.Choice(["layer", "row"]), help="llama.cpp multi-GPU split mode."),
    click.option("--gpu-layers", "-ngl", type=int, help="llama.cpp -ngl (default: as many as fit)."),
    click.option("--n-cpu-moe", type=int, help="llama.cpp --n-cpu-moe: keep the MoE experts of the first N layers "
                 "in RAM (default: as few as fit)."),
    click.option("--tensor-split", help="llama.cpp --tensor-split proportions, e.g. 3,1."),
    click.option("--tensor-parallel", "-tp", type=int, help="vLLM --tensor-parallel-size."),
    click.option("--pipeline-parallel", "-pp", type=int, help="vLLM --pipeline-parallel-size."),
    click.option("--node", "nodes", multiple=True,
                 help="One machine of a cluster (repeat per machine): devices, then an optional RAM size after a "
                 "comma: 'M3 Ultra 512GB', '2x RTX 3090, 64GB'."),
    click.option("--link", help="What joins the cluster's machines: 1gbe, 2.5gbe, 10gbe, 25gbe, 25gbe-rdma, 100gbe, "
                 "200gbe, tb4, tb5, tb5-rdma, ib-hdr, ib-ndr."),
    click.option("--cluster", "cluster_file", type=click.Path(dir_okay=False),
                 help="A TOML cluster: [[node]] tables (hardware = [...], ram = \"64GB\") and link = \"tb5-rdma\" "
                 "(or a [link] table with gb_s, rtt_us, rdma)."),
    click.option("--cluster-mode", type=click.Choice(["pipeline", "tensor"]),
                 help="How a cluster splits the model (default: tensor over RDMA where the engine can, else "
                 "pipeline)."),
    click.option("--no-calibration", is_flag=True, default=False,
                 help="Ignore this machine's calibration (rigfit calibrate): the model's own prediction."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table."),
]


def _fit(model: str, o: dict[str, Any]) -> Any:
    """One pipeline run for the shared fit options."""
    from .api import fit
    from .options import request_from_options

    return fit(request_from_options(model, _options(o)))


def _options(o: dict[str, Any]) -> Any:
    """CLI names -> FitOptions."""
    from .options import FitOptions

    return FitOptions(
        quant=o["quant"], ctx=o["ctx"], kv_cache=o["kv_cache"], kv_cache_v=o.get("kv_cache_v"), engine=o["engine"],
        flash_attn=o["flash_attn"],
        swa_full=o.get("swa_full") or None, logits_all=o.get("logits_all") or None,
        mmproj=o.get("mmproj") or None, op_offload=False if o.get("no_op_offload") else None,
        threads=o.get("threads"),
        batch=o["batch"], ubatch=o["ubatch"], n_seq=o["n_seq"], users=o.get("users"), backend=o["backend"],
        hardware=tuple(o["hardware"]),
        gpu_memory=o["gpu_memory"], gpu_memory_utilization=o["gpu_memory_utilization"], ram=o["ram"],
        prompt_tokens=o["prompt_tokens"], gen_tokens=o["gen_tokens"], depth_tokens=o["depth_tokens"],
        split_mode=o["split_mode"],
        gpu_layers=o["gpu_layers"], n_cpu_moe=o.get("n_cpu_moe"), tensor_split=o["tensor_split"],
        tensor_parallel=o["tensor_parallel"],
        pipeline_parallel=o["pipeline_parallel"], command=o.get("command"), headroom=o.get("headroom"),
        os=o.get("os_name"), display=bool(o.get("display")), kwh_price=o.get("kwh_price"),
        calibration=_calibration(bool(o.get("no_calibration"))), nodes=tuple(o.get("nodes") or ()),
        link=o.get("link"), cluster_mode=o.get("cluster_mode"), cluster_file=o.get("cluster_file"))


def _calibration(disabled: bool) -> Any:
    from .calstore import user_calibration

    return user_calibration(disabled)


def fit_options(f: Any) -> Any:
    for opt in reversed(_fit_options):
        f = opt(f)
    return f


class RigfitGroup(click.Group):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text("Example:")
        with formatter.indentation():
            formatter.write_text("rigfit fit qwen2.5-coder:32b --quant Q4_K_M --ctx 16k")


@click.group(cls=RigfitGroup, invoke_without_command=True)
@click.version_option(package_name="rigfit")
@click.pass_context
def main_group(ctx: click.Context) -> None:
    """rigfit: what LLMs can this machine run, with which settings, and what to buy.

    With no command: detect this machine, show how it runs the model stack of the guide "Hardware
    Recommendations for Local AI" (Qwen2.5-Coder-32B, DeepSeek-R1-Distill-Qwen-32B) and the cheapest build
    that runs all of it well.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(machine)


@main_group.command()
@click.argument("model")
@fit_options
@click.option("--command", "command",
              help="Print the launch command for this plan: llama.cpp, ollama, ollama-mlx, lmstudio, llamafile, vllm "
                   "or mlx (plans for that engine unless --engine says otherwise).")
@click.option("--this-machine", is_flag=True, help="Plan for the detected GPUs and RAM of this machine.")
@click.option("--curve", is_flag=True, help="Also the same plan at contexts from 1k to the model's maximum.")
def fit(model: str, as_json: bool, this_machine: bool, curve: bool, **opts: Any) -> None:
    """Itemized memory for MODEL: weights, KV cache, compute buffers, runtime overhead.
    With --hardware: where each layer goes (verdict gpu / partial_offload / cpu / does_not_fit) and how fast
    it runs (prefill and decode tokens/s, time to first token); without --quant, the best quant that fits.

    MODEL is a catalog name or alias (an Ollama tag, an HF repo id), a .gguf file,
    a config.json or a model folder.

    \b
    Examples:
      rigfit fit llama3.1:8b -q Q5_K_M --ctx 32k --kv-cache q8_0 -H 3090
      rigfit fit qwen2.5-coder:32b --ctx 16k -H "2x RTX 3060" --command llama.cpp
      rigfit fit Qwen3.6-35B-A3B-UD-Q4_K_XL.gguf -H 4070 --ram 32GB
    """
    system = None
    if this_machine:
        if opts["hardware"]:
            raise InvalidInput("give --hardware or --this-machine, not both")
        from .hardware.detect import detect
        from .thismachine import this_machine as detected_system

        system, _ = detected_system(detect())
    from .api import fit as run_pipeline
    from .options import context_curve, request_from_options

    r = run_pipeline(request_from_options(model, _options(opts), system=system))
    points = context_curve(r) if curve else None
    lc = None
    if opts.get("command"):
        from .launch import launch

        lc = launch(r, opts["command"])
    if as_json:
        from .report.json_out import fit_dict

        doc = fit_dict(r)
        if lc is not None:
            from .report.launch_out import launch_dict

            doc["launch"] = launch_dict(lc)
        if points is not None:
            from .report.json_out import curve_dict

            doc["context_curve"] = curve_dict(points)
        _emit_json(doc)
        return
    if lc is not None:
        from .report.launch_out import launch_text

        click.echo(launch_text(lc), nl=False)
        _warn(r.memory.warnings)
        return
    from .report.terminal import fit_table

    _print(fit_table(r))
    if points is not None:
        from .report.terminal import curve_table

        _print(curve_table(points))
    _warn(r.memory.warnings)


def _warn(warnings: tuple[str, ...]) -> None:
    """A plan's warnings on stderr, folded at 80 columns."""
    import textwrap

    for w in warnings:
        click.echo(textwrap.fill(f"warning: {w}", 80, subsequent_indent="  ", break_on_hyphens=False), err=True)


@main_group.command("compare")
@click.argument("model")
@fit_options
def compare_cmd(model: str, as_json: bool, **opts: Any) -> None:
    """MODEL on several machines side by side: verdict and memory, prefill, decode, first token, the longest
    context, price and running cost.  Each --hardware is one machine ("2x RTX 3090" is one machine).

    \b
    Examples:
      rigfit compare qwen3.6:35b-a3b -H 4090 -H "2x 3090" -H "M4 Max 128GB"
      rigfit compare llama3.3:70b -q Q4_K_M -H "DGX Spark" -H "Strix Halo 128GB"
    """
    from .compare import compare

    machines = tuple(opts["hardware"])
    if not 2 <= len(machines) <= 6:
        raise InvalidInput(f"compare needs 2 to 6 machines, got {len(machines)}", options=("hardware",))
    results = compare([_fit(model, {**opts, "hardware": (h,)}) for h in machines])
    if as_json:
        from .report.json_out import compare_dict

        _emit_json(compare_dict(results))
        return
    from .report.terminal import compare_table

    _print(compare_table(results))


@main_group.command()
@click.argument("models", nargs=-1)
@fit_options
def stack(models: tuple[str, ...], as_json: bool, **opts: Any) -> None:
    """Memory for several models at once (default: the 32B stack of "Hardware Recommendations for Local AI").

    \b
    Examples:
      rigfit stack qwen2.5-coder:32b deepseek-r1:32b --ctx 16k
    """
    from .api import DEFAULT_STACK

    results = [_fit(m, opts) for m in (models or DEFAULT_STACK)]
    if as_json:
        from .report.json_out import fit_dict

        _emit_json({"results": [fit_dict(r) for r in results]})
        return
    from .report.terminal import fit_table

    for r in results:
        _print(fit_table(r))


@main_group.group(invoke_without_command=True)
@click.option("--hardware", "-H", multiple=True, help="What runs on this hardware (catalog name, 'Nx NAME', .toml).")
@click.option("--this-machine", is_flag=True, help="What runs on the detected hardware of this machine.")
@click.option("--ctx", "-c", default="8192", show_default=True, help="Context length for the verdicts.")
@click.option("--engine", "-e", default="llama.cpp", show_default=True, help="Engine to plan for.")
@click.option("--ram", help="System RAM of the described machine (default 64 GiB).")
@click.option("--task", type=click.Choice(["chat", "code", "reasoning", "vision"]), help="Only models for this task.")
@click.option("--min-params", help="Only models of at least this many parameters (7B, 30b, 500M).")
@click.option("--headroom", help="Memory kept free on each GPU (default 1 GiB, as llama.cpp's own fit keeps).")
@click.option("--os", "os_name", default="linux", show_default=True, help="linux, windows or macos: its GPU reserve.")
@click.option("--display", is_flag=True, default=False, help="A desktop runs on the first GPU (~0.5 GiB).")
@click.option("--no-calibration", is_flag=True, default=False,
              help="Ignore this machine's calibration (rigfit calibrate).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def models(click_ctx: click.Context, hardware: tuple[str, ...], this_machine: bool, ctx: str, engine: str,
           ram: str | None, task: str | None, min_params: str | None, headroom: str | None, os_name: str,
           display: bool, no_calibration: bool, as_json: bool) -> None:
    """List the embedded model catalog; with --hardware or --this-machine, what runs fully on the GPU,
    with offload, or not at all, at the best quant that fits, with speeds.

    \b
    Examples:
      rigfit models --hardware 3090 --ctx 16k
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from .models.catalog import default_catalog

    if hardware or this_machine:
        from .api import resolve_hardware, what_runs
        from .thismachine import this_machine as detected_system

        if this_machine:
            from .hardware.detect import detect

            system, _ = detected_system(detect())
        else:
            system = resolve_hardware(hardware, os_name=os_name.strip().lower(), display=display)
        results = what_runs(system, context_tokens=parse_ctx(ctx), engine=engine, ram_bytes=_size(ram), task=task,
                            min_params=parse_params(min_params), headroom_bytes=_size(headroom),
                            calibration=_calibration(no_calibration))
        if as_json:
            from .report.json_out import runs_dict

            _emit_json(runs_dict(results))
            return
        from .report.terminal import runs_table

        _print(runs_table(results))
        return
    specs = list(default_catalog().models)
    if task or min_params:
        from .models.tasks import tasks_of

        floor = parse_params(min_params) or 0
        specs = [s for s in specs if (not task or task in tasks_of(s)) and (s.params_total or 0) >= floor]
    if as_json:
        from .report.json_out import model_dict

        _emit_json({"models": [model_dict(s) for s in specs]})
        return
    from .report.terminal import models_table

    _print(models_table(specs))


@models.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", help="Append the entries to this TOML file instead of printing them.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def models_import(paths: tuple[str, ...], out: str | None, as_json: bool) -> None:
    """Catalog entries from config.json files, model folders or Hugging Face cache snapshots: the config
    itself plus name, repo, parameter counts, source and date, validated through the architecture registry.

    \b
    Examples:
      rigfit models import config.json
      rigfit models import ~/models/Qwen3-8B
    """
    import datetime

    from .models.importer import import_config, record_toml

    today = datetime.date.today().isoformat()
    records = [import_config(p, as_of=today) for p in paths]
    if as_json:
        _emit_json({"models": records})
        return
    text = "\n".join(record_toml(r) for r in records)
    if out:
        from pathlib import Path

        with Path(out).open("a", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"wrote {len(records)} entries to {out}")
        return
    click.echo(text, nl=False)


@main_group.group()
def hardware() -> None:
    """Hardware catalog: GPUs, Macs, unified-memory PCs, CPU platforms.

    \b
    Examples:
      rigfit hardware show "RTX 3090" --json
    """


@hardware.command("list")
@click.option("--kind", type=click.Choice(["gpu", "apple", "soc", "cpu"]), help="Only this kind of device.")
@click.option("--min-memory", help="Only devices with at least this much memory (24GB, 48GiB).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def hardware_list(kind: str | None, min_memory: str | None, as_json: bool) -> None:
    """List catalog devices.

    \b
    Examples:
      rigfit hardware list --kind gpu --min-memory 24GB
    """
    from .hardware.catalog import default_hardware

    devs = default_hardware().select(kind, _size(min_memory) or 0)
    if as_json:
        from .report.json_out import device_dict

        _emit_json({"devices": [device_dict(d) for d in devs]})
        return
    from .report.terminal import devices_table

    _print(devices_table(devs))


@hardware.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def hardware_show(name: str, as_json: bool) -> None:
    """One device's facts, forgivingly named ("3090", "rtx3090", "M4 Max 40-core 128GB").

    \b
    Examples:
      rigfit hardware show 4090 --json
    """
    from .hardware.resolve import resolve_device_noted
    from .report.json_out import device_dict

    d, note = resolve_device_noted(name)
    if as_json:
        _emit_json({**device_dict(d), **({"note": note} if note else {})})
        return
    from .report.terminal import devices_table

    _print(devices_table([d]))
    if note:
        click.echo(f"note: {note}")


@hardware.command("detect")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def hardware_detect(as_json: bool) -> None:
    """Detect this machine's GPUs, CPU, RAM and free disk, and map them to the catalog.

    \b
    Examples:
      rigfit hardware detect --json
    """
    from .hardware.detect import detect, detected_dict

    doc = detected_dict(detect())
    if as_json:
        _emit_json(doc)
        return
    from .units import fmt_gib

    click.echo(f"OS {doc['os']}; CPU {doc['cpu']['model']} ({doc['cpu']['cores']} threads); "
               f"RAM {fmt_gib(doc['ram_total_bytes'])}")
    for d in doc["devices"]:
        click.echo(f"{d['name']}: {fmt_gib(d['memory_total_bytes'])} ({d['how']})")
    for n in doc["notes"]:
        click.echo(f"note: {n}")


for _command in (machine, recommend, guide, bench, calibrate):  # cli_advise, cli_bench
    main_group.add_command(_command)


@main_group.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default serves this machine only.")
@click.option("--port", default=8765, show_default=True, type=int, help="TCP port.")
@click.option("--json", "as_json", is_flag=True, help="Print where it serves as JSON, then serve.")
def serve(host: str, port: int, as_json: bool) -> None:
    """The local web page (fit calculator, what to buy, guide, launch commands) and its JSON API
    (/api/fit, /api/recommend, /api/models, /api/hardware, /api/guide; schema at /openapi.json).

    \b
    Examples:
      rigfit serve --port 8765
    """
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port must be between 1 and 65535, got {port}")
    if not _HOST.fullmatch(host):
        raise InvalidInput(f"host {host[:60]!r} is not a host name or IP address")
    import socket

    import uvicorn

    from .web.app import LOOPBACK_HOSTS, create_app

    try:  # one line for a busy port or an unknown host, before uvicorn logs its own error and exits 3
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except (OSError, OverflowError) as exc:
        raise InvalidInput(f"cannot serve on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if as_json:
        _emit_json({"url": url, "api": url + "api/", "openapi": url + "openapi.json"})
    else:
        click.echo(f"rigfit: serving {url} (API {url}api/, schema {url}openapi.json); Ctrl-C stops")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"rigfit: warning: {host} is reachable from other machines; rigfit has no authentication",
                   err=True)
    allowed = ("*",) if host in ("0.0.0.0", "::") else (*LOOPBACK_HOSTS, host)
    try:
        uvicorn.run(create_app(allowed_hosts=allowed), host=host, port=port, log_level="warning",
                    access_log=False, timeout_keep_alive=5, limit_concurrency=256,
                    h11_max_incomplete_event_size=16384)
    except OSError as exc:
        raise InvalidInput(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    except SystemExit:  # uvicorn's own startup failure (a race for the port): its line is already printed
        raise InvalidInput(f"cannot serve on {host}:{port}") from None


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI, turning bad input into one line and exit code 2."""
    try:
        main_group.main(args=argv, prog_name="rigfit", standalone_mode=False)
    except RigfitError as exc:
        click.echo(error_line(exc), err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.Abort:
        click.echo("rigfit: aborted", err=True)
        return 1
    except click.ClickException as exc:
        click.echo(f"rigfit: error: {exc.format_message()}", err=True)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """``rigfit`` console script."""
    sys.exit(main())
