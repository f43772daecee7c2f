"""Variance estimators for OLS after the within transformation, with pyfixest 0.60's
default small-sample corrections (``pf.feols(..., ssc=None)`` → ``pf.ssc()`` =
``k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min"``).

Notation: N rows (after singletons are dropped), ``X~`` (N, k) demeaned regressors that
were kept, ``u`` (N,) residuals, bread ``B = (X~'X~)^{-1}``, and for clustering ``G`` the
number of clusters (levels present in the estimation sample).

Degrees of freedom of the model (``pyfixest.utils.utils.get_ssc``, which follows fixest
issue #554 for the "- (m - 1)" term) — FE dimension j has ``G_j`` levels, m dimensions:

    df_k = k + sum_j G_j - (m - 1)                                    (iid, HC1)
    df_k = k + sum_j G_j - (m - 1) - sum_{j nested} G_j + #nested      (cluster, two-way)
    df_k = k                                                           (m = 0; k counts the intercept)

An FE dimension is *nested* when every one of its levels lies in a single cluster of some
cluster dimension (``pyfixest.core.nested_fixed_effects``; an FE that IS the cluster
variable is nested). Each nested FE then counts as one parameter instead of ``G_j``.

Estimators (``pyfixest.estimation.models.feols_.Feols.vcov`` / ``_vcov_iid``,
``_vcov_hetero``, ``_vcov_crv1``):

    iid:     V = (N-1)/(N-df_k) * u'u/(N-1) * B  =  u'u / (N - df_k) * B
    HC1:     V = N/(N-df_k) * B (sum_i u_i^2 x_i x_i') B            (White 1980; MacKinnon & White 1985)
    CRV1:    V = G/(G-1) * (N-1)/(N-df_k) * B (sum_g s_g s_g') B,  s_g = sum_{i in g} x_i u_i
                                                                    (Liang & Zeger 1986)
    two-way: V = c (V_1 + V_2 - V_12),  c = Gm/(Gm-1) * (N-1)/(N-df_k),  Gm = min(G_1, G_2)
             V_d = B (sum_g s_g s_g') B over the clusters of dimension d, and V_12 over the
             intersection clusters (pairs of dimension-1 and dimension-2 codes)
                                                                    (Cameron, Gelbach & Miller 2011)

``G_df="min"``: pyfixest counts G for all three terms as the minimum over the cluster
columns (``_count_G_for_ssc_correction``), the intersection included, which is
``min(G_1, G_2)``.

Eigenvalue fix. ``V_1 + V_2 - V_12`` need not be positive semi-definite, and a negative
diagonal element gives a NaN standard error (pyfixest 0.60 returns it so). fixest
(``vcov.fixest(vcov_fix = TRUE)``, the default; ``mat_posdef_fix`` in ``R/miscfuns.R``)
repairs it "a la Cameron, Gelbach & Miller (2011)", and so do we by default
(``fix_psd=True``), with fixest's exact semantics: only when some diagonal element of the
final, small-sample-corrected V is negative, V is replaced by ``U diag(max(lambda, 1e-10))
U'`` from its eigen-decomposition ``V = U diag(lambda) U'`` (eigenvalues below 1e-10 —
negative or not — are raised to 1e-10, an absolute floor in the units of V). reghdfe's
``fix_psd`` sets negative eigenvalues to 0 instead. A V with a non-negative diagonal is left
as it is even if it has a negative eigenvalue. :func:`fe_vcov` reports the smallest
eigenvalue before the fix and whether the fix was applied.

t degrees of freedom for p-values and intervals (``get_ssc``'s ``df_t``):
``N - df_k`` for iid and HC1, ``G - 1`` for one-way clustering, ``min(G_1, G_2) - 1`` for
two-way (the minimum over the three terms, each with G = min).
"""

from __future__ import annotations

from functools import partial

import jax
import numpy as np

from .aligned import aligned_empty, as_aligned, is_aligned

# ---------------------------------------------------------------------------------------
# Degrees of freedom and corrections
# ---------------------------------------------------------------------------------------


