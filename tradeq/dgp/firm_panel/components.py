"""The firm panel's components, each a pure JAX function of standard draws and parameters.

Presence spells, the province-year Market index, firm attributes and ages, the controls'
Gaussian copula, the firm and year effects, the error structures, the mediator and the group
codes. Every firm-year array is year-major, ``(n_years, n_firms)``: the layout
:func:`tradeq.dgp.firm_panel.simulate.simulate_grid` computes in and the grid FE fit
(:mod:`tradeq.models.grid_fe`) reads. The draws come from the slots of
:data:`tradeq.dgp.firm_panel.streams.STREAMS`, each in the precision it declares there.
What each choice cost is in ``docs/performance.md`` ("Monte Carlo engine").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tradeq.models.grid_reduce import grid_total

from .params import (
    AGE_TABLE_SIZE,
    COPULA_CONTROLS,
    PROVINCE_REGION,
    REGIONS,
    TABLE3_CORR,
    WITHIN_REGION_WEIGHT,
    FirmPanelParams,
)


def ar1(z: jax.Array, rho: jax.Array) -> jax.Array:
    """Stationary unit-variance AR(1) along the leading axis of iid N(0, 1) ``z`` (T, ...),
    in ``z``'s precision::

        x_0 = z_0,   x_t = rho x_{t-1} + sqrt(1 - rho^2) z_t

    computed as ``x = A z`` with the (T, T) lower-triangular ``A_ts = rho^(t-s) c_s`` (``c_0
    = 1``, else ``sqrt(1 - rho^2)``): one matrix product, which on a CPU beats both the
    unrolled recursion (XLA materialises every step) and a scan (measured for T = 10).
    """
    n = z.shape[0]
    t = jnp.arange(n)
    lag = t[:, None] - t[None, :]
    scale = jnp.where(t == 0, 1.0, jnp.sqrt(1.0 - rho**2))
    powers = jnp.power(rho, jnp.clip(lag, 0, None).astype(jnp.float64))
    A = jnp.where(lag >= 0, powers * scale[None, :], 0.0).astype(z.dtype)
    return (A @ z.reshape(n, -1)).reshape(z.shape)


def province_probabilities(params: FirmPanelParams) -> jax.Array:
    """(P,) probability that a firm sits in each province (region share x within weight)."""
    region_share = jnp.stack([1.0 - params.share_central - params.share_west,
                              params.share_central, params.share_west])
    weight = jnp.asarray(WITHIN_REGION_WEIGHT)
    region = jnp.asarray(PROVINCE_REGION)
    region_total = jax.ops.segment_sum(weight, region, num_segments=len(REGIONS))
    return region_share[region] * weight / region_total[region]


def by_province(values: jax.Array, province: jax.Array) -> jax.Array:
    """(..., F): ``values[province]`` moved to the last axis, for province-level ``values``
    (P, ...) and firm codes (F,) — e.g. (P, T) -> (T, F), year-major.

    A binary tree of selects on the bits of the code (P - 1 selects per cell, exact).
    Within the simulator on a CPU it is cheaper than the one-hot (T, P) @ (P, F) product,
    and much cheaper than XLA's gather, which XLA fused into every consumer of Market
    (``docs/performance.md``).
    """
    by_code = jnp.moveaxis(values, 0, -1)[..., None]  # (..., P, 1)
    level = [by_code[..., q, :] for q in range(values.shape[0])]
    bit = 0
    while len(level) > 1:
        take_odd = ((province >> bit) & 1) == 1
        if len(level) % 2:
            level.append(level[-1])  # codes never reach the padding
        level = [jnp.where(take_odd, level[2 * i + 1], level[2 * i]) for i in range(len(level) // 2)]
        bit += 1
    return jnp.broadcast_to(level[0], values.shape[1:] + province.shape)


def firm_attributes(params: FirmPanelParams, u_province: jax.Array, u_soe: jax.Array,
                    u_intensity: jax.Array) -> dict[str, jax.Array]:
    """Firm attributes from (n_firms,) uniforms: province, region (int32), soe, labour (bool)."""
    cdf = jnp.cumsum(province_probabilities(params))
    # inverse-CDF draw; counting exceeded cut points beats searchsorted's loop for 31 bins
    province = jnp.sum(u_province[:, None] * cdf[-1] >= cdf[None, :-1], axis=1)
    province = province.astype(jnp.int32)
    return {"province": province, "region": jnp.asarray(PROVINCE_REGION)[province],
            "soe": u_soe < params.soe_share, "labour": u_intensity < params.labour_share}


def presence(params: FirmPanelParams, u_centre: jax.Array, u_length: jax.Array, n_years: int,
             n_obs: int | jax.Array | None) -> jax.Array:
    """(n_years, n_firms) bool: contiguous presence spells, at least one year per firm.

    Firm i has a spell centre ``c_i ~ U(-0.5, T - 0.5)`` and a Weibull half-length
    ``h_i = spell_scale (-ln(1 - U))^(1 / spell_shape)``; the presence score of year t is
    ``h_i - |t - c_i|``, and the year nearest ``c_i`` gets a large bonus so every firm
    appears. Years scoring at least a threshold are present: 0 for the natural draw, or the
    ``n_obs``-th largest score for an exact size. Scores fall with distance from ``c_i``, so
    any threshold keeps each spell contiguous; scores are continuous, so ties have
    probability zero and the size is exact.
    """
    c = -0.5 + n_years * u_centre
    # x^(1/k) as exp(ln(x) / k), and ln(1 - U) for log1p(-U) (1 - U is exact for these
    # uniforms): the same values, at a fraction of XLA's CPU cost for pow and log1p
    h = params.spell_scale * jnp.exp(jnp.log(-jnp.log(1.0 - u_length)) / params.spell_shape)
    years = jnp.arange(n_years)
    dist = jnp.abs(years[:, None] - c[None, :])
    nearest = years[:, None] == jnp.argmin(dist, axis=0)[None, :]
    score = jnp.where(nearest, 1e6, 0.0) + h[None, :] - dist
    if n_obs is None:
        return score >= 0.0
    threshold = jnp.sort(score.ravel())[score.size - n_obs]
    return score >= threshold


def market_index(params: FirmPanelParams, z_common: jax.Array, z_province: jax.Array,
                 z_within: jax.Array) -> jax.Array:
    """(P, T + 1) Market index from standard normals; column 0 is the pre-sample year.

    ``L_pt = market_center + g_t + a_p + u_pt`` (module docstring) with ``z_common`` (T+1,),
    ``z_province`` (P,), ``z_within`` (P, T+1); then a smooth ceiling ``market_max - s
    softplus((market_max - L) / s)`` and a hard floor ``market_min``.
    """
    n = z_common.shape[0]
    n_years = n - 1
    t = jnp.arange(n) - 1.0
    common = params.market_trend * (t - (n_years - 1) / 2.0) + params.market_sd_common * z_common
    level = params.market_sd_province * z_province
    within = params.market_sd_within * ar1(z_within.T, params.market_rho).T
    latent = params.market_center + common[None, :] + level[:, None] + within
    s = params.market_softness
    ceiled = params.market_max - s * jax.nn.softplus((params.market_max - latent) / s)
    return jnp.maximum(ceiled, params.market_min)


#: ln(age + 1) of whole ages 0..AGE_TABLE_SIZE-1 (see :func:`firm_age`).
_LOG_AGE = np.log1p(np.arange(AGE_TABLE_SIZE, dtype=np.float64))


def firm_age(params: FirmPanelParams, z_age: jax.Array,
             present: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Founding year offset (n_firms,) and age = ln(t - founding + 1) (n_years, n_firms).

    The age at first presence ``A_i`` has ``ln(A_i + 1) ~ N(age_entry_log_mean,
    age_entry_log_sd)`` (floored to whole years); founding = first present year - A_i, so
    age >= 0 in every present year; age is capped at ``age_max`` (Table 2). The offset is
    relative to the first sample year (founding year = year0 + offset).

    Ages are whole years, so ln(age + 1) is looked up in a table of ``AGE_TABLE_SIZE``
    entries rather than computed per cell (XLA's double-precision log on a CPU cost more
    than the rest of this function); ages past the table are capped at ``age_max <=
    ln(AGE_TABLE_SIZE)`` anyway (:meth:`FirmPanelParams.validate`).
    """
    n_years = present.shape[0]
    first = jnp.argmax(present, axis=0)
    log_a = params.age_entry_log_mean + params.age_entry_log_sd * z_age
    entry_age = jnp.floor(jnp.clip(jnp.exp(log_a) - 1.0, 0.0, None))
    founding = first - entry_age
    years_old = jnp.clip(jnp.arange(n_years)[:, None] - founding[None, :], 0.0, AGE_TABLE_SIZE - 1)
    log_age = jnp.asarray(_LOG_AGE)[years_old.astype(jnp.int32)]
    return founding, jnp.minimum(log_age, params.age_max)


