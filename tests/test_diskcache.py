"""The weight-summary disk cache (diskcache.py): a warm cache gives the same memory as none, and a damaged,
unwritable or disabled cache is silently no cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rigfit.diskcache import DiskCache, cache_dir, key_of


@pytest.mark.parametrize(("told", "expected"), [("off", None), ("", None), ("/tmp/x", Path("/tmp/x"))])
def test_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, told: str, expected: Path | None) -> None:
    monkeypatch.setenv("RIGFIT_CACHE_DIR", told)
    assert cache_dir() == expected


def test_round_trip_and_damage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path))
    c = DiskCache("t", ("units.py",))
    assert c.get("a") is None
    c.put("a", [1, 2])
    c.save()
    files = list(tmp_path.glob("t-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text()) == {"a": [1, 2]}
    assert DiskCache("t", ("units.py",)).get("a") == [1, 2]
    assert DiskCache("t", ("quant.py",)).get("a") is None  # another fingerprint: another file
    files[0].write_text("{not json")
    assert DiskCache("t", ("units.py",)).get("a") is None


def test_an_unwritable_folder_is_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(blocker / "sub"))
    c = DiskCache("t", ("units.py",))
    c.put("a", 1)
    c.save()  # no error
    assert not (blocker / "sub").exists()


def test_keys_differ_by_every_field() -> None:
    assert key_of("a", 1) != key_of("a", 2) != key_of("b", 2)


@pytest.mark.slow
def test_a_warm_cache_gives_the_same_listing(tmp_path: Path) -> None:
    """Two runs of ``models --hardware`` in fresh processes, the second reading what the first wrote."""
    env = {"RIGFIT_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "rigfit", "models", "--hardware", "RTX 4090", "--json"]
    cold = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert list(tmp_path.glob("weights-*.json"))
    warm = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    off = subprocess.run(cmd, capture_output=True, text=True, env={**env, "RIGFIT_CACHE_DIR": "off"},
                         check=True).stdout
    assert json.loads(cold) == json.loads(warm) == json.loads(off)
