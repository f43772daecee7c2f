"""compile_clock counts XLA compilations inside its block, and only those."""

import jax
import jax.numpy as jnp

from tradeq.models.compile_clock import compile_clock


def test_counts_a_fresh_compilation_and_not_a_cached_call():
    @jax.jit
    def f(x):
        return jnp.sin(x) @ x.T + 3.0

    x = jnp.ones((7, 5))
    with compile_clock() as clock:
        f(x).block_until_ready()
    assert clock.count >= 1
    assert clock.seconds > 0.0
    first = clock.seconds

    with compile_clock() as again:
        f(x).block_until_ready()  # same shapes: served from the jit cache
    assert again.count == 0 and again.seconds == 0.0

    f(jnp.ones((3, 2))).block_until_ready()  # outside any block: not counted anywhere
    assert clock.seconds == first and again.count == 0
