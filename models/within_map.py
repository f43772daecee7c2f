"""Alternating projections for the within transform (the ``"map"`` route).

The method of alternating projections (von Neumann–Halperin; Guimarães & Portugal 2010;
Gaure 2013, "OLS with multiple high dimensional category variables", CSDA 66) iterates the
sweep ``T = (I-P_m)...(I-P_1)`` from ``M``; with Irons & Tuck (1969) extrapolation every two
sweeps as in fixest (Bergé 2018): from x, x1 = T x, x2 = T x1, d1 = x2 - x1,
d2 = x2 - 2 x1 + x, and per column ``x <- x2 - (<d1, d2> / <d2, d2>) d1``. Every iterate
stays in ``M + span(D)``, so the fixed point is the exact residual ``(I - P_D) M``.

Stopping rule. The change of one sweep is not the distance to the fixed point: on a badly
connected FE graph (a chain of firms linked by single movers, two blocks joined by one
row) T contracts at a rate rho close to 1, the per-sweep change is tiny while the error is
~ change / (1 - rho), and a rule "change < tol" stops far too early. Here each pair of
plain sweeps x -> x1 -> x2 also estimates the rate: T is linear, so ``x2 - x1 = T (x1 - x)``
and ``rho = ||x2 - x1||_2 / ||x1 - x||_2`` per column (Gaure's lfe, ``demean.c``, uses the
same ratio of successive changes), taken as the larger of the last two estimates. The
iteration stops at x2 when, in every column,

    max_i |x2 - x1|_i / (1 - rho)  <=  tol * scale,        scale = max_i |M_i|

(1 for an all-zero column): under geometric decay at rate rho that bounds the remaining
error, ``sum_{k>=1} rho^k |x2 - x1|``. With ``rho >= 1`` (no contraction seen) it does not
stop. Changes at the rounding floor (below 4 eps * scale) count as converged: no sweep can
reduce them. The returned iterate is a plain sweep, never an extrapolate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_EPS = float(jnp.finfo(jnp.float64).eps)


def _demean(M: jax.Array, codes: jax.Array, inv_counts: jax.Array, n_groups: int) -> jax.Array:
    # M - D (D'D)^{-1} D'M with D'D = diag(counts); empty levels have weight 0.
    means = jax.ops.segment_sum(M, codes, n_groups) * inv_counts[:, None]
    return M - means[codes]


def sweep(x: jax.Array, plan) -> jax.Array:
    """One sweep ``(I-P_m)...(I-P_1) x``."""
    for c, inv, G in zip(plan.codes, plan.inv_counts, plan.n_groups):
        x = _demean(x, c, inv, G)
    return x


def _distance_bound(d_prev: jax.Array, d: jax.Array, rho_prev: jax.Array, scale: jax.Array):
    """Per column: (bound on the distance to the fixed point / scale, rate estimate)."""
    n_prev = jnp.sqrt(jnp.sum(d_prev * d_prev, axis=0))
    n_now = jnp.sqrt(jnp.sum(d * d, axis=0))
    ratio = jnp.where(n_prev > 0, n_now / jnp.where(n_prev > 0, n_prev, 1.0), 0.0)
    rho = jnp.maximum(ratio, rho_prev)
    change = jnp.max(jnp.abs(d), axis=0) / scale
    bound = jnp.where(rho < 1.0, change / jnp.where(rho < 1.0, 1.0 - rho, 1.0), jnp.inf)
    bound = jnp.where(change <= 4.0 * _EPS, change, bound)
    return bound, ratio


def apply_map(plan, M: jax.Array, tol, maxiter: int, accelerate: bool):
    """Alternating projections on ``M`` (n, p): ``(M~, sweeps, converged)`` (traceable).

    ``tol`` bounds the estimated remaining error relative to each column's largest absolute
    value (see the module docstring); at most ``maxiter`` sweeps (rounded up to even).
    """
    p = M.shape[1]
    scale = jnp.max(jnp.abs(M), axis=0)
    scale = jnp.where(scale > 0, scale, 1.0)

    def cond(state):
        _, it, err, _ = state
        return (err > tol) & (it < maxiter)

    def body(state):
        x, it, _, rho_prev = state
        x1 = sweep(x, plan)
        x2 = sweep(x1, plan)
        d1 = x2 - x1
        bound, rho = _distance_bound(x1 - x, d1, rho_prev, scale)
        err = jnp.max(bound)
        if accelerate:
            d2 = d1 - (x1 - x)
            num = jnp.sum(d1 * d2, axis=0)
            den = jnp.sum(d2 * d2, axis=0)
            alpha = jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)
            alpha = jnp.where(err <= tol, 0.0, alpha)  # stop on the plain iterate
            x2 = x2 - alpha[None, :] * d1
        return x2, it + 2, err, rho

    init = (M, jnp.asarray(0), jnp.asarray(jnp.inf, dtype=M.dtype), jnp.zeros(p, dtype=M.dtype))
    x, it, err, _ = jax.lax.while_loop(cond, body, init)
    return x, it, err <= tol
