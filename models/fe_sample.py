"""The estimation sample of a fixed-effects fit, without copying the data.

Singleton rows (:mod:`tradeq.models.singletons`) leave the sample, but the (n, 1 + k)
block of the design is not compacted: every FE and cluster code of a dropped row is
replaced by one extra level per dimension (the *sentinel*, code ``G_j``) that has weight 0.
The within transform then leaves those rows unchanged and keeps them out of every other
level's mean (:mod:`tradeq.models.within_plan`), the fit zeroes them in the transformed
block, and from there they add nothing to any cross-product, score or cluster sum. Levels
emptied by the removal are kept with count 0, so no code is renumbered either: the sample
costs one pass over each code column, whatever the number of rows dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aligned import as_aligned
from .singletons import singleton_fixed_point

#: Codes larger than this many times the number of rows are renumbered first (a count
#: per code value would otherwise be larger than the data).
_SPARSE_CODES = 4


@dataclass(frozen=True)
class Dimension:
    """One FE or cluster dimension over all n rows of the design.

    ``codes`` (n,) aligned int32 in ``0..segments-1``; dropped rows carry the sentinel code.
    ``counts`` (segments,) kept rows per code (0 for the sentinel and emptied levels).
    ``levels``: number of levels with a kept row (the G of degrees of freedom).
    """

    codes: np.ndarray
    counts: np.ndarray
    levels: int

    @property
    def segments(self) -> int:
        return int(self.counts.size)


@dataclass(frozen=True)
class Sample:
    """Rows of the fit: ``dropped`` (d,) int64 positions, ``n_obs`` kept rows, and the FE and
    cluster dimensions (:class:`Dimension`) with dropped rows moved to the sentinel."""

    n_rows: int
    dropped: np.ndarray
    fe: tuple[Dimension, ...]
    cluster: tuple[Dimension, ...]

    @property
    def n_obs(self) -> int:
        return self.n_rows - int(self.dropped.size)

    @property
    def fe_levels(self) -> tuple[int, ...]:
        return tuple(d.levels for d in self.fe)

    @property
    def n_clusters(self) -> tuple[int, ...]:
        return tuple(d.levels for d in self.cluster)


def _codes(column: np.ndarray) -> tuple[np.ndarray, bool]:
    """(aligned int32 codes, whether they are a private copy); checked on the contiguous copy."""
    c = np.asarray(column)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"FE and cluster codes must be integers; got {c.dtype}")
    lo, hi = (int(c.min()), int(c.max())) if c.size else (0, 0)
    if lo < 0:
        raise ValueError("FE and cluster codes must be non-negative")
    if hi >= _SPARSE_CODES * c.size + 16 or hi >= 2**31:
        c = np.unique(c, return_inverse=True)[1].reshape(-1)
    out = as_aligned(c, np.int32)
    return out, not np.shares_memory(out, column)


def _with_sentinel(codes: np.ndarray, private: bool, counts: np.ndarray, dropped: np.ndarray | None) -> Dimension:
    levels = int(np.count_nonzero(counts))
    if dropped is None:
        return Dimension(codes, counts, levels)
    if not private:  # the caller's array: write the sentinel into a copy
        codes = as_aligned(codes.copy())
    codes[dropped] = np.int32(counts.size)
    return Dimension(codes, np.append(counts, 0), levels)


def estimation_sample(fe: np.ndarray, cluster: np.ndarray, *, drop_singleton_rows: bool = True) -> Sample:
    """Singletons dropped (iterated, over the FE dimensions) and the sentinel coding.

    ``fe`` (n, m) and ``cluster`` (n, c) non-negative integer codes (gaps allowed). A
    cluster column equal to an FE column (firm FE, firm clusters) shares its codes.
    """
    n, m = fe.shape
    fe_cols = [_codes(fe[:, j]) for j in range(m)]
    if m and drop_singleton_rows:
        keep, counts = singleton_fixed_point([c for c, _ in fe_cols])
    else:
        keep, counts = None, [np.bincount(c) if c.size else np.zeros(0, np.int64) for c, _ in fe_cols]
    dropped = None if keep is None else np.flatnonzero(~keep)
    cl_dims = []
    for j in range(cluster.shape[1]):
        col = np.asarray(cluster[:, j])
        same = next((i for i in range(m) if np.array_equal(col, fe[:, i])), None)
        if same is not None:
            cl_dims.append(same)
            continue
        codes, private = _codes(col)
        cnt = np.bincount(codes) if codes.size else np.zeros(0, np.int64)
        if dropped is not None:
            cnt -= np.bincount(codes[dropped], minlength=cnt.size)
        cl_dims.append(_with_sentinel(codes, private, cnt, dropped))
    fe_dims = tuple(_with_sentinel(c, private, cnt, dropped) for (c, private), cnt in zip(fe_cols, counts))
    cl_dims = tuple(fe_dims[d] if isinstance(d, int) else d for d in cl_dims)
    return Sample(n, np.zeros(0, np.int64) if dropped is None else dropped, fe_dims, cl_dims)
