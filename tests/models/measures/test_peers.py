"""Peer measures exactly equal to brute-force loops over firms; linkage normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models.measures.peers import (
    exporter_share,
    network_exposure,
    peer_measures,
    row_normalised_linkage,
)


def _world(seed, n_groups=6, n_rows=60, n_pairs=400, n_keys=25):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n_rows)
    group[0] = n_groups  # a group with one exporter
    value = rng.exponential(5.0, n_rows).round(3)
    pair_row = rng.integers(0, n_rows, n_pairs)
    pair_key = rng.integers(0, n_keys, n_pairs) * 1000 + 7  # sparse keys; repeats included
    return group, value, pair_row, pair_key


def _brute(group, value, pair_row, pair_key):
    n = group.size
    pairs = [set() for _ in range(n)]
    for r, k in zip(pair_row, pair_key):
        pairs[r].add(int(k))
    out = {"sum": [], "mean": [], "div": [], "n": []}
    for f in range(n):
        peers = [g for g in range(n) if g != f and group[g] == group[f]]
        out["n"].append(len(peers) + 1)
        if not peers:
            out["sum"].append(np.nan), out["mean"].append(np.nan), out["div"].append(np.nan)
            continue
        s = sum(value[g] for g in peers)
        out["sum"].append(s)
        out["mean"].append(s / len(peers))
        out["div"].append(float(len(set().union(*(pairs[g] for g in peers)))))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("seed", range(5))
def test_exactly_equal_to_brute_force(seed):
    group, value, pair_row, pair_key = _world(seed)
    pm = peer_measures(group, value, pair_row, pair_key)
    ref = _brute(group, value, pair_row, pair_key)
    np.testing.assert_array_equal(pm.n_exporters, ref["n"])
    np.testing.assert_allclose(pm.peer_sum, ref["sum"], rtol=1e-13, equal_nan=True)
    np.testing.assert_allclose(pm.peer_mean, ref["mean"], rtol=1e-13, equal_nan=True)
    np.testing.assert_array_equal(pm.peer_diversity, ref["div"])  # counts: exact
    assert pm.n_single_firm_groups == 1 and pm.n_single_firm_rows == 1 and np.isnan(pm.peer_mean[0])


def test_distinct_count_is_not_a_subtraction():
    # firms 0 and 1 share pair 5; firm 0 alone has 6: others of firm 1 = {5, 6}, of firm 0 = {5}
    pm = peer_measures(np.array([0, 0]), np.array([1.0, 2.0]), np.array([0, 0, 1]), np.array([5, 6, 5]))
    np.testing.assert_array_equal(pm.peer_diversity, [1.0, 2.0])
    np.testing.assert_array_equal(pm.own_only_pairs, [1, 0])
    np.testing.assert_array_equal(pm.group_pairs, [2])


def test_linkage_normalisation_and_exposure_against_loops():
    rng = np.random.default_rng(3)
    W = rng.random((4, 4))
    W[2] = 0.0
    W[2, 2] = 5.0  # only a self-link: isolated once the diagonal is zeroed
    x = rng.random((4, 3))
    Wn, isolated = row_normalised_linkage(W)
    np.testing.assert_array_equal(isolated, [False, False, True, False])
    assert (np.diag(Wn) == 0).all()
    np.testing.assert_allclose(Wn[~isolated].sum(axis=1), 1.0)
    expo, _ = network_exposure(W, x)
    for j in range(4):
        for t in range(3):
            if j == 2:
                assert np.isnan(expo[j, t])
                continue
            den = sum(W[j, k] for k in range(4) if k != j)
            assert expo[j, t] == pytest.approx(sum(W[j, k] / den * x[k, t] for k in range(4) if k != j), rel=1e-13)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="non-negative"):
        peer_measures(np.array([0, 0]), np.array([1.0, -2.0]), np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="integer codes"):
        peer_measures(np.array([0.5, 0.0]), np.array([1.0, 2.0]), np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="indexes 2"):
        peer_measures(np.array([0, 0]), np.array([1.0, 2.0]), np.array([5]), np.array([1]))
    with pytest.raises(ValueError, match="square"):
        row_normalised_linkage(np.ones((2, 3)))
    np.testing.assert_allclose(exporter_share([2, 3], [4, 0]), [0.5, np.nan])
