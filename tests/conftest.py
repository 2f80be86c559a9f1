from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from rigfit.models.catalog import default_catalog
from rigfit.models.spec import ModelSpec

# the weight-summary disk cache (diskcache.py) goes to a fresh folder, never the user's ~/.cache
os.environ["RIGFIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="rigfit-test-cache-")
# and the calibration file (calstore.py) to another: tests never read or write the user's own
os.environ["RIGFIT_CONFIG_DIR"] = tempfile.mkdtemp(prefix="rigfit-test-config-")

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("RIGFIT_HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``rigfit ARGS`` in-process: exit code, stdout, stderr."""
    from rigfit.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def spec(name: str) -> ModelSpec:
    return default_catalog().lookup(name)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sparse Q4_K_M GGUF shaped like Qwen2.5-Coder-0.5B (tied embeddings, 151,936-token vocab)."""
    from rigfit.models.gguf_write import write_sparse_gguf

    path = tmp_path_factory.mktemp("gguf") / "qwen-0.5b-q4_k_m.gguf"
    write_sparse_gguf(path, spec("Qwen2.5-Coder-0.5B-Instruct"), "Q4_K_M")
    return path
