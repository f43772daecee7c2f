"""The within transformation: partial fixed effects out of a block of columns.

Given FE codes ``fe`` (n, m) and a block ``M`` (n, p), :func:`within_transform` returns
the residuals of every column of ``M`` on the full set of FE dummies

    M~ = (I - P_D) M,    D = [D_1 | ... | D_m],  D_j the (n, G_j) indicator matrix of FE j,

which by Frisch–Waugh–Lovell is all an OLS fit with those FEs needs (Frisch & Waugh 1933;
Lovell 1963). The route is chosen from the FE structure alone (:func:`make_plan`):

* ``m == 1`` (``"demean"``) — exact group demeaning ``M~ = M - D_1 (D_1'D_1)^{-1} D_1'M``.
* one FE ``b`` with many levels plus FEs whose levels total at most
  :data:`FWL_MAX_SMALL_LEVELS` after dropping one level per dimension (firm + year;
  ``"fwl"``) — exact in one pass by FWL. With ``S`` (n, L) the small FEs' dummies,
  ``P_b`` the projection on the big FE, ``S~ = (I - P_b) S`` and ``C = D_b'S`` (G_b, L)
  the co-occurrence counts::

      S~'S~ = S'S - C' diag(1/n_g) C                     (L, L), built once per structure
      R     = S~'M = S'M - C' Mbar,   Mbar = diag(1/n_g) D_b'M  (big-FE group means)
      B     = (S~'S~)^{-1} R                              (Cholesky)
      M~    = (I - P_b) M - S~ B
            = M - (Mbar - diag(1/n_g) C B)[b] - S B

  so a pass needs one group sum and one gather over (n, p) per FE dimension — no dense
  (n, L) matrix. On the host the group sums run in JAX (small outputs) and the gathers
  are written into ``M`` in place with NumPy (see ``_apply_exact_host`` for why).
  ``C`` is held dense when ``G_b L`` is at most :data:`FWL_DENSE_MAX_ELEMENTS`, otherwise as
  its non-zero (group, column, count) triplets. Small-FE levels nested in the big FE
  (zero or redundant columns of ``S~``) are dropped by a pivoted Cholesky in column order.
* otherwise (``"map"``) — the method of alternating projections (von Neumann–Halperin;
  Guimarães & Portugal 2010; Gaure 2013, "OLS with multiple high dimensional category
  variables", CSDA 66) ``M <- (I-P_m)...(I-P_1) M`` with Irons & Tuck (1969)
  extrapolation every two sweeps as in fixest (Bergé 2018), until the largest change in a
  sweep is below ``tol`` times the column's largest absolute value.

:class:`WithinPlan` is a JAX pytree (arrays as leaves, sizes and route as static data), so
``jax.vmap(lambda M: apply_plan_jax(plan, M))`` runs many replications that share one FE
structure; :func:`demean_by_group` and :func:`group_counts` are the jittable primitives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .collinear import cholesky_collinear
from .precision import require_x64

#: Largest total number of levels (one per dimension dropped) of the non-largest FE
#: dimensions for the exact FWL route; beyond it the (L, L) solve and the co-occurrence
#: counts stop being cheap next to a few alternating-projection sweeps.
FWL_MAX_SMALL_LEVELS = 500

#: Largest ``G_big * L`` for which the co-occurrence counts ``C`` are a dense array
#: (16.7M float64 = 134 MB); above it they are kept as sparse triplets.
FWL_DENSE_MAX_ELEMENTS = 1 << 24

_ALIGN = 64


def aligned_empty(shape, dtype=np.float64) -> np.ndarray:
    """Uninitialised C-ordered array whose data start on a 64-byte boundary.

    JAX on CPU adopts such a NumPy buffer without copying (a ``jax.device_put`` of a
    600k x 8 float64 block drops from ~20-40 ms to ~0); NumPy's default 16-byte alignment
    forces a copy.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off : off + nbytes].view(dtype).reshape(shape)


