"""OLS with high-dimensional fixed effects: ``y = X b + sum_j FE_j + e``.

:func:`fit_fe` works on a :class:`~tradeq.models.design.Design` (the fixest-style formula
entry, :func:`tradeq.formula.feols`, builds one from a DataFrame). The estimator (Frisch–Waugh–Lovell; Correia 2017, "Linear
models with high-dimensional fixed effects", working paper; Gaure 2013):

1. drop singleton rows, iterating over FE dimensions until none is left (Correia 2015);
2. ``[y~, X~] = (I - P_D) [y, X]`` — the within transform of :mod:`tradeq.models.within`;
3. drop regressors collinear with earlier ones after step 2 (:mod:`tradeq.models.collinear`);
4. ``b = (X~'X~)^{-1} X~'y~`` by Cholesky, ``u = y~ - X~ b``;
5. the variance with pyfixest 0.60's small-sample corrections (:mod:`tradeq.models.vcov`).

R² = 1 - u'u / sum (y_i - ybar)²; within R² = 1 - u'u / y~'y~ (pyfixest ``_r2`` and
``_r2_within``; without FEs the within R² equals R²).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from . import vcov as V
from .collinear import detect_collinear
from .design import Design
from .fe_result import FEFit
from .precision import require_x64
from .singletons import drop_singletons
from .within import FWL_MAX_SMALL_LEVELS, aligned_empty, apply_plan, as_aligned, make_plan

VCOV_TYPES = ("iid", "hc1", "cluster", "twoway")
VCOV_ALIASES = {"hetero": "hc1", "HC1": "hc1", "crv1": "cluster", "CRV1": "cluster", "twoway_cluster": "twoway"}
N_CLUSTER_DIMS = {"iid": None, "hc1": None, "cluster": 1, "twoway": 2}


def _dense(codes: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Codes renumbered to 0..G-1 (levels may have vanished with dropped rows), G and the
    group sizes; the codes in a 64-byte aligned array (read by JAX without a copy)."""
    codes = np.ascontiguousarray(codes)
    if codes.size == 0:
        return codes.astype(np.int32), 0, np.zeros(0, np.int64)
    counts = np.bincount(codes)
    present = counts > 0
    out = aligned_empty(codes.shape, np.int32)
    if present.all():
        out[...] = codes
        return out, int(counts.size), counts
    remap = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
    np.take(remap, codes, out=out, mode="clip")
    return out, int(present.sum()), counts[present]


# Products over the n rows go through XLA, not NumPy: OpenBLAS threads its level-1/2
# kernels on long vectors and, with other work on the cores, its spinning threads cost
# more than they save (measured: fit time halves with them out of the hot path).


@jax.jit
def _gram(M):
    return M.T @ M


@jax.jit
def _residuals(Mt, w):
    u = Mt @ w
    return u, u @ u


@jax.jit
def _centered_ss(M):
    y = M[:, 0]
    yc = y - jnp.mean(y)
    return yc @ yc


def _yx_block(design: Design, y: np.ndarray, X: np.ndarray) -> np.ndarray | None:
    """The (n, 1 + k) block whose columns are exactly ``y`` and ``X``, if the design has one."""
    block = design.extras.get("yX") if isinstance(design.extras, dict) else None
    if not isinstance(block, np.ndarray) or block.dtype != np.float64 or not block.flags.c_contiguous:
        return None
    n, k = X.shape
    if block.shape != (n, k + 1):
        return None
    base, step = block.ctypes.data, block.strides[0]
    if y.ctypes.data == base and y.strides == (step,) and X.ctypes.data == base + 8 and X.strides == (step, 8):
        return block
    return None


def _nested(fe, fe_names, cl_codes, cl_names) -> np.ndarray:
    """FE dimensions nested in a cluster dimension; an FE named like a cluster column is
    nested by definition (pyfixest's first test), the others are checked on the codes."""
    flags = np.array([name in cl_names for name in fe_names], dtype=bool)
    todo = np.flatnonzero(~flags)
    if todo.size:
        flags[todo] = V.fe_nested_in_clusters(fe[:, todo], np.column_stack(cl_codes))
    return flags


