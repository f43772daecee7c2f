"""One-way random effects by feasible GLS with Swamy–Arora variance components.

Model (unit i = 1..G with T_i rows, possibly unbalanced; ``X`` carries the constant and any
time-invariant regressors)::

    y_it = x_it' b + u_i + e_it,    u_i ~ (0, s2_u),  e_it ~ (0, s2_e),  u, e independent of X

Variance components, as ``linearmodels.RandomEffects`` (7.1) computes them (Swamy & Arora
1972; Baltagi 2021, §2.3 and §9.2 for the unbalanced case):

* within regression ``y_it - ybar_i`` on ``x_it - xbar_i``: ``s2_e = e_w'e_w / (N - G - r_w)``,
  ``r_w`` the rank of the demeaned regressors (columns constant within units count 0);
* between regression ``ybar_i`` on ``xbar_i`` (one row per unit, unweighted):
  ``s2_u = max(0, e_b'e_b / (G - r_b) - s2_e / T_h)`` with ``T_h = G / sum_i (1 / T_i)`` the
  harmonic mean of the T_i and ``r_b`` the rank of the unit means.

Quasi-demeaning and GLS::

    theta_i = 1 - sqrt( s2_e / (T_i s2_u + s2_e) )
    y*_it = y_it - theta_i ybar_i,   x*_it = x_it - theta_i xbar_i,   b = OLS(y* on x*)

Variances of ``b`` (``u*`` the residuals of the GLS regression, k columns of X):

* ``"conventional"`` — ``s2 (X*'X*)^{-1}``, ``s2 = u*'u* / (N - k)`` (``/ N`` with
  ``debiased=False``);
* ``"cluster"`` — ``c (X*'X*)^{-1} (sum_g s_g s_g') (X*'X*)^{-1}``, ``s_g = sum_{i in g} x*_i u*_i``
  (Liang & Zeger 1986) with ``c = N/(N-k)`` if ``debiased`` times ``G/(G-1) (N-1)/N`` if
  ``group_debias``; both on (the default) is Stata's ``xtreg, re vce(cluster)``:
  ``c = G/(G-1) (N-1)/(N-k)``. Clusters default to the units.

Both match ``RandomEffects(...).fit(cov_type="unadjusted" | "clustered", debiased=...,
group_debias=...)`` (tests/models/test_random_effects.py, to 1e-10). t statistics use
``N - k`` degrees of freedom, ``G_c - 1`` with clustering (G_c clusters).

Shapes: ``y`` (N,), ``X`` (N, k), ``units`` (N,) labels of any sortable type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import xarray as xr

from .precision import require_x64
from .tinference import TInference
from .vcov import cluster_meat, sandwich, scores

VCOV_TYPES = ("conventional", "cluster")


def _lstsq(A: np.ndarray, b: np.ndarray):
    """Least squares with linearmodels' rank rule: QR with pivoting (LAPACK gelsy) and a
    relative condition cut-off of ``max(A.shape) * eps``. Returns (coef, rank)."""
    if A.shape[1] == 0:
        return np.zeros((0, *b.shape[1:])), 0
    coef, _, rank, _ = scipy.linalg.lstsq(A, b, cond=max(A.shape) * np.finfo(np.float64).eps,
                                          lapack_driver="gelsy")
    return coef, int(rank)


def unit_codes(units) -> tuple[np.ndarray, np.ndarray]:
    """(codes (N,) int64 in ``0..G-1``, labels (G,) sorted): the units of each row."""
    units = np.asarray(units)
    if units.ndim != 1:
        raise ValueError(f"units must be 1-d, got shape {units.shape}")
    labels, codes = np.unique(units, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), labels


def unit_means(M: np.ndarray, codes: np.ndarray, n_units: int) -> np.ndarray:
    """(G, p) means of the columns of ``M`` (N, p) within each unit (every unit non-empty)."""
    counts = np.bincount(codes, minlength=n_units).astype(np.float64)
    sums = np.stack([np.bincount(codes, weights=M[:, j], minlength=n_units) for j in range(M.shape[1])], axis=1)
    return sums / counts[:, None]


@dataclass(frozen=True)
class VarianceComponents:
    """Swamy–Arora components: ``sigma2_e``, ``sigma2_u``, ``theta`` (G,), unit sizes ``counts``
    (G,), and the ranks and residual degrees of freedom of the within and between fits."""

    sigma2_e: float
    sigma2_u: float
    theta: np.ndarray
    counts: np.ndarray
    rank_within: int
    rank_between: int
    df_within: int
    df_between: int

    @property
    def rho(self) -> float:
        """Share of the error variance due to the unit effect, ``s2_u / (s2_u + s2_e)``."""
        return self.sigma2_u / (self.sigma2_u + self.sigma2_e)


def variance_components(y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_units: int) -> VarianceComponents:
    """Swamy–Arora ``s2_e``, ``s2_u`` and ``theta_i`` (module docstring) for integer unit
    ``codes`` (N,) in ``0..n_units-1``, ``y`` (N,), ``X`` (N, k)."""
    counts = np.bincount(codes, minlength=n_units)
    N, G = y.shape[0], n_units
    means = unit_means(np.column_stack([y, X]), codes, G)
    ybar, Xbar = means[:, 0], means[:, 1:]
    y_w, X_w = y - ybar[codes], X - Xbar[codes]
    # The rank of the demeaned regressors in the units they had before demeaning, so that a
    # column constant within units (rounding error only, once demeaned) has no rank.
    norm = np.sqrt((X ** 2).sum(axis=0))
    norm[norm == 0.0] = 1.0
    coef_w, rank_within = _lstsq(X_w / norm, y_w)
    resid_w = y_w - (X_w / norm) @ coef_w
    coef_b, rank_between = _lstsq(Xbar, ybar)
    resid_b = ybar - Xbar @ coef_b
    df_within, df_between = N - G - rank_within, G - rank_between
    if df_within <= 0:
        raise ValueError(f"s2_e needs N - G - rank(within) > 0: N = {N}, G = {G}, rank = {rank_within}")
    if df_between <= 0:
        raise ValueError(f"s2_u needs more units than the rank of the unit means: G = {G}, rank = {rank_between}")
    sigma2_e = float(resid_w @ resid_w) / df_within
    t_harmonic = G / float((1.0 / counts).sum())
    sigma2_u = max(0.0, float(resid_b @ resid_b) / df_between - sigma2_e / t_harmonic)
    theta = 1.0 - np.sqrt(sigma2_e / (counts * sigma2_u + sigma2_e))
    return VarianceComponents(sigma2_e, sigma2_u, theta, counts, rank_within, rank_between, df_within, df_between)


def quasi_demean(M: np.ndarray, codes: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``M_it - theta_i Mbar_i`` for ``M`` (N, p), unit ``codes`` (N,) and ``theta`` (G,)."""
    return M - theta[codes][:, None] * unit_means(M, codes, theta.shape[0])[codes]


