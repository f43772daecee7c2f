"""Variance estimators: statsmodels (pooled OLS, where its corrections coincide with
pyfixest's), explicit loops over clusters, and the degrees-of-freedom rules of pyfixest 0.60.
The FE versions are compared with pyfixest itself in ``test_fixed_effects.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tradeq.models import vcov as V


@pytest.fixture(scope="module")
def ols():
    rng = np.random.default_rng(7)
    n, G1, G2 = 300, 25, 8
    g1 = rng.integers(0, G1, n)
    g2 = rng.integers(0, G2, n)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 3))])
    u = rng.standard_normal(n) * (1 + np.abs(X[:, 1])) + rng.standard_normal(G1)[g1] + rng.standard_normal(G2)[g2]
    y = X @ np.array([1.0, 0.5, -0.2, 0.1]) + u
    bread = np.linalg.inv(X.T @ X)
    coef = bread @ X.T @ y
    resid = y - X @ coef
    return dict(X=X, y=y, g1=g1.astype(np.int32), g2=g2.astype(np.int32), bread=bread, resid=resid, n=n, k=4)


def test_iid_and_hc1_equal_statsmodels(ols):
    res = sm.OLS(ols["y"], ols["X"]).fit()
    np.testing.assert_allclose(V.iid_vcov(ols["bread"], ols["resid"], ols["k"]), res.cov_params(), rtol=1e-10)
    hc1 = sm.OLS(ols["y"], ols["X"]).fit(cov_type="HC1").cov_params()
    np.testing.assert_allclose(V.hc1_vcov(ols["bread"], ols["X"], ols["resid"], ols["k"]), hc1, rtol=1e-10)


def test_cluster_equals_statsmodels(ols):
    # statsmodels' one-way correction is G/(G-1) (N-1)/(N-k): the CRV1 of pyfixest with df_k = k
    ref = sm.OLS(ols["y"], ols["X"]).fit(cov_type="cluster", cov_kwds={"groups": ols["g1"]}).cov_params()
    ours = V.cluster_vcov(ols["bread"], ols["X"], ols["resid"], ols["g1"], 25, ols["k"])
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def _meat_loop(X, u, codes):
    meat = np.zeros((X.shape[1], X.shape[1]))
    for g in np.unique(codes):
        s = X[codes == g].T @ u[codes == g]
        meat += np.outer(s, s)
    return meat


def test_twoway_equals_cgm_formula(ols):
    X, u, g1, g2, B, n, k = (ols[c] for c in ("X", "resid", "g1", "g2", "bread", "n", "k"))
    pair = pd.factorize(pd.Series(g1).astype(str) + "-" + pd.Series(g2).astype(str))[0]
    meat = _meat_loop(X, u, g1) + _meat_loop(X, u, g2) - _meat_loop(X, u, pair)
    Gm = min(25, 8)
    ref = Gm / (Gm - 1) * (n - 1) / (n - k) * B @ meat @ B
    ours = V.twoway_cluster_vcov(B, X, u, g1, g2, (25, 8), k)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_cluster_meat_and_scores(ols):
    X, u, g1 = ols["X"], ols["resid"], ols["g1"]
    meat = np.asarray(V.cluster_meat(V.scores(X, u), g1, n_clusters=25))
    np.testing.assert_allclose(meat, _meat_loop(X, u, g1), rtol=1e-12)
    s = V.scores(X, u)
    assert s.ctypes.data % 64 == 0
    np.testing.assert_allclose(np.asarray(V.hc_meat(s)), (X * u[:, None]).T @ (X * u[:, None]), rtol=1e-12)


@pytest.mark.parametrize(
    ("k", "levels", "nested", "expected"),
    [
        (4, [], None, 4),  # pooled OLS: k counts the intercept
        (3, [10], None, 13),
        (3, [10, 5], None, 3 + 15 - 1),  # one level per extra dimension is redundant
        (3, [10, 5, 4], None, 3 + 19 - 2),
        (3, [10, 5], [True, False], 3 + 15 - 1 - 10 + 1),  # nested FE counts as one
        (3, [10, 5], [True, True], 3 + 15 - 1 - 15 + 2),
        (3, [10, 5], [False, False], 3 + 15 - 1),
    ],
)
def test_df_k(k, levels, nested, expected):
    assert V.df_k(k, levels, nested) == expected


def test_df_t():
    assert V.df_t("iid", 100, 12) == 88
    assert V.df_t("hc1", 100, 12) == 88
    assert V.df_t("cluster", 100, 12, (9,)) == 8
    assert V.df_t("twoway", 100, 12, (30, 7)) == 6


def test_fe_nested_in_clusters():
    firm = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    year = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    region = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # firms 0,1 in region 0; 2,3 in region 1
    fe = np.column_stack([firm, year])
    np.testing.assert_array_equal(V.fe_nested_in_clusters(fe, region[:, None]), [True, False])
    np.testing.assert_array_equal(V.fe_nested_in_clusters(fe, firm[:, None]), [True, False])
    np.testing.assert_array_equal(V.fe_nested_in_clusters(fe, np.column_stack([region, year])), [True, True])
    mover = region.copy()
    mover[1] = 1  # firm 0 appears in two regions: not nested
    np.testing.assert_array_equal(V.fe_nested_in_clusters(fe, mover[:, None]), [False, False])


def test_intersect_codes_partition():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, 1000)
    b = rng.integers(0, 7, 1000)
    codes, G = V.intersect_codes(a, b)
    ref = pd.factorize(pd.Series(a).astype(str) + "-" + pd.Series(b).astype(str))[0]
    assert G == ref.max() + 1
    # same partition: a one-to-one map between the two labellings
    assert len(set(zip(codes.tolist(), ref.tolist()))) == G
    big_a = a * 10**7  # wide key range: the sort-based path
    codes2, G2 = V.intersect_codes(big_a, b)
    assert G2 == G and len(set(zip(codes2.tolist(), ref.tolist()))) == G
