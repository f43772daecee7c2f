"""Variance estimators: statsmodels (pooled OLS, where its corrections coincide with
pyfixest's), explicit loops over clusters, the degrees-of-freedom rules of pyfixest 0.60,
and pyfixest itself on a fixed-effects fit. The public functions and ``fit_fe`` share one
assembly (``fe_vcov``); ``fit_fe`` is compared with pyfixest in ``test_fixed_effects.py``.
fixest's eigenvalue fix of a two-way variance is checked against a hand computation (pyfixest
0.60 has no such fix: without it the two agree)."""

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


# ---------------------------------------------------------------------------------------
# One assembly: fe_vcov with zero rows outside the sample and a column selection equals the
# public functions on the compacted data
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vt", ["iid", "hc1", "cluster", "twoway"])
def test_fe_vcov_on_padded_block_equals_public_functions(ols, vt):
    X, u, g1, g2, B, n, k = (ols[c] for c in ("X", "resid", "g1", "g2", "bread", "n", "k"))
    public = {
        "iid": lambda: V.iid_vcov(B, u, k),
        "hc1": lambda: V.hc1_vcov(B, X, u, k),
        "cluster": lambda: V.cluster_vcov(B, X, u, g1, 25, k),
        "twoway": lambda: V.twoway_cluster_vcov(B, X, u, g1, g2, (25, 8), k),
    }[vt]()
    # [extra column | X] with 7 extra rows of zeros whose codes sit in sentinel clusters
    pad = 7
    block = np.zeros((n + pad, k + 1))
    block[:n, 1:] = X
    block[:n, 0] = 99.0
    upad = np.concatenate([u, np.zeros(pad)])
    c1 = np.concatenate([g1, np.full(pad, 25)]).astype(np.int32)
    c2 = np.concatenate([g2, np.full(pad, 8)]).astype(np.int32)
    c = {"iid": 0, "hc1": 0, "cluster": 1, "twoway": 2}[vt]
    ours, info = V.fe_vcov(vt, B, block, upad, k, n_obs=n, clusters=(c1, c2)[:c], n_clusters=(25, 8)[:c],
                           segments=(26, 9)[:c], columns=np.arange(1, k + 1), overwrite=True)
    np.testing.assert_allclose(ours, public, rtol=1e-12)
    assert info["psd_fixed"] is False
    assert info["min_eigenvalue"] == pytest.approx(np.linalg.eigvalsh(public)[0], rel=1e-9)


# ---------------------------------------------------------------------------------------
# fixest's eigenvalue fix of a two-way variance with a negative diagonal
# ---------------------------------------------------------------------------------------


def _not_psd_panel():
    """4 x 4 two-way clusters, 60 rows: the CGM variance has negative diagonal elements."""
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"g1": rng.integers(0, 4, n), "g2": rng.integers(0, 4, n)})
    df["x1"] = rng.standard_normal(n)
    df["x2"] = rng.standard_normal(n) + 0.5 * df.g1
    df["x3"] = rng.standard_normal(n)
    df["y"] = df.x1 - df.x2 + 0.5 * df.x3 + rng.standard_normal(n) + rng.standard_normal(4)[df.g2]
    return df


def test_eigen_fix_equals_hand_computation():
    df = _not_psd_panel()
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2", "x3"]].to_numpy()])
    y = df.y.to_numpy()
    B = np.linalg.inv(X.T @ X)
    u = y - X @ (B @ X.T @ y)
    g1, g2 = df.g1.to_numpy().astype(np.int32), df.g2.to_numpy().astype(np.int32)
    raw = V.twoway_cluster_vcov(B, X, u, g1, g2, (4, 4), 4, fix_psd=False)
    assert (np.diag(raw) < 0).any()
    lam, U = np.linalg.eigh(raw)
    hand = U @ np.diag(np.maximum(lam, 1e-10)) @ U.T  # fixest: pmax(eigenvalues, 1e-10)
    fixed = V.twoway_cluster_vcov(B, X, u, g1, g2, (4, 4), 4)
    np.testing.assert_allclose(fixed, hand, rtol=1e-12, atol=1e-15)
    assert np.all(np.diag(fixed) > 0) and np.linalg.eigvalsh(fixed)[0] >= 1e-10 * (1 - 1e-6)


