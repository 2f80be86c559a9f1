"""Small least-squares solvers in plain Python (no numpy at run time): the speed fit
(``benchmarks/fit_speed.py``) and per-machine calibration (``rigfit.calibration``) both use them.

``lstsq`` solves min ||A x - b|| by Householder QR (Golub & Van Loan, *Matrix Computations*, 4th ed., 5.2) and
the SVD of R, giving the minimum-norm answer when columns are dependent, as LAPACK's gelsd does for numpy.
``pinned_lstsq`` is the fit's reweighted solve: relative error in the rate, or least absolute error, with
constants that would come out negative pinned to zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

EPS = 2.220446049250313e-16  # float64 machine epsilon


def _householder_r(a: Sequence[Sequence[float]], b: Sequence[float]) -> tuple[list[list[float]], list[float]]:
    """R (n x n, upper triangular) and the first n entries of Q^T b of A = QR (Householder reflections)."""
    m, n = len(a), len(a[0])
    r = [[float(v) for v in row] for row in a]
    y = [float(v) for v in b]
    for k in range(min(m, n)):
        norm = math.sqrt(sum(r[i][k] ** 2 for i in range(k, m)))
        if norm == 0:
            continue
        alpha = -norm if r[k][k] >= 0 else norm
        v = [0.0] * m
        v[k] = r[k][k] - alpha
        for i in range(k + 1, m):
            v[i] = r[i][k]
        vv = sum(v[i] ** 2 for i in range(k, m))
        if vv == 0:
            continue
        for j in range(k, n):
            s = 2 * sum(v[i] * r[i][j] for i in range(k, m)) / vv
            if s:
                for i in range(k, m):
                    r[i][j] -= s * v[i]
        s = 2 * sum(v[i] * y[i] for i in range(k, m)) / vv
        for i in range(k, m):
            y[i] -= s * v[i]
    rows = [[r[i][j] if i < m and j >= i else 0.0 for j in range(n)] for i in range(n)]
    return rows, [y[i] if i < m else 0.0 for i in range(n)]


def _jacobi_svd(r: list[list[float]]) -> tuple[list[list[float]], list[float], list[list[float]]]:
    """One-sided Jacobi SVD of a square matrix (Demmel & Veselic 1992): R = U diag(s) V^T, as column lists."""
    n = len(r)
    u = [[r[i][j] for i in range(n)] for j in range(n)]  # columns of R, rotated into U * s
    v = [[1.0 if i == j else 0.0 for i in range(n)] for j in range(n)]
    for _ in range(60):
        off = 0.0
        for p in range(n - 1):
            for q in range(p + 1, n):
                alpha = sum(x * x for x in u[p])
                beta = sum(x * x for x in u[q])
                gamma = sum(x * y for x, y in zip(u[p], u[q], strict=True))
                norm = math.sqrt(alpha) * math.sqrt(beta)
                if norm < 1e-300 or abs(gamma) <= 1e-15 * norm:
                    continue
                off = max(off, abs(gamma) / norm)
                zeta = (beta - alpha) / (2 * gamma)
                t = math.copysign(1.0, zeta) / (abs(zeta) + math.sqrt(1 + zeta * zeta))
                c = 1 / math.sqrt(1 + t * t)
                s = c * t
                for vec in (u, v):
                    vp, vq = vec[p], vec[q]
                    vec[p] = [c * x - s * y for x, y in zip(vp, vq, strict=True)]
                    vec[q] = [s * x + c * y for x, y in zip(vp, vq, strict=True)]
        if off <= 1e-15:
            break
    sig = [math.sqrt(sum(x * x for x in col)) for col in u]
    return [[x / s if s else 0.0 for x in col] for col, s in zip(u, sig, strict=True)], sig, v


def lstsq(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """The minimum-norm x minimizing ||A x - b||_2 (as ``numpy.linalg.lstsq`` with its default cut-off:
    singular values below eps x max(m, n) x the largest count as zero): Householder QR, then a Jacobi SVD of
    the small triangular factor."""
    m = len(a)
    n = len(a[0]) if m else 0
    if n == 0:
        return []
    r, qtb = _householder_r(a, b)
    u, sig, v = _jacobi_svd(r)
    cut = EPS * max(m, n) * max(sig, default=0.0)
    x = [0.0] * n
    for k in range(n):
        if sig[k] > cut:
            coef = sum(u[k][i] * qtb[i] for i in range(n)) / sig[k]
            for j in range(n):
                x[j] += coef * v[k][j]
    return x


def pinned_lstsq(forms: Sequence[Mapping[str, float]], measured_s: Sequence[float], fixed: Mapping[str, float], *,
                 robust: bool, row_weights: Sequence[float] | None = None) -> dict[str, float]:
    """Fit constants ``theta`` so that ``sum(form[k] * theta[k])`` predicts each ``measured_s``: least squares on
    the relative time error, reweighted toward relative error in the rate (6 rounds, weights kept across
    pinning) or, ``robust``, toward the least absolute error (IRLS, 30 rounds, weights reset).  A constant
    that comes out negative is pinned to zero and the rest refitted; ``fixed`` ones are held.  ``row_weights``
    count each row as that many copies of it (one device's many rows against another's few); default 1 each."""
    keys = sorted({k for f in forms for k in f} - set(fixed))
    active = list(keys)
    rhs = [1.0 - sum(f.get(k, 0.0) * v for k, v in fixed.items()) / t
           for f, t in zip(forms, measured_s, strict=True)]
    # rows are scaled by the square root: a row's squared error then counts row_weight times, as that many copies
    base = [math.sqrt(w) for w in row_weights] if row_weights is not None else [1.0] * len(forms)
    weight = list(base)
    while True:
        x = [[f.get(k, 0.0) / t for k in active] for f, t in zip(forms, measured_s, strict=True)]
        if robust:
            weight = list(base)
        sol = [0.0] * len(active)
        for _ in range(30 if robust else 6):
            sol = lstsq([[v * w for v in row] for row, w in zip(x, weight, strict=True)],
                        [b * w for b, w in zip(rhs, weight, strict=True)])
            fit = [sum(c * s for c, s in zip(row, sol, strict=True)) for row in x]
            if robust:
                weight = [w0 / math.sqrt(max(abs(f - b), 0.03)) for f, b, w0 in zip(fit, rhs, base, strict=True)]
            else:  # t_meas / t_pred - 1 in the rate, not the time
                weight = [w0 / max(f + (1 - b), 0.05) for f, b, w0 in zip(fit, rhs, base, strict=True)]
        neg = [k for k, v in zip(active, sol, strict=True) if v < 0]
        if not neg:
            out = dict.fromkeys(keys, 0.0) | dict(fixed)
            out.update({k: float(v) for k, v in zip(active, sol, strict=True)})
            return out
        active = [k for k in active if k != min(neg, key=lambda k: sol[active.index(k)])]
