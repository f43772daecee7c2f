"""Tests of the mediation numerics: product-of-coefficients tests and the cluster bootstrap of
the mediation effects (fast cross-product path against an explicit firm-resampling loop, the
effects at each resample's mean of x, the linear identity c = c' + a·b in every replicate, the
interval fallback and the proportion guard)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from tradeq.models.bootstrap import cluster_bootstrap_indices, cluster_codes
from tradeq.models.mediation import MEDIATION_NAMES, PATH_NAMES, aroian, bootstrap_indirect, goodman, sobel

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



def test_sobel_is_conservative_when_both_paths_are_zero():
    """At a = b = 0 the Sobel z is Z1·Z2/sqrt(Z1² + Z2²) (Z1, Z2 the paths' independent t
    statistics), which is N(0, 1/4): the nominal 5% test rejects with probability
    2Φ(−3.92) = 8.9e-5. With b ≠ 0 and a = 0, z ≈ Z1 and the size is nominal."""
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 200_000))
    z, p = sobel(z1, 1.0, z2, 1.0)
    assert stats.kstest(z, stats.norm(scale=0.5).cdf).pvalue > 0.01
    assert 2 * stats.norm.sf(2 * 1.959964) == pytest.approx(8.86e-5, rel=1e-2)
    assert np.mean(p < 0.05) < 3e-4  # expected 8.9e-5: 18 of 200,000, sd 4.2
    # one path far from zero (b / sb = 20): z ≈ a / sa, size ≈ 5% (MC sd 0.05%)
    z, p = sobel(z1, 1.0, 20.0 + z2, 1.0)
    assert np.mean(p < 0.05) == pytest.approx(0.05, abs=0.003)


# ---------------------------------------------------------------------------------------
# The bootstrap of the effects
# ---------------------------------------------------------------------------------------


def _panel(seed=0, G=45, quad=False, x_offset=4.0, direct=0.2, q=-0.03):
    """Unbalanced firm panel with firm-level shocks, demeaned by firm (within transform).

    x lies around ``x_offset`` (like Market, 3.5–4.7), so the slope at x = 0 is far from the
    average marginal effect when the outcome equation has a square.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, G)
    firm_id = rng.permutation(10_000)[:G] * 7 + 3  # arbitrary, non-contiguous labels
    firm = np.repeat(firm_id, sizes)
    n = firm.size
    u = np.repeat(rng.normal(size=G), sizes)
    x = x_offset + rng.normal(size=n) + 0.5 * u
    W = rng.normal(size=(n, 2))
    m = 0.5 * x + W @ [0.3, -0.2] + rng.normal(size=n) + 0.5 * u
    y = direct * x + q * x**2 + 0.6 * m + W @ [0.1, 0.4] + rng.normal(size=n) + u
    codes, Gc = cluster_codes(firm)

    def within(v):
        v = np.asarray(v, float)
        means = np.stack([np.bincount(codes, c, Gc) for c in v.reshape(n, -1).T], -1) / np.bincount(codes)[:, None]
        return (v.reshape(n, -1) - means[codes]).reshape(v.shape)

    return dict(x=within(x), m=within(m), y=within(y), cluster=firm, controls=within(W),
                x2=within(x**2) if quad else None, x_raw=x)


def _effects_by_least_squares(d, rows, add_intercept=False):
    """The MEDIATION_NAMES quantities and x̄ on explicit rows, by least squares and the
    average-marginal-effect formulas written out (the reference, independent of the engine)."""
    n = d["x"].shape[0]
    W = [] if d["controls"] is None else list(np.asarray(d["controls"]).reshape(n, -1).T)
    one = [np.ones(n)] if add_intercept else []
    sq = [] if d["x2"] is None else [d["x2"]]

    def coef(y, cols):
        return np.linalg.lstsq(np.column_stack(cols)[rows], y[rows], rcond=None)[0]

    tot = coef(d["y"], [d["x"], *sq, *W, *one])
    a = coef(d["m"], [d["x"], *W, *one])[0]
    out = coef(d["y"], [d["x"], *sq, *W, *one, d["m"]])
    b, c_prime = out[-1], out[0]
    g, c2 = (out[1], tot[1]) if sq else (0.0, 0.0)
    x_mean = d["x_raw"][rows].mean()
    direct = np.mean(c_prime + 2 * g * d["x_raw"][rows])  # average of ∂y/∂x over the rows
    total = direct + a * b
    return {"a": a, "b": b, "indirect": a * b, "direct": direct, "total": total,
            "total_eq1": np.mean(tot[0] + 2 * c2 * d["x_raw"][rows]), "proportion": a * b / total, "x_mean": x_mean}


