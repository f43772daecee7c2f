"""Human capital as mean years of schooling of the employed (SPEC 2c).

    H = (0 h1 + 6 h2 + 9 h3 + 12 h4 + 12 h5 + 15 h6 + 16 h7 + 19 h8 + 19 h9) / 100

with h1..h9 the percentage shares of the employed in the nine attainment categories, in
SPEC 2c's order: no schooling, primary, junior high, secondary vocational, high school,
higher vocational, college, undergraduate, graduate (the market-integration paper, after
Wang Jingwen & Wang Mingyan 2019; its regressions use ln H, 2.025-2.475 in Table 2). The
weights are the paper's formula; its prose assigns college 15 and undergraduate 16, so pass
``weights`` to use another assignment. Shares as fractions use ``unit="fraction"``.

Shares that do not add up to 100 (1) — yearbook rounding, a missing category — are never
used silently: ``mismatch="raise"`` (default) names the first offending row when a total is
more than ``tol`` away, ``"renormalise"`` divides by each row's own total
(H = Σ years h / Σ h, the mean over the categories reported), ``"ignore"`` uses them as given.
"""

from __future__ import annotations

import numpy as np

PAPER_YEARS = (0.0, 6.0, 9.0, 12.0, 12.0, 15.0, 16.0, 19.0, 19.0)
_UNITS = {"percent": 100.0, "fraction": 1.0}


def schooling_years(
    shares, *, weights=PAPER_YEARS, unit: str = "percent", mismatch: str = "raise", tol: float | None = None
) -> np.ndarray:
    """H for each row of ``shares`` (..., 9); returns (...,). ``tol`` defaults to 0.5% of the full total."""
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {sorted(_UNITS)}; got {unit!r}")
    if mismatch not in ("raise", "renormalise", "ignore"):
        raise ValueError(f"mismatch must be 'raise', 'renormalise' or 'ignore'; got {mismatch!r}")
    s = np.asarray(shares, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if s.shape[-1:] != w.shape:
        raise ValueError(f"shares must have {w.size} categories in the last axis; got shape {s.shape}")
    if (s < 0).any():
        raise ValueError("attainment shares must be non-negative")
    full = _UNITS[unit]
    total = s.sum(axis=-1)
    tol = 0.005 * full if tol is None else tol
    if mismatch == "raise":
        off = np.abs(total - full) > tol
        if off.any():
            at = np.unravel_index(int(np.flatnonzero(off.ravel())[0]), total.shape)
            raise ValueError(
                f"attainment shares of row {at if len(at) > 1 else at[0]} add up to {float(total[at]):.4g}, "
                f"not {full:g} (unit={unit!r}); pass mismatch='renormalise' to divide by each row's total"
            )
    years = s @ w
    if mismatch == "renormalise":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, years / total, np.nan)
    return years / full


def ln_human_capital(shares, **kwargs) -> np.ndarray:
    """``ln H`` as the paper's mediator (NaN where H = 0)."""
    h = schooling_years(shares, **kwargs)
    with np.errstate(divide="ignore"):
        return np.where(h > 0, np.log(h), np.nan)
