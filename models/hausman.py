"""Fixed versus random effects: the classical Hausman test and its cluster-robust
(Mundlak) form.

**Classical** (Hausman 1978). On the q regressors that vary within units (the FE estimator
cannot estimate the others)::

    d = b_FE - b_RE,   D = V_FE - V_RE,   H = d' D^+ d  ~  chi2(rank D)   under H0: E[u_i | X] = 0

with the conventional variances of both fits. ``D`` is the variance of ``d`` only when RE is
fully efficient under H0 (homoskedastic, serially uncorrelated e_it); in a finite sample it
need not even be positive definite. The statistic then uses the Moore–Penrose inverse
``D^+`` over the eigenvalues with ``|lambda| > q eps max|lambda|``, its degrees of freedom
are that rank (as Stata's ``hausman``), and the result says so (``positive_definite``,
``rank``, ``note``). A negative statistic (possible when D is indefinite) gets no p-value.

**Cluster-robust / Mundlak** (Mundlak 1978; Wooldridge 2010, §10.7.3). The classical test
is invalid when the errors are heteroskedastic or correlated within units (RE is then not
efficient and ``D`` is the wrong variance). The regression form is not: augment the model
with the unit means of the time-varying regressors and estimate by RE::

    y_it = x_it' b + xbar_i' xi + u_i + e_it,    H0: xi = 0

with a cluster-robust variance ``V_xi`` (clusters = units by default):
``W = xi' V_xi^{-1} xi ~ chi2(q)``; also reported as ``F = W / q`` against ``F(q, G - 1)``
for few clusters. Under RE-GLS the coefficients on ``x_it`` are exactly the FE estimates.

Shapes: ``y`` (N,), ``X`` (N, k) with the constant and any time-invariant regressors,
``units`` (N,) labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from .design import Design
from .fixed_effects import fit_fe
from .precision import require_x64
from .random_effects import random_effects, regression_arrays, unit_codes, unit_means

#: A column varies within units when its demeaned norm exceeds this share of its norm.
WITHIN_RTOL = 1e-8


@dataclass(frozen=True)
class HausmanResult:
    """A Hausman-type test: ``statistic``, its ``df`` and ``p_value`` (NaN when undefined);
    ``difference`` (q,) and ``vcov`` (q, q) the contrast and its variance (classical: b_FE -
    b_RE and V_FE - V_RE; Mundlak: the coefficients on the unit means and their cluster-robust
    variance) over ``terms``; ``eigenvalues`` of ``vcov``, its ``rank``; ``f_statistic``,
    ``f_df`` and ``f_p_value`` (Mundlak only); ``note`` says what the reader should know."""

    method: str
    statistic: float
    df: int
    p_value: float
    terms: tuple[str, ...]
    difference: np.ndarray
    vcov: np.ndarray
    eigenvalues: np.ndarray
    rank: int
    positive_definite: bool
    note: str = ""
    f_statistic: float = float("nan")
    f_df: tuple[int, int] = (0, 0)
    f_p_value: float = float("nan")

    def to_dataset(self) -> xr.Dataset:
        terms = list(self.terms)
        return xr.Dataset(
            {"difference": ("term", self.difference), "vcov": (("term", "term_"), self.vcov)},
            coords={"term": terms, "term_": terms},
            attrs={"method": self.method, "statistic": self.statistic, "df": self.df,
                   "p_value": self.p_value, "rank": self.rank,
                   "positive_definite": int(self.positive_definite), "note": self.note,
                   "f_statistic": self.f_statistic, "f_df": list(self.f_df), "f_p_value": self.f_p_value},
        )


def _pinv_quadratic(d: np.ndarray, D: np.ndarray) -> tuple[float, np.ndarray, int]:
    """``d' D^+ d`` over the eigenvalues of symmetric ``D`` above ``q eps max|lambda|``."""
    D = 0.5 * (D + D.T)
    lam, vec = np.linalg.eigh(D)
    tol = D.shape[0] * np.finfo(np.float64).eps * max(np.abs(lam).max(), np.finfo(np.float64).tiny)
    keep = np.abs(lam) > tol
    proj = vec[:, keep].T @ d
    return float(np.sum(proj ** 2 / lam[keep])), lam, int(keep.sum())


