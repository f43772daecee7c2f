"""Alternating projections on badly connected FE graphs, against the exact residuals of a
dummy-variable regression (numpy lstsq on [D_1 ... D_m]).

On a chain of levels linked by single rows, or two dense blocks joined by one row, the
sweep contracts at a rate close to 1: a per-sweep change below ``tol`` then leaves an error
~ change / (1 - rate), orders of magnitude above ``tol``. The stopping rule must bound the
distance to the fixed point: whenever the transform reports convergence, the error is at
most a small multiple of ``tol`` times the column scale; and each graph below does converge
within the default sweep budget in at least one setting, so the check is not vacuous.
"""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models.within import make_plan, within_transform


def dummy_residuals(M, fe):
    D = np.column_stack([np.eye(int(c.max()) + 1)[c] for c in fe.T])
    coef, *_ = np.linalg.lstsq(D, M, rcond=None)
    return M - D @ coef


def chain(K: int = 30, reps: int = 2, seed: int = 0):
    """Rows (i, i) and (i + 1, i): the path firm 0 - worker 0 - firm 1 - worker 1 - ..."""
    a = np.tile(np.concatenate([np.arange(K), np.arange(1, K + 1)]), reps)
    b = np.tile(np.concatenate([np.arange(K), np.arange(K)]), reps)
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((a.size, 2)) + np.column_stack([0.1 * a, 3.0 + 0.05 * b])
    return M, np.column_stack([a, b])


def two_blocks(F: int = 40, n: int = 1500, seed: int = 0):
    """Two well-mixed firm x worker blocks joined by a single row."""
    rng = np.random.default_rng(seed)
    f = np.concatenate([rng.integers(0, F, n), rng.integers(F, 2 * F, n), [0]])
    w = np.concatenate([rng.integers(0, F, n), rng.integers(F, 2 * F, n), [F]])
    M = rng.standard_normal((f.size, 2))
    M[:, 0] += 10.0 * (f >= F)
    return M, np.column_stack([f, w])


def tiny_components(C: int = 150, seed: int = 0):
    """C components of 2 firms x 2 workers, crossed by a 5-level year FE."""
    rng = np.random.default_rng(seed)
    f = np.repeat(np.arange(C) * 2, 4) + np.tile([0, 1, 0, 1], C)
    w = np.repeat(np.arange(C) * 2, 4) + np.tile([0, 0, 1, 1], C)
    year = rng.integers(0, 5, f.size)
    M = rng.standard_normal((f.size, 2))
    M[:, 0] += 0.01 * f
    return M, np.column_stack([f, w, year])


GRAPHS = {"chain": chain, "two_blocks": two_blocks, "tiny_components": tiny_components}


@pytest.fixture(scope="module")
def exact():
    out = {}
    for name, make in GRAPHS.items():
        M, fe = make()
        out[name] = ((M, fe), dummy_residuals(M, fe))
    return out


@pytest.mark.parametrize("tol", [1e-8, 1e-12])
@pytest.mark.parametrize("accelerate", [False, True])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_reported_convergence_bounds_the_error(exact, graph, accelerate, tol):
    (M, fe), ref = exact[graph]
    assert make_plan(fe, max_small_levels=0).method == "map"
    out, sweeps, ok = within_transform(M, fe, max_small_levels=0, accelerate=accelerate, tol=tol)
    err = np.abs(out - ref).max() / np.abs(M).max()
    print(f"{graph} accelerate={accelerate} tol={tol:g}: sweeps={sweeps} converged={ok} error/scale={err:.1e}")
    if ok:
        assert err <= 10 * tol, f"reported convergence with error {err:.1e} x scale (tol {tol:g})"
    else:
        assert sweeps >= 10_000


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_hard_graphs_converge_with_acceleration(exact, graph):
    (M, fe), ref = exact[graph]
    out, sweeps, ok = within_transform(M, fe, max_small_levels=0, accelerate=True, tol=1e-10)
    assert ok and sweeps < 10_000
    assert np.abs(out - ref).max() <= 1e-9 * np.abs(M).max()


def test_a_long_chain_is_reported_as_not_converged(exact):
    """Too slow for the sweep budget: the transform must say so, not stop early."""
    M, fe = chain(K=100)
    out, sweeps, ok = within_transform(M, fe, max_small_levels=0, accelerate=False, tol=1e-10)
    err = np.abs(out - dummy_residuals(M, fe)).max() / np.abs(M).max()
    assert err > 1e-6  # far from the fixed point after the full budget ...
    assert not ok  # ... and reported as such
