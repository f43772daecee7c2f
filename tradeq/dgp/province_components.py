"""Building blocks of the province-panel simulator (:mod:`tradeq.dgp.province_panel`).

Each function draws one component of a (year x province) panel from its own named random
stream (:func:`streams`), so changing one component's draws leaves the others unchanged.
Arrays are (T, P): years along the first axis, provinces along the second.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tradeq.dgp.keys import name_to_int
from tradeq.dgp.province_params import SECTORS, ProvincePanelParams
from tradeq.models.measures.location_quotient import location_quotient


def streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One generator per component: ``SeedSequence([seed, crc32(name)])`` (stable across runs)."""
    return {n: np.random.default_rng(np.random.SeedSequence([int(seed), name_to_int(n)])) for n in names}


def ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    """Stationary unit-variance AR(1) along axis 0 of a (T, P) array."""
    z = rng.standard_normal(shape)
    out = np.empty(shape)
    out[0] = z[0]
    c = np.sqrt(1.0 - rho * rho)
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + c * z[t]
    return out


def development(params: ProvincePanelParams, rng: np.random.Generator, east: np.ndarray) -> np.ndarray:
    """(P,) standardised 'development' factor behind every province level: ``east_gap`` for
    the East plus N(0, 1), standardised over the provinces drawn."""
    d = params.east_gap * east + rng.standard_normal(east.shape[0])
    return (d - d.mean()) / d.std()


def province_level(rng: np.random.Generator, dev: np.ndarray, loading: float) -> np.ndarray:
    """(P,) unit-variance level loading ``loading`` on the development factor (one-factor model:
    corr(level_c, level_c') = loading_c loading_c')."""
    return loading * dev + np.sqrt(1.0 - loading ** 2) * rng.standard_normal(dev.shape[0])


def sector_output(params: ProvincePanelParams, rng: np.random.Generator, dev: np.ndarray,
                  n_years: int) -> tuple[np.ndarray, np.ndarray]:
    """Output by sector (T, P, 3) in 100m yuan, and the tertiary logit's within shock (T, P).

    ``ln GDP = gdp_log_level + gdp_log_sd level + gdp_growth t``; shares are the softmax of the
    logits (primary 0; secondary, tertiary = mean + trend t + province level + AR(1) shock).
    """
    P = dev.shape[0]
    t = np.arange(n_years)[:, None]
    gdp = np.exp(params.gdp_log_level + params.gdp_log_sd * province_level(rng, dev, params.gdp_loading)
                 + params.gdp_growth * t)
    level_ter = params.logit_sd * province_level(rng, dev, params.tertiary_loading)
    level_sec = params.logit_sd * (params.logit_corr * level_ter / params.logit_sd
                                   + np.sqrt(1 - params.logit_corr ** 2) * rng.standard_normal(P))
    shock_ter = ar1(rng, (n_years, P), params.logit_rho)
    shock_sec = ar1(rng, (n_years, P), params.logit_rho)
    z_sec = params.secondary_logit + params.secondary_trend * t + level_sec + params.logit_sd_within * shock_sec
    z_ter = params.tertiary_logit + params.tertiary_trend * t + level_ter + params.logit_sd_within * shock_ter
    logits = np.stack([np.zeros_like(z_sec), z_sec, z_ter], axis=-1)
    shares = np.exp(logits - logits.max(axis=-1, keepdims=True))
    shares /= shares.sum(axis=-1, keepdims=True)
    return gdp[..., None] * shares, shock_ter


def quotients(output: np.ndarray, years: np.ndarray, provinces: np.ndarray) -> xr.DataArray:
    """Location quotients (year, province, sector) of simulated output (every value defined)."""
    da = xr.DataArray(output, dims=("year", "province", "sector"),
                      coords={"year": years, "province": provinces, "sector": list(SECTORS)})
    lq = location_quotient(da)
    if lq.reasons():
        raise AssertionError(f"simulated output gave undefined location quotients: {lq.reasons()}")
    return lq.lq


