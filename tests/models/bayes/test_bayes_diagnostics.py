"""Derived quantities, convergence checks and the posterior table on hand-made draws."""

import warnings

import numpy as np
import pytest
import xarray as xr

from tradeq.models.bayes import derived
from tradeq.models.bayes.diagnostics import (
    ConvergenceError,
    ConvergenceWarning,
    check_convergence,
    convergence,
    posterior_table,
)

GROUPS = ["East:SOE", "West:SOE"]


def make_tree(rng, *, shift=0.0, divergences=0, chains=4, draws=500):
    b1 = rng.normal([0.5, 0.3], 0.05, (chains, draws, 2))
    b1[0] += shift  # one chain off target -> R-hat > 1
    post = xr.Dataset(
        {
            "b1": (("chain", "draw", "group"), b1),
            "sigma": (("chain", "draw"), rng.gamma(50, 0.001, (chains, draws))),
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "group": GROUPS},
    )
    diverging = np.zeros((chains, draws), bool)
    diverging.flat[:divergences] = True
    stats = xr.Dataset({"diverging": (("chain", "draw"), diverging)}, coords={"chain": post.chain, "draw": post.draw})
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


def test_turning_point_and_inverted_u():
    b1 = xr.DataArray([0.8, 0.8, 0.8, -0.1], dims="group")
    b2 = xr.DataArray([-0.1, -0.1, 0.1, -0.1], dims="group")
    np.testing.assert_allclose(derived.turning_point(b1, b2), [4.0, 4.0, -4.0, -0.5])
    # turning point 4 inside [3, 5]; the same curve with range [4.5, 5] only falls
    lo = xr.DataArray([3.0, 4.5, 3.0, 3.0], dims="group")
    hi = xr.DataArray([5.0, 5.0, 5.0, 5.0], dims="group")
    np.testing.assert_array_equal(derived.inverted_u(b1, b2, lo, hi), [1.0, 0.0, 0.0, 0.0])
    s_lo, s_hi = derived.end_slopes(b1, b2, lo, hi)
    np.testing.assert_allclose(s_lo[0], 0.8 - 0.6) and np.testing.assert_allclose(s_hi[0], 0.8 - 1.0)


def test_curve_is_relative_to_the_reference_point():
    grid = derived.x_grid(3.0, 5.0, 5)
    c = derived.curve(xr.DataArray(0.8), xr.DataArray(-0.1), grid, 3.0)
    f = lambda x: 0.8 * x - 0.1 * x**2  # noqa: E731
    np.testing.assert_allclose(c, f(grid.values) - f(3.0), atol=1e-12)
    assert float(c[0]) == 0.0 and int(np.argmax(c.values)) == 2  # peak at x = 4


def test_convergence_dict_on_good_chains():
    diag = convergence(make_tree(np.random.default_rng(0)))
    assert set(diag) == {"rhat", "ess_bulk", "ess_tail", "divergences", "max_rhat", "min_ess_bulk", "min_ess_tail"}
    assert set(diag["rhat"]) == {"b1[East:SOE]", "b1[West:SOE]", "sigma"}
    assert diag["max_rhat"] < 1.01 and diag["min_ess_bulk"] > 1000 and diag["divergences"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_convergence(diag) == []


def test_warning_names_the_parameters():
    diag = convergence(make_tree(np.random.default_rng(1), shift=0.2, divergences=3))
    assert diag["divergences"] == 3 and diag["rhat"]["b1[East:SOE]"] > 1.01
    with pytest.warns(ConvergenceWarning, match=r"b1\[East:SOE\].*3 divergent"):
        problems = check_convergence(diag)
    assert len(problems) == 2 and "sigma" not in problems[0]
    with pytest.raises(ConvergenceError, match="West:SOE"):
        check_convergence(diag, raise_error=True)
    assert check_convergence(diag, rhat_max=10.0, max_divergences=5) == []


def test_posterior_table_is_95_percent_eti():
    dt = make_tree(np.random.default_rng(2))
    table = posterior_table(dt, diagnostics=True)
    x = dt["posterior"]["b1"].values[..., 1].ravel()
    row = table.loc["b1[West:SOE]"]
    assert row["mean"] == pytest.approx(x.mean())
    assert row["sd"] == pytest.approx(x.std(ddof=1))
    assert row["eti_lower"] == pytest.approx(np.quantile(x, 0.025))
    assert row["eti_upper"] == pytest.approx(np.quantile(x, 0.975))
    assert table.attrs["prob"] == 0.95 and {"ess_bulk", "r_hat"} <= set(table.columns)
    assert list(table.index) == ["b1[East:SOE]", "b1[West:SOE]", "sigma"]
    narrow = posterior_table(dt, ["sigma"], prob=0.5)
    assert narrow.loc["sigma", "eti_upper"] - narrow.loc["sigma", "eti_lower"] < row["eti_upper"] - row["eti_lower"]
