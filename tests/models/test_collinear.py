"""Collinearity detection: the same columns as pyfixest's ``find_collinear_variables`` on data
in ordinary units, and the same decisions in any units (scale-free).

pyfixest and fixest apply an absolute tolerance to ``X~'X~``; in ordinary units that only
ever drops exactly collinear columns, so the two rules agree there. Rescaled, pyfixest drops
a legitimate regressor with a small within sd (and biases the others); ours does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyfixest.core.collinear import find_collinear_variables

from tradeq.formula import design_from_formula
from tradeq.models.collinear import cholesky_collinear, detect_collinear, fe_reference
from tradeq.models.fixed_effects import fit_fe

PYFIXEST_COLLIN_TOL = 1e-9  # pf.feols(collin_tol=1e-9), absolute


def _pyfixest_drop(X):
    XtX = np.ascontiguousarray(X.T @ X)
    excl, _, _ = find_collinear_variables(XtX, PYFIXEST_COLLIN_TOL)
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


@pytest.mark.parametrize("scale", [1e-7, 1.0, 1e7])
def test_decisions_do_not_depend_on_units(scale):
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((3, 500))
    X = np.column_stack([a, b, 0.3 * a + 0.7 * b, c]) * [1.0, scale, scale, 1.0]
    assert cholesky_collinear(X.T @ X).tolist() == [False, False, True, False]


def test_small_legitimate_regressor_is_kept_where_an_absolute_rule_drops_it():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 400))
    X = np.column_stack([a, 3e-7 * b])  # sd 3e-7: X'X_jj ~ 4e-11 < 1e-9
    assert _pyfixest_drop(X).tolist() == [False, True]
    assert cholesky_collinear(X.T @ X).tolist() == [False, False]


def test_reference_drops_columns_absorbed_by_the_fixed_effects():
    # within sums of squares far below the pre-transform ones: absorbed, at any scale
    XtX = np.diag([4.0, 1e-14, 1e-14 * 1e14])
    reference = np.array([5.0, 10.0, 10.0 * 1e14])
    assert cholesky_collinear(XtX, reference=reference).tolist() == [False, True, True]
    # a small but genuine within share is kept
    assert not cholesky_collinear(np.diag([4.0, 1e-6]), reference=np.array([5.0, 10.0])).any()
    ref = fe_reference(np.array([2.0, 1e-30, 0.0]), np.array([3.0, 1.0, 0.0]))
    assert ref[0] == 2.0 and np.isinf(ref[1]) and np.isinf(ref[2])


def _panel(seed=3, n_firms=60, n_years=7):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    n = firm.size
    a = rng.standard_normal(n_firms)[firm]
    df = pd.DataFrame({"firm": firm, "year": year})
    df["x1"] = 0.5 * a + rng.standard_normal(n)
    df["x2"] = rng.standard_normal(n) + 0.1 * year
    df["x3"] = rng.standard_normal(n)
    df["x4"] = df.x1 - 2.0 * df.x2  # collinear with earlier columns
    df["x5"] = (firm % 5) * 1.5  # time-invariant: collinear with the firm FE
    df["y"] = 0.4 * df.x1 - 0.2 * df.x2 + 0.3 * df.x3 + a + 0.05 * year + rng.standard_normal(n)
    return df


FML = "y ~ x1 + x2 + x3 + x4 + x5 | firm + year"


def _fit(df):
    with pytest.warns(UserWarning, match="collinear"):
        return fit_fe(design_from_formula(df, FML, cluster=["firm"]), "cluster")


@pytest.mark.parametrize("scale", [1e-7, 1e7])
@pytest.mark.parametrize("column", ["x2", "x4", "x5"])
def test_fit_is_equivariant_to_rescaling_a_column(column, scale):
    """Multiplying a column by c: its coefficient is divided by c, t statistics, the dropped
    set and the fitted values X b do not move; collinear columns are still dropped."""
    df = _panel()
    base = _fit(df)
    scaled_df = df.assign(**{column: df[column] * scale})
    fit = _fit(scaled_df)
    assert fit.dropped_collinear == base.dropped_collinear == ("x4", "x5")
    expected = base.coef / np.array([scale if nm == column else 1.0 for nm in base.x_names])
    np.testing.assert_allclose(fit.coef, expected, rtol=1e-9)
    np.testing.assert_allclose(fit.tstat, base.tstat, rtol=1e-9)
    fitted = df[list(base.x_names)].to_numpy() @ base.coef
    fitted_scaled = scaled_df[list(fit.x_names)].to_numpy() @ fit.coef
    np.testing.assert_allclose(fitted_scaled, fitted, rtol=1e-9, atol=1e-12)


def test_regressor_with_tiny_within_sd_is_estimated():
    df = _panel().drop(columns=["x4", "x5"])
    fml = "y ~ x1 + x2 + x3 | firm + year"
    base = fit_fe(design_from_formula(df, fml), "iid")
    small = fit_fe(design_from_formula(df.assign(x3=df.x3 * 3e-7), fml), "iid")
    assert small.dropped_collinear == ()
    np.testing.assert_allclose(small.coef, base.coef / [1.0, 1.0, 3e-7], rtol=1e-9)
    np.testing.assert_allclose(small.se, base.se / [1.0, 1.0, 3e-7], rtol=1e-9)


def test_all_collinear_raises_and_shapes():
    with pytest.raises(ValueError, match="collinear"):
        detect_collinear(np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="names"):
        detect_collinear(np.eye(2), ["a"])
    with pytest.raises(ValueError, match="square"):
        cholesky_collinear(np.zeros((2, 3)))
