"""Tests of the synthetic firm panel (SPEC 1a, 4): structure, calibration, known truth.

Calibration targets are the paper's Table 2 (descriptive statistics) and Table 3
(correlations); the truth is recovered with the reference FE implementation (pyfixest).
Every statistical test is seeded; tolerances are justified next to them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from tradeq.dgp import FirmPanelParams, paper_group_params, simulate_firm_panel, simulate_grid
from tradeq.dgp.firm_panel import (
    CONTROLS,
    PROVINCES,
    REGIONS,
    STREAMS,
    group_labels,
    make_truth,
    stream_layout,
    unused_streams,
)
from tradeq.dgp.keys import base_key, derive_key, draw_streams

pf = pytest.importorskip("pyfixest")

FORMULA = "quality ~ Market + I(Market**2) + scale + age + roa + rdebt + fic"
MODERATE = dict(n_firms=20_000, n_years=10)  # ~100,000 firm-years, 1/6 of the paper

# SPEC 1c regions, with Tibet in the West (the firm paper covers 31 provinces).
EAST = {"Beijing", "Tianjin", "Hebei", "Liaoning", "Shanghai", "Jiangsu", "Zhejiang",
        "Fujian", "Shandong", "Guangdong", "Hainan"}
CENTRAL = {"Shanxi", "Jilin", "Heilongjiang", "Anhui", "Jiangxi", "Henan", "Hubei", "Hunan"}
WEST = {"Inner Mongolia", "Guangxi", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Shaanxi",
        "Gansu", "Qinghai", "Ningxia", "Xinjiang", "Tibet"}

# Table 2: (min, max, median, sd)
TABLE2 = {
    "quality": (0.401, 0.943, 0.714, 0.107),
    "Market": (3.165, 4.732, 4.276, 0.271),
    "scale": (7.849, 14.869, 10.746, 1.449),
    "age": (0.0, 3.850, 2.122, 0.648),
    "roa": (-0.234, 0.909, 0.083, 0.166),
    "rdebt": (0.023, 1.370, 0.553, 0.272),
    "fic": (0.0, 0.729, 0.192, 0.163),
}
# Table 3 correlations
TABLE3 = {
    ("quality", "Market"): 0.192, ("quality", "scale"): 0.217, ("Market", "scale"): 0.154,
    ("Market", "age"): 0.126, ("Market", "roa"): 0.108, ("scale", "age"): 0.264,
    ("scale", "roa"): -0.064, ("roa", "rdebt"): -0.228, ("rdebt", "fic"): 0.132,
    ("scale", "fic"): -0.047, ("age", "fic"): 0.002,
}


def fe_fit(df: pd.DataFrame, formula: str = FORMULA, fe: str = " | firm + year",
           vcov: dict | str | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singleton-FE notices
        return pf.feols(formula + fe, df, vcov=vcov or {"CRV1": "firm"})


@pytest.fixture(scope="module")
def tiny():
    return simulate_firm_panel(FirmPanelParams(), n_firms=300, n_years=6, seed=11)


@pytest.fixture(scope="module")
def moderate():
    return simulate_firm_panel(FirmPanelParams(), seed=2024, **MODERATE)


@pytest.fixture(scope="module")
def moderate_grid():
    return simulate_grid(base_key(7), FirmPanelParams(), MODERATE["n_firms"],
                         MODERATE["n_years"])


# ----------------------------------------------------------------------------- structure

def test_same_seed_same_panel_different_seed_different(tiny):
    df, truth = tiny
    again, _ = simulate_firm_panel(FirmPanelParams(), n_firms=300, n_years=6, seed=11)
    pd.testing.assert_frame_equal(df, again)
    other, _ = simulate_firm_panel(FirmPanelParams(), n_firms=300, n_years=6, seed=12)
    assert len(other) != len(df) or not np.allclose(other["quality"], df["quality"])
    assert truth.seed == 11


def test_schema_sorted_unique(tiny):
    df, truth = tiny
    assert list(df.columns) == ["firm", "year", "province", "region", "soe", "ownership",
                                "intensity", "quality", "Market", *CONTROLS]
    assert not df.duplicated(["firm", "year"]).any()
    assert df.equals(df.sort_values(["firm", "year"]).reset_index(drop=True))
    assert df["year"].between(2004, 2009).all()
    assert set(df["soe"].unique()) <= {0, 1}
    assert ((df["soe"] == 1) == (df["ownership"] == "SOE")).all()
    assert set(df["intensity"]) <= {"labour", "capital"}
    assert df.select_dtypes("number").notna().all().all()
    assert truth.n_obs == len(df) and truth.n_firms == df["firm"].nunique()
    # firm attributes are constant within firm
    assert (df.groupby("firm")[["province", "soe", "intensity"]].nunique() == 1).all().all()


@pytest.mark.parametrize("n_obs", [300, 1234, 1800])
def test_n_obs_is_exact_and_spells_contiguous(n_obs):
    df, truth = simulate_firm_panel(FirmPanelParams(), n_firms=300, n_years=6, seed=3,
                                    n_obs=n_obs)
    assert len(df) == n_obs == truth.n_obs
    assert df["firm"].nunique() == 300  # every firm keeps at least one year
    span = df.groupby("firm")["year"].agg(lambda y: y.max() - y.min() + 1)
    assert (span == df.groupby("firm").size()).all()


def test_n_obs_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="n_obs"):
        simulate_firm_panel(n_firms=300, n_years=6, n_obs=299)
    with pytest.raises(ValueError, match="n_obs"):
        simulate_firm_panel(n_firms=300, n_years=6, n_obs=1801)


def test_unbalanced_with_entry_and_exit(moderate):
    df, _ = moderate
    years = df.groupby("firm").size()
    assert years.min() == 1 and years.max() == 10
    assert (years < 10).mean() > 0.8
    # Paper: 594,596 firm-years of ~120,000 firms -> ~5 years per firm.
    assert 4.5 < years.mean() < 5.5
    span = df.groupby("firm")["year"].agg(lambda y: y.max() - y.min() + 1)
    assert (span == years).all()
    first, last = df.groupby("firm")["year"].min(), df.groupby("firm")["year"].max()
    assert (first > 2004).mean() > 0.5 and (last < 2013).mean() > 0.5


def test_geography_ownership_intensity_shares(moderate):
    df, _ = moderate
    assert len(PROVINCES) == 31 and df["province"].nunique() == 31
    region_of = df.groupby("province")["region"].first()
    assert set(region_of[region_of == "East"].index) == EAST
    assert set(region_of[region_of == "Central"].index) == CENTRAL
    assert set(region_of[region_of == "West"].index) == WEST
    # Firm-level draws over ~20,000 firms: binomial sd of a 4% share is 0.0014; the
    # observation-weighted share adds spell-length noise, so 0.006 is > 4 sd.
    assert df["soe"].mean() == pytest.approx(22_340 / 594_596, abs=0.006)
    assert (df["intensity"] == "labour").mean() == pytest.approx(262_095 / 594_596, abs=0.02)
    share = df["region"].value_counts(normalize=True)
    assert share["East"] == pytest.approx(539_022 / 594_596, abs=0.01)
    assert share["Central"] == pytest.approx(38_753 / 594_596, abs=0.01)
    assert share["West"] == pytest.approx(16_821 / 594_596, abs=0.01)


def test_province_index_is_province_year_level(moderate_grid):
    g = {k: np.asarray(v) for k, v in moderate_grid.items()}
    np.testing.assert_array_equal(g["Market"], g["market_py"][g["province"]].T)
    np.testing.assert_array_equal(g["market_py_lag"][:, 1:], g["market_py"][:, :-1])
    assert g["market_py"].shape == (31, 10)


# ----------------------------------------------------------------------------- calibration

def test_market_distribution_near_table2():
    """Market's median / sd / range (Table 2), averaged over seeds.

    A few coastal provinces hold most firms, so one panel's Market distribution rests on
    ~6 provinces' draws: across seeds the median has sd ~0.05 and the sd ~0.02. The mean
    over 8 seeds has standard errors ~0.017 / ~0.008; the tolerances are ~3 of those.
    """
    params = FirmPanelParams()
    medians, sds = [], []
    for seed in range(8):
        g = simulate_grid(base_key(seed), params, 20_000, 10)
        m = np.asarray(g["Market"])[np.asarray(g["present"])]
        medians.append(np.median(m))
        sds.append(m.std())
        assert 3.165 <= m.min() and m.max() <= 4.732
    assert np.mean(medians) == pytest.approx(4.276, abs=0.05)
    assert np.mean(sds) == pytest.approx(0.271, abs=0.03)


def test_market_has_within_province_variation(moderate_grid):
    """SPEC 4: the province index must move within province, not just trend in common."""
    m = np.asarray(moderate_grid["market_py"])
    resid = m - m.mean(axis=1, keepdims=True) - m.mean(axis=0, keepdims=True) + m.mean()
    assert resid.std() > 0.15  # a flat-province DGP has ~0


def test_controls_and_quality_near_table2(moderate):
    """Medians within 0.06 sd and sds within 6% of Table 2; values inside Table 2's range.

    Across seeds at this size the medians vary by < 0.01 sd and the sds by < 1.5%
    (age's median moves in steps of ln(k + 1) - ln(k) ~ 0.1 sd, hence its own tolerance).
    """
    df, _ = moderate
    for name in CONTROLS:
        lo, hi, med, sd = TABLE2[name]
        x = df[name]
        tol_med = 0.2 if name == "age" else 0.06
        assert x.median() == pytest.approx(med, abs=tol_med * sd), name
        assert x.std() == pytest.approx(sd, rel=0.06), name
        assert lo - 1e-12 <= x.min() and x.max() <= hi + 1e-12, name
    q = df["quality"]
    assert q.median() == pytest.approx(0.714, abs=0.015)
    assert q.std() == pytest.approx(0.107, rel=0.06)


def test_correlations_near_table3(moderate):
    """Within 0.05 of Table 3 (seed-to-seed sd <= 0.01; 0.04 for pairs with Market)."""
    df, _ = moderate
    corr = df[["quality", "Market", *CONTROLS]].corr()
    for (a, b), target in TABLE3.items():
        tol = 0.1 if "Market" in (a, b) else 0.05
        assert corr.loc[a, b] == pytest.approx(target, abs=tol), (a, b)


def test_outcome_equation_identity():
    """quality = intercept + b1 M + b2 M^2 + d'X + alpha_i + delta_t + e, cell by cell."""
    p = FirmPanelParams()
    g = {k: np.asarray(v) for k, v in simulate_grid(base_key(1), p, 300, 6).items()}
    fitted = (p.intercept + p.b1 * g["Market"] + p.b2 * g["Market"] ** 2
              + sum(getattr(p, f"beta_{c}") * g[c] for c in CONTROLS)
              + g["firm_effect"][None, :] + g["year_effect"][:, None] + g["error"])
    np.testing.assert_allclose(g["quality"], fitted, rtol=0, atol=1e-12)


def test_mediator_equation_identity():
    """Noise-free mediator: M = med_intercept + a Market (lag 0), quality gains b (M - c)."""
    p = FirmPanelParams(mediator="firm", mediator_lag=0, med_sd_province=0.0, med_sigma=0.0)
    g = {k: np.asarray(v) for k, v in simulate_grid(base_key(1), p, 300, 6).items()}
    np.testing.assert_allclose(g["mediator"], p.med_intercept + p.med_a * g["Market"],
                               atol=1e-12)
    base = {k: np.asarray(v) for k, v in
            simulate_grid(base_key(1), FirmPanelParams(), 300, 6).items()}
    np.testing.assert_allclose(g["quality"] - base["quality"],
                               p.med_b * p.med_a * (g["Market"] - p.market_center), atol=1e-12)
    np.testing.assert_allclose(g["Market_lag"][1:], g["Market"][:-1], atol=1e-12)


# ----------------------------------------------------------------------------- known truth

def test_fe_recovers_truth_and_pooled_ols_is_biased(moderate):
    df, truth = moderate
    fit = fe_fit(df)
    b, se = fit.coef(), fit.se()
    # 3 SE: a two-sided miss has probability 0.003 per coefficient under a correct DGP.
    assert abs(b["Market"] - truth.b1) < 3 * se["Market"]
    assert abs(b["I(Market ** 2)"] - truth.b2) < 3 * se["I(Market ** 2)"]
    for name, slope in truth.controls.items():
        assert abs(b[name] - slope) < 3 * se[name], name
    assert b["Market"] > 0 and b["I(Market ** 2)"] < 0

    # Pooled OLS absorbs firm / year effects correlated with Market. b1 and b2 are nearly
    # collinear, so the bias shows most clearly in the slope at the median of Market.
    pooled = fe_fit(df, fe="")
    coef, vcov = pooled.coef(), pooled._vcov
    names = list(coef.index)
    m = df["Market"].median()
    grad = np.zeros(len(names))
    grad[names.index("Market")], grad[names.index("I(Market ** 2)")] = 1.0, 2.0 * m
    slope_hat = grad @ coef.to_numpy()
    slope_se = np.sqrt(grad @ vcov @ grad)
    slope_true = truth.b1 + 2 * truth.b2 * m
    assert abs(slope_hat - slope_true) > 5 * slope_se
    # ... while FE gets that slope right.
    fe_names = list(b.index)
    fe_grad = np.zeros(len(fe_names))
    fe_grad[fe_names.index("Market")], fe_grad[fe_names.index("I(Market ** 2)")] = 1.0, 2.0 * m
    fe_se = np.sqrt(fe_grad @ fit._vcov @ fe_grad)
    assert abs(fe_grad @ b.to_numpy() - slope_true) < 3 * fe_se


def test_truth_record(tiny):
    df, truth = tiny
    assert truth.b1 == 0.0534 and truth.b2 == -0.0066
    assert truth.turning_point == pytest.approx(0.0534 / (2 * 0.0066))
    assert truth.controls == {"scale": 0.0169, "age": 0.0039, "roa": 0.0211,
                              "rdebt": 0.0008, "fic": 0.0202}
    assert truth.error == "iid" and truth.groups is None and truth.mediation is None
    assert truth.params == FirmPanelParams()
    assert make_truth(truth.params, df, 6, 11) == truth


# ----------------------------------------------------------------------------- errors

def _error_cells(error: str, **kw):
    params = FirmPanelParams(error=error, **kw)
    g = simulate_grid(base_key(5), params, MODERATE["n_firms"], MODERATE["n_years"])
    return params, {k: np.asarray(v) for k, v in g.items()}


def _lag1_corr(e: np.ndarray, present: np.ndarray) -> float:
    """Correlation of a cell with the same firm's previous year ((T, F) arrays)."""
    both = present[1:] & present[:-1]
    return float(np.corrcoef(e[1:][both], e[:-1][both])[0, 1])


def _province_year_variance(g: dict, sigma_e: float) -> float:
    """Variance of province-year means of the error beyond what iid noise gives."""
    present = g["present"]
    cell = (g["province"][None, :] * 100 + np.arange(present.shape[0])[:, None])[present]
    e = g["error"][present]
    s = pd.DataFrame({"cell": cell, "e": e}).groupby("cell")["e"].agg(["mean", "size"])
    s = s[s["size"] >= 20]
    return float(((s["mean"] ** 2) - sigma_e**2 / s["size"]).mean())


@pytest.mark.parametrize("error", ["iid", "heteroskedastic", "ar1", "province_year"])
def test_error_structures(error):
    params, g = _error_cells(error, rho=0.6, sigma_py=0.03)
    e, present = g["error"], g["present"]
    lag1 = _lag1_corr(e, present)
    py_var = _province_year_variance(g, params.sigma_e)
    # ~80,000 lag pairs: the sd of a correlation estimate is ~0.004.
    if error == "ar1":
        assert lag1 == pytest.approx(0.6, abs=0.03)
    else:
        assert abs(lag1) < 0.03
    # ~250 province-year cells with >= 20 firms: the excess variance has sd ~0.1 * 0.03^2.
    if error == "province_year":
        assert py_var == pytest.approx(0.03**2, rel=0.35)
    else:
        assert abs(py_var) < 0.25 * 0.03**2
    if error == "heteroskedastic":
        scale = g["scale"][present]
        small = e[present][scale < np.quantile(scale, 1 / 3)]
        large = e[present][scale > np.quantile(scale, 2 / 3)]
        assert small.var() > 1.5 * large.var()  # hetero_gamma < 0: small firms noisier
        assert e[present].std() == pytest.approx(params.sigma_e, rel=0.1)
    else:
        scale = g["scale"][present]
        small = e[present][scale < np.quantile(scale, 1 / 3)]
        large = e[present][scale > np.quantile(scale, 2 / 3)]
        assert small.var() / large.var() == pytest.approx(1.0, abs=0.15)


def test_switching_the_error_keeps_the_rest_of_the_draw():
    a = simulate_grid(base_key(9), FirmPanelParams(), 300, 6)
    b = simulate_grid(base_key(9), FirmPanelParams(error="ar1"), 300, 6)
    for name in ("present", "Market", "scale", "roa", "firm_effect"):
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]))
    assert not np.allclose(a["error"], b["error"])


