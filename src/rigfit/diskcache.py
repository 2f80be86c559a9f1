"""A small on-disk cache for values that are pure in their key and costly to derive: the per-(model, quant)
weight summaries a catalog listing needs (about 300 pairs whose tensor tables are most of a cold
``rigfit models --hardware``).

One JSON file per code fingerprint lives under ``$RIGFIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/rigfit`` or
``~/.cache/rigfit``); ``RIGFIT_CACHE_DIR=off`` turns the cache off.  The fingerprint hashes the source files the
values are computed by, so an edited rule never meets an old value; keys hash the
complete frozen inputs.  A missing, unreadable or corrupt file is an empty cache and a failed write is
dropped: the cache can make an answer faster, never different or an error.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_ENTRIES = 20_000  # about 6 MB of summaries; past it nothing more is stored
MAX_FILE_BYTES = 32 * 1024 * 1024


def cache_dir() -> Path | None:
    """Where cache files go, or None when the cache is off."""
    told = os.environ.get("RIGFIT_CACHE_DIR")
    if told is not None:
        return None if told.strip().lower() in ("", "off", "0", "none") else Path(told).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rigfit"


class DiskCache:
    """``get``/``put`` of JSON values by string key; written once, at exit, when something was added."""

    def __init__(self, name: str, sources: tuple[str, ...]) -> None:
        self.name = name
        self.sources = sources  # paths relative to the package: what the values are computed by
        self._entries: dict[str, Any] | None = None
        self._path: Path | None = None
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        if self._entries is not None:
            return self._entries
        self._entries = {}
        folder = cache_dir()
        if folder is None:
            return self._entries
        h = hashlib.sha256(self.name.encode())
        package = Path(__file__).parent
        try:
            for rel in self.sources:
                h.update((package / rel).read_bytes())
        except OSError:
            return self._entries  # sources unreadable (a zipped install): no cache rather than a stale one
        self._path = folder / f"{self.name}-{h.hexdigest()[:16]}.json"
        try:
            if self._path.is_file() and self._path.stat().st_size <= MAX_FILE_BYTES:
                data = json.loads(self._path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self._entries = data
        except (OSError, ValueError, UnicodeDecodeError):
            self._entries = {}
        return self._entries

    def get(self, key: str) -> Any | None:
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        entries = self._load()
        if self._path is None or len(entries) >= MAX_ENTRIES:
            return
        entries[key] = value
        if not self._dirty:
            self._dirty = True
            atexit.register(self.save)

    def save(self) -> None:
        """Write the file (atomically: a temporary file renamed over it); errors are dropped."""
        if not self._dirty or self._path is None or self._entries is None:
            return
        self._dirty = False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(self._entries, fh, separators=(",", ":"))
                os.replace(tmp, self._path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass


def key_of(*parts: object) -> str:
    """A key for frozen values: the hash of their reprs (dataclass reprs list every field)."""
    return hashlib.sha1("\x00".join(repr(p) for p in parts).encode(), usedforsecurity=False).hexdigest()
