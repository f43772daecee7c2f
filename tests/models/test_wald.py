"""The Wald test of ``R b = r`` against pyfixest 0.60's and statsmodels' ``wald_test``, full-rank
and singular (more restrictions than clusters − 1), one fit and many at once."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from scipy import stats

from tradeq.models.wald import wald_batch, wald_test

NAMES = ["x1", "x2", "x3", "x4", "x5", "x6"]


@pytest.fixture(scope="module")
def data():
    """600 rows: 60 firms in 4 provinces, 10 rows each; six regressors, firm effects."""
    rng = np.random.default_rng(7)
    firm = np.repeat(np.arange(60), 10)
    prov = firm % 4
    X = rng.normal(size=(600, 6)) + 0.5 * rng.normal(size=(60, 6))[firm]
    y = X @ np.array([0.5, 0.45, -0.2, 0.1, 0.0, 0.3]) + rng.normal(size=60)[firm] + rng.normal(size=600) * (1 + 0.3 * prov)
    return pd.DataFrame({"y": y, **dict(zip(NAMES, X.T)), "firm": firm, "prov": prov})


def feols(df, cluster):
    return pf.feols("y ~ " + " + ".join(NAMES) + " | firm", data=df, vcov={"CRV1": cluster})


# Two restrictions with a non-zero right-hand side, and six (x1 = … = x6 = 0.1·j pattern) that
# a 4-cluster variance cannot all identify: R V Rᵀ (6 × 6) has rank 4 − 1 = 3.
R2 = np.array([[1.0, -1.0, 0, 0, 0, 0], [0, 0, 1.0, 1.0, 0, 0]])
r2 = np.array([0.05, -0.1])
R6 = np.eye(6)
r6 = 0.1 * np.arange(6)


def pyfixest_wald(fit, R, r):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest switches F → χ² for R ≠ I and says so
        fit.wald_test(R=R, q=r, distribution="chi2")
    return float(fit._wald_statistic), float(fit._p_value), int(fit._dfn)


def test_full_rank_matches_pyfixest(data):
    fit = feols(data, "firm")
    b, V = fit.coef().to_numpy(), fit._vcov
    W, p, dfn = pyfixest_wald(fit, R2, r2)
    out = wald_test(b, V, R2, r2, df=59)
    assert out["rank"] == dfn == 2 and out["q"] == 2 and out["df1"] == 2
    assert out["wald"] == pytest.approx(W, rel=1e-8)
    assert out["p_chi2"] == pytest.approx(p, rel=1e-8)
    # R = I, r = 0: pyfixest's F form, F(k, G − 1) (its p-value is 1 − cdf: compare absolutely)
    fit.wald_test(distribution="F")
    full = wald_test(b, V, df=fit._dfd)
    assert full["F"] == pytest.approx(float(fit._f_statistic), rel=1e-8) and fit._dfd == 59
    assert full["p_F"] == pytest.approx(float(fit._p_value), rel=1e-8, abs=1e-14)


def test_singular_middle_matrix_matches_pyfixest_and_statsmodels(data):
    fit = feols(data, "prov")
    b, V = fit.coef().to_numpy(), fit._vcov
    M = R6 @ V @ R6.T
    s = np.linalg.svd(M, compute_uv=False)
    assert s[3] < 1e-15 * s[0]  # exactly singular in floating point: rank 3 of 6
    W, _, dfn = pyfixest_wald(fit, R6, r6)
    out = wald_test(b, V, R6, r6, df=3)
    assert dfn == 6 and out["q"] == 6 and out["rank"] == out["df1"] == 3
    assert out["wald"] == pytest.approx(W, rel=1e-8)
    # pyfixest keeps 6 numerator dof; statsmodels, like us, uses the rank of R V Rᵀ.
    assert out["p_chi2"] == pytest.approx(stats.chi2.sf(W, 3), rel=1e-8)
    # statsmodels on its own cluster-robust OLS (firm dummies), with the same 4 clusters
    X = pd.get_dummies(data["firm"].astype(str), drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([data[NAMES], X], axis=1))
    res = sm.OLS(data["y"], X).fit(cov_type="cluster", cov_kwds={"groups": data["prov"]})
    Rfull = np.zeros((6, X.shape[1]))
    Rfull[:, 1:7] = R6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "covariance of constraints does not have full rank"
        ref = res.wald_test((Rfull, r6), use_f=True, scalar=True)
    ours = wald_test(res.params.to_numpy(), res.cov_params().to_numpy(), Rfull, r6, df=float(ref.df_denom))
    assert ours["rank"] == int(ref.df_num) == 3 and ref.df_denom == 3
    assert ours["F"] == pytest.approx(float(ref.fvalue), rel=1e-8)
    assert ours["p_F"] == pytest.approx(float(ref.pvalue), rel=1e-8)
    # a plain solve on the same matrix gives noise (or fails): the reason for the pseudo-inverse
    d = R6 @ b - r6
    try:
        noisy = float(d @ np.linalg.solve(M, d))
    except np.linalg.LinAlgError:
        noisy = np.inf
    assert not noisy == pytest.approx(W, rel=1e-3)


def test_full_rank_matches_statsmodels_iid():
    rng = np.random.default_rng(3)
    X = sm.add_constant(rng.normal(size=(200, 4)))
    y = X @ np.array([1.0, 0.2, 0.0, -0.1, 0.05]) + rng.normal(size=200)
    res = sm.OLS(y, X).fit()
    R = np.array([[0, 1.0, -1.0, 0, 0], [0, 0, 1.0, 0, 0], [0, 0, 0, 1.0, 1.0]])
    r = np.array([0.1, 0.0, -0.05])
    ref = res.wald_test((R, r), use_f=True, scalar=True)
    ours = wald_test(res.params, res.cov_params(), R, r, df=res.df_resid)
    assert ours["F"] == pytest.approx(float(ref.fvalue), rel=1e-10)
    assert ours["p_F"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    chi = res.wald_test((R, r), use_f=False, scalar=True)
    assert ours["wald"] == pytest.approx(float(chi.statistic), rel=1e-10)
    assert ours["p_chi2"] == pytest.approx(float(chi.pvalue), rel=1e-9)


def test_batch_equals_one_at_a_time_and_isolates_failures():
    rng = np.random.default_rng(5)
    n, k = 50, 3
    b = rng.normal(size=(n, k))
    L = rng.normal(size=(n, k, k))
    V = L @ np.swapaxes(L, 1, 2) + 0.1 * np.eye(k)
    V[7] = np.nan  # a failed fit
    V[9, :, 2] = V[9, 2, :] = 0.0  # a coefficient with zero variance: rank 2 of R = I
    df = rng.integers(5, 100, n).astype(float)
    out = wald_batch(b, V, df=df)
    for i in range(n):
        if i == 7:
            assert np.isnan(out.wald[i]) and out.rank[i] == 0 and np.isnan(out.p_F[i])
            continue
        one = wald_test(b[i], V[i], df=df[i])
        np.testing.assert_allclose([out.wald[i], out.F[i], out.p_F[i], out.p_chi2[i]],
                                   [one["wald"], one["F"], one["p_F"], one["p_chi2"]], rtol=1e-12)
        assert out.rank[i] == one["rank"] == (2 if i == 9 else 3)
        ref = b[i] @ np.linalg.pinv(V[i]) @ b[i]
        assert out.wald[i] == pytest.approx(ref, rel=1e-10)
    # no df: the F p-value is the χ² one (F(m, ∞) = χ²(m)/m)
    nodf = wald_batch(b, V)
    np.testing.assert_array_equal(nodf.p_F, nodf.p_chi2)
    assert wald_test(b[0], V[0])["p_F"] is None
    assert out.to_dataset().sizes == {"replication": n}


def test_nothing_testable_is_nan():
    out = wald_test(np.array([1.0, 2.0]), np.zeros((2, 2)), df=10)
    assert out["rank"] == 0 and np.isnan(out["wald"]) and np.isnan(out["p_F"]) and np.isnan(out["p_chi2"])


def test_input_errors():
    with pytest.raises(ValueError, match="columns"):
        wald_test(np.zeros(3), np.eye(3), R=np.eye(2))
    with pytest.raises(ValueError, match="entries"):
        wald_test(np.zeros(3), np.eye(3), R=np.eye(3), r=np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        wald_test(np.zeros(3), np.eye(2))


def test_rank_cutoff_ignores_rounding_noise_that_pinv_inverts():
    """Four groups' equal-curves restrictions (q = 6) with 3 clusters: R V Rᵀ has rank 2, its
    other singular values are rounding noise of 1e-14 to 1e-13 of the largest, which numpy's
    pinv default (1e-15, pyfixest's wald_test) inverts."""
    rng = np.random.default_rng(5)
    firm = np.repeat(np.arange(90), 6)
    x = 4.0 + 0.5 * rng.normal(size=firm.size)
    grp = rng.integers(0, 4, firm.size)
    y = x - 0.12 * x**2 + 0.2 * grp + rng.normal(size=90)[firm] + rng.normal(size=firm.size)
    df = pd.DataFrame({"y": y, "firm": firm, "year": np.tile(np.arange(6), 90), "prov": firm % 3})
    names = []
    for g in range(4):
        df[f"x{g}"], df[f"q{g}"] = x * (grp == g), x**2 * (grp == g)
        names += [f"x{g}", f"q{g}"]
    for g in range(1, 4):
        df[f"d{g}"] = (grp == g).astype(float)
    fit = pf.feols("y ~ " + " + ".join(names + ["d1", "d2", "d3"]) + " | firm + year", data=df, vcov={"CRV1": "prov"})
    b, V = fit.coef().to_numpy(), fit._vcov
    R = np.zeros((6, b.size))
    for g in range(1, 4):
        R[g - 1, [0, 2 * g]] = [-1.0, 1.0]
        R[2 + g, [1, 2 * g + 1]] = [-1.0, 1.0]
    s = np.linalg.svd(R @ V @ R.T, compute_uv=False)
    assert s[2] > 1e-15 * s[0] and s[2] < 1e-10 * s[0]  # noise that pinv keeps
    out = wald_test(b, V, R, df=2)
    assert out["rank"] == 2
    W_pf, _, _ = pyfixest_wald(fit, R, np.zeros(6))
    assert abs(W_pf) > 1e6 * out["wald"]  # pyfixest's statistic is the inverted noise (either sign)
    # ours: the two genuine directions only — pinv with a cutoff between signal and noise
    d = R @ b
    assert out["wald"] == pytest.approx(d @ np.linalg.pinv(R @ V @ R.T, rtol=1e-10) @ d, rel=1e-8)