# ----------------------------------------------------------------------------- hooks

def test_group_heterogeneity_is_recovered():
    b1 = (0.11, 0.01)  # labour, capital
    b2 = (-0.0135, -0.0012)
    params = FirmPanelParams(group_by="intensity", group_b1=b1, group_b2=b2)
    df, truth = simulate_firm_panel(params, seed=31, **MODERATE)
    assert set(truth.groups) == {"labour", "capital"}
    assert truth.groups["labour"]["turning_point"] == pytest.approx(0.11 / 0.027)
    assert sum(v["n_obs"] for v in truth.groups.values()) == len(df)
    assert (df["group"] == df["intensity"]).all()
    lab = (df["intensity"] == "labour").to_numpy()
    df = df.assign(M_lab=df["Market"] * lab, M2_lab=df["Market"] ** 2 * lab,
                   M_cap=df["Market"] * ~lab, M2_cap=df["Market"] ** 2 * ~lab)
    fit = fe_fit(df, "quality ~ M_lab + M2_lab + M_cap + M2_cap + scale + age + roa + rdebt + fic")
    b, se = fit.coef(), fit.se()
    for col, true in [("M_lab", b1[0]), ("M2_lab", b2[0]), ("M_cap", b1[1]), ("M2_cap", b2[1])]:
        assert abs(b[col] - true) < 3 * se[col], col
    # the groups really differ: the labour curvature is far from the capital truth
    assert abs(b["M2_lab"] - b2[1]) > 3 * se["M2_lab"]


