"""tradeq.cpu_compiler_options degrades gracefully: a jaxlib that rejects the options gets
none, and the engine still runs, with the same numbers up to the last bits of
double-precision sums. Nothing here assumes that this jaxlib accepts the experimental flags
(their names change between releases)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tradeq.cpu_compiler_options as cco
from tradeq.dgp.firm_panel import FirmPanelParams, simulate_grid
from tradeq.dgp.keys import base_key
from tradeq.models.grid_fe import fit_grid
from tradeq.montecarlo.batching import run_replications
from tradeq.montecarlo.estimators import FixedEffects
from tradeq.montecarlo.studies import Setting

PARAMS = FirmPanelParams(error="ar1")
PANEL_COLUMNS = ("present", "Market", "scale", "age", "roa", "rdebt", "fic", "error", "quality")


@pytest.fixture
def rejected(monkeypatch):
    """A jaxlib that rejects the option set: an option no XLA has."""
    monkeypatch.setattr(cco, "OPTIONS", {**cco.OPTIONS, "xla_cpu_no_such_option": 1})
    cco.cpu_compiler_options.cache_clear()
    yield
    monkeypatch.undo()
    cco.cpu_compiler_options.cache_clear()


def test_the_options_are_all_or_nothing():
    accepted = cco.cpu_compiler_options()
    assert accepted in ({}, cco.OPTIONS)


def test_options_only_on_a_cpu():
    assert cco.compiler_options_for("cpu") == cco.cpu_compiler_options()
    assert cco.compiler_options_for("gpu") is None


def test_rejected_options_fall_back_to_none(rejected):
    assert cco.cpu_compiler_options() == {}
    assert cco.compiler_options_for("cpu") == {}


def _replication(key):
    g = simulate_grid(key, PARAMS, 600, 10)
    m = g["Market"]
    X = jnp.stack([m, m * m, g["scale"], g["age"], g["roa"], g["rdebt"], g["fic"]])
    fit = fit_grid(g["quality"], X, g["present"], vcovs=("iid", "cluster", "twoway"))
    return g, fit


def assert_last_bits(tuned, plain):
    """Panels equal to 1e-12 (presence exactly), fits to the rounding of their sums."""
    (g1, f1), (g0, f0) = tuned, plain
    np.testing.assert_array_equal(np.asarray(g1["present"]), np.asarray(g0["present"]))
    for name in PANEL_COLUMNS[1:]:
        np.testing.assert_allclose(np.asarray(g1[name]), np.asarray(g0[name]), rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(f1.coef, f0.coef, rtol=1e-10)
    for v in f0.vcov:
        np.testing.assert_allclose(f1.vcov[v], f0.vcov[v], rtol=1e-9, err_msg=v)


def test_accepted_options_change_only_the_last_bits():
    keys = jnp.stack([base_key(1), base_key(2)])
    plain = jax.jit(lambda ks: jax.lax.map(_replication, ks))(keys)
    tuned = jax.jit(lambda ks: jax.lax.map(_replication, ks), compiler_options=cco.cpu_compiler_options())(keys)
    assert_last_bits(tuned, plain)


SETTING = Setting(params=FirmPanelParams(error="heteroskedastic"), n_firms=150, n_years=8)
FE = FixedEffects(vcovs=("iid", "cluster", "twoway"))


def test_the_engine_runs_without_the_options_with_the_same_numbers(monkeypatch):
    default = run_replications(SETTING, [FE], seed=7, reps=6, chunk_size=3, batch="map")  # what this jaxlib accepts
    monkeypatch.setattr(cco, "OPTIONS", {**cco.OPTIONS, "xla_cpu_no_such_option": 1})
    cco.cpu_compiler_options.cache_clear()
    try:
        assert cco.compiler_options_for("cpu") == {}
        fallback = run_replications(SETTING, [FE], seed=7, reps=6, chunk_size=3, batch="map")
    finally:
        monkeypatch.undo()
        cco.cpu_compiler_options.cache_clear()
    est, ref = fallback["est"]["fe"], default["est"]["fe"]
    np.testing.assert_array_equal(est["n_obs"], ref["n_obs"])
    np.testing.assert_array_equal(fallback["truth"]["b2"], default["truth"]["b2"])
    np.testing.assert_allclose(est["coef"], ref["coef"], rtol=1e-10)
    np.testing.assert_allclose(est["x_lo"], ref["x_lo"], rtol=1e-12)
    for v in FE.vcovs:
        np.testing.assert_allclose(est["V"][v], ref["V"][v], rtol=1e-9, err_msg=v)
