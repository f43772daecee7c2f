"""t quantiles, intervals and tests on arrays equal FEFit's own intervals and p-values."""

import numpy as np
import pytest
from scipy import stats

from tradeq.models.fe_result import FEFit
from tradeq.models.tinference import t_interval, t_pvalue, t_quantile, t_sf, t_test_reject


def one_term_fit(coef, se, df):
    return FEFit(coef=np.array([coef]), vcov=np.array([[se**2]]), x_names=("x",), y_name="y", vcov_type="iid",
                 df_t=df, n_obs=10, rss=1.0, tss=2.0, tss_within=2.0)


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_interval_and_pvalue_match_fefit(level):
    rng = np.random.default_rng(1)
    coef, se, df = rng.normal(size=50), rng.uniform(0.1, 2, 50), rng.integers(3, 500, 50).astype(float)
    lo, hi = t_interval(coef, se, df, level)
    p = t_pvalue(coef, se, df)
    for i in range(50):
        fit = one_term_fit(coef[i], se[i], df[i])
        np.testing.assert_allclose([lo[i], hi[i]], fit.conf_int(level)[0], rtol=1e-12, atol=1e-15)
        assert p[i] == pytest.approx(fit.pvalue[0], rel=1e-12, abs=1e-300)
        assert t_test_reject(coef[i], se[i], df[i], alpha=1 - level) == (fit.pvalue[0] < 1 - level)


def test_whole_fit_at_once():
    rng = np.random.default_rng(2)
    k = 6
    L = rng.normal(size=(k, k))
    fit = FEFit(coef=rng.normal(size=k), vcov=L @ L.T / 50, x_names=tuple("abcdef"), y_name="y", vcov_type="cluster",
                df_t=37.0, n_obs=400, rss=1.0, tss=2.0, tss_within=2.0)
    lo, hi = t_interval(fit.coef, fit.se, fit.df_t, 0.95)
    np.testing.assert_allclose(np.column_stack([lo, hi]), fit.conf_int(0.95), rtol=1e-12)
    np.testing.assert_allclose(t_pvalue(fit.coef, fit.se, fit.df_t), fit.pvalue, rtol=1e-12)


def test_infinite_df_is_the_normal():
    assert t_quantile(0.95, np.inf) == pytest.approx(stats.norm.ppf(0.975), rel=1e-15)
    assert t_quantile(0.95, np.nan) == pytest.approx(stats.norm.ppf(0.975), rel=1e-15)
    np.testing.assert_allclose(t_sf([1.0, 2.0], [np.inf, 10.0]), [stats.norm.sf(1.0), stats.t.sf(2.0, 10.0)],
                               rtol=1e-15)
    # the t quantile approaches the normal one
    assert t_quantile(0.95, 1e7) == pytest.approx(t_quantile(0.95, np.inf), rel=1e-6)


def test_undefined_standard_error_never_rejects():
    assert np.isnan(t_pvalue(1.0, np.nan, 10.0))
    assert not t_test_reject(1.0, np.nan, 10.0)
    lo, hi = t_interval([1.0, 2.0], [np.nan, 0.5], [10.0, 10.0])
    assert np.isnan(lo[0]) and np.isfinite(hi[1])