# name: (mean of the transformed level in the first year, its sd across provinces, loading on
# development, trend per year, within sd, within AR(1), loading of the within part on IC's shock,
# transform). See the ProvincePanelParams docstring for the sources.
def control_specs(params: ProvincePanelParams) -> dict[str, tuple]:
    return {
        "CX": (params.cx_log_level, params.cx_log_sd, params.cx_loading, params.cx_trend,
               params.cx_sd_within, 0.7, params.cx_ic_within, np.exp),
        "HUM": (params.hum_level, params.hum_sd, params.hum_loading, params.hum_trend,
                params.hum_sd_within, 0.7, params.hum_ic_within, None),
        "FDI": (params.fdi_log_level, params.fdi_log_sd, params.fdi_loading, params.fdi_trend,
                params.fdi_sd_within, 0.6, params.fdi_ic_within, np.exp),
        "GOV": (params.gov_log_level, params.gov_log_sd, params.gov_loading, params.gov_trend,
                params.gov_sd_within, 0.8, params.gov_ic_within, np.exp),
        "INF": (params.inf_log_level, params.inf_log_sd, params.inf_loading, params.inf_trend,
                params.inf_sd_within, 0.8, params.inf_ic_within, np.exp),
    }


def controls(params: ProvincePanelParams, rngs: dict[str, np.random.Generator], dev: np.ndarray,
             ic_shock: np.ndarray) -> dict[str, np.ndarray]:
    """The five controls (T, P) in the papers' units (ProvincePanelParams docstring)::

        g = level + sd l_p + trend t + sd_w (r w_IC + sqrt(1 - r^2) AR(1)),   X = exp(g) or g

    ``w_IC`` is the tertiary logit's own shock, so the controls co-move with IC within provinces.
    """
    n_years, P = ic_shock.shape
    t = np.arange(n_years)[:, None]
    out = {}
    for name, (level, sd, loading, trend, sd_w, rho, r_ic, transform) in control_specs(params).items():
        rng = rngs[name]
        own = ar1(rng, (n_years, P), rho)
        g = (level + sd * province_level(rng, dev, loading)[None, :] + trend * t
             + sd_w * (r_ic * ic_shock + np.sqrt(1 - r_ic ** 2) * own))
        out[name] = g if transform is None else transform(g)
    return out


def mediators(params: ProvincePanelParams, rngs: dict[str, np.random.Generator], dev: np.ndarray,
              ic: np.ndarray, fma: np.ndarray) -> dict[str, np.ndarray]:
    """The mediators (T, P) of the first cluster paper's Table 4, each ``level_p + trend t +
    a IC + sigma nu`` with iid N(0, 1) ``nu``:

    * ``FMA`` (transaction cost): level = the province's foreign-market access from its
      capital's distance to the coast (:func:`tradeq.provinces.foreign_market_access`), no
      trend, ``a (IC - 1)``: the province's mean FMA is its measured FMA up to ``a (mean IC_p - 1)``
      (a few hundredths; IC = 1 is the national structure);
    * ``TE`` (transaction-efficiency index, standardised): development-loaded level plus trend;
    * ``KS`` (knowledge spillover, ln domestic patent applications): development-loaded level
      (around ln of ~10,000 applications in the middle year) growing ~16% a year.

    Trends are centred on the middle year (``mid``).
    """
    n_years, P = ic.shape
    mid = np.arange(n_years)[:, None] - (n_years - 1) / 2
    out = {}
    for name in params.mediators:
        rng = rngs[name]
        a = getattr(params, f"a_{name}")
        noise = getattr(params, f"sigma_{name}") * rng.standard_normal((n_years, P))
        if name == "FMA":
            out[name] = fma[None, :] + a * (ic - 1.0) + noise
        elif name == "TE":
            level = params.te_sd * province_level(rng, dev, params.te_loading)
            out[name] = level[None, :] + params.te_trend * mid + a * ic + noise
        else:
            level = params.ks_log_level + params.ks_log_sd * province_level(rng, dev, params.ks_loading)
            out[name] = level[None, :] + params.ks_trend * mid + a * ic + noise
    return out


