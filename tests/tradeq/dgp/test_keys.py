"""Named random streams (tradeq.dgp.keys): counter-addressed threefry draws and the probit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry_2x32
from scipy.special import ndtri

from tradeq.dgp.keys import base_key, counter_words, draw_streams, probit, threefry2x32

LAYOUT = {"a": ((4, 5), "normal"), "b": ((7,), "uniform"), "c": ((3, 2), "normal"), "d": ((9,), "uniform")}


def natural_bits(key, c0, shape):
    """A slot's uint32 draws in row-major order, by JAX's own threefry_2x32: hashing the
    counts ``[0]*h + [c0, ..., c0 + h - 1]`` pairs ``(0, c0 + j)`` and returns ``t1`` of every
    pair, then ``t2`` of every pair; the slot keeps the first ``n`` of those ``2h``."""
    n = int(np.prod(shape))
    h = -(-shape[0] // 2) * (n // shape[0])
    count = np.concatenate([np.zeros(h, np.uint32), c0 + np.arange(h, dtype=np.uint32)])
    words = threefry_2x32(jax.random.key_data(key), jnp.asarray(count))
    return np.asarray(words)[:n].reshape(shape)


def uniform(bits):
    return (np.asarray(bits, float) + 0.5) * 2.0**-32


# Known-answer vectors of Threefry-2x32-20 from Random123's kat_vectors (Salmon et al. 2011):
# (key, counter) -> output words, all as (word 0, word 1).
THREEFRY_KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key, counter, expected", THREEFRY_KAT)
def test_threefry_known_answers(key, counter, expected):
    u32 = lambda v: jnp.asarray(v, jnp.uint32)  # noqa: E731
    out = threefry2x32(u32(key[0]), u32(key[1]), u32([counter[0]]), u32([counter[1]]))
    assert (int(out[0][0]), int(out[1][0])) == expected


def test_threefry_equals_jax_on_random_keys_and_counters():
    rng = np.random.default_rng(0)
    for _ in range(5):
        k = rng.integers(0, 2**32, 2, dtype=np.uint64).astype(np.uint32)
        x = rng.integers(0, 2**32, (2, 257), dtype=np.uint64).astype(np.uint32)
        ours = jax.jit(threefry2x32)(*map(jnp.asarray, (k[0], k[1], x[0], x[1])))
        ref = np.asarray(threefry_2x32(jnp.asarray(k), jnp.asarray(x.ravel())))
        np.testing.assert_array_equal(np.concatenate([np.asarray(ours[0]), np.asarray(ours[1])]), ref)


def test_counter_words_are_threefry():
    key = base_key(7)
    t1, t2 = counter_words(key, jnp.arange(600, 700, dtype=jnp.uint32))
    ref = np.asarray(threefry_2x32(jax.random.key_data(key),
                                   jnp.concatenate([jnp.zeros(100, jnp.uint32), jnp.arange(600, 700, dtype=jnp.uint32)])))
    np.testing.assert_array_equal(t1, ref[:100])
    np.testing.assert_array_equal(t2, ref[100:])


def test_slots_are_cut_from_one_stream():
    key = base_key(3)
    out = draw_streams(key, LAYOUT)
    # counters: a 2 * 5 = 10 from 0, b 4 from 10, c 2 * 2 = 4 from 14, d 5 from 18
    np.testing.assert_array_equal(out["b"], uniform(natural_bits(key, 10, (7,))))
    np.testing.assert_array_equal(out["d"], uniform(natural_bits(key, 18, (9,))))
    np.testing.assert_allclose(out["a"], ndtri(uniform(natural_bits(key, 0, (4, 5)))), rtol=5e-7)
    np.testing.assert_allclose(out["c"], ndtri(uniform(natural_bits(key, 14, (3, 2)))), rtol=5e-7)
    assert out["a"].shape == (4, 5) and out["c"].shape == (3, 2)


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
    # a grid over all words, the extremes and both sides of the middle
    bits = np.concatenate([np.linspace(0, 2**32 - 1, 200_001), [0, 1, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1,
                                                                2**32 - 2, 2**32 - 1]]).astype(np.uint32)
    u = uniform(bits)
    z = np.asarray(probit(jnp.asarray(bits)))
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    z, ref = z.astype(np.float64), ndtri(u)
    central = np.abs(ref) < 5.3
    np.testing.assert_allclose(z[central], ref[central], rtol=5e-7, atol=1e-7)
    np.testing.assert_allclose(z[~central], ref[~central], rtol=5e-4)
    np.testing.assert_array_equal(np.sign(z), np.sign(u - 0.5))


def test_odd_leading_axes_leave_the_last_t2_row_unused():
    key = base_key(5)
    layout = {"x": ((3, 3, 4), "uniform"), "y": ((5, 2), "uniform"), "z": ((1,), "normal")}
    out = draw_streams(key, layout)
    # counters: x 2 * 12 = 24 from 0, y 3 * 2 = 6 from 24, z 1 from 30
    np.testing.assert_array_equal(out["x"], uniform(natural_bits(key, 0, (3, 3, 4))))
    np.testing.assert_array_equal(out["y"], uniform(natural_bits(key, 24, (5, 2))))
    np.testing.assert_allclose(out["z"], ndtri(uniform(natural_bits(key, 30, (1,)))), rtol=5e-7)
    assert out["x"].shape == (3, 3, 4) and out["y"].shape == (5, 2) and out["z"].shape == (1,)
    with pytest.raises(ValueError, match="at least one axis"):
        draw_streams(key, {"s": ((), "normal")})


def test_slots_are_delivered_in_their_declared_precision():
    key = base_key(6)
    layout = {"u": ((5,), "uniform"), "n64": ((4, 3), "normal", "float64"), "n32": ((4, 3), "normal", "float32")}
    out = draw_streams(key, layout)
    assert out["u"].dtype == jnp.float64 and out["n64"].dtype == jnp.float64 and out["n32"].dtype == jnp.float32
    # the same single-precision probit either way: widening is exact
    np.testing.assert_array_equal(np.asarray(out["n32"]).astype(np.float64),
                                  np.asarray(draw_streams(key, {**layout, "n32": ((4, 3), "normal")})["n32"]))
    with pytest.raises(ValueError, match="uniform slot is delivered as float64"):
        draw_streams(key, {"u": ((5,), "uniform", "float32")})
    with pytest.raises(ValueError, match="not 'float16'"):
        draw_streams(key, {"n": ((5,), "normal", "float16")})
