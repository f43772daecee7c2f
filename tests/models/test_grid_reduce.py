"""tradeq.models.grid_reduce: two-stage whole-grid reductions equal the plain ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tradeq.models.grid_reduce import grid_total

RNG = np.random.default_rng(3)
X = RNG.normal(size=(10, 737)) * 10.0 ** RNG.integers(-3, 4, size=(10, 737))


@pytest.mark.parametrize("shape", [(10, 737), (3, 4, 5), (7,)])
def test_sum_min_max_equal_the_plain_reductions(shape):
    x = RNG.normal(size=shape)
    np.testing.assert_allclose(grid_total(jnp.asarray(x)), x.sum(), rtol=1e-13)
    assert float(grid_total(jnp.asarray(x), "min")) == x.min()
    assert float(grid_total(jnp.asarray(x), "max")) == x.max()


def test_any_and_counts_of_a_mask():
    mask = X > 5.0
    assert bool(grid_total(jnp.asarray(mask), "any")) == bool(mask.any())
    assert not bool(grid_total(jnp.zeros((4, 6), bool), "any"))
    assert float(grid_total(jnp.asarray(mask, jnp.float64))) == mask.sum()


def test_under_jit_and_vmap():
    xs = jnp.asarray(RNG.normal(size=(5, 10, 40)))
    np.testing.assert_allclose(jax.jit(jax.vmap(grid_total))(xs), np.asarray(xs).sum(axis=(1, 2)), rtol=1e-13)
    np.testing.assert_allclose(jax.vmap(lambda x: grid_total(x, "max"))(xs), np.asarray(xs).max(axis=(1, 2)))


def test_wide_range_sum_stays_accurate():
    np.testing.assert_allclose(grid_total(jnp.asarray(X)), np.sum(X, dtype=np.float64), rtol=1e-12)


def test_unknown_op_is_refused():
    with pytest.raises(ValueError, match="op must be one of"):
        grid_total(jnp.ones((2, 2)), "mean")
