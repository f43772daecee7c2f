"""Split samples, the pooled interaction model and its Wald test of equal curves.

The pooled model is checked against the same model written out (pyfixest, statsmodels with the
fixed effects as dummies) *with* the group main effects 1[g]; the panels have a group that
changes within firm (ownership that changes over time), correlated with x, and a level shift
between groups — the case in which leaving out 1[g] biases the group slopes. (Slow) the F
test's size under equal curves and its power under unequal ones, over many replications fitted
at once with the grid FE core.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from composing import compose_config

from tradeq.analyses import heterogeneity
from tradeq.analyses.groups import (
    absorbing_effects,
    equality_restrictions,
    group_levels,
    interaction_names,
    level_names,
    pooled_columns,
    split_groups,
)
from tradeq.analyses.heterogeneity import equality_tests, pooled_interaction
from tradeq.models.grid_fe import fit_grid
from tradeq.models.wald import wald_batch
from tradeq.panel import DataError, Panel
from tradeq.runinfo import Timings

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def simulate(rng, R, n_firms, n_years, b1=(1.0, 1.0), b2=(-0.12, -0.12), shift=0.3, rho=0.5, switching=True):
    """R panels as year-major (R, T, F) arrays ``x, g, w, y``: two groups with their own curve
    ``b1_g x + b2_g x²``, group B's level higher by ``shift``, firm and year effects, AR(1)
    errors within firm.

    ``switching``: firm i moves from group A to B in a year that comes earlier the higher its
    x level (ownership changing over time), so g varies within firm and within year and
    correlates with x; otherwise g is fixed per firm (absorbed by the firm effects).
    """
    a = rng.normal(size=(R, 1, n_firms))
    t = np.arange(n_years)[None, :, None]
    x = 4.0 + 0.3 * a + 0.5 * rng.normal(size=(R, n_years, n_firms)) + 0.05 * t
    if switching:
        start = np.floor(n_years * (0.5 - 0.27 * a + 0.8 * (rng.random((R, 1, n_firms)) - 0.5)))
        g = (t >= start.clip(1, n_years)).astype(int)
    else:
        g = np.broadcast_to(rng.random((R, 1, n_firms)) < 0.5, x.shape).astype(int)
    z = rng.normal(size=x.shape)
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    for j in range(1, n_years):
        e[:, j] = rho * e[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    w = rng.normal(size=x.shape)
    y = (np.asarray(b1)[g] * x + np.asarray(b2)[g] * x**2 + shift * g + 0.3 * w
         + rng.normal(size=(R, 1, n_firms)) + rng.normal(size=(R, n_years, 1)) + 0.5 * e)
    return x, g, w, y


def as_frame(x, g, w, y, r=0):
    T, F = x.shape[1:]
    return pd.DataFrame({"firm": np.tile(np.arange(F), T), "year": 2000 + np.repeat(np.arange(T), F),
                         "grp": np.where(g[r].ravel() == 0, "A", "B"), "x": x[r].ravel(), "w": w[r].ravel(),
                         "y": y[r].ravel()})


def panel_frame(seed=0, n_firms=300, n_years=8, **kw):
    return as_frame(*simulate(np.random.default_rng(seed), 1, n_firms, n_years, **kw))


def explicit(df):
    """The pooled model's columns written out by hand: xA, xB, qA, qB and the main effect dB."""
    A, B = (df.grp == "A").astype(float), (df.grp == "B").astype(float)
    return df.assign(xA=df.x * A, xB=df.x * B, qA=df.x**2 * A, qB=df.x**2 * B, dB=B)


def pooled(df, vcov="iid", cluster=()):
    split = split_groups(df, "grp")
    return pooled_interaction(Panel(frame=df, source="test"), split, "y", "x", ["w"], ["firm", "year"], vcov,
                              cluster, 0.95)


def pooled_terms(G=2):
    lin, sq = interaction_names("x", G)
    return lin + sq + level_names(G)


