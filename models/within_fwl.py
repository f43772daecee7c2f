"""The exact Frisch–Waugh–Lovell route of the within transform: one big FE plus small ones.

One FE ``b`` with many levels plus FEs whose levels total ``L`` (one level per dimension
dropped). With ``S`` (n, L) the small FEs' dummies, ``P_b`` the projection on the big FE,
``S~ = (I - P_b) S`` and ``C = D_b'S`` (G_b, L) the co-occurrence counts::

    S~'S~ = S'S - C' diag(1/n_g) C                     (L, L), built once per structure
    R     = S~'M = S'M - C' Mbar,   Mbar = diag(1/n_g) D_b'M  (big-FE group means)
    B     = (S~'S~)^{-1} R                              (Cholesky)
    M~    = (I - P_b) M - S~ B
          = M - (Mbar - diag(1/n_g) C B)[b] - S B

so a pass needs one group sum and one gather over (n, p) per FE dimension — no dense
(n, L) matrix. ``C`` is held dense when ``G_b (L + 1)`` is small next to the data (at most
:data:`FWL_DENSE_MAX_ELEMENTS` or :data:`FWL_DENSE_PER_ROW` per row), otherwise as its
non-zero (group, column, count) triplets, built in O(n) by a CSR conversion. Small-FE levels
nested in the big FE (zero or redundant columns of ``S~``) are dropped by the pivoted
Cholesky of :mod:`tradeq.models.collinear`, in column order.

On the host the group sums run in JAX (small outputs, reading the aligned input without a
copy) and the gathers run in NumPy over blocks of :data:`CHUNK_ROWS` rows, subtracting every
dimension's correction while the block is in cache: the output is written once, and no
(n, p) scratch array is needed. :func:`apply_fwl_jax` is the same equations in JAX (jit,
vmap); the two are tested equal.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .aligned import aligned_empty, as_aligned
from .collinear import cholesky_collinear

#: Dense co-occurrence counts whenever ``G_big * (L + 1)`` is at most this (16.7M float64 =
#: 134 MB) ...
FWL_DENSE_MAX_ELEMENTS = 1 << 24
#: ... or at most this many per data row (half the memory of an (n, 8) float64 block).
FWL_DENSE_PER_ROW = 4

#: Within share below which a small-FE column is redundant given the big FE and the
#: earlier columns (counts are integers: redundant columns leave rounding, ~1e-15).
FWL_COLLIN_TOL = 1e-9

#: Rows per block of the host gathers: 8192 x 8 float64 = 512 KiB stays in L2.
CHUNK_ROWS = 8192


def _small_columns(counts_small: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Per small dimension, (G_j,) int32 level -> column of ``S``, and ``L``.

    The first non-empty level of each dimension is its reference (its dummy is in the span
    of the big FE plus the other levels); the other non-empty levels get consecutive
    columns. The reference and empty levels map to ``L``, a column that does not exist.
    """
    L = sum(max(int(np.count_nonzero(c)) - 1, 0) for c in counts_small)
    cols, offset = [], 0
    for cnt in counts_small:
        col = np.full(cnt.size, L, dtype=np.int32)
        levels = np.flatnonzero(cnt > 0)[1:]
        col[levels] = np.arange(offset, offset + levels.size, dtype=np.int32)
        cols.append(col)
        offset += levels.size
    return cols, L


def _dense_cooccurrence(big: np.ndarray, G: int, small, level_cols, L: int) -> np.ndarray:
    """``C`` as an aligned dense (G, L + 1) float64 array (last column: reference levels).

    Keys ``group * (L + 1) + column`` in int64 (bincount converts anything else to intp
    first); temporaries are freed before the next one is made."""
    total = None
    for codes, lc in zip(small, level_cols):
        key = np.multiply(big, np.int64(L + 1), dtype=np.int64)
        key += lc[codes]
        part = np.bincount(key, minlength=G * (L + 1))
        del key
        total = part if total is None else np.add(total, part, out=total)
    counts = aligned_empty((G, L + 1))
    counts.reshape(-1)[...] = total
    return counts


