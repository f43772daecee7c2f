"""Test for a U or inverted-U shape on an interval (Sasabuchi 1980; Lind & Mehlum 2010).

For ``y = b1·x + b2·x² + …`` the slope is ``s(x) = b1 + 2·b2·x``. An inverted U on
``[x_lo, x_hi]`` means the slope is positive at ``x_lo`` and negative at ``x_hi``; a U
means the reverse. Lind & Mehlum (2010, *Oxford Bulletin of Economics and Statistics*
72(1), 109–118), following Sasabuchi (1980, *Biometrika* 67(2), 429–439), test the
composite null

    H0 (inverted U):  s(x_lo) ≤ 0  or  s(x_hi) ≥ 0
    H1 (inverted U):  s(x_lo) > 0  and s(x_hi) < 0

with the likelihood-ratio (intersection–union) test: each end slope gets a one-sided t
test in the direction of H1, and H1 is accepted only when both reject. The overall
statistic is the smaller of the two directional t values and the overall p-value the
larger of the two one-sided p-values — what Stata's ``utest`` reports.

The turning point ``x* = −b1 / (2·b2)`` is reported with a delta-method standard error
and a Fieller (1954, *JRSS B* 16(2), 175–185) confidence set, which can be unbounded.
Both invert the same statistic, the slope's t value ``s(x)/se(x)``: the Fieller set at
critical value q is ``{x : |s(x)/se(x)| ≤ q}``, and the sign of ``s(x)/se(x)`` changes
only at x*. Hence the test rejects at level α exactly when the Fieller set at confidence
``1 − 2α`` lies strictly inside ``[x_lo, x_hi]``.

Everything here is a pure function of ``(b, V, x_lo, x_hi)``; :func:`from_fit` only picks
those out of a :class:`tradeq.models.fe_result.FEFit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from .fe_result import FEFit

Shape = Literal["auto", "inverted_u", "u"]
FiellerKind = Literal["bounded", "unbounded_complement", "whole_line"]

VERDICT_INVERTED_U = "inverted U"
VERDICT_U = "U"
VERDICT_TRIVIAL = "no U: trivial failure (extremum outside interval)"
VERDICT_NOT_SIGNIFICANT = "no U: not significant"


@dataclass(frozen=True)
class UTestResult:
    """Outcome of :func:`utest`.

    End slopes ``slope_lo``/``slope_hi`` with standard errors and signed t values
    (``t = slope / se``); ``p_lo``/``p_hi`` are one-sided in the direction of H1 for the
    tested ``shape``. ``t`` and ``p`` are the overall Sasabuchi statistic and p-value.

    The Fieller set at ``level`` is described by ``fieller_kind``:

    - ``"bounded"``: the interval ``[fieller_lo, fieller_hi]``;
    - ``"unbounded_complement"``: ``(−inf, fieller_lo] ∪ [fieller_hi, +inf)`` — the
      complement of an open interval. When the quadratic degenerates to a linear
      inequality one of the bounds is infinite and the set is a single ray
      (e.g. ``fieller_hi = +inf`` means ``(−inf, fieller_lo]``);
    - ``"whole_line"``: every real number (``fieller_lo = −inf``, ``fieller_hi = +inf``).

    ``delta_lo``/``delta_hi`` is the symmetric delta-method interval ``x* ± q·se``.
    """

    shape: str
    x_lo: float
    x_hi: float
    level: float
    df: float | None
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
    turning_point_se: float
    delta_lo: float
    delta_hi: float
    fieller_lo: float
    fieller_hi: float
    fieller_kind: str
    verdict: str

    @property
    def alpha(self) -> float:
        """Significance level of the test, ``1 − level``."""
        return 1.0 - self.level

    @property
    def reject(self) -> bool:
        """True when the test accepts the tested shape (H1) at level ``1 − level``."""
        return self.verdict in (VERDICT_INVERTED_U, VERDICT_U)

    def fieller_contains(self, x: float) -> bool:
        """Whether ``x`` lies in the Fieller set (closed bounds)."""
        if self.fieller_kind == "whole_line":
            return True
        if self.fieller_kind == "bounded":
            return self.fieller_lo <= x <= self.fieller_hi
        return x <= self.fieller_lo or x >= self.fieller_hi

    def to_dict(self) -> dict:
        """JSON-ready dictionary (the content of ``utest.json``).

        JSON convention: ``+inf``/``−inf`` are written as the strings ``"inf"`` and
        ``"-inf"`` (so an unbounded Fieller bound keeps its side), NaN as ``null``;
        everything else is a plain float, bool or string, so ``json.dumps(d,
        allow_nan=False)`` succeeds.
        """
        f = _json_float
        return {
            "shape": self.shape,
            "level": f(self.level),
            "df": None if self.df is None else f(self.df),
            "interval": [f(self.x_lo), f(self.x_hi)],
            "b1": f(self.b1),
            "b2": f(self.b2),
            "slope_lo": f(self.slope_lo),
            "se_lo": f(self.se_lo),
            "t_lo": f(self.t_lo),
            "p_lo": f(self.p_lo),
            "slope_hi": f(self.slope_hi),
            "se_hi": f(self.se_hi),
            "t_hi": f(self.t_hi),
            "p_hi": f(self.p_hi),
            "t": f(self.t),
            "p": f(self.p),
            "trivial_failure": bool(self.trivial_failure),
            "turning_point": f(self.turning_point),
            "turning_point_se": f(self.turning_point_se),
            "turning_point_ci_delta": [f(self.delta_lo), f(self.delta_hi)],
            "fieller": {"lo": f(self.fieller_lo), "hi": f(self.fieller_hi), "kind": self.fieller_kind},
            "verdict": self.verdict,
        }


def _json_float(v: float) -> float | str | None:
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _critical_value(level: float, df: float | None) -> float:
    """Two-sided critical value ``q`` with ``P(|T| ≤ q) = level`` (t with ``df``, else normal)."""
    p = 0.5 + level / 2.0
    return float(stats.norm.ppf(p) if df is None else stats.t.ppf(p, df))


def _sf(t: float, df: float | None) -> float:
    return float(stats.norm.sf(t) if df is None else stats.t.sf(t, df))


def slope_at(b: np.ndarray, V: np.ndarray, x: float) -> tuple[float, float]:
    """Slope ``s(x) = b1 + 2·b2·x`` and its SE ``sqrt(V11 + 4x·V12 + 4x²·V22)``.

    ``s(x) = g'b`` with ``g = (1, 2x)``, so ``Var s(x) = g'Vg``.
    """
    b1, b2 = float(b[0]), float(b[1])
    var = float(V[0, 0] + 4.0 * x * V[0, 1] + 4.0 * x * x * V[1, 1])
    return b1 + 2.0 * b2 * x, math.sqrt(var) if var >= 0 else math.nan


def turning_point_delta(b: np.ndarray, V: np.ndarray) -> tuple[float, float]:
    """Turning point ``x* = −b1/(2 b2)`` and its delta-method SE.

    Gradient ``∇x* = (−1/(2 b2), b1/(2 b2²))``; ``se = sqrt(∇'V∇)``. NaN when ``b2 = 0``.
    """
    b1, b2 = float(b[0]), float(b[1])
    if b2 == 0.0:
        return math.nan, math.nan
    g = np.array([-1.0 / (2.0 * b2), b1 / (2.0 * b2 * b2)])
    var = float(g @ V @ g)
    return -b1 / (2.0 * b2), math.sqrt(var) if var >= 0 else math.nan


def fieller_set(b: np.ndarray, V: np.ndarray, q: float) -> tuple[float, float, str]:
    """Fieller (1954) confidence set for ``x* = −b1/(2 b2)`` with critical value ``q``.

    The set is ``{x : (b1 + 2 b2 x)² ≤ q²·(V11 + 4x V12 + 4x² V22)}`` — the values of x
    at which a zero slope is not rejected. Expanding gives ``A x² + B x + C ≤ 0`` with

        A = 4 (b2² − q² V22),   B = 4 (b1 b2 − q² V12),   C = b1² − q² V11.

    ``A > 0`` (b2 significant at this level) gives a bounded interval between the roots;
    ``A < 0`` gives the two rays outside the roots when the discriminant is positive and
    the whole line otherwise. Returns ``(lo, hi, kind)``, see :class:`UTestResult`.
    """
    b1, b2 = float(b[0]), float(b[1])
    q2 = q * q
    A = 4.0 * (b2 * b2 - q2 * V[1, 1])
    B = 4.0 * (b1 * b2 - q2 * V[0, 1])
    C = b1 * b1 - q2 * V[0, 0]
    A, B, C = float(A), float(B), float(C)
    if A == 0.0:
        # Linear inequality B x + C ≤ 0: a single ray, written as a complement with
        # one infinite bound (the limit of the A < 0 case).
        if B > 0.0:
            return -C / B, math.inf, "unbounded_complement"
        if B < 0.0:
            return -math.inf, -C / B, "unbounded_complement"
        # A = B = 0 forces C ≤ 0 for a positive semi-definite V (Cauchy–Schwarz).
        return -math.inf, math.inf, "whole_line"
    D = B * B - 4.0 * A * C
    if D < 0.0:
        # No real roots: the quadratic has the sign of A everywhere. For A < 0 that is
        # the whole line. For A > 0 the set would be empty, impossible for a PSD V
        # (the quadratic at x* equals −q²·Var ≤ 0); only rounding gets here, when the
        # set has shrunk to the vertex.
        if A < 0.0:
            return -math.inf, math.inf, "whole_line"
        v = -B / (2.0 * A)
        return v, v, "bounded"
    # Numerically stable roots (avoid cancellation in −B ± sqrt(D)).
    sq = math.sqrt(D)
    qq = -0.5 * (B + math.copysign(sq, B))
    r1 = qq / A
    r2 = C / qq if qq != 0.0 else r1
    lo, hi = min(r1, r2), max(r1, r2)
    return lo, hi, ("bounded" if A > 0.0 else "unbounded_complement")


def utest(
    b,
    V,
    x_lo: float,
    x_hi: float,
    df: float | None = None,
    level: float = 0.95,
    shape: Shape = "auto",
) -> UTestResult:
    """Lind–Mehlum / Sasabuchi test of an (inverted) U on ``[x_lo, x_hi]``.

    Parameters
    ----------
    b : (2,) ``[b1, b2]``, the coefficients of x and x².
    V : (2, 2) their covariance.
    x_lo, x_hi : the interval, usually the min and max of x in the estimation sample.
    df : degrees of freedom of the t distribution; ``None`` uses the normal.
    level : confidence level of the Fieller/delta intervals; the test's size is
        ``1 − level`` (one-sided at each end, as in Lind & Mehlum).
    shape : ``"inverted_u"``, ``"u"`` or ``"auto"`` (inverted U when ``b2 < 0``, U when
        ``b2 > 0``; ``b2 = 0`` is tested as an inverted U and fails trivially).

    The end-slope t values are ``t_lo = s(x_lo)/se_lo`` and ``t_hi = s(x_hi)/se_hi``.
    Inverted U: ``t = min(t_lo, −t_hi)``, ``p_lo = P(T ≥ t_lo)``, ``p_hi = P(T ≤ t_hi)``;
    U: ``t = min(−t_lo, t_hi)``, ``p_lo = P(T ≤ t_lo)``, ``p_hi = P(T ≥ t_hi)``; in both
    cases ``p = max(p_lo, p_hi) = P(T ≥ t)``.

    When the two end slopes do not have strictly opposite signs the extremum is not
    inside the interval and the test cannot reject ("trivial failure"); t and p are
    still reported (p ≥ 0.5 then).
    """
    b = np.asarray(b, dtype=float).reshape(-1)
    V = np.asarray(V, dtype=float)
    if b.shape != (2,) or V.shape != (2, 2):
        raise ValueError(f"b must have shape (2,) and V (2, 2); got {b.shape} and {V.shape}")
    if not np.allclose(V, V.T, rtol=1e-10, atol=0.0):
        raise ValueError("V must be symmetric")
    x_lo, x_hi = float(x_lo), float(x_hi)
    if not x_lo < x_hi:
        raise ValueError(f"need x_lo < x_hi; got [{x_lo}, {x_hi}]")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if shape == "auto":
        shape = "u" if b[1] > 0 else "inverted_u"
    if shape not in ("inverted_u", "u"):
        raise ValueError(f"shape must be 'auto', 'inverted_u' or 'u'; got {shape!r}")

    s_lo, se_lo = slope_at(b, V, x_lo)
    s_hi, se_hi = slope_at(b, V, x_hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = float(np.divide(s_lo, se_lo))
        t_hi = float(np.divide(s_hi, se_hi))

    # Directional t values: positive when the slope points the way H1 says.
    sign = 1.0 if shape == "inverted_u" else -1.0
    d_lo, d_hi = sign * t_lo, -sign * t_hi
    p_lo, p_hi = _sf(d_lo, df), _sf(d_hi, df)
    t = min(d_lo, d_hi)
    p = max(p_lo, p_hi)

    trivial = not (s_lo * s_hi < 0.0)
    alpha = 1.0 - level
    if trivial:
        verdict = VERDICT_TRIVIAL
    elif d_lo > 0 and d_hi > 0 and p < alpha:
        verdict = VERDICT_INVERTED_U if shape == "inverted_u" else VERDICT_U
    else:
        # Includes the opposite shape (e.g. a U-shaped fit tested for an inverted U).
        verdict = VERDICT_NOT_SIGNIFICANT

    q = _critical_value(level, df)
    tp, tp_se = turning_point_delta(b, V)
    f_lo, f_hi, f_kind = fieller_set(b, V, q)

    return UTestResult(
        shape=shape,
        x_lo=x_lo,
        x_hi=x_hi,
        level=float(level),
        df=None if df is None else float(df),
        b1=float(b[0]),
        b2=float(b[1]),
        slope_lo=s_lo,
        se_lo=se_lo,
        t_lo=t_lo,
        p_lo=p_lo,
        slope_hi=s_hi,
        se_hi=se_hi,
        t_hi=t_hi,
        p_hi=p_hi,
        t=t,
        p=p,
        trivial_failure=trivial,
        turning_point=tp,
        turning_point_se=tp_se,
        delta_lo=tp - q * tp_se,
        delta_hi=tp + q * tp_se,
        fieller_lo=f_lo,
        fieller_hi=f_hi,
        fieller_kind=f_kind,
        verdict=verdict,
    )


def _squared_term_candidates(var: str) -> list[str]:
    """Spellings of the squared term that :func:`from_fit` recognises (spaces ignored)."""
    return [
        f"I({var}**2)",
        f"I({var}^2)",
        f"{var}**2",
        f"{var}^2",
        f"{var}_sq",
        f"{var}_squared",
        f"{var}sq",
        f"np.square({var})",
        f"np.power({var},2)",
        f"I({var}*{var})",
    ]


def find_squared_term(x_names, var: str) -> str:
    """Name of the squared term of ``var`` among ``x_names``.

    Accepts ``I(var ** 2)``, ``I(var**2)``, ``var^2``, ``var_sq`` and a few more (see
    :func:`_squared_term_candidates`); whitespace is ignored. Raises ``KeyError`` listing
    the terms when none (or more than one) matches.
    """
    wanted = {c.replace(" ", "") for c in _squared_term_candidates(var)}
    hits = [n for n in x_names if n.replace(" ", "") in wanted]
    if len(hits) != 1:
        what = "no squared term" if not hits else f"several squared terms {hits}"
        raise KeyError(
            f"{what} for {var!r}; looked for {_squared_term_candidates(var)} "
            f"among the terms {list(x_names)}"
        )
    return hits[0]


def from_fit(
    fit: FEFit,
    var: str,
    x_lo: float,
    x_hi: float,
    level: float = 0.95,
    shape: Shape = "auto",
) -> UTestResult:
    """:func:`utest` on the linear term ``var`` and its squared term in ``fit``.

    Uses ``fit.coef``/``fit.vcov`` for the two terms and ``fit.df_t`` for the t
    distribution (so clustered fits use G − 1 degrees of freedom).
    """
    names = tuple(fit.x_names)
    if var not in names:
        raise KeyError(f"linear term {var!r} is not in the fit; terms are {list(names)}")
    i = names.index(var)
    j = names.index(find_squared_term(names, var))
    coef = np.asarray(fit.coef, dtype=float)
    vcov = np.asarray(fit.vcov, dtype=float)
    b = coef[[i, j]]
    V = vcov[np.ix_([i, j], [i, j])]
    df = None if fit.df_t is None or not np.isfinite(fit.df_t) else float(fit.df_t)
    return utest(b, V, x_lo, x_hi, df=df, level=level, shape=shape)
