"""The firm panel's parameters and their calibration to the paper (SPEC 1a, 4).

:class:`FirmPanelParams` holds every knob of the DGP (the model is stated in
:mod:`tradeq.dgp.firm_panel`); the constants below fix its geography (31 provinces in three
regions), the controls and the groupings.

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
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

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
WITHIN_REGION_WEIGHT: np.ndarray = np.array([w for _, _, w in PROVINCE_TABLE])
N_PROVINCES: int = len(PROVINCES)

CONTROLS: tuple[str, ...] = ("scale", "age", "roa", "rdebt", "fic")
# Order of the copula-drawn controls (age is derived from founding years instead).
COPULA_CONTROLS: tuple[str, ...] = ("scale", "roa", "rdebt", "fic")

# Table 3 correlations among (age, scale, roa, rdebt, fic); the Market correlations are
# parameters (they carry the confounding of Market by the controls).
TABLE3_CORR: dict[tuple[str, str], float] = {
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


#: Whole ages 0..AGE_TABLE_SIZE-1 have their ln(age + 1) tabulated
#: (:func:`tradeq.dgp.firm_panel.components.firm_age`); ``age_max`` may not exceed
#: ln(AGE_TABLE_SIZE), so older firms are capped either way.
AGE_TABLE_SIZE = 1024


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
