"""The turning point ``x* = −b1 / (2·b2)`` of ``y = b1·x + b2·x² + …``: its delta-method
standard error and the Fieller (1954, *JRSS B* 16(2), 175–185) confidence set, on arrays.

``b`` (..., 2) holds ``[b1, b2]`` and ``V`` (..., 2, 2) their covariance; results have the
batch shape ``(...)``. Both intervals assume a positive semi-definite V (:func:`is_psd_2x2`):
the Fieller set's case analysis relies on it, so for any other V it is ``"undefined"``.
:mod:`tradeq.models.utest` reports both beside the Lind–Mehlum test.
"""

from __future__ import annotations

import numpy as np

#: A 2×2 covariance counts as PSD when its determinant is at least −PSD_RTOL·V11·V22: a
#: rank-one covariance (exactly collinear terms) has a determinant of rounding size, either sign.
PSD_RTOL = 1e-12


def is_psd_2x2(V: np.ndarray) -> np.ndarray:
    """(...) bool: the 2×2 covariance is finite and positive semi-definite (see :data:`PSD_RTOL`)."""
    v11, v12, v22 = V[..., 0, 0], V[..., 0, 1], V[..., 1, 1]
    with np.errstate(invalid="ignore"):
        det_ok = v11 * v22 - v12 * v12 >= -PSD_RTOL * np.abs(v11 * v22)
    return (v11 >= 0) & (v22 >= 0) & det_ok


def turning_point_arrays(b: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x* = −b1/(2 b2)`` and its delta-method SE ``sqrt(∇'V∇)``, ``∇ = (−1/(2 b2), b1/(2 b2²))``.

    NaN where ``b2 = 0``, and the SE NaN where V is not PSD (or ``∇'V∇ < 0``).
    """
    b1, b2 = b[..., 0], b[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        g0, g1 = -1.0 / (2.0 * b2), b1 / (2.0 * b2 * b2)
        var = (g0 * V[..., 0, 0] + g1 * V[..., 1, 0]) * g0 + (g0 * V[..., 0, 1] + g1 * V[..., 1, 1]) * g1
        tp = np.where(b2 == 0.0, np.nan, -b1 / (2.0 * b2))
        se = np.where((b2 == 0.0) | ~(var >= 0) | ~is_psd_2x2(V), np.nan, np.sqrt(np.abs(var)))
    return tp, se


def fieller_arrays(b: np.ndarray, V: np.ndarray, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fieller (1954) set for ``x* = −b1/(2 b2)`` at critical value ``q``: ``(lo, hi, kind)``.

    The set is ``{x : (b1 + 2 b2 x)² ≤ q²·(V11 + 4x V12 + 4x² V22)}`` — the values of x
    at which a zero slope is not rejected. Expanding gives ``A x² + B x + C ≤ 0`` with

        A = 4 (b2² − q² V22),   B = 4 (b1 b2 − q² V12),   C = b1² − q² V11.

    ``A > 0`` (b2 significant at this level) gives a bounded interval between the roots;
    ``A < 0`` gives the two rays outside the roots when the discriminant is positive and
    the whole line otherwise; ``A = 0`` a single ray (a complement with one infinite
    bound, the limit of ``A < 0``). The case analysis assumes a PSD V: elsewhere the set is
    ``"undefined"`` with NaN bounds.
    """
    b1, b2 = b[..., 0], b[..., 1]
    q2 = q * q
    A = 4.0 * (b2 * b2 - q2 * V[..., 1, 1])
    B = 4.0 * (b1 * b2 - q2 * V[..., 0, 1])
    C = b1 * b1 - q2 * V[..., 0, 0]
    D = B * B - 4.0 * A * C
    with np.errstate(divide="ignore", invalid="ignore"):
        # Numerically stable roots (avoid cancellation in −B ± sqrt(D)).
        qq = -0.5 * (B + np.copysign(np.sqrt(np.abs(D)), B))
        r1 = qq / A
        r2 = np.where(qq != 0.0, C / qq, r1)
        ray = -C / B
        vertex = -B / (2.0 * A)
    inf = np.full_like(A, np.inf)
    valid = np.isfinite(b1) & np.isfinite(b2) & is_psd_2x2(V)
    linear, no_roots = A == 0.0, D < 0.0
    # A = B = 0 forces C ≤ 0 for a PSD V (Cauchy–Schwarz): the whole line. With A > 0 and no
    # real roots the set would be empty, impossible for a PSD V (the quadratic at x* is
    # −q²·Var ≤ 0): only rounding gets there, when the set has shrunk to the vertex.
    conds = [~valid, linear & (B > 0.0), linear & (B < 0.0), linear, no_roots & (A < 0.0), no_roots]
    lo = np.select(conds, [np.nan, ray, -inf, -inf, -inf, vertex], np.minimum(r1, r2))
    hi = np.select(conds, [np.nan, inf, ray, inf, inf, vertex], np.maximum(r1, r2))
    kind = np.select(conds, ["undefined", "unbounded_complement", "unbounded_complement", "whole_line", "whole_line",
                             "bounded"], np.where(A > 0.0, "bounded", "unbounded_complement"))
    return lo, hi, kind


def turning_point_delta(b: np.ndarray, V: np.ndarray) -> tuple[float, float]:
    """Turning point ``x* = −b1/(2 b2)`` and its delta-method SE (NaN when ``b2 = 0``)."""
    tp, se = turning_point_arrays(np.asarray(b, float), np.asarray(V, float))
    return float(tp), float(se)


def fieller_set(b: np.ndarray, V: np.ndarray, q: float) -> tuple[float, float, str]:
    """Fieller (1954) confidence set for ``x*`` with critical value ``q``: ``(lo, hi, kind)``,
    see :func:`fieller_arrays` and :class:`tradeq.models.utest.UTestResult`."""
    lo, hi, kind = fieller_arrays(np.asarray(b, float), np.asarray(V, float), float(q))
    return float(lo), float(hi), str(kind)
