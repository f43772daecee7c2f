"""The wild cluster bootstrap against a brute-force loop over all 2^G sign vectors that
refits OLS on every bootstrap sample (and, for CRV3, every leave-one-cluster-out sample),
plus the tie rule, reproducibility and chunking."""

from __future__ import annotations

import numpy as np
import pytest
from wild_refs import brute_t_boot, clustered_data, crv1_se, crv3_se, default_ssc, ols, sign_vectors

from tradeq.models.crv3 import cluster_blocks, crv3_vcov
from tradeq.models.wild import wild_distribution, wild_test


def _brute_p(t, tb, ptype):
    """p-values with ties (relative 1e-9) left out, counted directly."""
    def above(x, xs):
        return np.sum((xs > x) & ~np.isclose(xs, x, rtol=1e-9, atol=0))
    B = tb.size
    if ptype == "symmetric":
        return above(abs(t), np.abs(tb)) / B
    up, down = above(t, tb) / B, above(-t, -tb) / B
    return {"upper": up, "lower": down, "equal_tailed": min(1.0, 2 * min(up, down))}[ptype]


CASES = [
    ("restricted", "crv1", 0.0, 12),
    ("restricted", "crv1", 0.35, 10),
    ("unrestricted", "crv1", 0.2, 10),
    ("restricted", "crv3", 0.1, 8),
    ("restricted", "crv3j", 0.0, 8),
    ("unrestricted", "crv3", 0.0, 8),
]


@pytest.mark.parametrize("null,variance,r,G", CASES)
def test_enumeration_equals_refitting_every_sign_vector(null, variance, r, G):
    y, X, cl = clustered_data(G=G, n_per=20, seed=G)
    R = np.array([0.0, 1.0, 0.0])
    dist = wild_distribution(cluster_blocks(y, X, cl), R, null=null, variance=variance, reps=9999)
    assert dist.enumerated and dist.draws == 2**G
    ref = brute_t_boot(y, X, cl, R, r, sign_vectors(G), null=null, variance=variance)
    np.testing.assert_allclose(dist.t_boot(r), ref, rtol=1e-10, atol=1e-10)
    b = ols(y, X)
    se = crv1_se(X, y - X @ b, cl, R, default_ssc(X, cl)) if variance == "crv1" else crv3_se(
        y, X, cl, R, jackknife=variance == "crv3j")
    t = (b[1] - r) / se
    for ptype in ("symmetric", "equal_tailed", "upper", "lower"):
        res = wild_test(y, X, cl, R, r, null=null, variance=variance, ptype=ptype, level=None)
        assert res.t == pytest.approx(t, rel=1e-10)
        assert res.p == _brute_p(t, ref, ptype)
    if variance != "crv1":
        assert res.se == pytest.approx(crv3_vcov(y, X, cl, jackknife=variance == "crv3j").se[1], rel=1e-10)


def test_original_sample_is_draw_zero_and_its_mirror_ties():
    # WCR: v = 1 rebuilds y, so t*(v=1) = t and t*(v=-1) = -t: two ties in a symmetric test
    y, X, cl = clustered_data(G=9, seed=4)
    R = np.array([0.0, 1.0, 0.0])
    strict = wild_test(y, X, cl, R, 0.1, level=None)
    tb = strict.t_boot.values
    assert tb[0] == pytest.approx(strict.t, rel=1e-12) and tb[-1] == pytest.approx(-strict.t, rel=1e-12)
    assert strict.n_ties == 2
    weak = wild_test(y, X, cl, R, 0.1, level=None, tie_rule="weak")
    half = wild_test(y, X, cl, R, 0.1, level=None, tie_rule="half")
    assert weak.p - strict.p == pytest.approx(2 / 2**9, abs=1e-15)
    assert half.p == pytest.approx((weak.p + strict.p) / 2, abs=1e-15)
    # boottest's rule counts strictly greater |t*| only
    assert strict.p == np.sum(np.abs(tb) > np.abs(strict.t) * (1 + 1e-9)) / 2**9


def test_ties_with_the_upper_and_lower_pvalues():
    y, X, cl = clustered_data(G=8, seed=6)
    R = np.array([0.0, 1.0, 0.0])
    up = {rule: wild_test(y, X, cl, R, 0.0, ptype="upper", tie_rule=rule, level=None) for rule in ("strict", "weak")}
    assert up["strict"].n_ties == 1  # only v = 1 ties with t in a one-sided count
    assert up["weak"].p - up["strict"].p == pytest.approx(1 / 256, abs=1e-15)


def test_draws_are_reproducible_and_do_not_depend_on_the_chunk_size():
    from tradeq.models.wild.weights import as_key, draw_weights

    y, X, cl = clustered_data(G=20, seed=8)
    R = np.array([0.0, 1.0, 0.0])
    for weights in ("rademacher", "webb", "mammen"):
        a = wild_test(y, X, cl, R, weights=weights, reps=999, key=5, level=None)
        b = wild_test(y, X, cl, R, weights=weights, reps=999, key=5, level=None, chunk_size=64)
        c = wild_test(y, X, cl, R, weights=weights, reps=999, key=6, level=None)
        # the same weights exactly; the products differ only in rounding (XLA's blocking)
        whole = np.asarray(draw_weights(as_key(5), 0, kind=weights, G=20, size=999))
        parts = [np.asarray(draw_weights(as_key(5), s, kind=weights, G=20, size=64)) for s in range(0, 999, 64)]
        np.testing.assert_array_equal(whole, np.concatenate(parts, axis=1)[:, :999])
        np.testing.assert_allclose(a.t_boot.values, b.t_boot.values, rtol=1e-12)
        assert a.p == b.p
        assert not a.enumerated and a.draws == 999
        assert not np.array_equal(a.t_boot.values, c.t_boot.values)


def test_random_draws_equal_refits_for_the_same_weights():
    # the algebra for sampled (non-enumerated) Webb weights, checked through the refit loop
    from tradeq.models.wild.weights import as_key, draw_weights

    y, X, cl = clustered_data(G=15, seed=10)
    R = np.array([0.0, 0.0, 1.0])
    res = wild_test(y, X, cl, R, 0.05, weights="webb", reps=40, key=3, level=None)
    V = np.asarray(draw_weights(as_key(3), 0, kind="webb", G=15, size=40)).T
    np.testing.assert_allclose(res.t_boot.values, brute_t_boot(y, X, cl, R, 0.05, V), rtol=1e-10)


def test_few_clusters_note_and_validation():
    y, X, cl = clustered_data(G=6, seed=1)
    R = np.array([0.0, 1.0, 0.0])
    res = wild_test(y, X, cl, R, level=None)
    assert res.enumerated and res.draws == 64 and "webb" in res.note
    assert wild_test(y, X, cl, R, weights="webb", reps=99, level=None).note == ""
    with pytest.raises(ValueError, match="weights"):
        wild_test(y, X, cl, R, weights="normal")
    with pytest.raises(ValueError, match="null"):
        wild_test(y, X, cl, R, null="both")
    with pytest.raises(ValueError, match="ptype"):
        wild_test(y, X, cl, R, ptype="two-tailed")
    with pytest.raises(ValueError, match="R must have 3"):
        wild_test(y, X, cl, [1.0, 0.0])
    with pytest.raises(ValueError, match="not be zero"):
        wild_test(y, X, cl, [0.0, 0.0, 0.0])
