"""Cluster leverage, partial leverage, influence and G* against brute force (hat matrix,
FWL residuals, refits, the Carter–Schnepel–Steigerwald formula with explicit Omega_g) and
against the published summclust output for nlswork."""

from __future__ import annotations

import numpy as np
import pytest
from summclust_nlswork import design, published

from tradeq.models.cluster_influence import SUMMARY_STATS, cluster_influence, influence_summary, summarize


def _data(G=10, seed=2):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), rng.integers(4, 30, G))
    rng.shuffle(cl)
    n = cl.size
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 3)) + rng.standard_normal((G, 3))[cl]])
    y = X @ np.array([1.0, 0.5, -0.3, 0.0]) + rng.standard_normal(G)[cl] + rng.standard_normal(n)
    return y, X, cl


def test_report_equals_brute_force():
    y, X, cl = _data()
    G, k = cl.max() + 1, X.shape[1]
    ds = cluster_influence(y, X, cl, names=["c", "a", "b", "z"], terms=["a", "z"], rho=(0.0, 0.4, 1.0))
    H = X @ np.linalg.inv(X.T @ X) @ X.T
    np.testing.assert_allclose(ds.leverage, [np.trace(H[np.ix_(cl == g, cl == g)]) for g in range(G)], rtol=1e-10)
    assert float(ds.leverage.sum()) == pytest.approx(k, rel=1e-12)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    for term, j in (("a", 1), ("z", 3)):
        others = np.delete(X, j, axis=1)
        xt = X[:, j] - others @ np.linalg.lstsq(others, X[:, j], rcond=None)[0]
        pl = [xt[cl == g] @ xt[cl == g] / (xt @ xt) for g in range(G)]
        np.testing.assert_allclose(ds.partial_leverage.sel(term=term), pl, rtol=1e-9)
        loo = [np.linalg.lstsq(X[cl != g], y[cl != g], rcond=None)[0][j] for g in range(G)]
        np.testing.assert_allclose(ds.beta_loo.sel(term=term), loo, rtol=1e-10)
        np.testing.assert_allclose(ds.influence.sel(term=term), b[j] - np.array(loo), rtol=1e-8, atol=1e-13)
        w = np.linalg.inv(X.T @ X)[:, j]
        for rho in (0.0, 0.4, 1.0):
            gam = []
            for g in range(G):
                Xg = X[cl == g]
                Omega = (1 - rho) * np.eye(len(Xg)) + rho * np.ones((len(Xg), len(Xg)))
                gam.append(w @ Xg.T @ Omega @ Xg @ w)
            gam = np.array(gam)
            ref = G / (1 + np.mean(((gam - gam.mean()) / gam.mean()) ** 2))
            assert float(ds.gstar.sel(term=term, rho=rho)) == pytest.approx(ref, rel=1e-10)
    np.testing.assert_array_equal(ds.n_obs, np.bincount(cl))
    assert set(ds.dims) == {"cluster", "term", "rho"} and not ds.singular.any()


def test_summary_statistics_follow_stata():
    # Stata's summarize percentiles: average of two order statistics when n p is whole
    s = summarize(np.arange(1.0, 13.0))
    assert (s["q1"], s["median"], s["q3"]) == (3.5, 6.5, 9.5)
    assert s["coefvar"] == pytest.approx(np.std(np.arange(1.0, 13.0), ddof=1) / 6.5)


@pytest.mark.parametrize("absorb", [False, True], ids=["fevar", "absorb"])
def test_summclust_published_nlswork(absorb):
    pub = published()["absorb" if absorb else "fevar"]
    d = design(absorb)
    ds = cluster_influence(d.y, d.X, d.clusters, names=d.names, terms=["msp"], fe_nested=d.fe_nested)
    table = influence_summary(ds, "msp")
    assert list(table.stat.values) == list(SUMMARY_STATS)
    for var, tol in (("leverage", 5e-7), ("beta_loo", 5e-7)):
        np.testing.assert_allclose(table[var].values, pub["summary"][var], atol=tol, rtol=0)
    if not absorb:
        np.testing.assert_allclose(table["n_obs"].values, pub["summary"]["n_obs"], atol=5e-3, rtol=0)
        kept = ds.beta_loo.sel(term="msp").values[~ds.singular.values]
        np.testing.assert_allclose(list(summarize(kept).values())[:6], pub["summary"]["beta_loo_kept"][:6], atol=5e-7)
        # summclust divides by G - 1 with all 12 clusters even for the 10 kept ones
        cv = np.sqrt(np.sum((kept - kept.mean()) ** 2) / (11 * kept.mean() ** 2))
        assert cv == pytest.approx(pub["summary"]["beta_loo_kept"][6], abs=5e-7)
        assert float(ds.gstar.sel(term="msp", rho=0.0)) == pytest.approx(pub["gstar_0"], abs=5e-4)
        assert float(ds.gstar.sel(term="msp", rho=1.0)) == pytest.approx(pub["gstar_1"], abs=5e-4)
    else:
        # FE nested in the clusters: 1'X_g = 0, so G*(rho > 0) is undefined
        assert np.isnan(float(ds.gstar.sel(term="msp", rho=1.0)))
