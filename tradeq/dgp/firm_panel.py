"""Synthetic firm-year panels for the market-integration -> export-quality study (SPEC 1a, 4).

The model, per present firm-year (firm i in province p(i), year t)::

    Market_pt  = ceil( c + g_t + a_p + u_pt )                        province-year index, ln(integ)
    quality_it = intercept + b1_g Market_pt + b2_g Market_pt^2
                 + d' X_it + alpha_i + delta_t (+ b_m M_it) + e_it

* ``g_t = market_trend (t - t_mid) + market_sd_common xi_t`` is the common path (the
  paper's Table 1: segmentation falls ~3x from 2004 to 2013, so ln(integ) rises ~0.55);
  ``a_p ~ N(0, market_sd_province)`` a persistent provincial level; ``u_pt`` a stationary
  AR(1) (sd ``market_sd_within``, persistence ``market_rho``). Table 1 shows provinces
  re-ranking almost completely between 2004 and 2013 (the 2004-to-2013 change has sd
  ~0.27 against a cross-province sd of ~0.18 in each year), i.e. most provincial
  variation is *within* province: that within variation is what identifies b1, b2 once
  firm and year effects are removed. ``ceil`` is a smooth ceiling at ``market_max`` (a
  softplus of width ``market_softness``) and a hard floor at ``market_min``: relative-price
  dispersion cannot fall below its noise floor, which gives the left-skewed distribution
  of Table 2 (median 4.276 sits 0.46 below the max, 1.11 above the min).
* ``X = (scale, age, roa, rdebt, fic)`` with Table 2 medians / sds / ranges and Table 3
  correlations (Gaussian copula; controls are winsorised at the Table 2 min / max as the
  paper's data are). ``age = ln(year - founding year + 1)`` from a founding year per firm.
  ``fic`` is a calibrated draw, not the SA formula of SPEC 1a: with Table 2's scale and age
  the SA formula gives |SA| of 2-3 (ln|SA| ~ 1), not Table 2's 0-0.729, and Table 3 shows
  fic nearly uncorrelated with scale and age, which a deterministic SA(scale, age) cannot be.
* ``alpha_i = gamma_firm (mean of Market over firm i's years - mean) + sigma_firm eta_i`` and
  ``delta_t = gamma_year (mean Market in year t - mean) + sigma_year zeta_t``: the effects are
  correlated with Market, so pooled OLS is biased and the firm + year FE estimator is not.
* ``b1_g, b2_g``: common (``b1``, ``b2``; Table 4 col 2) or per group (``group_by`` with
  ``group_b1``, ``group_b2``).
* ``M_it = med_intercept + med_a Market_{p,t-lag} + med_sd_province m_p + med_sigma nu``
  (``nu`` per province-year or per firm-year) is an optional mediator (SPEC 1a, Tables 6-7);
  the outcome then gains ``b_m (M_it - const)``.
* ``e_it``: iid, heteroskedastic in scale, AR(1) within firm, or iid plus a province-year
  shock (``error``).

Quality is *not* clipped to [0, 1] or trimmed: that would bias the known truth. Its level and
spread match Table 2 (median .714, sd .107) without it.

The panel is unbalanced: firm i is present in a contiguous spell of years around a random
centre (entry and exit), at least one year. ``n_obs`` picks exactly that many firm-years by
lowering or raising one common presence threshold, which keeps every spell contiguous.

Calibration (defaults; paper's size: 120,000 firms x 10 years, ``n_obs=594_596``, mean
4.95 years per firm; seeds 0-5). With a nearly flat province index the FE t-statistics of
b1, b2 are ~2.5, as SPEC 4 warns. The levers are the within-province variation of Market
and the idiosyncratic sd. Market: ``market_sd_within=0.25`` (nearly serially independent,
``market_rho=0.1``, as Table 1's re-ranking suggests) with a small persistent provincial
level (``market_sd_province=0.03``) and the Table 1 trend (``market_trend=0.06`` a year)
give the Table 2 median / sd (4.276 / 0.271; measured 4.276 / 0.275 averaged over seeds,
range within [3.165, 4.732]). ``sigma_e=0.05`` then makes the firm-clustered FE |t| of b1,
b2 7.2 / 7.5 on average (paper 7.45 / 7.37; measured over seeds 0-39; per-seed sd ~1.7,
because ~6 coastal provinces hold most firms, so one seed in ten has |t| < 5) and the
control t-statistics close to Table 4's (scale 84 vs 80, roa 29 vs 27.5, fic 28 vs 25, age 9
vs 10.7) given the within-firm shares ``<control>_within``.
``sigma_firm=0.085`` restores quality's sd (.106) and ``gamma_firm=0.15``,
``gamma_year=0.05`` give corr(quality, Market) 0.185 (Table 3: 0.192).

Architecture: :func:`simulate_grid` is a pure, jit-compiled JAX function with static shapes
(every firm-year array is ``(n_years, n_firms)``, year-major, with a ``present`` mask) that
can be ``jax.vmap``-ed over keys; :func:`simulate_firm_panel` is the pandas edge.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from tradeq.dgp.keys import NORMAL, UNIFORM, base_key, derive_key, draw_streams
from tradeq.models.grid_reduce import grid_total
from tradeq.models.precision import require_x64

# --------------------------------------------------------------------------------------
# Geography and grouping constants
# --------------------------------------------------------------------------------------

REGIONS: tuple[str, ...] = ("East", "Central", "West")

# (province, region index, weight within its region). Regions follow SPEC 1c, with Tibet
# added to the West (the firm paper covers 31 provinces). Region totals are set by the
# ``share_*`` parameters (Table 11 sample sizes); the within-region weights are an
# illustrative allocation, roughly proportional to provincial exporter counts, so that the
# observation-weighted statistics are dominated by a few coastal provinces as in the data.
PROVINCE_TABLE: tuple[tuple[str, int, float], ...] = (
    ("Beijing", 0, 0.025), ("Tianjin", 0, 0.030), ("Hebei", 0, 0.012),
    ("Liaoning", 0, 0.030), ("Shanghai", 0, 0.100), ("Jiangsu", 0, 0.180),
    ("Zhejiang", 0, 0.190), ("Fujian", 0, 0.070), ("Shandong", 0, 0.090),
    ("Guangdong", 0, 0.270), ("Hainan", 0, 0.003),
    ("Shanxi", 1, 0.060), ("Jilin", 1, 0.070), ("Heilongjiang", 1, 0.100),
    ("Anhui", 1, 0.170), ("Jiangxi", 1, 0.140), ("Henan", 1, 0.150),
    ("Hubei", 1, 0.170), ("Hunan", 1, 0.140),
    ("Inner Mongolia", 2, 0.070), ("Guangxi", 2, 0.120), ("Chongqing", 2, 0.180),
    ("Sichuan", 2, 0.220), ("Guizhou", 2, 0.050), ("Yunnan", 2, 0.080),
    ("Tibet", 2, 0.020), ("Shaanxi", 2, 0.100), ("Gansu", 2, 0.040),
    ("Qinghai", 2, 0.020), ("Ningxia", 2, 0.030), ("Xinjiang", 2, 0.070),
)
PROVINCES: tuple[str, ...] = tuple(p for p, _, _ in PROVINCE_TABLE)
PROVINCE_REGION: np.ndarray = np.array([r for _, r, _ in PROVINCE_TABLE], dtype=np.int32)
_WITHIN_REGION_WEIGHT: np.ndarray = np.array([w for _, _, w in PROVINCE_TABLE])
N_PROVINCES: int = len(PROVINCES)

CONTROLS: tuple[str, ...] = ("scale", "age", "roa", "rdebt", "fic")
# Order of the copula-drawn controls (age is derived from founding years instead).
_COPULA_CONTROLS: tuple[str, ...] = ("scale", "roa", "rdebt", "fic")

# Table 3 correlations among (age, scale, roa, rdebt, fic); the Market correlations are
# parameters (they carry the confounding of Market by the controls).
_TABLE3_CORR: dict[tuple[str, str], float] = {
    ("age", "scale"): 0.264, ("age", "roa"): -0.018, ("age", "rdebt"): -0.026,
    ("age", "fic"): 0.002, ("scale", "roa"): -0.064, ("scale", "rdebt"): -0.011,
    ("scale", "fic"): -0.047, ("roa", "rdebt"): -0.228, ("roa", "fic"): 0.003,
    ("rdebt", "fic"): 0.132,
}

ERRORS: tuple[str, ...] = ("iid", "heteroskedastic", "ar1", "province_year")
MEDIATOR_LEVELS: tuple[str, ...] = ("none", "province", "firm")
GROUPINGS: tuple[str, ...] = ("region_ownership", "region", "ownership", "intensity", "period")

# Split-sample estimates (b1, b2) of Tables 8-11, in each grouping's label order. Handy as
# heterogeneous truths; the paper has no region x ownership split.
PAPER_GROUP_COEFFICIENTS: dict[str, tuple[tuple[float, float], ...]] = {
    "ownership": ((-0.0028, -0.0004), (0.0573, -0.0071)),
    "intensity": ((0.0595, -0.0074), (0.0443, -0.0054)),
    "period": ((0.1085, -0.0145), (0.0065, -0.0006)),
    "region": ((0.0552, -0.0070), (0.1017, -0.0120), (0.1660, -0.0195)),
}


def group_labels(group_by: str | None, year0: int = 2004, n_years: int = 10,
                 period_split: int = 2008) -> tuple[str, ...]:
    """Labels of the groups of ``group_by``, in code order (code g -> ``labels[g]``)."""
    if group_by is None:
        return ()
    if group_by == "region_ownership":
        return tuple(f"{r}:{o}" for r in REGIONS for o in ("SOE", "non-SOE"))
    if group_by == "region":
        return REGIONS
    if group_by == "ownership":
        return ("SOE", "non-SOE")
    if group_by == "intensity":
        return ("labour", "capital")
    if group_by == "period":
        return (f"{year0}-{period_split - 1}", f"{period_split}-{year0 + n_years - 1}")
    raise ValueError(f"group_by must be one of {GROUPINGS} or None, got {group_by!r}")


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------

def _static(default: Any) -> Any:
    return field(default=default, metadata={"static": True})


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class FirmPanelParams:
    """Every knob of the firm-panel DGP; defaults are calibrated to the paper (SPEC 1a, 4).

    Numeric fields are pytree leaves (so they can be traced and ``jax.vmap``-ed); the
    string / integer switches marked *static* select the model's structure and are
    compile-time constants. Build from a config with :meth:`from_dict`; derive variants with
    :meth:`replace`.

    Sources of the defaults: Table 4 col 2 (b1, b2, control slopes); Table 2 (marginals of
    Market and the controls, quality level and spread); Table 3 (correlations); Tables
    8-11 sample sizes (region, SOE and factor-intensity shares); Table 1 (trend and
    within-province movement of Market); Table 6 and Table 2 (human-capital mediator).
    The remaining values (effects' correlation with Market, error sd, Market's within
    variation, spell lengths) are calibrated by simulation so that, at the paper's size,
    pooled corr(quality, Market) ~ 0.19 (Table 3) and firm + year FE |t| of b1, b2 ~ 7.4
    (Table 4); see the module docstring and the report of the calibration run.
    """

    # --- structure (static) ---
    error: str = _static("iid")  # one of ERRORS
    group_by: str | None = _static(None)  # one of GROUPINGS or None
    mediator: str = _static("none")  # "none", "province" (M_pt) or "firm" (M_it)
    mediator_name: str = _static("humancapital")
    mediator_lag: int = _static(1)  # Market lag in the mediator equation (SPEC 1a: 1)
    year0: int = _static(2004)
    period_split: int = _static(2008)  # first year of the second period ("period" groups)

    # --- outcome equation (Table 4 col 2) ---
    b1: float = 0.0534
    b2: float = -0.0066
    beta_scale: float = 0.0169
    beta_age: float = 0.0039
    beta_roa: float = 0.0211
    beta_rdebt: float = 0.0008
    beta_fic: float = 0.0202
    intercept: float = 0.4065  # puts the median of quality at Table 2's .714

    # --- firm and year effects, correlated with Market ---
    gamma_firm: float = 0.15
    sigma_firm: float = 0.085
    gamma_year: float = 0.05
    sigma_year: float = 0.01

    # --- errors ---
    sigma_e: float = 0.05  # idiosyncratic sd (all error structures)
    rho: float = 0.5  # "ar1": within-firm persistence
    sigma_py: float = 0.02  # "province_year": sd of the common province-year shock
    hetero_gamma: float = -0.3  # "heteroskedastic": sd = sigma_e exp(g z_scale - g^2)

    # --- province-year Market index (ln integ; Tables 1-2) ---
    market_center: float = 4.275
    market_trend: float = 0.06  # per year
    market_sd_common: float = 0.03
    market_sd_province: float = 0.03
    market_sd_within: float = 0.25
    market_rho: float = 0.1
    market_min: float = 3.165
    market_max: float = 4.732
    market_softness: float = 0.05

    # --- firms (Tables 8, 9, 11 sample shares) ---
    share_central: float = 38_753 / 594_596
    share_west: float = 16_821 / 594_596
    soe_share: float = 22_340 / 594_596
    labour_share: float = 262_095 / 594_596

    # --- presence spells (entry / exit) and age ---
    spell_shape: float = 1.5
    spell_scale: float = 3.6
    age_entry_log_mean: float = 1.78  # ln(age at first presence + 1) ~ N(mean, sd)
    age_entry_log_sd: float = 0.7
    age_max: float = 3.850

    # --- controls (Table 2 marginals, winsorised at min / max) ---
    scale_median: float = 10.746
    scale_sd: float = 1.487
    scale_min: float = 7.849
    scale_max: float = 14.869
    roa_median: float = 0.083
    roa_sd: float = 0.1685
    roa_min: float = -0.234
    roa_max: float = 0.909
    rdebt_median: float = 0.553
    rdebt_sd: float = 0.2797
    rdebt_min: float = 0.023
    rdebt_max: float = 1.370
    fic_median: float = 0.192
    fic_sd: float = 0.1954
    fic_min: float = 0.0
    fic_max: float = 0.729
    # share of each control's latent variance that varies within firm
    scale_within: float = 0.09
    roa_within: float = 0.5
    rdebt_within: float = 0.43
    fic_within: float = 0.46
    rho_x: float = 0.5  # persistence of the within-firm part of the controls
    corr_scale_market: float = 0.154
    corr_roa_market: float = 0.108
    corr_rdebt_market: float = -0.012
    corr_fic_market: float = 0.018

    # --- group heterogeneity (used when group_by is set) ---
    group_b1: tuple[float, ...] | None = None
    group_b2: tuple[float, ...] | None = None

    # --- mediation (used when mediator != "none"; Table 6, human capital) ---
    med_a: float = 0.0303
    med_b: float = 0.0338
    med_intercept: float = 2.135  # puts the median of M near Table 2's 2.234
    med_sd_province: float = 0.105  # persistent provincial level (Table 2 sd .097)
    med_sigma: float = 0.01  # province-year or firm-year noise

    def __post_init__(self) -> None:
        # Only the static fields are checked here: JAX rebuilds this class with tracers
        # (or placeholders) as the numeric fields, which must pass through untouched.
        if self.error not in ERRORS:
            raise ValueError(f"error must be one of {ERRORS}, got {self.error!r}")
        if self.mediator not in MEDIATOR_LEVELS:
            raise ValueError(f"mediator must be one of {MEDIATOR_LEVELS}, got {self.mediator!r}")
        if self.mediator_lag not in (0, 1):
            raise ValueError(f"mediator_lag must be 0 or 1, got {self.mediator_lag!r}")
        if self.group_by is not None and self.group_by not in GROUPINGS:
            raise ValueError(f"group_by must be one of {GROUPINGS} or None, got {self.group_by!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None = None, **overrides: Any) -> FirmPanelParams:
        """Build from a (config) mapping; unknown keys are an error, lists become tuples."""
        values = {**(dict(d) if d is not None else {}), **overrides}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            hints = {k: difflib.get_close_matches(k, names, n=1) for k in unknown}
            detail = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                               for k, h in hints.items())
            raise ValueError(f"unknown FirmPanelParams field(s): {detail}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        params = cls(**values)
        params.validate()
        return params

    def replace(self, **changes: Any) -> FirmPanelParams:
        """A validated copy with ``changes`` applied (unknown names are an error).

        Inside ``jit`` / ``vmap`` (traced values) use ``dataclasses.replace`` instead.
        """
        return type(self).from_dict(self.to_dict(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain field -> value mapping (for provenance records and configs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def n_groups(self) -> int:
        return len(group_labels(self.group_by))

    def validate(self) -> None:
        """Check the numeric fields (call on concrete values, not inside ``jit``)."""
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        for name in ("soe_share", "labour_share", "share_central", "share_west"):
            check(0.0 <= getattr(self, name) <= 1.0, f"{name} must lie in [0, 1]")
        check(self.share_central + self.share_west <= 1.0,
              "share_central + share_west must be at most 1 (East takes the rest)")
        for name in ("rho", "market_rho", "rho_x"):
            check(-1.0 < getattr(self, name) < 1.0, f"{name} must lie in (-1, 1)")
        for name in ("sigma_e", "sigma_py", "sigma_firm", "sigma_year", "market_sd_common",
                     "market_sd_province", "market_sd_within", "med_sigma", "med_sd_province",
                     "age_entry_log_sd", "scale_sd", "roa_sd", "rdebt_sd", "fic_sd"):
            check(getattr(self, name) >= 0.0, f"{name} must be non-negative")
        for name in ("scale_within", "roa_within", "rdebt_within", "fic_within"):
            check(0.0 <= getattr(self, name) <= 1.0, f"{name} must lie in [0, 1]")
        check(self.spell_shape > 0 and self.spell_scale > 0,
              "spell_shape and spell_scale must be positive")
        check(self.age_max <= math.log(AGE_TABLE_SIZE),
              f"age_max must be at most ln({AGE_TABLE_SIZE}) = {math.log(AGE_TABLE_SIZE):.3f} "
              f"(ages are tabulated up to {AGE_TABLE_SIZE - 1} years)")
        check(self.market_softness > 0, "market_softness must be positive")
        check(self.market_min < self.market_max, "market_min must be below market_max")
        check(self.roa_min < self.roa_median and self.fic_min < self.fic_median,
              "roa_min / fic_min must lie below their medians (shifted log-normal marginals)")
        if self.group_by is None:
            check(self.group_b1 is None and self.group_b2 is None,
                  "group_b1 / group_b2 given without group_by")
        else:
            g = self.n_groups
            check(self.group_b1 is not None and self.group_b2 is not None,
                  f"group_by={self.group_by!r} needs group_b1 and group_b2 "
                  f"(one value per group: {group_labels(self.group_by)})")
            check(len(self.group_b1) == g and len(self.group_b2) == g,
                  f"group_b1 / group_b2 need {g} values for {group_labels(self.group_by)}")


def paper_group_params(group_by: str) -> dict[str, Any]:
    """``group_by``, ``group_b1``, ``group_b2`` set to the paper's split-sample estimates."""
    if group_by not in PAPER_GROUP_COEFFICIENTS:
        raise ValueError(f"the paper has split-sample estimates for "
                         f"{tuple(PAPER_GROUP_COEFFICIENTS)}, not {group_by!r}")
    coef = PAPER_GROUP_COEFFICIENTS[group_by]
    return {"group_by": group_by, "group_b1": tuple(c[0] for c in coef),
            "group_b2": tuple(c[1] for c in coef)}


