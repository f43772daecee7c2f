"""tradeq.cpu_compiler_options: the engine's XLA CPU options are accepted, fall back when
rejected, and change results only in the last bits."""

import jax
import jax.numpy as jnp
import numpy as np

import tradeq.cpu_compiler_options as cco
from tradeq.dgp.firm_panel import FirmPanelParams, simulate_grid
from tradeq.dgp.keys import base_key
from tradeq.models.grid_fe import fit_grid

PARAMS = FirmPanelParams(error="ar1")


def test_this_jaxlib_accepts_the_options():
    cco.cpu_compiler_options.cache_clear()
    assert cco.cpu_compiler_options() == cco.OPTIONS


def test_options_only_on_a_cpu():
    assert cco.compiler_options_for("cpu") == cco.cpu_compiler_options()
    assert cco.compiler_options_for("gpu") is None


def test_rejected_options_fall_back_to_none(monkeypatch):
    monkeypatch.setattr(cco, "OPTIONS", {**cco.OPTIONS, "xla_cpu_no_such_option": 1})
    cco.cpu_compiler_options.cache_clear()
    try:
        assert cco.cpu_compiler_options() == {}
    finally:
        cco.cpu_compiler_options.cache_clear()


def _replication(key):
    g = simulate_grid(key, PARAMS, 600, 10)
    m = g["Market"]
    X = jnp.stack([m, m * m, g["scale"], g["age"], g["roa"], g["rdebt"], g["fic"]])
    fit = fit_grid(g["quality"], X, g["present"], vcovs=("iid", "cluster", "twoway"))
    return g, fit


def test_options_change_only_the_last_bits():
    keys = jnp.stack([base_key(1), base_key(2)])
    plain = jax.jit(lambda ks: jax.lax.map(_replication, ks))(keys)
    tuned = jax.jit(lambda ks: jax.lax.map(_replication, ks), compiler_options=cco.OPTIONS)(keys)
    (g0, f0), (g1, f1) = plain, tuned
    for name in ("present", "Market", "scale", "age", "roa", "rdebt", "fic", "error", "quality"):
        np.testing.assert_allclose(np.asarray(g1[name]), np.asarray(g0[name]), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(f1.coef, f0.coef, rtol=1e-10)
    for v in f0.vcov:
        np.testing.assert_allclose(f1.vcov[v], f0.vcov[v], rtol=1e-9, err_msg=v)
