"""Mediation: product-of-coefficients tests and a vectorised cluster bootstrap.

The three-equation (stepwise) mediation model of Baron & Kenny (1986, *Journal of
Personality and Social Psychology* 51(6), 1173–1182), on FE-demeaned arrays:

    total:     y = c·x  [+ c2·x²] + W'd1 + e1
    mediator:  m = a·x            + W'd2 + e2
    outcome:   y = c'·x [+ g·x²]  + b·m + W'd3 + e3

indirect effect ``a·b``, direct effect ``c'``, total effect ``c`` and proportion mediated
``a·b / c``. Without the x² term OLS gives ``c = c' + a·b`` exactly (also in every
weighted / bootstrap replicate); with it, the identity no longer holds because the
mediator equation has no x² term, and ``total`` is the linear coefficient of the total
equation.

Tests of ``H0: a·b = 0`` from the two coefficients and their standard errors:
Sobel (1982, *Sociological Methodology* 13, 290–312) first-order delta method; Aroian
(1947, *Annals of Mathematical Statistics* 18(2), 265–271) second-order (the exact
variance of a product of independent normals); Goodman (1960, *JASA* 55(292), 708–713)
unbiased variance.

Bootstrap. Clusters (firms) are resampled whole, with replacement. A replicate is kept as
the multiplicity of each cluster, a (G,) count vector; replicate ``r`` is drawn from
``jax.random.fold_in(key, r)`` alone, so it does not depend on the number of replicates
or on the chunking. For regressions, every replicate's coefficients follow from the
weighted sum of per-cluster cross-products ``M_r = Σ_g w_rg · Z_g'Z_g`` with ``Z`` all
variables side by side — one ``(B, G) @ (G, p·p)`` product per chunk of replicates.

Fixed demeaned design. The arrays are demeaned by the fixed effects once, on the full
sample, and the bootstrap resamples whole clusters of rows of that demeaned design
without demeaning again (no intercept unless asked for) — the standard "fixed demeaned
design" cluster bootstrap of the within estimator. With firm FEs only and firm clusters
this equals re-estimating on the resample (a firm drawn twice has the same firm mean, so
its demeaned rows are unchanged). With further FEs (year) the resample's year means of
the demeaned data are not exactly zero and are left in; the effect on a replicate's
coefficients is of smaller order than their sampling spread when every FE level has
many clusters. Re-demeaning per replicate would cost a full FE solve per replicate and
break the cross-product shortcut. :func:`bootstrap_indirect_loop` is the explicit
reference (same fixed design, explicit rows).

Intervals: percentile and BCa (Efron 1987, *JASA* 82(397), 171–185; Efron & Tibshirani
1993, *An Introduction to the Bootstrap*, ch. 13–14), with the acceleration from a
leave-one-cluster-out jackknife, computed from the same cross-products.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from .precision import require_x64

MEDIATION_NAMES = ("a", "b", "indirect", "direct", "total", "proportion")

# Replicates per chunk are chosen so that the (chunk, G) count matrix stays near this
# many elements (8 MB in float64); larger chunks were slower on CPU (cache).
_CHUNK_ELEMENTS = 1_000_000
# Leave-one-cluster-out fits solved per block.
_JACKKNIFE_BLOCK = 16_384


# ---------------------------------------------------------------------------------------
# Product-of-coefficients tests
# ---------------------------------------------------------------------------------------


def _two_sided_p(z):
    return 2.0 * special.ndtr(-np.abs(z))


def _scalar_or_array(v):
    v = np.asarray(v, dtype=float)
    return float(v) if v.ndim == 0 else v


def sobel(a, sa, b, sb):
    """Sobel (1982) test of the indirect effect ``a·b``.

    ``z = a·b / sqrt(b²·sa² + a²·sb²)`` (first-order delta method), two-sided normal p.
    ``a`` is the x → m coefficient, ``b`` the m → y coefficient given x (Baron & Kenny
    1986); broadcasts over arrays. Returns ``(z, p)``.
    """
    a, sa, b, sb = (np.asarray(v, dtype=float) for v in (a, sa, b, sb))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = a * b / np.sqrt(b * b * sa * sa + a * a * sb * sb)
    return _scalar_or_array(z), _scalar_or_array(_two_sided_p(z))


def aroian(a, sa, b, sb):
    """Aroian (1947) test: ``z = a·b / sqrt(b²·sa² + a²·sb² + sa²·sb²)``; returns ``(z, p)``.

    The extra ``sa²·sb²`` is the second-order term of the variance of a product of two
    independent normal estimates.
    """
    a, sa, b, sb = (np.asarray(v, dtype=float) for v in (a, sa, b, sb))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = a * b / np.sqrt(b * b * sa * sa + a * a * sb * sb + sa * sa * sb * sb)
    return _scalar_or_array(z), _scalar_or_array(_two_sided_p(z))


def goodman(a, sa, b, sb):
    """Goodman (1960) test: ``z = a·b / sqrt(b²·sa² + a²·sb² − sa²·sb²)``; returns ``(z, p)``.

    Goodman's unbiased variance estimate can be negative (both paths imprecise); then
    ``z`` and ``p`` are NaN and a ``RuntimeWarning`` says why.
    """
    a, sa, b, sb = (np.asarray(v, dtype=float) for v in (a, sa, b, sb))
    rad = b * b * sa * sa + a * a * sb * sb - sa * sa * sb * sb
    neg = rad < 0
    if np.any(neg):
        warnings.warn(
            "Goodman (1960) variance b²sa² + a²sb² − sa²sb² is negative "
            f"({int(np.sum(neg))} case(s)); the test is undefined there and returns NaN",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(neg, np.nan, a * b / np.sqrt(np.where(neg, np.nan, rad)))
    return _scalar_or_array(z), _scalar_or_array(_two_sided_p(z))


# ---------------------------------------------------------------------------------------
# Cluster resampling
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


def _replicate_indices(key, replicate, n_clusters: int):
    """(G,) clusters drawn with replacement for one replicate: uniform on 0..G−1.

    int32 draws: half the random bits of int64 (the draw is the bottleneck of the fast
    path), and G < 2³¹ always.
    """
    sub = jax.random.fold_in(key, replicate)
    return jax.random.randint(sub, (n_clusters,), 0, n_clusters, dtype=jnp.int32)


# One replicate at a time, without vmap: the loop reference draws through this.
_replicate_indices_jit = jax.jit(_replicate_indices, static_argnums=2)


def _replicate_ids(replicates) -> np.ndarray:
    if isinstance(replicates, (int, np.integer)):
        return np.arange(int(replicates), dtype=np.uint32)
    return np.asarray(replicates, dtype=np.uint32).reshape(-1)


@partial(jax.jit, static_argnames=("n_clusters",))
def _indices_jit(key, reps, n_clusters: int):
    return jax.vmap(lambda r: _replicate_indices(key, r, n_clusters))(reps)


@partial(jax.jit, static_argnames=("n_clusters",))
def _counts_jit(key, reps, n_clusters: int):
    idx = jax.vmap(lambda r: _replicate_indices(key, r, n_clusters))(reps)
    rows = jnp.arange(reps.shape[0])[:, None]
    return jnp.zeros((reps.shape[0], n_clusters)).at[rows, idx].add(1.0)


def cluster_bootstrap_indices(key, n_clusters: int, replicates) -> np.ndarray:
    """Resampled cluster indices, shape (R, G).

    Row ``r`` lists the G clusters drawn with replacement for replicate id
    ``replicates[r]`` (``replicates`` an int B means ids ``0..B−1``), from
    ``jax.random.fold_in(key, id)`` only.
    """
    reps = jnp.asarray(_replicate_ids(replicates))
    return np.asarray(_indices_jit(as_key(key), reps, int(n_clusters)))


def cluster_bootstrap_weights(key, n_clusters: int, replicates) -> np.ndarray:
    """Cluster multiplicities, shape (R, G), float64; each row sums to G.

    ``w[r, g]`` is how often cluster g appears in replicate ``replicates[r]`` — the
    counts of :func:`cluster_bootstrap_indices`.
    """
    reps = jnp.asarray(_replicate_ids(replicates))
    return np.asarray(_counts_jit(as_key(key), reps, int(n_clusters)))


def cluster_crossproducts(Z, codes, n_clusters: int) -> np.ndarray:
    """Per-cluster cross-products ``S_g = Z_g'Z_g``, shape (G, p, p), from Z (n, p).

    One ``bincount`` per distinct pair of columns: O(n·p²) time, O(G·p²) memory.
    """
    Z = np.asarray(Z, dtype=float)
    codes = np.asarray(codes)
    n, p = Z.shape
    S = np.empty((n_clusters, p, p))
    for i in range(p):
        for j in range(i, p):
            s = np.bincount(codes, weights=Z[:, i] * Z[:, j], minlength=n_clusters)
            S[:, i, j] = s
            S[:, j, i] = s
    return S


def jackknife_crossproducts(S) -> np.ndarray:
    """Leave-one-cluster-out sums ``Σ_{h≠g} S_h = S_tot − S_g``, shape (G, p, p)."""
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
# The statistics computed from cross-products
# ---------------------------------------------------------------------------------------


class MediationLayout(NamedTuple):
    """Column positions in Z of the variables and of each equation's regressors."""

    x: int
    m: int
    y: int
    total: tuple[int, ...]
    mediator: tuple[int, ...]
    outcome: tuple[int, ...]


