"""Singleton observations: rows alone in a level of some fixed effect.

A row that is the only member of its level in any FE dimension is fitted perfectly by that
level's dummy: it carries no information about the slopes, but it inflates N and so biases
the iid/robust/clustered variances (Correia 2015, "Singletons, cluster-robust standard
errors and fixed effects: a bad mix", technical note). Dropping one singleton can create
another in a different dimension, so the removal is repeated until no dimension has a
level of size one — the fixed point that reghdfe, fixest and pyfixest
(``fixef_rm="singleton"``, ``pyfixest.core.detect_singletons``) compute.
"""

from __future__ import annotations

import numpy as np


def drop_singletons(fe: np.ndarray, *, max_passes: int = 10_000) -> np.ndarray:
    """Boolean (n,) mask of rows to KEEP after iterated singleton removal.

    ``fe`` (n, m) non-negative integer codes. Each pass recounts every dimension over the
    rows still kept (``np.bincount``) and drops rows whose level has count 1; passes repeat
    until one removes nothing. With m == 0 every row is kept.
    """
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    n, m = fe.shape
    keep = np.ones(n, dtype=bool)
    if m == 0 or n == 0:
        return keep
    if not np.issubdtype(fe.dtype, np.integer):
        raise TypeError(f"FE codes must be integers; got {fe.dtype}")
    cols = [np.ascontiguousarray(fe[:, j]) for j in range(m)]
    sizes = [int(c.max()) + 1 for c in cols]
    # Cycle through the dimensions until m in a row remove nothing. Removing a dimension's
    # singleton rows cannot create new singletons in that same dimension (other levels keep
    # their counts), so the dimension that just removed rows counts as clean.
    clean, j, passes = 0, 0, 0
    while clean < m and passes < max_passes * m:
        c, G = cols[j], sizes[j]
        counts = np.bincount(c, minlength=G) if keep.all() else np.bincount(c, weights=keep, minlength=G)
        single = counts[c] == 1
        single &= keep
        if single.any():
            keep &= ~single
            clean = 1
        else:
            clean += 1
        j = (j + 1) % m
        passes += 1
    return keep


def n_singletons(fe: np.ndarray) -> int:
    """Number of rows :func:`drop_singletons` removes."""
    return int((~drop_singletons(fe)).sum())