def hausman_from_estimates(b_fe, V_fe, b_re, V_re, terms) -> HausmanResult:
    """Classical Hausman test from two fits' coefficients (q,) and variances (q, q) on the
    same ``terms`` (module docstring)."""
    d = np.asarray(b_fe, dtype=np.float64) - np.asarray(b_re, dtype=np.float64)
    D = np.asarray(V_fe, dtype=np.float64) - np.asarray(V_re, dtype=np.float64)
    q = d.shape[0]
    if D.shape != (q, q) or len(terms) != q:
        raise ValueError(f"shapes do not agree: d {d.shape}, V {D.shape}, {len(terms)} terms")
    H, lam, rank = _pinv_quadratic(d, D)
    pd = bool(rank == q and lam.min() > 0)
    notes = []
    if not pd:
        notes.append(f"V_FE - V_RE is not positive definite (eigenvalues {np.array2string(lam, precision=3)}); "
                     f"the statistic uses its generalized inverse, rank {rank} of {q}")
    p = float(stats.chi2.sf(H, rank)) if H >= 0 and rank > 0 else float("nan")
    if H < 0:
        notes.append("the statistic is negative: the data do not meet the test's assumptions (no p-value)")
    return HausmanResult("classical", H, rank, p, tuple(terms), d, 0.5 * (D + D.T), lam, rank, pd, "; ".join(notes))


def time_varying(X: np.ndarray, units) -> np.ndarray:
    """(k,) bool: the columns of ``X`` (N, k) that vary within units."""
    codes, labels = unit_codes(units)
    X = np.asarray(X, dtype=np.float64)
    X_w = X - unit_means(X, codes, labels.shape[0])[codes]
    return np.linalg.norm(X_w, axis=0) > WITHIN_RTOL * np.maximum(np.linalg.norm(X, axis=0), 1e-300)


def _within_names(X, units, names) -> tuple[np.ndarray, tuple[str, ...]]:
    tv = time_varying(X, units)
    if not tv.any():
        raise ValueError("no regressor varies within units: FE and RE cannot be compared")
    return tv, tuple(n for n, keep in zip(names, tv) if keep)


def hausman(y, X, units, *, x_names=None) -> HausmanResult:
    """Classical Hausman test: the FE replica (:func:`~tradeq.models.fixed_effects.fit_fe`,
    unit effects, iid variance) against :func:`~tradeq.models.random_effects.random_effects`
    (conventional variance) on the time-varying columns of ``X``."""
    require_x64()
    y, X, names = regression_arrays(y, X, x_names)
    tv, terms = _within_names(X, units, names)
    codes, _ = unit_codes(units)
    design = Design(y=y, X=np.ascontiguousarray(X[:, tv]), x_names=terms, fe=codes.astype(np.int32)[:, None],
                    fe_names=("unit",), cluster=np.zeros((y.shape[0], 0), np.int32), cluster_names=(),
                    row_id=np.arange(y.shape[0]))
    fe = fit_fe(design, vcov="iid")
    if fe.dropped_collinear:
        raise ValueError(f"collinear within units: {list(fe.dropped_collinear)}; drop them from X")
    re = random_effects(y, X, units, x_names=names, vcov="conventional")
    idx = [re.index(t) for t in terms]
    return hausman_from_estimates(fe.coef, fe.vcov, re.coef[idx], re.vcov[np.ix_(idx, idx)], terms)


def mundlak_test(y, X, units, *, x_names=None, clusters=None, group_debias: bool = True) -> HausmanResult:
    """Cluster-robust Hausman test in Mundlak's regression form (module docstring): RE of
    ``y`` on ``X`` and the unit means of its time-varying columns, cluster-robust Wald test
    that the means' coefficients are zero (clusters: ``clusters`` (N,) labels, default the
    units; ``group_debias`` as in :func:`~tradeq.models.random_effects.random_effects`)."""
    require_x64()
    y, X, names = regression_arrays(y, X, x_names)
    tv, terms = _within_names(X, units, names)
    codes, labels = unit_codes(units)
    means = unit_means(X[:, tv], codes, labels.shape[0])[codes]
    mean_names = tuple(f"mean({t})" for t in terms)
    re = random_effects(y, np.column_stack([X, means]), units, x_names=names + mean_names, vcov="cluster",
                        clusters=clusters, group_debias=group_debias)
    idx = [re.index(t) for t in mean_names]
    xi, V = re.coef[idx], re.vcov[np.ix_(idx, idx)]
    q = len(idx)
    W, lam, rank = _pinv_quadratic(xi, V)
    pd = bool(rank == q and lam.min() > 0)
    note = "" if pd else f"the cluster-robust variance of the means' coefficients has rank {rank} of {q}"
    G = re.n_clusters
    f_df = (rank, G - 1)
    F = W / rank if rank else float("nan")
    return HausmanResult(
        "mundlak", W, rank, float(stats.chi2.sf(W, rank)) if rank else float("nan"), mean_names, xi, V,
        lam, rank, pd, note, f_statistic=F, f_df=f_df, f_p_value=float(stats.f.sf(F, *f_df)) if rank else float("nan"),
    )
