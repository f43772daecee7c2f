"""Whole-grid reductions of year-major (T, ...) arrays, in two stages.

``grid_total(x) = op_j (op_t x[t, j])``: first over the leading axis (T years), then over
what is left. The result is the plain ``op`` over all elements (up to the order of the
additions, for a sum). Why two stages: XLA's CPU code for a reduction over the leading
axis streams whole rows and vectorises, while a reduction over all axes of a (T, F) array
at once did not (with the engine's compiler options, :mod:`tradeq.cpu_compiler_options`,
measured on one core for (10, 5,000): 0.042 ms at once, 0.006 ms in two stages). XLA's
simplifier would merge the stages back into one reduction; the barrier between them (on
the small (F,) partial) keeps them apart.

The simulator (:mod:`tradeq.dgp.firm_panel`), the grid FE fit (:mod:`tradeq.models.grid_fe`) and
the engine's estimators use it for every sum, minimum and maximum over a whole panel.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_OPS = {"sum": jnp.sum, "min": jnp.min, "max": jnp.max, "any": jnp.any}


def grid_total(x: jax.Array, op: str = "sum") -> jax.Array:
    """``op`` (``"sum"``, ``"min"``, ``"max"`` or ``"any"``) over all elements of ``x``
    (T, ...), reduced over the leading axis first; a scalar."""
    if op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}, got {op!r}")
    reduce = _OPS[op]
    return reduce(jax.lax.optimization_barrier(reduce(x, axis=0)))
