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

One implementation, on arrays: :func:`utest_batch` takes ``b`` (..., 2) and ``V``
(..., 2, 2) — one fit, or R Monte Carlo replications — and :func:`utest` is its scalar
wrapper returning a :class:`UTestResult`. Undefined is NaN, never a number: where the
variance of an end slope is negative (a non-PSD covariance, which a two-way clustered
variance can be), zero, or NaN, the overall t and p are NaN and the verdict says why; the
delta-method SE and the Fieller set are NaN where the 2×2 covariance is not PSD, since
both are derived for a PSD covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

import numpy as np
import xarray as xr

from .terms import square_spellings
from .tinference import t_quantile, t_sf
from .turning_point import fieller_arrays, fieller_set, turning_point_arrays, turning_point_delta

if TYPE_CHECKING:
    from .fe_result import FEFit

__all__ = ["UTestBatch", "UTestResult", "fieller_set", "find_squared_term", "from_fit", "slope_at",
           "turning_point_delta", "utest", "utest_batch"]

Shape = Literal["auto", "inverted_u", "u"]
FiellerKind = Literal["bounded", "unbounded_complement", "whole_line", "undefined"]

VERDICT_INVERTED_U = "inverted U"
VERDICT_U = "U"
VERDICT_TRIVIAL = "no U: trivial failure (extremum outside interval)"
VERDICT_NOT_SIGNIFICANT = "no U: not significant"
VERDICT_NOT_FINITE = "undefined: the coefficients, their covariance or the interval are not finite"
VERDICT_EMPTY_INTERVAL = "undefined: the interval is empty (x_lo >= x_hi)"
VERDICT_NON_PSD = "undefined: the variance of the end slopes is not positive (non-PSD covariance)"
VERDICT_ZERO_VARIANCE = "undefined: the variance of the end slopes is not positive (zero variance)"

@dataclass(frozen=True)
class UTestResult:
    """Outcome of :func:`utest`.

    End slopes ``slope_lo``/``slope_hi`` with standard errors and signed t values
    (``t = slope / se``); ``p_lo``/``p_hi`` are one-sided in the direction of H1 for the
    tested ``shape``. ``t`` and ``p`` are the overall Sasabuchi statistic and p-value (NaN
    when an end slope's variance is not positive; ``verdict`` then starts "undefined").

    The Fieller set at ``level`` is described by ``fieller_kind``:

    - ``"bounded"``: the interval ``[fieller_lo, fieller_hi]``;
    - ``"unbounded_complement"``: ``(−inf, fieller_lo] ∪ [fieller_hi, +inf)`` — the
      complement of an open interval. When the quadratic degenerates to a linear
      inequality one of the bounds is infinite and the set is a single ray
      (e.g. ``fieller_hi = +inf`` means ``(−inf, fieller_lo]``);
    - ``"whole_line"``: every real number (``fieller_lo = −inf``, ``fieller_hi = +inf``);
    - ``"undefined"``: the covariance is not PSD or not finite (both bounds NaN).

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
        """Whether ``x`` lies in the Fieller set (closed bounds); False when it is undefined."""
        if self.fieller_kind == "whole_line":
            return True
        if self.fieller_kind == "bounded":
            return self.fieller_lo <= x <= self.fieller_hi
        if self.fieller_kind == "undefined":
            return False
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


@dataclass(frozen=True)
class UTestBatch:
    """Outcome of :func:`utest_batch`: every field of :class:`UTestResult` as an array of the
    batch shape ``(...)`` of the inputs (``shape``, ``fieller_kind``, ``verdict`` as strings;
    ``df`` with ``inf`` for the normal), plus ``reject`` (bool). ``level`` is a float."""

    shape: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    level: float
    df: np.ndarray
    b1: np.ndarray
    b2: np.ndarray
    slope_lo: np.ndarray
    se_lo: np.ndarray
    t_lo: np.ndarray
    p_lo: np.ndarray
    slope_hi: np.ndarray
    se_hi: np.ndarray
    t_hi: np.ndarray
    p_hi: np.ndarray
    t: np.ndarray
    p: np.ndarray
    trivial_failure: np.ndarray
    turning_point: np.ndarray
    turning_point_se: np.ndarray
    delta_lo: np.ndarray
    delta_hi: np.ndarray
    fieller_lo: np.ndarray
    fieller_hi: np.ndarray
    fieller_kind: np.ndarray
    verdict: np.ndarray
    reject: np.ndarray

    def to_dataset(self, dims: tuple[str, ...] = ("replication",)) -> xr.Dataset:
        """The arrays as an xarray Dataset with the batch dimensions named ``dims``."""
        data = {f.name: (dims, np.asarray(getattr(self, f.name))) for f in fields(self) if f.name != "level"}
        return xr.Dataset(data, attrs={"level": self.level})


def _json_float(v: float) -> float | str | None:
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


# ---------------------------------------------------------------------------------------
# The pieces, on arrays (b (..., 2), V (..., 2, 2); results of the batch shape)
# ---------------------------------------------------------------------------------------


def _slopes(b: np.ndarray, V: np.ndarray, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope ``s(x) = b1 + 2·b2·x``, its variance ``V11 + 4x·V12 + 4x²·V22`` (``g'Vg``,
    ``g = (1, 2x)``) and its SE (NaN where the variance is negative)."""
    b1, b2 = b[..., 0], b[..., 1]
    var = V[..., 0, 0] + 4.0 * x * V[..., 0, 1] + 4.0 * x * x * V[..., 1, 1]
    with np.errstate(invalid="ignore"):
        se = np.where(var >= 0, np.sqrt(np.abs(var)), np.nan)
    return b1 + 2.0 * b2 * x, var, se