# --------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# Pure JAX building blocks
# --------------------------------------------------------------------------------------

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
    weight = jnp.asarray(_WITHIN_REGION_WEIGHT)
    region = jnp.asarray(PROVINCE_REGION)
    region_total = jax.ops.segment_sum(weight, region, num_segments=len(REGIONS))
    return region_share[region] * weight / region_total[region]


def stream_layout(n_firms: int, n_years: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """Named slots of standard draws used by :func:`simulate_grid` (see ``keys.draw_streams``).

    Every slot is drawn whatever the options, and new slots go at the end, so a given seed
    keeps its Market, firms, controls and effects when the error structure, groups or
    mediator change. Firm-year slots are year-major, (T, ..., F), the layout
    :func:`simulate_grid` computes in.
    """
    f, t, p, k = n_firms, n_years, N_PROVINCES, len(_COPULA_CONTROLS)
    return {
        "province": ((f,), UNIFORM), "soe": ((f,), UNIFORM), "intensity": ((f,), UNIFORM),
        "spell_centre": ((f,), UNIFORM), "spell_length": ((f,), UNIFORM),
        "age": ((f,), NORMAL), "firm_effect": ((f,), NORMAL), "year_effect": ((t,), NORMAL),
        "market_common": ((t + 1,), NORMAL), "market_province": ((p,), NORMAL),
        "market_within": ((p, t + 1), NORMAL),
        "controls_firm": ((k, f), NORMAL), "controls_within": ((t, k, f), NORMAL),
        "error": ((t, f), NORMAL), "province_year_shock": ((p, t), NORMAL),
        "mediator_province": ((p, t), NORMAL), "mediator_firm": ((t, f), NORMAL),
        "mediator_level": ((p,), NORMAL),
    }


def unused_streams(params: FirmPanelParams) -> tuple[str, ...]:
    """Slots of :func:`stream_layout` that ``params``' structure never reads (not drawn)."""
    unused = []
    if params.error != "province_year":
        unused.append("province_year_shock")
    if params.mediator == "none":
        unused += ["mediator_province", "mediator_firm", "mediator_level"]
    elif params.mediator == "province":
        unused.append("mediator_firm")
    else:
        unused.append("mediator_province")
    return tuple(unused)


def by_province(values: jax.Array, province: jax.Array) -> jax.Array:
    """(..., F): ``values[province]`` moved to the last axis, for province-level ``values``
    (P, ...) and firm codes (F,) — e.g. (P, T) -> (T, F), year-major.

    A binary tree of selects on the bits of the code (P - 1 selects per cell, exact).
    Measured on a CPU within the simulator: cheaper than the one-hot (T, P) @ (P, F)
    product (0.3-0.6 ms per 5,000 x 10 panel), and much cheaper than XLA's gather, which
    it fused into every consumer of Market (the replication took 50% longer).
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


#: Whole ages 0..AGE_TABLE_SIZE-1 have their ln(age + 1) tabulated (see :func:`firm_age`);
#: ``age_max`` may not exceed ln(AGE_TABLE_SIZE), so older firms are capped either way.
AGE_TABLE_SIZE = 1024
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
    names = ("Market", "age") + _COPULA_CONTROLS
    market_corr = {"scale": params.corr_scale_market, "roa": params.corr_roa_market,
                   "rdebt": params.corr_rdebt_market, "fic": params.corr_fic_market}

    def entry(a: str, b: str) -> Any:
        if a == b:
            return 1.0
        if {a, b} == {"Market", "age"}:
            return r_market_age
        if "Market" in (a, b):
            return market_corr[b if a == "Market" else a]
        return _TABLE3_CORR.get((a, b), _TABLE3_CORR.get((b, a)))

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
    precision at the exact bounds. Measured on one CPU core, the simulate-and-fit
    replication of a 5,000 x 10 panel: 0.4 ms faster than all in double precision, each
    control recomputed by its consumers.
    """
    w = present.astype(jnp.float64)
    z_m = _masked_standardise(market, w)
    z_a = _masked_standardise(age, w)
    corr = _control_correlation(params, grid_total(w * z_m * z_a) / grid_total(w))
    r, c_xo, c_xx = corr[0, 1], corr[2:, :2], corr[2:, 2:]
    inv_oo = jnp.array([[1.0, -r], [-r, 1.0]]) / (1.0 - r**2)
    loadings = c_xo @ inv_oo
    chol = _small_cholesky(c_xx - loadings @ c_xo.T)

    share = jnp.stack([getattr(params, f"{c}_within") for c in _COPULA_CONTROLS])[:, None]
    f32 = jnp.float32
    firm_w, within_w = jnp.sqrt(1.0 - share).astype(f32), jnp.sqrt(share).astype(f32)
    loadings, chol = loadings.astype(f32), chol.astype(f32)
    z_m, z_a = z_m.astype(f32), z_a.astype(f32)
    within = ar1(z_within.astype(f32), params.rho_x)  # the innovations as drawn
    eps = firm_w * z_firm.astype(f32) + within_w * within  # (T, 4, F)
    out = {}
    for j, name in enumerate(_COPULA_CONTROLS):
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


@partial(jax.jit, static_argnames=("n_firms", "n_years"))
def simulate_grid(key: jax.Array, params: FirmPanelParams, n_firms: int, n_years: int,
                  n_obs: int | jax.Array | None = None) -> dict[str, jax.Array]:
    """One synthetic panel as static-shape arrays (pure; jit-compiled).

    ``jax.vmap`` works over ``key`` and over numeric fields of ``params`` (with
    ``dataclasses.replace``); ``n_firms`` and ``n_years`` are static.

    Returns (F = n_firms, T = n_years, P = 31 provinces):

    * ``present`` (T, F) bool; ``Market``, ``scale``, ``age``, ``roa``, ``rdebt``, ``fic``,
      ``quality``, ``error`` (T, F) float64; ``group`` (T, F) int32 — firm-year arrays are
      year-major: a year's firms are contiguous, so sums over a firm's years (the firm
      means of the DGP and of the FE fit, :mod:`tradeq.models.grid_fe`) add T rows of F values;
    * ``province``, ``region`` (F,) int32; ``soe``, ``labour`` (F,) bool; ``founding`` (F,)
      founding year minus ``year0``; ``firm_effect`` (F,); ``year_effect`` (T,);
    * ``market_py``, ``market_py_lag`` (P, T): Market by province-year and its one-year lag;
    * with a mediator: ``mediator`` and ``Market_lag`` (T, F), the one-year lag of Market
      (the mediator's driver when ``mediator_lag == 1``; current Market when 0).

    Cells with ``present == False`` hold values too (the model evaluated there) but are not
    part of the panel. ``n_obs`` selects exactly that many present cells (``n_firms <=
    n_obs <= n_firms * n_years``; not checked here); it is traced, so changing it does not
    recompile, while ``None`` (the natural draw) is a separate compilation.
    """
    s = draw_streams(derive_key(key, "firm_panel"), stream_layout(n_firms, n_years),
                     skip=unused_streams(params))
    firms = firm_attributes(params, s["province"], s["soe"], s["intensity"])
    present = presence(params, s["spell_centre"], s["spell_length"], n_years, n_obs)
    market_full = market_index(params, s["market_common"], s["market_province"],
                               s["market_within"])
    market_py, market_py_lag = market_full[:, 1:], market_full[:, :-1]
    market = by_province(market_py, firms["province"])

    founding, age = firm_age(params, s["age"], present)
    x = controls(params, s["controls_firm"], s["controls_within"], market, age, present)
    firm_effect, year_effect = effects(params, s["firm_effect"], s["year_effect"], market,
                                       present)
    error = errors(params, s["error"], s.get("province_year_shock"), x["scale"], firms["province"])

    group = group_codes(params, firms, n_years)
    if params.group_by is None:
        b1, b2 = params.b1, params.b2
    else:
        b1, b2 = jnp.asarray(params.group_b1)[group], jnp.asarray(params.group_b2)[group]
    quality = (params.intercept + b1 * market + b2 * market**2
               + params.beta_scale * x["scale"] + params.beta_age * age
               + params.beta_roa * x["roa"] + params.beta_rdebt * x["rdebt"]
               + params.beta_fic * x["fic"]
               + firm_effect[None, :] + year_effect[:, None] + error)

    out = {"present": present, "Market": market, "age": age, **x, "error": error,
           "group": group, **firms, "founding": founding,
           "firm_effect": firm_effect, "year_effect": year_effect,
           "market_py": market_py, "market_py_lag": market_py_lag}
    if params.mediator != "none":
        lagged = by_province(market_py_lag, firms["province"])
        driver = lagged if params.mediator_lag == 1 else market
        m = mediator(params, s["mediator_level"], s.get("mediator_province"), s.get("mediator_firm"),
                     driver, firms["province"])
        # Centring moves only the intercept (absorbed by the effects); it keeps quality's
        # level unchanged when the mediator is switched on.
        centre = params.med_intercept + params.med_a * params.market_center
        quality = quality + params.med_b * (m - centre)
        out.update(mediator=m, Market_lag=lagged)
    out["quality"] = quality
    return out


# --------------------------------------------------------------------------------------
# pandas edge
# --------------------------------------------------------------------------------------

def _labels(names: tuple[str, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """String column ``names[codes]`` (taking from a small string array is ~5x faster)."""
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


def make_truth(params: FirmPanelParams, frame: pd.DataFrame, n_firms: int, n_years: int,
               seed: int) -> Truth:
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
    return frame, make_truth(params, frame, n_firms, n_years, seed)
