"""The user's calibration file: a readable TOML in the platform's config directory.

Location: ``$RIGFIT_CONFIG_DIR/calibration.toml`` when that is set, else ``$XDG_CONFIG_HOME/rigfit`` or
``~/.config/rigfit`` (Linux), ``~/Library/Application Support/rigfit`` (macOS), ``%APPDATA%\\rigfit``
(Windows).  It holds one ``[[correction]]`` table per (machine, engine, backend) and one ``[[run]]`` table per
measured run it came from, so a later ``rigfit calibrate`` refits from all of them.  Reading validates every
key and names the bad one; nothing here runs at import time.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from .calibration import Calibration, Correction
from .errors import InvalidInput
from .measured import MeasuredRun

FILE_NAME = "calibration.toml"
MAX_FILE_BYTES = 16 << 20


def config_dir() -> Path:
    env = os.environ.get("RIGFIT_CONFIG_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "rigfit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "rigfit"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "rigfit"


def calibration_path() -> Path:
    return config_dir() / FILE_NAME


_CORR_FLOATS = ("decode_scale", "layer_scale", "prefill_scale")
_CORR_OPTIONAL = ("decode_error_before_pct", "decode_error_after_pct", "prefill_error_before_pct",
                  "prefill_error_after_pct")


def _band(v: Any, where: str) -> tuple[float, float]:
    if (not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, (int, float)) for x in v)
            or not 0 < v[0] <= v[1] < 100):
        raise InvalidInput(f"{where}: expected [low, high] ratios, got {v!r}")
    return (float(v[0]), float(v[1]))


def _correction(d: Any, where: str) -> Correction:
    if not isinstance(d, dict):
        raise InvalidInput(f"{where}: expected a table")
    for k in ("machine", "engine", "backend"):
        if not isinstance(d.get(k), str) or not d[k]:
            raise InvalidInput(f"{where}.{k}: expected a name, got {d.get(k)!r}")
    kw: dict[str, Any] = {k: d[k] for k in ("machine", "engine", "backend")}
    for k in _CORR_FLOATS:
        v = d.get(k, 1.0)
        if not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.01 <= v <= 100:
            raise InvalidInput(f"{where}.{k}: expected a scale between 0.01 and 100, got {v!r}")
        kw[k] = float(v)
    for k in ("n_decode_runs", "n_prefill_runs"):
        v = d.get(k, 0)
        if not isinstance(v, int) or v < 0:
            raise InvalidInput(f"{where}.{k}: expected a run count, got {v!r}")
        kw[k] = v
    for k in ("decode_band", "prefill_band"):
        if k in d:
            kw[k] = _band(d[k], f"{where}.{k}")
    for k in _CORR_OPTIONAL:
        if k in d:
            if not isinstance(d[k], (int, float)):
                raise InvalidInput(f"{where}.{k}: expected a number, got {d[k]!r}")
            kw[k] = float(d[k])
    return Correction(**kw)


def read_calibration(path: Path | None = None) -> Calibration:
    """The calibration stored at ``path`` (default: the user's file); empty when there is none."""
    p = path or calibration_path()
    if not p.exists():
        return Calibration()
    if p.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{p}: larger than 16 MiB; not a rigfit calibration file")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{p}: not a readable calibration file ({e}); remove it with the calibration reset"
                           ) from None
    corrs = doc.get("correction", [])
    runs = doc.get("run", [])
    if not isinstance(corrs, list) or not isinstance(runs, list):
        raise InvalidInput(f"{p}: expected [[correction]] and [[run]] tables")
    out_runs = []
    for i, r in enumerate(runs):
        where = f"{p}: run[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("machine"), str):
            raise InvalidInput(f"{where}.machine: expected a name")
        body = {k: v for k, v in r.items() if k != "machine"}
        try:
            out_runs.append((r["machine"], MeasuredRun.from_dict(body)))
        except TypeError as e:
            raise InvalidInput(f"{where}: {e}") from None
        except InvalidInput as e:
            raise InvalidInput(f"{where}: {e}") from None
    return Calibration(corrections=tuple(_correction(c, f"{p}: correction[{i}]") for i, c in enumerate(corrs)),
                       runs=tuple(out_runs))


def user_calibration(disabled: bool = False) -> Calibration | None:
    """The user's calibration, for the shells to put in a request: None when ``disabled``, when there is no
    file or when it holds no correction."""
    if disabled or not calibration_path().exists():
        return None
    cal = read_calibration()
    return cal if cal.corrections else None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def dumps(cal: Calibration, *, updated: str = "") -> str:
    lines = ["# rigfit per-machine calibration: corrections fitted on measured runs (rigfit calibrate).",
             "# decode_scale / layer_scale / prefill_scale multiply the predicted times (decode's streaming",
             "# part, its fixed per-layer part, prefill); bands are measured / calibrated prediction.",
             "# Edit or delete freely; 'rigfit calibrate --reset' removes it."]
    if updated:
        lines.append(f"updated = {_toml_value(updated)}")
    for c in cal.corrections:
        lines += ["", "[[correction]]"]
        for k in ("machine", "engine", "backend", *_CORR_FLOATS, "n_decode_runs", "n_prefill_runs",
                  "decode_band", "prefill_band", *_CORR_OPTIONAL):
            v = getattr(c, k)
            if v is not None:
                lines.append(f"{k} = {_toml_value(v)}")
    for machine, r in cal.runs:
        lines += ["", "[[run]]", f"machine = {_toml_value(machine)}"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in r.to_dict().items()]
    return "\n".join(lines) + "\n"


def write_calibration(cal: Calibration, path: Path | None = None, *, updated: str = "") -> Path:
    p = path or calibration_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".toml.tmp")
    tmp.write_text(dumps(cal, updated=updated), encoding="utf-8")
    tmp.replace(p)
    return p


def reset_calibration(path: Path | None = None) -> bool:
    """Remove the file; True when there was one."""
    p = path or calibration_path()
    if p.exists():
        p.unlink()
        return True
    return False