def df_k(k: int, fe_levels, nested=None) -> int:
    """Model degrees of freedom used in the small-sample factor (see the module docstring).

    ``fe_levels`` (m,) levels per FE dimension; ``nested`` (m,) bool flags (cluster
    variances only; None or all False for iid/HC1).
    """
    levels = np.asarray(fe_levels, dtype=np.int64).reshape(-1)
    m = levels.size
    if m == 0:
        return int(k)
    out = int(k + levels.sum() - (m - 1))
    if nested is not None:
        nested = np.asarray(nested, dtype=bool)
        if nested.any():
            out += -int(levels[nested].sum()) + int(nested.sum())
    return out


def fe_nested_in_clusters(fe, cluster, *, fe_levels=None, n_clusters=None) -> np.ndarray:
    """(m,) bool: FE dimension j is nested in at least one cluster dimension.

    ``fe`` (n, m) and ``cluster`` (n, c) integer codes, or lists of m and c (n,) columns.
    Nested: each level of ``fe[:, j]`` appears with exactly one cluster code. Checked in
    O(n): record one cluster code per FE level (any row's) and test that every row agrees.
    With the numbers of levels and clusters present (``fe_levels`` (m,), ``n_clusters``
    (c,)), a cluster dimension with more clusters than the FE has levels is skipped: a
    nested FE's levels cover at most that many clusters.
    """
    fe_cols = _columns(fe)
    cl_cols = _columns(cluster)
    out = np.zeros(len(fe_cols), dtype=bool)
    if not fe_cols or fe_cols[0].size == 0:
        return out
    for j, f in enumerate(fe_cols):
        rep = np.empty(int(f.max()) + 1, dtype=np.int64)
        for c, col in enumerate(cl_cols):
            if fe_levels is not None and n_clusters is not None and n_clusters[c] > fe_levels[j]:
                continue
            rep[f] = col
            if np.array_equal(rep[f], col):
                out[j] = True
                break
    return out


def _columns(a) -> list[np.ndarray]:
    if isinstance(a, (list, tuple)):
        return [np.asarray(c) for c in a]
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    return [a[:, j] for j in range(a.shape[1])]


