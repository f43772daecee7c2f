"""Confidence sets by test inversion against a fine grid of r, each p(r) evaluated by
its own test (wild_test at that r, the same seed)."""

from __future__ import annotations

import numpy as np
import pytest
from wild_refs import clustered_data

from tradeq.models.crv3 import cluster_blocks
from tradeq.models.wild import wild_ci, wild_distribution, wild_test


def _grid_set(y, X, cl, R, grid, **kw):
    """The accepted stretch of the grid around the estimate, p(r) from separate tests."""
    p = np.array([wild_test(y, X, cl, R, r, level=None, **kw).p for r in grid])
    return p


@pytest.mark.parametrize(
    "kw",
    [
        dict(weights="rademacher", reps=9999),  # G = 9: enumeration
        dict(weights="webb", reps=999, key=2),
        dict(weights="webb", reps=999, key=2, ptype="equal_tailed"),
        dict(weights="mammen", reps=999, key=2, null="unrestricted"),
    ],
    ids=["enumerated", "webb", "equal_tailed", "wcu"],
)
def test_inverted_interval_matches_a_fine_grid(kw):
    y, X, cl = clustered_data(G=9, n_per=20, seed=31)
    R = np.array([0.0, 1.0, 0.0])
    ci = wild_ci(y, X, cl, R, level=0.9, **kw)
    dist = wild_distribution(cluster_blocks(y, X, cl), R, **{k: v for k, v in kw.items() if k != "ptype"})
    width = ci.hi - ci.lo
    grid = np.linspace(ci.lo - 0.25 * width, ci.hi + 0.25 * width, 601)
    h = grid[1] - grid[0]
    p = _grid_set(y, X, cl, R, grid, **kw)
    accepted = grid[p > 0.1]
    center = np.searchsorted(grid, dist.estimate)
    assert p[center] > 0.1
    # the grid's accepted set is an interval here, and its ends bracket ours within one step
    assert np.all(np.diff(np.flatnonzero(p > 0.1)) == 1)
    assert accepted.min() - h - ci.tol <= ci.lo <= accepted.min() + ci.tol
    assert accepted.max() - ci.tol <= ci.hi <= accepted.max() + h + ci.tol
    # and just inside / outside each end the test accepts / rejects
    ptype = kw.get("ptype", "symmetric")
    for end, inward in ((ci.lo, +1), (ci.hi, -1)):
        assert dist.pvalue(end + inward * ci.tol, ptype)[0] > 0.1
        assert dist.pvalue(end - inward * ci.tol, ptype)[0] <= 0.1


def test_interval_contains_the_estimate_and_is_reported_by_wild_test():
    y, X, cl = clustered_data(G=14, seed=32)
    R = np.array([0.0, 0.0, 1.0])
    res = wild_test(y, X, cl, R, 0.04, weights="webb", reps=1999, key=1, level=0.95)
    ci = wild_ci(y, X, cl, R, level=0.95, weights="webb", reps=1999, key=1)
    assert (res.ci_lo, res.ci_hi) == pytest.approx((ci.lo, ci.hi), rel=1e-12)
    assert res.ci_lo < res.estimate < res.ci_hi
    # p > alpha exactly for the r inside the set
    assert (res.p > 0.05) == (res.ci_lo < 0.04 < res.ci_hi)


def test_one_sided_sets_are_rays():
    y, X, cl = clustered_data(G=12, seed=33)
    R = np.array([0.0, 1.0, 0.0])
    up = wild_ci(y, X, cl, R, level=0.95, ptype="upper", weights="webb", reps=999, key=3)
    down = wild_ci(y, X, cl, R, level=0.95, ptype="lower", weights="webb", reps=999, key=3)
    assert np.isfinite(up.lo) and up.hi == np.inf
    assert down.lo == -np.inf and np.isfinite(down.hi)
    two = wild_ci(y, X, cl, R, level=0.90, ptype="equal_tailed", weights="webb", reps=999, key=3)
    # an equal-tailed 90% set is the intersection of the two one-sided 95% sets
    assert two.lo == pytest.approx(up.lo, abs=2 * up.tol) and two.hi == pytest.approx(down.hi, abs=2 * up.tol)
