"""SA index: Hadlock & Pierce's coefficients by hand, the caps, units and the rejected inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeq.models.measures.sa_index import fic_index, sa_index


def _hand(assets, age, size_cap=4500.0, age_cap=37.0):
    size = math.log(min(assets, size_cap))
    return -0.737 * size + 0.043 * size**2 - 0.040 * min(age, age_cap)


@pytest.mark.parametrize("assets, age", [(50.0, 10.0), (1.0, 0.0), (4500.0, 37.0), (9000.0, 60.0), (0.2, 3.0)])
def test_matches_the_formula_by_hand(assets, age):
    assert sa_index(np.array([assets]), np.array([age]))[0] == pytest.approx(_hand(assets, age), rel=1e-14)


def test_caps_bind_above_and_are_parameters():
    a = sa_index(np.array([4500.0, 1e6]), np.array([37.0, 90.0]))
    assert a[0] == a[1]
    # a cap in million yuan (4.5 billion dollars at 8.28 yuan) gives a different index: units matter
    b = sa_index(np.array([1e6]), np.array([10.0]), size_cap=4500.0 * 8.28)
    assert b[0] == pytest.approx(_hand(1e6, 10.0, size_cap=4500.0 * 8.28))
    assert sa_index(np.array([50.0]), np.array([20.0]), age_cap=10.0)[0] == pytest.approx(_hand(50.0, 10.0))


def test_fic_is_ln_abs_sa_and_nan_at_zero():
    fic = fic_index(np.array([50.0, 1.0]), np.array([10.0, 0.0]))
    assert fic[0] == pytest.approx(math.log(abs(_hand(50.0, 10.0))))
    assert np.isnan(fic[1])  # size 0 and age 0: SA = 0


@pytest.mark.parametrize("assets, age, match", [([0.0], [1.0], "positive"), ([5.0], [-1.0], "negative")])
def test_rejects_impossible_inputs(assets, age, match):
    with pytest.raises(ValueError, match=match):
        sa_index(np.array(assets), np.array(age))
    with pytest.raises(ValueError, match="caps"):
        sa_index(np.array([5.0]), np.array([1.0]), size_cap=0.0)