def test_group_codes_and_labels():
    assert group_labels("region_ownership") == ("East:SOE", "East:non-SOE", "Central:SOE",
                                                "Central:non-SOE", "West:SOE", "West:non-SOE")
    params = FirmPanelParams(group_by="region_ownership", group_b1=tuple(np.arange(6) / 100),
                             group_b2=tuple(-np.arange(6) / 1000))
    df, truth = simulate_firm_panel(params, n_firms=3000, n_years=6, seed=4)
    expected = df["region"] + ":" + df["ownership"]
    assert (df["group"] == expected).all()
    period = FirmPanelParams(**paper_group_params("period"))
    df, truth = simulate_firm_panel(period, n_firms=300, n_years=10, seed=4)
    assert list(truth.groups) == ["2004-2007", "2008-2013"]
    assert ((df["year"] >= 2008) == (df["group"] == "2008-2013")).all()
    assert truth.groups["2004-2007"]["b1"] == 0.1085


@pytest.mark.parametrize("level", ["firm", "province"])
def test_mediation_paths_are_recovered(level):
    # A firm-level mediator (unlike provincial human capital) varies a lot within firm.
    params = FirmPanelParams(mediator=level, med_sigma=0.1 if level == "firm" else 0.01)
    df, truth = simulate_firm_panel(params, seed=77, **MODERATE)
    assert truth.mediation["a"] == 0.0303 and truth.mediation["b"] == 0.0338
    assert truth.mediation["indirect"] == pytest.approx(0.0303 * 0.0338)
    # The mediator equation uses Market lagged one year (SPEC 1a).
    g = simulate_grid(base_key(77), params, MODERATE["n_firms"], MODERATE["n_years"])
    present = np.asarray(g["present"])  # (T, F); the frame's rows run firm by firm
    np.testing.assert_array_equal(df["Market_lag"], np.asarray(g["market_py_lag"])[
        np.asarray(g["province"])][present.T])
    # Human-capital-like spread (Table 2: median 2.234, sd .097) for the provincial mediator.
    if level == "province":
        assert df["humancapital"].median() == pytest.approx(2.234, abs=0.1)
        assert 0.04 < df["humancapital"].std() < 0.2
    cluster = {"CRV1": "firm"} if level == "firm" else {"CRV1": "province"}
    a_fit = fe_fit(df, "humancapital ~ Market_lag + scale + age + roa + rdebt + fic",
                   vcov=cluster)
    assert abs(a_fit.coef()["Market_lag"] - 0.0303) < 3 * a_fit.se()["Market_lag"]
    b_fit = fe_fit(df, FORMULA + " + humancapital", vcov=cluster)
    assert abs(b_fit.coef()["humancapital"] - 0.0338) < 3 * b_fit.se()["humancapital"]
    # the path really matters: dropping the mediator from the truth is rejected (firm level)
    if level == "firm":
        assert abs(b_fit.coef()["humancapital"]) > 3 * b_fit.se()["humancapital"]