def _sparse_cooccurrence(big: np.ndarray, G: int, small, level_cols, L: int):
    """``C`` as a CSR matrix (G, L): the COO -> CSR conversion sums duplicate pairs in
    O(n + G) (a counting sort by row, then per-row sorts of a few entries)."""
    import scipy.sparse as sp

    row_cols = [lc[c] for lc, c in zip(level_cols, small)]
    rows = np.concatenate([big[c < L] for c in row_cols])
    cols = np.concatenate([c[c < L] for c in row_cols])
    del row_cols
    C = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(G, L))
    C.sum_duplicates()
    return C


def _weighted_gram(C: np.ndarray, w: np.ndarray, block: int = 65536) -> np.ndarray:
    """``C' diag(w) C`` for a tall (G, L + 1) ``C``, by blocks of groups: each block's ``C w``
    stays in cache instead of a (G, L + 1) temporary."""
    out = np.zeros((C.shape[1], C.shape[1]))
    for s in range(0, C.shape[0], block):
        Cb = C[s : s + block]
        out += Cb.T @ (Cb * w[s : s + block, None])
    return out


def _small_gram(small, counts_small, level_cols, L: int) -> np.ndarray:
    """``S'S`` (L, L): on the diagonal blocks (a dimension with itself) the level counts; off
    them, rows with column a on in one small dimension and column b in another (a pass
    over the rows only for pairs of small dimensions, i.e. m >= 3)."""
    out = np.zeros((L + 1, L + 1))
    diag = np.zeros(L + 1)
    for lc, cnt in zip(level_cols, counts_small):
        np.add.at(diag, lc, cnt)
    out[np.diag_indices(L + 1)] = diag
    for i in range(len(small)):
        for j in range(i + 1, len(small)):
            key = np.multiply(level_cols[i][small[i]], np.int64(L + 1), dtype=np.int64)
            key += level_cols[j][small[j]]
            cross = np.bincount(key, minlength=(L + 1) ** 2).reshape(L + 1, L + 1)
            out += cross + cross.T
    return out[:L, :L]


def projected_small_gram(codes, counts, inv_big):
    """The pieces of the FWL route before any column is dropped.

    ``codes``/``counts``: per dimension, the big one first. Returns ``(level_cols, L, StS,
    gram, C_dense, C_sparse)`` with ``gram = S~'S~`` (L, L) and exactly one of the two
    forms of ``C`` set.
    """
    big, G, small = codes[0], int(counts[0].size), list(codes[1:])
    level_cols, L = _small_columns(list(counts[1:]))
    StS = _small_gram(small, list(counts[1:]), level_cols, L)
    if G * (L + 1) <= max(FWL_DENSE_MAX_ELEMENTS, FWL_DENSE_PER_ROW * big.size):
        C_dense = _dense_cooccurrence(big, G, small, level_cols, L)
        CtC = _weighted_gram(C_dense, inv_big)[:L, :L]
        return level_cols, L, StS, StS - CtC, C_dense, None
    C_sparse = _sparse_cooccurrence(big, G, small, level_cols, L)
    Cs = C_sparse.multiply(np.sqrt(inv_big)[:, None]).tocsr()
    CtC = (Cs.T @ Cs).toarray() if L else np.zeros((0, 0))
    return level_cols, L, StS, StS - CtC, None, C_sparse


def fwl_structure(codes, counts, inv_big) -> dict:
    """The FWL fields of a :class:`~tradeq.models.within_plan.WithinPlan`.

    ``codes`` (aligned int32 (n,) per dimension), ``counts`` (G_j,) rows per level and
    ``inv_big`` the big dimension's inverse counts; the big dimension first.
    """
    level_cols, L, StS, gram, C_dense, C_sparse = projected_small_gram(codes, counts, inv_big)
    # Small-FE levels (or combinations) nested in the big FE — a region FE for firms that
    # never move — give zero or redundant columns of S~: keep a maximal independent set in
    # column order so the Cholesky solve stays exact.
    drop = cholesky_collinear(gram, tol=FWL_COLLIN_TOL, reference=np.diag(StS)) if L else np.zeros(0, bool)
    kept = np.flatnonzero(~drop)
    Lk = int(kept.size)
    remap = np.full(L + 1, Lk, dtype=np.int32)
    remap[kept] = np.arange(Lk, dtype=np.int32)
    chol = np.linalg.cholesky(gram[np.ix_(kept, kept)]) if Lk else np.zeros((0, 0))
    out = dict(small_cols=tuple(as_aligned(remap[lc], np.int32) for lc in level_cols), chol=as_aligned(chol), n_small=Lk)
    if C_dense is not None:
        out["C"] = C_dense if Lk == L else as_aligned(C_dense[:, np.append(kept, L)])
    else:
        group = np.repeat(np.arange(C_sparse.shape[0], dtype=np.int32), np.diff(C_sparse.indptr))
        col = remap[C_sparse.indices]
        ok = col < Lk
        out.update(pair_group=as_aligned(group[ok]), pair_col=as_aligned(col[ok]),
                   pair_count=as_aligned(C_sparse.data[ok].astype(np.float64)))
    return out


