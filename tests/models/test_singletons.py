"""Iterated singleton removal against pyfixest's ``detect_singletons`` and hand cases."""

from __future__ import annotations

import numpy as np
import pytest
from pyfixest.core.detect_singletons import detect_singletons

from tradeq.models.singletons import drop_singletons, n_singletons


def test_chain_needs_several_passes():
    # Dropping row 0 (alone in column-1 level 0) leaves row 1 alone in column-0 level 0,
    # whose removal exposes row 2, and so on: only the last pair survives.
    fe = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 2], [2, 3], [3, 3], [3, 3]])
    keep = drop_singletons(fe)
    np.testing.assert_array_equal(keep, [False] * 6 + [True] * 2)
    np.testing.assert_array_equal(~keep, detect_singletons(fe))
    assert n_singletons(fe) == 6


def test_no_singletons_and_edge_shapes():
    fe = np.array([[0, 1], [0, 1], [1, 0], [1, 0]])
    assert drop_singletons(fe).all()
    assert drop_singletons(np.zeros((4, 0), np.int32)).all()
    np.testing.assert_array_equal(drop_singletons(np.array([0, 0, 1, 2, 2])), [True, True, False, True, True])
    with pytest.raises(TypeError):
        drop_singletons(np.array([[0.5], [1.0]]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("m", [1, 2, 3])
def test_matches_pyfixest_on_sparse_random_codes(seed, m):
    rng = np.random.default_rng(seed)
    n = 400
    sizes = [150, 90, 40][:m]
    fe = np.column_stack([rng.integers(0, G, n) for G in sizes]).astype(np.int32)
    keep = drop_singletons(fe)
    np.testing.assert_array_equal(~keep, detect_singletons(fe))
    # the fixed point: no level of any dimension has exactly one kept row
    for j in range(m):
        counts = np.bincount(fe[keep, j], minlength=sizes[j])
        assert not (counts == 1).any()
