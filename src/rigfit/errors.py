"""The few exceptions rigfit raises.

Every message is one line that repeats the bad value and, where a name was looked up, the
closest valid names.  The library never mentions CLI flags: an error names the request fields it is
about (``options``, the ``FitRequest`` field names), and each shell spells them its own way (the CLI turns
any RigfitError into ``rigfit: error: <message> (<its flags>)`` on stderr and exit code 2).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence


class RigfitError(Exception):
    """Base class: a problem with what the user asked for, never a bug.  ``options``: the request fields the
    problem is about, for the shells to name in their own words."""

    options: tuple[str, ...] = ()

    def __init__(self, message: str = "", *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class InvalidInput(RigfitError):
    """A value outside what rigfit (or the engine it models) accepts."""


class UnknownName(RigfitError):
    """A name that does not resolve; carries the closest valid names."""

    def __init__(self, kind: str, value: str, candidates: Iterable[str], *, hint: str = "") -> None:
        self.kind = kind
        self.value = value
        candidates = list(candidates)
        self.suggestions = close_matches(value, candidates)
        shown = value if len(value) <= 80 else value[:77] + "..."
        msg = f"unknown {kind} {shown!r}"
        pool = list(dict.fromkeys(candidates))
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions)
        elif len(pool) > 12:  # a list cut at twelve names would read as the whole of it
            msg += f"; no close match among {len(pool):,} known names (such as {', '.join(pool[:3])})"
        elif pool:
            msg += "; valid: " + ", ".join(pool)
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class UnknownModel(UnknownName):
    def __init__(self, value: str, candidates: Iterable[str], *, hint: str = "") -> None:
        super().__init__("model", value, candidates, hint=hint)


class UnknownQuant(UnknownName):
    def __init__(self, value: str, candidates: Iterable[str], *, hint: str = "") -> None:
        super().__init__("quantization", value, candidates, hint=hint)


class AmbiguousHardware(RigfitError):
    """A hardware name that matches several catalog devices; carries them."""

    def __init__(self, value: str, candidates: Sequence[str]) -> None:
        self.candidates = list(candidates)
        super().__init__(f"hardware name {value!r} is ambiguous: " + ", ".join(self.candidates[:8])
                         + (", ..." if len(self.candidates) > 8 else ""), options=("hardware",))


class NoBuild(RigfitError):
    """No build meets every constraint; the message names the failing constraint and the nearest option."""


class BadModelFile(RigfitError):
    """A GGUF, config.json or safetensors file that cannot be read as a model."""


class CatalogError(RigfitError):
    """An embedded or user catalog entry that fails validation (names the bad key)."""


class NotAvailableOffline(RigfitError):
    """A Hugging Face repo that is not in the local cache while offline."""


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "", text.lower())


def close_matches(value: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Up to ``n`` candidates closest to ``value`` (case and punctuation ignored)."""
    pool = list(dict.fromkeys(candidates))
    by_norm: dict[str, str] = {}
    for c in pool:
        by_norm.setdefault(_norm(c), c)
    key = _norm(value)
    hits = difflib.get_close_matches(key, list(by_norm), n=n, cutoff=0.55)
    # Substring matches ("32b" -> every 32B model) rank after the fuzzy ones.
    if key:
        for k in by_norm:
            if len(hits) >= n:
                break
            if key in k and k not in hits:
                hits.append(k)
    return [by_norm[h] for h in hits[:n]]
