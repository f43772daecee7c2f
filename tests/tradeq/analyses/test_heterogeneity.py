"""Split samples, the pooled interaction model and its Wald test of equal curves; (slow) the
test's size when the groups share b1, b2 and its power when they do not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tradeq.analyses.groups import split_groups
from tradeq.analyses.heterogeneity import equality_tests, interaction_names, pooled_interaction, wald_test
from tradeq.formula import feols
from tradeq.panel import DataError, Panel


def grouped_panel(seed=0, n_firms=300, n_years=6, b1=(1.0, 1.0), b2=(-0.12, -0.12), share=0.4, rho=0.5):
    """Two groups of firms with their own inverted U in x; firm and year effects; AR(1) errors
    within firm (so that clustering by firm matters)."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    t = np.tile(np.arange(n_years), n_firms)
    g_of = (rng.random(n_firms) >= share).astype(int)
    g = g_of[firm]
    x = 4.0 + 0.3 * rng.normal(size=n_firms)[firm] + 0.5 * rng.normal(size=firm.size)
    w = rng.normal(size=firm.size)
    z = rng.normal(size=(n_firms, n_years))
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    for j in range(1, n_years):
        e[:, j] = rho * e[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    y = (np.asarray(b1)[g] * x + np.asarray(b2)[g] * x**2 + 0.3 * w + rng.normal(size=n_firms)[firm]
         + rng.normal(size=n_years)[t] + 0.5 * e.reshape(-1))
    return pd.DataFrame({"firm": firm, "year": 2000 + t, "grp": np.where(g == 0, "A", "B"), "x": x, "w": w, "y": y})


def test_wald_statistic_by_hand():
    b = np.array([1.0, 2.0, 3.0])
    V = np.array([[0.5, 0.1, 0.0], [0.1, 0.4, 0.05], [0.0, 0.05, 0.3]])
    R = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    r = R @ b
    W = r @ np.linalg.inv(R @ V @ R.T) @ r
    out = wald_test(b, V, R, df=50)
    assert out["wald"] == pytest.approx(W, rel=1e-12) and out["q"] == 2
    assert out["F"] == pytest.approx(W / 2, rel=1e-12)
    assert out["p_chi2"] == pytest.approx(stats.chi2.sf(W, 2), rel=1e-10)
    assert out["p_F"] == pytest.approx(stats.f.sf(W / 2, 2, 50), rel=1e-10)


def test_pooled_interaction_matches_explicit_dummies_and_statsmodels_f_test():
    df = grouped_panel(1, b1=(1.0, 0.5), b2=(-0.12, -0.06))
    p = Panel(frame=df, source="test")
    split = split_groups(df, "grp")
    fitted = pooled_interaction(p, split, "y", "x", ["w"], ["firm", "year"], "iid", (), 0.95)
    tests = equality_tests(fitted, "x", 2)
    # the same model written out: x·1[g], x²·1[g] built from the raw x, then FE
    d = df.assign(xA=df.x * (df.grp == "A"), xB=df.x * (df.grp == "B"),
                  qA=df.x**2 * (df.grp == "A"), qB=df.x**2 * (df.grp == "B"))
    ref = feols(d, "y ~ xA + xB + qA + qB + w | firm + year", vcov="iid")
    lin, sq = interaction_names("x", 2)
    np.testing.assert_allclose([fitted.fit.coef[fitted.fit.index(c)] for c in lin + sq], ref.coef[:4], rtol=1e-9)
    # F test with iid errors equals the classical nested-model F of statsmodels (FE as dummies)
    X = pd.get_dummies(d[["firm", "year"]].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([d[["xA", "xB", "qA", "qB", "w"]], X], axis=1))
    ols = sm.OLS(d["y"], X).fit()
    f = ols.f_test("xA - xB = 0, qA - qB = 0")
    assert tests["joint"]["F"] == pytest.approx(float(np.squeeze(f.fvalue)), rel=1e-6)
    assert tests["joint"]["df2"] == pytest.approx(float(f.df_denom))
    assert tests["joint"]["p_F"] == pytest.approx(float(f.pvalue), rel=1e-5)


def test_clustered_wald_uses_cluster_df():
    df = grouped_panel(2)
    split = split_groups(df, "grp")
    fitted = pooled_interaction(Panel(frame=df, source="t"), split, "y", "x", ["w"], ["firm", "year"], "cluster",
                                ("firm",), 0.95)
    t = equality_tests(fitted, "x", 2)
    assert t["joint"]["q"] == 2 and t["joint"]["df2"] == 299  # G − 1 firms
    assert t["b1"]["q"] == 1 and t["b2"]["q"] == 1 and t["clusters"] == {"firm": 300}


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


@pytest.mark.slow
def test_wald_size_and_power():
    """Firm-clustered F test of equal b1, b2 (two groups): rejection rate ≈ 5% when the groups
    share the curve (AR(1) errors within firm), high when they differ (group B's slope lower by
    0.15 everywhere, about 4 of its standard errors)."""

    def reject(seed, b1, b2):
        df = grouped_panel(seed, b1=b1, b2=b2)
        split = split_groups(df, "grp")
        fitted = pooled_interaction(Panel(frame=df, source="t"), split, "y", "x", ["w"], ["firm", "year"],
                                    "cluster", ("firm",), 0.95)
        return equality_tests(fitted, "x", 2)["joint"]["p_F"] < 0.05

    size = np.mean([reject(100 + r, (1.0, 1.0), (-0.12, -0.12)) for r in range(200)])
    power = np.mean([reject(900 + r, (1.0, 0.85), (-0.12, -0.12)) for r in range(100)])
    print(f"Wald F test of equal curves: size {size:.3f} (nominal 0.05), power {power:.3f}")
    assert 0.02 <= size <= 0.09
    assert power >= 0.8
