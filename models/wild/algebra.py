"""The "fast and wild" algebra: bootstrap t statistics from cluster-level pieces.

Roodman, MacKinnon, Nielsen & Webb (2019), "Fast and wild: Bootstrap inference in Stata
using boottest", Stata Journal 19(1), 4-60, sections 3-5; the same decomposition as
``fwildclusterboot``'s ``boot_algo_fastnwild``. Notation: B = (X'X)^{-1}, hypothesis
``R b = r`` with R (k,), ``a = B R'`` (k,), ``Ra = R B R'``; cluster blocks
``X_g'X_g``, ``X_g'y_g`` (:mod:`tradeq.models.crv3`); weights ``v`` (G,) per draw.

Bootstrap DGP ``y* = X b~ + u~ (.) v`` with ``(b~, u~)`` the restricted (WCR: ``R b~ = r``)
or unrestricted (WCU: ``b~ = b``) estimates. With cluster scores ``s_g = X_g'u~_g``:

    b* - b~ = B S'v,                 S (G, k) the rows s_g'
    numerator  R b* - R b~ = (S a)'v
    CRV1: a'X_h'u*_h = (a's_h) v_h - (B X_h'X_h a)' S'v   for each cluster h,
    t* = numerator / sqrt(c sum_h (a'X_h'u*_h)^2)

(Liang–Zeger CRV1 of each bootstrap sample, c its small-sample factor), so a draw costs
O(G k), not O(n). Under WCR the restricted estimate is linear in r:

    b~ = b - a lambda,   lambda = (R b - r) / Ra,   s_g = s^_g + lambda X_g'X_g a

with ``s^_g`` the scores at the OLS residuals. Every cluster-level quantity is then
``P0 + lambda P1``; a chunk of draws is reduced to five numbers per draw — the numerator
``n0 + lambda n1`` and the denominator ``d00 + 2 lambda d01 + lambda^2 d11`` — and p(r)
for any r needs no further pass over the draws (test inversion, :mod:`.ci`).

CRV3 denominators (MacKinnon, Nielsen & Webb 2023, JAE): with ``W_g = (X'X - X_g'X_g)^{-1} R'``
the leave-one-cluster-out estimate of a bootstrap sample satisfies

    R (b*_(g) - b*) = (W_g - a)' S'v - (W_g's_g) v_g

the same form as CRV1 with other coefficients; CRV3J centres the G terms at their mean;
c = (G-1)/G.

Every bootstrap term is ``Z = L (S'V) + diag(d) V`` for a (G, B) weight matrix V — CRV1:
rows of L ``-(B X_h'X_h a)'``, ``d = S a``; CRV3: rows ``(W_g - a)'``, ``d_g = -W_g's_g`` —
so one kernel (:func:`boot_moments`) serves all three variances.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from ..crv3 import ClusterBlocks, full_sample_solve, leave_one_out_solve
from .weights import WeightDraws

Variance = Literal["crv1", "crv3", "crv3j"]
VARIANCES: tuple[str, ...] = ("crv1", "crv3", "crv3j")

#: Elements of a (G, chunk) weight block; the kernel holds a few arrays of this size.
CHUNK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class HypothesisPieces:
    """Cluster-level pieces of the bootstrap for one hypothesis ``R b = r``.

    ``estimate`` R b, ``Ra`` R B R'. (G, k): ``S0`` OLS scores ``X_g'u^_g``, ``S1 = X_g'X_g a``
    (d scores / d lambda), ``L`` the map from ``S'v`` to the cluster terms. (G,): ``d0, d1``
    the diagonal terms, ``num0 = S0 a``, ``num1 = S1 a`` the numerator weights. ``scale``
    the variance factor c, ``center`` (CRV3J) whether the G terms are centred.
    """

    estimate: float
    Ra: float
    S0: np.ndarray
    S1: np.ndarray
    L: np.ndarray
    d0: np.ndarray
    d1: np.ndarray
    num0: np.ndarray
    num1: np.ndarray
    scale: float
    center: bool
    variance: str
    n_obs: int

    @property
    def G(self) -> int:
        return int(self.S0.shape[0])

    def lam(self, r) -> np.ndarray:
        """lambda(r) = (R b - r) / Ra: how far the restricted estimate moves along a."""
        return (self.estimate - np.asarray(r, dtype=float)) / self.Ra

    def original_terms(self) -> np.ndarray:
        """(G,) the cluster terms of the original sample (v = 1) at lambda = 0."""
        return self.L @ self.S0.sum(axis=0) + self.d0

    def se(self) -> float:
        """Standard error of R b in the original sample (CRV1 or CRV3/CRV3J)."""
        z = self.original_terms()
        if self.center:
            z = z - z.mean()
        return float(np.sqrt(self.scale * (z @ z)))


def hypothesis_pieces(
    blocks: ClusterBlocks, R, *, variance: str = "crv1", ssc: float | None = None
) -> HypothesisPieces:
    """Pieces of :class:`HypothesisPieces` for ``R`` (k,) from the cluster blocks.

    ``ssc``: the CRV1 factor c (default ``G/(G-1) (N-1)/(N-k)``); ignored for CRV3, whose
    factor is (G-1)/G. CRV3 needs every ``X'X - X_g'X_g`` to be non-singular.
    """
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}; got {variance!r}")
    R = np.asarray(R, dtype=float).reshape(-1)
    G, k, N = blocks.G, blocks.k, blocks.n_obs
    if R.size != k:
        raise ValueError(f"R must have {k} entries (one per column of X); got {R.size}")
    b, B = full_sample_solve(blocks)
    a = B @ R
    Ra = float(R @ a)
    if not Ra > 0:
        raise ValueError("R must not be zero")
    S0 = blocks.Xy - np.einsum("gij,j->gi", blocks.XX, b)
    S1 = np.einsum("gij,j->gi", blocks.XX, a)
    num0, num1 = S0 @ a, S1 @ a
    if variance == "crv1":
        if ssc is None:
            if N <= k:
                raise ValueError(f"no residual degrees of freedom: N = {N}, k = {k}")
            ssc = G / (G - 1) * (N - 1) / (N - k)
        L, d0, d1, scale = -(S1 @ B), num0, num1, float(ssc)
    else:
        W, singular = leave_one_out_solve(blocks, lambda g: R[:, None])
        if singular.any():
            raise ValueError(
                f"CRV3 bootstrap: X'X - X_g'X_g is singular for cluster(s) {np.flatnonzero(singular).tolist()}"
            )
        W = W[:, :, 0]
        L = W - a[None, :]
        d0, d1, scale = -np.einsum("gi,gi->g", W, S0), -np.einsum("gi,gi->g", W, S1), (G - 1) / G
    return HypothesisPieces(
        estimate=float(R @ b), Ra=Ra, S0=S0, S1=S1, L=L, d0=d0, d1=d1, num0=num0, num1=num1,
        scale=float(scale), center=variance == "crv3j", variance=variance, n_obs=N,
    )


@dataclass(frozen=True)
class BootMoments:
    """Per draw (B,): numerator ``n0 + lambda n1`` and denominator
    ``d00 + 2 lambda d01 + lambda^2 d11`` (before the factor c)."""

    n0: np.ndarray
    n1: np.ndarray
    d00: np.ndarray
    d01: np.ndarray
    d11: np.ndarray

    @property
    def draws(self) -> int:
        return int(self.n0.size)


@partial(jax.jit, static_argnames=("center",))
def _chunk(V, L, S0, S1, d0, d1, num0, num1, *, center):
    """The five per-draw moments of a (G, m) weight block."""
    Z0 = L @ (S0.T @ V) + d0[:, None] * V
    Z1 = L @ (S1.T @ V) + d1[:, None] * V
    if center:
        Z0 = Z0 - Z0.mean(axis=0)
        Z1 = Z1 - Z1.mean(axis=0)
    return (num0 @ V, num1 @ V, jnp.sum(Z0 * Z0, axis=0), jnp.sum(Z0 * Z1, axis=0), jnp.sum(Z1 * Z1, axis=0))


def chunk_size_for(G: int, draws: int, chunk_size: int | None = None) -> int:
    """Draws per kernel call: ``chunk_size`` or as many as fit :data:`CHUNK_ELEMENTS`."""
    size = max(1, CHUNK_ELEMENTS // max(G, 1)) if chunk_size is None else int(chunk_size)
    if size < 1:
        raise ValueError(f"chunk_size must be positive; got {chunk_size}")
    return min(size, draws)


def boot_moments(pieces: HypothesisPieces, draws: WeightDraws) -> BootMoments:
    """:class:`BootMoments` over the weight chunks of ``draws`` (a fixed chunk size, the
    last chunk padded and trimmed, so one compiled kernel serves every chunk)."""
    if draws.G != pieces.G:
        raise ValueError(f"weights for {draws.G} clusters, data with {pieces.G}")
    args = (pieces.L, pieces.S0, pieces.S1, pieces.d0, pieces.d1, pieces.num0, pieces.num1)  # jit takes NumPy as is
    parts = []
    for start, V in draws.chunks():
        out = _chunk(V, *args, center=pieces.center)
        parts.append([np.asarray(o)[: min(draws.chunk, draws.draws - start)] for o in out])
    return BootMoments(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def t_boot(moments: BootMoments, lam: float, scale: float) -> np.ndarray:
    """(B,) bootstrap t statistics at ``lambda``; NaN where the bootstrap variance is not
    positive (a degenerate draw)."""
    num = moments.n0 + lam * moments.n1
    den = scale * (moments.d00 + 2.0 * lam * moments.d01 + lam * lam * moments.d11)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
