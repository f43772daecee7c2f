"""Confidence sets by inverting the wild bootstrap test.

The ``level`` confidence set of ``R b`` is ``{r : p(r) > alpha}``, alpha = 1 - level,
with p(r) the bootstrap p-value of ``R b = r`` (Roodman et al. 2019, section 3.5;
``fwildclusterboot``'s ``invert_p_val``). Under WCR the bootstrap DGP changes with r, but
its pieces are linear in r (:mod:`.algebra`), and the same weight draws serve every r, so
one evaluation of p(r) is O(B).

p(r) is a step function of r. Each end is found in two stages:

1. bracket: from the estimate (where t = 0 and p is largest) step outwards by the CRV1
   half-width ``t_{G-1, (1+level)/2} se``, doubling the step until p(r) <= alpha (after
   :data:`MAX_DOUBLINGS` doublings without a rejection that end is infinite — a one-sided
   p-value, or a set unbounded on that side);
2. bisect between the last accepted and the first rejected r until they are ``tol`` apart
   (default 1e-6 se); the end reported is their midpoint, within ``tol / 2`` of a point
   where p crosses alpha.

The set found is the stretch around the estimate up to the first rejection on each side;
p(r) is not guaranteed to be monotone, so an accepted stretch beyond a rejected one would
not be included (the tests compare with a fine grid of r).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import stats

MAX_DOUBLINGS = 60


def bisect_boundary(accept: Callable[[float], bool], inside: float, outside: float, tol: float):
    """Narrow ``[inside, outside]`` (accept(inside), not accept(outside)) to ``tol``;
    returns (midpoint, evaluations)."""
    n = 0
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if mid in (inside, outside):  # no float left between them
            break
        n += 1
        if accept(mid):
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside), n


def find_bound(accept: Callable[[float], bool], center: float, step: float, direction: int, tol: float):
    """The end of the accepted set on one side of ``center``: (bound, evaluations)."""
    inside, n = center, 0
    for _ in range(MAX_DOUBLINGS + 1):
        candidate = center + direction * step
        n += 1
        if not accept(candidate):
            bound, m = bisect_boundary(accept, inside, candidate, tol)
            return bound, n + m
        inside, step = candidate, 2.0 * step
    return direction * math.inf, n


def invert_test(dist, *, level: float, ptype: str = "symmetric", tie_rule: str = "strict", tol: float | None = None):
    """``(lo, hi, evaluations)`` of the confidence set of a :class:`.bootstrap.WildDistribution`
    (anything with ``estimate``, ``se``, ``G`` and ``pvalue(r, ptype, tie_rule)``)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    alpha = 1.0 - level
    se = dist.se
    tol = 1e-6 * se if tol is None else float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be positive; got {tol}")

    def accept(r: float) -> bool:
        return dist.pvalue(r, ptype, tie_rule)[0] > alpha

    center = dist.estimate
    if not accept(center):
        return math.nan, math.nan, 1
    step = float(stats.t.ppf(0.5 + level / 2.0, dist.G - 1)) * se
    lo, n_lo = find_bound(accept, center, step, -1, tol)
    hi, n_hi = find_bound(accept, center, step, +1, tol)
    return lo, hi, 1 + n_lo + n_hi
