"""The wild cluster bootstrap test of one linear hypothesis ``R b = r``.

:func:`wild_test` is the entry point. The bootstrap statistics come from the cluster-level
algebra of :mod:`.algebra` (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild",
Stata Journal 19(1)); the weights from :mod:`.weights`; the p-values and their tie rule
from :mod:`.pvalues`; the confidence interval by test inversion from :mod:`.ci`.

Restricted (WCR, ``null="restricted"``, the default and the recommendation of MacKinnon,
Nielsen & Webb 2023) or unrestricted (WCU) bootstrap DGP; t statistics studentised by the
CRV1 variance of each bootstrap sample (boottest's default) or optionally by CRV3/CRV3J.
The statistic of the original sample uses the same variance:
``t = (R b - r) / se``, se the CRV1 (or CRV3) standard error of R b.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..crv3 import ClusterBlocks, cluster_blocks
from ..precision import require_x64
from .algebra import BootMoments, HypothesisPieces, boot_moments, chunk_size_for, hypothesis_pieces, t_boot
from .ci import invert_test
from .pvalues import bootstrap_pvalue, check_ptype, check_tie_rule
from .weights import FEW_CLUSTERS_WEBB, WeightDraws, check_weights, use_enumeration, weight_draws

NULLS = {"restricted": "restricted", "wcr": "restricted", "unrestricted": "unrestricted", "wcu": "unrestricted"}


def check_null(null: str) -> str:
    try:
        return NULLS[null]
    except KeyError:
        raise ValueError(f"null must be 'restricted' (WCR) or 'unrestricted' (WCU); got {null!r}") from None


@dataclass(frozen=True)
class WildDistribution:
    """The bootstrap distribution of one hypothesis ``R b = ·``, for every r at once.

    Holds the cluster pieces and the per-draw moments; ``t_boot(r)`` and ``pvalue(r)`` cost
    O(B) each (the same draws for every r), which is what test inversion needs.
    """

    pieces: HypothesisPieces
    moments: BootMoments
    null: str
    weights: str
    enumerated: bool
    reps: int

    @property
    def draws(self) -> int:
        return self.moments.draws

    @property
    def G(self) -> int:
        return self.pieces.G

    @property
    def estimate(self) -> float:
        return self.pieces.estimate

    @property
    def se(self) -> float:
        return self.pieces.se()

    def t_stat(self, r: float) -> float:
        return (self.pieces.estimate - float(r)) / self.se

    def t_boot(self, r: float) -> np.ndarray:
        lam = float(self.pieces.lam(r)) if self.null == "restricted" else 0.0
        return t_boot(self.moments, lam, self.pieces.scale)

    def pvalue(self, r: float, ptype: str = "symmetric", tie_rule: str = "strict"):
        """(p, n_ties, n_valid) of the test of ``R b = r``."""
        return bootstrap_pvalue(self.t_stat(r), self.t_boot(r), ptype, tie_rule)

    def note(self) -> str:
        if self.weights != "rademacher" or self.G > FEW_CLUSTERS_WEBB:
            return ""
        what = (
            f"all 2^{self.G} = {self.draws} Rademacher sign vectors enumerated (reps = {self.reps} >= 2^G)"
            if self.enumerated
            else f"Rademacher weights give only 2^{self.G} distinct draws"
        )
        return f"{what}; with G = {self.G} <= {FEW_CLUSTERS_WEBB} clusters p-values are coarse: consider weights='webb'"


def wild_distribution(
    blocks: ClusterBlocks,
    R,
    *,
    weights: str = "rademacher",
    reps: int = 9999,
    null: str = "restricted",
    key=0,
    variance: str = "crv1",
    ssc: float | None = None,
    chunk_size: int | None = None,
    draws: WeightDraws | None = None,
) -> WildDistribution:
    """The :class:`WildDistribution` of ``R`` (k,) from precomputed cluster blocks.

    ``reps`` draws (all 2^G sign vectors instead when Rademacher and ``2^G <= reps``);
    ``key`` an int seed or a ``jax.random`` key; ``chunk_size`` draws per kernel call (it
    bounds memory and does not change the result); ``draws`` precomputed weight draws
    (:func:`bootstrap_draws`), which then replace weights/reps/key/chunk_size.
    """
    require_x64()
    null = check_null(null)
    pieces = hypothesis_pieces(blocks, R, variance=variance, ssc=ssc)
    if draws is None:
        draws = bootstrap_draws(blocks.G, weights=weights, reps=reps, key=key, chunk_size=chunk_size)
    moments = boot_moments(pieces, draws)
    return WildDistribution(
        pieces=pieces, moments=moments, null=null, weights=draws.kind, enumerated=draws.enumerated, reps=int(reps)
    )


def bootstrap_draws(G: int, *, weights: str = "rademacher", reps: int = 9999, key=0, chunk_size=None) -> WeightDraws:
    """The weight draws :func:`wild_distribution` uses; pass the same object (``.cached()``)
    to several calls to test many hypotheses on one set of draws."""
    check_weights(weights)
    reps = int(reps)
    if reps < 1:
        raise ValueError(f"reps must be positive; got {reps}")
    n = 2**G if use_enumeration(weights, G, reps) else reps
    return weight_draws(weights, G, reps, key, chunk_size_for(G, n, chunk_size))


@dataclass(frozen=True)
class WildResult:
    """Outcome of :func:`wild_test` for ``R b = r``.

    ``estimate`` R b, ``se`` its CRV1 (or CRV3) standard error, ``t = (estimate - r)/se``,
    ``p`` the bootstrap p-value of type ``ptype`` under ``tie_rule`` (:mod:`.pvalues`),
    ``ci_lo``/``ci_hi`` the ``level`` confidence set by inverting the same test (NaN when
    not computed, ±inf when unbounded), ``draws`` the bootstrap samples used (2^G when
    ``enumerated``), ``n_valid`` those with a positive variance, ``n_ties`` draws tied
    with t, ``t_boot`` (draw,) the bootstrap statistics at r, ``note`` advice (e.g. Webb
    weights for few clusters).
    """

    estimate: float
    r: float
    se: float
    t: float
    p: float
    ci_lo: float
    ci_hi: float
    level: float | None
    draws: int
    n_valid: int
    n_ties: int
    enumerated: bool
    weights: str
    null: str
    ptype: str
    tie_rule: str
    variance: str
    n_clusters: int
    n_obs: int
    note: str
    t_boot: xr.DataArray

    def to_dict(self) -> dict:
        """JSON-ready summary (without the draws); infinities as "inf"/"-inf", NaN as None."""

        def f(v):
            v = float(v)
            return None if np.isnan(v) else ("inf" if v == np.inf else "-inf" if v == -np.inf else v)

        return {
            "estimate": f(self.estimate), "r": f(self.r), "se": f(self.se), "t": f(self.t), "p": f(self.p),
            "conf_int": [f(self.ci_lo), f(self.ci_hi)], "level": None if self.level is None else f(self.level),
            "draws": self.draws, "n_valid": self.n_valid, "n_ties": self.n_ties, "enumerated": self.enumerated,
            "weights": self.weights, "null": self.null, "ptype": self.ptype, "tie_rule": self.tie_rule,
            "variance": self.variance, "n_clusters": self.n_clusters, "n_obs": self.n_obs, "note": self.note,
        }


def result_at(
    dist: WildDistribution, r: float, *, ptype: str, tie_rule: str, level: float | None, ci_tol: float | None
) -> WildResult:
    """The :class:`WildResult` of the test of ``R b = r`` from a distribution."""
    check_ptype(ptype)
    check_tie_rule(tie_rule)
    tb = dist.t_boot(r)
    p, ties, valid = bootstrap_pvalue(dist.t_stat(r), tb, ptype, tie_rule)
    lo = hi = float("nan")
    if level is not None:
        lo, hi, _ = invert_test(dist, level=level, ptype=ptype, tie_rule=tie_rule, tol=ci_tol)
    return WildResult(
        estimate=dist.estimate, r=float(r), se=dist.se, t=dist.t_stat(r), p=float(p), ci_lo=lo, ci_hi=hi,
        level=None if level is None else float(level), draws=dist.draws, n_valid=valid, n_ties=ties,
        enumerated=dist.enumerated, weights=dist.weights, null=dist.null, ptype=ptype, tie_rule=tie_rule,
        variance=dist.pieces.variance, n_clusters=dist.G, n_obs=dist.pieces.n_obs, note=dist.note(),
        t_boot=xr.DataArray(tb, dims="draw", name="t_boot"),
    )


def wild_test(
    y,
    X,
    clusters,
    R,
    r: float = 0.0,
    *,
    weights: str = "rademacher",
    reps: int = 9999,
    null: str = "restricted",
    ptype: str = "symmetric",
    level: float | None = 0.95,
    key=0,
    variance: str = "crv1",
    ssc: float | None = None,
    tie_rule: str = "strict",
    chunk_size: int | None = None,
    ci_tol: float | None = None,
) -> WildResult:
    """Wild cluster bootstrap test of ``R b = r`` for OLS of ``y`` (n,) on ``X`` (n, k).

    ``clusters`` (n,) dense codes 0..G-1; ``R`` (k,), ``r`` a scalar (non-zero allowed).
    Fixed effects nested in the clusters may be projected out of y and X; other FE must
    be dummy columns (:func:`tradeq.models.wild.cluster_design` builds both).
    ``weights`` "rademacher" | "webb" | "mammen"; ``reps`` draws (full enumeration when
    Rademacher and 2^G <= reps); ``null`` "restricted" (WCR) | "unrestricted" (WCU);
    ``ptype`` "symmetric" | "equal_tailed" | "lower" | "upper"; ``level`` of the confidence
    set by test inversion (None: not computed); ``key`` int seed or ``jax.random`` key;
    ``variance`` "crv1" | "crv3" | "crv3j" for the t statistics; ``ssc`` the CRV1 factor
    (default ``G/(G-1) (N-1)/(N-k)``; ``ClusterDesign.ssc`` counts absorbed FE as pyfixest);
    ``tie_rule`` "strict" | "half" | "weak" (:mod:`.pvalues`); ``chunk_size`` draws per
    kernel call; ``ci_tol`` the interval's tolerance (default 1e-6 se).
    """
    require_x64()
    blocks = cluster_blocks(y, X, clusters)
    dist = wild_distribution(
        blocks, R, weights=weights, reps=reps, null=null, key=key, variance=variance, ssc=ssc, chunk_size=chunk_size
    )
    return result_at(dist, r, ptype=ptype, tie_rule=tie_rule, level=level, ci_tol=ci_tol)


@dataclass(frozen=True)
class WildInterval:
    """Confidence set ``[lo, hi]`` of :func:`wild_ci` (±inf when unbounded on a side);
    ``evaluations`` of p(r) it took, ``tol`` the bisection tolerance."""

    lo: float
    hi: float
    level: float
    ptype: str
    null: str
    tol: float
    evaluations: int
    draws: int
    enumerated: bool


def wild_ci(
    y,
    X,
    clusters,
    R,
    *,
    level: float = 0.95,
    weights: str = "rademacher",
    reps: int = 9999,
    null: str = "restricted",
    ptype: str = "symmetric",
    key=0,
    variance: str = "crv1",
    ssc: float | None = None,
    tie_rule: str = "strict",
    chunk_size: int | None = None,
    tol: float | None = None,
) -> WildInterval:
    """Confidence set for ``R b`` by inverting the wild bootstrap test (:mod:`.ci`).

    Arguments as in :func:`wild_test`; ``tol`` the bisection tolerance (default 1e-6 se).
    """
    require_x64()
    blocks = cluster_blocks(y, X, clusters)
    dist = wild_distribution(
        blocks, R, weights=weights, reps=reps, null=null, key=key, variance=variance, ssc=ssc, chunk_size=chunk_size
    )
    tol = 1e-6 * dist.se if tol is None else float(tol)
    lo, hi, n = invert_test(dist, level=level, ptype=check_ptype(ptype), tie_rule=check_tie_rule(tie_rule), tol=tol)
    return WildInterval(
        lo=lo, hi=hi, level=float(level), ptype=ptype, null=dist.null, tol=tol, evaluations=n,
        draws=dist.draws, enumerated=dist.enumerated,
    )
