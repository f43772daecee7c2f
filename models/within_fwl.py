"""The exact Frisch–Waugh–Lovell route of the within transform: one big FE plus small ones.

One FE ``b`` with many levels (G_b) plus FEs with few (``K`` levels in all). With ``S``
(n, K) the small FEs' level dummies, ``P_b`` the projection on the big FE, ``S~ = (I - P_b) S``,
``S0 = D_b'M`` (G_b, p) the big-FE group sums, ``C = D_b'S`` (G_b, K) the co-occurrence counts
and ``Cw = diag(1/n_g) C``::

    S~'S~ = S'S - C' Cw                                 (K, K), built once per structure
    R     = S~'M = S'M - Cw' S0
    B     = (S~'S~)^+ R       (Cholesky on a maximal independent set of columns, 0 elsewhere)
    M~    = (I - P_b) M - S~ B
          = M - (diag(1/n_g) S0 - Cw B)[b] - S B

so a pass needs one group sum and one gather over (n, p) per FE dimension — no dense
(n, K) matrix. ``S~`` has dependent columns by construction (in every small dimension the
level dummies sum to a vector in the span of ``D_b``) and zero ones (levels nested in the
big FE, empty levels): the pivoted Cholesky of :mod:`tradeq.models.collinear` keeps a
maximal independent set in column order, which spans the same space, so the result is the
exact projection. ``Cw`` is held dense when ``G_b K`` is small next to the data (at most
:data:`FWL_DENSE_MAX_ELEMENTS`, or :data:`FWL_DENSE_PER_ROW` per row), otherwise as its
non-zero (group, level, weight) triplets, built in O(n) by a CSR conversion.

On the host (:func:`exact_tables`, :func:`subtract_tables`) the group sums and the
(G_b, p) table ``diag(1/n_g) S0 - Cw B`` are computed in JAX (reading the aligned input
without a copy), and the gathers run in NumPy over blocks of :data:`CHUNK_ROWS` rows, subtracting every dimension's correction while the block is in
cache: the output is written once, and no (n, p) scratch array is needed.
:func:`apply_fwl_jax` is the same equations in JAX (jit, vmap); the two are tested equal.
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


def _offsets(counts_small) -> np.ndarray:
    """Start of each small dimension's levels among the K columns of ``S``."""
    return np.concatenate([[0], np.cumsum([c.size for c in counts_small])]).astype(np.int64)


def _dense_cooccurrence(big: np.ndarray, G: int, small, offsets, K: int) -> np.ndarray:
    """``C`` (G, K) as an aligned dense float64 array.

    Keys ``group * K + offset_j + level`` in int64 (bincount converts anything else to intp
    first); each temporary is freed before the next one is made."""
    total = None
    for codes, off in zip(small, offsets):
        key = np.multiply(big, np.int64(K), dtype=np.int64)
        key += codes
        if off:
            key += off
        part = np.bincount(key, minlength=G * K)
        del key
        total = part if total is None else np.add(total, part, out=total)
    counts = aligned_empty((G, K))
    counts.reshape(-1)[...] = total
    return counts


def _sparse_cooccurrence(big: np.ndarray, G: int, small, offsets, K: int):
    """``C`` as a CSR matrix (G, K): the COO -> CSR conversion sums duplicate pairs in
    O(n + G) (a counting sort by row, then per-row sorts of a few entries)."""
    import scipy.sparse as sp

    rows = np.concatenate([big] * len(small))
    cols = np.concatenate([c.astype(np.int64) + off for c, off in zip(small, offsets)])
    C = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(G, K))
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


def _small_gram(small, counts_small, offsets, K: int) -> np.ndarray:
    """``S'S`` (K, K): on the diagonal blocks (a dimension with itself) the level counts; off
    them, rows with level a in one small dimension and level b in another (a pass over the
    rows only for pairs of small dimensions, i.e. m >= 3)."""
    out = np.diag(np.concatenate([np.asarray(c, dtype=np.float64) for c in counts_small]))
    for i in range(len(small)):
        for j in range(i + 1, len(small)):
            Gi, Gj = counts_small[i].size, counts_small[j].size
            key = np.multiply(small[i], np.int64(Gj), dtype=np.int64)
            key += small[j]
            cross = np.bincount(key, minlength=Gi * Gj).reshape(Gi, Gj)
            out[offsets[i] : offsets[i] + Gi, offsets[j] : offsets[j] + Gj] += cross
            out[offsets[j] : offsets[j] + Gj, offsets[i] : offsets[i] + Gi] += cross.T
    return out


