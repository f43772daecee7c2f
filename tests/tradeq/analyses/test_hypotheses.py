"""``model.hypothesis``: linear combinations of the fit's terms, matched whole, with one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.analyses.hypotheses import linear_hypothesis
from tradeq.errors import ConfigError

TERMS = ["IC", "IC2", "I(Market ** 2)", "HUM", "x:C(region)[T.west]"]


@pytest.mark.parametrize("text,R,r", [
    ("IC = 0", [1, 0, 0, 0, 0], 0.0),
    ("post = 0.04", None, None),
    ("IC - 2*HUM = 0.5", [1, 0, 0, -2, 0], 0.5),
    ("2 * IC2 + HUM/4 = -1", [0, 2, 0, 0.25, 0], -1.0),
    ("I(Market**2) = 1", [0, 0, 1, 0, 0], 1.0),  # spaces do not matter
    ("(IC + IC2)/2 + 1 = 3", [0.5, 0.5, 0, 0, 0], 2.0),  # a number on the left moves right
    ("x:C(region)[T.west] - IC = 0", [-1, 0, 0, 0, 1], 0.0),
])
def test_linear_hypotheses(text, R, r):
    if R is None:
        R_, r_ = linear_hypothesis(text, ["post", "pre"])
        np.testing.assert_array_equal(R_, [1, 0])
        assert r_ == 0.04
        return
    R_, r_ = linear_hypothesis(text, TERMS)
    np.testing.assert_allclose(R_, R)
    assert r_ == pytest.approx(r)


@pytest.mark.parametrize("text,message", [
    ("foo = 1", "'foo' is not a term of the fit"),
    ("IC * HUM = 0", "a product of two terms is not linear"),
    ("IC = a", "the right side 'a' is not a number"),
    ("IC == 1", "must read '<linear combination of terms> = <number>'"),
    ("2 = 3", "names no term of the fit"),
    ("IC / HUM = 1", "divide only by a non-zero number"),
])
def test_bad_hypotheses_say_why_in_one_line(text, message):
    with pytest.raises(ConfigError) as err:
        linear_hypothesis(text, TERMS)
    assert message in str(err.value) and str(err.value).startswith(f"model.hypothesis={text!r}")
    assert "\n" not in str(err.value)
