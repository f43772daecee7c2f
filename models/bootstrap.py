"""Cluster bootstrap from per-cluster cross-products, with percentile and BCa intervals.

Resampling. Clusters (firms, provinces, or rows) are resampled whole, with replacement. A
replicate is kept as the multiplicity of each cluster, a (G,) count vector; replicate ``r``
is drawn from ``jax.random.fold_in(key, r)`` alone, so it does not depend on the number of
replicates or on the chunking. :func:`replicate_counts` is the one implementation: the
table-level bootstrap (:func:`cluster_bootstrap_weights`) and the batched simulation grid
(:func:`kept_cluster_counts`, where the number of clusters is data) both call it.

Regressions from cross-products. With ``Z`` (n, p) all variables side by side and
``S_g = Z_g'Z_g`` the per-cluster cross-products, replicate r's normal equations are
``M_r = Σ_g w_rg·S_g`` — one ``(B, G) @ (G, p·p)`` product per chunk of replicates — and
its OLS coefficients are ``M_r[x, x]⁻¹ M_r[x, y]``: exactly OLS on the resampled rows (a
cluster drawn twice enters twice). Per-cluster column sums ``T_g`` (G, k) (of a raw
variable and the row count, say) are carried beside them the same way, ``t_r = w_r @ T``,
for statistics that need resample means. The leave-one-cluster-out (jackknife) values use
``S_tot − S_g`` and ``T_tot − T_g``.

Intervals: percentile and BCa (Efron 1987, *JASA* 82(397), 171–185; Efron & Tibshirani
1993, *An Introduction to the Bootstrap*, ch. 13–14), the acceleration from the
leave-one-cluster-out jackknife. :func:`bootstrap_interval` falls back from an undefined
BCa interval to the percentile one and says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from .precision import require_x64

# Replicates per chunk are chosen so that the (chunk, G) count matrix stays near this
# many elements (8 MB in float64); larger chunks were slower on CPU (cache).
_CHUNK_ELEMENTS = 1_000_000
# Leave-one-cluster-out fits solved per block.
_JACKKNIFE_BLOCK = 16_384


# ---------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------


def as_key(key) -> jax.Array:
    """A JAX PRNG key from an int seed (or a key, returned as is)."""
    if isinstance(key, (int, np.integer)):
        return jax.random.key(int(key))
    return key


def cluster_codes(cluster) -> tuple[np.ndarray, int]:
    """Codes ``0..G−1`` (in order of the sorted labels) and ``G`` for cluster labels (n,)."""
    labels, codes = np.unique(np.asarray(cluster), return_inverse=True)
    return codes.astype(np.int64).reshape(-1), int(labels.shape[0])


def replicate_draws(key, replicate, n_slots: int, n_clusters):
    """(n_slots,) int32 cluster indices, uniform on ``0..n_clusters−1``, from ``fold_in(key, replicate)``.

    ``n_slots`` is static; ``n_clusters`` ≤ n_slots may be traced (the grid's number of
    kept firms is data). Only the first ``n_clusters`` draws are used. int32: half the
    random bits of int64 (the draw is the bottleneck of the fast path), and G < 2³¹.
    """
    sub = jax.random.fold_in(key, replicate)
    return jax.random.randint(sub, (n_slots,), 0, n_clusters, dtype=jnp.int32)


def replicate_counts(key, replicates, n_slots: int, n_clusters) -> jax.Array:
    """(R, n_slots) float64 multiplicities: row r counts the first ``n_clusters`` draws of
    :func:`replicate_draws` for replicate id ``replicates[r]``; each row sums to n_clusters."""
    idx = jax.vmap(lambda r: replicate_draws(key, r, n_slots, n_clusters))(replicates)
    used = (jnp.arange(n_slots) < n_clusters).astype(jnp.float64)
    rows = jnp.arange(replicates.shape[0])[:, None]
    zeros = jnp.zeros((replicates.shape[0], n_slots), jnp.float64)
    return zeros.at[rows, idx].add(jnp.broadcast_to(used, idx.shape))


def _replicate_ids(replicates) -> jax.Array:
    if isinstance(replicates, (int, np.integer)):
        return jnp.arange(int(replicates), dtype=jnp.uint32)
    return jnp.asarray(np.asarray(replicates, dtype=np.uint32).reshape(-1))


@partial(jax.jit, static_argnames=("n_clusters",))
def _indices_jit(key, reps, n_clusters: int):
    return jax.vmap(lambda r: replicate_draws(key, r, n_clusters, n_clusters))(reps)


@partial(jax.jit, static_argnames=("n_clusters",))
def _counts_jit(key, reps, n_clusters: int):
    return replicate_counts(key, reps, n_clusters, n_clusters)


def cluster_bootstrap_indices(key, n_clusters: int, replicates) -> np.ndarray:
    """(R, G) clusters drawn with replacement for replicate ids ``replicates`` (an int B: 0..B−1)."""
    return np.asarray(_indices_jit(as_key(key), _replicate_ids(replicates), int(n_clusters)))


def cluster_bootstrap_weights(key, n_clusters: int, replicates) -> np.ndarray:
    """(R, G) cluster multiplicities (float64, rows sum to G): the counts of
    :func:`cluster_bootstrap_indices` for the same ids."""
    return np.asarray(_counts_jit(as_key(key), _replicate_ids(replicates), int(n_clusters)))


def kept_cluster_counts(key, kept, n_boot: int) -> jax.Array:
    """(B, F) multiplicities that resample the G = Σ kept kept slots (``kept`` (F,) bool; G is
    data, F static), replicate b from ``fold_in(key, b)``; dropped slots get 0. Jittable.

    Cluster i of :func:`replicate_counts` is the i-th kept slot (stable order).
    """
    F = kept.shape[0]
    front = jnp.argsort(~kept, stable=True)  # kept slots first
    counts = replicate_counts(key, jnp.arange(n_boot, dtype=jnp.uint32), F, jnp.sum(kept))
    return jnp.zeros((n_boot, F), jnp.float64).at[:, front].set(counts)


# ---------------------------------------------------------------------------------------
# Cross-products
# ---------------------------------------------------------------------------------------


def cluster_crossproducts(Z, codes, n_clusters: int) -> np.ndarray:
    """Per-cluster cross-products ``S_g = Z_g'Z_g``, shape (G, p, p), from Z (n, p).

    One ``bincount`` per distinct pair of columns: O(n·p²) time, O(G·p²) memory.
    """
    Z = np.asarray(Z, dtype=float)
    p = Z.shape[1]
    S = np.empty((n_clusters, p, p))
    for i in range(p):
        for j in range(i, p):
            s = np.bincount(codes, weights=Z[:, i] * Z[:, j], minlength=n_clusters)
            S[:, i, j] = s
            S[:, j, i] = s
    return S


def cluster_sums(V, codes, n_clusters: int) -> np.ndarray:
    """Per-cluster column sums ``T_g = Σ_{i∈g} V_i``, shape (G, k), from V (n, k)."""
    V = np.asarray(V, dtype=float).reshape(len(codes), -1)
    return np.stack([np.bincount(codes, weights=v, minlength=n_clusters) for v in V.T], axis=-1)


def jackknife_crossproducts(S) -> np.ndarray:
    """Leave-one-cluster-out sums ``Σ_{h≠g} S_h = S_tot − S_g``, same shape as S (G, ...)."""
    S = np.asarray(S)
    return S.sum(axis=0)[None] - S


def ols_from_crossproducts(M, x_cols, y_col):
    """OLS coefficients of column ``y_col`` on ``x_cols`` from cross-products M (..., p, p).

    ``β = M[x, x]⁻¹ M[x, y]`` — the normal equations of the regression on the (weighted)
    rows that produced M. Returns (..., k). Works on NumPy and JAX arrays.
    """
    xp = jnp if isinstance(M, jax.Array) else np
    xc = np.asarray(x_cols)
    A = M[..., xc[:, None], xc[None, :]]
    r = M[..., xc, y_col]
    return xp.linalg.solve(A, r[..., None])[..., 0]


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("n_clusters", "statistic", "layout"))
def _bootstrap_chunk(key, reps, S_flat, T, n_clusters: int, statistic, layout):
    p = math.isqrt(S_flat.shape[1])
    w = replicate_counts(key, reps, n_clusters, n_clusters)  # (chunk, G)
    M = (w @ S_flat).reshape(reps.shape[0], p, p)
    return statistic(M, w @ T, layout)


@partial(jax.jit, static_argnames=("statistic", "layout"))
def _statistic_jit(M, t, statistic, layout):
    return statistic(M, t, layout)


def _jackknife(S, T, statistic, layout) -> np.ndarray:
    """(G, q) leave-one-cluster-out values, in fixed-size blocks (the last one padded by
    repeating its final cluster) so memory stays O(block·p²) for any G."""
    G = S.shape[0]
    block = min(G, _JACKKNIFE_BLOCK)
    S_tot, T_tot = S.sum(axis=0), T.sum(axis=0)
    parts = []
    for start in range(0, G, block):
        idx = np.minimum(np.arange(start, start + block), G - 1)
        out = _statistic_jit(jnp.asarray(S_tot[None] - S[idx]), jnp.asarray(T_tot[None] - T[idx]), statistic, layout)
        parts.append(np.asarray(out)[: min(block, G - start)])
    return np.concatenate(parts, axis=0)


def bootstrap_crossproducts(S, key, n_boot: int, statistic, layout, *, sums=None, chunk_size=None,
                            jackknife: bool = True, progress=None):
    """Point estimate (q,), draws (B, q) and jackknife values (G, q) or None of a statistic.

    ``S`` (G, p, p) per-cluster cross-products, ``sums`` (G, k) per-cluster column sums or
    None; ``statistic(M, t, layout)`` maps cross-products (..., p, p) and sums (..., k) to
    (..., q) — a module-level function, JAX-traceable, with a hashable ``layout`` (both are
    static: one compilation per statistic, layout and shape). Replicates are computed
    ``chunk_size`` at a time (default about 1M count cells per chunk), so memory stays
    O(chunk·G + G·p²). Singular replicates give NaN/inf draws. ``progress(n)``, when given, is
    called with the number of replicates each chunk finished (a progress bar's update).
    """
    S = np.asarray(S, dtype=float)
    G, p, _ = S.shape
    T = np.zeros((G, 0)) if sums is None else np.asarray(sums, dtype=float).reshape(G, -1)
    key = as_key(key)
    chunk = int(chunk_size) if chunk_size else max(1, min(n_boot, _CHUNK_ELEMENTS // max(G, 1)))
    S_flat, T_j = jnp.asarray(S.reshape(G, p * p)), jnp.asarray(T)
    estimate = np.asarray(_statistic_jit(jnp.asarray(S.sum(axis=0)), jnp.asarray(T.sum(axis=0)), statistic, layout))
    draws = []
    for start in range(0, n_boot, chunk):
        # Every chunk has the same length (one compilation); the tail's extra replicate
        # ids are computed and dropped, which leaves the kept ones unchanged.
        reps = jnp.arange(start, start + chunk, dtype=jnp.uint32)
        out = np.asarray(_bootstrap_chunk(key, reps, S_flat, T_j, G, statistic, layout))
        draws.append(out[: min(chunk, n_boot - start)])
        if progress is not None:
            progress(len(draws[-1]))
    draws = np.concatenate(draws, axis=0) if draws else np.empty((0,) + estimate.shape)
    jack = _jackknife(S, T, statistic, layout) if jackknife else None
    return estimate, draws, jack


def _ols_statistic(M, t, layout):
    x_cols, y_col = layout
    return ols_from_crossproducts(M, x_cols, y_col)


@dataclass(frozen=True)
class OLSBootstrap:
    """Cluster bootstrap of one OLS regression: ``estimate`` (k,), ``draws`` (B, k),
    ``jackknife`` (G, k) or None."""

    estimate: np.ndarray
    draws: np.ndarray
    jackknife: np.ndarray | None
    n_clusters: int


def bootstrap_ols(y, X, cluster, *, n_boot: int = 2000, key=0, chunk_size: int | None = None,
                  jackknife: bool = True) -> OLSBootstrap:
    """Cluster bootstrap of ``y = Xβ + e``; y (n,), X (n, k) with any intercept included."""
    require_x64()
    X = np.asarray(X, dtype=float)
    X = X.reshape(X.shape[0], -1)
    Z = np.column_stack([X, np.asarray(y, dtype=float).reshape(-1)])
    k = X.shape[1]
    codes, G = cluster_codes(cluster)
    S = cluster_crossproducts(Z, codes, G)
    est, draws, jack = bootstrap_crossproducts(S, key, int(n_boot), _ols_statistic, (tuple(range(k)), k),
                                               chunk_size=chunk_size, jackknife=jackknife)
    return OLSBootstrap(estimate=est, draws=draws, jackknife=jack, n_clusters=G)


# ---------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------


def _scalar_or_array(v):
    v = np.asarray(v, dtype=float)
    return float(v) if v.ndim == 0 else v


def percentile_ci(draws, level: float = 0.95):
    """Percentile interval (Efron & Tibshirani 1993, sec. 13.3): the ``(1∓level)/2``
    empirical quantiles of the draws along axis 0 (linear interpolation, NumPy's
    default). Non-finite draws (singular replicates) are left out; no finite draw gives
    NaN. Returns ``(lo, hi)``.
    """
    d = np.asarray(draws, dtype=float)
    d = np.where(np.isfinite(d), d, np.nan)
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column → NaN bounds
        lo, hi = np.nanquantile(d, [alpha, 1.0 - alpha], axis=0)
    return _scalar_or_array(lo), _scalar_or_array(hi)


def bca_parameters(draws, theta_hat: float, jackknife_values, level: float = 0.95):
    """Bias correction ``z0``, acceleration ``a`` and the adjusted quantile levels.

    Efron & Tibshirani (1993), sec. 14.3:

        z0 = Φ⁻¹(#{θ*_b < θ̂} / B)   (ties with θ̂ count one half, as scipy does)
        a  = Σ_i (θ̄ − θ_(i))³ / (6 · [Σ_i (θ̄ − θ_(i))²]^{3/2})
        α1 = Φ(z0 + (z0 + z_{α/2}) / (1 − a(z0 + z_{α/2})))
        α2 = Φ(z0 + (z0 + z_{1−α/2}) / (1 − a(z0 + z_{1−α/2})))

    with θ_(i) the leave-one-out (here: leave-one-cluster-out) values and θ̄ their mean.
    Returns ``(z0, a, alpha1, alpha2)``. Non-finite draws and jackknife values are left out.
    """
    d = np.asarray(draws, dtype=float).reshape(-1)
    d = d[np.isfinite(d)]
    jv = np.asarray(jackknife_values, dtype=float).reshape(-1)
    jv = jv[np.isfinite(jv)]
    B = d.shape[0]
    below = np.count_nonzero(d < theta_hat) + np.count_nonzero(d <= theta_hat)
    z0 = float(special.ndtri(below / (2.0 * B))) if B else math.nan
    dev = jv.mean() - jv if jv.size else jv
    den = float(np.sum(dev**2))
    # All jackknife values equal: no skewness information, no acceleration.
    acc = float(np.sum(dev**3)) / (6.0 * den**1.5) if den > 0 else 0.0
    z_lo = float(special.ndtri((1.0 - level) / 2.0))
    z_hi = -z_lo
    alpha1 = float(special.ndtr(z0 + (z0 + z_lo) / (1.0 - acc * (z0 + z_lo))))
    alpha2 = float(special.ndtr(z0 + (z0 + z_hi) / (1.0 - acc * (z0 + z_hi))))
    return z0, acc, alpha1, alpha2


def bca_ci(draws, theta_hat: float, jackknife_values, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected and accelerated interval (Efron 1987; Efron & Tibshirani 1993, ch. 14).

    ``draws`` (B,) bootstrap values, ``theta_hat`` the full-sample estimate,
    ``jackknife_values`` (G,) leave-one-cluster-out estimates. The interval is the
    ``α1`` and ``α2`` empirical quantiles (linear interpolation) with ``α1, α2`` from
    :func:`bca_parameters`. When all draws lie on one side of θ̂ the bias correction is
    infinite; the interval is then NaN with a ``RuntimeWarning``.
    """
    z0, _, a1, a2 = bca_parameters(draws, theta_hat, jackknife_values, level)
    d = np.asarray(draws, dtype=float).reshape(-1)
    d = d[np.isfinite(d)]
    if not (np.isfinite(z0) and np.isfinite(a1) and np.isfinite(a2)) or d.size == 0:
        warnings.warn(
            "BCa interval undefined: the bootstrap draws all lie on one side of the estimate "
            "(infinite bias correction) or there are no finite draws",
            RuntimeWarning,
            stacklevel=2,
        )
        return math.nan, math.nan
    lo, hi = np.quantile(d, [a1, a2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Interval:
    """A bootstrap interval: bounds (NaN when undefined), the ``method`` that produced them
    (``"bca"``, ``"percentile"`` or ``"undefined"``) and ``note``, why it is not the
    requested one (None when it is)."""

    lo: float
    hi: float
    method: str
    note: str | None = None

    @property
    def defined(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def bounds(self) -> list[float | None]:
        """``[lo, hi]`` for JSON: ``None`` for an undefined bound."""
        return [v if math.isfinite(v) else None for v in (self.lo, self.hi)]

    def to_dict(self) -> dict:
        return {"bounds": self.bounds(), "method": self.method, "note": self.note}


def bootstrap_interval(draws, estimate: float, jackknife_values=None, level: float = 0.95,
                       method: str = "bca") -> Interval:
    """The ``method`` interval (``"bca"`` or ``"percentile"``), falling back to percentile.

    BCa is undefined when every finite draw lies on one side of the estimate (infinite
    bias correction, likely with few replicates), when there are no jackknife values or
    the estimate is not finite; the percentile interval is returned then, with the reason
    in ``note``. With no finite draw at all the interval is undefined (NaN bounds).
    """
    if method not in ("bca", "percentile"):
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}")
    n_finite = int(np.count_nonzero(np.isfinite(np.asarray(draws, dtype=float))))
    if n_finite == 0:
        return Interval(math.nan, math.nan, "undefined", "no finite bootstrap draw")
    note = None
    if method == "bca":
        if jackknife_values is None or not math.isfinite(estimate):
            note = "BCa needs a finite estimate and the jackknife values; percentile interval used"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = bca_ci(draws, estimate, jackknife_values, level)
            if math.isfinite(lo) and math.isfinite(hi):
                return Interval(lo, hi, "bca")
            note = (f"BCa undefined (all {n_finite} finite draws on one side of the estimate: "
                    "infinite bias correction); percentile interval used")
    lo, hi = percentile_ci(draws, level)
    return Interval(float(lo), float(hi), "percentile", note)
