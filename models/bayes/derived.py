"""Quantities derived from posterior draws of the inverted U: turning points, the
inverted-U check and the fitted curve.

All functions take and return :class:`xarray.DataArray` so they broadcast over
``(chain, draw)`` and ``group`` (and ``x_grid`` for curves) by name.

* Turning point of group g: ``x*_g = -b1_g / (2 b2_g)``.
* Inverted U within the data range (the Lind–Mehlum condition on one draw): the curve's
  slope is positive at the lower end and negative at the upper end of the range,
  ``b1_g + 2 b2_g x_lo > 0`` and ``b1_g + 2 b2_g x_hi < 0`` (this implies ``b2_g < 0``
  and ``x_lo < x*_g < x_hi``). Its posterior mean is P(inverted U within the range).
  The range ``[x_lo, x_hi]`` is by default each group's own range of the core term — the
  question is whether *that group's* curve turns within the values it was observed at;
  ``x_range="pooled"`` or a fixed ``(lo, hi)`` in :func:`tradeq.models.bayes.fit.fit_bayes` uses
  one range for all groups, which makes groups comparable.
* Curve: ``f(x) - f(x_ref) = b1 (x - x_ref) + b2 (x^2 - x_ref^2)``: the level of the curve
  is absorbed by the fixed effects, so it is shown relative to ``x_ref``, the low end of
  the grid (the change in the outcome when moving from the least integrated market).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")


def turning_point(b1: xr.DataArray, b2: xr.DataArray) -> xr.DataArray:
    """``-b1 / (2 b2)``."""
    return -b1 / (2.0 * b2)


def end_slopes(b1, b2, x_lo, x_hi) -> tuple[xr.DataArray, xr.DataArray]:
    """Slopes ``b1 + 2 b2 x`` at the lower and upper end of the range."""
    return b1 + 2.0 * b2 * x_lo, b1 + 2.0 * b2 * x_hi


def inverted_u(b1, b2, x_lo, x_hi) -> xr.DataArray:
    """1.0 where the draw's curve rises at ``x_lo`` and falls at ``x_hi``, else 0.0."""
    lo, hi = end_slopes(b1, b2, x_lo, x_hi)
    return ((lo > 0) & (hi < 0)).astype(np.float64)


def curve(b1, b2, x_grid: xr.DataArray, x_ref: float) -> xr.DataArray:
    """``b1 (x - x_ref) + b2 (x^2 - x_ref^2)`` on the grid (broadcast by dim name)."""
    return b1 * (x_grid - x_ref) + b2 * (x_grid**2 - x_ref**2)


def x_grid(lo: float, hi: float, size: int = 50) -> xr.DataArray:
    """``size`` evenly spaced points on [lo, hi], dim and coordinate ``x_grid``."""
    values = np.linspace(lo, hi, size)
    return xr.DataArray(values, dims="x_grid", coords={"x_grid": values})


def add_derived(
    posterior: xr.Dataset, x_lo: xr.DataArray, x_hi: xr.DataArray, grid: xr.DataArray, center: float
) -> xr.Dataset:
    """Add the derived quantities to a posterior with ``b1``, ``b2`` (chain, draw, group).

    Adds ``turning_point``, ``slope_lo``, ``slope_hi``, ``inverted_u`` (group); for the
    hierarchical model ``mu_b1 = mu_slope - 2 c mu_b2`` and ``mu_turning_point``; and
    ``curve`` (chain, draw, x_grid), the population-level curve (the pooled model's single
    curve). ``x_lo``/``x_hi`` have dim ``group``.
    """
    out = posterior.copy()
    b1, b2 = out["b1"], out["b2"]
    out["turning_point"] = turning_point(b1, b2)
    out["slope_lo"], out["slope_hi"] = end_slopes(b1, b2, x_lo, x_hi)
    out["inverted_u"] = inverted_u(b1, b2, x_lo, x_hi)
    if "mu_slope" in out:
        out["mu_b1"] = out["mu_slope"] - 2.0 * center * out["mu_b2"]
        out["mu_turning_point"] = turning_point(out["mu_b1"], out["mu_b2"])
        pop_b1, pop_b2 = out["mu_b1"], out["mu_b2"]
    else:
        pop_b1, pop_b2 = b1.isel(group=0, drop=True), b2.isel(group=0, drop=True)
    out["curve"] = curve(pop_b1, pop_b2, grid, float(grid[0])).transpose("chain", "draw", "x_grid")
    return out


def group_curves(posterior: xr.Dataset, grid: xr.DataArray) -> xr.DataArray:
    """Each group's curve (chain, draw, group, x_grid), relative to the grid's low end."""
    return curve(posterior["b1"], posterior["b2"], grid, float(grid[0])).transpose("chain", "draw", "group", "x_grid")


def p_inverted_u(posterior: xr.Dataset) -> xr.DataArray:
    """P(inverted U within the range) per group: the posterior mean of ``inverted_u``."""
    return posterior["inverted_u"].mean(SAMPLE_DIMS)
