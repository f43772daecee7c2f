"""Vectorised inference and metrics equal the scalar reference code."""

import numpy as np
import pytest
from scipy import stats

from tradeq.models.fe_result import FEFit
from tradeq.models.utest import utest
from tradeq.montecarlo import metrics as M
from tradeq.montecarlo.inference import t_interval, t_test_reject, utest_inverted_u, wald_reject


def random_cases(n=400, seed=0):
    rng = np.random.default_rng(seed)
    b2 = rng.normal(-0.006, 0.006, n)
    tp = rng.uniform(2.5, 5.5, n)
    b1 = -2 * b2 * tp + rng.normal(0, 0.01, n)
    L = rng.normal(0, 1, (n, 2, 2)) * np.array([0.02, 0.003])[None, :, None]
    V = L @ np.swapaxes(L, 1, 2) + 1e-8 * np.eye(2)
    df = rng.choice([8.0, 60.0, 5000.0, np.inf], n)
    return b1, b2, V, df


def test_utest_matches_reference():
    b1, b2, V, df = random_cases()
    out = utest_inverted_u(b1, b2, V[:, 0, 0], V[:, 0, 1], V[:, 1, 1], 3.165, 4.732, df, level=0.95)
    for i in range(b1.size):
        ref = utest([b1[i], b2[i]], V[i], 3.165, 4.732, df=None if np.isinf(df[i]) else df[i], level=0.95,
                    shape="inverted_u")
        assert out["reject"][i] == ref.reject, i
        assert out["trivial"][i] == ref.trivial_failure
        assert out["t"][i] == pytest.approx(ref.t, rel=1e-12)
        assert out["p"][i] == pytest.approx(ref.p, rel=1e-9, abs=1e-300)
    assert 0 < out["reject"].sum() < b1.size  # both outcomes exercised


def test_t_interval_matches_fefit():
    rng = np.random.default_rng(1)
    coef, se, df = rng.normal(size=50), rng.uniform(0.1, 2, 50), rng.integers(3, 500, 50).astype(float)
    lo, hi = t_interval(coef, se, df, 0.9)
    for i in range(50):
        fit = FEFit(coef=coef[i:i + 1], vcov=np.array([[se[i] ** 2]]), x_names=("x",), y_name="y", vcov_type="iid",
                    df_t=df[i], n_obs=10, rss=1.0, tss=2.0, tss_within=2.0)
        np.testing.assert_allclose([lo[i], hi[i]], fit.conf_int(0.9)[0], rtol=1e-12)
        assert t_test_reject(coef[i], se[i], df[i], alpha=0.1) == (fit.pvalue[0] < 0.1)


def test_wald_is_the_f_test():
    rng = np.random.default_rng(2)
    b = rng.normal(size=(20, 2))
    V = np.repeat(np.eye(2)[None], 20, 0) * 0.7
    F = (b ** 2).sum(1) / 0.7 / 2
    np.testing.assert_array_equal(wald_reject(b, V, 30.0), stats.f.sf(F, 2, 30.0) < 0.05)


def test_metrics_and_mcse():
    rng = np.random.default_rng(3)
    R = 4000
    est = 1.0 + 0.1 + rng.normal(0, 0.5, R)  # bias 0.1, sd 0.5
    v, s = M.bias(est, 1.0)
    assert abs(v - 0.1) < 3 * s and s == pytest.approx(0.5 / np.sqrt(R), rel=0.05)
    r, rs = M.rmse(est, 1.0)
    assert r == pytest.approx(np.sqrt(0.1 ** 2 + 0.25), rel=0.03)
    # delta-method MCSE of the RMSE against a bootstrap of the replications
    boot = [np.sqrt(np.mean((est[i] - 1.0) ** 2)) for i in rng.integers(0, R, (300, R))]
    assert rs == pytest.approx(np.std(boot), rel=0.15)
    flags = rng.random(R) < 0.93
    p, ps = M.rate(flags)
    assert p == flags.mean() and ps == pytest.approx(np.sqrt(p * (1 - p) / R))
    lo, hi = est - 1.0, est + 1.0
    c, _ = M.coverage(lo, hi, np.ones(R))
    assert c == np.mean((lo <= 1) & (1 <= hi))


def test_failed_fits_are_left_out():
    est = np.array([1.0, np.nan, 3.0])
    v, _ = M.bias(est, 0.0)
    assert v == 2.0
    out = M.estimate_metrics(est, np.zeros(3))
    assert np.isnan(out["coverage"][0])


def test_rank_uniformity():
    rng = np.random.default_rng(4)
    uniform = rng.integers(0, 100, (3, 500))
    assert (M.rank_uniformity(uniform, 99) > 0.001).all()
    skewed = np.minimum(rng.integers(0, 100, 500), rng.integers(0, 100, 500))
    assert M.rank_uniformity(skewed, 99) < 1e-6