# ----------------------------------------------------------------------------- JAX core

def test_vmap_over_keys_matches_separate_calls():
    params = FirmPanelParams(error="ar1")
    keys = jax.random.split(base_key(0), 3)
    batched = jax.vmap(lambda k: simulate_grid(k, params, 300, 6, 1000))(keys)
    for i in range(3):
        single = simulate_grid(keys[i], params, 300, 6, 1000)
        assert set(single) == set(batched)
        for name, value in single.items():
            # vectorised and scalar code round the single-precision probit differently
            # (keys.probit): the panels agree to float32 precision, the presence exactly
            np.testing.assert_allclose(np.asarray(batched[name][i]), np.asarray(value),
                                       rtol=1e-6, atol=1e-7, err_msg=name)
        np.testing.assert_array_equal(batched["present"][i], single["present"])
    assert int(batched["present"][0].sum()) == 1000


def test_vmap_over_a_numeric_parameter():
    params = FirmPanelParams()
    b1s = jnp.array([0.0, 0.0534, 0.1])
    # dataclasses.replace, not params.replace: the latter validates concrete values
    grids = jax.vmap(lambda b1: simulate_grid(base_key(1), dataclasses.replace(params, b1=b1),
                                              300, 6))(b1s)
    diff = np.asarray(grids["quality"][2] - grids["quality"][0])
    np.testing.assert_allclose(diff, 0.1 * np.asarray(grids["Market"][0]), atol=1e-12)


