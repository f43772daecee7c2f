"""The estimation sample without copying the data: the rows it drops are those of iterated
singleton removal (pyfixest's ``detect_singletons``), dropped rows carry the sentinel code in
every dimension, and the counts are those of the kept rows."""

from __future__ import annotations

import numpy as np
import pytest
from pyfixest.core.detect_singletons import detect_singletons

from tradeq.models.fe_sample import estimation_sample


def _codes(seed=0, n=600):
    rng = np.random.default_rng(seed)
    firm = rng.integers(0, 250, n)
    year = rng.integers(0, 8, n)
    region = firm % 13
    return firm, year, region


@pytest.mark.parametrize("seed", range(4))
def test_dropped_rows_and_counts(seed):
    firm, year, region = _codes(seed)
    fe = np.column_stack([firm, year]).astype(np.int32)
    cl = np.column_stack([firm, region]).astype(np.int32)
    s = estimation_sample(fe, cl)
    ref = detect_singletons(fe)
    np.testing.assert_array_equal(np.sort(s.dropped), np.flatnonzero(ref))
    keep = ~ref
    assert s.n_obs == keep.sum()
    for dim, col in zip(s.fe, fe.T):
        G = int(col.max()) + 1
        assert dim.segments == G + 1  # one sentinel level
        np.testing.assert_array_equal(dim.codes[~keep], G)
        np.testing.assert_array_equal(dim.codes[keep], col[keep])
        np.testing.assert_array_equal(dim.counts[:G], np.bincount(col[keep], minlength=G))
        assert dim.counts[G] == 0 and dim.levels == np.unique(col[keep]).size
        assert dim.codes.ctypes.data % 64 == 0 and dim.codes.dtype == np.int32
    assert s.cluster[0] is s.fe[0]  # the firm cluster shares the firm FE's codes
    np.testing.assert_array_equal(s.cluster[1].counts[:13], np.bincount(region[keep], minlength=13))
    assert s.n_clusters == (s.fe_levels[0], np.unique(region[keep]).size)
    assert fe[0, 0] == firm[0]  # the design's arrays are not written


def test_no_singletons_keeps_the_codes():
    fe = np.repeat(np.arange(20, dtype=np.int32), 3)[:, None]
    s = estimation_sample(fe, np.zeros((60, 0), np.int32))
    assert s.dropped.size == 0 and s.fe[0].segments == 20 and s.fe_levels == (20,)


def test_gaps_and_bad_codes():
    fe = np.array([[0, 5], [0, 5], [9, 5], [9, 7], [9, 7]])
    s = estimation_sample(fe, np.zeros((5, 0), np.int32))
    assert s.dropped.size == 0 and s.fe_levels == (2, 2)
    assert s.fe[0].counts.tolist()[:1] == [2] and s.fe[0].counts[9] == 3
    big = np.array([[0], [10**12], [0], [10**12]])  # renumbered, not a count per code value
    assert estimation_sample(big, np.zeros((4, 0), np.int32)).fe[0].segments == 2
    with pytest.raises(ValueError, match="non-negative"):
        estimation_sample(np.array([[-1], [0]]), np.zeros((2, 0), np.int32))
    with pytest.raises(ValueError, match="integers"):
        estimation_sample(np.array([[0.5], [1.0]]), np.zeros((2, 0), np.int32))
