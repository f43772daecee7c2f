"""The generic cluster bootstrap: resampling (one implementation for the table bootstrap and the
simulation grid), cross-products, OLS from cross-products, and percentile / BCa intervals
(against scipy.stats.bootstrap fed the same draws, and hand arithmetic) with the fallback."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import tradeq.models.bootstrap as boot
from tradeq.models.bootstrap import (
    Interval,
    bca_ci,
    bca_parameters,
    bootstrap_interval,
    bootstrap_ols,
    cluster_bootstrap_indices,
    cluster_bootstrap_weights,
    cluster_crossproducts,
    cluster_sums,
    jackknife_crossproducts,
    kept_cluster_counts,
    ols_from_crossproducts,
    percentile_ci,
)

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


def test_kept_cluster_counts_resample_kept_slots_only():
    kept = jnp.asarray(np.r_[np.ones(7, bool), np.zeros(5, bool), np.ones(3, bool)])
    w = np.asarray(jax.jit(kept_cluster_counts, static_argnums=2)(jax.random.key(0), kept, 500))
    assert w.shape == (500, 15)
    np.testing.assert_array_equal(w.sum(1), 10)
    assert (w[:, 7:12] == 0).all()
    # each kept slot is drawn with probability 1/G per draw: mean multiplicity 1, variance
    # (1 − 1/G) per replicate, so the mean over 500 replicates has sd ≈ 0.042
    np.testing.assert_allclose(w[:, np.asarray(kept)].mean(0), 1.0, atol=4 * math.sqrt(0.9 / 500))


def test_grid_and_table_bootstraps_draw_the_same_replicates():
    """One implementation: with every slot kept, the grid's counts (G traced) are the table
    bootstrap's (G static), replicate by replicate; with slots dropped, the kept ones get the
    counts of a G-cluster bootstrap in their stable order."""
    key = jax.random.key(3)
    counts = jax.jit(kept_cluster_counts, static_argnums=2)
    np.testing.assert_array_equal(np.asarray(counts(key, jnp.ones(10, bool), 20)), cluster_bootstrap_weights(key, 10, 20))
    kept = np.r_[True, False, True, True, False, True]
    w = np.asarray(counts(key, jnp.asarray(kept), 30))
    assert w.shape == (30, 6) and (w[:, ~kept] == 0).all()
    # draws of 6 slots, first 4 used: the same bits as replicate_counts(…, 6, 4)
    ref = np.asarray(boot.replicate_counts(key, jnp.arange(30, dtype=jnp.uint32), 6, 4))
    np.testing.assert_array_equal(w[:, kept], ref[:, :4])


# ---------------------------------------------------------------------------------------
# Cross-products and the engine
# ---------------------------------------------------------------------------------------


def test_crossproducts_sums_and_jackknife():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(30, 3))
    codes = rng.integers(0, 5, 30)
    S = cluster_crossproducts(Z, codes, 5)
    T = cluster_sums(Z[:, :1], codes, 5)
    for g in range(5):
        Zg = Z[codes == g]
        np.testing.assert_allclose(S[g], Zg.T @ Zg, atol=1e-13)
        assert T[g, 0] == pytest.approx(Zg[:, 0].sum(), abs=1e-13)
    J = jackknife_crossproducts(S)
    np.testing.assert_allclose(J[2], Z[codes != 2].T @ Z[codes != 2], atol=1e-12)
    beta = ols_from_crossproducts(S.sum(0), [0, 1], 2)
    np.testing.assert_allclose(beta, np.linalg.lstsq(Z[:, :2], Z[:, 2], rcond=None)[0], atol=1e-12)


def test_ols_bootstrap_equals_explicit_resampling_and_chunking():
    rng = np.random.default_rng(1)
    cl = np.repeat(np.arange(25), rng.integers(1, 6, 25))
    X = np.column_stack([np.ones(cl.size), rng.normal(size=cl.size)])
    y = X @ [1.0, 0.5] + rng.normal(size=cl.size)
    r = bootstrap_ols(y, X, cl, n_boot=30, key=9, chunk_size=7)
    idx = cluster_bootstrap_indices(9, 25, 30)
    for b in range(30):
        rows = np.concatenate([np.flatnonzero(cl == g) for g in idx[b]])
        np.testing.assert_allclose(r.draws[b], np.linalg.lstsq(X[rows], y[rows], rcond=None)[0], rtol=1e-10)
    for g in (0, 13, 24):
        keep = cl != g
        np.testing.assert_allclose(r.jackknife[g], np.linalg.lstsq(X[keep], y[keep], rcond=None)[0], rtol=1e-10)
    np.testing.assert_allclose(bootstrap_ols(y, X, cl, n_boot=30, key=9).draws, r.draws, rtol=1e-12)


def test_bootstrap_se_of_mean_close_to_analytic():
    # Clusters = single rows, statistic = mean (intercept-only OLS): SE ≈ sd/√n.
    rng = np.random.default_rng(4)
    v = rng.normal(size=400)
    r = bootstrap_ols(v, np.ones(400), np.arange(400), n_boot=2000, key=1)
    assert r.estimate[0] == pytest.approx(v.mean(), rel=1e-12)
    se = r.draws[:, 0].std(ddof=1)
    # the bootstrap SE of a mean is sd·sqrt((n−1)/n²); its own MC error with B = 2000 is ~1.6%
    assert se == pytest.approx(v.std(ddof=0) / 20.0, rel=0.05)
    # Jackknife of the mean: (Σv − v_i)/(n − 1).
    np.testing.assert_allclose(r.jackknife[:, 0], (v.sum() - v) / 399.0, rtol=1e-12)


def test_jackknife_blocks_do_not_change_values(monkeypatch):
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(60), rng.normal(size=60)])
    y = rng.normal(size=60)
    cl = np.arange(60) % 23
    ref = bootstrap_ols(y, X, cl, n_boot=3, key=0)
    monkeypatch.setattr(boot, "_JACKKNIFE_BLOCK", 5)  # 23 = 4 full blocks + a padded one
    blocked = bootstrap_ols(y, X, cl, n_boot=3, key=0)
    assert blocked.jackknife.shape == (23, 2)
    np.testing.assert_allclose(blocked.jackknife, ref.jackknife, rtol=1e-12)


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


def test_undefined_bca_falls_back_to_percentile_and_says_why():
    draws = np.array([1.0, 2.0, 3.0, 4.0])  # four replicates, all above the estimate
    iv = bootstrap_interval(draws, 0.5, np.array([0.4, 0.6, 0.5]), 0.95, "bca")
    assert iv.method == "percentile" and "BCa undefined" in iv.note and "one side" in iv.note
    assert (iv.lo, iv.hi) == pytest.approx(percentile_ci(draws, 0.95), rel=1e-14)
    assert iv.bounds() == pytest.approx([1.075, 3.925]) and iv.defined
    # a defined BCa interval is used as is
    ok = bootstrap_interval(np.arange(1.0, 101.0), 40.5, np.array([1.0, 2.0, 4.0]), 0.9, "bca")
    assert ok.method == "bca" and ok.note is None
    assert (ok.lo, ok.hi) == pytest.approx(bca_ci(np.arange(1.0, 101.0), 40.5, np.array([1.0, 2.0, 4.0]), 0.9))
    # no jackknife values: percentile, with the reason
    assert bootstrap_interval(draws, 2.5, None, 0.95, "bca").method == "percentile"
    # nothing finite: undefined, JSON-safe bounds
    none = bootstrap_interval(np.array([np.nan, np.inf]), 1.0, np.array([1.0, 2.0]), 0.95, "bca")
    assert none.method == "undefined" and none.bounds() == [None, None] and not none.defined
    assert none.to_dict() == {"bounds": [None, None], "method": "undefined", "note": "no finite bootstrap draw"}
    assert isinstance(none, Interval)
    with pytest.raises(ValueError, match="percentile"):
        bootstrap_interval(draws, 1.0, None, 0.95, "studentized")
