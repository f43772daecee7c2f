"""The within transform against a dummy-variable regression (numpy lstsq on [D_1 ... D_m]).

Each route of :func:`tradeq.models.within.within_transform` — one-way demeaning, exact FWL (dense
and sparse co-occurrence counts, with and without nested small FEs) and alternating
projections (plain and Irons–Tuck accelerated) — must return the least-squares residuals
of M on the full set of FE dummies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tradeq.models.within as W
import tradeq.models.within_fwl as F
from tradeq.models.within import (
    apply_plan,
    apply_plan_jax,
    demean_by_group,
    group_counts,
    make_plan,
    within_transform,
)


def panel(n_firms=30, n_years=6, keep=0.75, seed=0, p=3):
    """Unbalanced firm-year panel with a region (constant within firm) and an industry FE."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    sel = rng.random(firm.size) < keep
    firm, year = firm[sel], year[sel]
    region = firm % 4
    industry = rng.integers(0, 5, firm.size)
    M = rng.standard_normal((firm.size, p)) * [1.0, 10.0, 0.1][:p] + [0.0, 100.0, 5.0][:p]
    M[:, 0] += 0.5 * firm - 0.3 * year
    return M, firm, year, region, industry


def dummy_residuals(M, fe):
    D = np.column_stack([np.eye(int(c.max()) + 1)[c] for c in fe.T])
    coef, *_ = np.linalg.lstsq(D, M, rcond=None)
    return M - D @ coef


def _scale(M):
    return np.abs(M).max()


@pytest.mark.parametrize(
    ("dims", "route"),
    [
        (("firm",), "demean"),
        (("year",), "demean"),
        (("firm", "year"), "fwl"),
        (("year", "firm"), "fwl"),
        (("firm", "year", "industry"), "fwl"),
        (("firm", "year", "region"), "fwl"),  # region nested in firm: redundant small columns
        (("firm", "region"), "fwl"),  # all small columns redundant
    ],
)
def test_exact_routes_equal_dummy_regression(dims, route):
    M, firm, year, region, industry = panel()
    cols = {"firm": firm, "year": year, "region": region, "industry": industry}
    fe = np.column_stack([cols[d] for d in dims])
    out, sweeps, ok = within_transform(M, fe)
    assert make_plan(fe).method == route
    assert sweeps == 0 and ok
    np.testing.assert_allclose(out, dummy_residuals(M, fe), rtol=0, atol=1e-11 * _scale(M))


def test_fwl_sparse_counts_equal_dense(monkeypatch):
    M, firm, year, region, industry = panel(seed=3)
    fe = np.column_stack([firm, year, industry, region])
    dense = make_plan(fe)
    monkeypatch.setattr(F, "FWL_DENSE_MAX_ELEMENTS", 0)
    monkeypatch.setattr(F, "FWL_DENSE_PER_ROW", 0)
    sparse = make_plan(fe)
    assert dense.Cw is not None and sparse.Cw is None and sparse.pair_weight is not None
    ref = dummy_residuals(M, fe)
    for plan in (dense, sparse):
        out, _, _ = apply_plan(plan, M)
        np.testing.assert_allclose(out, ref, atol=1e-11 * _scale(M))
        out_jax, _, _ = apply_plan_jax(plan, jnp.asarray(M))
        np.testing.assert_allclose(np.asarray(out_jax), ref, atol=1e-11 * _scale(M))


@pytest.mark.parametrize("accelerate", [True, False])
@pytest.mark.parametrize("dims", [("firm", "year"), ("firm", "year", "industry")])
def test_alternating_projections_converge_to_exact(dims, accelerate):
    M, firm, year, region, industry = panel(seed=1)
    cols = {"firm": firm, "year": year, "industry": industry}
    fe = np.column_stack([cols[d] for d in dims])
    exact, _, _ = within_transform(M, fe)
    out, sweeps, ok = within_transform(M, fe, max_small_levels=0, accelerate=accelerate, tol=1e-13)
    assert make_plan(fe, max_small_levels=0).method == "map"
    assert ok and sweeps > 0
    # the stopping rule bounds the remaining error by ~tol x scale
    np.testing.assert_allclose(out, exact, atol=1e-11 * _scale(M))
    np.testing.assert_allclose(out, dummy_residuals(M, fe), atol=1e-10 * _scale(M))


def test_acceleration_needs_fewer_sweeps():
    M, firm, year, region, industry = panel(n_firms=80, seed=5)
    fe = np.column_stack([firm, year, industry])
    _, plain, _ = within_transform(M, fe, max_small_levels=0, accelerate=False)
    _, fast, _ = within_transform(M, fe, max_small_levels=0, accelerate=True)
    assert fast < plain


