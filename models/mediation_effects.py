"""Direct, indirect and total effects of the three-equation mediation model, defined once.

The stepwise model (Baron & Kenny 1986; Wen et al. 2004), with the core variable x entering
the outcome equations with a square (the market-integration paper's Tables 6–7):

    (1) total      y = c·x  + c2·x² + W'd1 + F + e1
    (2) mediator   m = a·x           + W'd2 + F + e2
    (3) outcome    y = c'·x + g·x²  + b·m + W'd3 + F + e3

With a square, a coefficient on x is the slope at x = 0 — far outside the data (Market lies
in 3.2–4.7) — so the effects are **average marginal effects over the estimation sample**.
Equations (2)–(3) are linear and quadratic in x, so the average of the derivative equals the
derivative at the sample mean x̄:

    direct    = ∂y/∂x holding m        = c' + 2·g·x̄
    indirect  = ∂y/∂m · ∂m/∂x          = a·b
    total     = direct + indirect       = c' + 2·g·x̄ + a·b

The total is the system's (3)∘(2) total effect, so direct + indirect = total by definition
and the proportion mediated is indirect / total. Equation (1)'s own average marginal effect,
c + 2·c2·x̄ (:func:`reduced_form_total`), is a separate regression: without the square it
equals c' + a·b exactly on a common sample (the OLS identity), with it the two differ by
terms the mediator equation does not model (its x² is absent), and it is reported beside
the total, never mixed into the decomposition. Frequentist estimates, every bootstrap
replicate and every posterior draw use these same functions.
"""

from __future__ import annotations

import numpy as np


def mediation_effects(a, b, c_prime, g=0.0, x_mean=0.0) -> dict[str, np.ndarray]:
    """``{"direct", "indirect", "total"}`` (module docstring); broadcasts over arrays (draws).

    ``a``: x → m slope of (2); ``b``: m → y slope of (3); ``c_prime``, ``g``: the linear and
    squared x terms of (3) (``g = 0`` without the square); ``x_mean``: x̄ over the sample
    (a scalar, or one per draw: a bootstrap replicate's x̄ is its resample's).
    """
    a, b, c_prime, g, x_mean = (np.asarray(v, dtype=float) for v in (a, b, c_prime, g, x_mean))
    direct = c_prime + 2.0 * g * x_mean
    indirect = a * b
    return {"direct": direct, "indirect": indirect, "total": direct + indirect}


def reduced_form_total(c, c2=0.0, x_mean=0.0) -> np.ndarray:
    """Equation (1)'s average marginal effect ``c + 2·c2·x̄`` (broadcasts, x̄ too)."""
    return np.asarray(c, dtype=float) + 2.0 * np.asarray(c2, dtype=float) * np.asarray(x_mean, dtype=float)


def proportion_mediated(indirect: float, total: float, total_lo: float | None = None,
                        total_hi: float | None = None) -> tuple[float, str | None]:
    """``(indirect / total, None)``, or ``(nan, reason)`` when the ratio means nothing.

    The ratio is undefined when the total effect is zero or its interval
    ``[total_lo, total_hi]`` covers zero: the denominator is then not distinguishable from
    zero, the ratio's sampling distribution has no finite moments and its interval is
    unbounded (in one simulated case a proportion of 1.245 came from a total of 0.034).
    """
    if not np.isfinite(total) or total == 0.0:
        return float("nan"), "the total effect is zero or undefined"
    if total_lo is not None and total_hi is not None and np.isfinite(total_lo) and np.isfinite(total_hi):
        if total_lo <= 0.0 <= total_hi:
            return float("nan"), (f"the total effect's interval [{total_lo:.4g}, {total_hi:.4g}] covers zero, "
                                  "so indirect/total is unbounded")
    return float(indirect) / float(total), None
