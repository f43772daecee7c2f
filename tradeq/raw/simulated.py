"""Simulated raw inputs whose estimation panel has a known inverted U and known information
spillovers (SPEC 1a, 1b, 2, 4): the built-in data of ``python estimate.py data=raw``.

The firm register (:mod:`tradeq.dgp.raw_firms`), the customs records
(:mod:`tradeq.dgp.raw_customs`) and the price indices (:mod:`tradeq.dgp.raw_prices`) are
simulated as those modules describe; then each matched exporter firm-year f, t gets a
latent quality on the scale of the normalised quality TQ (SPEC 2b, eq. 4)::

    Q_ft = b1 Market_pt + b2 Market_pt^2 + beta' X_ft                      (SPEC 1a)
         + b_scale ln peer_scale + b_diversity ln peer_diversity         (SPEC 1b)
         + b_density ln n_exporters + b_scale_density (ln peer_scale - s_c)(ln n_exporters - n_c)
         + b_diversity_density (ln peer_diversity - d_c)(ln n_exporters - n_c)
         + b_network_scale ln network_scale + b_network_diversity ln network_diversity
         + b_city ln city_peer_scale + b_own ln own_diversity
         + a_f + d_t + e_ft

(s_c, d_c, n_c the means over the exporter firm-years, ``spillover_centre``, so that b_scale
and b_diversity are average effects) with every regressor the one
:func:`tradeq.raw.build_panel` computes from these very inputs:
``Market`` from the simulated indices (SPEC 2a; so the index carries no measurement error
relative to the truth), the controls from the register, the peer measures from the matched,
cleaned and collapsed customs lines. ``group_by`` makes (b_scale, b_diversity) differ by
firm scale (``size``: small below ``size_cut`` in ln assets, large above), industry factor
intensity (``intensity``: labour, capital, technology) or destination income
(``destination``: lines to high-, then to low-income destinations). Each customs line l of
the firm-year gets Q_l = Q_ft + u_l (u a firm-product deviation) and log quality
lambda_l = 2 A Q_l, written into its quantity (price_on_quality = 1, so quality moves the
price and quantity in opposite directions and leaves values, hence the peer measures,
unchanged: no reflection from quality into peers).

**Known units.** The demand-residual quality is relative twice over: to the product x
destination x year cell (the FE of eq. 1) and to the product's min and max (eq. 3). Two
*calibration lines* per product fix the second: two exporters, each in the register for one
year only with one line, sell in the product's busiest cell at log quality lambda-bar_cell
± A, so their residual quality is exactly ± A and every other line's lies inside
(checked: ``max_deviation`` < 1/2). Then the measured line quality is

    r_l = 1/2 + (Q_l - mean of Q over the cell) + demand noise / (2 A (sigma - 1))

and TQ_ft = Σ_l s_l r_l: a unit of Q is a unit of measured quality, the cell mean is a year
effect plus noise when products are drawn independently of the register industry (as
here), and only the firm's own share of its cells (about cells / lines, reported as
``own_cell_share``) attenuates the coefficients. The calibration firms, observed once, are
dropped by the firm fixed effect as singletons. ``firm_year`` in the truth holds the latent
Q and the TQ the pipeline will measure (exact for the default σ rule and product digits).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from tradeq.dgp.raw_customs import CustomsParams, simulate_customs
from tradeq.dgp.raw_firms import INDUSTRIES, simulate_register
from tradeq.dgp.raw_prices import simulate_price_indices
from tradeq.models.measures.market_integration import market_integration
from tradeq.raw import calibration
from tradeq.raw.classifications import INTENSITY_LEVELS, high_income, intensity
from tradeq.raw.pipeline import firm_controls

CONTROLS = ("scale", "age", "roa", "rdebt", "fic")
#: Spillover coefficients and the panel column each multiplies (products: both columns).
SPILLOVER_TERMS = {
    "b_scale": ("ln_peer_scale",), "b_diversity": ("ln_peer_diversity",), "b_density": ("ln_exporters",),
    "b_scale_density": ("ln_peer_scale", "ln_exporters"),
    "b_diversity_density": ("ln_peer_diversity", "ln_exporters"),
    "b_network_scale": ("ln_network_scale",), "b_network_diversity": ("ln_network_diversity",),
    "b_city": ("ln_city_peer_scale",), "b_own": ("ln_own_diversity",),
}
GROUP_LEVELS = {"none": (), "size": ("small", "large"), "intensity": INTENSITY_LEVELS, "destination": ("high", "low")}


@dataclass(frozen=True)
class RawStudyParams:
    """The truth (module docstring); coefficients in units of the normalised quality. The
    inverted U is ten times the paper's Table 4 (same turning point, 4.05) so that the default
    200,000 records show it; ``experiment=table4`` sets the paper's own values."""

    b1: float = 0.534
    b2: float = -0.066
    beta_scale: float = 0.0169
    beta_age: float = 0.0039
    beta_roa: float = 0.0211
    beta_rdebt: float = 0.0008
    beta_fic: float = 0.0202
    b_scale: float = 0.04
    b_diversity: float = 0.05
    b_density: float = 0.0
    b_scale_density: float = 0.0
    b_diversity_density: float = 0.0
    b_network_scale: float = 0.0
    b_network_diversity: float = 0.0
    b_city: float = 0.0
    b_own: float = 0.0
    group_by: str = "none"
    group_b_scale: tuple[float, ...] | None = None
    group_b_diversity: tuple[float, ...] | None = None
    size_cut: float = 10.75
    firm_sd: float = 0.05
    year_sd: float = 0.02
    error_sd: float = 0.02
    line_sd: float = 0.02
    demand_sd: float = 0.02
    quality_scale: float = 2.0
    firms_per_record: float = 0.05
    exporter_share: float = 0.4
    records_per_product: int = 10_000
    linkage_density: float = 0.3

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first parameter that cannot work."""
        if self.group_by not in GROUP_LEVELS:
            raise ValueError(f"group_by={self.group_by!r}: must be one of {', '.join(GROUP_LEVELS)}")
        levels = GROUP_LEVELS[self.group_by]
        for name in ("group_b_scale", "group_b_diversity"):
            v = getattr(self, name)
            if v is not None and len(v) != len(levels):
                raise ValueError(f"{name}={list(v)}: group_by={self.group_by} has {len(levels)} groups "
                                 f"({', '.join(levels) or 'none'}); give one value each")
        for name in ("firm_sd", "year_sd", "error_sd", "line_sd", "demand_sd"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 0")
        for name, lo, hi in (("quality_scale", 0, None), ("firms_per_record", 0, 1), ("exporter_share", 0, 1),
                             ("linkage_density", 0, 1)):
            v = getattr(self, name)
            if not (v > lo and (hi is None or v <= hi)):
                raise ValueError(f"{name}={v}: must be in ({lo}, {hi if hi is not None else 'inf'}]")
        if int(self.records_per_product) < 100:
            raise ValueError(f"records_per_product={self.records_per_product}: must be >= 100")

    def group_coefficients(self) -> dict[str, tuple[float, float]]:
        """Group level -> (b_scale, b_diversity); one entry ``"all"`` without groups."""
        levels = GROUP_LEVELS[self.group_by]
        if not levels:
            return {"all": (self.b_scale, self.b_diversity)}
        s = self.group_b_scale or (self.b_scale,) * len(levels)
        d = self.group_b_diversity or (self.b_diversity,) * len(levels)
        return {g: (float(a), float(b)) for g, a, b in zip(levels, s, d)}


@dataclass(frozen=True)
class RawStudyTruth:
    """What the raw study was generated with. ``b1``, ``b2``, ``controls`` (by column) and
    ``turning_point`` as the firm-panel simulator's truth has them (the FE analyses read
    these); ``spillover`` the coefficients of :data:`SPILLOVER_TERMS`; ``groups`` is not set
    (the inverted-U heterogeneity tables read that name), ``spillover_groups`` maps a group
    level to (b_scale, b_diversity). ``firm_year``: per matched exporter firm-year
    ``firm_id``, ``year``, ``latent`` (Q) and ``quality`` (the TQ the pipeline measures)."""

    b1: float
    b2: float
    controls: dict
    turning_point: float
    spillover: dict
    spillover_centre: dict
    group_by: str
    spillover_groups: dict
    size_cut: float
    firm_year: pd.DataFrame = field(repr=False)
    n_calibration_firms: int = 0
    max_deviation: float = 0.0
    own_cell_share: float = 0.0
    params: RawStudyParams = field(default_factory=RawStudyParams)

    def spillover_terms(self, names: dict[str, str], centre: dict[str, float], group: tuple | None = None,
                        size_cut: float | None = None) -> dict[str, float]:
        """The truth of a regression on the pipeline's measures, by panel column.

        ``names``: role -> column for the roles ``scale``, ``diversity``, ``density``,
        ``scale_x_density``, ``diversity_x_density`` (centred products), ``network_scale``,
        ``network_diversity``, ``own``, ``city``, ``peer_sum``, ``diversity_per_peer``, ``n_peers``;
        ``centre``: the centring constants of ``scale``, ``diversity``, ``density``.
        Main effects are the average marginal effects at ``centre`` — the exact coefficients
        once the products are centred there: with the data's centres c,
        b (s - c_s)(n - c_n) = b (s - s0)(n - n0) + b (n0 - c_n) s + b (s0 - c_s) n + const.
        The alternative measures are exact reparametrisations: ln peer_sum = S + L,
        ln diversity per peer = D - L with L = ln(n - 1), so L's coefficient is b_D - b_S
        (defined when density plays no part: n is not a function of L alone in logs).
        ``group``: (split, level) of a split column; a pooled column's peer coefficients are
        undefined (NaN) when they differ by group, and so are a group's when the split is not
        the one the data were generated with (or cuts scale elsewhere than ``size_cut``)."""
        b = self.spillover
        coefs = self.spillover_groups
        if group is None:
            bs, bd = coefs["all"] if "all" in coefs else (np.nan, np.nan)
        elif "all" in coefs:
            bs, bd = coefs["all"]
        elif group[0] == self.group_by and (group[0] != "size" or size_cut == self.size_cut):
            bs, bd = coefs.get(group[1], (np.nan, np.nan))
        else:
            bs, bd = np.nan, np.nan
        c = self.spillover_centre
        s0, d0, n0 = (float(centre.get(k, c[k])) - c[k] for k in ("scale", "diversity", "density"))
        bs, bd = bs + b["b_scale_density"] * n0, bd + b["b_diversity_density"] * n0
        no_density = b["b_density"] == b["b_scale_density"] == b["b_diversity_density"] == 0
        values = {
            "scale": bs, "diversity": bd,
            "density": b["b_density"] + b["b_scale_density"] * s0 + b["b_diversity_density"] * d0,
            "scale_x_density": b["b_scale_density"], "diversity_x_density": b["b_diversity_density"],
            "network_scale": b["b_network_scale"], "network_diversity": b["b_network_diversity"],
            "own": b["b_own"], "city": b["b_city"], "peer_sum": bs, "diversity_per_peer": bd,
            "n_peers": bd - bs if no_density else np.nan,
        }
        out = {names[k]: float(v) for k, v in values.items() if k in names}
        return {"Market": self.b1, "I(Market ** 2)": self.b2, **self.controls, **out}

    def record(self) -> dict:
        """The truth as JSON (``truth.json``; the firm-years go to their own file)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("firm_year", "params")}
        out["params"] = dataclasses.asdict(self.params)
        return out


