"""The Lind–Mehlum (inverted) U test with few clusters, by wild cluster bootstrap.

Same hypotheses as :mod:`tradeq.models.utest` (Lind & Mehlum 2010; Sasabuchi 1980): with
slope ``s(x) = b1 + 2 b2 x`` of ``y = b1 x + b2 x^2 + ...`` an inverted U on
``[x_lo, x_hi]`` is H1: ``s(x_lo) > 0 and s(x_hi) < 0`` against H0: ``s(x_lo) <= 0 or
s(x_hi) >= 0`` (the signs reverse for a U). Each end slope is tested one-sided by WCR
under its own restricted null, ``s(x_end) = 0`` — the hypothesis ``R b = 0`` with
``R = e_1 + 2 x_end e_2`` (:func:`tradeq.models.wild.wild_test`, ptype "upper" at x_lo and
"lower" at x_hi for an inverted U) — and the intersection–union test rejects when both
do: ``p = max(p_lo, p_hi)``.

Turning point ``x* = -b1 / (2 b2)``: the bootstrap analogue of the Fieller set is the set
of theta for which the symmetric WCR test of ``b1 + 2 theta b2 = 0`` is not rejected at
``1 - level``, found by inversion over theta (:mod:`.ci`) with the same draws for every
theta. As theta -> ±inf the hypothesis tends to ``b2 = 0`` (t statistics do not change
when R is scaled), so the set is bounded exactly when the WCR test of ``b2 = 0`` rejects;
otherwise it is the whole line or the complement of an interval, like Fieller's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..crv3 import ClusterBlocks, cluster_blocks, full_sample_solve
from ..precision import require_x64
from ..utest import VERDICT_INVERTED_U, VERDICT_NOT_SIGNIFICANT, VERDICT_TRIVIAL, VERDICT_U
from .algebra import hypothesis_pieces
from .bootstrap import bootstrap_draws, wild_distribution
from .ci import MAX_DOUBLINGS, bisect_boundary, find_bound


@dataclass(frozen=True)
class WildUTestResult:
    """Outcome of :func:`wild_utest`; fields as :class:`tradeq.models.utest.UTestResult`
    (``p_lo``/``p_hi`` one-sided wild bootstrap p-values in the direction of H1, ``t`` the
    smaller directional t, ``p`` the larger p), with the turning-point set ``tp_lo``,
    ``tp_hi``, ``tp_kind`` ("bounded": [lo, hi]; "unbounded_complement": (-inf, lo] and
    [hi, inf); "whole_line") and the bootstrap settings."""

    shape: str
    x_lo: float
    x_hi: float
    level: float
    b1: float
    b2: float
    slope_lo: float
    se_lo: float
    t_lo: float
    p_lo: float
    slope_hi: float
    se_hi: float
    t_hi: float
    p_hi: float
    t: float
    p: float
    trivial_failure: bool
    turning_point: float
    tp_lo: float
    tp_hi: float
    tp_kind: str
    weights: str
    draws: int
    enumerated: bool
    variance: str
    tie_rule: str
    n_clusters: int
    verdict: str

    @property
    def reject(self) -> bool:
        return self.verdict in (VERDICT_INVERTED_U, VERDICT_U)

    def to_dict(self) -> dict:
        def f(v):
            v = float(v)
            return None if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else v)

        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name, v in out.items():
            if isinstance(v, float):
                out[name] = f(v)
        return out


def _far_bound(accept, rejected: float, step: float, direction: int, tol: float) -> float:
    """Beyond a rejected point, where acceptance resumes (±inf when it does not)."""
    inside = rejected
    for _ in range(MAX_DOUBLINGS + 1):
        candidate = rejected + direction * step
        if accept(candidate):
            return bisect_boundary(lambda x: not accept(x), inside, candidate, tol)[0]
        inside, step = candidate, 2.0 * step
    return direction * math.inf


def turning_point_set(
    blocks: ClusterBlocks, i: int, j: int, *, level: float, tie_rule: str = "strict", tol_rel: float = 1e-6, **boot
):
    """(x*, lo, hi, kind) of the wild bootstrap set for ``x* = -b_i / (2 b_j)``."""
    k, alpha = blocks.k, 1.0 - level
    b, _ = full_sample_solve(blocks)
    b1, b2 = float(b[i]), float(b[j])

    def R_of(theta: float) -> np.ndarray:
        R = np.zeros(k)
        R[i], R[j] = 1.0, 2.0 * theta
        return R

    def accept(theta: float) -> bool:
        return wild_distribution(blocks, R_of(theta), null="restricted", **boot).pvalue(0.0, "symmetric", tie_rule)[0] > alpha

    e2 = np.zeros(k)
    e2[j] = 1.0
    bounded = wild_distribution(blocks, e2, null="restricted", **boot).pvalue(0.0, "symmetric", tie_rule)[0] <= alpha
    if b2 == 0.0:
        return math.nan, -math.inf, math.inf, "whole_line"
    tp = -b1 / (2.0 * b2)
    grad = np.zeros(k)
    grad[i], grad[j] = -1.0 / (2.0 * b2), b1 / (2.0 * b2 * b2)
    se = hypothesis_pieces(blocks, grad, variance=boot.get("variance", "crv1"), ssc=boot.get("ssc")).se()
    step = float(stats.t.ppf(0.5 + level / 2.0, blocks.G - 1)) * se
    if not (np.isfinite(step) and step > 0):
        step = 0.1 * max(abs(tp), 1.0)
    tol = tol_rel * step
    lo, _ = find_bound(accept, tp, step, -1, tol)
    hi, _ = find_bound(accept, tp, step, +1, tol)
    if bounded or (math.isinf(lo) and math.isinf(hi)):
        return tp, lo, hi, ("bounded" if bounded else "whole_line")
    # Unbounded with a rejection on one side: the rejected stretch ends where acceptance
    # resumes further out (infinity is accepted).
    if math.isfinite(hi):
        return tp, hi, _far_bound(accept, hi + tol, step, +1, tol), "unbounded_complement"
    return tp, _far_bound(accept, lo - tol, step, -1, tol), lo, "unbounded_complement"


def _verdict(trivial: bool, significant: bool, inverted: bool) -> str:
    if trivial:
        return VERDICT_TRIVIAL
    if significant:
        return VERDICT_INVERTED_U if inverted else VERDICT_U
    return VERDICT_NOT_SIGNIFICANT  # includes the opposite shape


def _end_test(blocks, i, j, x, ptype, boot, tie_rule):
    R = np.zeros(blocks.k)
    R[i], R[j] = 1.0, 2.0 * x
    dist = wild_distribution(blocks, R, null="restricted", **boot)
    p, _, _ = dist.pvalue(0.0, ptype, tie_rule)
    return dist.estimate, dist.se, dist.t_stat(0.0), p, dist


def wild_utest(
    y,
    X,
    clusters,
    i: int,
    j: int,
    x_lo: float,
    x_hi: float,
    *,
    shape: str = "auto",
    weights: str = "rademacher",
    reps: int = 9999,
    level: float = 0.95,
    key=0,
    variance: str = "crv1",
    ssc: float | None = None,
    tie_rule: str = "strict",
    chunk_size: int | None = None,
    turning_point: bool = True,
) -> WildUTestResult:
    """Lind–Mehlum test of an (inverted) U on ``[x_lo, x_hi]`` by wild cluster bootstrap.

    ``y`` (n,), ``X`` (n, k), ``clusters`` (n,) dense codes; ``i``/``j`` the columns of x
    and x^2 in X; ``shape`` "inverted_u" | "u" | "auto" (by the sign of b2); bootstrap
    arguments as :func:`tradeq.models.wild.wild_test`; the test's size is ``1 - level``
    (one-sided at each end); ``turning_point=False`` skips the turning-point set.
    """
    require_x64()
    x_lo, x_hi = float(x_lo), float(x_hi)
    if not x_lo < x_hi:
        raise ValueError(f"need x_lo < x_hi; got [{x_lo}, {x_hi}]")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    blocks = cluster_blocks(y, X, clusters)
    b, _ = full_sample_solve(blocks)
    if shape == "auto":
        shape = "u" if b[j] > 0 else "inverted_u"
    if shape not in ("inverted_u", "u"):
        raise ValueError(f"shape must be 'auto', 'inverted_u' or 'u'; got {shape!r}")
    # one set of draws, kept in memory, for both end tests and every theta
    draws = bootstrap_draws(blocks.G, weights=weights, reps=reps, key=key, chunk_size=chunk_size).cached()
    boot = dict(variance=variance, ssc=ssc, draws=draws, reps=reps)
    inv = shape == "inverted_u"
    s_lo, se_lo, t_lo, p_lo, dist = _end_test(blocks, i, j, x_lo, "upper" if inv else "lower", boot, tie_rule)
    s_hi, se_hi, t_hi, p_hi, _ = _end_test(blocks, i, j, x_hi, "lower" if inv else "upper", boot, tie_rule)
    sign = 1.0 if inv else -1.0
    d_lo, d_hi = sign * t_lo, -sign * t_hi
    p = max(p_lo, p_hi)
    trivial = not (s_lo * s_hi < 0.0)
    verdict = _verdict(trivial, min(d_lo, d_hi) > 0 and p <= 1.0 - level, inv)
    tp, tp_lo, tp_hi, kind = (math.nan, math.nan, math.nan, "not computed")
    if turning_point:
        tp, tp_lo, tp_hi, kind = turning_point_set(blocks, i, j, level=level, tie_rule=tie_rule, **boot)
    return WildUTestResult(
        shape=shape, x_lo=x_lo, x_hi=x_hi, level=float(level), b1=float(b[i]), b2=float(b[j]),
        slope_lo=s_lo, se_lo=se_lo, t_lo=t_lo, p_lo=float(p_lo), slope_hi=s_hi, se_hi=se_hi, t_hi=t_hi,
        p_hi=float(p_hi), t=float(min(d_lo, d_hi)), p=float(p), trivial_failure=trivial, turning_point=tp,
        tp_lo=tp_lo, tp_hi=tp_hi, tp_kind=kind, weights=weights, draws=dist.draws, enumerated=dist.enumerated,
        variance=variance, tie_rule=tie_rule, n_clusters=blocks.G, verdict=verdict,
    )
