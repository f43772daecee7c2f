"""The within transformation: partial fixed effects out of a block of columns.

Given FE codes ``fe`` (n, m) and a block ``M`` (n, p), :func:`within_transform` returns
the residuals of every column of ``M`` on the full set of FE dummies

    M~ = (I - P_D) M,    D = [D_1 | ... | D_m],  D_j the (n, G_j) indicator matrix of FE j,

which by Frisch–Waugh–Lovell is all an OLS fit with those FEs needs (Frisch & Waugh 1933;
Lovell 1963). The route is chosen from the FE structure alone
(:func:`~tradeq.models.within_plan.make_plan`):

* ``m == 1`` (``"demean"``) — exact group demeaning ``M~ = M - D_1 (D_1'D_1)^{-1} D_1'M``.
* one FE with many levels plus FEs whose levels total at most :data:`FWL_MAX_SMALL_LEVELS`
  after dropping one level per dimension (firm + year; ``"fwl"``) — exact in one pass by
  FWL, :mod:`tradeq.models.within_fwl`.
* otherwise (``"map"``) — alternating projections with Irons–Tuck extrapolation until the
  estimated distance to the fixed point is below ``tol`` times the column's largest
  absolute value, :mod:`tradeq.models.within_map`.

:class:`WithinPlan` is a JAX pytree (arrays as leaves, sizes and route as static data), so
``jax.vmap(lambda M: apply_plan_jax(plan, M))`` runs many replications that share one FE
structure; :func:`demean_by_group` and :func:`group_counts` are the jittable primitives.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .aligned import aligned_empty, as_aligned
from .precision import require_x64
from .within_fwl import apply_exact_host, apply_fwl_jax
from .within_map import _demean, apply_map
from .within_plan import FWL_MAX_SMALL_LEVELS, WithinPlan, make_plan

__all__ = [
    "FWL_MAX_SMALL_LEVELS",
    "WithinPlan",
    "aligned_empty",
    "apply_plan",
    "apply_plan_jax",
    "as_aligned",
    "demean_by_group",
    "group_counts",
    "make_plan",
    "within_transform",
]


@partial(jax.jit, static_argnames=("n_groups",))
def group_counts(codes: jax.Array, n_groups: int) -> jax.Array:
    """(G,) float64 number of rows in each group; ``codes`` (n,) ints in ``0..G-1``."""
    return jax.ops.segment_sum(jnp.ones(codes.shape[0], dtype=jnp.float64), codes, n_groups)


@partial(jax.jit, static_argnames=("n_groups",))
def demean_by_group(M: jax.Array, codes: jax.Array, n_groups: int) -> jax.Array:
    """Exact one-way within transform ``M - D (D'D)^{-1} D'M``.

    ``M`` (n, p) float64, ``codes`` (n,) ints in ``0..n_groups-1``, every group non-empty.
    Returns (n, p). Pure; vmappable over ``M``.
    """
    inv = 1.0 / group_counts(codes, n_groups)
    return _demean(M, codes, inv, n_groups)


def apply_plan_jax(plan: WithinPlan, M: jax.Array, tol=1e-12, maxiter: int = 10_000, accelerate: bool = True):
    """Traceable core: ``(M~, sweeps, converged)`` as JAX values; ``M`` (n, p) float64."""
    if plan.method == "none":
        return M, jnp.asarray(0), jnp.asarray(True)
    if plan.method in ("demean", "fwl"):
        return apply_fwl_jax(plan, M), jnp.asarray(0), jnp.asarray(True)
    return apply_map(plan, M, tol, maxiter, accelerate)


_apply_jit = jax.jit(apply_plan_jax, static_argnames=("maxiter", "accelerate"))


def apply_plan(
    plan: WithinPlan,
    M,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    accelerate: bool = True,
    overwrite: bool = False,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Apply a :class:`WithinPlan` to ``M`` (n, p): ``(M~, sweeps, converged)``.

    ``M~`` is a NumPy array. The exact routes run on the host (group sums in JAX, gathers in
    NumPy) and write into ``out`` when given (a C-ordered float64 (n, p) array; it may be
    ``M``), into ``M`` itself with ``overwrite=True``, else into a new array. Alternating
    projections run in JAX and return a new (read-only) array.
    """
    if plan.method == "none":
        return (np.asarray(M, dtype=np.float64) if overwrite else np.array(M, dtype=np.float64)), 0, True
    M = np.asarray(M, dtype=np.float64)
    if plan.method in ("demean", "fwl"):
        src = as_aligned(M)
        if out is None:
            out = src if overwrite else aligned_empty(M.shape)
        return apply_exact_host(plan, src, out), 0, True
    Mt, it, ok = _apply_jit(plan, as_aligned(M), tol, maxiter, accelerate)
    return np.asarray(Mt), int(it), bool(ok)


def within_transform(
    M: np.ndarray,
    fe: np.ndarray,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    accelerate: bool = True,
    max_small_levels: int = FWL_MAX_SMALL_LEVELS,
) -> tuple[np.ndarray, int, bool]:
    """Residuals of ``M`` (n, p) (or (n,)) on all FE dummies of ``fe`` (n, m).

    Returns ``(M~, sweeps, converged)``: ``sweeps`` is 0 for the exact routes (m <= 1, or
    one big FE plus small ones — see the module docstring), otherwise the number of
    alternating-projection sweeps. ``m == 0`` returns ``M`` unchanged (an intercept, if
    any, is the caller's business).
    """
    require_x64()
    M = np.asarray(M, dtype=np.float64)
    squeeze = M.ndim == 1
    M2 = M[:, None] if squeeze else M
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.shape[0] != M2.shape[0]:
        raise ValueError(f"M has {M2.shape[0]} rows but fe has {fe.shape[0]}")
    if fe.shape[1] == 0:
        return M.copy(), 0, True
    plan = make_plan(fe, max_small_levels=max_small_levels)
    out, sweeps, ok = apply_plan(plan, M2, tol=tol, maxiter=maxiter, accelerate=accelerate)
    out = np.asarray(out)
    return (out[:, 0] if squeeze else out), sweeps, ok

