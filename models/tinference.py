"""t inference on arrays: critical values, intervals, one- and two-sided tests.

For an estimate ``θ̂`` with standard error ``se`` and ``df`` degrees of freedom,

    interval:  θ̂ ± q·se,   q = t_{df, (1 + level)/2}     (P(|T_df| ≤ q) = level)
    test:      t = (θ̂ − θ0) / se,   p = 2·P(T_df > |t|)

— the intervals and p-values of :class:`tradeq.models.fe_result.FEFit` (``conf_int``,
``pvalue``), which are tested to agree with these. A non-finite ``df`` (``inf`` or NaN)
means the normal limit, so a variance without a small-sample t (a z test) is ``df = inf``.
Every argument broadcasts: scalars, or (R,) arrays over Monte Carlo replications.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _finite_df(df) -> tuple[np.ndarray, np.ndarray]:
    """(df with non-finite entries replaced by 1, mask of finite entries): scipy never sees inf."""
    df = np.asarray(df, dtype=float)
    finite = np.isfinite(df)
    return np.where(finite, df, 1.0), finite


def t_sf(t, df) -> np.ndarray:
    """Upper tail ``P(T_df > t)`` (normal where ``df`` is not finite); NaN ``t`` gives NaN."""
    d, finite = _finite_df(df)
    t = np.asarray(t, dtype=float)
    return np.where(finite, stats.t.sf(t, d), stats.norm.sf(t))


def t_quantile(level: float, df) -> np.ndarray:
    """Two-sided critical value ``q`` with ``P(|T_df| ≤ q) = level``; ``df`` scalar or array."""
    d, finite = _finite_df(df)
    p = 0.5 + level / 2.0
    return np.where(finite, stats.t.ppf(p, d), stats.norm.ppf(p))


def t_interval(estimate, se, df, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``(estimate − q·se, estimate + q·se)`` with ``q = t_quantile(level, df)``."""
    q = t_quantile(level, df)
    estimate, se = np.asarray(estimate, float), np.asarray(se, float)
    return estimate - q * se, estimate + q * se


def t_pvalue(estimate, se, df, null: float = 0.0) -> np.ndarray:
    """Two-sided p-value ``2·P(T_df > |t|)``, ``t = (estimate − null) / se``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (np.asarray(estimate, float) - null) / np.asarray(se, float)
    return 2.0 * t_sf(np.abs(t), df)


def t_test_reject(estimate, se, df, null: float = 0.0, alpha: float = 0.05) -> np.ndarray:
    """Two-sided t test of ``θ = null``: True where ``t_pvalue < alpha`` (False where undefined)."""
    return t_pvalue(estimate, se, df, null) < alpha


class TInference:
    """Mixin for a frozen estimate record with ``coef`` (k,), ``vcov`` (k, k) and ``df_t`` (the
    t degrees of freedom): standard errors, t statistics, two-sided p-values and intervals by
    the functions above (one implementation for every record)."""

    coef: np.ndarray
    vcov: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def tstat(self) -> np.ndarray:
        return self.coef / self.se

    @property
    def pvalue(self) -> np.ndarray:
        return t_pvalue(self.coef, self.se, self.df_t)

    def conf_int(self, level: float = 0.95) -> np.ndarray:
        """(k, 2) interval ``coef ± t_{df_t, (1+level)/2} · se``."""
        return np.column_stack(t_interval(self.coef, self.se, self.df_t, level))
