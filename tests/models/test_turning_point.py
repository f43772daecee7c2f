"""The turning point's delta SE and Fieller set on arrays: undefined for a covariance that is not
PSD, elementwise equal to the scalar forms, a rank-one covariance counted as PSD."""

import math

import numpy as np

from tradeq.models.turning_point import (
    fieller_arrays,
    fieller_set,
    is_psd_2x2,
    turning_point_arrays,
    turning_point_delta,
)


def test_psd_check():
    V = np.array([[[0.25, -0.04], [-0.04, 0.01]],       # PSD
                  [[0.04, -0.05], [-0.05, 0.01]],       # det < 0
                  [[-1e-3, 0.0], [0.0, 1.0]],           # negative variance
                  [[1.0, np.nan], [np.nan, 1.0]]])      # not finite
    assert is_psd_2x2(V).tolist() == [True, False, False, False]
    v = np.array([1.0, -0.37])
    assert is_psd_2x2(np.outer(v, v))  # rank one: a determinant of rounding size, either sign


def test_non_psd_gives_undefined_intervals():
    b, V = np.array([4.0, -1.0]), np.array([[0.04, -0.05], [-0.05, 0.01]])
    tp, se = turning_point_delta(b, V)
    assert tp == 2.0 and math.isnan(se)
    lo, hi, kind = fieller_set(b, V, 1.96)
    assert math.isnan(lo) and math.isnan(hi) and kind == "undefined"


def test_arrays_equal_scalar_forms():
    rng = np.random.default_rng(0)
    b = rng.normal(size=(200, 2))
    L = rng.normal(size=(200, 2, 2)) * 0.5
    V = L @ np.swapaxes(L, 1, 2)
    q = np.where(rng.random(200) < 0.5, 1.96, 2.6)
    lo, hi, kind = fieller_arrays(b, V, q)
    tp, se = turning_point_arrays(b, V)
    for i in range(200):
        assert fieller_set(b[i], V[i], q[i]) == (float(lo[i]), float(hi[i]), str(kind[i]))
        assert (tp[i], se[i]) == turning_point_delta(b[i], V[i])
    assert set(kind.tolist()) >= {"bounded", "unbounded_complement", "whole_line"}
