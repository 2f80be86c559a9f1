"""Plain-text layout for the terminal: tables whose long cells fold onto more lines (never cut), and paragraphs
whose wrapped lines keep their indentation.  Both lay out at the console's width (80 columns when the output
is not a terminal), so every name stays whole and distinguishable at 80 columns."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

BREAK_AFTER = "-_/,. "  # a folded cell breaks after these (a model name at its hyphens)
_MARKER = re.compile(r"^(\s*)((?:note: |warning: |\[\d+\] |- |\* |\d+\. )?)")


def fold(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, broken after a hyphen, underscore, slash, comma,
    dot or space where one is near enough, else inside the word."""
    width = max(1, width)
    out: list[str] = []
    rest = text
    while len(rest) > width:
        cut = max((rest.rfind(c, 0, width) for c in BREAK_AFTER), default=-1) + 1
        if cut < width // 3:  # no break point in the last two thirds: cut inside the word
            cut = width
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
    out.append(rest)
    return out


def hang(line: str, width: int) -> list[str]:
    """One line wrapped at ``width``; its continuation lines start under the text after its indentation and
    its marker (``note:``, ``[1]``, ``-``), so a wrapped note still reads as part of its block; a top-level
    line continues two columns in."""
    if len(line) <= width:
        return [line]
    m = _MARKER.match(line)
    lead = len(m.group(1)) + len(m.group(2)) if m else 0
    if lead > width // 2:
        lead = len(m.group(1)) if m else 0
    lead = lead or 2  # a top-level line continues indented, so the next line's start stays visible
    return textwrap.wrap(line, width=width, subsequent_indent=" " * lead, break_on_hyphens=False,
                         break_long_words=True) or [line]


def wrap_lines(lines: Iterable[str], width: int) -> list[str]:
    return [piece for line in lines for piece in hang(line, width)]


@dataclass(frozen=True)
class Col:
    header: str
    width: int
    right: bool = False  # right-aligned (numbers)
    grow: bool = False  # takes the room a wider console gives


def table_lines(cols: Sequence[Col], rows: Iterable[Sequence[str]], width: int = 80) -> list[str]:
    """Header, rule and rows; a cell longer than its column folds onto the row's next lines, aligned."""
    spare = max(0, width - (sum(c.width for c in cols) + len(cols) - 1))
    growers = [i for i, c in enumerate(cols) if c.grow]
    widths = [c.width for c in cols]
    for n, i in enumerate(growers):
        widths[i] += spare // len(growers) + (1 if n < spare % len(growers) else 0)

    def render(cells: Sequence[list[str]]) -> list[str]:
        out = []
        for k in range(max(len(c) for c in cells)):
            parts = []
            for col, w, cell in zip(cols, widths, cells, strict=True):
                piece = cell[k] if k < len(cell) else ""
                parts.append(piece.rjust(w) if col.right else piece.ljust(w))
            out.append(" ".join(parts).rstrip())
        return out

    lines = render([fold(c.header, w) for c, w in zip(cols, widths, strict=True)])
    lines.append("-" * min(width, sum(widths) + len(widths) - 1))
    for row in rows:
        lines += render([fold(str(v), w) for v, w in zip(row, widths, strict=True)])
    return lines


class Wrapped:
    """A rich renderable: lines laid out at the console's width by ``layout(width)``."""

    def __init__(self, layout: Any) -> None:
        self._layout = layout

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.text import Text

        yield Text("\n".join(self._layout(options.max_width)), overflow="ignore", no_wrap=True)


def paragraph_block(lines: Sequence[str]) -> Wrapped:
    """Free-text lines, each wrapped with its hanging indent at the console's width."""
    return Wrapped(lambda width: wrap_lines(lines, width))
