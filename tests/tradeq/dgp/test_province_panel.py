"""Tests of the synthetic province panel (SPEC 1c, 4): structure, realism of the spreads,
IC computed from the sector outputs, the error components, and recovery of every known
truth (slopes, regional slopes, the 2017 break, the mediators' a and b) with the FE replica
``tradeq.formula.feols`` (province + year effects): within 3 SE on one panel, and unbiased
(within 3 Monte Carlo SE) over 200 seeded panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.dgp import province_components as pc
from tradeq.dgp.province_panel import ProvincePanelParams, simulate_province_panel
from tradeq.formula import feols
from tradeq.provinces import PAPER_CODES, TIBET, foreign_market_access

CONTROLS = ["CX", "HUM", "FDI", "GOV", "INF"]
FE = " | province + year"
RHS = " + ".join(CONTROLS) + FE
MEDIATORS = ("FMA", "TE", "KS")
N_PANELS = 200


@pytest.fixture(scope="module")
def panel():
    return simulate_province_panel(ProvincePanelParams(), seed=0)


def coef(fit, name):
    i = fit.index(name)
    return fit.coef[i], fit.se[i]


def with_interactions(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for r in ("East", "Central", "West"):
        out[f"IC_{r}"] = df.IC * (df.region == r)
    out["IC_pre"] = df.IC * (df.year < 2017)
    out["IC_post"] = df.IC * (df.year >= 2017)
    return out


# ----------------------------------------------------------------------------- structure

def test_shape_columns_and_order(panel):
    df, truth = panel
    assert len(df) == 630 == truth.n_obs and truth.n_provinces == 30 and truth.n_years == 21
    assert list(df.columns[:6]) == ["province_code", "province", "region", "coastal", "period", "year"]
    assert {"TU", "IC", "IC2", *CONTROLS, "Y_primary", "Y_secondary", "Y_tertiary"} <= set(df.columns)
    assert not set(MEDIATORS) & set(df.columns)  # only the mediators asked for
    assert sorted(df.province_code.unique()) == list(PAPER_CODES) and TIBET not in set(df.province_code)
    assert (df.groupby("province_code").year.apply(list) == [list(range(2001, 2022))] * 30).all()
    assert df[["province_code", "year"]].equals(df[["province_code", "year"]].sort_values(["province_code", "year"]))
    assert df.region.value_counts().to_dict() == {"East": 231, "Central": 168, "West": 231}
    assert df.period.value_counts().to_dict() == {"2001-2016": 480, "2017-2021": 150}
    assert df.notna().all().all()


def test_tibet_can_be_included():
    df, truth = simulate_province_panel(ProvincePanelParams(exclude_tibet=False), seed=1)
    assert len(df) == 651 and (df.province_code == TIBET).sum() == 21 and truth.n_provinces == 31


def test_seeded_and_components_on_their_own_streams(panel):
    df, _ = panel
    again, _ = simulate_province_panel(ProvincePanelParams(), seed=0)
    pd.testing.assert_frame_equal(df, again)
    other, _ = simulate_province_panel(ProvincePanelParams(), seed=1)
    assert not np.allclose(df.IC, other.IC)
    # switching mediators on or changing the errors leaves IC and the controls unchanged
    med, _ = simulate_province_panel(ProvincePanelParams(mediators=MEDIATORS, error="ar1"), seed=0)
    pd.testing.assert_frame_equal(df[["IC", "IC2", *CONTROLS]], med[["IC", "IC2", *CONTROLS]])
    assert not np.allclose(df.TU, med.TU)


def test_ic_and_ic2_are_the_location_quotients_of_the_sector_outputs(panel):
    df, _ = panel
    # by hand with pandas: sector share in the province over the sector's share of the 30 provinces
    Y = df[["Y_primary", "Y_secondary", "Y_tertiary"]]
    share = Y.div(Y.sum(axis=1), axis=0)
    national = Y.groupby(df.year).transform("sum")
    national_share = national.div(national.sum(axis=1), axis=0)
    lq = share / national_share
    np.testing.assert_allclose(df.IC, lq.Y_tertiary, rtol=1e-12)
    np.testing.assert_allclose(df.IC2, lq.Y_secondary, rtol=1e-12)


# ------------------------------------------------------------------------------- realism

def test_spreads_are_those_of_chinese_provinces(panel):
    df, _ = panel
    shares = df.groupby("year")[["Y_primary", "Y_secondary", "Y_tertiary"]].sum()
    shares = shares.div(shares.sum(axis=1), axis=0)
    # national primary / secondary / tertiary: 14 / 45 / 41% in 2001, 7 / 39 / 53% in 2021
    np.testing.assert_allclose(shares.loc[2001], [0.14, 0.45, 0.41], atol=0.04)
    np.testing.assert_allclose(shares.loc[2021], [0.07, 0.39, 0.53], atol=0.04)
    assert 0.5 < df.IC.min() and df.IC.max() < 1.8 and 0.1 < df.IC.std() < 0.3
    assert df.IC.corr(df.IC2) < -0.5  # tertiary-heavy provinces are light in industry
    assert 0.1 < df.TU.median() < 0.4 and 0.2 < df.TU.std() < 0.4 and df.TU.max() < 2.0
    assert (df.TU < 0).mean() < 0.06  # TU is not clipped; a few inland province-years dip below 0
    assert df.loc[df.coastal, "TU"].mean() > df.loc[~df.coastal, "TU"].mean() + 0.2
    assert (df[["CX", "FDI", "GOV", "INF"]] > 0).all().all() and df.GOV.between(0.03, 1.0).all()
    assert 1 < df.CX.median() < 10 and 1 < df.FDI.median() < 5 and 7 < df.HUM.median() < 10
    assert df.groupby("year").CX.median().is_monotonic_increasing


# ----------------------------------------------------------------------------- components

def test_error_components():
    ic = 1.0 + 0.2 * np.random.default_rng(4).standard_normal((200, 20))
    base = ProvincePanelParams(sigma_e=0.05)
    rng = lambda: np.random.default_rng(5)  # noqa: E731
    iid = pc.errors(base, rng(), ic)
    assert iid.std() == pytest.approx(0.05, rel=0.05)
    ar = pc.errors(base.replace(error="ar1", rho=0.6), rng(), ic)
    lag1 = np.corrcoef(ar[1:].ravel(), ar[:-1].ravel())[0, 1]
    assert lag1 == pytest.approx(0.6, abs=0.03) and ar.std() == pytest.approx(0.05, rel=0.05)
    het = pc.errors(base.replace(error="heteroskedastic", hetero_gamma=0.5), rng(), ic)
    z = (ic - ic.mean()) / ic.std()
    assert np.sqrt((het ** 2).mean()) == pytest.approx(0.05, rel=0.05)  # E[sd^2] = sigma_e^2 for normal z
    assert np.corrcoef(np.abs(het).ravel(), z.ravel())[0, 1] > 0.2


def test_fma_mediator_sits_at_the_measured_market_access():
    params = ProvincePanelParams(mediators=("FMA",))
    df, _ = simulate_province_panel(params, seed=3)
    by = df.groupby("province_code")
    expected = foreign_market_access(PAPER_CODES).to_numpy() + params.a_FMA * (by.IC.mean().to_numpy() - 1)
    np.testing.assert_allclose(by.FMA.mean().to_numpy(), expected, atol=0.01)


def test_effects_are_correlated_with_ic_so_pooled_ols_is_biased():
    estimates = [feols(simulate_province_panel(ProvincePanelParams(), seed=s)[0],
                       "TU ~ IC + " + " + ".join(CONTROLS)).coef[1] for s in range(20)]
    assert np.mean(estimates) < 1.447 - 0.5  # pooled OLS ~0.5 against the true 1.447


def test_params_are_validated():
    with pytest.raises(ValueError, match="did you mean 'beta_IC'"):
        ProvincePanelParams.from_dict({"beta_ic": 1.0})
    with pytest.raises(ValueError, match="ic_slopes"):
        ProvincePanelParams(ic_slopes="province")
    with pytest.raises(ValueError, match="mediators"):
        ProvincePanelParams(mediators=("FMA", "FMA"))
    with pytest.raises(ValueError, match="break_year"):
        ProvincePanelParams.from_dict(ic_slopes="break", break_year=2030)
    with pytest.raises(ValueError, match="sigma_e"):
        ProvincePanelParams.from_dict(sigma_e=-1.0)
    assert ProvincePanelParams.from_dict({"mediators": ["KS"]}).mediators == ("KS",)


def test_truth_records_total_direct_and_indirect_effects():
    _, truth = simulate_province_panel(ProvincePanelParams(mediators=MEDIATORS), seed=0)
    indirect = -0.043 * -1.690 + 0.454 * 1.268 + 0.727 * 0.377
    assert truth.indirect == pytest.approx(indirect, rel=1e-12)
    assert truth.ic_total == {"all": 1.447} and truth.ic_direct["all"] == pytest.approx(1.447 - indirect)
    assert truth.mediation["TE"] == {"a": 0.454, "b": 1.268, "indirect": pytest.approx(0.454 * 1.268)}
    _, region = simulate_province_panel(ProvincePanelParams(ic_slopes="region"), seed=0)
    assert region.ic_total == {"East": 1.747, "Central": 0.023, "West": 0.183} == region.ic_direct
    _, brk = simulate_province_panel(ProvincePanelParams(ic_slopes="break"), seed=0)
    assert brk.ic_total == {"2001-2016": 1.476, "2017-2021": 0.631}


def test_region_break_slopes_by_region_and_period():
    """ic_slopes=region_break: Table 3's slopes before 2017, shifted by the common break from it
    (or region_IC_after); the TU of each province-year moves with IC by its cell's slope."""
    params = ProvincePanelParams(ic_slopes="region_break")
    df, truth = simulate_province_panel(params, seed=0)
    shift = 0.631 - 1.476
    assert truth.ic_total == pytest.approx({"East:2001-2016": 1.747, "Central:2001-2016": 0.023,
                                            "West:2001-2016": 0.183, "East:2017-2021": 1.747 + shift,
                                            "Central:2017-2021": 0.023 + shift, "West:2017-2021": 0.183 + shift})
    bumped, _ = simulate_province_panel(params.replace(beta_IC=9.0), seed=0)  # beta_IC is unused here
    np.testing.assert_array_equal(bumped["TU"], df["TU"])
    own = params.replace(region_IC_after=(0.5, 0.4, 0.3))
    df2, truth2 = simulate_province_panel(own, seed=0)
    assert truth2.ic_total["Central:2017-2021"] == 0.4
    # the same draws: TU differs from the default by (slope difference) x IC, in the later period only
    diff = (df2["TU"] - df["TU"]).to_numpy()
    late = (df["year"] >= 2017).to_numpy()
    expected = np.where(late, df["region"].astype(str).map(
        {"East": 0.5 - 1.747 - shift, "Central": 0.4 - 0.023 - shift, "West": 0.3 - 0.183 - shift}).to_numpy(dtype=float)
        * df["IC"].to_numpy(), 0.0)
    np.testing.assert_allclose(diff, expected, atol=1e-12)
    with pytest.raises(ValueError, match="region_IC_after"):
        ProvincePanelParams.from_dict(ic_slopes="region_break", region_IC_after=[1.0])


