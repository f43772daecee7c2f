"""fit_bayes end to end on small panels: layout of the DataTree, options, derived quantities."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr
from bayes_panels import simulate_panel, switching_group_panel

from tradeq.models.bayes import ConvergenceError, derived, fit_bayes, posterior_table
from tradeq.models.bayes.design import build_group_design, interact
from tradeq.models.bayes.fit import data_ranges

FAST = dict(draws=200, tune=200, chains=2, progress=False)


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bayes(*args, **kwargs)


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(4, n_firms=200, within_sd=0.35, sigma=0.03)


@pytest.fixture(scope="module")
def fit(panel):
    return quiet_fit(panel.design, groups=panel.groups, group_names=list(panel.group_names), core="Market", seed=3, **FAST)


def test_layout(fit, panel):
    assert {"posterior", "sample_stats", "derived", "constant_data"} <= set(fit.children)
    post = fit["posterior"]
    names = list(panel.group_names)
    assert post["group"].values.tolist() == names  # names, not integer codes
    assert post["control"].values.tolist() == ["scale", "roa"]
    for v in ("b1", "b2", "slope", "z_slope", "z_b2", "turning_point", "inverted_u", "slope_lo", "slope_hi"):
        assert post[v].dims == ("chain", "draw", "group"), v
    for v in ("mu_slope", "mu_b2", "tau_slope", "tau_b2", "mu_b1", "mu_turning_point", "sigma"):
        assert post[v].dims == ("chain", "draw"), v
    assert post["beta"].dims == ("chain", "draw", "control")
    assert post["curve"].dims == ("chain", "draw", "x_grid")
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 200
    assert fit["derived"]["p_inverted_u"].dims == ("group",)
    assert set(fit["sample_stats"].data_vars) >= {"diverging", "n_steps", "energy", "step_size"}
    a = fit.attrs
    assert a["backend"] == "numpyro" and a["seed"] == 3 and a["draws"] == 200 and a["chains"] == 2
    assert json.loads(a["prior"])["slope"] > 0 and a["likelihood"] == "normal"


def test_recovers_slopes_and_relations(fit, panel):
    post = fit["posterior"]
    # b1 = slope - 2 c b2 and the derived quantities, draw by draw
    c = float(fit["constant_data"]["center"])
    np.testing.assert_allclose(post["b1"], post["slope"] - 2 * c * post["b2"], rtol=1e-12)
    np.testing.assert_allclose(post["turning_point"], -post["b1"] / (2 * post["b2"]))
    np.testing.assert_allclose(post["mu_b1"], post["mu_slope"] - 2 * c * post["mu_b2"])
    p = fit["derived"]["p_inverted_u"].values
    np.testing.assert_allclose(p, post["inverted_u"].mean(("chain", "draw")).values)
    # the data are informative: posterior means near the truth, turning points inside the range
    table = posterior_table(fit, ["b2"])
    assert np.all(np.abs(table["mean"].values - panel.b2) < 4 * table["sd"].values)
    assert np.all(p > 0.5)


def test_same_seed_same_draws(panel, fit):
    again = quiet_fit(panel.design, groups=panel.groups, group_names=list(panel.group_names), core="Market", seed=3, **FAST)
    xr.testing.assert_equal(fit["posterior"].to_dataset(), again["posterior"].to_dataset())


def test_pooled_model(panel):
    dt = quiet_fit(panel.design, core="Market", hierarchical=False, **FAST)
    post = dt["posterior"]
    assert post["group"].values.tolist() == ["pooled"]
    assert "tau_slope" not in post and "mu_b1" not in post
    assert post["curve"].dims == ("chain", "draw", "x_grid")
    np.testing.assert_allclose(
        post["curve"].isel(x_grid=-1), derived.curve(post["b1"], post["b2"], post["x_grid"], float(post["x_grid"][0])).isel(group=0, x_grid=-1)
    )


def test_student_t_with_log_likelihood(panel):
    dt = quiet_fit(
        panel.design, groups=panel.groups, group_names=list(panel.group_names), core="Market",
        likelihood="student_t", log_likelihood=True, **(FAST | {"draws": 100, "tune": 100}),
    )
    assert dt["posterior"]["nu"].dims == ("chain", "draw")
    assert dt["log_likelihood"]["y"].shape == (2, 100, panel.design.n)
    assert dt["observed_data"]["y"].shape == (panel.design.n,)
    assert dt.attrs["likelihood_path"] == "rows"


def test_x_range_options(fit, panel):
    post = fit["posterior"].to_dataset()
    lo, hi = 3.9, 4.3
    indicator = derived.inverted_u(post["b1"], post["b2"], lo, hi)
    by_hand = ((post["b1"] + 2 * post["b2"] * lo > 0) & (post["b1"] + 2 * post["b2"] * hi < 0)).mean(("chain", "draw"))
    np.testing.assert_allclose(indicator.mean(("chain", "draw")), by_hand)
    dt = quiet_fit(panel.design, groups=panel.groups, group_names=list(panel.group_names), core="Market", x_range=(lo, hi), **FAST)
    np.testing.assert_allclose(dt["derived"]["x_lo"], lo)
    assert float(dt["posterior"]["x_grid"][0]) == lo and float(dt["posterior"]["x_grid"][-1]) == hi
    np.testing.assert_allclose(dt["derived"]["p_inverted_u"], dt["posterior"]["inverted_u"].mean(("chain", "draw")))
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market")
    own_lo, own_hi = data_ranges(gd, None)
    np.testing.assert_array_equal(own_lo, gd.x_lo)
    pooled_lo, pooled_hi = data_ranges(gd, "pooled")
    assert np.all(pooled_hi == panel.design.X[:, 0].max()) and np.all(pooled_lo == panel.design.X[:, 0].min())
    with pytest.raises(ValueError):
        data_ranges(gd, (4.0, 3.0))


def test_errors_and_raise_on_fail(panel):
    kw = dict(groups=panel.groups, group_names=list(panel.group_names), core="Market")
    with pytest.raises(ValueError, match="backend"):
        fit_bayes(panel.design, backend="stan", **kw)
    with pytest.raises(ValueError, match="likelihood"):
        fit_bayes(panel.design, likelihood="cauchy", **kw)
    with pytest.raises(ValueError, match="groups"):
        fit_bayes(panel.design, core="Market")
    # 5 warm-up draws cannot converge: the check names parameters and raises on request
    with pytest.raises(ConvergenceError, match="R-hat"):
        fit_bayes(panel.design, draws=20, tune=5, chains=2, progress=False, raise_on_fail=True, **kw)


def _lsdv_sigma(panel, n_rows_less: int) -> tuple[float, int]:
    """(sqrt(RSS / (N - k)), rank of the FE dummies) of the brute-force dummy-variable regression (slopes, controls and
    every firm and year dummy as columns, numpy least squares), N = rows less ``n_rows_less``."""
    d = panel.design
    G = len(panel.group_names)
    D = np.column_stack([(d.fe[:, j][:, None] == np.unique(d.fe[:, j])[None, :]) for j in range(2)]).astype(float)
    X = np.column_stack([interact(d.X[:, 0], panel.groups, G), interact(d.X[:, 1], panel.groups, G), d.X[:, 2:], D])
    resid = d.y - X @ np.linalg.lstsq(X, d.y, rcond=None)[0]
    return float(np.sqrt(resid @ resid / (d.n - n_rows_less - (2 * G + 2)))), int(np.linalg.matrix_rank(D))


def test_profile_likelihood_gives_smaller_sigma(panel, fit):
    """The FE-integrated likelihood's sigma matches the dummy-variable regression's residual sd
    with the FE levels counted by numpy's matrix rank (an independent n_eff); the profile one
    (FE levels not counted) matches the residual sd over all rows, and is smaller."""
    dt = quiet_fit(panel.design, groups=panel.groups, group_names=list(panel.group_names), core="Market", marginalize_fe=False, seed=3, **FAST)
    _, rank = _lsdv_sigma(panel, 0)
    assert fit.attrs["n_eff"] == panel.design.n - rank and dt.attrs["n_eff"] == panel.design.n
    marginal, profile = _lsdv_sigma(panel, rank)[0], _lsdv_sigma(panel, 0)[0]
    assert profile < 0.9 * marginal
    assert float(fit["posterior"]["sigma"].median()) == pytest.approx(marginal, rel=0.02)
    assert float(dt["posterior"]["sigma"].median()) == pytest.approx(profile, rel=0.02)


def test_group_level_shift_does_not_load_onto_the_slopes():
    """Equal curves, a group that changes within firm correlated with x, a level shift of 0.3
    (issue 14, defect 1): the posterior of b1_B - b1_A is centred on 0 and 1[B] is in the
    posterior's controls."""
    design, g = switching_group_panel(1)
    dt = quiet_fit(design, groups=g, group_names=["A", "B"], core="Market", seed=1, **FAST)
    post = dt["posterior"]
    assert post["control"].values.tolist() == ["1[B]"] and json.loads(dt.attrs["group_levels"]) == ["1[B]"]
    for var in ("b1", "b2"):
        diff = (post[var].sel(group="B") - post[var].sel(group="A")).values.ravel()
        assert abs(diff.mean()) < 3 * diff.std()
    gap = (post["b1"].sel(group="B") - post["b1"].sel(group="A")) * 4 + (post["b2"].sel(group="B") - post["b2"].sel(group="A")) * 16 + post["beta"].sel(control="1[B]")
    assert abs(float(gap.mean()) - 0.3) < 3 * float(gap.std())


def test_netcdf_round_trip(fit, tmp_path):
    path = tmp_path / "posterior.nc"
    fit.to_netcdf(path)
    back = xr.open_datatree(path)
    xr.testing.assert_allclose(back["posterior"].to_dataset(), fit["posterior"].to_dataset())
    assert back["posterior"]["group"].values.tolist() == fit["posterior"]["group"].values.tolist()
    assert back.attrs["backend"] == "numpyro"
