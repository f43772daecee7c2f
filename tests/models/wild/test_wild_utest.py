"""The wild bootstrap Lind–Mehlum test: its t statistics are the analytic test's; with many
clusters and iid errors its p-values and turning-point set agree with the analytic test and
the Fieller set; with few clusters its size under a boundary and a flat null is nominal."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models import vcov as V
from tradeq.models.utest import VERDICT_TRIVIAL, utest
from tradeq.models.wild import wild_utest


def _quadratic(rng, G, n_per, b, cluster_sd, x_cluster_sd=0.25):
    cl = np.repeat(np.arange(G), n_per)
    x = np.clip(0.5 + x_cluster_sd * rng.standard_normal(G)[cl] + 0.2 * rng.standard_normal(cl.size), 0.0, 1.0)
    u = cluster_sd * rng.standard_normal(G)[cl] * (1 + x) + 0.5 * rng.standard_normal(cl.size)
    y = b[0] * x + b[1] * x**2 + u
    return y, np.column_stack([np.ones(cl.size), x, x**2]), cl


def _analytic(y, X, cl, x_lo, x_hi, level=0.95):
    G = cl.max() + 1
    B = np.linalg.inv(X.T @ X)
    b = B @ X.T @ y
    Vc = V.cluster_vcov(B, X, y - X @ b, cl, G, X.shape[1])
    return utest(b[1:], Vc[1:, 1:], x_lo, x_hi, df=G - 1, level=level, shape="inverted_u")


def test_many_iid_clusters_agree_with_the_analytic_test_and_fieller():
    rng = np.random.default_rng(5)
    y, X, cl = _quadratic(rng, G=300, n_per=4, b=(0.9, -0.75), cluster_sd=0.0, x_cluster_sd=0.05)
    B = 4999
    res = wild_utest(y, X, cl, 1, 2, 0.2, 0.8, weights="webb", reps=B, key=1, level=0.9)
    ref = _analytic(y, X, cl, 0.2, 0.8, level=0.9)
    # same slopes, standard errors and t values: both use CRV1
    for name in ("slope_lo", "se_lo", "t_lo", "slope_hi", "se_hi", "t_hi", "t", "turning_point"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=1e-9), name
    # bootstrap p-values within Monte Carlo error (4 sd) plus 0.01 for the t approximation
    for name in ("p_lo", "p_hi", "p"):
        p = getattr(ref, name)
        assert abs(getattr(res, name) - p) <= 4 * np.sqrt(p * (1 - p) / B) + 0.01, name
    assert 0.001 < ref.p < 0.2  # not a trivial comparison
    assert res.tp_kind == ref.fieller_kind == "bounded"
    width = ref.fieller_hi - ref.fieller_lo
    assert res.tp_lo == pytest.approx(ref.fieller_lo, abs=0.05 * width)
    assert res.tp_hi == pytest.approx(ref.fieller_hi, abs=0.05 * width)


def test_turning_point_set_is_the_inverted_slope_test():
    from tradeq.models.crv3 import cluster_blocks
    from tradeq.models.wild import wild_distribution

    rng = np.random.default_rng(6)
    y, X, cl = _quadratic(rng, G=14, n_per=25, b=(4.8, -4.0), cluster_sd=0.2)
    res = wild_utest(y, X, cl, 1, 2, 0.1, 0.9, weights="webb", reps=999, key=2, level=0.9)
    blocks = cluster_blocks(y, X, cl)

    def p(theta):
        return wild_distribution(blocks, [0.0, 1.0, 2 * theta], weights="webb", reps=999, key=2).pvalue(0.0)[0]

    assert res.tp_kind == "bounded" and res.tp_lo < res.turning_point < res.tp_hi
    eps = 1e-4 * (res.tp_hi - res.tp_lo)
    for end, inward in ((res.tp_lo, 1), (res.tp_hi, -1)):
        assert p(end + inward * eps) > 0.1 >= p(end - inward * eps)


def test_unbounded_set_when_the_square_is_not_significant():
    rng = np.random.default_rng(7)
    y, X, cl = _quadratic(rng, G=12, n_per=20, b=(0.3, -0.05), cluster_sd=0.5)
    res = wild_utest(y, X, cl, 1, 2, 0.1, 0.9, weights="webb", reps=999, key=3)
    assert res.tp_kind in ("unbounded_complement", "whole_line")
    assert not res.reject


def test_u_shape_and_trivial_failure():
    rng = np.random.default_rng(8)
    y, X, cl = _quadratic(rng, G=20, n_per=30, b=(-2.0, 2.0), cluster_sd=0.1)
    u = wild_utest(y, X, cl, 1, 2, 0.1, 0.9, weights="webb", reps=999, key=4, turning_point=False)
    assert u.shape == "u" and u.slope_lo < 0 < u.slope_hi and u.reject
    mono = wild_utest(y, X, cl, 1, 2, 0.6, 0.9, shape="u", weights="webb", reps=999, key=4, turning_point=False)
    assert mono.trivial_failure and mono.verdict == VERDICT_TRIVIAL and mono.p >= 0.5 - 0.05


def _rejection_rate(b, reps_mc, seed):
    rng = np.random.default_rng(seed)
    wild, analytic = [], []
    for rep in range(reps_mc):
        y, X, cl = _quadratic(rng, G=12, n_per=30, b=b, cluster_sd=0.6)
        res = wild_utest(y, X, cl, 1, 2, 0.2, 0.8, shape="inverted_u", weights="webb", reps=399, key=rep,
                         turning_point=False)
        wild.append(res.reject)
        analytic.append(_analytic(y, X, cl, 0.2, 0.8).reject)
    return np.mean(wild), np.mean(analytic)


@pytest.mark.slow
def test_size_with_few_clusters():
    # G = 12 clusters, errors and x correlated within clusters. Boundary null: the turning
    # point sits at x_hi = 0.8 (slope 0 there, clearly positive at x_lo), so the test's
    # rejection rate should be the nominal 5%; flat null: b1 = b2 = 0, at most 5%.
    n = 300
    se = np.sqrt(0.05 * 0.95 / n)
    wild, analytic = _rejection_rate((4.8, -3.0), n, seed=11)
    assert abs(wild - 0.05) <= 3 * se, (wild, analytic)
    flat, _ = _rejection_rate((0.0, 0.0), n, seed=12)
    assert flat <= 0.05 + 3 * se, flat
