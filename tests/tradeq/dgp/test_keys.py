"""Named random streams (tradeq.dgp.keys): counter-addressed threefry draws and the probit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ndtri

import tradeq  # noqa: F401  (float64 JAX)
from tradeq.dgp.keys import base_key, counter_bits, draw_streams, probit

LAYOUT = {"a": ((4, 5), "normal"), "b": ((7,), "uniform"), "c": ((3, 2), "normal"), "d": ((9,), "uniform")}


def test_counter_bits_equal_jax_random_bits():
    key = base_key(7)
    np.testing.assert_array_equal(counter_bits(key, jnp.arange(1000, dtype=jnp.uint32)),
                                  jax.random.bits(key, (1000,), jnp.uint32))
    # any counters: a slice of the stream without drawing what comes before it
    np.testing.assert_array_equal(counter_bits(key, jnp.arange(600, 700, dtype=jnp.uint32)),
                                  jax.random.bits(key, (1000,), jnp.uint32)[600:700])


def test_slots_are_cut_from_one_flat_stream():
    key = base_key(3)
    out = draw_streams(key, LAYOUT)
    u = (np.asarray(jax.random.bits(key, (46,), jnp.uint32), float) + 0.5) * 2.0**-32
    np.testing.assert_array_equal(out["b"], u[20:27])
    np.testing.assert_array_equal(out["d"], u[33:42])
    np.testing.assert_allclose(out["a"].ravel(), ndtri(u[:20]), rtol=5e-7)
    np.testing.assert_allclose(out["c"].ravel(), ndtri(u[27:33]), rtol=5e-7)


def test_skipped_slots_leave_the_others_unchanged():
    key = base_key(4)
    full = draw_streams(key, LAYOUT)
    part = draw_streams(key, LAYOUT, skip=("a", "b"))
    assert set(part) == {"c", "d"}
    for name in part:
        np.testing.assert_array_equal(part[name], full[name])
    with pytest.raises(ValueError, match="not in the layout"):
        draw_streams(key, LAYOUT, skip=("e",))


def test_probit_matches_scipy():
    u = np.concatenate([np.linspace(1e-7, 1 - 1e-7, 100_001), [0.5, 2.0**-32, 1 - 2.0**-32]])
    z, ref = np.asarray(probit(jnp.asarray(u))), ndtri(u)
    central = np.abs(ref) < 5.3
    np.testing.assert_allclose(z[central], ref[central], rtol=5e-7, atol=1e-7)
    np.testing.assert_allclose(z[~central], ref[~central], rtol=5e-4)
    assert z.dtype == np.float64 and np.all(np.isfinite(z))
    np.testing.assert_array_equal(np.sign(z), np.sign(u - 0.5))