def test_pooled_model_matches_explicit_dummies_with_main_effects():
    df = panel_frame(1, b1=(1.0, 0.85))
    assert df.groupby("firm").grp.nunique().max() == 2 and df.groupby("year").grp.nunique().max() == 2
    fitted = pooled(df, "cluster", ("firm",))
    fit = fitted.fit
    d = explicit(df)
    ref = pf.feols("y ~ xA + xB + qA + qB + dB + w | firm + year", data=d, vcov={"CRV1": "firm"})
    ours = [fit.coef[fit.index(c)] for c in pooled_terms()]
    np.testing.assert_allclose(ours, ref.coef().to_numpy()[:5], rtol=1e-8)
    np.testing.assert_allclose(fit.vcov[:6, :6], ref._vcov, rtol=1e-7, atol=1e-14)
    assert fit.dropped_collinear == ()
    # the Wald test of equal curves on pyfixest's own fit
    tests = equality_tests(fitted, "x", 2)
    Rm = np.array([[-1.0, 1, 0, 0, 0, 0], [0, 0, -1.0, 1, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.wald_test(R=Rm, q=np.zeros(2), distribution="chi2")
    assert tests["joint"]["wald"] == pytest.approx(float(ref._wald_statistic), rel=1e-7)
    assert tests["joint"]["rank"] == 2 and tests["joint"]["df2"] == 299


def test_iid_f_test_equals_statsmodels_with_fe_dummies_and_main_effects():
    df = panel_frame(2, n_firms=120, n_years=6, b1=(1.0, 0.85))
    tests = equality_tests(pooled(df), "x", 2)
    d = explicit(df)
    X = pd.get_dummies(d[["firm", "year"]].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([d[["xA", "xB", "qA", "qB", "dB", "w"]], X], axis=1))
    ols = sm.OLS(d["y"], X).fit()
    f = ols.f_test("xA - xB = 0, qA - qB = 0")
    assert tests["joint"]["F"] == pytest.approx(float(np.squeeze(f.fvalue)), rel=1e-8)
    assert tests["joint"]["df2"] == pytest.approx(float(f.df_denom))
    assert tests["joint"]["p_F"] == pytest.approx(float(f.pvalue), rel=1e-7)


def test_group_fixed_within_firm_is_absorbed_and_dropped():
    df = panel_frame(3, n_firms=200, n_years=6, switching=False)
    split = split_groups(df, "grp")
    assert absorbing_effects(df, split.codes, ["firm", "year"]) == ["firm"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an absorbed main effect is expected: no warning
        fitted = pooled(df)
    assert fitted.fit.dropped_collinear == tuple(level_names(2))
    ref = pf.feols("y ~ xA + xB + qA + qB + w | firm + year", data=explicit(df), vcov="iid")
    lin, sq = interaction_names("x", 2)
    np.testing.assert_allclose([fitted.fit.coef[fitted.fit.index(c)] for c in lin + sq], ref.coef().to_numpy()[:4],
                               rtol=1e-8)


def test_absorbing_effects():
    df = pd.DataFrame({"firm": [0, 0, 1, 1], "year": [1, 2, 1, 2], "g": [0, 1, 0, 1], "h": [0, 0, 1, 1]})
    assert absorbing_effects(df, df.g.to_numpy(), ["firm", "year"]) == ["year"]
    assert absorbing_effects(df, df.h.to_numpy(), ["firm", "year"]) == ["firm"]
    assert absorbing_effects(df, df.g.to_numpy(), ["firm^year"]) == ["firm^year"]
    assert absorbing_effects(df, np.array([0, 1, -1, 1]), ["year"]) == ["year"]  # rows in no group ignored


def test_group_levels_notes():
    from types import SimpleNamespace

    df = pd.DataFrame({"firm": [0, 0, 1, 1], "year": [1, 2, 1, 2], "g": ["a", "b", "a", "b"]})
    split = split_groups(df, "g")
    kept = SimpleNamespace(dropped_collinear=(), x_names=("x_x_g0", "group_g1"))
    gone = SimpleNamespace(dropped_collinear=("group_g1",), x_names=("x_x_g0",))
    assert group_levels(df, split, ["firm", "year"], gone)["note"].startswith("g is constant within year: the year")
    out = group_levels(df, split, ["firm"], kept)
    assert out["included"] == ["group_g1"] and out["note"] == (
        "g varies within firm: group level effects included in the pooled model; a firm in several groups has a "
        "firm effect in each split sample.")
    assert "together they absorb" in group_levels(df, split, ["firm"], gone)["note"]
    assert group_levels(df, split, [], kept)["note"].startswith("g has no fixed effects to absorb it: group level")
    assert group_levels(df, split, ["firm"])["note"].startswith("g varies within firm: the fixed effects do not absorb")


def test_clustered_wald_uses_cluster_df():
    df = panel_frame(4, n_firms=300, n_years=6)
    t = equality_tests(pooled(df, "cluster", ("firm",)), "x", 2)
    assert t["joint"]["q"] == 2 and t["joint"]["df2"] == 299  # G − 1 firms
    assert t["b1"]["q"] == 1 and t["b2"]["q"] == 1 and t["clusters"] == {"firm": 300}


def test_more_restrictions_than_clusters_gives_the_rank():
    """Four groups (q = 6 restrictions) and 3 clusters: R V Rᵀ has rank 3 − 1 = 2."""
    rng = np.random.default_rng(5)
    n_firms, n_years = 90, 6
    firm = np.repeat(np.arange(n_firms), n_years)
    x = 4.0 + 0.5 * rng.normal(size=firm.size)
    grp = rng.integers(0, 4, firm.size)
    y = x - 0.12 * x**2 + 0.2 * grp + rng.normal(size=n_firms)[firm] + rng.normal(size=firm.size)
    df = pd.DataFrame({"firm": firm, "year": np.tile(np.arange(n_years), n_firms), "prov": firm % 3,
                       "grp": np.array(list("ABCD"))[grp], "x": x, "w": rng.normal(size=firm.size), "y": y})
    split = split_groups(df, "grp")
    fitted = pooled_interaction(Panel(frame=df, source="t"), split, "y", "x", ["w"], ["firm", "year"], "cluster",
                                ("prov",), 0.95)
    t = equality_tests(fitted, "x", 4)
    j = t["joint"]
    assert j["q"] == 6 and j["rank"] == j["df1"] == 2 and j["df2"] == 2
    R = np.vstack(equality_restrictions(list(fitted.fit.x_names), "x", 4))
    d = R @ fitted.fit.coef
    assert j["wald"] == pytest.approx(d @ np.linalg.pinv(R @ fitted.fit.vcov @ R.T, rtol=1e-10) @ d, rel=1e-8)
    assert np.isfinite(j["F"]) and 0 <= j["p_F"] <= 1


def test_split_groups_levels_and_cuts():
    df = pd.DataFrame({"year": [2004, 2007, 2008, 2013, 2010], "own": ["SOE", "non-SOE", None, "SOE", "x"]})
    s = split_groups(df, "year", cuts=[2008])
    assert s.labels == ("2004-2007", "2008-2013") and s.codes.tolist() == [0, 0, 1, 1, 1]
    s = split_groups(df, "own", levels=["SOE", "non-SOE"])
    assert s.codes.tolist() == [0, 1, -1, 0, -1]  # missing and unlisted values are in no group
    with pytest.raises(DataError, match="do not occur"):
        split_groups(df, "own", levels=["SOE", "private"])
    with pytest.raises(DataError, match="not a column"):
        split_groups(df, "region")
    with pytest.raises(DataError, match="at least 2"):
        split_groups(df, "year", cuts=[2000])


def analysis_config(*overrides):
    return compose_config("estimate", [
            "model=heterogeneity", "model.outcome=y", "model.treatment=x", "model.controls=[w]",
            "model.split_by=grp", "model.cluster=firm", "inference.kind=fe", "output.plots=false", *overrides])


@pytest.mark.parametrize("switching", [True, False])
def test_run_says_whether_the_group_level_is_absorbed(switching):
    df = panel_frame(6, n_firms=150, n_years=6, switching=switching)
    res = heterogeneity.run(Panel(frame=df, source="test", id="firm", time="year"), analysis_config(), Timings())
    levels = res.summary["group_levels"]
    assert res.summary["equality_test"]["joint"]["rank"] == 2
    if switching:
        assert levels["varies_within"] == ["firm", "year"] and levels["included"] == ["group_g1"]
        assert levels["note"].startswith("grp varies within firm and within year: group level effects")
        assert "pooled interaction" in res.fits and res.fits["pooled interaction"].dropped_collinear == ()
    else:
        assert levels["absorbed_by"] == ["firm"] and levels["dropped_collinear"] == ["group_g1"]
        assert levels["note"].startswith("grp is constant within firm")
    assert levels["note"] in res.notes and levels["note"] in res.report
    assert [c.title for c in res.columns] == ["A", "B"]


# ---------------------------------------------------------------------------------------
# Size and power, many replications at once
# ---------------------------------------------------------------------------------------

_fit_many = jax.jit(jax.vmap(lambda y, X, mask: fit_grid(y, X, mask, absorb="firm_year", vcovs=("cluster",))))


def equal_curves_f_test(x, g, w, y, main_effects=True):
    """The firm-clustered F test of equal curves on each of R panels (R, T, F), with the
    analysis's own columns and restrictions; the columns without 1[g] reproduce the old model.
    Returns the tests (models.wald.WaldBatch)."""
    cols = pooled_columns("x", x, g, 2)
    if not main_effects:
        cols = {k: v for k, v in cols.items() if k not in level_names(2)}
    names = [*cols, "w"]
    X = np.stack([*cols.values(), w], axis=1)  # (R, k, T, F)
    fit = _fit_many(jnp.asarray(y), jnp.asarray(X), jnp.ones(y.shape, bool))
    R = np.vstack(equality_restrictions(names, "x", 2))
    return wald_batch(np.asarray(fit.coef), np.asarray(fit.vcov["cluster"]), R, df=np.asarray(fit.df_t["cluster"]))


def test_batched_test_is_the_analysis_test():
    x, g, w, y = simulate(np.random.default_rng(8), 3, 100, 6)
    out = equal_curves_f_test(x, g, w, y)
    for r in range(3):
        t = equality_tests(pooled(as_frame(x, g, w, y, r), "cluster", ("firm",)), "x", 2)["joint"]
        assert out.F[r] == pytest.approx(t["F"], rel=1e-8) and out.df[r] == t["df2"]


@pytest.mark.slow
def test_size_with_a_time_varying_group_and_a_level_shift():
    """Equal curves, group B's level 0.3 higher, the group switching within firm and correlated
    with x: the F test rejects at its nominal 5% (within 3 MC SEs); without the group main
    effects (the old pooled model) it rejects nearly always."""
    R = 1000
    x, g, w, y = simulate(np.random.default_rng(2024), R, 200, 6)
    size = np.mean(equal_curves_f_test(x, g, w, y).p_F < 0.05)
    without = np.mean(equal_curves_f_test(x, g, w, y, main_effects=False).p_F < 0.05)
    mcse = np.sqrt(0.05 * 0.95 / R)
    print(f"equal-curves F test, time-varying group: size {size:.3f} (MC SE {mcse:.3f}); "
          f"without 1[g]: {without:.3f}")
    assert abs(size - 0.05) <= 3 * mcse
    assert without >= 0.9


@pytest.mark.slow
def test_power_against_unequal_curves():
    """Group B's slope lower by 0.2 everywhere (b1 1.0 vs 0.8), same switching design."""
    R = 300
    x, g, w, y = simulate(np.random.default_rng(99), R, 200, 6, b1=(1.0, 0.8))
    power = np.mean(equal_curves_f_test(x, g, w, y).p_F < 0.05)
    print(f"equal-curves F test: power {power:.3f} against b1 1.0 vs 0.8")
    assert power >= 0.8
