"""Tests of the mediation numerics: product-of-coefficients tests, the cluster bootstrap
(fast cross-product path against the explicit resampling loop) and percentile / BCa
intervals (against scipy.stats.bootstrap fed the same draws, and hand arithmetic)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special, stats

from tradeq.models.mediation import (
    MEDIATION_NAMES,
    aroian,
    bca_ci,
    bca_parameters,
    bootstrap_indirect,
    bootstrap_indirect_loop,
    bootstrap_ols,
    cluster_bootstrap_indices,
    cluster_bootstrap_weights,
    cluster_codes,
    cluster_crossproducts,
    goodman,
    jackknife_crossproducts,
    ols_from_crossproducts,
    percentile_ci,
    sobel,
)

# ---------------------------------------------------------------------------------------
# Sobel / Aroian / Goodman
# ---------------------------------------------------------------------------------------


def test_sobel_textbook_example():
    # a = 2, b = 3, sa = .3, sb = .4:
    # b²sa² = 9·.09 = .81, a²sb² = 4·.16 = .64, sum 1.45; z = 6/√1.45 = 4.9827
    z, p = sobel(2.0, 0.3, 3.0, 0.4)
    assert z == pytest.approx(6.0 / math.sqrt(1.45), rel=1e-14)
    assert round(z, 2) == 4.98
    assert p == pytest.approx(2.0 * stats.norm.sf(6.0 / math.sqrt(1.45)), rel=1e-12)


def test_aroian_and_goodman_by_hand():
    # sa²sb² = .09·.16 = .0144
    z, p = aroian(2.0, 0.3, 3.0, 0.4)
    assert z == pytest.approx(6.0 / math.sqrt(1.45 + 0.0144), rel=1e-14)  # 4.9582
    assert p == pytest.approx(2.0 * stats.norm.sf(z), rel=1e-12)
    z, p = goodman(2.0, 0.3, 3.0, 0.4)
    assert z == pytest.approx(6.0 / math.sqrt(1.45 - 0.0144), rel=1e-14)  # 5.0076
    assert p == pytest.approx(2.0 * stats.norm.sf(z), rel=1e-12)
    # Ordering: Goodman's variance < Sobel's < Aroian's.
    assert aroian(2, 0.3, 3, 0.4)[0] < sobel(2, 0.3, 3, 0.4)[0] < goodman(2, 0.3, 3, 0.4)[0]


def test_goodman_negative_radicand_is_nan_with_reason():
    # a = b = .1, sa = sb = 1: .01 + .01 − 1 < 0
    with pytest.warns(RuntimeWarning, match="negative"):
        z, p = goodman(0.1, 1.0, 0.1, 1.0)
    assert math.isnan(z) and math.isnan(p)


def test_tests_broadcast_over_arrays():
    a = np.array([2.0, -2.0, 0.0])
    z, p = sobel(a, 0.3, 3.0, 0.4)
    assert z.shape == (3,)
    assert z[0] == pytest.approx(-z[1]) and z[2] == 0.0 and p[2] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------


def test_indices_and_weights_consistent_and_chunk_free():
    G = 17
    idx = cluster_bootstrap_indices(3, G, 12)
    w = cluster_bootstrap_weights(3, G, 12)
    assert idx.shape == (12, G) and w.shape == (12, G)
    assert idx.min() >= 0 and idx.max() < G
    np.testing.assert_array_equal(w.sum(axis=1), G)
    for r in range(12):
        np.testing.assert_array_equal(w[r], np.bincount(idx[r], minlength=G))
    # Replicate r depends on (key, r) only, not on how many are drawn alongside it.
    np.testing.assert_array_equal(cluster_bootstrap_weights(3, G, [5, 11]), w[[5, 11]])
    assert not np.array_equal(cluster_bootstrap_weights(4, G, 12), w)


def test_crossproducts_and_jackknife_sums():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(30, 3))
    codes = rng.integers(0, 5, 30)
    S = cluster_crossproducts(Z, codes, 5)
    for g in range(5):
        Zg = Z[codes == g]
        np.testing.assert_allclose(S[g], Zg.T @ Zg, atol=1e-13)
    J = jackknife_crossproducts(S)
    np.testing.assert_allclose(J[2], Z[codes != 2].T @ Z[codes != 2], atol=1e-12)
    beta = ols_from_crossproducts(S.sum(0), [0, 1], 2)
    np.testing.assert_allclose(beta, np.linalg.lstsq(Z[:, :2], Z[:, 2], rcond=None)[0], atol=1e-12)


def _panel(seed=0, G=45, quad=False):
    """Unbalanced firm panel with firm-level shocks, demeaned by firm (within transform)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, G)
    firm_id = rng.permutation(10_000)[:G] * 7 + 3  # arbitrary, non-contiguous labels
    firm = np.repeat(firm_id, sizes)
    n = firm.size
    u = np.repeat(rng.normal(size=G), sizes)
    x = rng.normal(size=n) + u
    W = rng.normal(size=(n, 2))
    m = 0.5 * x + W @ [0.3, -0.2] + rng.normal(size=n) + 0.5 * u
    y = 0.2 * x + 0.6 * m + W @ [0.1, 0.4] + rng.normal(size=n) + u
    x2 = x**2

    def within(v):
        codes, Gc = cluster_codes(firm)
        v = np.asarray(v, float)
        means = np.stack([np.bincount(codes, c, Gc) for c in v.reshape(n, -1).T], -1) / np.bincount(codes)[:, None]
        return (v.reshape(n, -1) - means[codes]).reshape(v.shape)

    return dict(x=within(x), m=within(m), y=within(y), cluster=firm,
                controls=within(W), x2=within(x2) if quad else None)