def _check_vcov(vcov: str, design: Design) -> str:
    vt = VCOV_ALIASES.get(vcov, vcov)
    if vt not in VCOV_TYPES:
        raise ValueError(f"vcov must be one of {VCOV_TYPES}; got {vcov!r}")
    need = N_CLUSTER_DIMS[vt]
    cl = np.asarray(design.cluster)
    have = cl.shape[1] if cl.ndim == 2 else int(cl.ndim == 1)
    if need is not None and have != need:
        raise ValueError(
            f"vcov={vt!r} needs {need} cluster column(s) in the design; it has {have} "
            f"({list(design.cluster_names)})"
        )
    return vt


def _sample(fe: np.ndarray, cl: np.ndarray):
    """Singleton removal and dense recoding: (rows kept or None, fe codes, FE (codes, G,
    counts) per dimension, cluster (codes, G, counts) per dimension)."""
    n0, m = fe.shape
    rows = None
    if m:
        keep = drop_singletons(fe)
        if not keep.all():
            rows = np.flatnonzero(keep)
            fe, cl = np.take(fe, rows, axis=0, mode="clip"), np.take(cl, rows, axis=0, mode="clip")
    fe_cols = [_dense(fe[:, j]) for j in range(m)]
    # A cluster column equal to an FE column (firm FE, firm clusters) is recoded once.
    cl_cols = []
    for j in range(cl.shape[1]):
        same = next((i for i in range(m) if np.array_equal(cl[:, j], fe[:, i])), None)
        cl_cols.append(fe_cols[same] if same is not None else _dense(cl[:, j]))
    fe = np.column_stack([c for c, _, _ in fe_cols]) if m else np.zeros((fe.shape[0], 0), np.int32)
    return rows, fe, fe_cols, cl_cols


def _block(design: Design, y: np.ndarray, X: np.ndarray, rows) -> np.ndarray:
    """``[y, X]`` of the kept rows as one 64-byte aligned (N, 1 + k) block (JAX adopts it
    without a copy). tradeq.formula already lays y and X out as one block: one pass."""
    N = y.shape[0] if rows is None else rows.size
    M = aligned_empty((N, X.shape[1] + 1))
    block = _yx_block(design, y, X)
    # take(out=, mode="clip") skips take's buffering (indices are valid): ~3x faster
    if block is not None:
        if rows is None:
            M[...] = block
        else:
            np.take(block, rows, axis=0, out=M, mode="clip")
    elif rows is None:
        M[:, 0] = y
        M[:, 1:] = X
    else:
        np.take(y, rows, out=M[:, 0], mode="clip")
        np.take(X, rows, axis=0, out=M[:, 1:], mode="clip")
    return M


def _variance(vt, bread, Mt, resid, keep_cols, cl_cols, n_clusters, dfk):
    """The (k, k) covariance of type ``vt`` from ``Mt = [y~, X~]`` and the residuals;
    ``keep_cols`` indexes the kept regressors among the columns of X~."""
    N = resid.shape[0]
    if vt == "iid":
        return V.iid_vcov(bread, resid, dfk)
    # Scores x_i u_i written over [y~, X~] (no longer needed): one pass, no new block.
    if Mt.flags.writeable:
        np.multiply(Mt, resid[:, None], out=Mt)
        S = Mt
    else:
        S = V.scores(Mt, resid)
    sel = np.ix_(1 + keep_cols, 1 + keep_cols)
    if vt == "hc1":
        return V.ssc_hc1(N, dfk) * V.sandwich(bread, np.asarray(V.hc_meat(S))[sel])
    if vt == "cluster":
        meat = np.asarray(V.cluster_meat(S, V._codes(cl_cols[0][0]), n_clusters=n_clusters[0]))
        return V.ssc_crv1(N, dfk, n_clusters[0]) * V.sandwich(bread, meat[sel])
    meat = V.twoway_meat(S, cl_cols[0][0], cl_cols[1][0], n_clusters)
    return V.ssc_crv1(N, dfk, min(n_clusters)) * V.sandwich(bread, meat[sel])


