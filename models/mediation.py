"""Mediation: product-of-coefficients tests and the cluster bootstrap of the mediation effects.

The three-equation (stepwise) mediation model of Baron & Kenny (1986, *Journal of
Personality and Social Psychology* 51(6), 1173–1182), on FE-demeaned arrays:

    (1) total:     y = c·x  [+ c2·x²] + W'd1 + e1
    (2) mediator:  m = a·x            + W'd2 + e2
    (3) outcome:   y = c'·x [+ g·x²]  + b·m + W'd3 + e3

The effects — direct, indirect ``a·b``, total = direct + indirect, and equation (1)'s own
average marginal effect — are :mod:`.mediation_effects`' average marginal effects over the
sample (with x², evaluated at the sample mean x̄ of the raw x); the proportion mediated is
indirect / total, undefined when the total is not distinguishable from zero. Without x²,
OLS gives ``c = c' + a·b`` exactly (also in every bootstrap and jackknife replicate).

Tests of ``H0: a·b = 0`` from the two coefficients and their standard errors:
Sobel (1982, *Sociological Methodology* 13, 290–312) first-order delta method; Aroian
(1947, *Annals of Mathematical Statistics* 18(2), 265–271) second-order (the exact
variance of a product of independent normals); Goodman (1960, *JASA* 55(292), 708–713)
unbiased variance. Under ``a = b = 0`` the Sobel statistic is ``Z1·Z2/sqrt(Z1² + Z2²)``
with Z1, Z2 independent standard normals (the two t statistics), which is N(0, 1/4): the
nominal 5% test rejects with probability ``2Φ(−2·1.96) ≈ 0.0001`` — far too conservative
there; with one path non-zero it has its nominal size (MacKinnon et al. 2002,
*Psychological Methods* 7(1), 83–104).

Bootstrap (:mod:`.bootstrap`). Clusters are resampled whole; every replicate's three
regressions follow from the weighted sum of per-cluster cross-products of
``Z = [x, (x²), W, (1), m, y]``, and its x̄ from the per-cluster sums of the raw x and the
row counts carried beside them, so each replicate's effects are evaluated at its own
resample's mean.

Fixed demeaned design. The arrays are demeaned by the fixed effects once, on the full
sample, and the bootstrap resamples whole clusters of rows of that demeaned design
without demeaning again (no intercept unless asked for) — the standard "fixed demeaned
design" cluster bootstrap of the within estimator. With firm FEs only and firm clusters
this equals re-estimating on the resample (a firm drawn twice has the same firm mean, so
its demeaned rows are unchanged). With further FEs (year) the resample's year means of
the demeaned data are not exactly zero and are left in; the effect on a replicate's
coefficients is of smaller order than their sampling spread when every FE level has
many clusters. Re-demeaning per replicate would cost a full FE solve per replicate and
break the cross-product shortcut.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from .bootstrap import (
    Interval,
    bca_ci,
    bootstrap_crossproducts,
    bootstrap_interval,
    cluster_codes,
    cluster_crossproducts,
    cluster_sums,
    ols_from_crossproducts,
    percentile_ci,
)
from .mediation_effects import mediation_effects, proportion_mediated, reduced_form_total
from .precision import require_x64

#: The regression coefficients of one fit (or replicate) and the mean of the raw x.
PATH_NAMES = ("a", "b", "c_prime", "g", "c", "c2", "x_mean")
#: The reported quantities: paths, effects (``total_eq1`` is equation (1)'s own
#: average marginal effect, outside the decomposition) and the proportion mediated.
MEDIATION_NAMES = ("a", "b", "indirect", "direct", "total", "total_eq1", "proportion")


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
    1986); broadcasts over arrays. Returns ``(z, p)``. Conservative at ``a = b = 0``
    (module docstring).
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
# The mediation statistics from cross-products
# ---------------------------------------------------------------------------------------


class MediationLayout(NamedTuple):
    """Column positions in Z of the variables and of each equation's regressors (x first,
    so coefficient 0 is always the x slope); ``x2`` is −1 without the square."""

    x2: int
    m: int
    y: int
    total: tuple[int, ...]
    mediator: tuple[int, ...]
    outcome: tuple[int, ...]


def path_statistic(M, t, layout: MediationLayout):
    """(..., 7) = a, b, c', g, c, c2, x̄ (:data:`PATH_NAMES`) from cross-products M (..., p, p)
    and sums t (..., 2) = (Σ raw x, number of rows); g = c2 = 0 without the square."""
    xp = jnp if isinstance(M, jax.Array) else np
    tot = ols_from_crossproducts(M, layout.total, layout.y)
    a = ols_from_crossproducts(M, layout.mediator, layout.m)[..., 0]
    out = ols_from_crossproducts(M, layout.outcome, layout.y)
    b = out[..., layout.outcome.index(layout.m)]
    zero = xp.zeros_like(a)
    g = out[..., layout.outcome.index(layout.x2)] if layout.x2 >= 0 else zero
    c2 = tot[..., layout.total.index(layout.x2)] if layout.x2 >= 0 else zero
    x_mean = t[..., 0] / t[..., 1]
    return xp.stack([a, b, out[..., 0], g, tot[..., 0], c2, x_mean], axis=-1)


def effects_from_paths(paths) -> dict[str, np.ndarray]:
    """The :data:`MEDIATION_NAMES` quantities from path values (..., 7), through
    :mod:`.mediation_effects` (the same functions as the FE estimates and the posterior)."""
    p = {name: np.asarray(paths)[..., i] for i, name in enumerate(PATH_NAMES)}
    eff = mediation_effects(p["a"], p["b"], p["c_prime"], p["g"], p["x_mean"])
    with np.errstate(divide="ignore", invalid="ignore"):
        proportion = eff["indirect"] / eff["total"]
    return {"a": p["a"], "b": p["b"], **eff, "total_eq1": reduced_form_total(p["c"], p["c2"], p["x_mean"]),
            "proportion": proportion, "paths": p}


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


def _finite_or_none(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class MediationBootstrap:
    """Cluster-bootstrap draws of the mediation quantities.

    ``estimate[name]`` full-sample value, ``draws[name]`` (B,), ``jackknife[name]`` (G,)
    leave-one-cluster-out values (``None`` when not computed), for ``name`` in
    :data:`MEDIATION_NAMES` and :data:`PATH_NAMES` (``x_mean``: the replicate's x̄).
    """

    estimate: dict
    draws: dict
    jackknife: dict | None
    n_boot: int
    n_clusters: int

    def se(self, name: str) -> float:
        d = self.draws[name]
        d = d[np.isfinite(d)]
        return float(np.std(d, ddof=1)) if d.size > 1 else math.nan

    def ci(self, name: str, level: float = 0.95, method: str = "percentile") -> tuple[float, float]:
        """The raw percentile or BCa bounds (NaN when undefined; no fallback, no guard)."""
        if method == "percentile":
            lo, hi = percentile_ci(self.draws[name], level)
            return float(lo), float(hi)
        if method == "bca":
            if self.jackknife is None:
                raise ValueError("BCa needs the jackknife values; bootstrap with jackknife=True")
            return bca_ci(self.draws[name], self.estimate[name], self.jackknife[name], level)
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}")

    def proportion_undefined(self, level: float = 0.95, method: str = "bca") -> str | None:
        """Why indirect / total means nothing here (the total's ``method`` interval covers
        zero, or the total is zero), or None (:func:`.mediation_effects.proportion_mediated`)."""
        total = self.interval("total", level, method)
        return proportion_mediated(self.estimate["indirect"], self.estimate["total"], total.lo, total.hi)[1]

    def interval(self, name: str, level: float = 0.95, method: str = "bca") -> Interval:
        """The ``method`` interval with the percentile fallback (:func:`.bootstrap.bootstrap_interval`);
        for ``proportion``, undefined when :meth:`proportion_undefined` says why."""
        if name == "proportion":
            why = self.proportion_undefined(level, method)
            if why is not None:
                return Interval(math.nan, math.nan, "undefined", why)
        jack = None if self.jackknife is None else self.jackknife[name]
        return bootstrap_interval(self.draws[name], self.estimate[name], jack, level, method)

    def summary(self, level: float = 0.95, method: str = "bca") -> dict:
        """JSON-ready: per quantity the estimate, bootstrap SE, the raw percentile (and BCa)
        bounds and ``interval`` — the ``method`` one as used (bounds, method, note)."""
        out = {}
        for name in MEDIATION_NAMES:
            row = {"estimate": _finite_or_none(self.estimate[name]), "se": _finite_or_none(self.se(name)),
                   "percentile": [_finite_or_none(v) for v in self.ci(name, level, "percentile")]}
            if self.jackknife is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    row["bca"] = [_finite_or_none(v) for v in self.ci(name, level, "bca")]
            row["interval"] = self.interval(name, level, method).to_dict()
            out[name] = row
        why = self.proportion_undefined(level, method)
        if why is not None:  # the point estimate means nothing either
            out["proportion"].update(estimate=None, undefined=why)
        return {"level": level, "method": method, "n_boot": self.n_boot, "n_clusters": self.n_clusters,
                "x_mean": float(self.estimate["x_mean"]), "quantities": out}


def _split(paths: np.ndarray) -> dict:
    eff = effects_from_paths(paths)
    return {**{k: v for k, v in eff.items() if k != "paths"}, **eff["paths"]}


def mediation_design(x, m, y, controls=None, x2=None, add_intercept=False):
    """Z (n, p) = [x, (x²), controls…, (1), m, y] and the equations' :class:`MediationLayout`."""
    x = np.asarray(x, dtype=float).reshape(-1)
    n = x.shape[0]
    cols = [x] + ([np.asarray(x2, dtype=float).reshape(-1)] if x2 is not None else [])
    if controls is not None:
        cols.extend(np.asarray(controls, dtype=float).reshape(n, -1).T)
    if add_intercept:
        cols.append(np.ones(n))
    k = len(cols)  # x, x², controls, intercept
    cols += [np.asarray(m, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)]
    Z = np.column_stack(cols)
    if not np.all(np.isfinite(Z)):
        raise ValueError("x, m, y, controls and x2 must be finite (drop missing rows first)")
    shared = tuple(range(k))
    i2 = 1 if x2 is not None else -1
    layout = MediationLayout(x2=i2, m=k, y=k + 1, total=shared,
                             mediator=tuple(i for i in shared if i != i2), outcome=shared + (k,))
    return Z, layout


def bootstrap_indirect(
    x, m, y, cluster, *, controls=None, x2=None, x_raw=None, add_intercept: bool = False,
    n_boot: int = 2000, key=0, chunk_size: int | None = None, jackknife: bool = True,
) -> MediationBootstrap:
    """Cluster bootstrap of the three-equation mediation model and its effects.

    Arrays (n rows, already FE-demeaned): ``x``, ``m``, ``y`` (n,), ``controls`` (n, q)
    or None, ``x2`` (n,) the demeaned square of the raw x, or None; ``x_raw`` (n,) the raw
    (not demeaned) x, whose resample mean is where the effects are evaluated — needed
    with ``x2``; ``cluster`` (n,) labels of the resampled units. Equations as in the module
    docstring; no intercept unless ``add_intercept`` (data without fixed effects).

    Replicate r resamples G clusters with replacement from ``fold_in(key, r)``; its
    coefficients solve the normal equations of ``Σ_g w_rg Z_g'Z_g`` — exactly OLS on the
    resampled rows of the fixed demeaned design — and its x̄ is
    ``Σ_g w_rg Σx_g / Σ_g w_rg n_g``. Singular replicates give NaN/inf draws.
    """
    require_x64()
    if x2 is not None and x_raw is None:
        raise ValueError("with x2 the effects are evaluated at the mean of x: pass x_raw, the raw x")
    Z, layout = mediation_design(x, m, y, controls, x2, add_intercept)
    codes, G = cluster_codes(cluster)
    if codes.shape[0] != Z.shape[0]:
        raise ValueError("cluster must have one label per row")
    xr = np.asarray(x if x_raw is None else x_raw, dtype=float).reshape(-1)
    if xr.shape[0] != Z.shape[0] or not np.all(np.isfinite(xr)):
        raise ValueError("x_raw must be finite with one value per row")
    S = cluster_crossproducts(Z, codes, G)
    T = cluster_sums(np.column_stack([xr, np.ones_like(xr)]), codes, G)
    est, draws, jack = bootstrap_crossproducts(S, key, int(n_boot), path_statistic, layout, sums=T,
                                               chunk_size=chunk_size, jackknife=jackknife)
    return MediationBootstrap(
        estimate={k: float(v) for k, v in _split(est).items()},
        draws=_split(draws),
        jackknife=None if jack is None else _split(jack),
        n_boot=int(n_boot),
        n_clusters=G,
    )
