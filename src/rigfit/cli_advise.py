"""The advisor's commands: this machine (``machine``, what plain ``rigfit`` runs), what to buy
(``recommend``) and the generated guide (``guide``); registered on the main group by ``cli``."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_io import emit_json, parse_ctx, print_renderable
from .errors import InvalidInput

_stack_option = click.option("--model", "-m", "models", multiple=True,
                             help="A model of the stack (repeatable; default: the guides' 32B stack).")
_workload_option = click.option("--workload", "-w", default="chat", show_default=True,
                                help="chat | code | reasoning | rag | lora | qlora | full-finetune")


@click.command()
@_stack_option
@_workload_option
@click.option("--no-calibration", is_flag=True, default=False,
              help="Ignore this machine's calibration (rigfit calibrate).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def machine(models: tuple[str, ...], workload: str, no_calibration: bool, as_json: bool) -> None:
    """This machine (detected) running the stack, and the cheapest build that runs all of it well.
    What plain `rigfit` does.

    \b
    Examples:
      rigfit machine --model llama3.1:8b --workload code
    """
    from .advise import machine_report
    from .calstore import user_calibration
    from .hardware.detect import detect

    rep = machine_report(detect(), models=models or None, workload=workload,
                         calibration=user_calibration(no_calibration))
    if as_json:
        from .report.advice import machine_dict

        emit_json(machine_dict(rep))
        return
    from .report.advice import machine_text

    print_renderable(machine_text(rep))


@click.command()
@_stack_option
@click.option("--quant", "-q", help="Quantization for every model (default Q4_K_M).")
@click.option("--ctx", "-c", help="Context length (inference) or sequence length (training); default: the workload's.")
@_workload_option
@click.option("--min-tps", type=float, help="Slowest acceptable decode speed, tokens/s (default: the workload's).")
@click.option("--max-ttft", type=float, help="Longest acceptable wait for the first token, seconds (default: the "
              "workload's).")
@click.option("--budget", type=float, help="Most the whole build may cost, USD.")
@click.option("--kwh-price", type=float, default=0.17, show_default=True,
              help="Electricity price, USD per kWh, for each build's running cost.")
@click.option("--have", help="Upgrade mode: the parts you keep, e.g. \"Ryzen 7 5800X, 32GB DDR4, 750W, B550\", or "
              "this-machine; only GPUs (and a PSU or RAM where too small) are priced.")
@click.option("--platform", default="any", show_default=True, help="windows | linux | macos | any")
@click.option("--form", default="any", show_default=True, help="desktop | laptop | mini | any")
@click.option("--condition", default="any", show_default=True, help="new | used | any (the GPUs)")
@click.option("--vendor", default="any", show_default=True, help="nvidia | amd | intel | apple | any")
@click.option("--top", default=5, show_default=True, type=int, help="How many builds to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def recommend(models: tuple[str, ...], quant: str | None, ctx: str | None, workload: str, min_tps: float | None,
              max_ttft: float | None, budget: float | None, kwh_price: float, have: str | None, platform: str,
              form: str, condition: str, vendor: str, top: int, as_json: bool) -> None:
    """Ranked complete builds (GPUs or a Mac, RAM, CPU, storage, PSU, cooling) with dated prices that run
    every model of the stack well for the workload; the price/speed front; what the cheapest cannot do;
    the cheaper builds that miss one target, and what would let them pass.

    \b
    Examples:
      rigfit recommend -m qwen2.5-coder:32b -m deepseek-r1:32b --budget 3000
      rigfit recommend -m llama3.3:70b --workload chat
      rigfit recommend -m qwen3:32b --have "Ryzen 7 5800X, 32GB DDR4, 750W, B550"
    """
    from .advise import Request
    from .advise import recommend as _recommend
    from .advise.upgrade import resolve_have
    from .api import DEFAULT_STACK

    kept = resolve_have(have) if have is not None else None
    req = Request(models=models or DEFAULT_STACK, quant=quant, context_tokens=parse_ctx(ctx), workload=workload,
                  min_tokens_per_s=min_tps, max_ttft_s=max_ttft, budget_usd=budget, platform=platform, form=form,
                  condition=condition, vendor=vendor, top=top, kwh_price_usd=kwh_price, have=kept)
    rec = _recommend(req)
    if as_json:
        from .report.advice import recommendation_dict

        emit_json(recommendation_dict(rec))
        return
    from .report.advice import recommendation_text

    print_renderable(recommendation_text(rec))


@click.command()
@_stack_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the guide's sections as JSON.")
def guide(models: tuple[str, ...], fmt: str, out_path: str | None, as_json: bool) -> None:
    """The hardware guide for a stack, with the sections of the hand-written guides (sweet spot, tiers, memory
    math, Mac vs PC, summary, model size to hardware, platform rules, training), every number computed.

    \b
    Examples:
      rigfit guide -m llama3.1:8b -m qwen2.5-coder:14b --format html
    """
    from importlib.metadata import version

    from .guide import build_guide

    g = build_guide(models)
    if as_json:
        from dataclasses import asdict

        emit_json(asdict(g))
        return
    from .report.guide_out import guide_html, guide_markdown

    text = (guide_html if fmt == "html" else guide_markdown)(g, generated=version("rigfit"))
    if out_path:
        from .safeio import is_existing_path

        if is_existing_path(out_path) and not Path(out_path).is_file():
            raise InvalidInput(f"--out {out_path[:200]!r} is not a regular file")
        try:
            with open(out_path, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise InvalidInput(f"cannot write {out_path!r}: {exc.strerror or exc}") from None
        click.echo(f"wrote {out_path}")
        return
    click.echo(text, nl=False)


__all__ = ["guide", "machine", "recommend"]
