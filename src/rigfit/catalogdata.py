"""The embedded catalogs (``data/*.toml``) as parsed values, fast.

The TOML files are the source: every entry with its ``source`` and ``as_of``, edited by hand and reviewed.
Parsing them with tomllib costs about 60 ms, most of a cold ``rigfit`` run, so each has a compiled JSON copy
(``data/compiled/NAME.json``) that records the SHA-256 of the TOML it was made from; the copy is used only
while that digest matches, else the TOML is parsed (same values, slower).  After editing a catalog,
regenerate the copies with ``python -m rigfit.catalogdata``; ``tests/test_catalog.py`` fails on a stale one.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import CatalogError

NAMES = ("apple", "builds", "gpus", "links", "models", "platforms", "speed_fit", "workloads")


def _data() -> Any:
    return resources.files("rigfit").joinpath("data")


def embedded(name: str) -> dict[str, Any]:
    """``data/NAME.toml`` parsed: from its compiled copy when the copy is current."""
    raw = _data().joinpath(f"{name}.toml").read_bytes()
    compiled = _data().joinpath("compiled", f"{name}.json")
    if compiled.is_file():
        doc = json.loads(compiled.read_bytes())
        if doc.get("sha256") == hashlib.sha256(raw).hexdigest():
            data: dict[str, Any] = doc["data"]
            return data
    return parse_toml(raw, f"rigfit/data/{name}.toml")


def parse_toml(raw: bytes, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{where}: not valid TOML: {exc}") from None


def compile_all(folder: Path) -> list[Path]:
    """Write ``compiled/NAME.json`` beside each catalog in ``folder`` (the package's data folder)."""
    out = []
    (folder / "compiled").mkdir(exist_ok=True)
    for name in NAMES:
        raw = (folder / f"{name}.toml").read_bytes()
        data = parse_toml(raw, str(folder / f"{name}.toml"))
        if json.loads(json.dumps(data)) != data:
            raise CatalogError(f"{name}.toml holds a value JSON cannot carry (a TOML date or time?)")
        target = folder / "compiled" / f"{name}.json"
        target.write_text(json.dumps({"sha256": hashlib.sha256(raw).hexdigest(), "data": data},
                                     separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        out.append(target)
    return out


if __name__ == "__main__":  # python -m rigfit.catalogdata
    for path in compile_all(Path(__file__).parent / "data"):
        print(f"wrote {path}")
    sys.exit(0)


__all__ = ["NAMES", "compile_all", "embedded", "parse_toml"]
