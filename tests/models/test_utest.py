"""Tests of the Lind–Mehlum / Sasabuchi (inverted-)U test against hand-computed values.

Every expected number below is worked out in the comments from the formulas

    s(x) = b1 + 2 b2 x,          se(x)² = V11 + 4x V12 + 4x² V22,
    x* = −b1 / (2 b2),           se(x*)² = g'Vg,  g = (−1/(2 b2), b1/(2 b2²)),
    Fieller: A x² + B x + C ≤ 0, A = 4(b2² − q²V22), B = 4(b1 b2 − q²V12), C = b1² − q²V11,

with coefficients chosen so the arithmetic is exact in a few decimal places. Only the
normal / t tail probabilities and quantiles come from scipy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from tradeq.models.fe_result import FEFit
from tradeq.models.utest import (
    VERDICT_TRIVIAL,
    fieller_set,
    find_squared_term,
    from_fit,
    turning_point_delta,
    utest,
    utest_batch,
)

# q = 2 exactly under the normal: level = P(|Z| ≤ 2) = 2Φ(2) − 1 ≈ 0.9545.
LEVEL_Q2 = 2.0 * stats.norm.cdf(2.0) - 1.0

# Worked example 1: b = (4, −1), V = [[.25, −.04], [−.04, .01]] (det .0009 > 0).
B1 = np.array([4.0, -1.0])
V1 = np.array([[0.25, -0.04], [-0.04, 0.01]])


def test_inverted_u_hand_computed():
    r = utest(B1, V1, 1.0, 3.5, df=None, level=LEVEL_Q2)
    # s(1)   = 4 − 2·1   = 2;   se² = .25 + 4·1·(−.04) + 4·1·.01    = .25 − .16 + .04 = .13
    # s(3.5) = 4 − 2·3.5 = −3;  se² = .25 + 4·3.5·(−.04) + 4·12.25·.01 = .25 − .56 + .49 = .18
    assert r.shape == "inverted_u"
    assert r.slope_lo == pytest.approx(2.0, abs=1e-14)
    assert r.se_lo == pytest.approx(math.sqrt(0.13), rel=1e-13)
    assert r.t_lo == pytest.approx(2.0 / math.sqrt(0.13), rel=1e-13)  # 5.547
    assert r.slope_hi == pytest.approx(-3.0, abs=1e-14)
    assert r.se_hi == pytest.approx(math.sqrt(0.18), rel=1e-13)
    assert r.t_hi == pytest.approx(-3.0 / math.sqrt(0.18), rel=1e-13)  # −7.071
    # Overall: t = min(5.547, 7.071) = 5.547; p = max(Φ̄(5.547), Φ(−7.071)) = Φ̄(5.547).
    assert r.t == pytest.approx(2.0 / math.sqrt(0.13), rel=1e-13)
    assert r.p_lo == pytest.approx(stats.norm.sf(2.0 / math.sqrt(0.13)), rel=1e-12)
    assert r.p_hi == pytest.approx(stats.norm.cdf(-3.0 / math.sqrt(0.18)), rel=1e-12)
    assert r.p == pytest.approx(r.p_lo, rel=1e-15)
    assert not r.trivial_failure
    assert r.verdict == "inverted U"
    assert r.reject
    # x* = −4 / (2·(−1)) = 2;  g = (−1/(−2), 4/2) = (.5, 2)
    # se² = .25·.25 + 2·.5·2·(−.04) + 4·.01 = .0625 − .08 + .04 = .0225  →  se = .15
    assert r.turning_point == pytest.approx(2.0, abs=1e-14)
    assert r.turning_point_se == pytest.approx(0.15, rel=1e-12)
    # Delta interval with q = 2: 2 ± .3
    assert (r.delta_lo, r.delta_hi) == pytest.approx((1.7, 2.3), abs=1e-12)
    # Fieller with q² = 4: A = 4(1 − .04) = 3.84, B = 4(−4 + .16) = −15.36, C = 16 − 1 = 15
    # D = 15.36² − 4·3.84·15 = 235.9296 − 230.4 = 5.5296; roots (15.36 ± √5.5296) / 7.68
    d = math.sqrt(15.36**2 - 4 * 3.84 * 15.0)
    assert r.fieller_kind == "bounded"
    assert r.fieller_lo == pytest.approx((15.36 - d) / 7.68, rel=1e-12)  # 1.6938
    assert r.fieller_hi == pytest.approx((15.36 + d) / 7.68, rel=1e-12)  # 2.3062


def test_u_hand_computed_with_t_distribution():
    b = np.array([-3.0, 0.5])
    V = np.array([[0.16, -0.012], [-0.012, 0.0025]])
    r = utest(b, V, 1.0, 6.0, df=30, level=0.95)
    # s(1) = −3 + 1 = −2;  se² = .16 − .048 + .01 = .122
    # s(6) = −3 + 6 = 3;   se² = .16 + 4·6·(−.012) + 4·36·.0025 = .16 − .288 + .36 = .232
    t_lo, t_hi = -2.0 / math.sqrt(0.122), 3.0 / math.sqrt(0.232)  # −5.726, 6.228
    assert r.shape == "u"
    assert (r.t_lo, r.t_hi) == pytest.approx((t_lo, t_hi), rel=1e-13)
    # U: t = min(−t_lo, t_hi) = 5.726; p = max(P(T30 ≤ t_lo), P(T30 ≥ t_hi)) = P(T30 ≥ 5.726)
    assert r.t == pytest.approx(-t_lo, rel=1e-13)
    assert r.p_lo == pytest.approx(stats.t.cdf(t_lo, 30), rel=1e-12)
    assert r.p_hi == pytest.approx(stats.t.sf(t_hi, 30), rel=1e-12)
    assert r.p == pytest.approx(stats.t.sf(-t_lo, 30), rel=1e-12)
    assert r.verdict == "U"
    # x* = 3/(2·.5) = 3;  g = (−1/(2·.5), −3/(2·.25)) = (−1, −6)
    # se² = .16 + 2·(−1)(−6)(−.012) + 36·.0025 = .16 − .144 + .09 = .106
    assert r.turning_point == pytest.approx(3.0, abs=1e-14)
    assert r.turning_point_se == pytest.approx(math.sqrt(0.106), rel=1e-12)
    # Fieller with q = t_{30, .975}: A = 4(.25 − q²·.0025), B = 4(−1.5 + q²·.012), C = 9 − q²·.16
    q2 = stats.t.ppf(0.975, 30) ** 2
    A, Bq, C = 4 * (0.25 - q2 * 0.0025), 4 * (-1.5 + q2 * 0.012), 9.0 - q2 * 0.16
    d = math.sqrt(Bq * Bq - 4 * A * C)
    assert A > 0 and r.fieller_kind == "bounded"
    assert (r.fieller_lo, r.fieller_hi) == pytest.approx(((-Bq - d) / (2 * A), (-Bq + d) / (2 * A)), rel=1e-12)


def test_significant_square_but_trivial_failure():
    # b2 = −1 with se .1: t(b2) = −10, yet x* = 2 lies right of [0, 1.5].
    assert abs(B1[1] / math.sqrt(V1[1, 1])) > 3
    r = utest(B1, V1, 0.0, 1.5, level=LEVEL_Q2)
    # s(0) = 4, se² = .25 → t_lo = 8;  s(1.5) = 1, se² = .25 − .24 + .09 = .10 → t_hi = 1/√.1 = 3.162
    assert (r.slope_lo, r.slope_hi) == pytest.approx((4.0, 1.0), abs=1e-14)
    assert (r.t_lo, r.t_hi) == pytest.approx((8.0, 1.0 / math.sqrt(0.1)), rel=1e-13)
    # Both slopes positive: trivial failure. t = min(8, −3.162) = −3.162, p = Φ(3.162) > .99
    assert r.trivial_failure
    assert r.t == pytest.approx(-1.0 / math.sqrt(0.1), rel=1e-13)
    assert r.p == pytest.approx(stats.norm.cdf(1.0 / math.sqrt(0.1)), rel=1e-12)
    assert r.verdict == "no U: trivial failure (extremum outside interval)"
    assert not r.reject
    # The turning point itself is precisely estimated: bounded Fieller set outside [0, 1.5].
    assert r.fieller_kind == "bounded" and r.fieller_lo > 1.5


def test_significant_square_but_turning_point_near_edge():
    # Same fit, interval [1, 2.1]: x* = 2 is inside but only 0.1 from the upper end.
    r = utest(B1, V1, 1.0, 2.1, level=0.95)
    # s(2.1) = 4 − 4.2 = −.2;  se² = .25 + 4·2.1·(−.04) + 4·4.41·.01 = .25 − .336 + .1764 = .0904
    t_hi = -0.2 / math.sqrt(0.0904)  # −0.665
    assert r.t_hi == pytest.approx(t_hi, rel=1e-12)
    assert not r.trivial_failure
    assert r.t == pytest.approx(-t_hi, rel=1e-12)
    assert r.p == pytest.approx(stats.norm.cdf(t_hi), rel=1e-12)  # ≈ .253
    assert r.verdict == "no U: not significant"


def test_unbounded_fieller_when_square_insignificant():
    # b = (1, −.1), V = diag(.04, .01): t(b2) = −1, below q = 2.
    b, V = np.array([1.0, -0.1]), np.diag([0.04, 0.01])
    r = utest(b, V, 0.0, 10.0, level=LEVEL_Q2)
    # A = 4(.01 − .04) = −.12, B = 4(−.1) = −.4, C = 1 − .16 = .84
    # D = .16 + 4·.12·.84 = .5632 > 0, roots (.4 ± √.5632)/(−.24) = −4.7936, 1.4603
    d = math.sqrt(0.5632)
    assert r.fieller_kind == "unbounded_complement"
    assert r.fieller_lo == pytest.approx((0.4 + d) / -0.24, rel=1e-12)
    assert r.fieller_hi == pytest.approx((0.4 - d) / -0.24, rel=1e-12)
    # x* = 5 is in the set (the right ray); points between the roots are not.
    assert r.turning_point == pytest.approx(5.0)
    assert r.fieller_contains(5.0) and not r.fieller_contains(0.0)
    # x* = 5, g = (5, 50): se² = 25·.04 + 2500·.01 = 26
    assert r.turning_point_se == pytest.approx(math.sqrt(26.0), rel=1e-12)
    # s(10) = −1, se² = .04 + 400·.01 = 4.04 → t_hi = −.4975: not significant
    assert r.t_hi == pytest.approx(-1.0 / math.sqrt(4.04), rel=1e-12)
    assert r.verdict == "no U: not significant"
    d_json = r.to_dict()["fieller"]
    assert d_json["kind"] == "unbounded_complement"


def test_whole_line_fieller():
    # b = (.1, −.1), V = diag(.04, .01), q = 2: neither coefficient is significant.
    r = utest(np.array([0.1, -0.1]), np.diag([0.04, 0.01]), 0.0, 10.0, level=LEVEL_Q2)
    # A = −.12, B = 4(−.01) = −.04, C = .01 − .16 = −.15; D = .0016 − 4·.12·.15 = −.0704 < 0
    assert r.fieller_kind == "whole_line"
    assert r.fieller_lo == -math.inf and r.fieller_hi == math.inf
    assert r.fieller_contains(1e12)
    out = r.to_dict()
    assert out["fieller"] == {"lo": "-inf", "hi": "inf", "kind": "whole_line"}
    json.dumps(out, allow_nan=False)


def test_fieller_degenerate_linear_case_is_a_ray():
    # A = 0 when b2² = q² V22: b2 = −.5, V22 = 1/16, q = 2 (all exact in binary). Then
    # B x + C ≤ 0 with B = 4(b1 b2 − q² V12) = 4(−.5) = −2 (b1 = 1, V12 = 0) and
    # C = 1 − 4/16 = .75: x ≥ .375, written as (−inf, −inf] ∪ [.375, inf).
    lo, hi, kind = fieller_set(np.array([1.0, -0.5]), np.diag([0.0625, 0.0625]), 2.0)
    assert kind == "unbounded_complement"
    assert lo == -math.inf and hi == pytest.approx(0.375, rel=1e-14)
    # Mirror image (b1 = −1): x ≤ −.375, i.e. (−inf, −.375] ∪ [inf, inf).
    lo, hi, kind = fieller_set(np.array([-1.0, -0.5]), np.diag([0.0625, 0.0625]), 2.0)
    assert kind == "unbounded_complement"
    assert lo == pytest.approx(-0.375, rel=1e-14) and hi == math.inf


def test_fieller_bounds_are_where_the_slope_t_equals_q():
    # Identity: at each finite Fieller bound x, |s(x)| / se(x) = q exactly.
    rng = np.random.default_rng(3)
    for _ in range(20):
        L = rng.normal(size=(2, 2)) * 0.3
        V = L @ L.T + 1e-3 * np.eye(2)
        b = rng.normal(size=2)
        for q in (1.0, 1.96, 3.0):
            lo, hi, kind = fieller_set(b, V, q)
            for x in (lo, hi):
                if np.isfinite(x):
                    s = b[0] + 2 * b[1] * x
                    se = math.sqrt(V[0, 0] + 4 * x * V[0, 1] + 4 * x * x * V[1, 1])
                    assert abs(s) / se == pytest.approx(q, rel=1e-8)
            # Bounded exactly when b2 is significant at q (A > 0).
            assert (kind == "bounded") == (b[1] ** 2 / V[1, 1] > q * q)


def test_duality_fieller_and_test():
    # Both invert t(x) = s(x)/se(x), whose sign flips only at x*: the test rejects at α
    # iff the 1 − 2α Fieller set lies inside [x_lo, x_hi]. At α = p the critical value equals the overall t, so the Fieller
    # bound on the binding side falls exactly on the interval end.
    b, V = B1, 16.0 * V1  # t_lo = 2/√2.08 = 1.387, t_hi = −3/√2.88 = −1.768
    for df in (None, 25.0):
        r = utest(b, V, 1.0, 3.5, df=df)
        assert r.t == pytest.approx(2.0 / math.sqrt(2.08), rel=1e-12)
        at_p = utest(b, V, 1.0, 3.5, df=df, level=1.0 - 2.0 * r.p)
        assert at_p.fieller_kind == "bounded"
        assert at_p.fieller_lo == pytest.approx(1.0, abs=1e-9)
        assert at_p.fieller_hi < 3.5
        for alpha in (0.8 * r.p, 1.25 * r.p):
            rr = utest(b, V, 1.0, 3.5, df=df, level=1.0 - alpha)
            ff = utest(b, V, 1.0, 3.5, df=df, level=1.0 - 2.0 * alpha)
            inside = ff.fieller_kind == "bounded" and 1.0 < ff.fieller_lo and ff.fieller_hi < 3.5
            assert rr.reject == inside == (alpha > r.p)


def test_mirror_and_sign_symmetry():
    # Reflect x → −x: b1 → −b1, V12 → −V12, interval [−x_hi, −x_lo]. The ends swap and
    # the slopes change sign, so t and p are unchanged and x* → −x*.
    r = utest(B1, V1, 1.0, 3.5)
    Vm = V1 * np.array([[1, -1], [-1, 1]])
    m = utest(np.array([-B1[0], B1[1]]), Vm, -3.5, -1.0)
    assert (m.t_lo, m.t_hi) == pytest.approx((-r.t_hi, -r.t_lo), rel=1e-13)
    assert (m.t, m.p) == pytest.approx((r.t, r.p), rel=1e-12)
    assert m.turning_point == pytest.approx(-r.turning_point)
    assert m.turning_point_se == pytest.approx(r.turning_point_se, rel=1e-12)
    assert (m.fieller_lo, m.fieller_hi) == pytest.approx((-r.fieller_hi, -r.fieller_lo), rel=1e-12)
    # Negate b: an inverted U becomes a U with the same statistic.
    u = utest(-B1, V1, 1.0, 3.5)
    assert u.shape == "u" and u.verdict == "U"
    assert (u.t, u.p) == pytest.approx((r.t, r.p), rel=1e-12)
    # Symmetric interval around x* with se(1) = se(3) (both .13): t_lo = −t_hi.
    s = utest(B1, V1, 1.0, 3.0)
    assert s.t_lo == pytest.approx(-s.t_hi, rel=1e-13)
    assert s.p_lo == pytest.approx(s.p_hi, rel=1e-12)


def test_delta_se_matches_numerical_gradient():
    def tp(b):
        return -b[0] / (2 * b[1])

    for b, V in [(B1, V1), (np.array([-3.0, 0.5]), np.array([[0.16, -0.012], [-0.012, 0.0025]]))]:
        h = 1e-6
        g = np.array([(tp(b + h * e) - tp(b - h * e)) / (2 * h) for e in np.eye(2)])
        _, se = turning_point_delta(b, V)
        assert se == pytest.approx(math.sqrt(g @ V @ g), rel=1e-7)


def test_forced_wrong_shape_is_not_significant():
    # An inverted-U fit tested for a U: slopes have opposite signs but point the wrong way.
    r = utest(B1, V1, 1.0, 3.5, shape="u")
    assert not r.trivial_failure
    # U directions: t = min(−t_lo, t_hi) = min(−5.547, −7.071) = −7.071
    assert r.t == pytest.approx(-3.0 / math.sqrt(0.18), rel=1e-13)
    assert r.p > 0.5 and r.verdict == "no U: not significant"


def test_input_validation():
    with pytest.raises(ValueError):
        utest(B1, V1, 2.0, 1.0)
    with pytest.raises(ValueError):
        utest(B1, np.array([[1.0, 0.1], [0.2, 1.0]]), 0.0, 1.0)
    with pytest.raises(ValueError):
        utest(B1, V1, 0.0, 1.0, shape="w")


def test_to_dict_keys_and_json():
    d = utest(B1, V1, 1.0, 3.5, df=40).to_dict()
    for key in (
        "interval", "slope_lo", "se_lo", "t_lo", "p_lo", "slope_hi", "se_hi", "t_hi",
        "p_hi", "t", "p", "turning_point", "turning_point_se", "fieller", "verdict",
        "shape", "level",
    ):
        assert key in d
    assert set(d["fieller"]) == {"lo", "hi", "kind"}
    assert d["interval"] == [1.0, 3.5]
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["verdict"] == "inverted U" and back["df"] == 40.0


def _fit(names, coef, vcov, df_t=99.0):
    return FEFit(
        coef=np.asarray(coef, float), vcov=np.asarray(vcov, float), x_names=tuple(names),
        y_name="quality", vcov_type="cluster", df_t=df_t, n_obs=100, rss=1.0, tss=2.0,
        tss_within=1.5,
    )


@pytest.mark.parametrize("sq", ["I(Market ** 2)", "I(Market**2)", "Market^2", "Market_sq"])
def test_from_fit_finds_squared_term(sq):
    # Layout: control first, so the picked rows/cols are not simply the leading block.
    V = np.array([[1.0, 0.0, 0.0], [0.0, 0.25, -0.04], [0.0, -0.04, 0.01]])
    fit = _fit(["scale", "Market", sq], [0.3, 4.0, -1.0], V, df_t=57.0)
    r = from_fit(fit, "Market", 1.0, 3.5)
    ref = utest(B1, V1, 1.0, 3.5, df=57.0)
    assert r == ref
    assert find_squared_term(fit.x_names, "Market") == sq


def test_from_fit_missing_term_lists_terms():
    fit = _fit(["Market", "scale"], [4.0, 0.3], np.eye(2))
    with pytest.raises(KeyError, match="scale"):
        from_fit(fit, "Market", 1.0, 3.5)
    with pytest.raises(KeyError, match="linear term"):
        from_fit(fit, "Integration", 1.0, 3.5)


# ---------------------------------------------------------------------------------------
# Undefined variances: NaN, whatever the argument order, and a verdict that says why
# ---------------------------------------------------------------------------------------

# V is not PSD (det = .0004 − .0025 < 0): on [0, 3.5] the low-end slope 4 has variance .04
# (t_lo = 20) but the high-end variance is .04 + 4·3.5·(−.05) + 4·12.25·.01 = −.17.
B_NPSD = np.array([4.0, -1.0])
V_NPSD = np.array([[0.04, -0.05], [-0.05, 0.01]])


def _assert_undefined(r, why: str):
    assert math.isnan(r.t) and math.isnan(r.p)
    assert math.isnan(r.turning_point_se) and math.isnan(r.delta_lo) and math.isnan(r.delta_hi)
    assert math.isnan(r.fieller_lo) and math.isnan(r.fieller_hi) and r.fieller_kind == "undefined"
    assert r.verdict.startswith("undefined") and why in r.verdict
    assert not r.reject and not r.fieller_contains(r.turning_point)
    d = r.to_dict()
    assert d["t"] is None and d["p"] is None and d["verdict"] == r.verdict
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("df", [None, 12.0])
def test_non_psd_end_slope_variance_is_nan_at_either_end(df):
    r = utest(B_NPSD, V_NPSD, 0.0, 3.5, df=df)
    assert r.t_lo == pytest.approx(20.0, rel=1e-13) and math.isnan(r.se_hi) and math.isnan(r.t_hi)
    assert r.slope_hi == pytest.approx(-3.0) and not r.trivial_failure
    _assert_undefined(r, "non-PSD")
    # The mirror image x → −x puts the undefined variance at the low end: same answer.
    m = utest(np.array([-4.0, -1.0]), V_NPSD * np.array([[1, -1], [-1, 1]]), -3.5, 0.0, df=df)
    assert math.isnan(m.se_lo) and m.t_hi == pytest.approx(-20.0, rel=1e-13)
    _assert_undefined(m, "non-PSD")


def test_zero_end_slope_variance_is_undefined():
    # V = v v' with v = (1, −.5): the slope at x = 1 has variance (1 − 1)² = 0.
    V = np.outer([1.0, -0.5], [1.0, -0.5])
    r = utest(np.array([3.0, -1.0]), V, 1.0, 2.0)
    assert r.se_lo == 0.0 and math.isnan(r.t) and math.isnan(r.p)
    assert r.verdict == "undefined: the variance of the end slopes is not positive (zero variance)"
    assert r.fieller_kind != "undefined"  # a rank-one covariance is PSD: the Fieller set exists


@pytest.mark.parametrize("where", ["b", "V"])
def test_nan_inputs_are_undefined(where):
    b, V = B1.copy(), V1.copy()
    if where == "b":
        b[1] = np.nan
    else:
        V[0, 1] = V[1, 0] = np.nan
    r = utest(b, V, 1.0, 3.5, df=30)
    _assert_undefined(r, "not finite")
    assert not r.trivial_failure


def test_trivial_failure_needs_no_variance():
    # Both end slopes positive on [0, 1] (x* = 2): no U whatever the (here non-PSD) variance.
    r = utest(B_NPSD, V_NPSD, 0.0, 1.0)
    assert r.trivial_failure and r.verdict == VERDICT_TRIVIAL and r.fieller_kind == "undefined"


# ---------------------------------------------------------------------------------------
# The batched form: the same numbers as the scalar wrapper, and as a brute-force reference
# ---------------------------------------------------------------------------------------


def random_cases(n=400, seed=0, psd=True):
    rng = np.random.default_rng(seed)
    b2 = rng.normal(-0.006, 0.006, n)
    tp = rng.uniform(2.5, 5.5, n)
    b1 = -2 * b2 * tp + rng.normal(0, 0.01, n)
    L = rng.normal(0, 1, (n, 2, 2)) * np.array([0.02, 0.003])[None, :, None]
    V = 0.25 * (L @ np.swapaxes(L, 1, 2)) + 1e-8 * np.eye(2)
    if not psd:
        # Every other case: the covariance's smaller eigenvalue made negative (indefinite, as
        # a two-way clustered variance can be); some end-slope variances turn negative.
        w, Q = np.linalg.eigh(V)
        w[1::2, 0] = -w[1::2, 1] * rng.uniform(0.0, 0.5, n)[1::2]
        V = np.einsum("rij,rj,rkj->rik", Q, w, Q)
        V = 0.5 * (V + np.swapaxes(V, 1, 2))
    df = rng.choice([8.0, 60.0, 5000.0, np.inf], n)
    return b1, b2, V, df


def reference_utest(b1, b2, V, x_lo, x_hi, df, level, shape):
    """Plain-Python Lind–Mehlum test: (t, p, reject) with NaN where an end variance is ≤ 0."""
    sf = (lambda t: stats.norm.sf(t)) if df is None else (lambda t: stats.t.sf(t, df))
    s_lo, s_hi = b1 + 2 * b2 * x_lo, b1 + 2 * b2 * x_hi
    v_lo = V[0][0] + 4 * x_lo * V[0][1] + 4 * x_lo * x_lo * V[1][1]
    v_hi = V[0][0] + 4 * x_hi * V[0][1] + 4 * x_hi * x_hi * V[1][1]
    if not (v_lo > 0 and v_hi > 0) or math.isnan(b1) or math.isnan(b2):
        return math.nan, math.nan, False
    sign = 1.0 if shape == "inverted_u" else -1.0
    d_lo, d_hi = sign * s_lo / math.sqrt(v_lo), -sign * s_hi / math.sqrt(v_hi)
    t, p = min(d_lo, d_hi), max(sf(d_lo), sf(d_hi))
    return t, p, (s_lo * s_hi < 0) and t > 0 and p < 1 - level


@pytest.mark.parametrize("psd", [True, False])
@pytest.mark.parametrize("shape", ["inverted_u", "u"])
def test_batch_matches_reference_and_scalar(psd, shape):
    b1, b2, V, df = random_cases(psd=psd)
    if shape == "u":
        b1, b2 = -b1, -b2
    b = np.stack([b1, b2], -1)
    b[::37, 0] = np.nan  # a few failed fits
    out = utest_batch(b, V, 3.165, 4.732, df, level=0.95, shape=shape)
    for i in range(b1.size):
        d = None if np.isinf(df[i]) else df[i]
        t, p, rej = reference_utest(b[i, 0], b[i, 1], V[i], 3.165, 4.732, d, 0.95, shape)
        assert out.reject[i] == rej, i
        np.testing.assert_allclose([out.t[i], out.p[i]], [t, p], rtol=1e-12, atol=1e-300)
        one = utest(b[i], V[i], 3.165, 4.732, df=d, level=0.95, shape=shape)
        for name in ("t", "p", "t_lo", "t_hi", "turning_point", "turning_point_se", "fieller_lo", "fieller_hi"):
            np.testing.assert_array_equal(getattr(out, name)[i], getattr(one, name), err_msg=name)
        assert (out.verdict[i], out.fieller_kind[i], out.trivial_failure[i]) == (
            one.verdict, one.fieller_kind, one.trivial_failure)
    assert 0 < out.reject.sum() < b1.size  # both outcomes exercised
    if not psd:
        assert 0 < np.isnan(out.t[1::2]).sum() < b1.size // 2 and (out.fieller_kind[1::2] == "undefined").all()


def test_batch_auto_shape_and_dataset():
    b = np.array([[4.0, -1.0], [-4.0, 1.0]])
    out = utest_batch(b, np.stack([V1, V1]), 1.0, 3.5, df=[40.0, np.inf])
    assert out.shape.tolist() == ["inverted_u", "u"] and out.verdict.tolist() == ["inverted U", "U"]
    assert out.t[0] == pytest.approx(out.t[1], rel=1e-13)
    ds = out.to_dataset()
    assert ds.sizes == {"replication": 2} and ds["reject"].values.all()


def test_symmetry_is_judged_on_the_matrix_scale():
    V = V1.copy()
    V[0, 1] += 1e-14  # rounding-size asymmetry: accepted
    assert utest(B1, V, 1.0, 3.5).verdict == "inverted U"
    Vz = np.diag([0.25, 0.01])
    Vz[0, 1] = 1e-18  # against an exact zero
    utest(B1, Vz, 1.0, 3.5)
    with pytest.raises(ValueError, match="symmetric"):
        utest_batch(np.stack([B1, B1]), np.stack([V1, np.array([[0.25, 0.0], [0.05, 0.01]])]), 1.0, 3.5)