def test_map_reports_non_convergence():
    M, firm, year, region, industry = panel(seed=2)
    fe = np.column_stack([firm, year, industry])
    _, sweeps, ok = within_transform(M, fe, max_small_levels=0, maxiter=2, accelerate=False)
    assert not ok and sweeps == 2


def test_host_blocks_equal_one_pass(monkeypatch):
    """The host route works block by block; blocks that do not divide n change nothing."""
    M, firm, year, region, industry = panel(seed=4)
    fe = np.column_stack([firm, year, industry])
    plan = make_plan(fe)
    whole, _, _ = apply_plan(plan, M)
    monkeypatch.setattr(F, "CHUNK_ROWS", 7)
    blocks, _, _ = apply_plan(plan, M)
    np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_allclose(whole, dummy_residuals(M, fe), atol=1e-11 * _scale(M))


def test_empty_levels_are_left_alone():
    """Levels with count 0 (how a fit excludes rows without copying) have weight 0: their
    rows are unchanged and every other row gets the residual of the sample without them."""
    M, firm, year, region, industry = panel(seed=6)
    fe = np.column_stack([firm, year])
    out_rows = np.arange(M.shape[0]) % 9 == 0
    inside = ~out_rows
    G = [int(c.max()) + 1 for c in fe.T]
    codes = [np.where(inside, c, g).astype(np.int32) for c, g in zip(fe.T, G)]  # excluded: level G_j
    counts = [np.bincount(c[inside], minlength=g + 1) for c, g in zip(codes, G)]
    ref = dummy_residuals(M[inside], fe[inside])
    for max_small in (W.FWL_MAX_SMALL_LEVELS, 0):
        plan = make_plan(codes, counts=counts, max_small_levels=max_small)
        out, _, ok = apply_plan(plan, M)
        assert ok
        np.testing.assert_array_equal(out[out_rows], M[out_rows])
        np.testing.assert_allclose(out[inside], ref, atol=1e-11 * _scale(M))


def test_no_fe_returns_input_and_1d_input():
    M, firm, *_ = panel()
    out, sweeps, ok = within_transform(M, np.zeros((M.shape[0], 0), np.int32))
    np.testing.assert_array_equal(out, M)
    assert sweeps == 0 and ok
    out1, _, _ = within_transform(M[:, 0], firm)
    np.testing.assert_allclose(out1, dummy_residuals(M[:, :1], firm[:, None])[:, 0], atol=1e-11 * _scale(M))


def test_codes_with_gaps_are_renumbered():
    M, firm, year, *_ = panel()
    fe = np.column_stack([firm * 3 + 7, year * 2])
    out, _, _ = within_transform(M, fe)
    np.testing.assert_allclose(out, dummy_residuals(M, np.column_stack([firm, year])), atol=1e-11 * _scale(M))


def test_apply_plan_overwrite_and_copy():
    M, firm, year, *_ = panel()
    fe = np.column_stack([firm, year])
    plan = make_plan(fe)
    keep = M.copy()
    out, _, _ = apply_plan(plan, M)
    np.testing.assert_array_equal(M, keep)  # default leaves the input alone
    buf = W.aligned_empty(M.shape)
    buf[...] = M
    out2, _, _ = apply_plan(plan, buf, overwrite=True)
    assert np.shares_memory(out2, buf)
    np.testing.assert_allclose(out2, out, atol=1e-13 * _scale(M))


def test_primitives_and_vmap():
    M, firm, year, *_ = panel()
    G = int(firm.max()) + 1
    counts = np.asarray(group_counts(jnp.asarray(firm), G))
    np.testing.assert_array_equal(counts, np.bincount(firm))
    d = np.asarray(demean_by_group(jnp.asarray(M), jnp.asarray(firm), G))
    np.testing.assert_allclose(d, dummy_residuals(M, firm[:, None]), atol=1e-11 * _scale(M))

    # Monte Carlo use: one plan, a batch of outcome blocks
    fe = np.column_stack([firm, year])
    plan = make_plan(fe)
    batch = jnp.asarray(np.stack([M, 2.0 * M + 1.0, M[:, ::-1]]))
    out = jax.vmap(lambda m: apply_plan_jax(plan, m)[0])(batch)
    for b in range(batch.shape[0]):
        np.testing.assert_allclose(
            np.asarray(out[b]), dummy_residuals(np.asarray(batch[b]), fe), atol=1e-10 * _scale(np.asarray(batch[b]))
        )


def test_aligned_helpers():
    a = W.aligned_empty((5, 3))
    assert a.ctypes.data % 64 == 0 and a.flags.c_contiguous and a.dtype == np.float64
    b = np.arange(12.0).reshape(4, 3)[:, :2]
    c = W.as_aligned(b)
    assert c.ctypes.data % 64 == 0 and np.array_equal(b, c)
    assert W.as_aligned(a) is a
