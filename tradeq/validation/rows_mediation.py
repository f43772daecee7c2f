"""Row of mediation with a quadratic outcome equation (``model.quadratic=true``): coverage of
the firm-cluster bootstrap's 95% intervals of the average marginal effects.

DGP (balanced panels, firm and year effects, iid errors; issue 14 item 2)::

    x = 4 + f_x + e,    m = a x + 0.2 w + f_m + e,    y = d x + q x^2 + b m + 0.2 w + f_y + t_y + e

with a = b = 0.3, d = 0.5, q = -0.05: the direct effect at the mean of x (4) is
d + 2 q E[x] = 0.1, the indirect a b = 0.09, the total 0.19. The estimator is the analysis's
(:func:`tradeq.models.mediation.bootstrap_indirect` on the two-way demeaned columns, firm
clusters, 399 resamples, percentile intervals), whose effects are average marginal effects
at the sample mean of x (the defect it replaces reported the slope at x = 0 as the total).
"""

from __future__ import annotations

import numpy as np

from tradeq.models.mediation import bootstrap_indirect

from .record import Rate, ValidationRow

A, B, DIRECT, Q, X_MEAN = 0.3, 0.3, 0.5, -0.05, 4.0
N_FIRMS, N_YEARS, N_BOOT = 200, 5, 399
TRUTH = {"indirect": A * B, "direct": DIRECT + 2 * Q * X_MEAN, "total": DIRECT + 2 * Q * X_MEAN + A * B}


def mediation_panel(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One balanced panel (F, T) per column, and its exactly two-way demeaned columns."""
    shape = (N_FIRMS, N_YEARS)
    fx, fm, fy = (rng.normal(size=(N_FIRMS, 1)) for _ in range(3))
    ty = rng.normal(size=(1, N_YEARS))
    w = rng.normal(size=shape)
    x = X_MEAN + fx + rng.normal(size=shape)
    m = A * x + 0.2 * w + fm + rng.normal(size=shape)
    y = DIRECT * x + Q * x**2 + B * m + 0.2 * w + fy + ty + rng.normal(size=shape)

    def demean(v):
        return v - v.mean(1, keepdims=True) - v.mean(0, keepdims=True) + v.mean()

    return {"x_raw": x, **{k: demean(v) for k, v in {"x": x, "m": m, "y": y, "w": w, "x2": x**2}.items()}}


def mediation_rows(reps: int, seed: int) -> tuple[ValidationRow, ...]:
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(N_FIRMS), N_YEARS)
    hits = {k: [] for k in TRUTH}
    for r in range(reps):
        p = mediation_panel(rng)
        boot = bootstrap_indirect(p["x"].ravel(), p["m"].ravel(), p["y"].ravel(), firm,
                                  controls=p["w"].reshape(-1, 1), x2=p["x2"].ravel(), x_raw=p["x_raw"].ravel(),
                                  n_boot=N_BOOT, key=seed + r)
        for k, b in TRUTH.items():
            iv = boot.interval(k, 0.95, "percentile")
            hits[k].append(bool(iv.lo <= b <= iv.hi))
    cov = {k: Rate.of(v) for k, v in hits.items()}
    return (ValidationRow(
        group="mediation", estimator="mediation AMEs, firm-cluster bootstrap (percentile)",
        assumption="quadratic outcome equation, effects at the mean of x", region="valid", reps=reps,
        coverage=cov["total"],
        note=f"coverage of the total effect; indirect a·b {cov['indirect'].text()}, direct {cov['direct'].text()}; "
             f"{N_FIRMS} firms x {N_YEARS} years, {N_BOOT} resamples"),)