class OLSLayout(NamedTuple):
    x: tuple[int, ...]
    y: int


def _mediation_stats(M, layout: MediationLayout):
    """(..., 6) = a, b, a·b, c', c, a·b/c from cross-products M (..., p, p)."""
    xp = jnp if isinstance(M, jax.Array) else np
    c = ols_from_crossproducts(M, layout.total, layout.y)[..., 0]
    a = ols_from_crossproducts(M, layout.mediator, layout.m)[..., 0]
    out = ols_from_crossproducts(M, layout.outcome, layout.y)
    direct = out[..., 0]
    b = out[..., layout.outcome.index(layout.m)]
    ab = a * b
    return xp.stack([a, b, ab, direct, c, ab / c], axis=-1)


def _ols_stats(M, layout: OLSLayout):
    return ols_from_crossproducts(M, layout.x, layout.y)


_STATS = {"mediation": _mediation_stats, "ols": _ols_stats}


@partial(jax.jit, static_argnames=("n_clusters", "kind", "layout"))
def _bootstrap_chunk(key, reps, S_flat, n_clusters: int, kind: str, layout):
    p = math.isqrt(S_flat.shape[1])
    w = _counts_jit(key, reps, n_clusters)  # (chunk, G)
    M = (w @ S_flat).reshape(reps.shape[0], p, p)
    return _STATS[kind](M, layout)