@dataclass(frozen=True)
class REFit(TInference):
    """A random-effects fit: ``coef`` (k,), ``vcov`` (k, k), ``theta`` (DataArray, dim
    ``unit``), the variance components, and the quasi-demeaned data and residuals in
    ``extras`` (``"y_star"`` (N,), ``"X_star"`` (N, k), ``"resid"`` (N,))."""

    coef: np.ndarray
    vcov: np.ndarray
    x_names: tuple[str, ...]
    y_name: str
    vcov_type: str
    df_t: float
    n_obs: int
    n_units: int
    n_clusters: int
    sigma2_e: float
    sigma2_u: float
    theta: xr.DataArray
    components: VarianceComponents
    extras: dict = field(default_factory=dict, repr=False)

    @property
    def rho(self) -> float:
        return self.components.rho

    def index(self, name: str) -> int:
        try:
            return self.x_names.index(name)
        except ValueError:
            raise KeyError(f"term {name!r} is not in the fit; terms are {list(self.x_names)}") from None

    def to_dataset(self) -> xr.Dataset:
        """Estimates as an xarray Dataset (dims ``term``, ``term_``; ``theta`` over ``unit``)."""
        terms = list(self.x_names)
        return xr.Dataset(
            {"estimate": ("term", self.coef), "std_error": ("term", self.se),
             "statistic": ("term", self.tstat), "p_value": ("term", self.pvalue),
             "vcov": (("term", "term_"), self.vcov), "theta": self.theta},
            coords={"term": terms, "term_": terms},
            attrs={"outcome": self.y_name, "method": "re", "vcov_type": self.vcov_type,
                   "df_t": float(self.df_t), "n_obs": self.n_obs, "n_units": self.n_units,
                   "n_clusters": self.n_clusters, "sigma2_e": self.sigma2_e,
                   "sigma2_u": self.sigma2_u, "rho": self.rho},
        )


