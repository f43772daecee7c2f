"""The one precondition of the numerical core: JAX computes in float64.

Fixed-effect estimates, variances and likelihoods match their references to 1e-8 only in
double precision; JAX's default is float32. The switch is process state, so it belongs to
the entry point (``tradeq.setup_runtime()``), never to an import. Public estimators call
:func:`require_x64` first, so a forgotten set-up is an error, not silently wrong numbers.
(Single-precision islands inside a computation — the simulator's probit, its copula — are
explicit casts within a float64 program.)
"""

from __future__ import annotations

import jax


class PrecisionError(RuntimeError):
    """JAX is not in 64-bit mode."""


def require_x64() -> None:
    """Raise :class:`PrecisionError` unless ``jax_enable_x64`` is on."""
    if not jax.config.jax_enable_x64:
        raise PrecisionError(
            "tradeq.models computes in float64: call tradeq.setup_runtime() (or "
            "jax.config.update('jax_enable_x64', True)) before anything else"
        )