@partial(jax.jit, static_argnames=("kind", "layout"))
def _stats_jit(M, kind: str, layout):
    return _STATS[kind](M, layout)


def _auto_chunk(n_boot: int, n_clusters: int) -> int:
    return max(1, min(n_boot, _CHUNK_ELEMENTS // max(n_clusters, 1)))


def _bootstrap_from_crossproducts(S, key, n_boot: int, kind: str, layout, chunk_size, jackknife):
    """Point estimate, (B, q) draws and (G, q) jackknife values from S (G, p, p)."""
    G, p, _ = S.shape
    key = as_key(key)
    chunk = int(chunk_size) if chunk_size else _auto_chunk(n_boot, G)
    S_flat = jnp.asarray(S.reshape(G, p * p))
    estimate = np.asarray(_stats_jit(jnp.asarray(S.sum(axis=0)), kind, layout))
    draws = []
    for start in range(0, n_boot, chunk):
        # Every chunk has the same length (one compilation); the tail's extra replicate
        # ids are computed and dropped, which leaves the kept ones unchanged.
        reps = jnp.arange(start, start + chunk, dtype=jnp.uint32)
        out = np.asarray(_bootstrap_chunk(key, reps, S_flat, G, kind, layout))
        draws.append(out[: min(chunk, n_boot - start)])
    draws = np.concatenate(draws, axis=0) if draws else np.empty((0,) + estimate.shape)
    jack = None
    if jackknife:
        # Leave-one-cluster-out sums S_tot − S_g, in fixed-size blocks (the last one padded
        # by repeating its final cluster) so memory stays O(block·p²) for any G.
        block = min(G, _JACKKNIFE_BLOCK)
        S_tot = S.sum(axis=0)
        parts = []
        for start in range(0, G, block):
            idx = np.minimum(np.arange(start, start + block), G - 1)
            out = np.asarray(_stats_jit(jnp.asarray(S_tot[None] - S[idx]), kind, layout))
            parts.append(out[: min(block, G - start)])
        jack = np.concatenate(parts, axis=0)
    return estimate, draws, jack


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediationBootstrap:
    """Cluster-bootstrap draws of the mediation quantities.

    ``estimate[name]`` full-sample value, ``draws[name]`` (B,), ``jackknife[name]`` (G,)
    leave-one-cluster-out values (``None`` when not computed), for ``name`` in
    :data:`MEDIATION_NAMES` = a, b, indirect (= a·b), direct (c'), total (c),
    proportion (a·b / c).
    """

    estimate: dict
    draws: dict
    jackknife: dict | None
    n_boot: int
    n_clusters: int
    method: str  # "crossproducts" or "loop"

    def se(self, name: str) -> float:
        d = self.draws[name]
        d = d[np.isfinite(d)]
        return float(np.std(d, ddof=1))

    def ci(self, name: str, level: float = 0.95, method: str = "percentile") -> tuple[float, float]:
        """Percentile or BCa interval for one quantity."""
        if method == "percentile":
            lo, hi = percentile_ci(self.draws[name], level)
            return float(lo), float(hi)
        if method == "bca":
            if self.jackknife is None:
                raise ValueError("BCa needs the jackknife values; bootstrap with jackknife=True")
            return bca_ci(self.draws[name], self.estimate[name], self.jackknife[name], level)
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}")

    def summary(self, level: float = 0.95) -> dict:
        """JSON-ready: per quantity the estimate, bootstrap SE and both intervals."""

        def f(v):
            v = float(v)
            return v if math.isfinite(v) else None

        out = {}
        for name in self.estimate:
            row = {"estimate": f(self.estimate[name]), "se": f(self.se(name))}
            row["percentile"] = [f(v) for v in self.ci(name, level, "percentile")]
            if self.jackknife is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    row["bca"] = [f(v) for v in self.ci(name, level, "bca")]
            out[name] = row
        return {"level": level, "n_boot": self.n_boot, "n_clusters": self.n_clusters, "quantities": out}


def _split(values: np.ndarray) -> dict:
    return {name: values[..., i] for i, name in enumerate(MEDIATION_NAMES)}


def _mediation_design(x, m, y, controls, x2, add_intercept):
    """Z (n, p) = [x, (x²), controls…, (1), m, y] and the equations' column positions."""
    x = np.asarray(x, dtype=float).reshape(-1)
    n = x.shape[0]
    cols = [x]
    if x2 is not None:
        cols.append(np.asarray(x2, dtype=float).reshape(-1))
    if controls is not None:
        W = np.asarray(controls, dtype=float)
        W = W.reshape(n, -1)
        cols.extend(W.T)
    if add_intercept:
        cols.append(np.ones(n))
    k = len(cols)  # x, x², controls, intercept
    cols += [np.asarray(m, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)]
    Z = np.column_stack(cols)
    if not np.all(np.isfinite(Z)):
        raise ValueError("x, m, y, controls and x2 must be finite (drop missing rows first)")
    im, iy = k, k + 1
    shared = tuple(range(k))  # x first, so coefficient 0 is always the x slope
    no_x2 = tuple(i for i in shared if not (x2 is not None and i == 1))
    layout = MediationLayout(
        x=0, m=im, y=iy, total=shared, mediator=no_x2, outcome=shared + (im,)
    )
    return Z, layout


def bootstrap_indirect(
    x,
    m,
    y,
    cluster,
    *,
    controls=None,
    x2=None,
    add_intercept: bool = False,
    n_boot: int = 2000,
    key=0,
    chunk_size: int | None = None,
    jackknife: bool = True,
) -> MediationBootstrap:
    """Cluster bootstrap of the three-equation mediation model (fast path).

    Arrays (n rows, already FE-demeaned): ``x``, ``m``, ``y`` (n,), ``controls`` (n, q)
    or None, ``x2`` (n,) the demeaned square of the raw x, or None; ``cluster`` (n,)
    labels of the resampled units (firms). Equations as in the module docstring; no
    intercept unless ``add_intercept`` (for data without fixed effects).

    Replicate r resamples G clusters with replacement from ``fold_in(key, r)`` and its
    coefficients solve the normal equations of ``Σ_g w_rg Z_g'Z_g`` — exactly OLS on the
    resampled rows of the fixed demeaned design (see module docstring). Replicates are
    computed ``chunk_size`` at a time (default: about 1M count cells per chunk), so
    memory stays O(chunk·G + G·p²). Singular replicates give NaN/inf draws.
    """
    require_x64()
    Z, layout = _mediation_design(x, m, y, controls, x2, add_intercept)
    codes, G = cluster_codes(cluster)
    if codes.shape[0] != Z.shape[0]:
        raise ValueError("cluster must have one label per row")
    S = cluster_crossproducts(Z, codes, G)
    est, draws, jack = _bootstrap_from_crossproducts(
        S, key, int(n_boot), "mediation", layout, chunk_size, jackknife
    )
    return MediationBootstrap(
        estimate={k: float(v) for k, v in _split(est).items()},
        draws=_split(draws),
        jackknife=None if jack is None else _split(jack),
        n_boot=int(n_boot),
        n_clusters=G,
        method="crossproducts",
    )


def _lstsq_mediation(Z, layout: MediationLayout) -> np.ndarray:
    """a, b, a·b, c', c, a·b/c by least squares on explicit rows Z (r, p)."""

    def coef(cols, ycol):
        return np.linalg.lstsq(Z[:, list(cols)], Z[:, ycol], rcond=None)[0]

    c = coef(layout.total, layout.y)[0]
    a = coef(layout.mediator, layout.m)[0]
    out = coef(layout.outcome, layout.y)
    direct, b = out[0], out[layout.outcome.index(layout.m)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([a, b, a * b, direct, c, a * b / c])


def bootstrap_indirect_loop(
    x,
    m,
    y,
    cluster,
    *,
    controls=None,
    x2=None,
    add_intercept: bool = False,
    n_boot: int = 2000,
    key=0,
    jackknife: bool = True,
) -> MediationBootstrap:
    """Reference for :func:`bootstrap_indirect`: resample firms explicitly, one replicate at a time.

    For replicate r the clusters drawn from ``fold_in(key, r)`` (the same draws as the
    fast path) are stacked — a cluster drawn twice contributes its rows twice — and the
    three equations are solved by least squares on those rows. The jackknife drops each
    cluster's rows in turn. Slow (a Python loop); for tests and small samples.
    """
    Z, layout = _mediation_design(x, m, y, controls, x2, add_intercept)
    codes, G = cluster_codes(cluster)
    rows_of = [np.flatnonzero(codes == g) for g in range(G)]
    key = as_key(key)
    est = _lstsq_mediation(Z, layout)
    draws = np.empty((int(n_boot), len(MEDIATION_NAMES)))
    for r in range(int(n_boot)):
        idx = np.asarray(_replicate_indices_jit(key, np.uint32(r), G))
        rows = np.concatenate([rows_of[g] for g in idx])
        draws[r] = _lstsq_mediation(Z[rows], layout)
    jack = None
    if jackknife:
        jack = np.stack([_lstsq_mediation(Z[codes != g], layout) for g in range(G)])
    return MediationBootstrap(
        estimate={k: float(v) for k, v in _split(est).items()},
        draws=_split(draws),
        jackknife=None if jack is None else _split(jack),
        n_boot=int(n_boot),
        n_clusters=G,
        method="loop",
    )


@dataclass(frozen=True)
class OLSBootstrap:
    """Cluster bootstrap of one OLS regression.

    ``estimate`` (k,), ``draws`` (B, k), ``jackknife`` (G, k) or None.
    """

    estimate: np.ndarray
    draws: np.ndarray
    jackknife: np.ndarray | None
    n_clusters: int


def bootstrap_ols(
    y, X, cluster, *, n_boot: int = 2000, key=0, chunk_size: int | None = None, jackknife: bool = True
) -> OLSBootstrap:
    """Cluster bootstrap of ``y = Xβ + e``; y (n,), X (n, k) with any intercept included.

    Same engine and same cluster draws as :func:`bootstrap_indirect`.
    """
    X = np.asarray(X, dtype=float)
    X = X.reshape(X.shape[0], -1)
    Z = np.column_stack([X, np.asarray(y, dtype=float).reshape(-1)])
    k = X.shape[1]
    codes, G = cluster_codes(cluster)
    S = cluster_crossproducts(Z, codes, G)
    layout = OLSLayout(x=tuple(range(k)), y=k)
    est, draws, jack = _bootstrap_from_crossproducts(
        S, key, int(n_boot), "ols", layout, chunk_size, jackknife
    )
    return OLSBootstrap(estimate=est, draws=draws, jackknife=jack, n_clusters=G)


# ---------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------


def percentile_ci(draws, level: float = 0.95):
    """Percentile interval (Efron & Tibshirani 1993, sec. 13.3): the ``(1∓level)/2``
    empirical quantiles of the draws along axis 0 (linear interpolation, NumPy's
    default). Non-finite draws (singular replicates) are left out. Returns ``(lo, hi)``.
    """
    d = np.asarray(draws, dtype=float)
    d = np.where(np.isfinite(d), d, np.nan)
    alpha = (1.0 - level) / 2.0
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
    frac = below / (2.0 * B) if B else np.nan
    z0 = float(special.ndtri(frac))
    dev = jv.mean() - jv
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
