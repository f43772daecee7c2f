"""The rank of the fixed-effect dummy matrix ``D = [D_1 | ... | D_m]``.

The number of FE parameters a fit really absorbs (for the Bayesian ``n_eff = n - rank(D)``,
and as a check on degrees of freedom), computed without forming the (n, sum G_j) matrix:

* m = 1: the levels present, ``G_1``.
* m = 2: ``G_1 + G_2 - c``, c the connected components of the bipartite graph whose nodes
  are the levels and whose edges are the rows (Abowd, Creecy & Kramarz 2002; each
  component carries one redundant direction: its two dimensions' dummies sum to the same
  indicator).
* m >= 3: Frisch–Waugh–Lovell, ``rank(D) = rank(D_b) + rank((I - P_b) S)`` with ``b`` the
  dimension with most levels and ``S`` the other dimensions' level dummies (K columns).
  ``rank((I - P_b) S)`` is the rank of the small (K, K) cross-product
  ``S~'S~ = S'S - C' diag(1/n_g) C`` that the exact route of the within transform builds
  (:func:`tradeq.models.within_fwl.projected_small_gram`): columns whose projected sum of
  squares is below :data:`FE_RANK_RTOL` of their count are absorbed by ``D_b``; the others
  are standardised to a unit diagonal and the eigenvalues above :data:`FE_RANK_RTOL` times
  the largest are counted. The smallest non-zero eigenvalue of a connected FE graph is of
  order 1/L^2 (a chain), far above the tolerance for any L handled here.
* Fallback, L > ``max_levels`` (the eigen-decomposition is O(L^3)): the upper bound
  ``rank(D_1, D_2) + sum_{j>=3} (G_j - c(1, j))`` — the two largest dimensions exactly by
  components, each further dimension adding at most its levels less the components of its
  graph with the largest (``rank((I - P_A) D_j) <= rank((I - P_1) D_j)`` for ``A ⊇ D_1``).
  Exact when the further dimensions add no cross-dimension redundancy; a warning says it is
  a bound.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .aligned import as_aligned
from .within_fwl import projected_small_gram
from .within_plan import dense_codes, inverse_counts

#: Relative tolerance for absorbed columns and for eigenvalues of the standardised S~'S~.
FE_RANK_RTOL = 1e-9
#: Largest L (levels of the non-largest dimensions, less one per dimension) for the exact
#: eigenvalue route.
FE_RANK_MAX_LEVELS = 2000


def _components(a: np.ndarray, n_a: int, b: np.ndarray, n_b: int) -> int:
    graph = coo_matrix((np.ones(a.size), (a, n_a + b)), shape=(n_a + n_b, n_a + n_b))
    return int(connected_components(graph, directed=False)[0])


def _rank_projected(codes: list[np.ndarray], counts: list[np.ndarray]) -> int:
    """``rank((I - P_b) S)`` for dense codes, the big dimension first."""
    inv_big = inverse_counts(counts[0])
    K, StS, gram, _, _ = projected_small_gram([as_aligned(c, np.int32) for c in codes], counts, inv_big)
    if K == 0:
        return 0
    d = np.diag(gram)
    live = d > FE_RANK_RTOL * np.diag(StS)
    if not live.any():
        return 0
    s = 1.0 / np.sqrt(d[live])
    std = gram[np.ix_(live, live)] * s[:, None] * s[None, :]
    lam = scipy.linalg.eigvalsh(0.5 * (std + std.T))
    return int(np.count_nonzero(lam > FE_RANK_RTOL * lam[-1]))


def fe_rank(fe: np.ndarray, *, max_levels: int = FE_RANK_MAX_LEVELS) -> int:
    """Rank of the dummy matrix of FE codes ``fe`` (n, m) (integers, gaps allowed).

    m = 0 gives 0 (no columns). See the module docstring for the method per m and the
    fallback (an upper bound, with a warning) when the non-largest dimensions have more than
    ``max_levels`` levels in total.
    """
    fe = np.asarray(fe)
    if fe.ndim == 1:
        fe = fe[:, None]
    if fe.ndim != 2:
        raise ValueError(f"fe must be (n, m); got shape {fe.shape}")
    if not np.issubdtype(fe.dtype, np.integer):
        raise ValueError(f"FE codes must be integers; got {fe.dtype}")
    n, m = fe.shape
    if m == 0 or n == 0:
        return 0
    dims = [dense_codes(fe[:, j]) for j in range(m)]
    order = sorted(range(m), key=lambda j: -dims[j][1].size)
    codes = [dims[j][0] for j in order]
    counts = [dims[j][1] for j in order]
    G = [c.size for c in counts]
    if m == 1:
        return G[0]
    if m == 2:
        return G[0] + G[1] - _components(codes[0], G[0], codes[1], G[1])
    L = sum(g - 1 for g in G[1:])
    if L <= max_levels:
        return G[0] + _rank_projected(codes, counts)
    warnings.warn(
        f"fe_rank: the non-largest FE dimensions have {L} levels (> max_levels={max_levels}); "
        "returning an upper bound on the rank", stacklevel=2,
    )
    bound = G[0] + G[1] - _components(codes[0], G[0], codes[1], G[1])
    for j in range(2, m):
        bound += G[j] - _components(codes[0], G[0], codes[j], G[j])
    return int(bound)
