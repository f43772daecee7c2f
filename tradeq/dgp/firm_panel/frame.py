"""The pandas edge of the firm panel: the long DataFrame, its :class:`Truth`, and
:func:`simulate_firm_panel`, which makes both from one :func:`simulate_grid` draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import pandas as pd

from tradeq.dgp.keys import base_key
from tradeq.models.precision import require_x64

from .params import CONTROLS, PROVINCES, REGIONS, FirmPanelParams, group_labels
from .simulate import simulate_grid


@dataclass(frozen=True)
class Truth:
    """What the simulator used, for comparison with estimates.

    ``b1``, ``b2`` (and ``turning_point = -b1 / (2 b2)``) are the common coefficients;
    when ``group_by`` is set every observation belongs to a group and ``groups`` (label ->
    ``{"b1", "b2", "turning_point", "n_obs"}``) holds the coefficients actually used.
    ``mediation`` is ``None`` or ``{"a", "b", "indirect", "lag", "level", "name"}``.
    """

    b1: float
    b2: float
    turning_point: float
    controls: dict[str, float]
    intercept: float
    error: str
    error_params: dict[str, float]
    group_by: str | None
    groups: dict[str, dict[str, float]] | None
    mediation: dict[str, Any] | None
    n_obs: int
    n_firms: int
    n_years: int
    seed: int
    params: FirmPanelParams


def _turning_point(b1: float, b2: float) -> float:
    return float(-b1 / (2.0 * b2)) if b2 != 0 else float("nan")


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """String column ``names[codes]`` (taken from a small string array, not mapped code by code)."""
    return pd.array(list(names), dtype="str").take(codes)


def grid_to_frame(grid: Mapping[str, jax.Array], params: FirmPanelParams) -> pd.DataFrame:
    """Long DataFrame of the present cells of one :func:`simulate_grid` result.

    Rows sorted by (firm, year); firm ids are the grid's column indices.
    """
    present = np.asarray(grid["present"])  # (T, F)
    firm, t = np.nonzero(present.T)  # row-major over (F, T): sorted by firm, then year
    province = np.asarray(grid["province"])[firm]
    region = np.asarray(grid["region"])[firm]
    soe = np.asarray(grid["soe"])[firm].astype(np.int8)
    labour = np.asarray(grid["labour"])[firm]

    def cells(name: str) -> np.ndarray:
        return np.asarray(grid[name])[t, firm]

    cols: dict[str, Any] = {
        "firm": firm.astype(np.int64),
        "year": (params.year0 + t).astype(np.int64),
        "province": _labels(PROVINCES, province),
        "region": _labels(REGIONS, region),
        "soe": soe,
        "ownership": _labels(("non-SOE", "SOE"), soe),
        "intensity": _labels(("capital", "labour"), labour.astype(np.int8)),
        "quality": cells("quality"),
        "Market": cells("Market"),
    }
    for name in CONTROLS:
        cols[name] = cells(name)
    if params.mediator != "none":
        cols[params.mediator_name] = cells("mediator")
        cols["Market_lag"] = cells("Market_lag")
    if params.group_by is not None:
        labels = group_labels(params.group_by, params.year0, present.shape[0], params.period_split)
        cols["group"] = _labels(labels, cells("group"))
    return pd.DataFrame(cols)


def make_truth(params: FirmPanelParams, frame: pd.DataFrame, n_years: int, seed: int) -> Truth:
    """The :class:`Truth` of a simulated panel (group sizes counted in ``frame``)."""
    groups = None
    if params.group_by is not None:
        labels = group_labels(params.group_by, params.year0, n_years, params.period_split)
        counts = frame["group"].value_counts()
        groups = {lab: {"b1": float(b1), "b2": float(b2), "turning_point": _turning_point(b1, b2),
                        "n_obs": int(counts.get(lab, 0))}
                  for lab, b1, b2 in zip(labels, params.group_b1, params.group_b2)}
    mediation = None
    if params.mediator != "none":
        a, b = float(params.med_a), float(params.med_b)
        mediation = {"a": a, "b": b, "indirect": a * b, "lag": params.mediator_lag,
                     "level": params.mediator, "name": params.mediator_name}
    error_params = {"sigma_e": float(params.sigma_e)}
    if params.error == "ar1":
        error_params["rho"] = float(params.rho)
    elif params.error == "province_year":
        error_params["sigma_py"] = float(params.sigma_py)
    elif params.error == "heteroskedastic":
        error_params["hetero_gamma"] = float(params.hetero_gamma)
    return Truth(
        b1=float(params.b1), b2=float(params.b2),
        turning_point=_turning_point(float(params.b1), float(params.b2)),
        controls={c: float(getattr(params, f"beta_{c}")) for c in CONTROLS},
        intercept=float(params.intercept), error=params.error, error_params=error_params,
        group_by=params.group_by, groups=groups, mediation=mediation,
        n_obs=len(frame), n_firms=int(frame["firm"].nunique()), n_years=n_years,
        seed=int(seed), params=params,
    )


def simulate_firm_panel(params: FirmPanelParams | None = None, n_firms: int = 120_000,
                        n_years: int = 10, seed: int = 0,
                        n_obs: int | None = None) -> tuple[pd.DataFrame, Truth]:
    """Simulate one firm-year panel; return it as a long DataFrame with its :class:`Truth`.

    Columns: firm, year (from ``year0``), province, region, soe (0/1), ownership,
    intensity, quality, Market, scale, age, roa, rdebt, fic, plus ``<mediator_name>`` and
    ``Market_lag`` with a mediator and ``group`` with ``group_by``. One row per present
    firm-year, sorted by (firm, year). ``n_obs`` gives exactly that many rows (between
    ``n_firms`` and ``n_firms * n_years``); ``None`` keeps the natural unbalanced draw.
    The paper's size is ``n_firms=120_000, n_years=10, n_obs=594_596``.
    """
    require_x64()
    params = FirmPanelParams() if params is None else params
    params.validate()
    if n_firms < 1 or n_years < 1:
        raise ValueError("n_firms and n_years must be positive")
    if n_obs is not None and not n_firms <= n_obs <= n_firms * n_years:
        raise ValueError(f"n_obs must lie in [n_firms, n_firms * n_years] = "
                         f"[{n_firms}, {n_firms * n_years}], got {n_obs}")
    grid = simulate_grid(base_key(seed), params, n_firms, n_years, n_obs)
    frame = grid_to_frame(grid, params)
    return frame, make_truth(params, frame, n_years, seed)
