"""The rank of the FE dummy matrix against ``numpy.linalg.matrix_rank`` of explicit dummies,
on random and adversarial panels: nested FEs, FE dimensions collinear with others,
disconnected graphs, codes with gaps, and more than three dimensions."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models.fe_rank import fe_rank


def dummy_rank(fe: np.ndarray) -> int:
    if fe.shape[1] == 0:
        return 0
    D = np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])[None, :]) for j in range(fe.shape[1])])
    return int(np.linalg.matrix_rank(D.astype(float)))


def _random(seed: int, n: int, sizes: list[int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, G, n) for G in sizes])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("sizes", [[7], [30, 6], [15, 15], [40, 8, 5], [25, 12, 9, 4], [60, 3, 3, 3, 2]])
def test_random_panels(seed, sizes):
    n = int(np.random.default_rng(seed).integers(20, 120))  # sparse: disconnected at small n
    fe = _random(seed, n, sizes)
    assert fe_rank(fe) == dummy_rank(fe)


def _firm_year(seed=0, n_firms=30, n_years=6, keep=0.7):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    sel = rng.random(firm.size) < keep
    return firm[sel], year[sel], rng


def test_nested_fe_adds_nothing():
    firm, year, _ = _firm_year()
    region = firm % 4  # constant within firm
    fe = np.column_stack([firm, year, region])
    assert fe_rank(fe) == dummy_rank(fe) == fe_rank(fe[:, :2])


def test_nested_except_one_mover():
    firm, year, _ = _firm_year(seed=1)
    region = firm % 4
    region[np.flatnonzero(firm == 3)[-1]] = 2  # firm 3 moves once
    fe = np.column_stack([firm, year, region])
    assert fe_rank(fe) == dummy_rank(fe) == fe_rank(fe[:, :2]) + 1


@pytest.mark.parametrize("kind", ["relabelled copy", "coarsening", "interaction", "permuted copy of the largest"])
def test_collinear_dimensions(kind):
    firm, year, rng = _firm_year(seed=2)
    if kind == "relabelled copy":  # the same partition as year
        extra = (year * 7 + 3) % 11
    elif kind == "coarsening":  # periods: nested in year
        extra = year // 2
    elif kind == "interaction":  # firm x year: one level per row
        extra = firm * 10 + year
    else:
        extra = rng.permutation(firm.max() + 1)[firm]
    fe = np.column_stack([firm, year, extra])
    assert fe_rank(fe) == dummy_rank(fe)


def test_disconnected_blocks_and_components():
    rng = np.random.default_rng(3)
    # two blocks of firms with disjoint years, and a third FE crossing both
    f = np.concatenate([rng.integers(0, 20, 80), rng.integers(20, 40, 80)])
    y = np.concatenate([rng.integers(0, 4, 80), rng.integers(4, 8, 80)])
    z = rng.integers(0, 3, 160)
    for fe in (np.column_stack([f, y]), np.column_stack([f, y, z]), np.column_stack([z, y, f])):
        assert fe_rank(fe) == dummy_rank(fe)
    # two dimensions: G1 + G2 - components
    assert fe_rank(np.column_stack([f, y])) == 40 + 8 - 2


def test_many_tiny_components_and_gaps():
    C = 40
    f = np.repeat(np.arange(C) * 2, 4) + np.tile([0, 1, 0, 1], C)
    w = np.repeat(np.arange(C) * 2, 4) + np.tile([0, 0, 1, 1], C)
    t = np.random.default_rng(4).integers(0, 5, f.size)
    fe = np.column_stack([f * 3 + 11, w, t * 100])  # codes with gaps
    assert fe_rank(fe) == dummy_rank(fe)
    assert fe_rank(fe[:, :2]) == 2 * C + 2 * C - C


def test_small_cases():
    assert fe_rank(np.zeros((5, 0), np.int64)) == 0
    assert fe_rank(np.array([3, 3, 9, 4])) == 3
    assert fe_rank(np.array([[0, 0, 0]])) == 1
    with pytest.raises(ValueError, match="integers"):
        fe_rank(np.array([[0.5, 1.0]]))


def test_fallback_is_an_upper_bound_with_a_warning():
    firm, year, rng = _firm_year(seed=5)
    region = firm % 4
    industry = rng.integers(0, 3, firm.size)
    for fe in (np.column_stack([firm, year, industry]), np.column_stack([firm, year, region])):
        exact = dummy_rank(fe)
        with pytest.warns(UserWarning, match="upper bound"):
            bound = fe_rank(fe, max_levels=0)
        assert bound >= exact
    # no cross-dimension redundancy beyond each dimension's graph with the largest: exact
    with pytest.warns(UserWarning, match="upper bound"):
        assert fe_rank(np.column_stack([firm, year, industry]), max_levels=0) == dummy_rank(
            np.column_stack([firm, year, industry])
        )
