"""Inference over many replications at once: t intervals, t and Wald tests, the inverted-U test.

The batched estimators return point estimates, covariances and degrees of freedom per
replication; these NumPy functions turn whole (R,) arrays of them into intervals and test
decisions in one call. They are the array forms of the scalar reference code and are tested
against it: :meth:`tradeq.models.fe_result.FEFit.conf_int` and ``pvalue`` for the t intervals and
tests, :func:`tradeq.models.utest.utest` (``shape="inverted_u"``) for the Lind–Mehlum test.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def t_quantile(level: float, df) -> np.ndarray:
    """Two-sided critical value ``q`` with ``P(|T_df| <= q) = level``; ``df`` (R,) or scalar.

    A non-finite ``df`` means the normal (as :func:`tradeq.models.utest.utest` with ``df=None``).
    """
    df = np.asarray(df, dtype=float)
    p = 0.5 + level / 2.0
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(p, np.where(np.isfinite(df), df, 1.0))
    return np.where(np.isfinite(df), q, stats.norm.ppf(p))


def t_interval(estimate, se, df, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``estimate ± t_{df, (1+level)/2} · se`` (as ``FEFit.conf_int``); arrays broadcast."""
    q = t_quantile(level, df)
    estimate, se = np.asarray(estimate, float), np.asarray(se, float)
    return estimate - q * se, estimate + q * se


def t_test_reject(estimate, se, df, null: float = 0.0, alpha: float = 0.05) -> np.ndarray:
    """Two-sided t test of ``theta = null``: reject when ``2 P(T_df > |t|) < alpha``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (np.asarray(estimate, float) - null) / np.asarray(se, float)
    df = np.asarray(df, dtype=float)
    p = 2.0 * np.where(np.isfinite(df), stats.t.sf(np.abs(t), np.where(np.isfinite(df), df, 1.0)),
                       stats.norm.sf(np.abs(t)))
    return p < alpha


def wald_reject(b, V, df, alpha: float = 0.05) -> np.ndarray:
    """Joint test of ``b = 0`` for (R, q) estimates ``b`` with (R, q, q) covariances ``V``.

    ``F = b'V^{-1}b / q`` against ``F(q, df)`` (the finite-sample form fixest and pyfixest
    report for ``wald_test``; ``df`` the t degrees of freedom of the variance).
    """
    b = np.asarray(b, float)
    V = np.asarray(V, float)
    q = b.shape[-1]
    with np.errstate(invalid="ignore"):
        F = np.einsum("ri,ri->r", b, np.linalg.solve(V, b[..., None])[..., 0]) / q
    return stats.f.sf(F, q, np.asarray(df, float)) < alpha


def utest_inverted_u(b1, b2, v11, v12, v22, x_lo, x_hi, df, level: float = 0.95) -> dict[str, np.ndarray]:
    """Lind–Mehlum / Sasabuchi test of an inverted U on ``[x_lo, x_hi]``, vectorised.

    All arguments (R,) arrays or scalars. Slopes ``s(x) = b1 + 2 b2 x`` with variance
    ``v11 + 4x v12 + 4x^2 v22``; directional t values ``t_lo = s(x_lo)/se_lo`` and
    ``-t_hi``; overall ``t = min`` of the two and ``p = max`` of the one-sided p-values. The
    test rejects (accepts an inverted U) when the end slopes have strictly opposite signs,
    both directional t values are positive and ``p < 1 - level`` — the verdict of
    :func:`tradeq.models.utest.utest` with ``shape="inverted_u"``. Returns ``t``, ``p``,
    ``trivial`` (extremum outside the interval) and ``reject``.
    """
    b1, b2, v11, v12, v22, x_lo, x_hi, df = (np.asarray(a, float) for a in (b1, b2, v11, v12, v22, x_lo, x_hi, df))

    def slope(x):
        var = v11 + 4.0 * x * v12 + 4.0 * x * x * v22
        with np.errstate(invalid="ignore"):
            return b1 + 2.0 * b2 * x, np.where(var >= 0, np.sqrt(np.abs(var)), np.nan)

    s_lo, se_lo = slope(x_lo)
    s_hi, se_hi = slope(x_hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_lo, d_hi = s_lo / se_lo, -(s_hi / se_hi)

    def sf(t):
        return np.where(np.isfinite(df), stats.t.sf(t, np.where(np.isfinite(df), df, 1.0)), stats.norm.sf(t))

    p = np.maximum(sf(d_lo), sf(d_hi))
    trivial = ~(s_lo * s_hi < 0.0)
    reject = ~trivial & (d_lo > 0) & (d_hi > 0) & (p < 1.0 - level)
    return {"t": np.minimum(d_lo, d_hi), "p": p, "trivial": trivial, "reject": reject}