def test_shapes_of_the_grid():
    f, t = MODERATE["n_firms"], MODERATE["n_years"]
    g = simulate_grid(base_key(0), FirmPanelParams(mediator="firm"), f, t)
    for name in ("present", "Market", "quality", "error", "group", "mediator", "Market_lag",
                 *CONTROLS):
        assert g[name].shape == (t, f), name  # year-major
    for name in ("province", "region", "soe", "labour", "founding", "firm_effect"):
        assert g[name].shape == (f,), name
    assert g["year_effect"].shape == (t,) and g["market_py"].shape == (31, t)
    assert g["present"].dtype == jnp.bool_ and g["quality"].dtype == jnp.float64


def test_age_follows_founding_year(tiny):
    df, _ = tiny
    g = simulate_grid(base_key(11), FirmPanelParams(), 300, 6)
    founding = np.asarray(g["founding"])[df["firm"].to_numpy()] + 2004
    expected = np.minimum(np.log(df["year"] - founding + 1), 3.85)
    np.testing.assert_allclose(df["age"], expected, atol=1e-12)
    assert (df["year"] >= founding).all()


def test_age_table_reaches_the_largest_allowed_cap():
    # old firms (entry ages in the hundreds) under the highest cap the age table allows
    p = FirmPanelParams.from_dict({"age_entry_log_mean": 5.5, "age_entry_log_sd": 1.0, "age_max": math.log(1024)})
    g = simulate_grid(base_key(12), p, 400, 5)
    years_old = np.arange(5)[:, None] - np.asarray(g["founding"])[None, :]
    expected = np.minimum(np.log(np.maximum(years_old, 0) + 1.0), math.log(1024))
    np.testing.assert_allclose(np.asarray(g["age"]), expected, atol=1e-12)
    assert (years_old > 1023).any() and (years_old < 1023).any()
    with pytest.raises(ValueError, match="age_max must be at most"):
        FirmPanelParams.from_dict({"age_max": 7.0})


