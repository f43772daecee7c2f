"""The region × period slope model (tradeq.models.bayes.region_period) against independent references:
its within design against an explicit dummy regression, its collapsed likelihood against the row-level
Gaussian marginal, its exact effect draws against the precision-form conditional posterior, a flat-ish
prior against the FE interaction OLS, and recovery of the province simulator's region × period truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from tradeq.dgp.province_panel import ProvincePanelParams, simulate_province_panel
from tradeq.formula import design_from_formula
from tradeq.models.bayes.region_period import (
    RegionPeriodPrior,
    build_region_period_design,
    contrast_matrix,
    draw_effects,
    effect_structure,
    fit_region_period,
    marginal_loglik,
    model_data,
)
from tradeq.models.fixed_effects import fit_fe

FORMULA = "TU ~ IC + CX + HUM + FDI + GOV + INF | province + year"
REGIONS = ("East", "Central", "West")
PERIODS = ("2001-2016", "2017-2021")


@pytest.fixture(scope="module")
def panel():
    frame, truth = simulate_province_panel(ProvincePanelParams(ic_slopes="region_break"), seed=11)
    design = design_from_formula(frame, FORMULA, cluster=["province"])
    rows = frame.iloc[design.row_id]
    region = rows["region"].astype(str).map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    period = rows["period"].map({p: i for i, p in enumerate(PERIODS)}).to_numpy()
    return frame.iloc[design.row_id].reset_index(drop=True), design, region, period, truth


def _prior(scale_mu=5.0, scale_tau=5.0, pooling="additive"):
    n_tau = len(effect_structure(3, 2, pooling)[1])
    return RegionPeriodPrior(mu=scale_mu, tau=(scale_tau,) * n_tau, beta=(1.0, 5.0, 1.0, 50.0, 1.0), sigma=1.0)


def _dummies(codes):
    levels = np.unique(codes)
    return (codes[:, None] == levels[None, 1:]).astype(float)


def test_the_within_design_equals_an_explicit_dummy_regression(panel):
    frame, design, region, period, _ = panel
    rd = build_region_period_design(design, "IC", region, period, REGIONS, PERIODS)
    data = model_data(rd, _prior(), "additive", rd.n - rd.fe_rank)
    cells = np.zeros((design.n, 6))
    cells[np.arange(design.n), region * 2 + period] = design.X[:, 0]
    X = np.column_stack([cells, design.X[:, 1:], np.ones(design.n),
                         _dummies(frame["province"].to_numpy()), _dummies(frame["year"].to_numpy())])
    coef = np.linalg.lstsq(X, design.y, rcond=None)[0][:11]
    np.testing.assert_allclose(data["coef_hat"], coef, rtol=1e-8, atol=1e-10)
    assert rd.fe_rank == 30 + 21 - 1 and rd.group_n.tolist() == [[176, 55], [128, 40], [176, 55]]
    assert rd.coef_names[:2] == ("IC:East:2001-2016", "IC:East:2017-2021")


def test_collapsed_likelihood_equals_the_row_level_gaussian_marginal(panel):
    _, design, region, period, _ = panel
    rd = build_region_period_design(design, "IC", region, period, REGIONS, PERIODS)
    n_eff = rd.n - rd.fe_rank
    for pooling in ("additive", "exchangeable"):
        data = model_data(rd, _prior(2.0, 1.0, pooling), pooling, n_eff)
        tau = np.array([0.7, 0.3, 0.05][: data["tau_scale"].size])
        sigma = 0.05
        D = data["fixed_var"] + data["tau_map"] @ tau**2
        S = data["T"] @ np.diag(D) @ data["T"].T
        cov = sigma**2 * np.eye(rd.n) + rd.Z @ S @ rd.Z.T
        ref = stats.multivariate_normal(np.zeros(rd.n), cov).logpdf(rd.y) + 0.5 * (rd.n - n_eff) * np.log(2 * np.pi * sigma**2)
        assert float(marginal_loglik(data, tau, sigma)) == pytest.approx(ref, rel=1e-9, abs=1e-6)


def test_effect_draws_follow_the_exact_conditional_posterior(panel):
    _, design, region, period, _ = panel
    rd = build_region_period_design(design, "IC", region, period, REGIONS, PERIODS)
    data = model_data(rd, _prior(2.0, 1.0), "additive", rd.n - rd.fe_rank)
    tau, sigma, S = np.array([0.8, 0.4, 0.1]), 0.05, 40_000
    psi = draw_effects(data, np.tile(tau, (S, 1)), np.full(S, sigma), seed=3)
    D = data["fixed_var"] + data["tau_map"] @ tau**2
    T, ZtZ = data["T"], rd.Z.T @ rd.Z
    precision = T.T @ ZtZ @ T / sigma**2 + np.diag(1 / D)  # the precision form, never used by the model
    cov = np.linalg.inv(precision)
    mean = cov @ (T.T @ (rd.Z.T @ rd.y)) / sigma**2
    theta_draws, theta_mean, theta_cov = psi @ T.T, T @ mean, T @ cov @ T.T
    se = np.sqrt(np.diag(theta_cov) / S)
    assert np.all(np.abs(theta_draws.mean(0) - theta_mean) < 4.5 * se)
    np.testing.assert_allclose(np.cov(theta_draws.T), theta_cov, rtol=0.05, atol=0.05 * np.sqrt(np.outer(
        np.diag(theta_cov), np.diag(theta_cov))).max())


def test_recovery_of_the_region_by_period_truth_fast(panel):
    """The reduced-size fit of CI: 300 + 300 draws, 2 chains; every cell within 3.5 posterior sd,
    R-hat, ESS and divergences bounded, the DataTree's coordinates and a netCDF round trip."""
    _, design, region, period, truth = panel
    dt = fit_region_period(design, core="IC", region=region, period=period, regions=REGIONS, periods=PERIODS,
                           prior=_prior(), draws=300, tune=300, chains=2, seed=5, chain_method="vectorized")
    post = dt["posterior"].to_dataset()
    true = np.array([[truth.ic_total[f"{r}:{p}"] for p in PERIODS] for r in REGIONS])
    mean, sd = post["slope"].mean(("chain", "draw")).values, post["slope"].std(("chain", "draw")).values
    assert np.all(np.abs(mean - true) < 3.5 * sd), (mean, true, sd)
    assert dt.attrs["max_rhat"] < 1.02 and dt.attrs["divergences"] == 0 and dt.attrs["min_ess_bulk"] > 100
    assert list(post["region"].values) == list(REGIONS) and list(post["period"].values) == list(PERIODS)
    assert post["slope"].dims == ("chain", "draw", "region", "period")
    assert {"tau_region", "tau_period", "tau_interaction", "mu", "region_effect", "period_effect", "beta"} <= set(post)
    np.testing.assert_allclose(post["slope"].values, (post["mu"] + post["region_effect"] + post["period_effect"]
                                                      + post["interaction"]).transpose(*post["slope"].dims).values)
    assert set(dt.children) >= {"posterior", "prior", "sample_stats", "derived", "constant_data"}
    assert float(dt["prior"]["slope"].std()) > 10 * float(post["slope"].std(("chain", "draw")).max())


