"""Perfectly collinear regressors: which columns to drop, decided in column order, scale-free.

The recursion is the one fixest uses (Bergé, ``lm_related.cpp``, ``cpp_cholesky``) and
pyfixest 0.60 reimplements (``pyfixest.core.collinear.find_collinear_variables``): an
up-looking Cholesky factorisation ``A = R'R`` in the given column order that skips earlier
dropped columns,

    R_jj^2 = A_jj - sum_{k<j, k kept} R_kj^2,
    R_ji   = (A_ij - sum_{k<j, k kept} R_ki R_kj) / R_jj     (i > j),

dropping column ``j`` when ``R_jj^2 < tol``. Earlier columns are always kept, so of two
collinear regressors the later one goes — the same column pyfixest drops.

Both fixest and pyfixest apply ``tol`` to the cross-product as it is, so the test depends on
the units: a legitimate regressor whose within variation has sd 3e-7 has ``A_jj`` of about
``1e-13 N`` and is dropped, which biases the others. Here the recursion runs on the
*standardised* matrix ``A_s = D^{-1/2} A D^{-1/2}``, ``D = diag(A)``, so ``R_jj^2`` is
``1 - R^2_j``, the share of column j's (within) sum of squares that the kept earlier columns
leave unexplained, and column j is dropped when it is below ``tol``. Multiplying a column by
any constant changes nothing.

Standardising cannot see a column the fixed effects absorb (time-invariant regressors under
a firm FE): after the within transform it is rounding noise, which standardises to a unit
column. ``reference`` supplies each column's centred sum of squares *before* the FEs were
partialled out; a column is collinear with the FEs when its within sum of squares ``A_jj`` is
at most ``tol`` times that (again a ratio: within share below ``tol``). A column that is
constant in the sample (``reference_j = inf`` by convention, see
:func:`fe_reference`) is absorbed by any FE.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Largest share of a column's sum of squares that may be left unexplained (by the FEs, or
#: by earlier columns) for it to count as collinear: R^2 > 1 - 1e-10.
COLLIN_TOL = 1e-10

#: A column whose centred sum of squares is below this share of its raw sum of squares
#: (sd below 1e-12 of its level) is constant up to rounding.
CONSTANT_TOL = 1e-24


def largest_diagonal_reference(A: np.ndarray) -> np.ndarray:
    """The ``reference`` of :func:`cholesky_collinear` (k,) that measures every column of the
    cross-product ``A`` (k, k) against its largest diagonal.

    For designs whose columns were projected before ``A`` was formed and no per-column
    pre-projection sums of squares are at hand (the jackknife and wild bootstrap designs): a
    column that is rounding noise next to the others (a dummy the projection emptied) is
    dropped, although it would standardise to a unit column.
    """
    A = np.asarray(A, dtype=np.float64)
    largest = float(np.max(np.diag(A), initial=0.0)) if A.size else 0.0
    return np.full(A.shape[0], max(largest, np.finfo(float).tiny))


def fe_reference(centred_ss: np.ndarray, raw_ss: np.ndarray) -> np.ndarray:
    """The ``reference`` of :func:`cholesky_collinear` for regressors with FEs absorbed.

    ``centred_ss`` (k,) sum of squares around the column mean over the estimation sample,
    ``raw_ss`` (k,) sum of squares; both before the within transform. Columns that are
    constant up to rounding get ``inf`` (absorbed by any FE, whatever rounding is left).
    """
    centred = np.asarray(centred_ss, dtype=np.float64)
    raw = np.asarray(raw_ss, dtype=np.float64)
    return np.where(centred > CONSTANT_TOL * raw, centred, np.inf)


def cholesky_collinear(XtX: np.ndarray, tol: float = COLLIN_TOL, *, reference=None) -> np.ndarray:
    """Boolean (k,) mask, True for a column collinear with the FEs or the kept columns before it.

    ``XtX`` (k, k) symmetric positive semi-definite cross-product. Column j is dropped when
    its diagonal is not positive and finite, when ``XtX[j, j] <= tol * reference[j]`` (if
    ``reference`` (k,) is given), or when its standardised Cholesky residual
    ``1 - R^2_j`` is below ``tol`` (see the module docstring).
    """
    A = np.asarray(XtX, dtype=np.float64)
    k = A.shape[0]
    if A.ndim != 2 or A.shape != (k, k):
        raise ValueError(f"XtX must be square; got shape {A.shape}")
    d = np.diag(A).copy()
    excluded = ~(np.isfinite(d) & (d > 0))
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64)
        if ref.shape != (k,):
            raise ValueError(f"reference must have shape ({k},); got {ref.shape}")
        excluded |= d <= tol * ref
    s = 1.0 / np.sqrt(np.where(excluded, 1.0, d))
    As = A * s[:, None] * s[None, :]
    R = np.zeros((k, k))
    for j in range(k):
        if excluded[j]:
            continue
        kept = np.flatnonzero(~excluded[:j])
        r_jj = As[j, j] - R[kept, j] @ R[kept, j]
        if not r_jj >= tol:  # also catches NaN
            excluded[j] = True
            continue
        r = np.sqrt(r_jj)
        R[j, j] = r
        if j + 1 < k:
            R[j, j + 1 :] = (As[j, j + 1 :] - R[kept, j] @ R[kept, j + 1 :]) / r
    return excluded


def detect_collinear(
    XtX: np.ndarray, names: Sequence[str], tol: float = COLLIN_TOL, *, reference=None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Keep-mask (k,) and the names of the dropped columns, for ``X~'X~`` (k, k).

    ``reference``: see :func:`cholesky_collinear`. Raises ``ValueError`` when every column is
    collinear (nothing left to estimate), as pyfixest does.
    """
    names = tuple(names)
    if len(names) != np.shape(XtX)[0]:
        raise ValueError(f"{len(names)} names for a {np.shape(XtX)[0]}-column cross-product")
    drop = cholesky_collinear(XtX, tol=tol, reference=reference)
    if drop.size and drop.all():
        raise ValueError(
            f"all regressors {list(names)} are collinear with the fixed effects (or zero); "
            "nothing is left to estimate"
        )
    return ~drop, tuple(n for n, d in zip(names, drop) if d)