# ------------------------------------------------------------------------------- recovery

def slopes(df, formula, names):
    fit = feols(df, formula, vcov="hc1")
    return np.array([coef(fit, n) for n in names])  # (k, 2): estimate, se


def check_one_panel(est, truth):
    z = (est[:, 0] - truth) / est[:, 1]
    assert np.all(np.abs(z) < 3), dict(zip(range(len(z)), z.round(2)))


def check_unbiased(estimates, truth):
    estimates = np.asarray(estimates)
    bias = estimates.mean(axis=0) - truth
    mcse = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(bias) < 3 * mcse), {"bias": bias.round(4).tolist(), "mcse": mcse.round(4).tolist()}


COMMON = (["IC", *CONTROLS], np.array([1.447, 0.003, 0.046, 0.051, -0.805, 0.008]))
REGION = (["IC_East", "IC_Central", "IC_West"], np.array([1.747, 0.023, 0.183]))
BREAK = (["IC_pre", "IC_post"], np.array([1.476, 0.631]))


def recover(params, names, formula, seed):
    df, _ = simulate_province_panel(params, seed=seed)
    return slopes(with_interactions(df), formula, names)


@pytest.mark.parametrize("case, params, formula", [
    ("common", ProvincePanelParams(), "TU ~ IC + " + RHS),
    ("region", ProvincePanelParams(ic_slopes="region"), "TU ~ IC_East + IC_Central + IC_West + " + RHS),
    ("break", ProvincePanelParams(ic_slopes="break"), "TU ~ IC_pre + IC_post + " + RHS),
    ("common, AR(1) errors", ProvincePanelParams(error="ar1"), "TU ~ IC + " + RHS),
    ("common, heteroskedastic", ProvincePanelParams(error="heteroskedastic"), "TU ~ IC + " + RHS),
])
def test_one_panel_within_three_se(case, params, formula):
    names, truth = {"region": REGION, "break": BREAK}.get(case, COMMON)
    check_one_panel(recover(params, names, formula, seed=2024), truth)