@dataclass(frozen=True)
class RawStudy:
    """The inputs of :func:`tradeq.raw.build_panel` (``linkage``: industry x industry frame) and the truth."""

    customs: pd.DataFrame
    register: pd.DataFrame
    prices: pd.DataFrame
    linkage: pd.DataFrame
    truth: RawStudyTruth


def simulate_raw_study(n_records: int = 200_000, *, seed: int = 0, params: RawStudyParams | None = None) -> RawStudy:
    """About ``n_records`` customs records, their register and price indices, and the truth."""
    p = params or RawStudyParams()
    p.validate()
    rng = np.random.default_rng([seed, 7])
    register, firms = simulate_register(max(2_000, int(n_records * p.firms_per_record)), seed=seed,
                                        exporter_share=p.exporter_share)
    # products drawn independently of the register industry: every cell mixes industries
    pools = firms.frame.assign(industry=rng.choice(np.asarray(INDUSTRIES), len(firms.frame)))
    customs_params = CustomsParams(n_products=max(10, int(n_records) // int(p.records_per_product)),
                                   price_on_quality=1.0, price_sd=0.05, eps_sd=p.demand_sd)
    records, ctruth = simulate_customs(pools, int(n_records), seed=seed, params=customs_params)
    prices, _ = simulate_price_indices(years=sorted(register["year"].unique()), seed=seed)
    lines = calibration.clean_lines(records, ctruth.lines, register)
    anchors = calibration.anchor_lines(lines, register, rng)
    register = pd.concat([register, anchors.register], ignore_index=True)
    linkage = _linkage(rng, register["industry"], p.linkage_density)
    fy = calibration.measures(pd.concat([lines, anchors.lines], ignore_index=True), register, linkage)
    fy, centre = _latent(rng, fy, register, prices, p)
    q_line = _line_quality(rng, lines, fy, centre, p)
    records = calibration.write_quality(records, lines, ctruth.lines, q_line, p.quality_scale)
    lines = calibration.clean_lines(records, ctruth.lines, register)
    anchor_records, deviation = calibration.place_anchors(anchors, lines, q_line, p.quality_scale)
    records = pd.concat([records.drop(columns="line"), anchor_records], ignore_index=True)
    if deviation.max_abs >= 0.5:
        raise ValueError(f"simulated qualities reach {deviation.max_abs:.3f} from their cell mean, beyond the "
                         "calibration lines at 1/2: lower firm_sd, error_sd, line_sd or the coefficients")
    truth = _truth(p, fy, centre, deviation, anchors)
    return RawStudy(records, register, prices, linkage, truth)


def _linkage(rng, industries: pd.Series, density: float) -> pd.DataFrame:
    """A random input-output linkage over the register's industries, every row linked."""
    codes = sorted(industries.astype(str).unique())
    J = len(codes)
    W = rng.random((J, J)) * (rng.random((J, J)) < density)
    np.fill_diagonal(W, 0.0)
    lonely = W.sum(axis=1) == 0
    W[lonely, (np.flatnonzero(lonely) + 1) % J] = 1.0
    return pd.DataFrame(W, index=codes, columns=codes)


def market_index(prices: pd.DataFrame) -> pd.DataFrame:
    """``year, province, Market`` from the price indices (SPEC 2a), as the pipeline computes it."""
    da = xr.DataArray.from_series(prices.assign(province=prices["province"].astype(str))
                                  .set_index(["year", "province", "category"])["index"])
    market = market_integration(da).market
    return market.to_series().rename("Market").reset_index()


def _latent(rng, fy: pd.DataFrame, register: pd.DataFrame, prices, p: RawStudyParams) -> tuple[pd.DataFrame, dict]:
    """Adds ``Market``, the controls, ``group`` and the latent quality without the peer terms
    (``base``) to the exporter firm-years; returns them and the interactions' centres."""
    reg = register.set_index(["firm_id", "year"])
    fy = fy.join(reg[["province", "founded", "total_assets", "liabilities", "profit", "inventory"]],
                 on=["firm_id", "year"])
    fy = fy.merge(market_index(prices), on=["year", "province"], how="left")
    fy = fy.join(firm_controls(fy))
    m = fy["Market"].to_numpy()
    parts = [p.b1 * m + p.b2 * m**2] + [getattr(p, f"beta_{c}") * fy[c].to_numpy() for c in CONTROLS]
    centre = {c: float(np.nanmean(fy[c].to_numpy())) for c in ("ln_peer_scale", "ln_peer_diversity", "ln_exporters")}
    for name, cols in SPILLOVER_TERMS.items():
        if name in ("b_scale", "b_diversity") or getattr(p, name) == 0:
            continue
        x = [fy[c].to_numpy() - centre[c] if len(cols) == 2 else fy[c].to_numpy() for c in cols]
        parts.append(getattr(p, name) * np.prod(x, axis=0))
    base = np.sum([np.nan_to_num(x) for x in parts], axis=0)  # a missing regressor contributes nothing
    firms, f_inv = np.unique(fy["firm_id"].to_numpy(), return_inverse=True)
    years, t_inv = np.unique(fy["year"].to_numpy(), return_inverse=True)
    a = _uniform(rng, p.firm_sd, firms.size)[f_inv]
    d = p.year_sd * rng.standard_normal(years.size)[t_inv]
    e = _uniform(rng, p.error_sd, len(fy))
    fy["base"] = base + a + d + e
    fy["group"] = _groups(fy, p)
    return fy, dict(zip(("scale", "diversity", "density"), centre.values()))


def _groups(fy: pd.DataFrame, p: RawStudyParams) -> np.ndarray:
    if p.group_by == "size":
        return np.where(fy["scale"].to_numpy() >= p.size_cut, "large", "small").astype(object)
    if p.group_by == "intensity":
        return intensity(fy["industry"])
    return np.full(len(fy), "all", dtype=object)


def _uniform(rng, sd: float, n: int) -> np.ndarray:
    """Bounded draws with standard deviation ``sd`` (uniform on ±sqrt(3) sd)."""
    return sd * np.sqrt(3.0) * rng.uniform(-1.0, 1.0, n)


def _line_quality(rng, lines: pd.DataFrame, fy: pd.DataFrame, centre: dict, p: RawStudyParams) -> pd.Series:
    """Q_l for every clean line of a matched firm-year: the firm-year's base, its group's
    peer terms (a destination group by the line's destination), a firm-product deviation."""
    key = fy.set_index(["firm_id", "year"])
    at = pd.MultiIndex.from_frame(lines[["firm_id", "year"]])
    base = key["base"].reindex(at).to_numpy()
    group = key["group"].reindex(at).to_numpy()
    if p.group_by == "destination":
        group = np.where(high_income(lines["destination"]), "high", "low").astype(object)
    coefs = p.group_coefficients()
    b_s = np.array([coefs.get(g, (0.0, 0.0))[0] for g in group])
    b_d = np.array([coefs.get(g, (0.0, 0.0))[1] for g in group])
    # centred: groups with different slopes stay level at the mean (cells mix the groups)
    s = np.nan_to_num(key["ln_peer_scale"].reindex(at).to_numpy() - centre["scale"])
    dv = np.nan_to_num(key["ln_peer_diversity"].reindex(at).to_numpy() - centre["diversity"])
    fp, fp_inv = np.unique(lines["firm_id"].to_numpy().astype(np.int64) * 1_000_003 + lines["product"].to_numpy(),
                           return_inverse=True)
    u = _uniform(rng, p.line_sd, fp.size)[fp_inv]
    return pd.Series(base + b_s * s + b_d * dv + u, index=lines["line"].to_numpy(), name="Q")


def _truth(p: RawStudyParams, fy: pd.DataFrame, centre: dict, deviation, anchors) -> RawStudyTruth:
    spill = {name: float(getattr(p, name)) for name in SPILLOVER_TERMS}
    measured = deviation.firm_year.rename("quality")
    frame = fy[["firm_id", "year"]].assign(latent=fy["base"].to_numpy())
    frame = frame.join(measured, on=["firm_id", "year"])
    return RawStudyTruth(
        b1=p.b1, b2=p.b2, controls={c: float(getattr(p, f"beta_{c}")) for c in CONTROLS},
        turning_point=-p.b1 / (2 * p.b2) if p.b2 else float("nan"), spillover=spill,
        spillover_centre=centre, group_by=p.group_by,
        spillover_groups=p.group_coefficients(), size_cut=float(p.size_cut), firm_year=frame,
        n_calibration_firms=len(anchors.register), max_deviation=float(deviation.max_abs),
        own_cell_share=float(deviation.own_cell_share), params=p,
    )