@pytest.mark.parametrize(
    "opts",
    [dict(), dict(quad=True), dict(no_controls=True), dict(intercept=True), dict(quad=True, intercept=True)],
    ids=["controls", "controls+x2", "bare", "intercept", "x2+intercept"],
)
def test_fast_bootstrap_equals_explicit_firm_resampling(opts):
    d = _panel(seed=1, quad=opts.get("quad", False))
    if opts.get("no_controls"):
        d["controls"] = None
    intercept = opts.get("intercept", False)
    fast = bootstrap_indirect(**d, n_boot=40, key=123, add_intercept=intercept, chunk_size=16)
    codes, G = cluster_codes(d["cluster"])
    rows_of = [np.flatnonzero(codes == g) for g in range(G)]
    idx = cluster_bootstrap_indices(123, G, 40)
    names = MEDIATION_NAMES + ("x_mean",)
    for r in range(40):
        ref = _effects_by_least_squares(d, np.concatenate([rows_of[g] for g in idx[r]]), intercept)
        for name in names:
            assert fast.draws[name][r] == pytest.approx(ref[name], rel=1e-9, abs=1e-11), (r, name)
    for g in (0, 17, G - 1):
        ref = _effects_by_least_squares(d, np.flatnonzero(codes != g), intercept)
        for name in names:
            assert fast.jackknife[name][g] == pytest.approx(ref[name], rel=1e-9, abs=1e-11), (g, name)
    ref = _effects_by_least_squares(d, np.arange(d["x"].shape[0]), intercept)
    for name in names:
        assert fast.estimate[name] == pytest.approx(ref[name], rel=1e-10, abs=1e-12), name


def test_draws_do_not_depend_on_chunking_or_count():
    d = _panel(seed=2, quad=True)
    ref = bootstrap_indirect(**d, n_boot=50, key=7, chunk_size=50, jackknife=False)
    for cs in (1, 7):
        other = bootstrap_indirect(**d, n_boot=50, key=7, chunk_size=cs, jackknife=False)
        for name in MEDIATION_NAMES + PATH_NAMES:
            np.testing.assert_allclose(other.draws[name], ref.draws[name], rtol=1e-12, atol=1e-14)
    head = bootstrap_indirect(**d, n_boot=20, key=7, chunk_size=50, jackknife=False)
    np.testing.assert_allclose(head.draws["total"], ref.draws["total"][:20], rtol=1e-12)