def _verdicts(shape, finite, ordered, trivial, slopes_var_lo, slopes_var_hi, d_lo, d_hi, p, alpha) -> np.ndarray:
    """The verdict of each element, in order of precedence (see :func:`utest_batch`)."""
    neg = ~(slopes_var_lo >= 0) | ~(slopes_var_hi >= 0)
    zero = (slopes_var_lo == 0) | (slopes_var_hi == 0)
    accept = np.where(shape == "u", VERDICT_U, VERDICT_INVERTED_U)
    conds = [~finite, ~ordered, trivial, neg, zero, (d_lo > 0) & (d_hi > 0) & (p < alpha)]
    choices = [VERDICT_NOT_FINITE, VERDICT_EMPTY_INTERVAL, VERDICT_TRIVIAL, VERDICT_NON_PSD, VERDICT_ZERO_VARIANCE,
               accept]
    # The default includes the opposite shape (e.g. a U-shaped fit tested for an inverted U).
    return np.select(conds, choices, VERDICT_NOT_SIGNIFICANT)


# ---------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------


def _checked_inputs(b, V, x_lo, x_hi, df, level, shape):
    """The inputs as float arrays broadcast to the batch shape, and the shape tested per element."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if shape not in ("auto", "inverted_u", "u"):
        raise ValueError(f"shape must be 'auto', 'inverted_u' or 'u'; got {shape!r}")
    b, V = np.asarray(b, dtype=float), np.asarray(V, dtype=float)
    if b.shape[-1:] != (2,) or V.shape[-2:] != (2, 2) or b.shape[:-1] != V.shape[:-2]:
        raise ValueError(f"b must have shape (..., 2) and V (..., 2, 2); got {b.shape} and {V.shape}")
    # Symmetric up to rounding, relative to the matrix's own scale (an off-diagonal entry of
    # rounding size may face an exact zero); NaN entries are left to the NaN verdicts.
    v12, v21 = V[..., 0, 1], V[..., 1, 0]
    with np.errstate(invalid="ignore"):
        scale = np.abs(v12) + np.sqrt(np.abs(V[..., 0, 0] * V[..., 1, 1]))
        if np.any(np.abs(v12 - v21) > 1e-10 * scale):
            raise ValueError("V must be symmetric")
    batch = b.shape[:-1]
    x_lo, x_hi = (np.broadcast_to(np.asarray(v, dtype=float), batch) for v in (x_lo, x_hi))
    df = np.broadcast_to(np.asarray(np.inf if df is None else df, dtype=float), batch)
    shapes = np.where(b[..., 1] > 0, "u", "inverted_u") if shape == "auto" else np.full(batch, shape)
    return b, V, x_lo, x_hi, df, shapes


def utest_batch(b, V, x_lo, x_hi, df=None, level: float = 0.95, shape: Shape = "auto") -> UTestBatch:
    """Lind–Mehlum / Sasabuchi test of an (inverted) U on ``[x_lo, x_hi]``, on arrays.

    Parameters
    ----------
    b : (..., 2) ``[b1, b2]``, the coefficients of x and x² (``...`` the batch, e.g. (R,)).
    V : (..., 2, 2) their covariance.
    x_lo, x_hi : the interval, scalars or arrays broadcasting to the batch shape; usually
        the min and max of x in each estimation sample.
    df : degrees of freedom of the t distribution (scalar or batch-shaped); ``None`` or a
        non-finite value uses the normal.
    level : confidence level of the Fieller/delta intervals; the test's size is
        ``1 − level`` (one-sided at each end, as in Lind & Mehlum).
    shape : ``"inverted_u"``, ``"u"`` or ``"auto"`` (per element: inverted U when
        ``b2 < 0``, U when ``b2 > 0``; ``b2 = 0`` is tested as an inverted U and fails
        trivially).

    The end-slope t values are ``t_lo = s(x_lo)/se_lo`` and ``t_hi = s(x_hi)/se_hi``.
    Inverted U: ``t = min(t_lo, −t_hi)``, ``p_lo = P(T ≥ t_lo)``, ``p_hi = P(T ≤ t_hi)``;
    U: ``t = min(−t_lo, t_hi)``, ``p_lo = P(T ≤ t_lo)``, ``p_hi = P(T ≥ t_hi)``; in both
    cases ``p = max(p_lo, p_hi) = P(T ≥ t)``, NaN when either end is NaN.

    Verdicts, first match wins: not finite (b, V or the interval) → undefined; empty
    interval → undefined; end slopes not of strictly opposite signs → trivial failure (the
    extremum is outside the interval; no variance is needed for that, and t, p are still
    reported when defined, p ≥ 0.5 then); an end slope's variance negative or NaN →
    undefined (non-PSD covariance), zero → undefined (zero variance), and t, p are NaN in
    both; both directional t values positive with ``p < 1 − level`` → the shape; otherwise
    not significant.
    """
    b, V, x_lo, x_hi, df, shapes = _checked_inputs(b, V, x_lo, x_hi, df, level, shape)
    s_lo, var_lo, se_lo = _slopes(b, V, x_lo)
    s_hi, var_hi, se_hi = _slopes(b, V, x_hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo, t_hi = s_lo / se_lo, s_hi / se_hi
    # Directional t values: positive when the slope points the way H1 says.
    sign = np.where(shapes == "u", -1.0, 1.0)
    d_lo, d_hi = sign * t_lo, -sign * t_hi
    p_lo, p_hi = t_sf(d_lo, df), t_sf(d_hi, df)
    # np.minimum / np.maximum propagate NaN whatever the argument order (min/max do not).
    defined = (var_lo > 0) & (var_hi > 0)
    t = np.where(defined, np.minimum(d_lo, d_hi), np.nan)
    p = np.where(defined, np.maximum(p_lo, p_hi), np.nan)

    finite = np.isfinite(b).all(-1) & np.isfinite(V).all((-2, -1)) & np.isfinite(x_lo) & np.isfinite(x_hi)
    ordered = x_lo < x_hi
    trivial = finite & ~(s_lo * s_hi < 0.0)
    verdict = _verdicts(shapes, finite, ordered, trivial, var_lo, var_hi, d_lo, d_hi, p, 1.0 - level)

    q = t_quantile(level, df)
    tp, tp_se = turning_point_arrays(b, V)
    f_lo, f_hi, f_kind = fieller_arrays(b, V, q)
    return UTestBatch(
        shape=shapes, x_lo=x_lo, x_hi=x_hi, level=float(level), df=df, b1=b[..., 0], b2=b[..., 1],
        slope_lo=s_lo, se_lo=se_lo, t_lo=t_lo, p_lo=p_lo, slope_hi=s_hi, se_hi=se_hi, t_hi=t_hi, p_hi=p_hi,
        t=t, p=p, trivial_failure=trivial, turning_point=tp, turning_point_se=tp_se,
        delta_lo=tp - q * tp_se, delta_hi=tp + q * tp_se, fieller_lo=f_lo, fieller_hi=f_hi, fieller_kind=f_kind,
        verdict=verdict, reject=(verdict == VERDICT_INVERTED_U) | (verdict == VERDICT_U),
    )


def utest(
    b,
    V,
    x_lo: float,
    x_hi: float,
    df: float | None = None,
    level: float = 0.95,
    shape: Shape = "auto",
) -> UTestResult:
    """Lind–Mehlum / Sasabuchi test of an (inverted) U on ``[x_lo, x_hi]`` for one fit.

    ``b`` (2,) ``[b1, b2]``, ``V`` (2, 2) their covariance, ``df`` the t degrees of freedom
    (``None``: normal); everything else as :func:`utest_batch`, of which this is the scalar
    form. Raises ``ValueError`` for wrong shapes, an asymmetric ``V``, ``x_lo ≥ x_hi``, a
    ``level`` outside (0, 1) or an unknown ``shape``; NaN inputs give NaN results and an
    "undefined" verdict.
    """
    b = np.asarray(b, dtype=float).reshape(-1)
    V = np.asarray(V, dtype=float)
    if b.shape != (2,) or V.shape != (2, 2):
        raise ValueError(f"b must have shape (2,) and V (2, 2); got {b.shape} and {V.shape}")
    x_lo, x_hi = float(x_lo), float(x_hi)
    if not x_lo < x_hi:
        raise ValueError(f"need x_lo < x_hi; got [{x_lo}, {x_hi}]")
    r = utest_batch(b, V, x_lo, x_hi, df=df, level=level, shape=shape)
    out = {f.name: getattr(r, f.name)[()] for f in fields(UTestResult) if f.name not in ("level", "df")}
    for name in ("shape", "fieller_kind", "verdict"):
        out[name] = str(out[name])
    out["trivial_failure"] = bool(out["trivial_failure"])
    out = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items()}
    return UTestResult(level=float(level), df=None if df is None else float(df), **out)


# ---------------------------------------------------------------------------------------
# Scalar pieces (for callers that need one of them alone; the turning point's are in
# tradeq.models.turning_point and importable from here)
# ---------------------------------------------------------------------------------------


def slope_at(b: np.ndarray, V: np.ndarray, x: float) -> tuple[float, float]:
    """Slope ``s(x) = b1 + 2·b2·x`` and its SE ``sqrt(V11 + 4x·V12 + 4x²·V22)`` (NaN if negative)."""
    s, _, se = _slopes(np.asarray(b, float), np.asarray(V, float), float(x))
    return float(s), float(se)


# ---------------------------------------------------------------------------------------
# From a fit
# ---------------------------------------------------------------------------------------


def find_squared_term(x_names, var: str) -> str:
    """Name of the squared term of ``var`` among ``x_names``.

    Accepts ``I(var ** 2)``, ``I(var**2)``, ``var^2``, ``var_sq`` and a few more (see
    :func:`tradeq.models.terms.square_spellings`); whitespace is ignored. Raises
    ``KeyError`` listing the terms when none (or more than one) matches.
    """
    wanted = {c.replace(" ", "") for c in square_spellings(var)}
    hits = [n for n in x_names if n.replace(" ", "") in wanted]
    if len(hits) != 1:
        what = "no squared term" if not hits else f"several squared terms {hits}"
        raise KeyError(
            f"{what} for {var!r}; looked for {square_spellings(var)} "
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