def mediation_estimates(df):
    """a of each mediator, then b of each and the direct and total effects of IC."""
    a = [coef(feols(df, f"{m} ~ IC + " + RHS, vcov="hc1"), "IC") for m in MEDIATORS]
    both = feols(df, "TU ~ IC + " + " + ".join(MEDIATORS) + " + " + RHS, vcov="hc1")
    b = [coef(both, m) for m in MEDIATORS]
    total = coef(feols(df, "TU ~ IC + " + RHS, vcov="hc1"), "IC")
    return np.array([*a, *b, coef(both, "IC"), total])


def mediation_truth(truth):
    med = truth.mediation
    return np.array([*(med[m]["a"] for m in MEDIATORS), *(med[m]["b"] for m in MEDIATORS),
                     truth.ic_direct["all"], truth.ic_total["all"]])


def test_mediators_one_panel_within_three_se():
    df, truth = simulate_province_panel(ProvincePanelParams(mediators=MEDIATORS), seed=2024)
    check_one_panel(mediation_estimates(df), mediation_truth(truth))


@pytest.mark.slow
@pytest.mark.parametrize("case, params, formula", [
    ("common", ProvincePanelParams(), "TU ~ IC + " + RHS),
    ("region", ProvincePanelParams(ic_slopes="region"), "TU ~ IC_East + IC_Central + IC_West + " + RHS),
    ("break", ProvincePanelParams(ic_slopes="break"), "TU ~ IC_pre + IC_post + " + RHS),
])
def test_unbiased_over_seeded_panels(case, params, formula):
    names, truth = {"region": REGION, "break": BREAK}.get(case, COMMON)
    check_unbiased([recover(params, names, formula, seed)[:, 0] for seed in range(N_PANELS)], truth)


@pytest.mark.slow
def test_mediators_unbiased_over_seeded_panels():
    params = ProvincePanelParams(mediators=MEDIATORS)
    truth = mediation_truth(simulate_province_panel(params, seed=0)[1])
    check_unbiased([mediation_estimates(simulate_province_panel(params, seed=s)[0])[:, 0]
                    for s in range(N_PANELS)], truth)
