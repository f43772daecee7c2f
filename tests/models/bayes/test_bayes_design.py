"""The expanded, FE-demeaned group design (exact FWL), sufficient statistics and priors."""

import dataclasses

import numpy as np
import pytest
from bayes_panels import simulate_panel

from tradeq.models.bayes.design import build_group_design, fe_rank, interact, sufficient_stats
from tradeq.models.bayes.priors import PriorScales, default_priors


def dummies(codes):
    return (codes[:, None] == np.unique(codes)[None, :]).astype(float)


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(7, n_firms=120)


def lsdv_group_slopes(p):
    """Group-specific slopes by brute force: OLS on [x·1[g], x²·1[g], controls, firm and year dummies]."""
    d = p.design
    G = len(p.group_names)
    x, x2 = d.X[:, 0], d.X[:, 1]
    X = np.column_stack([interact(x, p.groups, G), interact(x2, p.groups, G), d.X[:, 2:], dummies(d.fe[:, 0]), dummies(d.fe[:, 1])[:, 1:]])
    return np.linalg.lstsq(X, d.y, rcond=None)[0][: 2 * G + 2]


def test_fwl_matches_dummy_variable_regression(panel):
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y)
    np.testing.assert_allclose(ss.coef_hat, lsdv_group_slopes(panel), rtol=1e-8, atol=1e-10)


def test_interacting_demeaned_market_is_a_different_model(panel):
    """(M x)·1[g] is not M(x·1[g]) with year effects: its slopes differ from the FE model's."""
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    G = len(panel.group_names)
    wrong = gd.Z.copy()
    mx = build_group_design(panel.design, None, None, "Market").Z[:, :2]  # M x, M x² pooled
    wrong[:, :G] = interact(mx[:, 0], panel.groups, G)
    wrong[:, G : 2 * G] = interact(mx[:, 1], panel.groups, G)
    right = sufficient_stats(gd.Z, gd.y).coef_hat
    other = sufficient_stats(wrong, gd.y).coef_hat
    assert np.max(np.abs(other[:G] - right[:G]) / np.abs(right[:G])) > 1e-3


def test_layout_and_ranges(panel):
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    G = len(panel.group_names)
    assert gd.Z.shape == (panel.design.n, 2 * G + 2)
    assert gd.coef_names[0] == "Market:East:non-SOE" and gd.coef_names[G] == "I(Market ** 2):East:non-SOE"
    assert gd.control_names == ("scale", "roa")
    x = panel.design.X[:, 0]
    for g in range(G):
        assert gd.x_lo[g] == x[panel.groups == g].min() and gd.x_hi[g] == x[panel.groups == g].max()
    assert gd.center == pytest.approx(x.mean())
    np.testing.assert_allclose(gd.Z.sum(axis=0), 0.0, atol=1e-8)  # year dummies sum to one: columns demeaned


def test_no_fixed_effects_demeans_and_drops_intercept():
    p = simulate_panel(2, n_firms=80, fe=False)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    assert "Intercept" not in gd.control_names and gd.fe_rank == 1
    X = np.column_stack([interact(p.design.X[:, 0], p.groups, 6), interact(p.design.X[:, 1], p.groups, 6), p.design.X[:, 2:]])
    expected = np.linalg.lstsq(X, p.design.y, rcond=None)[0][:-1]  # last column: the intercept
    np.testing.assert_allclose(sufficient_stats(gd.Z, gd.y).coef_hat, expected, rtol=1e-8)


def test_fe_rank_equals_matrix_rank():
    rng = np.random.default_rng(0)
    firm = rng.integers(0, 40, 300)
    year = rng.integers(0, 6, 300)
    year[firm >= 35] = 6 + firm[firm >= 35] % 2  # a disconnected block of firms and years
    fe = np.column_stack([firm, year])
    D = np.column_stack([dummies(firm), dummies(year)])
    assert fe_rank(fe) == np.linalg.matrix_rank(D)
    assert fe_rank(fe[:, :1]) == np.unique(firm).size
    assert fe_rank(np.zeros((5, 0), np.int32)) == 1


def test_n_eff_subtracts_absorbed_levels(panel):
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    D = np.column_stack([dummies(panel.design.fe[:, 0]), dummies(panel.design.fe[:, 1])])
    assert gd.n_eff() == panel.design.n - np.linalg.matrix_rank(D)
    assert gd.n_eff(marginalize_fe=False) == panel.design.n


def test_suffstat_rss_equals_row_rss(panel):
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y)
    rng = np.random.default_rng(1)
    for _ in range(10):
        theta = ss.coef_hat + rng.standard_normal(ss.coef_hat.size) * 0.1
        direct = np.sum((gd.y - gd.Z @ theta) ** 2)
        expanded = ss.yty - 2 * theta @ ss.Zty + theta @ ss.ZtZ @ theta
        assert ss.rss(theta) == pytest.approx(direct, rel=1e-10)
        assert expanded == pytest.approx(direct, rel=1e-8)


def test_default_priors_follow_the_autoscale_rule(panel):
    d = panel.design
    x, c = d.X[:, 0], 4.0
    pr = default_priors(d.y, x, d.X[:, 2:], center=c)
    sd_y = np.std(d.y)
    assert pr.slope == pytest.approx(2.5 * sd_y / np.std(x))
    assert pr.b2 == pytest.approx(2.5 * sd_y / np.std((x - c) ** 2))
    assert pr.tau_slope == pr.slope and pr.tau_b2 == pr.b2 and pr.sigma == pytest.approx(sd_y)
    np.testing.assert_allclose(pr.beta, 2.5 * sd_y / np.std(d.X[:, 2:], axis=0))
    assert dataclasses.replace(pr, tau_b2=0.01).tau_b2 == 0.01
    with pytest.raises(ValueError):
        dataclasses.replace(pr, sigma=-1.0)
    with pytest.raises(ValueError, match="standard deviation"):
        default_priors(d.y, np.ones_like(x), d.X[:, 2:])


def test_input_errors(panel):
    d = panel.design
    with pytest.raises(KeyError, match="Mkt"):
        build_group_design(d, panel.groups, panel.group_names, "Mkt")
    with pytest.raises(ValueError, match="no rows"):
        build_group_design(d, np.zeros(d.n, np.int64), panel.group_names, "Market")
    with pytest.raises(ValueError, match="codes"):
        build_group_design(d, panel.groups + 1, panel.group_names, "Market")
    with pytest.raises(ValueError, match="shape"):
        build_group_design(d, panel.groups[:-1], panel.group_names, "Market")


def test_prior_scales_are_frozen():
    pr = PriorScales(slope=1.0, b2=1.0, tau_slope=1.0, tau_b2=1.0, beta=(1.0,), sigma=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pr.slope = 2.0
    assert '"slope": 1.0' in pr.to_json()