def _masked_standardise(x: jax.Array, w: jax.Array) -> jax.Array:
    n = grid_total(w)
    mean = grid_total(w * x) / n
    sd = jnp.sqrt(grid_total(w * (x - mean) ** 2) / n)
    return (x - mean) / jnp.where(sd > 0, sd, 1.0)


def _control_correlation(params: FirmPanelParams, r_market_age: jax.Array) -> jax.Array:
    """6x6 target correlation of (Market, age, scale, roa, rdebt, fic) (Table 3)."""
    names = ("Market", "age") + COPULA_CONTROLS
    market_corr = {"scale": params.corr_scale_market, "roa": params.corr_roa_market,
                   "rdebt": params.corr_rdebt_market, "fic": params.corr_fic_market}

    def entry(a: str, b: str) -> Any:
        if a == b:
            return 1.0
        if {a, b} == {"Market", "age"}:
            return r_market_age
        if "Market" in (a, b):
            return market_corr[b if a == "Market" else a]
        return TABLE3_CORR.get((a, b), TABLE3_CORR.get((b, a)))

    return jnp.stack([jnp.stack([jnp.asarray(entry(a, b), jnp.float64) for b in names])
                      for a in names])


def _small_cholesky(a: jax.Array) -> jax.Array:
    """Lower Cholesky factor of a small SPD matrix, unrolled (LAPACK calls compile slowly)."""
    n = a.shape[0]
    low = [[jnp.asarray(0.0)] * n for _ in range(n)]
    for j in range(n):
        diag = a[j, j] - sum(low[j][k] ** 2 for k in range(j))
        low[j][j] = jnp.sqrt(diag)
        for i in range(j + 1, n):
            low[i][j] = (a[i, j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    return jnp.stack([jnp.stack(row) for row in low])


def _in_dtype(value: Any, like: jax.Array) -> jax.Array:
    """``value`` (a parameter: Python float or traced float64) in ``like``'s precision --
    explicitly, since a traced float64 would promote a float32 array to float64."""
    return jnp.asarray(value).astype(like.dtype)


def _shifted_lognormal(z: jax.Array, median: Any, sd: Any, lo: Any) -> jax.Array:
    """``lo + m exp(s z)``, ``m = median - lo``, with ``s`` solving sd(x) = ``sd`` exactly;
    in ``z``'s precision (the constants are solved in double precision).

    For a log-normal, var / m^2 = y (y - 1) with y = exp(s^2), a quadratic in y.
    """
    m = median - lo
    r2 = (sd / m) ** 2
    s = jnp.sqrt(jnp.log((1.0 + jnp.sqrt(1.0 + 4.0 * r2)) / 2.0))
    return _in_dtype(lo, z) + _in_dtype(m, z) * jnp.exp(_in_dtype(s, z) * z)


def controls(params: FirmPanelParams, z_firm: jax.Array, z_within: jax.Array,
             market: jax.Array, age: jax.Array, present: jax.Array) -> dict[str, jax.Array]:
    """scale, roa, rdebt, fic, each (n_years, n_firms), by a Gaussian copula.

    Latent ``x = B (z_Market, z_age) + L eps``, with ``B`` and ``L`` from the conditional
    of the Table 3 correlation matrix given standardised Market and age (standardised over
    present cells, at their realised correlation). ``eps_k = sqrt(1 - w_k) f_ik + sqrt(w_k)
    v_ikt`` mixes a firm component (``z_firm`` (4, F)) and a within-firm stationary
    AR(1) (``rho_x``; ``z_within`` (T, 4, F)), ``w_k = <control>_within``. Marginals:
    normal for scale and rdebt, shifted log-normal (lower bound = Table 2 min) for the
    right-skewed roa and fic; all winsorised at Table 2's min / max.

    From the innovations to the marginals the arithmetic is single precision, as the
    innovations are drawn (:func:`tradeq.dgp.keys.probit`): half the bytes through the
    AR(1) product and the four planes, and XLA's float32 exp is a vectorised loop where its
    float64 one is not. The four planes are written out once (fused into their consumers,
    each would be recomputed in every one, quality's included) and winsorised in double
    precision at the exact bounds (what that saves: ``docs/performance.md``).
    """
    w = present.astype(jnp.float64)
    z_m = _masked_standardise(market, w)
    z_a = _masked_standardise(age, w)
    corr = _control_correlation(params, grid_total(w * z_m * z_a) / grid_total(w))
    r, c_xo, c_xx = corr[0, 1], corr[2:, :2], corr[2:, 2:]
    inv_oo = jnp.array([[1.0, -r], [-r, 1.0]]) / (1.0 - r**2)
    loadings = c_xo @ inv_oo
    chol = _small_cholesky(c_xx - loadings @ c_xo.T)

    share = jnp.stack([getattr(params, f"{c}_within") for c in COPULA_CONTROLS])[:, None]
    f32 = jnp.float32
    firm_w, within_w = jnp.sqrt(1.0 - share).astype(f32), jnp.sqrt(share).astype(f32)
    loadings, chol = loadings.astype(f32), chol.astype(f32)
    z_m, z_a = z_m.astype(f32), z_a.astype(f32)
    within = ar1(z_within.astype(f32), params.rho_x)  # the innovations as drawn
    eps = firm_w * z_firm.astype(f32) + within_w * within  # (T, 4, F)
    out = {}
    for j, name in enumerate(COPULA_CONTROLS):
        # row j of B (z_m, z_a) + L eps, written out (L is lower triangular; four (T, F)
        # planes fuse into one pass where a (.., 4) @ (4, 4) product would not)
        latent = loadings[j, 0] * z_m + loadings[j, 1] * z_a
        for i in range(j + 1):
            latent = latent + chol[j, i] * eps[:, i]
        med, sd, lo = (getattr(params, f"{name}_{k}") for k in ("median", "sd", "min"))
        if name in ("roa", "fic"):
            out[name] = _shifted_lognormal(latent, med, sd, lo)
        else:
            out[name] = _in_dtype(med, latent) + _in_dtype(sd, latent) * latent
    out = jax.lax.optimization_barrier(out)
    return {name: jnp.clip(x.astype(jnp.float64), getattr(params, f"{name}_min"), getattr(params, f"{name}_max"))
            for name, x in out.items()}


def effects(params: FirmPanelParams, z_firm: jax.Array, z_year: jax.Array, market: jax.Array,
            present: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Firm effects (n_firms,) and year effects (n_years,), both correlated with Market.

    ``alpha_i = gamma_firm (Mbar_i - Mbar) + sigma_firm eta_i`` with ``Mbar_i`` the mean of
    Market over firm i's present years; ``delta_t = gamma_year (Mbar_t - Mbar) + sigma_year
    zeta_t`` with ``Mbar_t`` the mean over the year's present firms; ``Mbar`` the mean over
    all present firm-years.
    """
    w = present.astype(jnp.float64)  # (T, F)
    overall = grid_total(w * market) / grid_total(w)
    firm_mean = jnp.sum(w * market, axis=0) / jnp.maximum(jnp.sum(w, axis=0), 1.0)
    n_year = jnp.sum(w, axis=1)
    year_mean = jnp.where(n_year > 0, jnp.sum(w * market, axis=1) / jnp.maximum(n_year, 1.0),
                          overall)
    firm = params.gamma_firm * (firm_mean - overall) + params.sigma_firm * z_firm
    year = params.gamma_year * (year_mean - overall) + params.sigma_year * z_year
    return firm, year


def errors(params: FirmPanelParams, z: jax.Array, z_province_year: jax.Array | None,
           scale: jax.Array, province: jax.Array) -> jax.Array:
    """(n_years, n_firms) errors with the structure ``params.error`` (``z`` (T, F)).

    * ``iid``: ``sigma_e z``.
    * ``heteroskedastic``: ``sigma_e exp(g z_s - g^2) z`` with ``z_s = (scale -
      scale_median) / scale_sd``; for normal ``z_s`` the mean variance is ``sigma_e^2``.
      The default ``g < 0`` makes small firms' quality noisier.
    * ``ar1``: stationary AR(1) within firm, persistence ``rho``, marginal sd ``sigma_e``.
    * ``province_year``: ``sigma_e z + sigma_py v_{p(i), t}``, one shock ``v`` per
      province-year shared by its firms.
    """
    if params.error == "iid":
        return params.sigma_e * z
    if params.error == "heteroskedastic":
        g = params.hetero_gamma
        z_s = (scale - params.scale_median) / params.scale_sd
        return params.sigma_e * jnp.exp(g * z_s - g**2) * z
    if params.error == "ar1":
        return params.sigma_e * ar1(z, params.rho)
    return params.sigma_e * z + params.sigma_py * by_province(z_province_year, province)


def group_codes(params: FirmPanelParams, firms: Mapping[str, jax.Array], n_years: int) -> jax.Array:
    """(n_years, n_firms) int32 group code of each cell (zeros without ``group_by``)."""
    shape = (n_years, firms["province"].shape[0])
    non_soe = (~firms["soe"]).astype(jnp.int32)
    by = params.group_by
    if by == "period":  # the only grouping that varies within firm
        year = params.year0 + jnp.arange(n_years)
        return jnp.broadcast_to((year >= params.period_split).astype(jnp.int32)[:, None], shape)
    if by is None:
        code = jnp.zeros(shape[1], jnp.int32)
    elif by == "region_ownership":
        code = firms["region"] * 2 + non_soe
    elif by == "region":
        code = firms["region"]
    elif by == "ownership":
        code = non_soe
    else:  # intensity
        code = (~firms["labour"]).astype(jnp.int32)
    return jnp.broadcast_to(code[None, :], shape)


def mediator(params: FirmPanelParams, z_level: jax.Array, z_province: jax.Array | None,
             z_firm: jax.Array | None, market_lagged: jax.Array, province: jax.Array) -> jax.Array:
    """(n_years, n_firms) mediator (SPEC 1a, Tables 6-7)::

        M = med_intercept + med_a Market_lag + med_sd_province m_p + med_sigma nu

    ``market_lagged`` is the firm-year Market lagged ``mediator_lag`` (0 or 1) years
    (Market is provincial, so the lag exists in each firm's first year). ``m_p`` (``z_level`` (P,)) is
    a persistent provincial level, which the firm effects absorb -- as for human capital,
    whose FE regression on Market has R^2 .84 and t 130 in Table 6. ``nu`` is one draw per
    province-year (``mediator="province"``, ``z_province`` (P, T)) or per firm-year
    (``"firm"``, ``z_firm`` (T, F)).
    """
    nu = by_province(z_province, province) if params.mediator == "province" else z_firm
    return (params.med_intercept + params.med_a * market_lagged
            + params.med_sd_province * by_province(z_level, province)[None, :] + params.med_sigma * nu)
