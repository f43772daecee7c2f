"""Bootstrap p-values and how they treat ties.

With t the statistic of the original sample and t*_1..t*_B the bootstrap statistics
(B counts the draws with a positive bootstrap variance), for the hypothesis ``R b = r``:

    "symmetric"     H1: R b != r    p = #{|t*_b| > |t|} / B
    "equal_tailed"  H1: R b != r    p = min(1, 2 min(p_upper, p_lower))
    "upper"         H1: R b > r     p_upper = #{t*_b > t} / B
    "lower"         H1: R b < r     p_lower = #{t*_b < t} / B

These are the definitions of Stata's ``boottest`` (Roodman et al. 2019, section 3.4),
``fwildclusterboot``'s ``get_bootstrap_pvalue`` and ``wildboottest``.

Ties. A bootstrap statistic ties with t when the two agree to a relative :data:`TIE_RTOL`
(``|x*_b - x| <= TIE_RTOL max(|x*_b|, |x|)``, with x = |t| for the symmetric p-value):
floating-point rounding should not decide a comparison that is an equality in exact
arithmetic. Ties are frequent: under full Rademacher enumeration with the null imposed the
draws v = 1 (the original sample) and v = -1 give t* = t and t* = -t exactly. The rule:

    "strict"  (default, boottest's): a tie is not counted, p = #{>} / B
    "half"    a tie counts 1/2 (mid-p)
    "weak"    a tie counts 1, p = #{>=} / B

A test at level alpha rejects when ``p <= alpha``; a confidence set holds the r with
``p(r) > alpha`` (:mod:`.ci`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

PType = Literal["symmetric", "equal_tailed", "lower", "upper"]
PTYPES: tuple[str, ...] = ("symmetric", "equal_tailed", "lower", "upper")
TieRule = Literal["strict", "half", "weak"]
TIE_RULES: dict[str, float] = {"strict": 0.0, "half": 0.5, "weak": 1.0}

#: Relative tolerance below which a bootstrap statistic ties with the original one.
TIE_RTOL = 1e-9


def check_ptype(ptype: str) -> str:
    if ptype not in PTYPES:
        raise ValueError(f"ptype must be one of {PTYPES}; got {ptype!r}")
    return ptype


def check_tie_rule(rule: str) -> str:
    if rule not in TIE_RULES:
        raise ValueError(f"tie_rule must be one of {tuple(TIE_RULES)}; got {rule!r}")
    return rule


def _exceed(x: float, xs: np.ndarray, tie_weight: float) -> tuple[float, int]:
    """(#{xs > x} + tie_weight #{xs ties x}, #ties) over the finite xs."""
    tie = np.abs(xs - x) <= TIE_RTOL * np.maximum(np.abs(xs), abs(x))
    above = (xs > x) & ~tie
    n_tie = int(tie.sum())
    return float(above.sum()) + tie_weight * n_tie, n_tie


def bootstrap_pvalue(t: float, t_boot: np.ndarray, ptype: str = "symmetric", tie_rule: str = "strict"):
    """``(p, n_ties, n_valid)`` for statistic ``t`` and bootstrap statistics ``t_boot`` (B,).

    NaN entries of ``t_boot`` (draws whose bootstrap variance is not positive) are left out
    of the count and of B; see the module docstring for the definitions and the tie rule.
    """
    check_ptype(ptype)
    w = TIE_RULES[check_tie_rule(tie_rule)]
    ts = np.asarray(t_boot, dtype=float)
    ts = ts[np.isfinite(ts)]
    B = ts.size
    if B == 0 or not np.isfinite(t):
        return float("nan"), 0, B
    if ptype == "symmetric":
        count, ties = _exceed(abs(t), np.abs(ts), w)
        return count / B, ties, B
    up, ties = _exceed(t, ts, w)  # t* > t
    down, _ = _exceed(-t, -ts, w)  # t* < t
    if ptype == "upper":
        return up / B, ties, B
    if ptype == "lower":
        return down / B, ties, B
    return min(1.0, 2.0 * min(up, down) / B), ties, B
