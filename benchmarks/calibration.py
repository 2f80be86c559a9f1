"""Where the calibration CSVs are: ``$RIGFIT_CALIBRATION_DIR``, else ``../shared/calibration`` next to the
checkout.  The fitting and accuracy scripts need them; rigfit itself and its tests do not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "RIGFIT_CALIBRATION_DIR"


def calibration_dir() -> Path:
    env = os.environ.get(ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "calibration"


def calibration_file(name: str) -> Path:
    return calibration_dir() / name


def missing_calibration(*paths: Path) -> str | None:
    """One line naming the first calibration file that is not there (and how to point at it), or None."""
    for p in paths:
        if not p.is_file():
            return (f"calibration file not found: {p} (these scripts refit rigfit's constants from the "
                    f"project's calibration set; set {ENV} to the folder that holds it)")
    return None


def exit_if_missing(*paths: Path) -> None:
    line = missing_calibration(*paths)
    if line is not None:
        print(line, file=sys.stderr)
        raise SystemExit(2)
