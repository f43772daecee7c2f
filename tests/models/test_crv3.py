"""CRV3 / CRV3J from cluster blocks against a loop that refits OLS without each cluster, and
against the published output of Stata's summclust (MacKinnon, Nielsen & Webb 2023)."""

from __future__ import annotations

import numpy as np
import pytest
from summclust_nlswork import design, published

from tradeq.models import vcov as V
from tradeq.models.crv3 import cluster_blocks, crv3_vcov, leave_one_out
from tradeq.models.wild import cluster_design


def _data(G=9, seed=3, k=4):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), rng.integers(5, 40, G))
    rng.shuffle(cl)
    n = cl.size
    X = np.column_stack([np.ones(n), rng.standard_normal((n, k - 1)) + rng.standard_normal((G, k - 1))[cl]])
    y = X @ np.arange(1.0, k + 1) + rng.standard_normal(G)[cl] + rng.standard_normal(n)
    return y, X, cl


def _refit_loop(y, X, cl, jackknife):
    G = cl.max() + 1
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    loo = np.array([np.linalg.lstsq(X[cl != g], y[cl != g], rcond=None)[0] for g in range(G)])
    d = loo - (loo.mean(axis=0) if jackknife else b)
    return b, loo, (G - 1) / G * d.T @ d


@pytest.mark.parametrize("jackknife", [False, True])
def test_crv3_equals_refitting_without_each_cluster(jackknife):
    y, X, cl = _data()
    res = crv3_vcov(y, X, cl, jackknife=jackknife)
    b, loo, ref = _refit_loop(y, X, cl, jackknife)
    np.testing.assert_allclose(res.coef, b, rtol=1e-10)
    np.testing.assert_allclose(res.beta_loo, loo, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.vcov, ref, rtol=1e-10, atol=1e-14)
    assert res.kind == ("CRV3J" if jackknife else "CRV3") and res.df == 8 and not res.singular.any()


def test_crv3_is_crv3j_plus_the_centring_term():
    # CRV3 = CRV3J + (G-1)(bbar - b)(bbar - b)': the two centrings differ unless bbar = b
    y, X, cl = _data(seed=11)
    r3, r3j = crv3_vcov(y, X, cl), crv3_vcov(y, X, cl, jackknife=True)
    d = r3.beta_loo.mean(axis=0) - r3.coef
    np.testing.assert_allclose(r3.vcov, r3j.vcov + 8 * np.outer(d, d), rtol=1e-10)
    assert not np.allclose(r3.vcov, r3j.vcov, rtol=1e-4)


def test_rows_in_any_order_give_the_same_blocks():
    y, X, cl = _data()
    order = np.argsort(cl, kind="stable")
    a, b = cluster_blocks(y, X, cl), cluster_blocks(y[order], X[order], cl[order])
    np.testing.assert_allclose(a.XX, b.XX, rtol=1e-12)
    np.testing.assert_allclose(a.Xy, b.Xy, rtol=1e-12)
    np.testing.assert_array_equal(a.counts, b.counts)


