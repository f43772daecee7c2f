"""Perfectly collinear regressors: which columns to drop, decided in column order.

The test is the one fixest uses (Bergé, ``lm_related.cpp``, ``cpp_find_collinear``) and
pyfixest 0.60 reimplements (``pyfixest.core.collinear.find_collinear_variables`` called from
``feols_._drop_multicollinear_variables`` on ``X~'X~`` of the demeaned regressors with
``collin_tol = 1e-9``): an up-looking Cholesky factorisation ``X'X = R'R`` in the given
column order that skips earlier dropped columns,

    R_jj^2 = (X'X)_jj - sum_{k<j, k kept} R_kj^2,
    R_ji   = ((X'X)_ij - sum_{k<j, k kept} R_ki R_kj) / R_jj     (i > j),

dropping column ``j`` when ``R_jj^2 < tol``. Earlier columns are always kept, so of two
collinear regressors the later one goes — the same column pyfixest drops.

``R_jj^2`` is the squared norm of column ``j`` after projecting out the kept earlier
columns, an absolute quantity. On top of pyfixest's absolute test we also drop a column
whose residual norm is below ``rtol`` times its own norm ``(X'X)_jj`` (default 1e-10): for
regressors on a large scale an exactly collinear column leaves a round-off residual of
about ``1e-16 (X'X)_jj``, which can exceed ``1e-9`` and would otherwise be kept. This only
ever drops columns whose within variation is explained to 1 - 1e-10 by earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: pyfixest 0.60's ``feols(collin_tol=1e-09)`` default.
COLLIN_TOL = 1e-9
#: Relative safeguard, see the module docstring.
COLLIN_RTOL = 1e-10


def cholesky_collinear(XtX: np.ndarray, tol: float = COLLIN_TOL, rtol: float = COLLIN_RTOL) -> np.ndarray:
    """Boolean (k,) mask, True for a column collinear with the kept columns before it.

    ``XtX`` is a (k, k) symmetric positive semi-definite cross-product matrix. A column is
    dropped when its squared residual norm ``R_jj^2`` is below ``tol`` or below
    ``rtol * XtX[j, j]`` (see the module docstring for the recursion).
    """
    A = np.asarray(XtX, dtype=np.float64)
    k = A.shape[0]
    if A.shape != (k, k):
        raise ValueError(f"XtX must be square; got shape {A.shape}")
    R = np.zeros((k, k))
    excluded = np.zeros(k, dtype=bool)
    for j in range(k):
        kept = np.flatnonzero(~excluded[:j])
        r_jj = A[j, j] - R[kept, j] @ R[kept, j]
        if r_jj < tol or r_jj < rtol * A[j, j] or not np.isfinite(r_jj):
            excluded[j] = True
            continue
        r = np.sqrt(r_jj)
        R[j, j] = r
        if j + 1 < k:
            R[j, j + 1 :] = (A[j + 1 :, j] - R[kept, j] @ R[kept, j + 1 :]) / r
    return excluded


def detect_collinear(
    XtX: np.ndarray, names: Sequence[str], tol: float = COLLIN_TOL, rtol: float = COLLIN_RTOL
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Keep-mask (k,) and the names of the dropped columns, for ``X~'X~`` (k, k).

    Raises ``ValueError`` when every column is collinear (nothing left to estimate), as
    pyfixest does.
    """
    names = tuple(names)
    if len(names) != np.shape(XtX)[0]:
        raise ValueError(f"{len(names)} names for a {np.shape(XtX)[0]}-column cross-product")
    drop = cholesky_collinear(XtX, tol=tol, rtol=rtol)
    if drop.size and drop.all():
        raise ValueError(
            f"all regressors {list(names)} are collinear with the fixed effects (or zero); "
            "nothing is left to estimate"
        )
    return ~drop, tuple(n for n, d in zip(names, drop) if d)
