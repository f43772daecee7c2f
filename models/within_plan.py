"""The FE structure, prepared once and applied to any block: :class:`WithinPlan`.

:func:`make_plan` reads FE codes ``fe`` (n, m) and chooses the route of the within
transform from the numbers of levels alone (see :mod:`tradeq.models.within`): ``"none"``
(m = 0), ``"demean"`` (m = 1), ``"fwl"`` (one big FE plus small ones, exact) or ``"map"``
(alternating projections).

Levels with no rows (``counts`` 0) are allowed and get weight 0: the transform leaves the
rows of such a level unchanged and they do not enter any other level's mean. A fit that
drops rows without copying the data (singletons, :mod:`tradeq.models.fe_sample`) puts them
in one such level — the same rows in every dimension — and zeroes them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from .aligned import as_aligned
from .within_fwl import fwl_structure

#: Largest total number of levels (one per dimension dropped) of the non-largest FE
#: dimensions for the exact FWL route; beyond it the (L, L) solve and the co-occurrence
#: counts stop being cheap next to a few alternating-projection sweeps.
FWL_MAX_SMALL_LEVELS = 500


@dataclass(frozen=True)
class WithinPlan:
    """The FE structure prepared for :func:`tradeq.models.within.apply_plan` (a JAX pytree).

    ``method``: ``"none"`` (m = 0), ``"demean"`` (m = 1), ``"fwl"`` or ``"map"``.
    ``codes``/``inv_counts``/``n_groups``: per FE dimension, the one with most levels
    first; ``n_groups[j]`` is the number of code values (``inv_counts`` 0 for empty levels).
    FWL only (:mod:`tradeq.models.within_fwl`), with K the small FEs' levels in all:
    ``Cw`` (G_big, K) dense weighted co-occurrence counts ``diag(1/n_g) D_big'S``, or their
    non-zero triplets ``pair_group, pair_level, pair_weight``; ``kept`` (n_small,) the
    independent columns of ``S~``; ``chol`` (n_small, n_small) lower Cholesky factor of
    their ``S~'S~``.
    """

    method: str
    n_groups: tuple[int, ...]
    codes: tuple
    inv_counts: tuple
    Cw: jax.Array | None = None
    pair_group: jax.Array | None = None
    pair_level: jax.Array | None = None
    pair_weight: jax.Array | None = None
    kept: jax.Array | None = None
    chol: jax.Array | None = None
    n_small: int = 0


jax.tree_util.register_dataclass(
    WithinPlan,
    data_fields=["codes", "inv_counts", "Cw", "pair_group", "pair_level", "pair_weight", "kept", "chol"],
    meta_fields=["method", "n_groups", "n_small"],
)


def dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes renumbered to 0..G-1 if they had gaps, int32; counts (G,))."""
    codes = np.asarray(codes)
    counts = np.bincount(codes) if codes.size else np.zeros(0, np.int64)
    if counts.size and not (counts > 0).all():
        present = counts > 0
        codes = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)[codes]
        counts = counts[present]
    return codes.astype(np.int32, copy=False), counts


def inverse_counts(counts: np.ndarray) -> np.ndarray:
    """(G,) ``1 / counts``, 0 for empty levels (their rows, if any, are left unchanged)."""
    counts = np.asarray(counts, dtype=np.float64)
    out = np.zeros(counts.shape)
    np.divide(1.0, counts, out=out, where=counts > 0)
    return out


def _columns(fe) -> list[np.ndarray]:
    if isinstance(fe, (list, tuple)):  # one (n,) code array per dimension
        return [np.asarray(c) for c in fe]
    fe = np.asarray(fe)
    if fe.ndim != 2:
        raise ValueError(f"fe must be (n, m); got shape {fe.shape}")
    return [fe[:, j] for j in range(fe.shape[1])]


def make_plan(fe, *, max_small_levels: int = FWL_MAX_SMALL_LEVELS, counts: list | None = None) -> WithinPlan:
    """Prepare the within transform for FE codes ``fe`` (n, m), or a list of m (n,) arrays.

    Without ``counts``, codes with gaps are renumbered. With ``counts`` (per dimension, the
    (G_j,) rows per code value, 0 allowed — see the module docstring) the codes are used
    as they are. The route depends only on the numbers of non-empty levels: exact FWL when
    all dimensions but the largest have at most ``max_small_levels`` levels in total (after
    dropping one per dimension), alternating projections otherwise.
    """
    columns = _columns(fe)
    m = len(columns)
    if m == 0:
        return WithinPlan("none", (), (), ())
    if counts is not None:
        dims = [(c, np.asarray(cnt)) for c, cnt in zip(columns, counts)]
    else:
        dims = [dense_codes(c) for c in columns]
    present = [int(np.count_nonzero(cnt)) for _, cnt in dims]
    order = sorted(range(m), key=lambda j: -present[j])
    # Leaves stay NumPy arrays on 64-byte boundaries: jit reads them without copies.
    codes = tuple(as_aligned(dims[j][0], np.int32) for j in order)
    inv = tuple(as_aligned(inverse_counts(dims[j][1])) for j in order)
    n_groups = tuple(int(dims[j][1].size) for j in order)
    if m == 1:
        return WithinPlan("demean", n_groups, codes, inv)
    if sum(present[j] - 1 for j in order[1:]) > max_small_levels:
        return WithinPlan("map", n_groups, codes, inv)
    fwl = fwl_structure(codes, [dims[j][1] for j in order], inv[0])
    return WithinPlan("fwl", n_groups, codes, inv, **fwl)