def as_aligned(a: np.ndarray, dtype=None) -> np.ndarray:
    """``a`` itself when C-contiguous and 64-byte aligned (and of ``dtype``), else an aligned copy."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    if a.flags.c_contiguous and a.ctypes.data % _ALIGN == 0:
        return a
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


# ---------------------------------------------------------------------------------------
# JAX primitives
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("n_groups",))
def group_counts(codes: jax.Array, n_groups: int) -> jax.Array:
    """(G,) float64 number of rows in each group; ``codes`` (n,) ints in ``0..G-1``."""
    return jax.ops.segment_sum(jnp.ones(codes.shape[0], dtype=jnp.float64), codes, n_groups)


def _demean(M: jax.Array, codes: jax.Array, inv_counts: jax.Array, n_groups: int) -> jax.Array:
    # M - D (D'D)^{-1} D'M with D'D = diag(counts); the gather is the expensive part.
    means = jax.ops.segment_sum(M, codes, n_groups) * inv_counts[:, None]
    return M - means[codes]


@partial(jax.jit, static_argnames=("n_groups",))
def demean_by_group(M: jax.Array, codes: jax.Array, n_groups: int) -> jax.Array:
    """Exact one-way within transform ``M - D (D'D)^{-1} D'M``.

    ``M`` (n, p) float64, ``codes`` (n,) ints in ``0..n_groups-1``, every group non-empty.
    Returns (n, p). Pure; vmappable over ``M``.
    """
    inv = 1.0 / group_counts(codes, n_groups)
    return _demean(M, codes, inv, n_groups)


# ---------------------------------------------------------------------------------------
# Plans: the FE structure, prepared once and applied to any block M
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WithinPlan:
    """The FE structure prepared for :func:`apply_plan` (a JAX pytree).

    ``method``: ``"none"`` (m = 0), ``"demean"`` (m = 1), ``"fwl"`` or ``"map"``.
    ``codes``/``inv_counts``/``n_groups``: per FE dimension, the largest first.
    FWL only: ``small_cols[j]`` (G_j,) maps level -> column of ``S`` (``n_small`` = none:
    reference or redundant level); ``C`` (G_big, L + 1) dense counts (the last column
    is not used), or the triplets
    ``pair_group, pair_col, pair_count``; ``chol`` (L, L) lower Cholesky factor of ``S~'S~``.
    """

    method: str
    n_groups: tuple[int, ...]
    codes: tuple
    inv_counts: tuple
    small_cols: tuple = ()
    C: jax.Array | None = None
    pair_group: jax.Array | None = None
    pair_col: jax.Array | None = None
    pair_count: jax.Array | None = None
    chol: jax.Array | None = None
    n_small: int = 0


jax.tree_util.register_dataclass(
    WithinPlan,
    data_fields=["codes", "inv_counts", "small_cols", "C", "pair_group", "pair_col", "pair_count", "chol"],
    meta_fields=["method", "n_groups", "n_small"],
)


def _dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes renumbered to 0..G-1 if they had gaps, counts (G,))."""
    codes = np.asarray(codes)
    counts = np.bincount(codes) if codes.size else np.zeros(0, np.int64)
    if counts.size and not (counts > 0).all():
        present = counts > 0
        codes = (np.cumsum(present, dtype=np.int64) - 1)[codes]
        counts = counts[present]
    return codes.astype(np.int32, copy=False), counts


def _small_columns(sizes: list[int]) -> tuple[list[np.ndarray], int]:
    # Level 0 of each small dimension is its reference (its dummy is in the span of the
    # big FE plus the other levels); the other levels get consecutive columns. The
    # reference maps to L, a column that does not exist.
    L = sum(G - 1 for G in sizes)
    cols, offset = [], 0
    for G in sizes:
        c = np.full(G, L, dtype=np.int32)
        c[1:] = np.arange(offset, offset + G - 1, dtype=np.int32)
        cols.append(c)
        offset += G - 1
    return cols, L


def _cooccurrence(group: np.ndarray, G: int, cols: list[np.ndarray], L: int):
    """Counts of (group, column) over rows and small dims.

    ``cols[j]`` (n,) holds each row's column in small dim j, ``L`` for the reference level.
    Returns a dense aligned (G, L + 1) array (last column: reference levels, unused) when
    ``G (L + 1)`` is small, else triplets (group, col, count) over columns ``< L``.
    """
    if G * (L + 1) <= FWL_DENSE_MAX_ELEMENTS:
        base = group * np.int32(L + 1)  # < 2^24: int32 keys are enough
        counts = aligned_empty((G, L + 1))
        flat = counts.reshape(-1)
        flat[...] = np.bincount(base + cols[0], minlength=G * (L + 1))
        for c in cols[1:]:
            flat += np.bincount(base + c, minlength=G * (L + 1))
        return counts, None
    g = np.concatenate([group] * len(cols)).astype(np.int64)
    c = np.concatenate(cols).astype(np.int64)
    ok = c < L
    key = g[ok] * L + c[ok]
    uniq, cnt = np.unique(key, return_counts=True)
    return None, ((uniq // L).astype(np.int32), (uniq % L).astype(np.int32), cnt.astype(np.float64))


@jax.jit
def _weighted_gram(C, w):
    # C' diag(w) C in XLA (a NumPy/OpenBLAS product this tall spins threads, see fixed_effects)
    return C.T @ (C * w[:, None])


def _small_gram(cols: list[np.ndarray], L: int) -> np.ndarray:
    """``S'S`` (L, L): rows with column a on in one small dim and column b in another; on
    the diagonal blocks (a dim with itself) the level counts."""
    out = np.zeros((L + 1, L + 1))
    for i, a in enumerate(cols):
        out[np.diag_indices(L + 1)] += np.bincount(a, minlength=L + 1)
        for b in cols[i + 1 :]:
            cross = np.bincount(a.astype(np.int64) * (L + 1) + b, minlength=(L + 1) ** 2).reshape(L + 1, L + 1)
            out += cross + cross.T
    return out[:L, :L]


def make_plan(
    fe: np.ndarray, *, max_small_levels: int = FWL_MAX_SMALL_LEVELS, counts: list | None = None
) -> WithinPlan:
    """Prepare the within transform for FE codes ``fe`` (n, m); see the module docstring.

    Codes with gaps are renumbered. The route depends only on the numbers of levels:
    exact FWL when all dimensions but the largest have at most ``max_small_levels``
    levels in total (after dropping one per dimension), alternating projections otherwise.
    ``counts``: the group sizes per dimension when the caller already knows the codes are
    dense (saves a pass per dimension).
    """
    if isinstance(fe, (list, tuple)):  # one (n,) code array per dimension
        columns = [np.asarray(c) for c in fe]
    else:
        fe = np.asarray(fe)
        if fe.ndim != 2:
            raise ValueError(f"fe must be (n, m); got shape {fe.shape}")
        columns = [fe[:, j] for j in range(fe.shape[1])]
    m = len(columns)
    if m == 0:
        return WithinPlan("none", (), (), ())
    if counts is not None:
        dims = [(c, np.asarray(cnt)) for c, cnt in zip(columns, counts)]
    else:
        dims = [_dense_codes(c) for c in columns]
    sizes = [int(cnt.size) for _, cnt in dims]
    order = sorted(range(m), key=lambda j: -sizes[j])
    # Leaves stay NumPy arrays on 64-byte boundaries: jit reads them without copies.
    codes = tuple(as_aligned(dims[j][0], np.int32) for j in order)
    inv = tuple(as_aligned(1.0 / dims[j][1]) for j in order)
    n_groups = tuple(sizes[j] for j in order)
    if m == 1:
        return WithinPlan("demean", n_groups, codes, inv)
    if sum(G - 1 for G in n_groups[1:]) > max_small_levels:
        return WithinPlan("map", n_groups, codes, inv)

    big_codes, big_counts = dims[order[0]]
    small_codes = [dims[j][0] for j in order[1:]]
    level_cols, L = _small_columns(list(n_groups[1:]))
    row_cols = [lc[c] for lc, c in zip(level_cols, small_codes)]  # (n,) column per row, per dim
    C_full, pairs = _cooccurrence(big_codes, n_groups[0], row_cols, L)
    StS = _small_gram(row_cols, L)
    inv_b = inv[0]
    if C_full is not None:
        CtC = np.asarray(_weighted_gram(C_full, inv_b))[:L, :L]
    else:
        import scipy.sparse as sp

        Cs = sp.csr_matrix((pairs[2] * np.sqrt(inv_b[pairs[0]]), (pairs[0], pairs[1])), shape=(n_groups[0], L))
        CtC = (Cs.T @ Cs).toarray()
    gram = StS - CtC

    # Small-FE levels (or combinations) nested in the big FE — a region FE for firms that
    # never move — give zero or redundant columns of S~: keep a maximal independent set in
    # column order so the Cholesky solve stays exact.
    drop = cholesky_collinear(gram, tol=1e-9, rtol=1e-9) if L else np.zeros(0, bool)
    kept = np.flatnonzero(~drop)
    Lk = int(kept.size)
    remap = np.full(L + 1, Lk, dtype=np.int32)
    remap[kept] = np.arange(Lk, dtype=np.int32)
    level_cols = [remap[lc] for lc in level_cols]
    g = gram[np.ix_(kept, kept)]
    chol = np.linalg.cholesky(g) if Lk else np.zeros((0, 0))
    C = pair_group = pair_col = pair_count = None
    if C_full is not None:
        C = C_full if Lk == L else as_aligned(C_full[:, np.append(kept, L)])
    else:
        pc = remap[pairs[1]]
        ok = pc < Lk
        pair_group, pair_col, pair_count = (as_aligned(a[ok]) for a in (pairs[0], pc, pairs[2]))
    return WithinPlan(
        "fwl",
        n_groups,
        codes,
        inv,
        small_cols=tuple(as_aligned(c, np.int32) for c in level_cols),
        C=C,
        pair_group=pair_group,
        pair_col=pair_col,
        pair_count=pair_count,
        chol=as_aligned(chol),
        n_small=Lk,
    )


# ---------------------------------------------------------------------------------------
# Applying a plan (pure JAX)
# ---------------------------------------------------------------------------------------


def _chol_solve(chol: jax.Array, R: jax.Array) -> jax.Array:
    z = jax.scipy.linalg.solve_triangular(chol, R, lower=True)
    return jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)


def _fwl_tables(plan: WithinPlan, M: jax.Array):
    """Per-level corrections of the FWL route: ``M~ = M - T[b] - sum_j tables_j[codes_j]``.

    ``T = Mbar - diag(1/n_g) C B`` (G_b, p) and ``tables_j = B`` rows of FE j's levels
    (zero for the reference level), with ``B = (S~'S~)^{-1}(S'M - C'Mbar)``. Only group
    sums over the n rows; every output is small.
    """
    G_b, L, p = plan.n_groups[0], plan.n_small, M.shape[1]
    inv_b = plan.inv_counts[0]
    sums = [jax.ops.segment_sum(M, c, G) for c, G in zip(plan.codes, plan.n_groups)]
    Mbar = sums[0] * inv_b[:, None]
    if L == 0:
        return Mbar, ()
    StM = jnp.zeros((L + 1, p), dtype=M.dtype)
    for j in range(1, len(plan.n_groups)):
        StM = StM.at[plan.small_cols[j - 1]].add(sums[j])  # row L gathers reference levels
    C = plan.C[:, :L] if plan.C is not None else None  # last column: reference levels
    if C is not None:
        CtMbar = C.T @ Mbar
    else:
        CtMbar = jax.ops.segment_sum(plan.pair_count[:, None] * Mbar[plan.pair_group], plan.pair_col, L)
    B = _chol_solve(plan.chol, StM[:L] - CtMbar)
    if C is not None:
        CB = C @ B
    else:
        CB = jax.ops.segment_sum(plan.pair_count[:, None] * B[plan.pair_col], plan.pair_group, G_b)
    Bpad = jnp.concatenate([B, jnp.zeros((1, p), dtype=M.dtype)])
    tables = tuple(Bpad[plan.small_cols[j - 1]] for j in range(1, len(plan.n_groups)))
    return Mbar - CB * inv_b[:, None], tables


_fwl_tables_jit = jax.jit(_fwl_tables)


def _apply_fwl(plan: WithinPlan, M: jax.Array) -> jax.Array:
    T, tables = _fwl_tables(plan, M)
    out = M - T[plan.codes[0]]
    for j, table in enumerate(tables, start=1):
        out = out - table[plan.codes[j]]
    return out


def _sweep(x, plan: WithinPlan):
    for c, inv, G in zip(plan.codes, plan.inv_counts, plan.n_groups):
        x = _demean(x, c, inv, G)
    return x


def _apply_map(plan: WithinPlan, M: jax.Array, tol, maxiter: int, accelerate: bool):
    """Alternating projections with Irons–Tuck extrapolation.

    With T one sweep ``(I-P_m)...(I-P_1)``, from x: x1 = T x, x2 = T x1,
    d1 = x2 - x1, d2 = x2 - 2 x1 + x, and per column
    ``x <- x2 - (<d1, d2> / <d2, d2>) d1`` (Irons & Tuck 1969). Every iterate stays in
    ``M + span(D)``, so the fixed point is still the exact residual. Stops when the largest
    change of the last sweep is at most ``tol * scale`` in every column, scale being the
    column's largest absolute value (1 for an all-zero column).
    """
    scale = jnp.max(jnp.abs(M), axis=0)
    scale = jnp.where(scale > 0, scale, 1.0)

    def cond(state):
        _, it, err = state
        return (err > tol) & (it < maxiter)

    def body(state):
        x, it, _ = state
        x1 = _sweep(x, plan)
        x2 = _sweep(x1, plan)
        d1 = x2 - x1
        err = jnp.max(jnp.max(jnp.abs(d1), axis=0) / scale)
        if accelerate:
            d2 = d1 - (x1 - x)
            num = jnp.sum(d1 * d2, axis=0)
            den = jnp.sum(d2 * d2, axis=0)
            alpha = jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)
            x2 = x2 - alpha[None, :] * d1
        return x2, it + 2, err

    x, it, err = jax.lax.while_loop(cond, body, (M, jnp.asarray(0), jnp.asarray(jnp.inf)))
    # End on a plain sweep, so the result is a projection iterate rather than an extrapolate.
    x_last = _sweep(x, plan)
    err = jnp.maximum(err, jnp.max(jnp.max(jnp.abs(x_last - x), axis=0) / scale))
    return x_last, it + 1, err <= tol


def apply_plan_jax(plan: WithinPlan, M: jax.Array, tol=1e-12, maxiter: int = 10_000, accelerate: bool = True):
    """Traceable core: ``(M~, sweeps, converged)`` as JAX values; ``M`` (n, p) float64."""
    if plan.method == "none":
        return M, jnp.asarray(0), jnp.asarray(True)
    if plan.method == "demean":
        return _demean(M, plan.codes[0], plan.inv_counts[0], plan.n_groups[0]), jnp.asarray(0), jnp.asarray(True)
    if plan.method == "fwl":
        return _apply_fwl(plan, M), jnp.asarray(0), jnp.asarray(True)
    return _apply_map(plan, M, tol, maxiter, accelerate)


_apply_jit = jax.jit(apply_plan_jax, static_argnames=("maxiter", "accelerate"))


# ---------------------------------------------------------------------------------------
# Applying an exact plan on the host
# ---------------------------------------------------------------------------------------
#
# On CPU, the cost of a one-pass exact transform is dominated not by arithmetic but by
# fresh (n, p) output buffers: XLA's are faulted in 4 KiB pages (~25 ms for 37 MB in a
# VM), NumPy advises huge pages for large arrays (~5 ms). So the exact routes run the
# group sums in JAX (small outputs, reading the aligned input without a copy) and write the
# result in place with NumPy. Same equations as ``_apply_fwl``; the two are tested equal.


def _apply_exact_host(plan: WithinPlan, M: np.ndarray) -> np.ndarray:
    """In-place exact route (``"demean"`` or ``"fwl"``) on an aligned float64 ``M`` (n, p)."""
    T, tables = _fwl_tables_jit(plan, M)
    # One scratch block for every gather; take(out=, mode="clip") writes it without
    # take's intermediate buffering (codes are in range by construction).
    tmp = aligned_empty(M.shape)
    np.take(np.asarray(T), np.asarray(plan.codes[0]), axis=0, out=tmp, mode="clip")
    M -= tmp
    for j, table in enumerate(tables, start=1):
        np.take(np.asarray(table), np.asarray(plan.codes[j]), axis=0, out=tmp, mode="clip")
        M -= tmp
    return M


def apply_plan(
    plan: WithinPlan,
    M,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    accelerate: bool = True,
    overwrite: bool = False,
) -> tuple[np.ndarray, int, bool]:
    """Apply a :class:`WithinPlan` to ``M`` (n, p): ``(M~, sweeps, converged)``.

    ``M~`` is a NumPy array. With ``overwrite=True`` and an aligned C-ordered float64
    ``M`` (see :func:`aligned_empty`) the exact routes write into ``M`` itself.
    """
    if plan.method == "none":
        return (np.asarray(M, dtype=np.float64) if overwrite else np.array(M, dtype=np.float64)), 0, True
    if plan.method in ("demean", "fwl"):
        M = np.asarray(M, dtype=np.float64)
        if not overwrite:
            buf = aligned_empty(M.shape)
            buf[...] = M
            M = buf
        else:
            M = as_aligned(M)
        return _apply_exact_host(plan, M), 0, True
    Mj = as_aligned(np.asarray(M, np.float64)) if isinstance(M, np.ndarray) else jnp.asarray(M, jnp.float64)
    Mt, it, ok = _apply_jit(plan, Mj, tol, maxiter, accelerate)
    return np.asarray(Mt), int(it), bool(ok)


def within_transform(
    M: np.ndarray,
    fe: np.ndarray,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    accelerate: bool = True,
    max_small_levels: int = FWL_MAX_SMALL_LEVELS,
) -> tuple[np.ndarray, int, bool]:
    """Residuals of ``M`` (n, p) (or (n,)) on all FE dummies of ``fe`` (n, m).

    Returns ``(M~, sweeps, converged)``: ``sweeps`` is 0 for the exact routes (m <= 1, or
    one big FE plus small ones — see the module docstring), otherwise the number of
    alternating-projection sweeps. ``m == 0`` returns ``M`` unchanged (an intercept, if
    any, is the caller's business).
    """
    require_x64()
    M = np.asarray(M, dtype=np.float64)
    squeeze = M.ndim == 1
    M2 = M[:, None] if squeeze else M
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.shape[0] != M2.shape[0]:
        raise ValueError(f"M has {M2.shape[0]} rows but fe has {fe.shape[0]}")
    if fe.shape[1] == 0:
        return M.copy(), 0, True
    plan = make_plan(fe, max_small_levels=max_small_levels)
    out, sweeps, ok = apply_plan(plan, M2, tol=tol, maxiter=maxiter, accelerate=accelerate)
    out = np.asarray(out)
    return (out[:, 0] if squeeze else out), sweeps, ok


def fe_group_counts(fe: np.ndarray) -> tuple[np.ndarray, ...]:
    """Group sizes per FE dimension: a tuple of m int64 arrays (``np.bincount`` of each column)."""
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    return tuple(np.bincount(fe[:, j]) for j in range(fe.shape[1]))
