"""Rows where the numerics, not the statistics, can fail.

* ``chain_graphs``: alternating projections (:func:`tradeq.models.within.within_transform`)
  on chain-shaped two-way FE graphs (rows (i, i) and (i + 1, i): firm 0 - worker 0 - firm 1 -
  ...; contraction rate close to 1), without and with acceleration, against the exact
  dummy-variable regression (``numpy.linalg.lstsq``). Measures: how often convergence is
  reported, the largest residual error relative to the column scale when it is (the stopping
  rule must bound it by ~tol), and the largest error of the slope.
* ``nonpsd_twoway``: two-way (firm, year) cluster variances on small panels whose errors and
  regressor have firm and year components, where the variance's diagonal often comes out
  negative; coverage of the 95% t intervals (df min(G) - 1) with fixest's eigenvalue fix
  (the default) and the share of replications it was applied in; without the fix those
  replications have no SE (they count as not covering). At 20 firms x 5 years the fix is
  needed often and the 5 year clusters make every two-way SE under-cover (a failure region);
  at 40 firms x 12 years the claim.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeq.formula import design_from_formula
from tradeq.models.fixed_effects import fit_fe
from tradeq.models.within import within_transform

from .record import Rate, ValidationRow

CHAIN_TOL = 1e-10
#: True slopes of :func:`twoway_panel`.
TRUTH = {"x": 1.0, "w": 0.5}


def chain_panel(rng: np.random.Generator, K: int, reps: int = 2):
    """``(y, x, fe)`` on the chain graph of K + 1 firms and K workers, each edge ``reps`` times."""
    a = np.tile(np.concatenate([np.arange(K), np.arange(1, K + 1)]), reps)
    b = np.tile(np.concatenate([np.arange(K), np.arange(K)]), reps)
    x = rng.standard_normal(a.size) + 0.1 * a
    y = 0.5 * x + 0.2 * a + 3.0 + 0.05 * b + rng.standard_normal(a.size)
    return y, x, np.column_stack([a, b])


def _slope(yx: np.ndarray) -> float:
    return float(yx[:, 0] @ yx[:, 1] / (yx[:, 1] @ yx[:, 1]))


def _exact(yx: np.ndarray, fe: np.ndarray) -> np.ndarray:
    D = np.column_stack([np.eye(int(c.max()) + 1)[c] for c in fe.T])
    coef, *_ = np.linalg.lstsq(D, yx, rcond=None)
    return yx - D @ coef


def chain_rows(reps: int, seed: int) -> tuple[ValidationRow, ...]:
    rng = np.random.default_rng(seed)
    panels = [chain_panel(rng, int(rng.integers(10, 31))) for _ in range(reps)]
    rows = []
    for accelerate in (False, True):
        ok, err, slope_err = [], [], []
        for y, x, fe in panels:
            yx = np.column_stack([y, x])
            out, _, conv = within_transform(yx, fe, max_small_levels=0, accelerate=accelerate, tol=CHAIN_TOL)
            ref = _exact(yx, fe)
            ok.append(conv)
            err.append(np.abs(out - ref).max() / np.abs(yx).max())
            slope_err.append(abs(_slope(out) - _slope(ref)))
        ok, err, slope_err = np.array(ok), np.array(err), np.array(slope_err)
        worst = err[ok].max() if ok.any() else np.nan
        honest = bool(not ok.any() or worst <= 10 * CHAIN_TOL)
        rows.append(ValidationRow(
            group="chain_graphs", estimator=f"alternating projections, {'accelerated' if accelerate else 'plain'}",
            assumption="chain-shaped firm x worker graph, 10-30 links", region="valid", reps=reps,
            accuracy=(f"converged {ok.mean():.3f}; error/scale when converged <= {worst:.1e} "
                      f"(bound {10 * CHAIN_TOL:g}: {'met' if honest else 'NOT met'}); "
                      f"slope error when converged <= {slope_err[ok].max() if ok.any() else np.nan:.1e}"),
            accuracy_ok=honest,
            note=f"tol {CHAIN_TOL:g}; exact reference: dummy-variable lstsq; a run that does not converge "
                 "within 10,000 sweeps must say so (it is not counted as converged)"))
    return tuple(rows)


def twoway_panel(rng: np.random.Generator, n_firms: int, n_years: int) -> pd.DataFrame:
    """Errors and regressor with firm and year components (two-way clustering needed)."""
    f = np.repeat(np.arange(n_firms), n_years)
    t = np.tile(np.arange(n_years), n_firms)
    x = rng.standard_normal(n_firms)[f] + rng.standard_normal(n_years)[t] + rng.standard_normal(f.size)
    e = rng.standard_normal(n_firms)[f] + rng.standard_normal(n_years)[t] + rng.standard_normal(f.size)
    w = rng.standard_normal(f.size)  # no firm or year component: its two-way variance is the noisy one
    return pd.DataFrame({"firm": f, "year": t, "x": x, "w": w, "y": 1.0 * x + 0.5 * w + e})


#: Panel sizes: (firms, years, region). With 5 year clusters the two-way SE under-covers with
#: or without the fix (few clusters in one dimension), a failure region; 40 x 12 is the claim.
TWOWAY_SIZES = ((20, 5, "failure"), (40, 12, "valid"))


def _twoway_coverage(rng, reps: int, n_firms: int, n_years: int):
    cover = {(fix, term): [] for fix in (True, False) for term in TRUTH}
    fixed = []
    for _ in range(reps):
        d = design_from_formula(twoway_panel(rng, n_firms, n_years), "y ~ x + w", cluster=["firm", "year"])
        for fix in (True, False):
            fit = fit_fe(d, "twoway", fix_psd=fix)
            with np.errstate(invalid="ignore"):  # without the fix a negative variance has no SE
                ci = fit.conf_int(0.95)
            for term, b in TRUTH.items():
                lo, hi = ci[fit.x_names.index(term)]
                cover[fix, term].append(bool(lo <= b <= hi) if np.isfinite(lo) and np.isfinite(hi) else False)
            if fix:
                fixed.append(bool(fit.extras["vcov_psd_fixed"]))
    return cover, float(np.mean(fixed))


def nonpsd_rows(reps: int, seed: int) -> tuple[ValidationRow, ...]:
    rng = np.random.default_rng(seed)
    rows = []
    for n_firms, n_years, region in TWOWAY_SIZES:
        cover, share = _twoway_coverage(rng, reps, n_firms, n_years)
        for fix in (True, False):
            few = "; 5 year clusters: under-covers with or without the fix" if region == "failure" else ""
            rows.append(ValidationRow(
                group="nonpsd_twoway",
                estimator=f"two-way (firm, year) cluster SE, {'eigenvalue fix' if fix else 'no fix'}",
                assumption=f"errors and x with firm and year components; {n_firms} firms x {n_years} years, pooled OLS",
                region=region if fix else "failure", reps=reps, coverage=Rate.of(cover[fix, "w"]),
                note=f"coverage of w (no firm or year component; x, with both: {Rate.of(cover[fix, 'x']).text()}); "
                     f"the variance needed the fix in {share:.3f} of replications"
                     + ("" if fix else "; those have no SE and count as not covering") + few))
    return tuple(rows)
