"""Collinearity detection: the same columns as pyfixest's ``find_collinear_variables``."""

from __future__ import annotations

import numpy as np
import pytest
from pyfixest.core.collinear import find_collinear_variables

from tradeq.models.collinear import COLLIN_TOL, cholesky_collinear, detect_collinear


def _pyfixest_drop(X):
    XtX = np.ascontiguousarray(X.T @ X)
    excl, _, _ = find_collinear_variables(XtX, COLLIN_TOL)
    return np.asarray(excl, dtype=bool)


@pytest.mark.parametrize("seed", range(5))
def test_same_columns_as_pyfixest(seed):
    rng = np.random.default_rng(seed)
    n = 200
    A = rng.standard_normal((n, 4))
    X = np.column_stack([
        A[:, 0],
        A[:, 1],
        A[:, 0] - 2 * A[:, 1],  # collinear with the first two: dropped, they are kept
        A[:, 2],
        np.zeros(n),  # all zero
        A[:, 3],
        A[:, 2] + A[:, 3],  # collinear with columns 3 and 5
        A[:, 1],  # duplicate of column 1: the later copy goes
    ])
    perm = rng.permutation(X.shape[1]) if seed else np.arange(X.shape[1])
    X = X[:, perm]
    ours = cholesky_collinear(X.T @ X)
    np.testing.assert_array_equal(ours, _pyfixest_drop(X))
    assert ours.sum() == 4


def test_earlier_column_kept():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(50)
    X = np.column_stack([2 * x, x])
    keep, dropped = detect_collinear(X.T @ X, ["a", "b"])
    np.testing.assert_array_equal(keep, [True, False])
    assert dropped == ("b",)
    keep, dropped = detect_collinear(X[:, ::-1].T @ X[:, ::-1], ["b", "a"])
    assert dropped == ("a",)


def test_relative_safeguard_on_large_scale_columns():
    # On a 1e6 scale an exactly collinear column leaves a round-off residual far above the
    # absolute 1e-9; the relative test still drops it, and the absolute test alone would not.
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 500)) * 1e6
    X = np.column_stack([a, b, 0.3 * a + 0.7 * b])
    XtX = X.T @ X
    assert cholesky_collinear(XtX).tolist() == [False, False, True]
    assert not cholesky_collinear(XtX, rtol=0.0).any()
    assert not _pyfixest_drop(X).any()  # pyfixest keeps it (and its estimates are noise)
    # well-conditioned columns are never touched by the relative test
    assert not cholesky_collinear(np.eye(3) * 1e12).any()
    assert not cholesky_collinear(np.eye(3) * 1e-6, tol=1e-12).any()


def test_all_collinear_raises_and_shapes():
    with pytest.raises(ValueError, match="collinear"):
        detect_collinear(np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="names"):
        detect_collinear(np.eye(2), ["a"])
    with pytest.raises(ValueError, match="square"):
        cholesky_collinear(np.zeros((2, 3)))
