"""OLS with high-dimensional fixed effects: ``y = X b + sum_j FE_j + e``.

:func:`fit_fe` works on a :class:`~tradeq.models.design.Design` (the fixest-style formula
entry, :func:`tradeq.formula.feols`, builds one from a DataFrame). The estimator
(Frisch–Waugh–Lovell; Correia 2017, "Linear models with high-dimensional fixed effects",
working paper; Gaure 2013):

1. drop singleton rows, iterating over FE dimensions until none is left (Correia 2015) —
   by recoding, not copying (:mod:`tradeq.models.fe_sample`);
2. ``[y~, X~] = (I - P_D) [y, X]`` — the within transform of :mod:`tradeq.models.within`,
   written once into a new block (dropped rows zero);
3. drop regressors collinear with the FEs or with earlier ones, scale-free
   (:mod:`tradeq.models.collinear`);
4. ``b = (X~'X~)^{-1} X~'y~`` by Cholesky, ``u = y~ - X~ b``;
5. the variance with pyfixest 0.60's small-sample corrections and fixest's eigenvalue fix
   for two-way clustering (:func:`tradeq.models.vcov.fe_vcov`).

R² = 1 - u'u / sum (y_i - ybar)²; within R² = 1 - u'u / y~'y~ (pyfixest ``_r2`` and
``_r2_within``; without FEs the within R² equals R²).

Every pass over the n rows is O(n): no sort, no (n, p) scratch block, no int64 copy of the
codes; the peak memory is the design's block plus the transformed block.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from . import vcov as V
from .aligned import aligned_empty, release_host_buffers
from .collinear import detect_collinear, fe_reference
from .design import Design
from .fe_result import FEFit
from .fe_sample import Sample, estimation_sample
from .precision import require_x64
from .within import FWL_MAX_SMALL_LEVELS, apply_plan, make_plan
from .within_fwl import exact_tables, subtract_tables

VCOV_TYPES = ("iid", "hc1", "cluster", "twoway")
VCOV_ALIASES = {"hetero": "hc1", "HC1": "hc1", "crv1": "cluster", "CRV1": "cluster", "twoway_cluster": "twoway"}
N_CLUSTER_DIMS = {"iid": None, "hc1": None, "cluster": 1, "twoway": 2}

# Products over the n rows go through XLA, not NumPy: OpenBLAS threads its level-1/2
# kernels on long vectors and, with other work on the cores, its spinning threads cost
# more than they save.


@jax.jit
def _gram(M):
    return M.T @ M


#: Rows per block of the residual and score pass (8192 x 8 float64 = 512 KiB, in L2).
_BLOCK_ROWS = 8192


@jax.jit
def _column_sums(M, shift):
    # two sibling reductions of M: XLA fuses them into one pass (a shared producer M - s
    # would be materialised as an (n, p) block)
    d = M - shift[None, :]
    return jnp.sum(M, axis=0), jnp.sum(d * d, axis=0)


class Moments(NamedTuple):
    """Per column of ``[y, X]`` over the sample: centred and raw sums of squares."""

    centred: np.ndarray
    raw: np.ndarray


class LeastSquares(NamedTuple):
    coef: np.ndarray  # (k,)
    bread: np.ndarray  # (k, k) (X~'X~)^{-1}
    kept: np.ndarray  # (k,) indices of the kept regressors among the k0 of the design
    names: tuple[str, ...]
    dropped: tuple[str, ...]
    yy: float  # y~'y~


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


def _design_arrays(design: Design):
    """(y (n,), X (n, k), fe (n, m), cluster (n, c)) with their shapes checked."""
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
    return y, X, fe, cl


def _source_block(design: Design, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, bool]:
    """``([y, X] as one aligned (n, 1 + k) block, whether it is the design's own)``: the
    design's block when its y and X are views of one (tradeq.formula lays them out so),
    else a private copy."""
    block = design.extras.get("yX") if isinstance(design.extras, dict) else None
    n, k = X.shape
    if (
        isinstance(block, np.ndarray) and block.dtype == np.float64 and block.flags.c_contiguous
        and block.flags.writeable and block.shape == (n, k + 1) and block.ctypes.data % 64 == 0
    ):
        base, step = block.ctypes.data, block.strides[0]
        if y.ctypes.data == base and y.strides == (step,) and X.ctypes.data == base + 8 and X.strides == (step, 8):
            return block, True
    M = aligned_empty((n, k + 1))
    M[:, 0] = y
    M[:, 1:] = X
    return M, False


def column_moments(M: np.ndarray, dropped: np.ndarray) -> Moments:
    """Centred and raw sums of squares of each column of ``M`` (n, p) over the rows not in
    ``dropped``, in one pass. With ``s`` the mean of the first rows, ``sum (x - s)^2 -
    (sum x - N s)^2 / N`` does not cancel when a column's mean is large next to its sd
    (the error of ``sum x - N s`` is ~eps N |mean|, which enters multiplied by
    ``mean - s``)."""
    n = M.shape[0]
    shift = np.asarray(M[: min(n, 1024)].mean(axis=0))
    s1, s2 = (np.asarray(a) for a in _column_sums(M, shift))
    if dropped.size:
        rows = M[dropped]
        s1, s2 = s1 - rows.sum(axis=0), s2 - ((rows - shift) ** 2).sum(axis=0)
    N = n - dropped.size
    d1 = s1 - N * shift  # sum (x - s)
    centred = np.maximum(s2 - d1 * d1 / N, 0.0)
    raw = s2 + 2.0 * shift * s1 - N * shift * shift
    return Moments(centred, raw)


def _absorb(src: np.ndarray, in_place: bool, sample: Sample, tol: float, maxiter: int, max_small_levels: int):
    """``(Mt, method, sweeps, converged)``: the within transform of ``src`` — written over
    ``src`` when ``in_place``, else into a new block — with the dropped rows zero. Without
    FEs, ``src`` itself (unchanged)."""
    if not sample.fe:
        return src, "none", 0, True
    plan = make_plan([d.codes for d in sample.fe], max_small_levels=max_small_levels,
                     counts=[d.counts for d in sample.fe])
    method, sweeps, converged = plan.method, 0, True
    out = src if in_place else aligned_empty(src.shape)
    if method in ("demean", "fwl"):
        tables, codes = exact_tables(plan, src)
        del plan
        release_host_buffers()  # the co-occurrence counts: only the small tables are needed now
        Mt = subtract_tables(src, tables, codes, out)
    else:
        Mt, sweeps, converged = apply_plan(plan, src, tol=tol, maxiter=maxiter)
        out[...] = Mt  # a read-only JAX buffer
        Mt = out
    if sample.dropped.size:
        Mt[sample.dropped] = 0.0
    return Mt, method, sweeps, converged


def _least_squares(Mt: np.ndarray, moments: Moments, names, has_fe: bool) -> LeastSquares:
    """Gram of ``[y~, X~]``, collinear columns dropped, Cholesky solve."""
    MtM = np.asarray(_gram(Mt))
    yy, Xy, XX = float(MtM[0, 0]), MtM[1:, 0], MtM[1:, 1:]
    reference = fe_reference(moments.centred[1:], moments.raw[1:]) if has_fe else None
    keep_x, dropped = detect_collinear(XX, names, reference=reference)
    kept = np.flatnonzero(keep_x)
    if dropped:
        XX, Xy = XX[np.ix_(kept, kept)], Xy[kept]
    cho = scipy.linalg.cho_factor(XX, lower=True)
    coef = scipy.linalg.cho_solve(cho, Xy)
    bread = scipy.linalg.cho_solve(cho, np.eye(kept.size))
    bread = 0.5 * (bread + bread.T)
    return LeastSquares(coef, bread, kept, tuple(names[i] for i in kept), dropped, yy)


def _residuals_and_scores(Mt: np.ndarray, ls: LeastSquares, scores: np.ndarray | None):
    """``(u, u'u)``, and the scores ``[y~, X~] * u`` written into ``scores`` (may be ``Mt``;
    None: no scores) in the same pass, block by block.

    ``u = y~ - X~ b`` is one matrix-vector product over ``[y~, X~]`` (dropped columns weigh
    0); each block's ``u`` is used while the block is in cache."""
    w = np.zeros(Mt.shape[1])
    w[0] = 1.0
    w[1 + ls.kept] = -ls.coef
    n = Mt.shape[0]
    u = np.empty(n)
    rss = 0.0
    for s in range(0, n, _BLOCK_ROWS):
        e = min(s + _BLOCK_ROWS, n)
        ub = u[s:e]
        np.matmul(Mt[s:e], w, out=ub)
        rss += float(ub @ ub)
        if scores is not None:
            np.multiply(Mt[s:e], ub[:, None], out=scores[s:e])
    return u, rss


def _degrees_of_freedom(vt: str, k: int, sample: Sample, design: Design):
    """``(df_k, nested flags or None)``: FEs nested in a cluster dimension count once. An
    FE named like a cluster column is nested by definition (pyfixest's first test), the
    others are checked on the codes."""
    nested = None
    if vt in ("cluster", "twoway") and sample.fe:
        nested = np.array([name in design.cluster_names for name in design.fe_names], dtype=bool)
        todo = np.flatnonzero(~nested)
        if todo.size:
            fe = [sample.fe[j].codes for j in todo]
            nested[todo] = V.fe_nested_in_clusters(
                fe, [d.codes for d in sample.cluster],
                fe_levels=[sample.fe_levels[j] for j in todo], n_clusters=sample.n_clusters,
            )
    dfk = V.df_k(k, sample.fe_levels, nested)
    if sample.n_obs - dfk <= 0:
        raise ValueError(f"no residual degrees of freedom: N = {sample.n_obs}, parameters = {dfk}")
    return dfk, nested


class Inference(NamedTuple):
    vcov: np.ndarray
    rss: float
    df_k: int
    nested: np.ndarray | None
    vcov_info: dict


def _sample(design: Design, vt: str):
    """(y, X, :class:`~tradeq.models.fe_sample.Sample`), the sample checked for the fit."""
    y, X, fe, cl = _design_arrays(design)
    sample = estimation_sample(fe, cl)
    if sample.n_obs == 0:
        raise ValueError("no observations left after dropping singletons")
    if vt in ("cluster", "twoway") and min(sample.n_clusters) < 2:
        raise ValueError(f"clustered variance needs at least 2 clusters; got {sample.n_clusters}")
    return y, X, sample


def _inference(vt: str, Mt: np.ndarray, writable: bool, ls: LeastSquares, sample: Sample, design: Design,
               fix_psd: bool) -> Inference:
    """Residuals, degrees of freedom and the variance; the scores ``[y~, X~] * u`` are
    written over ``Mt`` when it is ours (``writable``), in the pass that forms ``u``."""
    S = None if vt == "iid" else (Mt if writable else aligned_empty(Mt.shape))
    resid, rss = _residuals_and_scores(Mt, ls, S)
    dfk, nested = _degrees_of_freedom(vt, ls.kept.size, sample, design)
    vc, info = V.fe_vcov(
        vt, ls.bread, None, resid, dfk, n_obs=sample.n_obs, clusters=[d.codes for d in sample.cluster],
        n_clusters=sample.n_clusters, segments=[d.segments for d in sample.cluster], columns=1 + ls.kept,
        rss=rss, precomputed_scores=S, fix_psd=fix_psd,
    )
    return Inference(np.asarray(vc), rss, dfk, nested, info)


def _result(design: Design, vt: str, sample: Sample, moments: Moments, ls: LeastSquares, inf: Inference,
            method: str, sweeps: int, converged: bool) -> FEFit:
    tss = float(moments.centred[0])
    return FEFit(
        coef=np.asarray(ls.coef), vcov=inf.vcov, x_names=ls.names, y_name=design.y_name, vcov_type=vt,
        df_t=float(V.df_t(vt, sample.n_obs, inf.df_k, sample.n_clusters)), n_obs=sample.n_obs, rss=inf.rss,
        tss=tss, tss_within=ls.yy if sample.fe else tss,
        fe_names=tuple(design.fe_names), fe_levels=sample.fe_levels, cluster_names=tuple(design.cluster_names),
        n_clusters=sample.n_clusters, n_singletons=int(sample.dropped.size), n_missing=int(design.n_missing),
        dropped_collinear=tuple(ls.dropped), iterations=int(sweeps), converged=bool(converged),
        method="fe" if sample.fe else "ols",
        extras={
            "df_k": inf.df_k,
            "within_method": method,
            "fe_nested": tuple(bool(b) for b in inf.nested) if inf.nested is not None else (),
            "vcov_min_eigenvalue": inf.vcov_info["min_eigenvalue"],
            "vcov_psd_fixed": inf.vcov_info["psd_fixed"],
        },
    )


def fit_fe(
    design: Design,
    vcov: str = "iid",
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    max_small_levels: int = FWL_MAX_SMALL_LEVELS,
    fix_psd: bool = True,
    overwrite_design: bool = False,
) -> FEFit:
    """Fit ``design`` by OLS with its fixed effects absorbed; see the module docstring.

    ``vcov`` in {"iid", "hc1", "cluster", "twoway"} ("hetero"/"CRV1" accepted as aliases);
    "cluster" uses the single column of ``design.cluster``, "twoway" its two columns.
    ``tol``/``maxiter`` only matter when the within transform uses alternating projections,
    which it does when the FE dimensions other than the largest have more than
    ``max_small_levels`` levels (0 forces alternating projections whenever m >= 2).
    ``fix_psd``: fixest's eigenvalue fix of a variance with a negative diagonal
    (:mod:`tradeq.models.vcov`); ``extras`` records the smallest eigenvalue before it and
    whether it was applied. Collinear regressors are dropped with a warning naming them.
    ``overwrite_design``: the fit may use the design's ``[y | X]`` block as its work space
    (``design.y``/``design.X`` are then garbage), saving an (n, 1 + k) block; for callers
    that discard the design, as :func:`tradeq.formula.feols` does.
    """
    require_x64()
    release_host_buffers()  # blocks of an earlier fit that JAX still holds (see aligned.py)
    vt = _check_vcov(vcov, design)
    y, X, sample = _sample(design, vt)
    src, shared = _source_block(design, y, X)
    moments = column_moments(src, sample.dropped)
    in_place = overwrite_design or not shared
    Mt, method, sweeps, converged = _absorb(src, in_place, sample, tol, maxiter, max_small_levels)
    if not converged:
        warnings.warn(f"alternating projections did not converge to tol={tol} in {sweeps} sweeps", stacklevel=2)
    ls = _least_squares(Mt, moments, design.x_names, has_fe=bool(sample.fe))
    if ls.dropped:
        warnings.warn(f"dropped collinear regressor(s): {list(ls.dropped)}", stacklevel=2)
    inf = _inference(vt, Mt, Mt is not src or in_place, ls, sample, design, fix_psd)
    del Mt, src
    release_host_buffers()  # the (n, 1 + k) blocks JAX read without a copy
    return _result(design, vt, sample, moments, ls, inf, method, sweeps, converged)