@pytest.mark.parametrize(
    "opts",
    [dict(), dict(quad=True), dict(no_controls=True), dict(intercept=True)],
    ids=["controls", "controls+x2", "bare", "intercept"],
)
def test_fast_bootstrap_equals_explicit_firm_resampling(opts):
    d = _panel(seed=1, quad=opts.get("quad", False))
    if opts.get("no_controls"):
        d["controls"] = None
    kw = dict(n_boot=40, key=123, add_intercept=opts.get("intercept", False))
    fast = bootstrap_indirect(**d, **kw, chunk_size=16)
    slow = bootstrap_indirect_loop(**d, **kw)
    for name in MEDIATION_NAMES:
        np.testing.assert_allclose(fast.draws[name], slow.draws[name], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(fast.jackknife[name], slow.jackknife[name], rtol=1e-10, atol=1e-10)
        assert fast.estimate[name] == pytest.approx(slow.estimate[name], rel=1e-10, abs=1e-12)


def test_draws_do_not_depend_on_chunking_or_count():
    d = _panel(seed=2)
    ref = bootstrap_indirect(**d, n_boot=50, key=7, chunk_size=50, jackknife=False)
    for cs in (1, 7):
        other = bootstrap_indirect(**d, n_boot=50, key=7, chunk_size=cs, jackknife=False)
        for name in MEDIATION_NAMES:
            np.testing.assert_allclose(other.draws[name], ref.draws[name], rtol=1e-12, atol=1e-14)
    head = bootstrap_indirect(**d, n_boot=20, key=7, chunk_size=50, jackknife=False)
    np.testing.assert_allclose(head.draws["indirect"], ref.draws["indirect"][:20], rtol=1e-12)


def test_point_estimates_match_statsmodels_and_total_identity():
    d = _panel(seed=3)
    r = bootstrap_indirect(**d, n_boot=25, key=0)
    X = np.column_stack([d["x"], d["controls"]])
    a = sm.OLS(d["m"], X).fit().params[0]
    out = sm.OLS(d["y"], np.column_stack([d["x"], d["controls"], d["m"]])).fit().params
    c = sm.OLS(d["y"], X).fit().params[0]
    assert r.estimate["a"] == pytest.approx(a, rel=1e-10)
    assert r.estimate["b"] == pytest.approx(out[-1], rel=1e-10)
    assert r.estimate["direct"] == pytest.approx(out[0], rel=1e-10)
    assert r.estimate["total"] == pytest.approx(c, rel=1e-10)
    assert r.estimate["proportion"] == pytest.approx(a * out[-1] / c, rel=1e-10)
    # Without x², OLS gives c = c' + a·b exactly — in the sample, in every weighted
    # (bootstrap) replicate and in every leave-one-cluster-out fit.
    for part in (r.draws, r.jackknife, {k: np.array([v]) for k, v in r.estimate.items()}):
        np.testing.assert_allclose(part["total"], part["direct"] + part["indirect"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(part["indirect"], part["a"] * part["b"], rtol=1e-13)


def test_bootstrap_se_of_mean_close_to_analytic():
    # Clusters = single rows, statistic = mean (intercept-only OLS): SE ≈ sd/√n.
    rng = np.random.default_rng(4)
    v = rng.normal(size=400)
    r = bootstrap_ols(v, np.ones(400), np.arange(400), n_boot=2000, key=1)
    assert r.estimate[0] == pytest.approx(v.mean(), rel=1e-12)
    se = r.draws[:, 0].std(ddof=1)
    assert se == pytest.approx(v.std(ddof=1) / 20.0, rel=0.1)
    # Jackknife of the mean: (Σv − v_i)/(n − 1).
    np.testing.assert_allclose(r.jackknife[:, 0], (v.sum() - v) / 399.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------


def _scipy_with_draws(data, draws, method, level=0.95):
    """scipy.stats.bootstrap on the given draws (n_resamples=0 reuses bootstrap_result)."""
    res = stats.bootstrap(
        (data,), np.mean, n_resamples=0, method=method, confidence_level=level,
        bootstrap_result=SimpleNamespace(bootstrap_distribution=draws),
    )
    return res.confidence_interval.low, res.confidence_interval.high


def test_bca_and_percentile_match_scipy_on_same_draws():
    rng = np.random.default_rng(5)
    v = rng.lognormal(sigma=0.8, size=60)  # skewed, so z0 and a are non-trivial
    r = bootstrap_ols(v, np.ones(60), np.arange(60), n_boot=3000, key=11)
    draws, jack = r.draws[:, 0], r.jackknife[:, 0]
    for level in (0.9, 0.95):
        lo, hi = bca_ci(draws, v.mean(), jack, level)
        slo, shi = _scipy_with_draws(v, draws, "BCa", level)
        assert (lo, hi) == pytest.approx((slo, shi), rel=1e-12)
        plo, phi = percentile_ci(draws, level)
        slo, shi = _scipy_with_draws(v, draws, "percentile", level)
        assert (plo, phi) == pytest.approx((slo, shi), rel=1e-12)
    z0, a, _, _ = bca_parameters(draws, v.mean(), jack)
    assert a > 0  # right-skewed data: positive acceleration


def test_bca_parameters_by_hand():
    draws = np.arange(1.0, 101.0)  # 1, …, 100
    jack = np.array([1.0, 2.0, 4.0])
    # z0: #{θ* < 40.5} = 40 of 100 → Φ⁻¹(.4)
    # a: mean 7/3, deviations (4/3, 1/3, −5/3); Σd² = 42/9, Σd³ = (64 + 1 − 125)/27 = −60/27
    z0_hand = special.ndtri(0.4)
    a_hand = (-60.0 / 27.0) / (6.0 * (42.0 / 9.0) ** 1.5)
    z0, a, a1, a2 = bca_parameters(draws, 40.5, jack, 0.9)
    assert z0 == pytest.approx(z0_hand, rel=1e-14)
    assert a == pytest.approx(a_hand, rel=1e-14)
    zl = special.ndtri(0.05)
    assert a1 == pytest.approx(special.ndtr(z0_hand + (z0_hand + zl) / (1 - a_hand * (z0_hand + zl))), rel=1e-13)
    assert a2 == pytest.approx(special.ndtr(z0_hand + (z0_hand - zl) / (1 - a_hand * (z0_hand - zl))), rel=1e-13)
    # Linear interpolation on 1..100: the q-quantile is 1 + 99q.
    lo, hi = bca_ci(draws, 40.5, jack, 0.9)
    assert (lo, hi) == pytest.approx((1 + 99 * a1, 1 + 99 * a2), rel=1e-13)
    # A tie at θ̂ counts one half: θ̂ = 40 gives (39 + 40)/200.
    assert bca_parameters(draws, 40.0, jack)[0] == pytest.approx(special.ndtri(0.395), rel=1e-14)


def test_bca_reduces_to_percentile_without_bias_or_skew():
    draws = np.arange(1.0, 102.0)  # median 51 = θ̂ → z0 = Φ⁻¹(.5) = 0
    jack = np.array([-1.0, 0.0, 1.0])  # symmetric → a = 0
    assert bca_ci(draws, 51.0, jack, 0.9) == pytest.approx(percentile_ci(draws, 0.9), rel=1e-13)


def test_bca_degenerate_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="one side"):
        lo, hi = bca_ci(np.arange(1.0, 11.0), 0.0, np.array([0.0, 1.0]), 0.95)
    assert math.isnan(lo) and math.isnan(hi)


def test_result_intervals_and_summary_json():
    d = _panel(seed=6, G=60)
    r = bootstrap_indirect(**d, n_boot=200, key=2)
    for name in MEDIATION_NAMES:
        lo, hi = r.ci(name, 0.95, "percentile")
        assert lo <= np.median(r.draws[name]) <= hi
        blo, bhi = r.ci(name, 0.95, "bca")
        assert blo < bhi
    s = r.summary(0.9)
    json.dumps(s, allow_nan=False)
    assert set(s["quantities"]) == set(MEDIATION_NAMES)
    assert s["n_clusters"] == 60 and s["n_boot"] == 200
    with pytest.raises(ValueError):
        r.ci("a", method="studentized")


def test_jackknife_blocks_do_not_change_values(monkeypatch):
    import tradeq.models.mediation as med

    d = _panel(seed=8, G=23)
    ref = bootstrap_indirect(**d, n_boot=3, key=0)
    monkeypatch.setattr(med, "_JACKKNIFE_BLOCK", 5)  # 23 = 4 full blocks + a padded one
    blocked = bootstrap_indirect(**d, n_boot=3, key=0)
    for name in MEDIATION_NAMES:
        assert blocked.jackknife[name].shape == (23,)
        np.testing.assert_allclose(blocked.jackknife[name], ref.jackknife[name], rtol=1e-12)