def intersect_codes(c1: np.ndarray, c2: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense int32 codes of the pairs ``(c1_i, c2_i)`` and their number.

    The intersection clusters of two-way clustering (pyfixest concatenates the two values
    as strings "a-b"; pairs of codes define the same partition).
    """
    c1 = np.asarray(c1, dtype=np.int64)
    c2 = np.asarray(c2, dtype=np.int64)
    if c1.size == 0:
        return np.zeros(0, np.int32), 0
    G2 = int(c2.max()) + 1
    key = c1 * G2 + c2
    span = (int(c1.max()) + 1) * G2
    if span <= max(4 * key.size, 1 << 20):
        present = np.bincount(key, minlength=span) > 0
        remap = np.cumsum(present, dtype=np.int64) - 1
        return remap[key].astype(np.int32), int(present.sum())
    _, inv = np.unique(key, return_inverse=True)
    return inv.astype(np.int32).reshape(-1), int(inv.max()) + 1


def df_t(vcov_type: str, n_obs: int, dfk: int, n_clusters=()) -> int:
    """t degrees of freedom: N - df_k (iid, HC1); min(G) - 1 (cluster, two-way)."""
    if vcov_type in ("iid", "hc1"):
        return int(n_obs - dfk)
    return int(min(n_clusters) - 1)


# ---------------------------------------------------------------------------------------
# Meat matrices (JAX, fused with the score products; vmappable)
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("n_clusters",))
def cluster_meat(scores: jax.Array, codes: jax.Array, n_clusters: int) -> jax.Array:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} scores_i``; scores (N, k) -> (k, k)."""
    S = jax.ops.segment_sum(scores, codes, n_clusters)
    return S.T @ S


@jax.jit
def hc_meat(scores: jax.Array) -> jax.Array:
    """``sum_i s_i s_i'`` = ``sum_i u_i^2 x_i x_i'`` for scores ``s_i = x_i u_i``; (k, k)."""
    return scores.T @ scores


def scores(X, resid, *, overwrite: bool = False) -> np.ndarray:
    """(N, k) ``x_i u_i`` in a 64-byte aligned buffer (read by JAX without a copy).

    With ``overwrite=True`` and a writeable aligned float64 ``X`` the scores are written over
    ``X`` (one pass, no new (N, k) block).
    """
    X = np.asarray(X)
    u = np.asarray(resid)
    if overwrite and X.dtype == np.float64 and X.flags.writeable and is_aligned(X):
        out = X
    else:
        out = aligned_empty(X.shape)
    np.multiply(X, u[:, None], out=out)
    return out


def twoway_meat(scores, codes1, codes2, n_clusters: tuple[int, int]) -> np.ndarray:
    """``M_1 + M_2 - M_12`` (k, k): cluster meats by dimension 1, dimension 2 and their
    intersection (Cameron, Gelbach & Miller 2011, eq. 2.11 without the scale factors).
    ``n_clusters``: the number of code values of each dimension."""
    G1, G2 = (int(g) for g in n_clusters)
    codes12, G12 = intersect_codes(np.asarray(codes1), np.asarray(codes2))
    return (
        np.asarray(cluster_meat(scores, _codes(codes1), n_clusters=G1))
        + np.asarray(cluster_meat(scores, _codes(codes2), n_clusters=G2))
        - np.asarray(cluster_meat(scores, _codes(codes12), n_clusters=G12))
    )


def ssc_iid(N: int, df_k: int) -> float:
    """pyfixest: ``(N-1)/(N-df_k)`` times ``sigma^2 = u'u/(N-1)``, i.e. ``u'u/(N-df_k)`` overall."""
    return (N - 1) / (N - df_k)


def ssc_hc1(N: int, df_k: int) -> float:
    """``N / (N - df_k)`` (pyfixest ``get_ssc`` with ``vcov_type="hetero"``)."""
    return N / (N - df_k)


def ssc_crv1(N: int, df_k: int, G: int) -> float:
    """``G/(G-1) * (N-1)/(N-df_k)``; for two-way clustering G is ``min(G_1, G_2)``."""
    return (G / (G - 1)) * ((N - 1) / (N - df_k))


def sandwich(bread, meat) -> np.ndarray:
    """``B M B`` (k, k)."""
    bread = np.asarray(bread)
    return bread @ np.asarray(meat) @ bread


def _codes(c) -> np.ndarray:
    return as_aligned(np.asarray(c), np.int32)


#: fixest's ``mat_posdef_fix`` floor for the eigenvalues of a repaired V.
PSD_FLOOR = 1e-10


def eigen_fix(V: np.ndarray, floor: float = PSD_FLOOR) -> tuple[np.ndarray, bool]:
    """fixest's eigenvalue fix: ``(V', applied)``; see the module docstring.

    Applied only when a diagonal element of the symmetric ``V`` (k, k) is negative; then
    ``V' = U diag(max(lambda, floor)) U'``.
    """
    V = np.asarray(V, dtype=np.float64)
    if not (np.diag(V) < 0).any():
        return V, False
    lam, U = np.linalg.eigh(0.5 * (V + V.T))
    fixed = (U * np.maximum(lam, floor)) @ U.T
    return 0.5 * (fixed + fixed.T), True


# ---------------------------------------------------------------------------------------
# Estimators: one assembly, :func:`fe_vcov`, that the fit and the public functions share
# ---------------------------------------------------------------------------------------


def _meat(vcov_type: str, S: np.ndarray, clusters, segments) -> np.ndarray:
    if vcov_type == "hc1":
        return np.asarray(hc_meat(S))
    if vcov_type == "cluster":
        return np.asarray(cluster_meat(S, _codes(clusters[0]), n_clusters=int(segments[0])))
    return twoway_meat(S, clusters[0], clusters[1], segments)


def fe_vcov(
    vcov_type: str,
    bread: np.ndarray,
    X,
    resid,
    df_k: int,
    *,
    n_obs: int | None = None,
    clusters=(),
    n_clusters=(),
    segments=None,
    columns=None,
    rss: float | None = None,
    precomputed_scores: np.ndarray | None = None,
    overwrite: bool = False,
    fix_psd: bool = True,
) -> tuple[np.ndarray, dict]:
    """The (k, k) covariance of type ``vcov_type`` ("iid", "hc1", "cluster", "twoway") and
    ``{"min_eigenvalue", "psd_fixed"}``; formulas and corrections in the module docstring.

    ``X`` (N, K): the within-transformed regressors, or a block that holds them as its
    ``columns`` (k indices; e.g. ``[y~, X~]`` with the kept regressors' columns); ``resid``
    (N,). Rows outside the sample must have zero ``X`` rows; ``n_obs`` then counts the rest
    (default N). ``clusters``: 1 or 2 code arrays (N,) with ``segments`` code values each
    (default ``n_clusters``); ``n_clusters`` counts the clusters in the sample. ``rss``:
    ``u'u`` if known; ``precomputed_scores``: the (N, K) ``x_i u_i`` if already formed (aligned; ``X`` is
    then not read). ``overwrite``: the scores may be written over ``X``. ``fix_psd``:
    fixest's eigenvalue fix.
    """
    resid = np.asarray(resid)
    N = int(resid.shape[0] if n_obs is None else n_obs)
    if vcov_type == "iid":
        if rss is None:
            rss = float(np.einsum("i,i->", resid, resid))  # no BLAS threads on a long vector
        V = np.asarray(bread) * (ssc_iid(N, df_k) * rss / (N - 1))
    else:
        S = scores(X, resid, overwrite=overwrite) if precomputed_scores is None else precomputed_scores
        meat = _meat(vcov_type, S, clusters, n_clusters if segments is None else segments)
        if columns is not None:
            meat = meat[np.ix_(columns, columns)]
        if vcov_type == "hc1":
            scale = ssc_hc1(N, df_k)
        else:
            scale = ssc_crv1(N, df_k, min(int(g) for g in n_clusters))
        V = scale * sandwich(bread, meat)
    min_eig = float(np.linalg.eigvalsh(0.5 * (V + V.T))[0]) if V.size and np.isfinite(V).all() else float("nan")
    fixed = False
    if fix_psd:
        V, fixed = eigen_fix(V)
    return V, {"min_eigenvalue": min_eig, "psd_fixed": fixed}


def iid_vcov(bread: np.ndarray, resid, df_k: int) -> np.ndarray:
    """``V = u'u / (N - df_k) * (X~'X~)^{-1}`` (k, k); pyfixest ``_vcov_iid`` times its ssc."""
    return fe_vcov("iid", bread, None, resid, df_k)[0]


def hc1_vcov(bread: np.ndarray, X, resid, df_k: int) -> np.ndarray:
    """``V = N/(N - df_k) * B (sum_i u_i^2 x_i x_i') B`` (k, k); pyfixest ``vcov="hetero"``."""
    return fe_vcov("hc1", bread, X, resid, df_k)[0]


def cluster_vcov(bread: np.ndarray, X, resid, codes, n_clusters: int, df_k: int) -> np.ndarray:
    """One-way CRV1: ``V = G/(G-1) (N-1)/(N-df_k) B (sum_g s_g s_g') B`` (k, k).

    ``codes`` (N,) dense cluster codes ``0..G-1`` with ``G = n_clusters``; ``df_k`` counts
    FEs nested in the cluster as one parameter each (see :func:`df_k`).
    """
    return fe_vcov("cluster", bread, X, resid, df_k, clusters=(codes,), n_clusters=(int(n_clusters),))[0]


def twoway_cluster_vcov(
    bread: np.ndarray, X, resid, codes1, codes2, n_clusters: tuple[int, int], df_k: int, *, fix_psd: bool = True
) -> np.ndarray:
    """Cameron–Gelbach–Miller two-way CRV1, ``c (V_1 + V_2 - V_12)`` (k, k).

    ``c = Gm/(Gm-1) (N-1)/(N-df_k)`` with ``Gm = min(G_1, G_2)`` (pyfixest ``G_df="min"``);
    ``V_12`` uses the intersection clusters. With ``fix_psd`` (default) a V with a negative
    diagonal gets fixest's eigenvalue fix (module docstring).
    """
    n_clusters = tuple(int(g) for g in n_clusters)
    return fe_vcov("twoway", bread, X, resid, df_k, clusters=(codes1, codes2), n_clusters=n_clusters,
                   fix_psd=fix_psd)[0]
