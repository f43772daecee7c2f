"""Row of the equal-curves test (``model=heterogeneity``) with a group that varies within firm.

The DGP (:func:`switching_panels`): two groups with equal curves ``x - 0.12 x^2``, group B's
level 0.3 higher, firm and year effects, AR(1) errors within firm; firm i moves from group A
to B in a year that comes earlier the higher its x level (ownership changing over time), so
the group varies within firm and within year and correlates with x. The test is the
analysis's own pooled interaction model — its columns (:func:`tradeq.analyses.groups.pooled_columns`,
with the group main effects 1[g]) and restrictions (:func:`~tradeq.analyses.groups.equality_restrictions`)
— fitted by the batched FE replica with firm-cluster SEs, F from :func:`tradeq.models.wald.wald_batch`.
Without 1[g] (the pooled model before the fix) the level shift loads onto the slopes: that
is the failure region row. Power: group B's slope 0.8 instead of 1.0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tradeq.analyses.groups import equality_restrictions, level_names, pooled_columns
from tradeq.models.grid_fe import fit_grid
from tradeq.models.wald import wald_batch

from .record import Rate, ValidationRow

N_FIRMS, N_YEARS = 200, 6


def switching_panels(rng, R, n_firms, n_years, b1=(1.0, 1.0), b2=(-0.12, -0.12), shift=0.3, rho=0.5):
    """R panels as year-major (R, T, F) arrays ``x, g, w, y`` (module docstring)."""
    a = rng.normal(size=(R, 1, n_firms))
    t = np.arange(n_years)[None, :, None]
    x = 4.0 + 0.3 * a + 0.5 * rng.normal(size=(R, n_years, n_firms)) + 0.05 * t
    start = np.floor(n_years * (0.5 - 0.27 * a + 0.8 * (rng.random((R, 1, n_firms)) - 0.5)))
    g = (t >= start.clip(1, n_years)).astype(int)
    z = rng.normal(size=x.shape)
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    for j in range(1, n_years):
        e[:, j] = rho * e[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    w = rng.normal(size=x.shape)
    y = (np.asarray(b1)[g] * x + np.asarray(b2)[g] * x**2 + shift * g + 0.3 * w
         + rng.normal(size=(R, 1, n_firms)) + rng.normal(size=(R, n_years, 1)) + 0.5 * e)
    return x, g, w, y


_fit_many = jax.jit(jax.vmap(lambda y, X, mask: fit_grid(y, X, mask, absorb="firm_year", vcovs=("cluster",))))


def equal_curves_pvalues(x, g, w, y, main_effects: bool = True) -> np.ndarray:
    """(R,) p-values of the firm-clustered F test of equal curves on R panels."""
    cols = pooled_columns("x", x, g, 2)
    if not main_effects:
        cols = {k: v for k, v in cols.items() if k not in level_names(2)}
    names = [*cols, "w"]
    X = np.stack([*cols.values(), w], axis=1)  # (R, k, T, F)
    fit = _fit_many(jnp.asarray(y), jnp.asarray(X), jnp.ones(y.shape, bool))
    R = np.vstack(equality_restrictions(names, "x", 2))
    return wald_batch(np.asarray(fit.coef), np.asarray(fit.vcov["cluster"]), R, df=np.asarray(fit.df_t["cluster"])).p_F


def equal_curves_rows(reps: int, seed: int) -> tuple[ValidationRow, ...]:
    rng = np.random.default_rng(seed)
    null = [switching_panels(rng, min(100, reps - s), N_FIRMS, N_YEARS) for s in range(0, reps, 100)]
    alt = [switching_panels(rng, min(100, reps - s), N_FIRMS, N_YEARS, b1=(1.0, 0.8)) for s in range(0, reps, 100)]
    rows = []
    for main in (True, False):
        size = np.concatenate([equal_curves_pvalues(*p, main_effects=main) for p in null]) < 0.05
        power = np.concatenate([equal_curves_pvalues(*p, main_effects=main) for p in alt]) < 0.05
        rows.append(ValidationRow(
            group="equal_curves", estimator=f"equal-curves F test, firm-cluster, {'with' if main else 'without'} 1[g]",
            assumption="group varies within firm and year, correlated with x, level shift 0.3", reps=reps,
            region="valid" if main else "failure", size=Rate.of(size), power=Rate.of(power),
            note=f"{N_FIRMS} firms x {N_YEARS} years, AR(1) errors; power: group B's slope 0.8 vs 1.0"
                 + ("" if main else "; the pooled model before the fix (level shift loads onto the slopes)")))
    return tuple(rows)