def test_draw_streams_are_prefix_stable():
    key = base_key(3)
    small = draw_streams(key, {"a": ((4, 5), "normal")})
    large = draw_streams(key, {"a": ((4, 5), "normal"), "b": ((7,), "uniform")})
    np.testing.assert_array_equal(small["a"], large["a"])
    assert (large["b"] > 0).all() and (large["b"] < 1).all()


# ----------------------------------------------------------------------------- params

def test_params_from_dict_and_errors():
    p = FirmPanelParams.from_dict({"b1": 0.06, "error": "ar1", "rho": 0.3})
    assert p.b1 == 0.06 and p.error == "ar1" and p.b2 == -0.0066
    assert p.replace(b2=-0.007).b2 == -0.007
    with pytest.raises(ValueError, match="did you mean 'sigma_e'"):
        FirmPanelParams.from_dict({"sigma_ee": 0.1})
    with pytest.raises(ValueError, match="error must be"):
        FirmPanelParams(error="garch")
    with pytest.raises(ValueError, match="rho"):
        FirmPanelParams.from_dict({"rho": 1.0})
    with pytest.raises(ValueError, match="group_b1"):
        FirmPanelParams.from_dict({"group_by": "region"})
    with pytest.raises(ValueError, match="3 values"):
        FirmPanelParams.from_dict({"group_by": "region", "group_b1": [0.1, 0.1],
                                   "group_b2": [0.0, 0.0]})
    with pytest.raises(ValueError, match="without group_by"):
        FirmPanelParams.from_dict({"group_b1": [0.1]})
    cfg = FirmPanelParams.from_dict({**paper_group_params("region")})
    assert cfg.group_b1 == (0.0552, 0.1017, 0.1660) and isinstance(cfg.group_b2, tuple)
    assert REGIONS == ("East", "Central", "West")


