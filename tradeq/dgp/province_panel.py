"""Synthetic province-year panels for the industrial-cluster study (SPEC 1c, 4).

30 provinces (Tibet excluded, as in the papers; ``exclude_tibet=False`` adds it) x 2001-2021
= 630 province-years. Per province p and year t::

    Y_pjt    = GDP_pt s_pjt                        output of sector j (primary, secondary, tertiary)
    IC_pt    = E_p,tertiary,t,  IC2_pt = E_p,secondary,t   location quotients of Y (models.measures)
    X_pt     = (CX, HUM, FDI, GOV, INF)            controls
    M_mpt    = level_mp + trend_m t + a_m IC_pt + sigma_m nu_mpt      mediators m in ``mediators``
                                                   (FMA: a_m (IC_pt - 1), see province_components)
    TU_pt    = intercept + (c_pt - sum_m a_m b_m) IC_pt + d'X_pt + sum_m b_m (M_mpt - centre_mt)
               + alpha_p + delta_t + e_pt

(``centre_mt`` the mediator's common path, :func:`mediator_centres`).

* ``c_pt`` is the total effect of IC on TU: ``beta_IC`` (``ic_slopes="common"``; Table 1
  model 2), ``region_IC`` by region (``"region"``; Table 3: East 1.747, Central 0.023, West
  0.183) or ``ic_before`` / ``ic_after`` before / from ``break_year`` (``"break"``; the
  second paper's Table 3: 1.476 for 2001-2016, 0.631 for 2017-2021) or by region and period
  (``"region_break"``: ``region_IC`` before ``break_year``, ``region_IC_after`` from it, by
  default ``region_IC`` shifted by the common break ``ic_after - ic_before``). With mediators the
  direct effect is ``c_pt - sum_m a_m b_m``, so that TU on IC and the controls still
  estimates ``c_pt``, and each mediator's ``a_m``, ``b_m`` are Table 4's.
* Mediators (Table 4 of the first paper; a, b): ``FMA`` transaction cost (-0.043, -1.690),
  its province level the foreign-market access of :func:`tradeq.provinces.foreign_market_access`
  (capital distances, coastal vs inland); ``TE`` transaction efficiency (0.454, 1.268);
  ``KS`` knowledge spillover, ln patent applications (0.727, 0.377). The paper's FMA is
  time-invariant, which province effects would absorb entirely; here it moves with IC
  around the measured level, so ``a`` is identified with province effects.
* Province and year effects are correlated with IC (``gamma_province``, ``gamma_year``) and
  the controls (``gamma_controls``), so pooled OLS is biased and the province + year FE
  estimator is not; they also absorb the mediators' province levels (``b_m`` times a level
  such as Shanghai's FMA of 3.3 would otherwise dominate TU's cross-section).
* ``e``: iid, heteroskedastic in IC, or AR(1) within province (``error``).

Calibration. The papers give coefficients and standard errors but no descriptive statistics,
so the spreads are set from China's statistical yearbooks (orders of magnitude, 2001-2021)
and documented in :class:`~tradeq.dgp.province_params.ProvincePanelParams`. Sector shares: national primary / secondary /
tertiary 14 / 45 / 41% in 2001 and 7 / 39 / 53% in 2021 (simulated: 13 / 44 / 43% and
7 / 38 / 55%); the tertiary quotient IC spans ~0.6-1.35 (sd 0.17) and moves slowly
within provinces (sd 0.024 after province and year effects); corr(IC, IC2) ~ -0.9. The
idiosyncratic sd (0.045) and IC's within variation put the FE standard error of IC at
Table 1's 0.080 (measured over 200 seeds: 0.083, with HC1 SEs matching the Monte Carlo sd;
HUM 0.027 vs 0.021, GOV 0.125 vs 0.167; the exponential controls CX, FDI, INF vary more
within provinces than the papers' SEs imply, 0.0004 / 0.0036 / 0.0011 vs 0.002 / 0.006 /
0.005). The mediators' noise gives the a's standard errors of Table 4 (measured 0.016,
0.147, 0.174 vs 0.016, 0.146, 0.172) and b's of 0.21, 0.023, 0.020 (Table 4: 0.247,
0.354, 0.026; its TE pair is not consistent with any one noise level). Each mediator's
noise enters TU through ``b_m``, so with TE switched on the SE of the total effect rises
to ~0.21. TU is not clipped at zero (that would bias the known truth): median ~0.23, sd
~0.29, coastal provinces ~0.6 on average against ~0.14 inland, ~3% of province-years below
zero (~9% with all three mediators, whose noise TU carries).

The simulator is NumPy (630 rows need no compilation) with one named random stream per
component (:func:`tradeq.dgp.province_components.streams`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.dgp import province_components as pc
from tradeq.dgp.province_params import CONTROLS, ERRORS, IC_SLOPES, MEDIATORS, SECTORS, ProvincePanelParams
from tradeq.provinces import BY_CODE, REGIONS, foreign_market_access

__all__ = ["CONTROLS", "ERRORS", "IC_SLOPES", "MEDIATORS", "SECTORS", "ProvincePanelParams", "ProvinceTruth",
           "mediator_centres", "simulate_province_panel", "total_ic_slopes"]

@dataclass(frozen=True)
class ProvinceTruth:
    """What the simulator used. ``controls`` the slopes d; ``ic_total`` the total effect of
    IC by group (``{"all": c}``, region names, the two period labels, or ``"East:2001-2016"``
    region:period labels under ``region_break``) and ``ic_direct`` its
    direct effect (equal without mediators); ``mediation`` name -> ``{"a", "b", "indirect"}``
    (empty without mediators); ``indirect`` = sum of a b."""

    ic_slopes: str
    ic_total: dict[str, float]
    ic_direct: dict[str, float]
    controls: dict[str, float]
    mediation: dict[str, dict[str, float]]
    indirect: float
    intercept: float
    error: str
    error_params: dict[str, float]
    n_obs: int
    n_provinces: int
    n_years: int
    seed: int
    params: ProvincePanelParams


def total_ic_slopes(params: ProvincePanelParams) -> dict[str, float]:
    """The total effect of IC by group (see :class:`ProvinceTruth`)."""
    if params.ic_slopes == "region":
        return dict(zip(REGIONS, (float(s) for s in params.region_IC)))
    if params.ic_slopes == "break":
        before, after = params.period_labels()
        return {before: float(params.ic_before), after: float(params.ic_after)}
    if params.ic_slopes == "region_break":
        before, after = params.period_labels()
        pre = dict(zip(REGIONS, (float(s) for s in params.region_IC)))
        post = dict(zip(REGIONS, params.region_slopes_after()))
        return {**{f"{r}:{before}": v for r, v in pre.items()}, **{f"{r}:{after}": v for r, v in post.items()}}
    return {"all": float(params.beta_IC)}


def mediator_centres(params: ProvincePanelParams) -> dict[str, np.ndarray]:
    """The common path (T,) of each mediator without its IC term: its mean province level
    plus its trend. TU uses ``b (M - centre)``, so that the mediators' levels and trends do
    not move TU's level (a deterministic function of the year: year effects absorb it)."""
    mid = np.arange(params.n_years) - (params.n_years - 1) / 2
    return {
        "FMA": np.full(params.n_years, float(_registry_fma().loc[list(params.codes)].mean())),
        "TE": params.te_trend * mid,
        "KS": params.ks_log_level + params.ks_trend * mid,
    }