def projected_small_gram(codes, counts, inv_big):
    """The pieces of the FWL route before any column is dropped.

    ``codes``/``counts``: per dimension, the big one first (rows in empty levels must be in
    the empty level of every dimension). Returns ``(K, StS, gram, C_dense, C_sparse)`` with
    ``gram = S~'S~`` (K, K) and exactly one of the two forms of the co-occurrence counts
    ``C`` set.
    """
    big, G, small = codes[0], int(counts[0].size), list(codes[1:])
    offsets = _offsets(counts[1:])
    K = int(offsets[-1])
    StS = _small_gram(small, list(counts[1:]), offsets, K)
    if G * K <= max(FWL_DENSE_MAX_ELEMENTS, FWL_DENSE_PER_ROW * big.size):
        C_dense = _dense_cooccurrence(big, G, small, offsets, K)
        return K, StS, StS - _weighted_gram(C_dense, inv_big), C_dense, None
    C_sparse = _sparse_cooccurrence(big, G, small, offsets, K)
    Cs = C_sparse.multiply(np.sqrt(inv_big)[:, None]).tocsr()
    return K, StS, StS - (Cs.T @ Cs).toarray(), None, C_sparse


def fwl_structure(codes, counts, inv_big) -> dict:
    """The FWL fields of a :class:`~tradeq.models.within_plan.WithinPlan`.

    ``codes`` (aligned int32 (n,) per dimension), ``counts`` (G_j,) rows per level and
    ``inv_big`` the big dimension's inverse counts; the big dimension first.
    """
    K, StS, gram, C_dense, C_sparse = projected_small_gram(codes, counts, inv_big)
    drop = cholesky_collinear(gram, tol=FWL_COLLIN_TOL, reference=np.diag(StS)) if K else np.zeros(0, bool)
    kept = np.flatnonzero(~drop).astype(np.int32)
    chol = np.linalg.cholesky(gram[np.ix_(kept, kept)]) if kept.size else np.zeros((0, 0))
    out = dict(kept=as_aligned(kept), chol=as_aligned(chol), n_small=int(kept.size))
    if C_dense is not None:
        C_dense *= inv_big[:, None]  # Cw, in place
        out["Cw"] = C_dense
    else:
        group = np.repeat(np.arange(C_sparse.shape[0], dtype=np.int32), np.diff(C_sparse.indptr))
        out.update(pair_group=as_aligned(group), pair_level=as_aligned(C_sparse.indices.astype(np.int32)),
                   pair_weight=as_aligned(C_sparse.data * inv_big[group]))
    return out


# ---------------------------------------------------------------------------------------
# Applying the route
# ---------------------------------------------------------------------------------------


def _chol_solve(chol: jax.Array, R: jax.Array) -> jax.Array:
    z = jax.scipy.linalg.solve_triangular(chol, R, lower=True)
    return jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)


def _n_levels(plan) -> int:
    return int(sum(plan.n_groups[1:]))


def fwl_solve(plan, M: jax.Array):
    """``(S0, B)`` (traceable): the big-FE group sums (G_b, p) and the small FEs' level
    coefficients B (K, p) (None without small FEs), with ``B = (S~'S~)^+ (S'M - Cw' S0)``."""
    S0 = jax.ops.segment_sum(M, plan.codes[0], plan.n_groups[0])
    if plan.n_small == 0:
        return S0, None
    StM = jnp.concatenate([jax.ops.segment_sum(M, c, G) for c, G in zip(plan.codes[1:], plan.n_groups[1:])])
    if plan.Cw is not None:
        CtS0 = plan.Cw.T @ S0
    else:
        CtS0 = jax.ops.segment_sum(plan.pair_weight[:, None] * S0[plan.pair_group], plan.pair_level, _n_levels(plan))
    Bk = _chol_solve(plan.chol, (StM - CtS0)[plan.kept])
    return S0, jnp.zeros((_n_levels(plan), M.shape[1]), dtype=M.dtype).at[plan.kept].set(Bk)


def _level_tables(plan, B):
    """Per small dimension, the (G_j, p) rows of B for its levels."""
    offsets = np.concatenate([[0], np.cumsum(plan.n_groups[1:])])
    return [B[offsets[j] : offsets[j + 1]] for j in range(len(plan.n_groups) - 1)]


def fwl_tables(plan, M: jax.Array):
    """Per-level corrections: ``M~ = M - T[b] - sum_j tables_j[codes_j]`` (traceable).

    ``T = diag(1/n_g) S0 - Cw B`` (G_b, p) and ``tables_j`` the rows of B of FE j's levels.
    Only group sums over the n rows; every output is small. Also the one-way route.
    """
    S0, B = fwl_solve(plan, M)
    T = S0 * plan.inv_counts[0][:, None]
    if B is None:
        return T, ()
    if plan.Cw is not None:
        CB = plan.Cw @ B
    else:
        CB = jax.ops.segment_sum(plan.pair_weight[:, None] * B[plan.pair_level], plan.pair_group, plan.n_groups[0])
    return T - CB, tuple(_level_tables(plan, B))


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
    are left out). ``M``: aligned C-ordered float64 (n, p), read by JAX without a copy.
    The products with ``Cw`` stay in XLA: a NumPy/OpenBLAS product this tall spins its
    threads, which on a busy machine costs more than it saves."""
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
