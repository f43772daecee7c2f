"""cluster_design: FE nested in the clusters projected out give the same bootstrap as the
explicit dummies (brute force over all sign vectors); a non-nested FE must stay dummies;
the CRV1 t with the design's ssc is pyfixest's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from wild_refs import brute_t_boot, sign_vectors

from tradeq.models.crv3 import cluster_blocks
from tradeq.models.wild import cluster_design, wild_distribution, wild_test


def _firm_panel(G=8, firms_per=4, T=5, seed=41):
    """Firms nested in provinces (the clusters), unbalanced years, province-year shocks."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(G * firms_per):
        years = np.arange(rng.integers(0, 2), T - rng.integers(0, 2))
        rows += [(f, f // firms_per, t) for t in years]
    rows.append((G * firms_per, 0, 0))  # a singleton firm
    firm, prov, year = (np.array(c) for c in zip(*rows))
    n = firm.size
    x1 = rng.standard_normal(n) + rng.standard_normal((G, T))[prov, year]
    x2 = rng.standard_normal(n)
    y = (0.5 * x1 - 0.2 * x2 + rng.standard_normal(firm.max() + 1)[firm] + 0.3 * year
         + rng.standard_normal((G, T))[prov, year] + rng.standard_normal(n))
    return pd.DataFrame(dict(y=y, x1=x1, x2=x2, firm=firm, prov=prov, year=year))


def _dummies(codes):
    _, inv = np.unique(codes, return_inverse=True)
    return np.eye(inv.max() + 1)[inv]


def test_nested_fe_projected_out_equals_explicit_dummies():
    df = _firm_panel()
    d = cluster_design(df.y.values, df[["x1", "x2"]].values, df[["firm", "year"]].values, df.prov.values,
                       names=["x1", "x2"], fe_names=["firm", "year"])
    assert d.nested == (True, False) and d.rows.size == len(df) - 1 and np.all(np.diff(d.clusters) >= 0)
    assert d.names[:2] == ("x1", "x2") and d.X.shape[1] == 2 + 4  # year dummies, one level left out
    kept = df.iloc[d.rows]
    # explicit design: every firm dummy and the year dummies but one
    Xfull = np.column_stack([kept[["x1", "x2"]].values, _dummies(kept.firm.values), _dummies(kept.year.values)[:, 1:]])
    cl = d.clusters
    R = d.restriction([1.0, 0.0])
    for null, r in (("restricted", 0.4), ("unrestricted", 0.0)):
        dist = wild_distribution(cluster_blocks(d.y, d.X, cl), R, null=null, ssc=d.ssc)
        Rfull = np.r_[1.0, np.zeros(Xfull.shape[1] - 1)]
        ref = brute_t_boot(kept.y.values, Xfull, cl, Rfull, r, sign_vectors(8), null=null, ssc=d.ssc)
        np.testing.assert_allclose(dist.t_boot(r), ref, rtol=1e-9, atol=1e-10)


def test_projecting_out_a_non_nested_fe_would_change_the_bootstrap():
    # the reason year effects are dummies: demeaning by year before the bootstrap is not
    # the same bootstrap (the bootstrap residuals are no longer orthogonal to the year FE)
    df = _firm_panel()
    good = cluster_design(df.y.values, df[["x1", "x2"]].values, df[["firm", "year"]].values, df.prov.values)
    keep = good.rows
    from tradeq.models.within import within_transform

    Z, _, _ = within_transform(np.column_stack([df.y, df.x1, df.x2])[keep], df[["firm", "year"]].values[keep])
    R = np.array([1.0, 0.0])
    wrong = wild_distribution(cluster_blocks(Z[:, 0], Z[:, 1:], good.clusters), R, ssc=good.ssc)
    right = wild_distribution(cluster_blocks(good.y, good.X, good.clusters), good.restriction(R), ssc=good.ssc)
    assert wrong.estimate == pytest.approx(right.estimate, rel=1e-10)  # FWL: same slope and t
    assert wrong.se == pytest.approx(right.se, rel=1e-10)
    assert np.max(np.abs(wrong.t_boot(0.0) - right.t_boot(0.0))) > 1e-3


def test_crv1_t_with_the_design_ssc_is_pyfixest():
    pf = pytest.importorskip("pyfixest")
    df = _firm_panel(G=10, seed=42)
    from pyfixest.demeaners import MapDemeaner

    # its default demeaning tolerance (1e-6) moves the t in the 8th digit
    with pytest.warns(UserWarning, match="singleton"):  # the one singleton firm, dropped by both
        fit = pf.feols("y ~ x1 + x2 | firm + year", df, vcov={"CRV1": "prov"},
                       demeaner=MapDemeaner(fixef_tol=1e-13, fixef_maxiter=100_000))
    d = cluster_design(df.y.values, df[["x1", "x2"]].values, df[["firm", "year"]].values, df.prov.values)
    for j, name in enumerate(["x1", "x2"]):
        R = np.zeros(2)
        R[j] = 1.0
        res = wild_test(d.y, d.X, d.clusters, d.restriction(R), 0.0, ssc=d.ssc, level=None, reps=99)
        assert res.estimate == pytest.approx(fit.coef()[name], rel=1e-8)
        assert res.t == pytest.approx(fit.tstat()[name], rel=1e-8)
    assert d.y.size == fit._N


def test_design_without_fe_and_errors():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(50), rng.standard_normal(50)])
    y = rng.standard_normal(50)
    cl = np.repeat([10, 20, 30, 40, 50], 10)
    d = cluster_design(y, X, None, cl)
    assert d.X.shape == (50, 2) and d.clusters.max() == 4 and d.df_k == 2 and not d.fe_nested
    with pytest.raises(ValueError, match="collinear"):
        cluster_design(y, np.column_stack([X, X[:, 1]]), None, cl)
    with pytest.raises(ValueError, match="collinear with the fixed effects"):
        cluster_design(y, np.column_stack([X[:, 1], cl.astype(float)]), cl, cl)