def test_eigen_fix_only_for_a_negative_diagonal():
    Vm = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1; diagonal positive
    out, applied = V.eigen_fix(Vm)
    assert not applied
    np.testing.assert_array_equal(out, Vm)
    out, applied = V.eigen_fix(np.array([[-1.0, 0.0], [0.0, 2.0]]))
    assert applied
    np.testing.assert_allclose(out, np.diag([1e-10, 2.0]))


def test_fit_records_the_fix_and_matches_pyfixest_without_it():
    import warnings

    import pyfixest as pf

    from tradeq.formula import design_from_formula
    from tradeq.models.fixed_effects import fit_fe

    df = _not_psd_panel()
    design = design_from_formula(df, "y ~ x1 + x2 + x3", cluster=["g1", "g2"])
    fixed = fit_fe(design, "twoway")
    raw = fit_fe(design, "twoway", fix_psd=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ x1 + x2 + x3", df, vcov={"CRV1": "g1+g2"})
    # pyfixest 0.60 has no eigenvalue fix: its variance is our unfixed one, NaN SEs included
    np.testing.assert_allclose(raw.vcov, ref._vcov, rtol=1e-10)
    assert (np.diag(raw.vcov) < 0).any() and (np.diag(ref._vcov) < 0).any()  # NaN standard errors
    assert raw.extras["vcov_psd_fixed"] is False
    assert fixed.extras["vcov_psd_fixed"] is True
    assert fixed.extras["vcov_min_eigenvalue"] == pytest.approx(np.linalg.eigvalsh(raw.vcov)[0], rel=1e-10)
    assert fixed.extras["vcov_min_eigenvalue"] < 0
    lam, U = np.linalg.eigh(raw.vcov)
    np.testing.assert_allclose(fixed.vcov, U @ np.diag(np.maximum(lam, 1e-10)) @ U.T, rtol=1e-10, atol=1e-15)
    assert np.isfinite(fixed.se).all()


# ---------------------------------------------------------------------------------------
# The public functions on a fixed-effects fit against pyfixest
# ---------------------------------------------------------------------------------------


def _fe_panel():
    rng = np.random.default_rng(11)
    firm = np.repeat(np.arange(70), 6)
    year = np.tile(np.arange(6), 70)
    n = firm.size
    df = pd.DataFrame({"firm": firm, "year": year, "region": firm % 9})
    df["x1"] = rng.standard_normal(n) + 0.3 * rng.standard_normal(70)[firm]
    df["x2"] = rng.standard_normal(n) + 0.1 * year
    df["y"] = 0.5 * df.x1 - 0.2 * df.x2 + rng.standard_normal(70)[firm] + rng.standard_normal(n) * (1 + np.abs(df.x1))
    return df


@pytest.mark.parametrize("vt", ["iid", "hc1", "cluster", "twoway"])
def test_public_functions_on_a_fe_fit_equal_pyfixest(vt):
    import warnings

    import pyfixest as pf
    from pyfixest.demeaners import MapDemeaner

    from tradeq.models.within import within_transform

    df = _fe_panel()
    fe = df[["firm", "year"]].to_numpy()
    M, _, _ = within_transform(df[["y", "x1", "x2"]].to_numpy(float), fe)
    y, X = M[:, 0], M[:, 1:]
    B = np.linalg.inv(X.T @ X)
    u = y - X @ (B @ X.T @ y)
    firm, region, year = (df[c].to_numpy().astype(np.int32) for c in ("firm", "region", "year"))
    levels = (70, 6)
    if vt == "iid":
        ours = V.iid_vcov(B, u, V.df_k(2, levels))
        pf_vcov = "iid"
    elif vt == "hc1":
        ours = V.hc1_vcov(B, X, u, V.df_k(2, levels))
        pf_vcov = "hetero"
    elif vt == "cluster":
        nested = V.fe_nested_in_clusters(fe, region[:, None])
        ours = V.cluster_vcov(B, X, u, region, 9, V.df_k(2, levels, nested))
        pf_vcov = {"CRV1": "region"}
    else:
        nested = V.fe_nested_in_clusters(fe, np.column_stack([firm, year]))
        ours = V.twoway_cluster_vcov(B, X, u, firm, year, (70, 6), V.df_k(2, levels, nested))
        pf_vcov = {"CRV1": "firm+year"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ x1 + x2 | firm + year", df, vcov=pf_vcov,
                       demeaner=MapDemeaner(fixef_tol=1e-13, fixef_maxiter=100_000))
    np.testing.assert_allclose(ours, ref._vcov, rtol=1e-8)