def fit_fe(
    design: Design,
    vcov: str = "iid",
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    max_small_levels: int = FWL_MAX_SMALL_LEVELS,
) -> FEFit:
    """Fit ``design`` by OLS with its fixed effects absorbed; see the module docstring.

    ``vcov`` in {"iid", "hc1", "cluster", "twoway"} ("hetero"/"CRV1" accepted as aliases);
    "cluster" uses the single column of ``design.cluster``, "twoway" its two columns.
    ``tol``/``maxiter`` only matter when the within transform uses alternating projections,
    which it does when the FE dimensions other than the largest have more than
    ``max_small_levels`` levels (0 forces alternating projections whenever m >= 2).
    Collinear regressors are dropped with a warning naming them.
    """
    require_x64()
    vt = _check_vcov(vcov, design)
    y = np.asarray(design.y, dtype=np.float64)
    X = np.asarray(design.X, dtype=np.float64)
    if y.ndim != 1 or X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"design shapes do not agree: y {y.shape}, X {X.shape}")
    n0, k0 = X.shape
    if k0 == 0:
        raise ValueError("the design has no regressors")
    if n0 == 0:
        raise ValueError("the design has no rows")
    fe, cl = (np.asarray(a) for a in (design.fe, design.cluster))
    fe, cl = (a[:, None] if a.ndim == 1 else a for a in (fe, cl))
    if fe.shape[0] != n0 or cl.shape[0] != n0:
        raise ValueError(f"design has {n0} rows but fe {fe.shape} and cluster {cl.shape}")
    m = fe.shape[1]

    rows, fe, fe_cols, cl_cols = _sample(fe, cl)
    N = n0 if rows is None else rows.size
    if N == 0:
        raise ValueError("no observations left after dropping singletons")
    fe_levels = tuple(G for _, G, _ in fe_cols)
    n_clusters = tuple(G for _, G, _ in cl_cols)
    if vt in ("cluster", "twoway") and min(n_clusters) < 2:
        raise ValueError(f"clustered variance needs at least 2 clusters; got {n_clusters}")

    M = _block(design, y, X, rows)
    tss = float(_centered_ss(M))
    plan = make_plan(
        [c for c, _, _ in fe_cols], max_small_levels=max_small_levels, counts=[cnt for _, _, cnt in fe_cols]
    )
    Mt, sweeps, converged = apply_plan(plan, M, tol=tol, maxiter=maxiter, overwrite=True)
    del M  # overwritten by the exact routes
    if not converged:
        warnings.warn(
            f"alternating projections did not converge to tol={tol} in {sweeps} sweeps", stacklevel=2
        )
    MtM = np.asarray(_gram(as_aligned(Mt)))
    yy, Xy, XX = MtM[0, 0], MtM[1:, 0], MtM[1:, 1:]

    keep_x, dropped = detect_collinear(XX, design.x_names)
    names = tuple(nm for nm, kx in zip(design.x_names, keep_x) if kx)
    idx = np.flatnonzero(keep_x)
    if dropped:
        warnings.warn(f"dropped collinear regressor(s): {list(dropped)}", stacklevel=2)
        XX = XX[np.ix_(idx, idx)]
        Xy = Xy[idx]
    k = len(names)

    cho = scipy.linalg.cho_factor(XX, lower=True)
    coef = scipy.linalg.cho_solve(cho, Xy)
    bread = scipy.linalg.cho_solve(cho, np.eye(k))
    bread = 0.5 * (bread + bread.T)
    # u = y~ - X~ b as one matrix-vector product over [y~, X~] (dropped columns weigh 0).
    w = np.zeros(k0 + 1)
    w[0] = 1.0
    w[1 + idx] = -coef
    resid, rss = _residuals(as_aligned(Mt), w)
    resid, rss = np.asarray(resid), float(rss)

    nested = None
    if vt in ("cluster", "twoway") and m:
        nested = _nested(fe, design.fe_names, [c for c, _, _ in cl_cols], design.cluster_names)
    dfk = V.df_k(k, fe_levels, nested)
    if N - dfk <= 0:
        raise ValueError(f"no residual degrees of freedom: N = {N}, parameters = {dfk}")
    vc = _variance(vt, bread, Mt, resid, idx, cl_cols, n_clusters, dfk)

    return FEFit(
        coef=np.asarray(coef),
        vcov=np.asarray(vc),
        x_names=names,
        y_name=design.y_name,
        vcov_type=vt,
        df_t=float(V.df_t(vt, N, dfk, n_clusters)),
        n_obs=N,
        rss=rss,
        tss=tss,
        tss_within=float(yy) if m else tss,
        fe_names=tuple(design.fe_names),
        fe_levels=fe_levels,
        cluster_names=tuple(design.cluster_names),
        n_clusters=n_clusters,
        n_singletons=n0 - N,
        n_missing=int(design.n_missing),
        dropped_collinear=tuple(dropped),
        iterations=int(sweeps),
        converged=bool(converged),
        method="fe" if m else "ols",
        extras={
            "df_k": dfk,
            "within_method": plan.method,
            "fe_nested": tuple(bool(b) for b in nested) if nested is not None else (),
        },
    )

