"""The expanded, FE-demeaned group design (exact FWL), sufficient statistics and priors."""

import dataclasses

import numpy as np
import pytest
from bayes_panels import dummy_within, simulate_panel, switching_group_panel

from tradeq.models.bayes.design import build_group_design, fe_rank, interact, sufficient_stats
from tradeq.models.bayes.priors import PriorScales, default_priors
from tradeq.models.design import Design


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
    # no FE to absorb them: every group but the first keeps its main effect 1[g]
    assert gd.level_names == tuple(f"1[{g}]" for g in p.group_names[1:])
    assert gd.control_names == ("scale", "roa", *gd.level_names)
    X = np.column_stack([interact(p.design.X[:, 0], p.groups, 6), interact(p.design.X[:, 1], p.groups, 6),
                         p.design.X[:, 2:4], dummies(p.groups)[:, 1:], np.ones(p.design.n)])
    expected = np.linalg.lstsq(X, p.design.y, rcond=None)[0][:-1]  # last column: the intercept
    np.testing.assert_allclose(sufficient_stats(gd.Z, gd.y).coef_hat, expected, rtol=1e-8)


def test_group_main_effect_keeps_equal_curves_equal():
    """A level shift between groups that vary within firm loads onto the slopes unless 1[g] is in
    the design: with it, the least-squares and posterior slope differences are centred on 0 (the
    LSDV regression with the group dummy as reference); without it (the old design) they are
    many sds away."""
    design, g = switching_group_panel(0)
    gd = build_group_design(design, g, ("A", "B"), "Market")
    assert gd.level_names == ("1[B]",) and gd.control_names == ("1[B]",)
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    X = np.column_stack([interact(design.X[:, 0], g, 2), interact(design.X[:, 1], g, 2), g,
                         dummies(design.fe[:, 0]), dummies(design.fe[:, 1])[:, 1:]])
    np.testing.assert_allclose(ss.coef_hat, np.linalg.lstsq(X, design.y, rcond=None)[0][:5], rtol=1e-7, atol=1e-9)
    # the slope differences b1_B - b1_A and b2_B - b2_A are 0 within 3 sds; the gap between the
    # curves at x = 4 is the level shift
    for contrast in ([-1.0, 1.0, 0, 0, 0], [0, 0, -1.0, 1.0, 0]):
        est, sd = _contrast(ss, contrast)
        assert abs(est) < 3 * sd
    est, sd = _contrast(ss, [-4.0, 4.0, -16.0, 16.0, 1.0])
    assert abs(est - 0.3) < 3 * sd
    old = sufficient_stats(gd.Z[:, :4], gd.y, gd.n_eff())  # the old design, without 1[g]
    est, sd = _contrast(old, [-1.0, 1.0, 0, 0])
    assert abs(est) > 5 * sd


def _contrast(ss, c) -> tuple[float, float]:
    """Least-squares estimate of c'theta and its iid standard error."""
    c = np.asarray(c, float)
    return float(c @ ss.coef_hat), float(np.sqrt(ss.rss_hat / ss.n_eff * c @ np.linalg.solve(ss.ZtZ, c)))


def test_absorbed_group_main_effects_drop():
    """A group constant within firm (region x ownership here) has its levels absorbed by the
    firm effects: no 1[g] column, the FWL slopes equal the LSDV ones without it."""
    p = simulate_panel(7, n_firms=120)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    assert gd.level_names == () and gd.control_names == ("scale", "roa")


def test_fe_rank_of_three_way_fixed_effects():
    """n_eff on a 3-way FE design equals n less the numpy matrix rank of the dummy matrix (the
    old count, levels less m - 1, is only an upper bound: here the third dimension is nested in
    the first, so it adds no rank)."""
    rng = np.random.default_rng(3)
    firm = rng.integers(0, 30, 400)
    year = rng.integers(0, 7, 400)
    industry = firm % 5  # nested in firm
    fe = np.column_stack([firm, year, industry]).astype(np.int32)
    D = np.column_stack([dummies(firm), dummies(year), dummies(industry)])
    rank = np.linalg.matrix_rank(D)
    assert rank < np.unique(firm).size + 7 + 5 - 2
    assert fe_rank(fe) == rank
    x = 4.0 + rng.standard_normal(400)
    design = Design(y=rng.standard_normal(400), X=np.column_stack([x, x**2]), x_names=("Market", "I(Market ** 2)"),
                    fe=fe, fe_names=("firm", "year", "industry"), cluster=np.zeros((400, 0), np.int32),
                    cluster_names=(), row_id=np.arange(400), y_name="y")
    gd = build_group_design(design, None, None, "Market", within=dummy_within)
    assert gd.n_eff() == 400 - rank


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