def slope_grid(params: ProvincePanelParams, region: np.ndarray) -> np.ndarray:
    """(T, P) total IC effect of each province-year."""
    T, P = params.n_years, region.shape[0]
    if params.ic_slopes == "region":
        return np.broadcast_to(np.asarray(params.region_IC, dtype=np.float64)[region], (T, P))
    after = ((params.year0 + np.arange(T)) >= params.break_year)[:, None]
    if params.ic_slopes == "break":
        return np.where(after, params.ic_after, params.ic_before) * np.ones((T, P))
    if params.ic_slopes == "region_break":
        before_r = np.asarray(params.region_IC, dtype=np.float64)[region]
        after_r = np.asarray(params.region_slopes_after(), dtype=np.float64)[region]
        return np.where(after, after_r[None, :], before_r[None, :])
    return np.full((T, P), float(params.beta_IC))


def errors(params: ProvincePanelParams, rng: np.random.Generator, ic: np.ndarray) -> np.ndarray:
    """Idiosyncratic errors (T, P): iid N(0, sigma_e^2); ``heteroskedastic`` with sd
    ``sigma_e exp(g z - g^2)``, z = IC standardised over the panel (E[sd^2] = sigma_e^2 for
    normal z); ``ar1`` stationary AR(1) within province with persistence ``rho``."""
    shape = ic.shape
    if params.error == "ar1":
        return params.sigma_e * ar1(rng, shape, params.rho)
    e = params.sigma_e * rng.standard_normal(shape)
    if params.error == "heteroskedastic":
        z = (ic - ic.mean()) / ic.std()
        e *= np.exp(params.hetero_gamma * z - params.hetero_gamma ** 2)
    return e


def effects(params: ProvincePanelParams, rng: np.random.Generator, ic: np.ndarray, index_x: np.ndarray,
            coastal: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Province (P,) and year (T,) effects of TU, correlated with IC and the controls::

        alpha_p = gamma_province (mean_t IC_pt - mean IC) + gamma_controls (mean_t d'X_pt - mean d'X)
                  + coastal_p tu_coastal exp(coastal_sd eta_p - coastal_sd^2 / 2) + sigma_province eta'_p
        delta_t = hump_t + gamma_year (mean_p IC_pt - mean IC) + sigma_year zeta_t

    (IC's cross-province mean moves little from year to year, quotients being relative, so
    the year effects' correlation with IC is weak; the province effects carry the confounding.)

    Negative gammas make the province effects offset most of the regressors' cross-province
    spread, as in the data, where a province's trade/GDP level is mostly its coast (the
    right-skewed coastal term) and the within-province co-movement is what FE identify.
    ``hump_t = year_hump_height exp(-((year - year_hump_peak) / year_hump_width)^2)`` is the
    rise and fall of China's trade/GDP ratio (peak in 2006)."""
    P, T = ic.shape[1], ic.shape[0]
    centre = ic.mean()
    skew = np.exp(params.coastal_sd * rng.standard_normal(P) - params.coastal_sd ** 2 / 2)
    alpha = (params.gamma_province * (ic.mean(axis=0) - centre)
             + params.gamma_controls * (index_x.mean(axis=0) - index_x.mean())
             + params.tu_coastal * coastal * skew + params.sigma_province * rng.standard_normal(P))
    hump = params.year_hump_height * np.exp(-(((years - params.year_hump_peak) / params.year_hump_width) ** 2))
    delta = hump + params.gamma_year * (ic.mean(axis=1) - centre) + params.sigma_year * rng.standard_normal(T)
    return alpha, delta
