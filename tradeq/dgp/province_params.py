"""Parameters of the province-panel simulator (:mod:`tradeq.dgp.province_panel`): every knob,
its default, its source and its validation."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeq.provinces import CODES, PAPER_CODES, REGIONS

SECTORS: tuple[str, ...] = ("primary", "secondary", "tertiary")
CONTROLS: tuple[str, ...] = ("CX", "HUM", "FDI", "GOV", "INF")
MEDIATORS: tuple[str, ...] = ("FMA", "TE", "KS")
IC_SLOPES: tuple[str, ...] = ("common", "region", "break", "region_break")
ERRORS: tuple[str, ...] = ("iid", "heteroskedastic", "ar1")


@dataclass(frozen=True)
class ProvincePanelParams:
    """Every knob of the province-panel DGP (:mod:`tradeq.dgp.province_panel`); build with :meth:`from_dict`.

    Sources: Table 1 model 2 (``beta_*``), Table 3 of both papers (``region_IC``), Table 3
    of the second paper (``ic_before``, ``ic_after``), Table 4 of the first paper (``a_*``,
    ``b_*``). Units of the controls (the papers' definitions; magnitudes from the yearbooks,
    rounded): CX patents granted per 10,000 residents (~0.6 in 2001, growing ~17% a year);
    HUM ln human-capital stock ln(h L) with L employed persons in 10,000s (~8.5, sd 0.8
    across provinces); FDI actual FDI in % of GDP (~2.7% in 2001, falling ~4% a year); GOV
    fiscal expenditure / GDP (~0.15 in 2001, rising); INF long-distance optical cable, km
    per 10,000 residents (~4 in 2001, rising). All province levels load on one standardised 'development' factor (East higher
    by ``east_gap``), which makes the levels correlated (corr = product of loadings); the
    controls' within-province parts load on IC's own shock (``*_ic_within``).
    """

    # --- structure ---
    ic_slopes: str = "common"
    error: str = "iid"
    mediators: tuple[str, ...] = ()
    exclude_tibet: bool = True
    year0: int = 2001
    n_years: int = 21
    break_year: int = 2017

    # --- outcome: Table 1 model 2; regions (Table 3); the 2017 break (second paper, Table 3) ---
    beta_IC: float = 1.447
    beta_CX: float = 0.003
    beta_HUM: float = 0.046
    beta_FDI: float = 0.051
    beta_GOV: float = -0.805
    beta_INF: float = 0.008
    intercept: float = -1.72
    region_IC: tuple[float, float, float] = (1.747, 0.023, 0.183)
    ic_before: float = 1.476
    ic_after: float = 0.631
    # ic_slopes="region_break": region_IC before break_year, region_IC_after from it (None: region_IC
    # shifted by the common break ic_after - ic_before)
    region_IC_after: tuple[float, ...] | None = None

    # --- mediators: Table 4 (a: IC -> M, b: M -> TU) and noise sds ---
    a_FMA: float = -0.043
    b_FMA: float = -1.690
    a_TE: float = 0.454
    b_TE: float = 1.268
    a_KS: float = 0.727
    b_KS: float = 0.377
    sigma_FMA: float = 0.009
    sigma_TE: float = 0.08
    sigma_KS: float = 0.095
    te_sd: float = 0.2
    te_loading: float = 0.7
    te_trend: float = 0.08
    ks_log_level: float = 9.2  # ln of ~10,000 applications in the middle year
    ks_log_sd: float = 1.1
    ks_loading: float = 0.8
    ks_trend: float = 0.16

    # --- province and year effects of TU ---
    gamma_province: float = -1.2
    gamma_controls: float = -0.8
    sigma_province: float = 0.03
    tu_coastal: float = 0.45
    coastal_sd: float = 0.5
    gamma_year: float = 0.5
    sigma_year: float = 0.01
    year_hump_height: float = 0.10
    year_hump_peak: float = 2006.0
    year_hump_width: float = 6.0

    # --- errors ---
    sigma_e: float = 0.045
    rho: float = 0.5
    hetero_gamma: float = 0.4

    # --- development factor, GDP and sector shares ---
    east_gap: float = 1.5
    gdp_log_level: float = 8.0  # ln(100m yuan): ~3,000 in 2001
    gdp_log_sd: float = 0.8
    gdp_loading: float = 0.6
    gdp_growth: float = 0.117
    secondary_logit: float = 1.17  # ln(45 / 14)
    secondary_trend: float = 0.026
    tertiary_logit: float = 1.08  # ln(41 / 14)
    tertiary_trend: float = 0.046
    logit_sd: float = 0.42
    logit_corr: float = 0.6
    tertiary_loading: float = 0.6
    logit_sd_within: float = 0.04
    logit_rho: float = 0.8

    # --- controls: first-year level, sd across provinces, loading, trend, within sd, within load on IC ---
    cx_log_level: float = -0.5
    cx_log_sd: float = 0.8
    cx_loading: float = 0.8
    cx_trend: float = 0.17
    cx_sd_within: float = 0.1
    cx_ic_within: float = 0.3
    hum_level: float = 8.4
    hum_sd: float = 0.8
    hum_loading: float = 0.3
    hum_trend: float = 0.015
    hum_sd_within: float = 0.08
    hum_ic_within: float = 0.2
    fdi_log_level: float = 1.0
    fdi_log_sd: float = 0.8
    fdi_loading: float = 0.7
    fdi_trend: float = -0.04
    fdi_sd_within: float = 0.1
    fdi_ic_within: float = 0.2
    gov_log_level: float = -1.9
    gov_log_sd: float = 0.35
    gov_loading: float = -0.6
    gov_trend: float = 0.03
    gov_sd_within: float = 0.05
    gov_ic_within: float = 0.3
    inf_log_level: float = 1.4
    inf_log_sd: float = 0.55
    inf_loading: float = -0.5
    inf_trend: float = 0.06
    inf_sd_within: float = 0.05
    inf_ic_within: float = 0.1

    def __post_init__(self) -> None:
        if self.ic_slopes not in IC_SLOPES:
            raise ValueError(f"ic_slopes must be one of {IC_SLOPES}, got {self.ic_slopes!r}")
        if self.error not in ERRORS:
            raise ValueError(f"error must be one of {ERRORS}, got {self.error!r}")
        unknown = [m for m in self.mediators if m not in MEDIATORS]
        if unknown or len(set(self.mediators)) != len(self.mediators):
            raise ValueError(f"mediators must be distinct names from {MEDIATORS}, got {self.mediators!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None = None, **overrides: Any) -> ProvincePanelParams:
        """Build from a (config) mapping; unknown keys are an error, lists become tuples."""
        values = {**(dict(d) if d is not None else {}), **overrides}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            hints = {k: difflib.get_close_matches(k, names, n=1) for k in unknown}
            raise ValueError("unknown ProvincePanelParams field(s): " + ", ".join(
                f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items()))
        params = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        params.validate()
        return params

    def replace(self, **changes: Any) -> ProvincePanelParams:
        return type(self).from_dict(self.to_dict(), **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def validate(self) -> None:
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        check(self.n_years >= 3, "n_years must be at least 3")
        check(len(self.region_IC) == len(REGIONS), f"region_IC needs one slope per region {REGIONS}")
        check(self.region_IC_after is None or len(self.region_IC_after) == len(REGIONS),
              f"region_IC_after needs one slope per region {REGIONS}")
        if self.ic_slopes in ("break", "region_break"):
            check(self.year0 < self.break_year < self.year0 + self.n_years,
                  f"break_year must fall inside {self.year0}-{self.year0 + self.n_years - 1}")
        for name in ("rho", "logit_rho"):
            check(-1.0 < getattr(self, name) < 1.0, f"{name} must lie in (-1, 1)")
        for f in dataclasses.fields(self):
            if f.name.startswith("sigma_") or f.name.endswith(("_sd", "_sd_within", "_log_sd")):
                check(getattr(self, f.name) >= 0.0, f"{f.name} must be non-negative")
            if f.name.endswith(("_loading", "_ic_within")) or f.name == "logit_corr":
                check(-1.0 <= getattr(self, f.name) <= 1.0, f"{f.name} must lie in [-1, 1]")
        check(self.year_hump_width > 0, "year_hump_width must be positive")

    @property
    def codes(self) -> tuple[int, ...]:
        return PAPER_CODES if self.exclude_tibet else CODES

    @property
    def years(self) -> np.ndarray:
        return self.year0 + np.arange(self.n_years)

    def region_slopes_after(self) -> tuple[float, ...]:
        """Each region's slope from ``break_year`` under ``ic_slopes="region_break"``."""
        if self.region_IC_after is not None:
            return tuple(float(v) for v in self.region_IC_after)
        return tuple(float(v) + float(self.ic_after) - float(self.ic_before) for v in self.region_IC)

    def period_labels(self) -> tuple[str, str]:
        last = self.year0 + self.n_years - 1
        return f"{self.year0}-{self.break_year - 1}", f"{self.break_year}-{last}"
