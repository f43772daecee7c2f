"""Against the ``wildboottest`` package (0.3.2, the "fast and wild" algorithm of
fwildclusterboot in Python): exactly under full enumeration, within Monte Carlo error
with random weights. Its variants with CRV3 pieces ("13", "31", "33") do not run on
numpy >= 2.4, so the comparison uses "11" (CRV1 scores and variance), with and without
the null imposed. It tests only R b = 0: a non-zero null R b = r with R = e_j is the same
test after y -> y - r x_j."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from wild_refs import clustered_data

from tradeq.models.wild import wild_test

wbt = pytest.importorskip("wildboottest.wildboottest")


def _wildboottest(y, X, cl, j, *, impose_null, weights, B, seed, ptype="two-tailed"):
    R = np.zeros(X.shape[1])
    R[j] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = wbt.WildboottestCL(X=X, Y=y, cluster=cl, R=R, B=B, seed=seed, parallel=False)
        boot.get_scores(bootstrap_type="11", impose_null=impose_null)
        boot.get_weights(weights_type=weights)
        boot.get_numer()
        boot.get_denom()
        boot.get_tboot()
        boot.get_vcov()
        boot.get_tstat()
        boot.get_pvalue(pval_type=ptype)
    return boot


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("r", [0.0, 0.3])
def test_full_enumeration_agrees_exactly(impose_null, r):
    y, X, cl = clustered_data(G=10, seed=21)
    ref = _wildboottest(y - r * X[:, 1], X, cl, 1, impose_null=impose_null, weights="rademacher", B=9999, seed=1)
    assert ref.full_enumeration and ref.B == 1024
    ours = wild_test(y, X, cl, [0.0, 1.0, 0.0], r, null="restricted" if impose_null else "unrestricted", level=None)
    assert ours.enumerated and ours.draws == 1024
    assert ours.t == pytest.approx(float(np.squeeze(ref.t_stat)), rel=1e-10)
    # the same 2^G statistics (the packages enumerate the sign vectors in different orders)
    np.testing.assert_allclose(np.sort(ours.t_boot.values), np.sort(ref.t_boot), rtol=1e-9, atol=1e-12)
    # wildboottest compares floats strictly, so a tie may fall either way: its p lies
    # between our strict and weak p-values
    weak = wild_test(y, X, cl, [0.0, 1.0, 0.0], r, null=ours.null, tie_rule="weak", level=None)
    assert ours.p - 1e-12 <= ref.pvalue <= weak.p + 1e-12
    assert weak.p - ours.p == pytest.approx(ours.n_ties / 1024)


@pytest.mark.parametrize("weights", ["rademacher", "webb", "mammen"])
@pytest.mark.parametrize("impose_null", [True, False])
def test_random_weights_agree_within_monte_carlo_error(weights, impose_null):
    y, X, cl = clustered_data(G=18, n_per=30, seed=22, beta=[1.0, 0.08, 0.0])
    B = 9999
    ref = _wildboottest(y, X, cl, 1, impose_null=impose_null, weights=weights, B=B, seed=3)
    ours = wild_test(y, X, cl, [0.0, 1.0, 0.0], 0.0, weights=weights, reps=B,
                     null="restricted" if impose_null else "unrestricted", key=3, level=None)
    assert ours.t == pytest.approx(float(np.squeeze(ref.t_stat)), rel=1e-10)
    # two independent estimates of the same p: the difference has sd sqrt(2 p (1 - p) / B)
    p = 0.5 * (ours.p + ref.pvalue)
    assert 0.01 < p < 0.99  # an informative comparison, not two zeros
    assert abs(ours.p - ref.pvalue) <= 4 * np.sqrt(2 * p * (1 - p) / B)
    # and the bootstrap distributions agree (two-sample Kolmogorov–Smirnov at 1%)
    from scipy import stats

    assert stats.ks_2samp(ours.t_boot.values, ref.t_boot).pvalue > 0.01


def test_equal_tailed_and_one_sided_agree():
    y, X, cl = clustered_data(G=16, n_per=30, seed=23, beta=[1.0, 0.1, 0.0])
    B = 9999
    for ours_type, their_type in (("equal_tailed", "equal-tailed"), ("upper", ">"), ("lower", "<")):
        ref = _wildboottest(y, X, cl, 1, impose_null=True, weights="webb", B=B, seed=4, ptype=their_type)
        ours = wild_test(y, X, cl, [0.0, 1.0, 0.0], 0.0, weights="webb", reps=B, ptype=ours_type, key=4, level=None)
        p = min(max(0.5 * (ours.p + ref.pvalue), 1.0 / B), 1 - 1.0 / B)
        assert abs(ours.p - ref.pvalue) <= 4 * np.sqrt(2 * p * (1 - p) / B) + 1e-12, ours_type