# ----------------------------------------------------------------------------- stream table

# The stream's slot order, as every simulated number so far was drawn: a slot's draws depend
# on the slots before it, so this list may only grow at its end.
STREAM_ORDER = ["province", "soe", "intensity", "spell_centre", "spell_length", "age", "firm_effect", "year_effect",
                "market_common", "market_province", "market_within", "controls_firm", "controls_within", "error",
                "province_year_shock", "mediator_province", "mediator_firm", "mediator_level"]


def test_stream_table_order_is_append_only():
    assert list(STREAMS)[:len(STREAM_ORDER)] == STREAM_ORDER
    for name, slot in STREAMS.items():
        assert slot.dist in ("uniform", "normal") and slot.dtype in ("float32", "float64") and slot.why, name
        assert slot.dist == "normal" or slot.dtype == "float64", name


def test_layout_follows_the_table():
    layout = stream_layout(7, 4)
    assert layout["controls_within"] == ((4, 4, 7), "normal", "float32")
    assert layout["market_within"] == ((31, 5), "normal", "float64")
    draws = draw_streams(derive_key(base_key(2), "firm_panel"), layout)
    for name, slot in STREAMS.items():
        assert draws[name].dtype == slot.dtype and draws[name].shape == layout[name][0], name


@pytest.mark.parametrize("params", [FirmPanelParams(), FirmPanelParams(error="province_year", mediator="province"),
                                    FirmPanelParams(mediator="firm")])
def test_unused_slots_are_exactly_those_the_structure_never_reads(params):
    """The province-year shock is drawn only for province-year errors, the mediator's slots
    only for its level; the panel is simulated with the rest skipped."""
    unused = set(unused_streams(params))
    assert unused <= set(STREAMS)
    assert ("province_year_shock" in unused) == (params.error != "province_year")
    assert {"mediator_firm", "mediator_province", "mediator_level"} & set(STREAMS) - unused == (
        set() if params.mediator == "none" else {"mediator_level", f"mediator_{params.mediator}"})
    simulate_grid(base_key(1), params, 50, 4)  # a slot it reads but skipped would be a KeyError here


@pytest.mark.parametrize("params", [FirmPanelParams(mediator="firm"),
                                    FirmPanelParams(error="ar1", **paper_group_params("region"))])
def test_single_precision_stays_inside_the_simulator(params):
    """The contract: float32 only inside (probit, copula); every float the simulator returns is float64."""
    g = simulate_grid(base_key(3), params, 60, 5)
    kinds = {name: a.dtype for name, a in g.items()}
    assert all(d in (jnp.float64, jnp.bool_, jnp.int32) for d in kinds.values()), kinds
    for name in CONTROLS:
        assert kinds[name] == jnp.float64, name