def test_singular_leave_one_out_keeps_the_identified_coefficients():
    # a dummy for half of cluster 0: without cluster 0 its column is zero
    y, X, cl = _data(G=7, seed=5)
    rows0 = np.flatnonzero(cl == 0)
    d = np.zeros(len(y))
    d[rows0[: len(rows0) // 2]] = 1.0
    Xd = np.column_stack([X, d])
    y = y + 0.7 * d
    loo, singular = leave_one_out(cluster_blocks(y, Xd, cl))
    assert singular.tolist() == [True] + [False] * 6
    ref0 = np.linalg.lstsq(X[cl != 0], y[cl != 0], rcond=None)[0]
    np.testing.assert_allclose(loo[0, :4], ref0, rtol=1e-10)
    assert loo[0, 4] == 0.0
    for g in range(1, 7):
        np.testing.assert_allclose(loo[g], np.linalg.lstsq(Xd[cl != g], y[cl != g], rcond=None)[0], rtol=1e-9)
    drop = crv3_vcov(y, Xd, cl, singular="drop")
    dev = loo[1:] - drop.coef
    np.testing.assert_allclose(drop.vcov, 5 / 6 * dev.T @ dev, rtol=1e-10)
    assert drop.n_used == 6 and drop.df == 5


def test_nested_fe_projected_out_equals_dummies_refit():
    # sub-cluster FE nested in the clusters: projected out by cluster_design vs dummies
    y, X, cl = _data(G=8, seed=9)
    rng = np.random.default_rng(1)
    sub = cl * 3 + rng.integers(0, 3, len(y))
    y = y + rng.standard_normal(sub.max() + 1)[sub]
    d = cluster_design(y, X[:, 1:], sub, cl)
    assert d.nested == (True,) and d.X.shape[1] == 3
    ours = crv3_vcov(d.y, d.X, d.clusters)
    _, sub_codes = np.unique(sub, return_inverse=True)
    D = np.eye(sub_codes.max() + 1)[sub_codes]
    _, _, ref = _refit_loop(y, np.column_stack([X[:, 1:], D]), cl, jackknife=False)
    np.testing.assert_allclose(ours.vcov, ref[:3, :3], rtol=1e-9)


def test_bad_clusters_are_refused():
    y, X, cl = _data()
    with pytest.raises(ValueError, match="dense"):
        crv3_vcov(y, X, np.where(cl == 2, 99, cl))
    with pytest.raises(ValueError, match="at least 2"):
        crv3_vcov(y, X, np.zeros_like(cl))
    with pytest.raises(ValueError, match="integer"):
        crv3_vcov(y, X, cl.astype(float))


@pytest.mark.parametrize("absorb", [False, True], ids=["fevar", "absorb"])
def test_summclust_published_nlswork(absorb):
    pub = published()["absorb" if absorb else "fevar"]
    d = design(absorb)
    assert d.y.size == 17395 and d.n_clusters == 12
    res = crv3_vcov(d.y, d.X, d.clusters)
    assert res.coef[0] == pytest.approx(pub["coef"], abs=5e-7)
    assert res.se[0] == pytest.approx(pub["se_cv3"], abs=5e-7)
    assert (np.flatnonzero(res.singular) + 1).tolist() == published()["singular_clusters"]
    drop = crv3_vcov(d.y, d.X, d.clusters, singular="drop")
    assert drop.se[0] == pytest.approx(pub["se_cv3_drop_singular"], abs=5e-7)
    if not absorb:
        assert res.tstat[0] == pytest.approx(pub["t_cv3"], abs=5e-5)
        assert res.pvalue[0] == pytest.approx(pub["p_cv3"], abs=5e-5)
    # CV1 as summclust computes it: with absorb its N - K counts the 12 absorbed levels
    b, u = res.coef, d.y - d.X @ res.coef
    dfk = d.X.shape[1] + (12 if absorb else 0)
    cv1 = V.cluster_vcov(np.linalg.inv(d.X.T @ d.X), d.X, u, d.clusters, 12, dfk)
    assert np.sqrt(cv1[0, 0]) == pytest.approx(pub["se_cv1"], abs=5e-7)
    assert b[0] == pytest.approx(pub["coef"], abs=5e-7)


def test_a_yx_block_in_cluster_order_is_read_in_place():
    from tradeq.models.crv3 import yx_block

    y, X, cl = _data()
    order = np.argsort(cl, kind="stable")
    F = np.column_stack([y, X])[order]
    assert yx_block(F[:, 0], F[:, 1:]) is not None and yx_block(y, X) is None
    a, b = cluster_blocks(F[:, 0], F[:, 1:], cl[order]), cluster_blocks(y, X, cl)
    np.testing.assert_allclose(a.XX, b.XX, rtol=1e-12)
    np.testing.assert_allclose(a.Xy, b.Xy, rtol=1e-12)
    np.testing.assert_allclose(a.yy, b.yy, rtol=1e-12)