def regression_arrays(y, X, x_names) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``y`` (N,) and ``X`` (N, k) as finite float64 arrays and k column names (default x0, x1, ...)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (N, k) with N = len(y) = {y.shape[0]}; got {X.shape}")
    if not (np.isfinite(y).all() and np.isfinite(X).all()):
        raise ValueError("y and X must be finite (drop rows with missing values first)")
    names = tuple(x_names) if x_names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    if len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} x_names for {X.shape[1]} columns of X")
    return y, X, names


def _re_vcov(X_star, resid, vcov, clusters, debiased, group_debias):
    """(vcov (k, k), df_t, number of clusters) of the GLS coefficients (module docstring)."""
    N, k = X_star.shape
    bread = np.linalg.inv(X_star.T @ X_star)
    bread = 0.5 * (bread + bread.T)
    scale = N / (N - k) if debiased else 1.0
    if vcov == "conventional":
        return scale * float(resid @ resid) / N * bread, float(N - k), 0
    cl_codes, cl_labels = unit_codes(clusters)
    G = cl_labels.shape[0]
    if G < 2:
        raise ValueError("a clustered variance needs at least 2 clusters")
    if group_debias:
        scale *= G / (G - 1) * (N - 1) / N
    meat = np.asarray(cluster_meat(scores(X_star, resid), cl_codes.astype(np.int32), n_clusters=G))
    V = scale * sandwich(bread, meat)
    return 0.5 * (V + V.T), float(G - 1), G


def random_effects(y, X, units, *, x_names=None, y_name: str = "y", vcov: str = "conventional",
                   clusters=None, debiased: bool = True, group_debias: bool = True) -> REFit:
    """Swamy–Arora random effects of ``y`` (N,) on ``X`` (N, k) with unit labels ``units``
    (N,); see the module docstring. ``X`` should contain a constant column if the model has
    one (nothing is added). ``vcov``: ``"conventional"`` or ``"cluster"`` (by ``clusters``
    (N,) labels, default the units).
    """
    require_x64()
    if vcov not in VCOV_TYPES:
        raise ValueError(f"vcov must be one of {VCOV_TYPES}, got {vcov!r}")
    y, X, names = regression_arrays(y, X, x_names)
    codes, labels = unit_codes(units)
    if codes.shape[0] != y.shape[0]:
        raise ValueError(f"units has {codes.shape[0]} rows, y has {y.shape[0]}")
    comp = variance_components(y, X, codes, labels.shape[0])
    star = quasi_demean(np.column_stack([y, X]), codes, comp.theta)
    y_star, X_star = star[:, 0], star[:, 1:]
    coef, rank = _lstsq(X_star, y_star)
    if rank < X.shape[1]:
        raise ValueError(f"the quasi-demeaned regressors have rank {rank} < {X.shape[1]} columns: "
                         f"drop collinear columns of X ({list(names)})")
    resid = y_star - X_star @ coef
    cl = codes if clusters is None else np.asarray(clusters)
    if cl.shape[0] != y.shape[0]:
        raise ValueError(f"clusters has {cl.shape[0]} rows, y has {y.shape[0]}")
    V, df_t, n_clusters = _re_vcov(X_star, resid, vcov, cl, debiased, group_debias)
    return REFit(
        coef=coef, vcov=V, x_names=names, y_name=y_name, vcov_type=vcov, df_t=df_t,
        n_obs=int(y.shape[0]), n_units=int(labels.shape[0]), n_clusters=n_clusters,
        sigma2_e=comp.sigma2_e, sigma2_u=comp.sigma2_u,
        theta=xr.DataArray(comp.theta, dims="unit", coords={"unit": labels}, name="theta"),
        components=comp, extras={"y_star": y_star, "X_star": X_star, "resid": resid},
    )
