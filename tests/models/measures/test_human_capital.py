"""Schooling human capital: the paper's weights by hand, units, and shares that do not add up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeq.models.measures.human_capital import PAPER_YEARS, ln_human_capital, schooling_years


def test_paper_formula_by_hand():
    shares = np.array([2.0, 20.0, 45.0, 5.0, 13.0, 3.0, 7.0, 4.5, 0.5])  # percent, sums to 100
    hand = (0 * 2 + 6 * 20 + 9 * 45 + 12 * 5 + 12 * 13 + 15 * 3 + 16 * 7 + 19 * 4.5 + 19 * 0.5) / 100
    assert schooling_years(shares) == pytest.approx(hand, rel=1e-14)
    assert schooling_years(shares / 100, unit="fraction") == pytest.approx(hand, rel=1e-14)
    assert ln_human_capital(shares) == pytest.approx(math.log(hand))
    assert PAPER_YEARS == (0, 6, 9, 12, 12, 15, 16, 19, 19)


def test_rows_and_rounding_tolerance():
    rows = np.array([[0, 0, 100, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 100.3]], float)
    np.testing.assert_allclose(schooling_years(rows), [9.0, 19 * 1.003])


def test_shares_not_adding_up_are_handled_explicitly():
    bad = np.array([[0, 50, 40, 0, 0, 0, 0, 0, 0], [0, 0, 100, 0, 0, 0, 0, 0, 0]], float)  # row 0: 90%
    with pytest.raises(ValueError, match="row 0 add up to 90"):
        schooling_years(bad)
    np.testing.assert_allclose(schooling_years(bad, mismatch="renormalise"), [(6 * 50 + 9 * 40) / 90, 9.0])
    np.testing.assert_allclose(schooling_years(bad, mismatch="ignore"), [(6 * 50 + 9 * 40) / 100, 9.0])


@pytest.mark.parametrize("kw, match", [({"unit": "share"}, "unit"), ({"mismatch": "fix"}, "mismatch")])
def test_rejects_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        schooling_years(np.full(9, 100 / 9), **kw)
    with pytest.raises(ValueError, match="9 categories"):
        schooling_years(np.full(8, 12.5))
    with pytest.raises(ValueError, match="non-negative"):
        schooling_years(np.r_[-1.0, 101.0, np.zeros(7)])
