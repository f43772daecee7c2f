"""Cluster leverage, influence and the effective number of clusters (``summclust``).

For OLS of ``y`` (n,) on ``X`` (n, k) with G clusters, from the cluster blocks of
:mod:`tradeq.models.crv3` (MacKinnon, Nielsen & Webb 2023, "Leverage, influence, and the
jackknife in clustered regression models: Reliable inference using summclust", Stata
Journal 23(4); notation ``B = (X'X)^{-1}``, ``e_j`` the j-th unit vector):

    leverage          L_g   = tr(X_g'X_g B)                 (sums to k over clusters)
    partial leverage  L_g^j = x~_g'x~_g / x~'x~ = (B X_g'X_g B)_jj / B_jj
                      (x~ the residual of column j on the other columns, by FWL)
    influence         b_j - b_(g)j,  b_(g) the leave-one-cluster-out estimate

and the effective number of clusters of coefficient j (Carter, Schnepel & Steigerwald 2017,
"Asymptotic behavior of a t-test robust to cluster heterogeneity", REStat 99(4), the
feasible G*_A that ``summclust`` reports):

    w = B e_j,   gamma_g(0) = w'X_g'X_g w,   gamma_g(1) = (1'X_g w)^2,
    gamma_g(rho) = rho gamma_g(1) + (1 - rho) gamma_g(0),
    Gamma = (1/G) sum_g ((gamma_g - gammabar) / gammabar)^2,   G*(rho) = G / (1 + Gamma).

``gamma_g(1)`` assumes every pair of errors in a cluster is perfectly correlated; when fixed
effects nested in the clusters have been projected out, ``1'X_g = 0`` and G*(rho > 0) is
undefined (``fe_nested=True`` reports it as NaN, as ``summclust`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .crv3 import ClusterBlocks, cluster_blocks, full_sample_solve, leave_one_out
from .precision import require_x64

SUMMARY_STATS = ("min", "q1", "median", "mean", "q3", "max", "coefvar")


def _terms(k: int, names, terms) -> tuple[list[str], np.ndarray]:
    names = [f"x{j}" for j in range(k)] if names is None else [str(n) for n in names]
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} columns of X")
    if terms is None:
        idx = np.arange(k)
    else:
        idx = np.array([names.index(t) if isinstance(t, str) else int(t) for t in terms], dtype=np.int64)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= k:
            raise ValueError(f"terms must name columns of X ({names}); got {terms}")
    return [names[j] for j in idx], idx


def effective_clusters(blocks: ClusterBlocks, bread: np.ndarray, j: int, rho, fe_nested: bool) -> np.ndarray:
    """G*(rho) (len(rho),) for coefficient ``j``; see the module docstring."""
    w = bread[:, j]
    g0 = np.einsum("i,gij,j->g", w, blocks.XX, w)
    g1 = (blocks.Xsum @ w) ** 2
    out = []
    for r in np.atleast_1d(np.asarray(rho, dtype=float)):
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"rho must lie in [0, 1]; got {r}")
        if fe_nested and r > 0:
            out.append(np.nan)
            continue
        gam = r * g1 + (1.0 - r) * g0
        gbar = gam.mean()
        Gamma = np.mean(((gam - gbar) / gbar) ** 2)
        out.append(blocks.G / (1.0 + Gamma))
    return np.array(out)


def influence_from_blocks(
    blocks: ClusterBlocks,
    *,
    names: Sequence[str] | None = None,
    terms: Sequence | None = None,
    rho: Sequence[float] = (0.0, 1.0),
    fe_nested: bool = False,
    cluster_labels: Sequence | None = None,
) -> xr.Dataset:
    """:func:`cluster_influence` from precomputed :class:`~tradeq.models.crv3.ClusterBlocks`
    (built with ``sums=True``: G*(rho > 0) needs the column sums)."""
    coef, bread = full_sample_solve(blocks)
    beta_loo, singular = leave_one_out(blocks)
    term_names, idx = _terms(blocks.k, names, terms)
    leverage = np.einsum("gij,ji->g", blocks.XX, bread)
    BXXB_diag = np.einsum("ia,gij,ja->ga", bread[:, idx], blocks.XX, bread[:, idx])  # (G, t)
    partial = BXXB_diag / np.diag(bread)[idx]
    rho = np.atleast_1d(np.asarray(rho, dtype=float))
    gstar = np.stack([effective_clusters(blocks, bread, int(j), rho, fe_nested) for j in idx])
    labels = np.arange(blocks.G) if cluster_labels is None else np.asarray(cluster_labels)
    if labels.shape != (blocks.G,):
        raise ValueError(f"cluster_labels must have {blocks.G} entries; got {labels.shape}")
    return xr.Dataset(
        {
            "n_obs": ("cluster", blocks.counts.astype(np.int64)),
            "leverage": ("cluster", leverage),
            "partial_leverage": (("term", "cluster"), partial.T),
            "beta_loo": (("term", "cluster"), beta_loo[:, idx].T),
            "influence": (("term", "cluster"), (coef[idx][:, None] - beta_loo[:, idx].T)),
            "singular": ("cluster", singular),
            "estimate": ("term", coef[idx]),
            "gstar": (("term", "rho"), gstar),
        },
        coords={"cluster": labels, "term": term_names, "rho": rho},
        attrs={"n_clusters": blocks.G, "n_obs": blocks.n_obs, "k": blocks.k, "fe_nested": int(fe_nested)},
    )


def cluster_influence(
    y,
    X,
    clusters,
    *,
    names: Sequence[str] | None = None,
    terms: Sequence | None = None,
    rho: Sequence[float] = (0.0, 1.0),
    fe_nested: bool = False,
    cluster_labels: Sequence | None = None,
) -> xr.Dataset:
    """Per-cluster leverage and influence of OLS ``y`` (n,) on ``X`` (n, k) by ``clusters`` (n,).

    ``clusters`` dense codes 0..G-1; ``names`` (k,) column names (default ``x0..``);
    ``terms`` the coefficients to report (names or indices; default all); ``rho`` the
    within-cluster correlations for G*; ``fe_nested``: fixed effects nested in the
    clusters were projected out of y and X (then G*(rho > 0) is NaN).

    Returns an xarray Dataset with dims ``cluster`` (G), ``term`` and ``rho``:
    ``n_obs`` N_g, ``leverage`` L_g, ``partial_leverage`` (term, cluster),
    ``beta_loo`` b_(g) and ``influence`` b - b_(g) (term, cluster), ``singular`` (cluster,
    the omit-one-cluster sample is singular, see :mod:`tradeq.models.crv3`), ``estimate``
    (term) and ``gstar`` G*(rho) (term, rho). Equations in the module docstring.
    """
    require_x64()
    blocks = cluster_blocks(y, X, clusters, sums=True)
    return influence_from_blocks(
        blocks, names=names, terms=terms, rho=rho, fe_nested=fe_nested, cluster_labels=cluster_labels
    )


def _stata_percentile(x: np.ndarray, p: float) -> float:
    # Stata's summarize, detail: the average of the two order statistics when n p is an
    # integer, otherwise the next one up (numpy's "averaged_inverted_cdf").
    return float(np.percentile(x, p, method="averaged_inverted_cdf"))


def summarize(values) -> dict[str, float]:
    """``summclust``'s row of cluster statistics: min, q1, median, mean, q3, max and the
    coefficient of variation ``sqrt(sum (x - xbar)^2 / ((G - 1) xbar^2))``."""
    x = np.asarray(values, dtype=float).reshape(-1)
    mean = float(x.mean())
    return {
        "min": float(x.min()),
        "q1": _stata_percentile(x, 25),
        "median": _stata_percentile(x, 50),
        "mean": mean,
        "q3": _stata_percentile(x, 75),
        "max": float(x.max()),
        "coefvar": float(np.sqrt(np.sum((x - mean) ** 2) / ((x.size - 1) * mean**2))),
    }


def influence_summary(report: xr.Dataset, term: str) -> xr.Dataset:
    """The ``summclust`` summary table for ``term``: variables n_obs, leverage,
    partial_leverage and beta_loo over the dim ``stat`` (:data:`SUMMARY_STATS`)."""
    sel = report.sel(term=term)
    cols = {v: summarize(sel[v].values) for v in ("n_obs", "leverage", "partial_leverage", "beta_loo")}
    return xr.Dataset(
        {v: ("stat", [c[s] for s in SUMMARY_STATS]) for v, c in cols.items()},
        coords={"stat": list(SUMMARY_STATS)},
        attrs={"term": term},
    )
