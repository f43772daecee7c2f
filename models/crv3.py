"""Cluster-level blocks and the leave-one-cluster-out jackknife variances CRV3 and CRV3J.

Notation: ``y`` (n,), ``X`` (n, k), G clusters with row sets ``g``; the blocks

    X_g'X_g (k, k),   X_g'y_g (k,),   y_g'y_g,   1'X_g (k,),   N_g

are computed once, in one pass over the rows (:func:`cluster_blocks`); everything else
here and in :mod:`tradeq.models.cluster_influence` and :mod:`tradeq.models.wild` works on
them, so its cost does not grow with n.

The leave-one-cluster-out estimates are G small k x k solves, not G refits:

    b_(g) = (X'X - X_g'X_g)^{-1} (X'y - X_g'y_g)

and the jackknife variances are (MacKinnon, Nielsen & Webb 2023, "Fast and reliable
jackknife and bootstrap methods for cluster-robust inference", J. Applied Econometrics
38(5), eqs. 7-8; Bell & McCaffrey 2002, Survey Methodology 28(2) for the CRV3 form):

    CRV3  = (G-1)/G sum_g (b_(g) - b)(b_(g) - b)'
    CRV3J = (G-1)/G sum_g (b_(g) - bbar)(b_(g) - bbar)',   bbar = mean_g b_(g)

with t tests on G - 1 degrees of freedom.

When ``X'X - X_g'X_g`` is singular (a regressor, e.g. a dummy, varies only inside cluster
g), b_(g) is not identified. Like Stata's ``summclust`` (whose ``invsym`` sets the
coefficients of the dependent columns to zero), the columns that are collinear with earlier
ones in the leave-one-out sample get 0 and the others are the exact least-squares solution;
any coefficient that is identified without cluster g is therefore exact. Such clusters are
flagged in ``singular``; ``singular="drop"`` leaves them out of the sum (and out of G),
``summclust``'s second standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .collinear import cholesky_collinear, largest_diagonal_reference
from .precision import require_x64
from .tinference import TInference

SingularRule = Literal["ginv", "drop"]

#: A leave-one-out column is collinear when its squared residual norm is below this
#: fraction of its own squared norm (or of the largest diagonal element, for zero columns).
LOO_RTOL = 1e-10


@dataclass(frozen=True)
class ClusterBlocks:
    """Per-cluster cross products of ``[y, X]``.

    Shapes: ``XX`` (G, k, k), ``Xy`` (G, k), ``yy`` (G,), ``Xsum`` (G, k) the column sums
    ``1'X_g`` (computed on request, see :func:`cluster_blocks`), ``counts`` (G,) the
    cluster sizes N_g.
    """

    XX: np.ndarray
    Xy: np.ndarray
    yy: np.ndarray
    Xsum: np.ndarray
    counts: np.ndarray

    @property
    def G(self) -> int:
        return int(self.counts.size)

    @property
    def k(self) -> int:
        return int(self.XX.shape[1])

    @property
    def n_obs(self) -> int:
        return int(self.counts.sum())

    @property
    def XtX(self) -> np.ndarray:
        return self.XX.sum(axis=0)

    @property
    def Xty(self) -> np.ndarray:
        return self.Xy.sum(axis=0)


def check_clusters(clusters, n: int) -> tuple[np.ndarray, int]:
    """Validate dense cluster codes ``0..G-1`` (n,), every code present; returns (codes, G)."""
    codes = np.asarray(clusters)
    if codes.shape != (n,):
        raise ValueError(f"clusters must have shape ({n},); got {codes.shape}")
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"clusters must be integer codes 0..G-1; got dtype {codes.dtype}")
    if n == 0:
        raise ValueError("no observations")
    if int(codes.min()) < 0:
        raise ValueError(f"cluster codes must be >= 0; found {int(codes.min())}")
    counts = np.bincount(codes)
    if not (counts > 0).all():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(f"cluster codes must be dense 0..G-1; code {missing} has no rows")
    if counts.size < 2:
        raise ValueError("cluster-robust inference needs at least 2 clusters; got 1")
    return codes, int(counts.size)


def check_design(y, X) -> tuple[np.ndarray, np.ndarray]:
    """``y`` (n,) and ``X`` (n, k) as float64 arrays with matching rows."""
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if y.ndim != 1 or X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"need y (n,) and X (n, k); got y {y.shape} and X {X.shape}")
    if X.shape[1] == 0:
        raise ValueError("X has no columns")
    return y, X


def yx_block(y: np.ndarray, X: np.ndarray) -> np.ndarray | None:
    """The C-ordered (n, 1 + k) block whose columns are exactly y and X, when y and X are
    its column views (as :func:`tradeq.models.wild.cluster_design` lays them out): element
    (i, 0) is y_i and (i, j) is X_{i, j-1}, so the block is read in place."""
    n, k = X.shape
    step = (k + 1) * 8
    if y.dtype != np.float64 or X.dtype != np.float64 or n < 2:
        return None
    if y.strides != (step,) or X.strides != (step, 8) or X.ctypes.data != y.ctypes.data + 8:
        return None
    return np.lib.stride_tricks.as_strided(y, shape=(n, k + 1), strides=(step, 8), writeable=False)


def cluster_blocks(y, X, clusters, *, sums: bool = False) -> ClusterBlocks:
    """The per-cluster blocks of ``y`` (n,), ``X`` (n, k), ``clusters`` (n,) dense codes.

    One ``[y, X]_g'[y, X]_g`` product per cluster (a BLAS-3 call: O(n k^2) in all, no
    level-1/2 BLAS on long vectors, whose threads spin on a busy machine). Rows in cluster
    order that are views of one ``[y, X]`` block are read in place; otherwise each
    cluster's rows are gathered once. ``sums=True`` also fills ``Xsum`` (else zeros).
    """
    y, X = check_design(y, X)
    codes, G = check_clusters(clusters, y.shape[0])
    counts = np.bincount(codes, minlength=G)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    in_order = bool(np.all(codes[1:] >= codes[:-1]))
    block = yx_block(y, X) if in_order else None
    if not in_order:
        # a stable radix sort on 16-bit keys when the codes fit
        order = np.argsort(codes.astype(np.int16) if G < 2**15 else codes, kind="stable")
    k = X.shape[1]
    grams = np.empty((G, k + 1, k + 1))
    Xsum = np.zeros((G, k))
    for g in range(G):
        lo, hi = offsets[g], offsets[g + 1]
        if block is not None:
            Mg = block[lo:hi]
        else:
            rows = slice(lo, hi) if in_order else order[lo:hi]
            Mg = np.empty((hi - lo, k + 1))
            Mg[:, 0] = y[rows]
            Mg[:, 1:] = X[rows]
        grams[g] = Mg.T @ Mg
        if sums:
            Xsum[g] = Mg[:, 1:].sum(axis=0)
    grams = 0.5 * (grams + np.swapaxes(grams, 1, 2))
    return ClusterBlocks(
        XX=np.ascontiguousarray(grams[:, 1:, 1:]), Xy=np.ascontiguousarray(grams[:, 1:, 0]),
        yy=grams[:, 0, 0].copy(), Xsum=Xsum, counts=counts,
    )


def full_sample_solve(blocks: ClusterBlocks) -> tuple[np.ndarray, np.ndarray]:
    """``(b, (X'X)^{-1})``: the OLS coefficients (k,) and the bread (k, k).

    Raises ``ValueError`` when ``X'X`` is singular (collinear columns must be dropped by
    the caller, e.g. by :func:`tradeq.models.wild.cluster_design`).
    """
    XtX = blocks.XtX
    drop = cholesky_collinear(XtX, tol=LOO_RTOL, reference=largest_diagonal_reference(XtX))
    if drop.any():
        raise ValueError(f"X'X is singular: column(s) {np.flatnonzero(drop).tolist()} are collinear with earlier ones")
    L = np.linalg.cholesky(XtX)
    eye = np.eye(blocks.k)
    Linv = np.linalg.solve(L, eye)
    bread = Linv.T @ Linv
    bread = 0.5 * (bread + bread.T)
    return bread @ blocks.Xty, bread


def _solve_kept(A: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares on the columns of ``A`` (k, k) independent in column order; the
    collinear ones get 0. ``rhs`` (k, m). Returns (solution (k, m), dropped (k,) bool)."""
    drop = cholesky_collinear(A, tol=LOO_RTOL, reference=largest_diagonal_reference(A))
    keep = np.flatnonzero(~drop)
    out = np.zeros((A.shape[0], rhs.shape[1]))
    if keep.size:
        sub = A[np.ix_(keep, keep)]
        L = np.linalg.cholesky(sub)
        z = np.linalg.solve(L, rhs[keep])
        out[keep] = np.linalg.solve(L.T, z)
    return out, drop


def leave_one_out_solve(blocks: ClusterBlocks, rhs_fn) -> tuple[np.ndarray, np.ndarray]:
    """``(X'X - X_g'X_g)^- rhs_fn(g)`` for every g: (G, k, m) solutions and (G,) singular flags.

    ``rhs_fn(g)`` returns the (k, m) right-hand side for cluster g; the generalised inverse
    is the column-dropping one described in the module docstring.
    """
    XtX = blocks.XtX
    sols, singular = [], np.zeros(blocks.G, dtype=bool)
    for g in range(blocks.G):
        sol, drop = _solve_kept(XtX - blocks.XX[g], rhs_fn(g))
        sols.append(sol)
        singular[g] = bool(drop.any())
    return np.stack(sols), singular


def leave_one_out(blocks: ClusterBlocks) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-cluster-out coefficients ``b_(g)`` (G, k) and the singular flags (G,)."""
    Xty = blocks.Xty
    sols, singular = leave_one_out_solve(blocks, lambda g: (Xty - blocks.Xy[g])[:, None])
    return sols[:, :, 0], singular


@dataclass(frozen=True)
class CRV3Result(TInference):
    """Jackknife variance of :func:`crv3_vcov`.

    ``coef`` (k,) full-sample OLS, ``vcov`` (k, k), ``beta_loo`` (G, k) the
    leave-one-cluster-out estimates, ``singular`` (G,) clusters whose omission leaves
    ``X'X - X_g'X_g`` singular; ``n_used`` clusters enter the sum (G, or the non-singular
    ones under ``singular_rule="drop"``) and ``df = n_used - 1``.
    """

    coef: np.ndarray
    vcov: np.ndarray
    beta_loo: np.ndarray
    singular: np.ndarray
    kind: str  # "CRV3" or "CRV3J"
    singular_rule: str
    n_clusters: int
    n_used: int
    n_obs: int

    @property
    def df(self) -> int:
        return self.n_used - 1

    @property
    def df_t(self) -> int:
        """The t degrees of freedom of :class:`~tradeq.models.tinference.TInference`: G − 1."""
        return self.df


def crv3_from_blocks(
    blocks: ClusterBlocks, *, jackknife: bool = False, singular: SingularRule = "ginv"
) -> CRV3Result:
    """CRV3 (``jackknife=False``) or CRV3J from precomputed :class:`ClusterBlocks`."""
    if singular not in ("ginv", "drop"):
        raise ValueError(f"singular must be 'ginv' or 'drop'; got {singular!r}")
    coef, _ = full_sample_solve(blocks)
    beta_loo, flags = leave_one_out(blocks)
    used = np.ones(blocks.G, dtype=bool) if singular == "ginv" else ~flags
    Gu = int(used.sum())
    if Gu < 2:
        raise ValueError(f"CRV3 needs at least 2 leave-one-out estimates; {Gu} are non-singular")
    b_used = beta_loo[used]
    center = b_used.mean(axis=0) if jackknife else coef
    dev = b_used - center
    vcov = (Gu - 1) / Gu * (dev.T @ dev)
    return CRV3Result(
        coef=coef,
        vcov=0.5 * (vcov + vcov.T),
        beta_loo=beta_loo,
        singular=flags,
        kind="CRV3J" if jackknife else "CRV3",
        singular_rule=singular,
        n_clusters=blocks.G,
        n_used=Gu,
        n_obs=blocks.n_obs,
    )


def crv3_vcov(y, X, clusters, *, jackknife: bool = False, singular: SingularRule = "ginv") -> CRV3Result:
    """CRV3 / CRV3J of the OLS coefficients of ``y`` (n,) on ``X`` (n, k), clusters (n,).

    ``clusters`` are dense integer codes ``0..G-1``. Fixed effects nested in the clusters
    may be projected out of ``y`` and ``X`` beforehand (dropping cluster g then drops all
    of their levels in g, so the leave-one-out fits are unchanged); any other FE must be
    dummy columns of ``X`` — :func:`tradeq.models.wild.cluster_design` builds that design.
    See the module docstring for the equations and the ``singular`` rule.
    """
    require_x64()
    return crv3_from_blocks(cluster_blocks(y, X, clusters), jackknife=jackknife, singular=singular)