# ---------------------------------------------------------------------------------------
# Applying the route
# ---------------------------------------------------------------------------------------


def _chol_solve(chol: jax.Array, R: jax.Array) -> jax.Array:
    z = jax.scipy.linalg.solve_triangular(chol, R, lower=True)
    return jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)


def fwl_tables(plan, M: jax.Array):
    """Per-level corrections: ``M~ = M - T[b] - sum_j tables_j[codes_j]`` (traceable).

    ``T = Mbar - diag(1/n_g) C B`` (G_b, p) and ``tables_j = B`` rows of FE j's levels
    (zero for the reference level), with ``B = (S~'S~)^{-1}(S'M - C'Mbar)``. Only group
    sums over the n rows; every output is small. Also the one-way route (no small FEs).
    """
    G_b, L, p = plan.n_groups[0], plan.n_small, M.shape[1]
    inv_b = plan.inv_counts[0]
    Mbar = jax.ops.segment_sum(M, plan.codes[0], G_b) * inv_b[:, None]
    if L == 0:
        return Mbar, ()
    StM = jnp.zeros((L + 1, p), dtype=M.dtype)
    for j in range(1, len(plan.n_groups)):  # row L gathers reference and empty levels
        StM = StM.at[plan.small_cols[j - 1]].add(jax.ops.segment_sum(M, plan.codes[j], plan.n_groups[j]))
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


fwl_tables_jit = jax.jit(fwl_tables)


def apply_fwl_jax(plan, M: jax.Array) -> jax.Array:
    """The exact routes (``"demean"``, ``"fwl"``) in JAX; ``M`` (n, p) -> (n, p)."""
    T, tables = fwl_tables(plan, M)
    out = M - T[plan.codes[0]]
    for j, table in enumerate(tables, start=1):
        out = out - table[plan.codes[j]]
    return out


def exact_tables(plan, M: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The per-level corrections of :func:`fwl_tables` as host arrays, with the codes that
    index them: ``M~ = M - sum_j tables[j][codes[j]]`` (dimensions without a correction
    are left out). ``M``: aligned C-ordered float64 (n, p), read by JAX without a copy."""
    T, tables = fwl_tables_jit(plan, M)
    tabs = [np.asarray(T)] + [np.asarray(t) for t in tables]
    return tabs, [np.asarray(c) for c in plan.codes[: len(tabs)]]


def subtract_tables(M: np.ndarray, tables, codes, out: np.ndarray) -> np.ndarray:
    """``out = M - sum_j tables[j][codes[j]]`` (``out`` may be ``M``), block by block: each
    correction is gathered into a cache-sized buffer and subtracted while the block is in
    cache (take(out=, mode="clip") skips take's own buffering; codes are in range by
    construction)."""
    n, p = M.shape
    buf = np.empty((min(CHUNK_ROWS, n), p))
    for s in range(0, n, CHUNK_ROWS):
        e = min(s + CHUNK_ROWS, n)
        b, o = buf[: e - s], out[s:e]
        np.take(tables[0], codes[0][s:e], axis=0, out=b, mode="clip")
        np.subtract(M[s:e], b, out=o)
        for tab, c in zip(tables[1:], codes[1:]):
            np.take(tab, c[s:e], axis=0, out=b, mode="clip")
            np.subtract(o, b, out=o)
    return out


def apply_exact_host(plan, M: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Exact route on the host: writes ``M~`` into ``out`` (may be ``M`` itself)."""
    tables, codes = exact_tables(plan, M)
    return subtract_tables(M, tables, codes, out)
