"""Wald test of linear restrictions ``R b = r``, on arrays, robust to a singular middle matrix.

For estimates ``b`` (k,) with covariance ``V`` (k, k) and q restrictions ``R`` (q, k),
``r`` (q,),

    d = R b − r,    M = R V Rᵀ,    W = dᵀ M⁺ d,    m = rank(M),
    F = W / m  ~  F(m, df),        W  ~  χ²(m)   (asymptotically),

with ``M⁺`` the Moore–Penrose pseudo-inverse. This is the statistic pyfixest 0.60's
``Feols.wald_test`` computes (``bread.T @ np.linalg.pinv(R @ V @ R.T) @ bread``) and
statsmodels' ``wald_test`` (``np.linalg.pinv`` of the restricted covariance). The pseudo-
inverse matters when ``M`` is singular: a clustered variance from G clusters has rank at
most G − 1 in the directions the scores span, so more restrictions than that make ``M``
singular and a plain ``solve`` fails or returns noise. Then only the ``m`` estimable
combinations are tested, and the degrees of freedom are ``m`` — as statsmodels does (it
replaces the number of restrictions by ``matrix_rank`` of the restricted covariance) and
Stata's ``test`` does when it drops constraints; pyfixest keeps q as the numerator degrees
of freedom, which overstates them for a singular ``M`` (its W is the same when its cutoff
keeps the same singular values).

The numerical rank is decided on the correlation form of ``M``, ``D^{-1/2} M D^{-1/2}``
with ``D = diag(M)``, so it does not depend on the units of the restrictions (a restriction
on the coefficient of x² has a variance orders of magnitude below one on x): singular values
at or below ``rtol · s_max`` of that matrix are zero, ``rtol`` = :data:`RANK_RTOL`. W is then
``dᵀ M⁺ d`` with the Moore–Penrose inverse of ``M`` itself, as pyfixest computes it, keeping
its ``m`` largest singular values. The cutoff is not numpy's ``pinv`` default (1e-15, which
pyfixest and statsmodels inherit): a clustered variance from fewer clusters than restrictions
is singular only up to rounding, and its null directions came out at up to 3e-12 of the
largest (correlation form; 3e-13 unscaled, and 4e-14 in pyfixest's own variance) in sixteen
simulated panels, with x on scales from 1 to 1e4 — above 1e-15, so ``pinv`` inverted the
noise: in one such panel W came out at 1e11 from pyfixest's own fit and variance (1e12 from
ours, −8e12 from a plain ``solve``) against 51.02 here, from either variance. The genuine
directions in the same panels were at 8e-4 of the largest or more.

:func:`wald_batch` takes ``b`` (..., k) and ``V`` (..., k, k) — one fit, or R Monte Carlo
replications — and :func:`wald_test` is its scalar form returning a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import xarray as xr
from scipy import stats

#: Singular values of the correlation form of ``R V Rᵀ`` at or below this fraction of the
#: largest are zero (see the module docstring for the measured noise and signal levels).
RANK_RTOL = 1e-10


@dataclass(frozen=True)
class WaldBatch:
    """Outcome of :func:`wald_batch`, arrays of the batch shape ``(...)``.

    ``wald`` W; ``rank`` m (int; 0 where nothing is testable or the inputs are not finite);
    ``F`` = W / m; ``df`` the denominator degrees of freedom (``inf``: none given);
    ``p_F`` = P(F(m, df) > F), the χ² p-value where ``df`` is not finite; ``p_chi2`` =
    P(χ²(m) > W). W, F and the p-values are NaN where m = 0. ``n_restrictions`` is q.
    """

    wald: np.ndarray
    rank: np.ndarray
    F: np.ndarray
    df: np.ndarray
    p_F: np.ndarray
    p_chi2: np.ndarray
    n_restrictions: int

    def to_dataset(self, dims: tuple[str, ...] = ("replication",)) -> xr.Dataset:
        """The arrays as an xarray Dataset with the batch dimensions named ``dims``."""
        data = {f.name: (dims, np.asarray(getattr(self, f.name))) for f in fields(self) if f.name != "n_restrictions"}
        return xr.Dataset(data, attrs={"n_restrictions": self.n_restrictions})


def _restrictions(R, r, k: int):
    R = np.eye(k) if R is None else np.asarray(R, dtype=float)
    if R.ndim == 1:
        R = R[None, :]
    if R.shape[-1] != k:
        raise ValueError(f"R must have {k} columns (one per coefficient); got shape {R.shape}")
    q = R.shape[-2]
    r = np.zeros(q) if r is None else np.asarray(r, dtype=float)
    if r.shape[-1:] != (q,) and r.shape != ():
        raise ValueError(f"r must have {q} entries (one per row of R); got shape {r.shape}")
    return R, r, q


def numerical_rank(M: np.ndarray, rtol: float = RANK_RTOL) -> np.ndarray:
    """Rank of ``M`` (..., q, q) from the singular values of ``D^{-1/2} M D^{-1/2}``,
    ``D = |diag(M)|`` (rows with a zero diagonal left unscaled): those above ``rtol · s_max``."""
    diag = np.abs(np.diagonal(M, axis1=-2, axis2=-1))
    with np.errstate(divide="ignore"):
        scale = np.where(diag > 0, 1.0 / np.sqrt(diag), 1.0)
    s = np.linalg.svd(M * scale[..., :, None] * scale[..., None, :], compute_uv=False)
    return np.sum(s > rtol * np.max(s, axis=-1, keepdims=True), axis=-1)


def pinv_quadratic_form(d: np.ndarray, M: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """``dᵀ M⁺ d`` for ``d`` (..., q), ``M`` (..., q, q) finite, with the Moore–Penrose inverse
    of ``M`` keeping its ``rank`` largest singular values: ``M = U S Vᵀ``, ``M⁺ = V S⁺ Uᵀ``."""
    U, s, Vt = np.linalg.svd(M)  # s descending
    keep = np.arange(s.shape[-1]) < np.asarray(rank)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_s = np.where(keep & (s > 0), 1.0 / s, 0.0)
    left = np.einsum("...ij,...j->...i", Vt, d)  # (Vᵀ d)_i
    right = np.einsum("...ji,...j->...i", U, d)  # (Uᵀ d)_i
    return np.sum(left * inv_s * right, axis=-1)


def wald_batch(b, V, R=None, r=None, df=None, rtol: float = RANK_RTOL) -> WaldBatch:
    """Wald test of ``R b = r`` (module docstring) for ``b`` (..., k), ``V`` (..., k, k).

    ``R`` (q, k) or (..., q, k), default the identity (all coefficients zero); ``r`` (q,) or
    (..., q), default zeros; ``df`` the denominator degrees of freedom of F (scalar or
    batch-shaped, e.g. a clustered fit's G − 1), ``None`` or non-finite for none. Elements
    with non-finite ``b`` or ``V`` give NaN (and rank 0) without touching the others.
    """
    b, V = np.asarray(b, dtype=float), np.asarray(V, dtype=float)
    k = b.shape[-1]
    if V.shape[-2:] != (k, k) or V.shape[:-2] != b.shape[:-1]:
        raise ValueError(f"b must have shape (..., k) and V (..., k, k); got {b.shape} and {V.shape}")
    R, r, q = _restrictions(R, r, k)
    d = np.einsum("...qk,...k->...q", R, b) - r
    M = np.einsum("...qk,...kl,...ml->...qm", R, V, R)
    d, M = np.broadcast_arrays(d[..., None], M)
    d = d[..., 0]
    finite = np.isfinite(d).all(-1) & np.isfinite(M).all((-2, -1))
    d, M = np.where(finite[..., None], d, 0.0), np.where(finite[..., None, None], M, 0.0)
    rank = np.where(finite, numerical_rank(M, rtol), 0)
    W = pinv_quadratic_form(d, M, rank)
    testable = rank > 0
    W = np.where(testable, W, np.nan)
    m = np.where(testable, rank, 1)  # scipy sees a valid dof; the result is masked below
    df = np.broadcast_to(np.asarray(np.inf if df is None else df, dtype=float), W.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        F = W / m
        p_chi2 = np.where(testable, stats.chi2.sf(W, m), np.nan)
        p_F = np.where(np.isfinite(df), stats.f.sf(F, m, np.where(np.isfinite(df), df, 1.0)), p_chi2)
    return WaldBatch(wald=W, rank=rank, F=F, df=df, p_F=np.where(testable, p_F, np.nan), p_chi2=p_chi2,
                     n_restrictions=int(q))


def wald_test(b, V, R=None, r=None, df: float | None = None, rtol: float = RANK_RTOL) -> dict:
    """Wald test of ``R b = r`` for one fit: b (k,), V (k, k), R (q, k); ``df`` the
    denominator degrees of freedom of F (``None``: no F p-value).

    Returns ``{"wald": W, "q": q, "rank": m, "p_chi2": P(χ²_m > W), "F": W/m, "df1": m,
    "df2": df, "p_F": P(F_{m,df} > F)}`` (``df2`` and ``p_F`` None without ``df``; W, F
    and the p-values NaN when m = 0).
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"b must have shape (k,); got {b.shape} (use wald_batch for many fits)")
    out = wald_batch(b, V, R, r, df, rtol)
    rank = int(out.rank)
    return {
        "wald": float(out.wald), "q": out.n_restrictions, "rank": rank, "p_chi2": float(out.p_chi2),
        "F": float(out.F), "df1": rank, "df2": None if df is None else float(df),
        "p_F": None if df is None else float(out.p_F),
    }