def _indirect(params: ProvincePanelParams) -> float:
    return float(sum(getattr(params, f"a_{m}") * getattr(params, f"b_{m}") for m in params.mediators))


def _to_frame(params: ProvincePanelParams, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame sorted by (province_code, year) from (T, P) arrays."""
    provinces = [BY_CODE[c] for c in params.codes]
    T, P = params.n_years, len(provinces)
    prov = np.repeat(np.arange(P), T)  # province-major rows
    year = np.tile(params.years, P)
    before, after = params.period_labels()
    region_code = np.array([REGIONS.index(p.region) for p in provinces])[prov]
    data = {
        "province_code": np.array(params.codes, dtype=np.int64)[prov],
        "province": np.array([p.name for p in provinces], dtype=object)[prov],
        "region": pd.Categorical.from_codes(region_code, categories=REGIONS),
        "coastal": np.array([p.coastal for p in provinces])[prov],
        "period": np.where(year >= params.break_year, after, before).astype(object),
        "year": year.astype(np.int64),
    }
    data.update({name: grid.T.reshape(-1) for name, grid in columns.items()})  # (T, P) -> province-major
    return pd.DataFrame(data)


@functools.cache
def _registry_fma() -> pd.Series:
    """FMA of all 31 provinces from the registry (computed once)."""
    return foreign_market_access()


def simulate_province_panel(params: ProvincePanelParams | None = None,
                            seed: int = 0) -> tuple[pd.DataFrame, ProvinceTruth]:
    """One province-year panel and its :class:`ProvinceTruth`.

    Columns: province_code, province, region, coastal, period, year, TU, IC, IC2, CX, HUM,
    FDI, GOV, INF, the mediators asked for (FMA, TE, KS), and the sector outputs
    Y_primary, Y_secondary, Y_tertiary (100m yuan) the quotients were computed from. Rows
    sorted by province code, then year.
    """
    params = ProvincePanelParams() if params is None else params
    params.validate()
    if int(seed) < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    region = np.array([REGIONS.index(BY_CODE[c].region) for c in params.codes])
    coastal = np.array([BY_CODE[c].coastal for c in params.codes], dtype=np.float64)
    rng = pc.streams(seed, ("development", "sectors", *CONTROLS, *MEDIATORS, "effects", "errors"))

    dev = pc.development(params, rng["development"], (region == 0).astype(np.float64))
    output, ic_shock = pc.sector_output(params, rng["sectors"], dev, params.n_years)
    lq = pc.quotients(output, params.years, np.asarray(params.codes))
    ic = lq.sel(sector="tertiary").values
    ic2 = lq.sel(sector="secondary").values
    X = pc.controls(params, rng, dev, ic_shock)
    M = pc.mediators(params, rng, dev, ic, _registry_fma().loc[list(params.codes)].to_numpy())
    index_x = sum(getattr(params, f"beta_{c}") * X[c] for c in CONTROLS)
    centre = mediator_centres(params)
    index_m = sum((getattr(params, f"b_{m}") * (M[m] - centre[m][:, None]) for m in params.mediators),
                  start=np.zeros_like(ic))
    alpha, delta = pc.effects(params, rng["effects"], ic, index_x, coastal, params.years)
    # the mediators' province levels (not their IC part) are absorbed by the province effects
    level_m = index_m - sum((getattr(params, f"a_{m}") * getattr(params, f"b_{m}") * ic for m in params.mediators),
                            start=np.zeros_like(ic))
    alpha -= level_m.mean(axis=0)
    e = pc.errors(params, rng["errors"], ic)

    tu = (params.intercept + (pc.slope_grid(params, region) - _indirect(params)) * ic + index_x + index_m
          + alpha[None, :] + delta[:, None] + e)
    sectors = {f"Y_{s}": output[..., j] for j, s in enumerate(SECTORS)}
    frame = _to_frame(params, {"TU": tu, "IC": ic, "IC2": ic2, **X, **M, **sectors})
    return frame, make_truth(params, seed)


def make_truth(params: ProvincePanelParams, seed: int) -> ProvinceTruth:
    total = total_ic_slopes(params)
    indirect = _indirect(params)
    mediation = {m: {"a": float(getattr(params, f"a_{m}")), "b": float(getattr(params, f"b_{m}")),
                     "indirect": float(getattr(params, f"a_{m}") * getattr(params, f"b_{m}"))}
                 for m in params.mediators}
    error_params = {"sigma_e": float(params.sigma_e)}
    if params.error == "ar1":
        error_params["rho"] = float(params.rho)
    elif params.error == "heteroskedastic":
        error_params["hetero_gamma"] = float(params.hetero_gamma)
    return ProvinceTruth(
        ic_slopes=params.ic_slopes, ic_total=total, ic_direct={k: v - indirect for k, v in total.items()},
        controls={c: float(getattr(params, f"beta_{c}")) for c in CONTROLS}, mediation=mediation,
        indirect=indirect, intercept=float(params.intercept), error=params.error, error_params=error_params,
        n_obs=len(params.codes) * params.n_years, n_provinces=len(params.codes), n_years=params.n_years,
        seed=int(seed), params=params,
    )
