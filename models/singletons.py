"""Singleton observations: rows alone in a level of some fixed effect.

A row that is the only member of its level in any FE dimension is fitted perfectly by that
level's dummy: it carries no information about the slopes, but it inflates N and so biases
the iid/robust/clustered variances (Correia 2015, "Singletons, cluster-robust standard
errors and fixed effects: a bad mix", technical note). Dropping one singleton can create
another in a different dimension, so the removal is repeated until no dimension has a
level of size one — the fixed point that reghdfe, fixest and pyfixest
(``fixef_rm="singleton"``, ``pyfixest.core.detect_singletons``) compute.

Cost: one count per dimension, then per pass a lookup of each row's level in a small
boolean table; the counts of the other dimensions are updated from the dropped rows only,
so a pass is O(n) with no recount.
"""

from __future__ import annotations

import numpy as np


def singleton_fixed_point(columns: list[np.ndarray], *, max_passes: int = 10_000):
    """Iterated singleton removal on FE code columns; ``(keep, counts)``.

    ``columns``: m arrays (n,) of non-negative integer codes. Returns ``keep`` (n,) bool —
    None when no row is dropped — and, per dimension, the (G_j,) int64 number of kept rows
    in each level (``G_j = max code + 1``; levels emptied by the removal count 0).
    """
    m = len(columns)
    counts = [np.bincount(c) if c.size else np.zeros(0, np.int64) for c in columns]
    if m == 0 or columns[0].size == 0:
        return None, counts
    keep = None
    # Cycle through the dimensions until m in a row remove nothing. Removing a dimension's
    # singleton rows cannot create new singletons in that same dimension (other levels keep
    # their counts), so the dimension that just removed rows counts as clean.
    clean, j, passes = 0, 0, 0
    while clean < m and passes < max_passes * m:
        single_level = counts[j] == 1
        if single_level.any():
            single = single_level[columns[j]]  # (n,) bool via a small table
            if keep is not None:
                single &= keep
            rows = np.flatnonzero(single)
        else:
            rows = np.zeros(0, np.int64)
        if rows.size:
            if keep is None:
                keep = np.ones(columns[0].size, dtype=bool)
            keep[rows] = False
            for i in range(m):  # the dropped rows leave every dimension's counts
                counts[i] -= np.bincount(columns[i][rows], minlength=counts[i].size)
            clean = 1
        else:
            clean += 1
        j = (j + 1) % m
        passes += 1
    return keep, counts


def drop_singletons(fe: np.ndarray, *, max_passes: int = 10_000) -> np.ndarray:
    """Boolean (n,) mask of rows to KEEP after iterated singleton removal.

    ``fe`` (n, m) non-negative integer codes. Passes repeat until one removes nothing; with
    m == 0 every row is kept.
    """
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    n, m = fe.shape
    if m == 0 or n == 0:
        return np.ones(n, dtype=bool)
    if not np.issubdtype(fe.dtype, np.integer):
        raise TypeError(f"FE codes must be integers; got {fe.dtype}")
    keep, _ = singleton_fixed_point([np.ascontiguousarray(fe[:, j]) for j in range(m)], max_passes=max_passes)
    return np.ones(n, dtype=bool) if keep is None else keep


def n_singletons(fe: np.ndarray) -> int:
    """Number of rows :func:`drop_singletons` removes."""
    return int((~drop_singletons(fe)).sum())
