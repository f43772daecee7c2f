"""Integer codes for group-bys over many rows, without hashing.

``np.unique`` without ``return_inverse`` hashes, which on tens of millions of rows is far
slower than sorting (NumPy 2.5); codes that span a small range are densified with one
``np.bincount``. These helpers are what the measures use for every group-by.
"""

from __future__ import annotations

import numpy as np

#: Largest code range densified by bincount, relative to the number of rows (else sort).
_DENSE_RANGE_PER_ROW = 8


def dense_codes(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """One (n,) int32 code 0..G-1 for each distinct combination of the integer ``keys``
    (codes ordered as the combinations sort), and G."""
    if not keys:
        raise ValueError("dense_codes needs at least one key")
    n = np.asarray(keys[0]).shape[0]
    if n == 0:
        return np.zeros(0, np.int32), 0
    combined = np.zeros(n, dtype=np.int64)
    span_total = 1
    for key in keys:
        key = np.asarray(key)
        if key.shape != (n,) or not np.issubdtype(key.dtype, np.integer):
            raise ValueError(f"keys must be (n,) integer arrays; got {key.dtype} {key.shape}")
        lo, hi = int(key.min()), int(key.max())
        span = hi - lo + 1
        if span_total > np.iinfo(np.int64).max // span:
            raise ValueError("too many key combinations for 64-bit codes")
        combined = combined * span + (key - lo)
        span_total *= span
    if span_total <= _DENSE_RANGE_PER_ROW * n + (1 << 20):
        present = np.bincount(combined, minlength=span_total) > 0
        remap = (np.cumsum(present) - 1).astype(np.int32)
        return remap[combined], int(present.sum())
    uniq, inv = np.unique(combined, return_inverse=True)  # sorts
    return inv.astype(np.int32), int(uniq.size)


def distinct_sorted(x: np.ndarray) -> np.ndarray:
    """The distinct values of ``x``, sorted (a sort, not a hash)."""
    s = np.sort(np.asarray(x))
    return s[np.r_[True, s[1:] != s[:-1]]] if s.size else s


def runs(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start index, length) of each run of equal values in a sorted array."""
    if sorted_codes.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return starts, np.diff(np.r_[starts, sorted_codes.size])


def is_unique(ids: np.ndarray) -> bool:
    ids = np.asarray(ids)
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return True
    s = np.sort(ids)
    return bool(np.all(s[1:] != s[:-1]))


def positions_of(all_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions in ``all_ids`` (unique) of each of ``ids`` (all present): matching by identity."""
    all_ids, ids = np.asarray(all_ids), np.asarray(ids)
    if all_ids.size and bool(np.all(all_ids[1:] > all_ids[:-1])):
        pos = np.searchsorted(all_ids, ids)
    else:
        order = np.argsort(all_ids)  # unique keys: stability is irrelevant, quicksort is fast
        pos = order[np.clip(np.searchsorted(all_ids, ids, sorter=order), 0, max(order.size - 1, 0))]
    if ids.size and (pos.max() >= all_ids.size or not np.array_equal(all_ids[pos], ids)):
        raise ValueError("some ids are not among the records' ids")
    return pos
