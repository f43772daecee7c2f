"""The mediation effects: direct + indirect = total by definition; in the linear model the total
equals equation (1)'s own slope (the OLS identity); with a square they are average marginal effects."""

import numpy as np
import pytest

from tradeq.models.mediation_effects import mediation_effects, proportion_mediated, reduced_form_total


def _ols(y, *cols):
    X = np.column_stack([np.ones_like(y), *cols])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = 4.0 + 0.3 * rng.standard_normal(n)
    w = rng.standard_normal(n)
    m = 0.5 * x + 0.2 * w + rng.standard_normal(n)
    y = 0.3 * x - 0.02 * x**2 + 0.4 * m + 0.1 * w + rng.standard_normal(n)
    return x, w, m, y


def test_linear_total_is_the_total_equation_slope():
    x, w, m, y = _data()
    c = _ols(y, x, w)[1]
    a = _ols(m, x, w)[1]
    c_prime, b = _ols(y, x, m, w)[1:3]
    eff = mediation_effects(a, b, c_prime)
    assert float(eff["total"]) == pytest.approx(c, rel=1e-10)
    assert float(eff["direct"] + eff["indirect"]) == pytest.approx(float(eff["total"]), rel=1e-14)


def test_quadratic_effects_are_average_marginal_effects():
    x, w, m, y = _data()
    a = _ols(m, x, w)[1]
    c_prime, g, b = _ols(y, x, x**2, m, w)[1:4]
    eff = mediation_effects(a, b, c_prime, g, x.mean())
    # the average over the sample of the derivative of the fitted system (3)∘(2)
    assert float(eff["direct"]) == pytest.approx(np.mean(c_prime + 2 * g * x), rel=1e-12)
    assert float(eff["total"]) == pytest.approx(np.mean(c_prime + 2 * g * x + a * b), rel=1e-12)
    # the slope at x = 0 is not an effect anywhere near the data
    assert abs(c_prime - float(eff["direct"])) > 0.1
    c, c2 = _ols(y, x, x**2, w)[1:3]
    assert float(reduced_form_total(c, c2, x.mean())) == pytest.approx(np.mean(c + 2 * c2 * x), rel=1e-12)


def test_effects_broadcast_over_draws():
    eff = mediation_effects(np.array([0.1, 0.2]), np.array([1.0, 2.0]), np.array([0.5, 0.5]), np.array([0.0, -0.1]), 4.0)
    np.testing.assert_allclose(eff["indirect"], [0.1, 0.4])
    np.testing.assert_allclose(eff["direct"], [0.5, -0.3])
    np.testing.assert_allclose(eff["total"], [0.6, 0.1])


def test_proportion_is_undefined_when_the_total_is_not_distinguishable_from_zero():
    assert proportion_mediated(0.02, 0.04) == (0.5, None)
    value, why = proportion_mediated(0.02, 0.034, -0.01, 0.08)
    assert np.isnan(value) and "covers zero" in why
    value, why = proportion_mediated(0.02, 0.0)
    assert np.isnan(value) and "zero" in why
    assert proportion_mediated(0.02, 0.04, 0.01, 0.07) == (0.5, None)
