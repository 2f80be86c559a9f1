"""The library's least-squares solvers (rigfit.lsq): what the speed fit and per-machine calibration solve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigfit.lsq import lstsq, pinned_lstsq


@pytest.mark.parametrize(("a", "b", "x"), [
    ([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], [1.0, 4.0, 0.0], [1.0, 2.0]),  # exact
    ([[1.0], [1.0], [1.0]], [1.0, 2.0, 6.0], [3.0]),  # the mean
    ([[1.0, 1.0], [2.0, 2.0]], [2.0, 4.0], [1.0, 1.0]),  # dependent columns: the minimum-norm answer
    ([[1e-4, 3.0], [2e-4, 1.0], [3e-4, 2.0]], [1.0, 1.0, 1.5], None),  # scaled columns: checked below
])
def test_lstsq(a: list[list[float]], b: list[float], x: list[float] | None) -> None:
    got = lstsq(a, b)
    if x is not None:
        assert got == pytest.approx(x, abs=1e-9)
    # the normal equations hold at the answer: A^T (A x - b) = 0
    r = [sum(ai * xi for ai, xi in zip(row, got, strict=True)) - bi for row, bi in zip(a, b, strict=True)]
    for j in range(len(a[0])):
        assert sum(a[i][j] * r[i] for i in range(len(a))) == pytest.approx(0.0, abs=1e-9)


def test_pinned_lstsq_pins_a_negative_constant_to_zero() -> None:
    forms = [{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 1.0}, {"a": 3.0, "b": 1.0}]
    measured = [1.0, 2.0, 3.0]  # exactly a = 1, b = 0
    got = pinned_lstsq(forms, measured, {}, robust=False)
    assert got["a"] == pytest.approx(1.0) and got["b"] == pytest.approx(0.0, abs=1e-12)
    forms2 = [{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 1.0}, {"a": 3.0, "b": 1.0}]
    got2 = pinned_lstsq(forms2, [0.5, 1.7, 2.9], {}, robust=True)
    assert got2["b"] >= 0.0


@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_lstsq_agrees_with_lapack(m: int, n: int, seed: int) -> None:
    """The same minimum-norm answer as numpy.linalg.lstsq (LAPACK gelsd), including short and wide systems
    and columns of very different size (seconds per layer beside 1/efficiency in the speed fit)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) * (10.0 ** rng.integers(-4, 4, size=n))
    b = rng.standard_normal(m)
    want = np.linalg.lstsq(a, b, rcond=None)[0]
    got = lstsq(a.tolist(), b.tolist())
    assert got == pytest.approx(want.tolist(), rel=1e-6, abs=1e-9 * float(np.abs(want).max() + 1))


@pytest.mark.parametrize("robust", [True, False])
def test_row_weights_act_as_repeated_rows(robust: bool) -> None:
    """A row weighted 3 counts as the same row given three times (least squares and the robust fit alike); a
    group of rows weighted by 1 / its size has one say however many rows it holds."""
    forms = [{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 1.0}, {"a": 4.0, "b": 1.0}, {"a": 3.0, "b": 2.0}]
    times = [2.2, 3.1, 5.6, 5.3]
    weighted = pinned_lstsq(forms, times, {}, robust=robust, row_weights=[1.0, 1.0, 1.0, 3.0])
    repeated = pinned_lstsq([*forms, forms[3], forms[3]], [*times, times[3], times[3]], {}, robust=robust)
    assert weighted == pytest.approx(repeated, rel=1e-6)
    assert pinned_lstsq(forms, times, {}, robust=robust, row_weights=[1.0] * 4) == \
        pytest.approx(pinned_lstsq(forms, times, {}, robust=robust), rel=1e-12)