def test_a_flat_prior_gives_the_fe_interaction_ols(panel, tmp_path):
    _, design, region, period, _ = panel
    cells = np.zeros((design.n, 6))
    cells[np.arange(design.n), region * 2 + period] = design.X[:, 0]
    names = tuple(f"IC:{r}:{p}" for r in REGIONS for p in PERIODS)
    ols = fit_fe(dataclasses.replace(design, X=np.column_stack([cells, design.X[:, 1:]]),
                                     x_names=names + design.x_names[1:]), vcov="iid")
    prior = RegionPeriodPrior(mu=1e3, tau=(1e3,), beta=(1e3,) * 5, sigma=1.0)
    # exact: the effects' draws given a flat prior (tau huge) centre on OLS
    rd = build_region_period_design(design, "IC", region, period, REGIONS, PERIODS)
    data = model_data(rd, prior, "exchangeable", rd.n - rd.fe_rank)
    sigma = float(np.sqrt(data["rss_hat"] / (data["n_eff"] - 11)))
    psi = draw_effects(data, np.full((20_000, 1), 1e4), np.full(20_000, sigma), seed=4)
    theta = psi @ data["T"].T
    assert np.all(np.abs(theta.mean(0) - ols.coef) < 0.03 * ols.se)
    # sampled: tau's posterior follows the six slopes' spread, so the cells shrink a little toward mu
    dt = fit_region_period(design, core="IC", region=region, period=period, regions=REGIONS, periods=PERIODS,
                           prior=prior, pooling="exchangeable", draws=400, tune=300, chains=2, seed=2,
                           chain_method="vectorized")
    post = dt["posterior"].to_dataset()
    mean = post["slope"].stack(cell=("region", "period")).mean(("chain", "draw")).values
    se = ols.se[:6]
    assert np.all(np.abs(mean - ols.coef[:6]) < 0.35 * se), (mean, ols.coef[:6], se)
    mu = float(post["mu"].mean())
    assert np.all(np.abs(mean - mu) <= np.abs(ols.coef[:6] - mu))  # shrinkage is toward the pooled mean
    sd = post["slope"].stack(cell=("region", "period")).std(("chain", "draw")).values
    np.testing.assert_allclose(sd, se, rtol=0.2)  # the iid OLS se: the same Gaussian likelihood
    path = tmp_path / "posterior.nc"
    dt.to_netcdf(path)
    back = xr.open_datatree(path)
    assert list(back["posterior"]["region"].values) == list(REGIONS) and "comparison" in back["posterior"].dims


def test_contrasts_weight_periods_by_rows():
    labels, W = contrast_matrix(("A", "B"), ("p", "q"), np.array([[3, 1], [2, 2]]))
    rows = dict(zip(labels, W))
    np.testing.assert_allclose(rows["A (all years)"], [0.75, 0.25, 0, 0])
    np.testing.assert_allclose(rows["A - B (all years)"], [0.75, 0.25, -0.5, -0.5])
    np.testing.assert_allclose(rows["B: p - q"], [0, 0, 1, -1])
    np.testing.assert_allclose(rows["A - B (q)"], [0, 1, 0, -1])


def test_bad_inputs_raise(panel):
    _, design, region, period, _ = panel
    with pytest.raises(ValueError, match="have no rows"):
        build_region_period_design(design, "IC", np.zeros_like(region), period, REGIONS, PERIODS)
    with pytest.raises(ValueError, match="pooling"):
        effect_structure(3, 2, "nested")
    with pytest.raises(ValueError, match="positive"):
        RegionPeriodPrior(mu=0.0, tau=(1.0,), beta=(), sigma=1.0)
    rd = build_region_period_design(design, "IC", region, period, REGIONS, PERIODS)
    with pytest.raises(ValueError, match="tau scales"):
        model_data(rd, _prior(pooling="exchangeable"), "additive", 100.0)
