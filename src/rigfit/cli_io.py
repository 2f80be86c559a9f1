"""The CLI's shared output and argument helpers (the commands live in ``cli`` and ``cli_advise``)."""

from __future__ import annotations

import json
from typing import Any

import click


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2))


def print_renderable(renderable: Any) -> None:
    from rich.console import Console

    Console(soft_wrap=False, markup=False).print(renderable)  # text from files is never read as markup


def parse_params(text: str | None) -> int | None:
    from .options import parse_params as _parse

    return _parse(text)


def parse_ctx(text: str | None) -> int | None:
    from .options import parse_ctx as _parse

    return _parse(text)


def parse_size(text: str | None) -> int | None:
    from .options import parse_size as _parse

    return _parse(text)


__all__ = ["emit_json", "parse_ctx", "parse_params", "parse_size", "print_renderable"]