def test_point_estimates_match_statsmodels_and_linear_identity():
    d = _panel(seed=3)
    r = bootstrap_indirect(**d, n_boot=25, key=0)
    X = np.column_stack([d["x"], d["controls"]])
    a = sm.OLS(d["m"], X).fit().params[0]
    out = sm.OLS(d["y"], np.column_stack([d["x"], d["controls"], d["m"]])).fit().params
    c = sm.OLS(d["y"], X).fit().params[0]
    assert r.estimate["a"] == pytest.approx(a, rel=1e-10)
    assert r.estimate["b"] == pytest.approx(out[-1], rel=1e-10)
    assert r.estimate["direct"] == pytest.approx(out[0], rel=1e-10)
    assert r.estimate["total_eq1"] == pytest.approx(c, rel=1e-10)
    assert r.estimate["proportion"] == pytest.approx(a * out[-1] / c, rel=1e-10)
    # Without x², OLS gives c = c' + a·b exactly — in the sample, in every weighted
    # (bootstrap) replicate and in every leave-one-cluster-out fit.
    for part in (r.draws, r.jackknife, {k: np.array([v]) for k, v in r.estimate.items()}):
        np.testing.assert_allclose(part["total"], part["total_eq1"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(part["total"], part["direct"] + part["indirect"], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(part["indirect"], part["a"] * part["b"], rtol=1e-13)
        np.testing.assert_array_equal(part["g"], 0.0)


def test_quadratic_effects_are_average_marginal_effects_not_slopes_at_zero():
    d = _panel(seed=4, G=300, quad=True, direct=1.0, q=-0.1)
    r = bootstrap_indirect(**d, n_boot=200, key=1)
    e = r.estimate
    assert e["x_mean"] == pytest.approx(d["x_raw"].mean(), rel=1e-13)
    # statsmodels' outcome equation: the derivative c' + 2g·x averaged over the sample
    out = sm.OLS(d["y"], np.column_stack([d["x"], d["x2"], d["controls"], d["m"]])).fit().params
    assert e["c_prime"] == pytest.approx(out[0], rel=1e-10) and e["g"] == pytest.approx(out[1], rel=1e-10)
    assert e["direct"] == pytest.approx(np.mean(out[0] + 2 * out[1] * d["x_raw"]), rel=1e-10)
    assert e["total"] == pytest.approx(e["direct"] + e["indirect"], rel=1e-13)
    # truth at x̄ ≈ 4: direct 1 − 0.2·x̄ ≈ 0.2; the slope at x = 0 (c', truth 1) is not an effect in the data
    assert e["direct"] == pytest.approx(1.0 - 0.2 * e["x_mean"], abs=4 * r.se("direct"))
    assert e["c_prime"] == pytest.approx(1.0, abs=4 * r.se("c_prime"))
    assert abs(e["c_prime"] - e["direct"]) > 4 * r.se("c_prime")
    # every replicate evaluates at its own resample's mean
    np.testing.assert_allclose(r.draws["direct"], r.draws["c_prime"] + 2 * r.draws["g"] * r.draws["x_mean"], rtol=1e-12)
    assert np.std(r.draws["x_mean"]) > 0
    # equation (1)'s own effect is reported, not mixed into the decomposition
    assert e["total_eq1"] == pytest.approx(e["c"] + 2 * e["c2"] * e["x_mean"], rel=1e-12)
    assert e["total_eq1"] != pytest.approx(e["total"], rel=1e-6)


def test_x2_needs_the_raw_x():
    d = _panel(seed=5, quad=True)
    d.pop("x_raw")
    with pytest.raises(ValueError, match="x_raw"):
        bootstrap_indirect(**d, n_boot=5)


def test_summary_json_intervals_record_their_method():
    d = _panel(seed=6, G=60, direct=0.5, q=0.0)  # total 0.8: the proportion is defined
    r = bootstrap_indirect(**d, n_boot=200, key=2)
    s = r.summary(0.9, "bca")
    json.dumps(s, allow_nan=False)
    assert set(s["quantities"]) == set(MEDIATION_NAMES)
    assert s["n_clusters"] == 60 and s["n_boot"] == 200 and s["method"] == "bca"
    for name, q in s["quantities"].items():
        assert q["interval"]["method"] == "bca" and q["interval"]["note"] is None, name
        assert q["interval"]["bounds"] == pytest.approx(q["bca"]), name
        lo, hi = q["percentile"]
        assert lo <= np.median(r.draws[name]) <= hi
    assert r.summary(0.9, "percentile")["quantities"]["a"]["interval"]["bounds"] == pytest.approx(s["quantities"]["a"]["percentile"])
    with pytest.raises(ValueError):
        r.ci("a", method="studentized")


def test_undefined_bca_falls_back_in_the_summary():
    """Four replicates: some quantity's draws all lie on one side of its estimate, so its BCa
    bounds are undefined ([None, None] in JSON, which the old fallback took for an interval)."""
    d = _panel(seed=7, G=30)
    for key in range(20):
        r = bootstrap_indirect(**d, n_boot=4, key=key)
        s = r.summary(0.95, "bca")
        undefined = [n for n, q in s["quantities"].items() if q["bca"] == [None, None] and n != "proportion"]
        if undefined:
            break
    assert undefined, "no replicate set with an undefined BCa interval"
    json.dumps(s, allow_nan=False)
    for name in undefined:
        iv = s["quantities"][name]["interval"]
        assert iv["method"] == "percentile" and "BCa undefined" in iv["note"], name
        assert iv["bounds"] == pytest.approx(s["quantities"][name]["percentile"]) and None not in iv["bounds"]


def test_proportion_undefined_when_total_is_not_distinguishable_from_zero():
    # direct 0.2·x − 0.03·x² at x̄ ≈ 4: 0.2 − 0.24 = −0.04, plus a·b = 0.3 … choose direct so the total ≈ 0
    d = _panel(seed=8, G=80, direct=-0.3, q=0.0)
    r = bootstrap_indirect(**d, n_boot=300, key=3)
    s = r.summary(0.95, "bca")
    lo, hi = s["quantities"]["total"]["interval"]["bounds"]
    assert lo < 0 < hi
    prop = s["quantities"]["proportion"]
    assert prop["estimate"] is None and "covers zero" in prop["undefined"]
    assert prop["interval"] == {"bounds": [None, None], "method": "undefined", "note": prop["undefined"]}
    assert math.isfinite(r.estimate["proportion"])  # the raw ratio exists; it is just meaningless
