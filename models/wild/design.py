"""The design the few-cluster methods take: FE nested in the clusters projected out,
every other FE as dummy columns.

Why nested FE may be projected out and others may not. Let ``D`` hold the dummies of FE
that are nested in the clusters (every level inside one cluster) and ``M_D`` the
projection off them; ``X~ = M_D X``, ``y~ = M_D y``. By Frisch–Waugh–Lovell the slope
estimates of ``y~`` on ``X~`` equal those with the dummies, and so do the residuals.
Two more things must survive for the wild cluster bootstrap and the jackknife:

* Bootstrap residuals. A wild bootstrap sample multiplies the (restricted) residuals of
  cluster g by one weight v_g, ``u* = u (.) v``. Refitting *with* ``D`` leaves the residuals
  ``M_[X, D] u* = M_X~ M_D u*``. Each column of ``D`` lies inside one cluster, where v is
  constant, and ``D'u = 0``; hence ``D'u* = 0`` and ``M_D u* = u*``: the refit on the
  projected data gives the same bootstrap residuals, scores and CRV1 denominators. For a
  non-nested FE (year effects with province clusters) a year dummy spans many clusters
  with different weights, ``D'u* != 0``, and projecting it out beforehand changes the
  bootstrap (``boottest`` carries an extra FE x cluster cross-tab term for that case;
  here such FE are dummy columns instead).
* Leave-one-cluster-out fits. Dropping cluster g drops every level of a nested FE that
  lives in g, and the within transformation of the other clusters is unchanged, so the
  jackknife of :mod:`tradeq.models.crv3` on ``(y~, X~)`` is the refit without g. A
  non-nested FE's demeaning uses the rows of g, so its leave-one-out fit would differ.

The small-sample factor of CRV1 counts parameters as pyfixest 0.60 does
(:func:`tradeq.models.vcov.df_k`: a nested FE counts one parameter), so ``ssc`` reproduces
pyfixest's clustered t statistic for the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import vcov as V
from ..collinear import cholesky_collinear, largest_diagonal_reference
from ..crv3 import check_clusters, check_design
from ..precision import require_x64
from ..singletons import drop_singletons
from ..within import within_transform

#: Most dummy columns :func:`cluster_design` builds for the non-nested FE.
MAX_DUMMY_COLUMNS = 5_000


@dataclass(frozen=True)
class ClusterDesign:
    """Arrays for the few-cluster functions, from :func:`cluster_design`.

    ``y`` (N,), ``X`` (N, p): the caller's k regressors first (same order), then an
    intercept if there are FE but none nested absorbs it (without FE, X is taken as is),
    then the dummies of the non-nested FE (one level
    per dimension left out, collinear ones dropped); ``names`` (p,). ``clusters`` (N,)
    dense codes 0..G-1. ``rows`` (N,) the input row of each design row: singletons are
    dropped and the rows sorted by cluster (stable), which makes the cluster blocks slices.
    ``nested`` (m,) which FE dimensions were projected out; ``df_k`` the parameter count
    and ``ssc = G/(G-1) (N-1)/(N-df_k)`` the CRV1 factor (pyfixest's).
    """

    y: np.ndarray
    X: np.ndarray
    clusters: np.ndarray
    names: tuple[str, ...]
    n_regressors: int
    nested: tuple[bool, ...]
    rows: np.ndarray
    df_k: int
    ssc: float

    @property
    def n_clusters(self) -> int:
        return int(self.clusters.max()) + 1

    @property
    def fe_nested(self) -> bool:
        """Whether any FE nested in the clusters was projected out."""
        return any(self.nested)

    def restriction(self, R) -> np.ndarray:
        """Pad ``R`` over the caller's k regressors (k,) with zeros for the added columns (p,)."""
        R = np.asarray(R, dtype=float).reshape(-1)
        if R.size != self.n_regressors:
            raise ValueError(f"R must have {self.n_regressors} entries (one per regressor); got {R.size}")
        return np.concatenate([R, np.zeros(self.X.shape[1] - self.n_regressors)])


def _dense(codes: np.ndarray) -> np.ndarray:
    _, inv = np.unique(codes, return_inverse=True)
    return inv.reshape(-1).astype(np.int32)


def _dummy_block(fe: np.ndarray, dims: list[int], fe_names: list[str], intercept: bool):
    n = fe.shape[0]
    sizes = [int(fe[:, j].max()) + 1 for j in dims]
    p = int(intercept) + sum(G - 1 for G in sizes)
    if p > MAX_DUMMY_COLUMNS:
        raise ValueError(
            f"the FE not nested in the clusters ({[fe_names[j] for j in dims]}) need {p} dummy columns "
            f"(> {MAX_DUMMY_COLUMNS}); the few-cluster methods need them as regressors"
        )
    D = np.zeros((n, p))
    names = ["(Intercept)"] if intercept else []
    if intercept:
        D[:, 0] = 1.0
    col = int(intercept)
    for j, G in zip(dims, sizes):
        rows = np.flatnonzero(fe[:, j] > 0)
        D[rows, col + fe[rows, j] - 1] = 1.0
        names += [f"{fe_names[j]}[{lev}]" for lev in range(1, G)]
        col += G - 1
    return D, names


def _check_inputs(y, X, fe, clusters, names, fe_names):
    y, X = check_design(y, X)
    n, k = X.shape
    fe = np.zeros((n, 0), np.int64) if fe is None else np.asarray(fe)
    fe = fe[:, None] if fe.ndim == 1 else fe
    if fe.shape[0] != n:
        raise ValueError(f"fe has {fe.shape[0]} rows, y has {n}")
    m = fe.shape[1]
    names = [f"x{j}" for j in range(k)] if names is None else [str(s) for s in names]
    fe_names = [f"fe{j}" for j in range(m)] if fe_names is None else [str(s) for s in fe_names]
    if len(names) != k or len(fe_names) != m:
        raise ValueError(f"need {k} names and {m} fe_names; got {len(names)} and {len(fe_names)}")
    cl = np.asarray(clusters)
    if cl.shape != (n,):
        raise ValueError(f"clusters must have shape ({n},); got {cl.shape}")
    return y, X, fe, cl, names, fe_names


def _drop_collinear(Z: np.ndarray, k: int, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Drop the added columns of ``Z = [y, X, D]`` collinear with earlier ones; an error
    if one of the caller's k regressors is. Returns (C-ordered [y, X~], kept columns of X~)."""
    Xt = Z[:, 1:]
    XtX = Xt.T @ Xt
    drop = cholesky_collinear(XtX, tol=1e-10, reference=largest_diagonal_reference(XtX))
    if drop[:k].any():
        bad = [names[j] for j in np.flatnonzero(drop[:k])]
        raise ValueError(f"regressor(s) {bad} are collinear with the fixed effects or earlier regressors")
    keep_cols = np.flatnonzero(~drop)
    # y and X stay views of one C-ordered [y, X] block, which cluster_blocks reads in place
    return np.ascontiguousarray(Z if not drop.any() else Z[:, np.r_[0, 1 + keep_cols]]), keep_cols


def cluster_design(
    y,
    X,
    fe,
    clusters,
    *,
    names: Sequence[str] | None = None,
    fe_names: Sequence[str] | None = None,
    drop_singleton_rows: bool = True,
) -> ClusterDesign:
    """Build the few-cluster design from ``y`` (n,), ``X`` (n, k), FE codes ``fe`` (n, m)
    (or (n,), or None) and ``clusters`` (n,) (any integer codes).

    FE dimensions nested in the clusters are projected out of y, X and the dummy columns
    with :func:`tradeq.models.within.within_transform`; the others become dummy columns
    (see the module docstring for why). Singleton rows are dropped first, as pyfixest
    does. Raises ``ValueError`` if one of the caller's regressors is collinear with the FE.
    """
    require_x64()
    y, X, fe, cl, names, fe_names = _check_inputs(y, X, fe, clusters, names, fe_names)
    n, k = X.shape
    m = fe.shape[1]
    keep = drop_singletons(fe) if m and drop_singleton_rows else np.ones(n, dtype=bool)
    # rows in cluster order: the cluster blocks are then slices, not gathers
    codes, G = check_clusters(_dense(cl[keep]), int(keep.sum()))
    rows = np.flatnonzero(keep)[np.argsort(codes, kind="stable")]
    codes = _dense(cl[rows])
    y, X, fe = y[rows], X[rows], fe[rows]
    fe = np.column_stack([_dense(fe[:, j]) for j in range(m)]) if m else fe.astype(np.int32)
    nested = V.fe_nested_in_clusters(fe, codes[:, None]) if m else np.zeros(0, bool)
    D, dnames = _dummy_block(fe, [j for j in range(m) if not nested[j]], fe_names, intercept=bool(m) and not nested.any())
    Z = np.column_stack([y, X, D])
    if nested.any():
        Z, _, ok = within_transform(Z, fe[:, nested])
        if not ok:
            raise ValueError("the within transformation by the nested FE did not converge")
    Z, keep_cols = _drop_collinear(Z, k, names)
    yt, Xt = Z[:, 0], Z[:, 1:]
    all_names = names + dnames
    N = yt.shape[0]
    levels = [int(fe[:, j].max()) + 1 for j in range(m)]
    dfk = V.df_k(k, levels, nested)  # k when m == 0
    if N - dfk <= 0:
        raise ValueError(f"no residual degrees of freedom: N = {N}, parameters = {dfk}")
    return ClusterDesign(
        y=yt,
        X=Xt,
        clusters=codes,
        names=tuple(all_names[j] for j in keep_cols),
        n_regressors=k,
        nested=tuple(bool(b) for b in nested),
        rows=rows,
        df_k=int(dfk),
        ssc=float(G / (G - 1) * (N - 1) / (N - dfk)),
    )
