"""Monte Carlo performance measures, each with its Monte Carlo standard error.

For R independent replications with estimates ``th_r``, truths ``theta_r`` (fixed, or drawn
per replication in simulation-based calibration) and errors ``e_r = th_r - theta_r``
(Morris, White & Crowther 2019, "Using simulation studies to evaluate statistical methods",
*Statistics in Medicine* 38, Table 6):

    bias      = mean(e)                         MCSE = sd(e) / sqrt(R)
    MSE       = mean(e^2)                       MCSE = sd(e^2) / sqrt(R)
    RMSE      = sqrt(MSE)                       MCSE = MCSE(MSE) / (2 RMSE)     (delta method)
    coverage  = mean(lo_r <= theta_r <= hi_r)   MCSE = sqrt(p (1 - p) / R)
    length    = mean(hi - lo)                   MCSE = sd(hi - lo) / sqrt(R)
    rejection = mean(reject_r)                  MCSE = sqrt(p (1 - p) / R)
    emp_sd    = sd(th)                          MCSE = emp_sd / sqrt(2 (R - 1))
    mean_se   = mean(se_r)                      MCSE = sd(se) / sqrt(R)

Replications whose estimate is not finite (a failed fit) are left out and counted in
``n_valid``; an interval that is undefined although the estimate exists (a negative
two-way cluster variance) counts as not covering. Every function takes (..., R) arrays
and reduces the last axis.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Metric names, in the order of the Dataset variables; each has a ``<name>_mcse`` companion.
METRICS = ("bias", "rmse", "coverage", "ci_length", "emp_sd", "mean_se")


def _valid(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x)


def _count(ok: np.ndarray) -> np.ndarray:
    return ok.sum(axis=-1).astype(float)


def _mean(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    n = _count(ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, x, 0.0).sum(axis=-1) / n


def _sd(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    n = _count(ok)
    m = _mean(x, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.where(ok, (x - m[..., None]) ** 2, 0.0).sum(axis=-1) / (n - 1.0))


def mean_mcse(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the finite values and its MCSE ``sd / sqrt(n)``."""
    x = np.asarray(x, float)
    ok = _valid(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _mean(x, ok), _sd(x, ok) / np.sqrt(_count(ok))


def bias(estimate, truth) -> tuple[np.ndarray, np.ndarray]:
    """``mean(th - theta)`` and ``sd(th - theta) / sqrt(R)``."""
    return mean_mcse(np.asarray(estimate, float) - np.asarray(truth, float))


def rmse(estimate, truth) -> tuple[np.ndarray, np.ndarray]:
    """``sqrt(mean(e^2))`` and its delta-method MCSE ``MCSE(MSE) / (2 RMSE)``."""
    e2 = (np.asarray(estimate, float) - np.asarray(truth, float)) ** 2
    mse, mse_se = mean_mcse(e2)
    r = np.sqrt(mse)
    with np.errstate(invalid="ignore", divide="ignore"):
        return r, np.where(r > 0, mse_se / (2.0 * r), 0.0)


def rate(flags, valid=None) -> tuple[np.ndarray, np.ndarray]:
    """Proportion of True among the valid replications and ``sqrt(p (1 - p) / R)``."""
    flags = np.asarray(flags, float)
    ok = np.isfinite(flags) if valid is None else np.asarray(valid, bool) & np.isfinite(flags)
    p = _mean(flags, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p, np.sqrt(p * (1.0 - p) / _count(ok))


def coverage(lo, hi, truth, valid=None) -> tuple[np.ndarray, np.ndarray]:
    """Share of intervals ``[lo, hi]`` containing the truth, with its MCSE.

    An undefined interval (NaN bounds, e.g. a two-way cluster variance that came out
    negative) counts as not covering; ``valid`` (R,) marks the replications to count
    (default: all).
    """
    lo, hi, truth = (np.asarray(a, float) for a in (lo, hi, truth))
    ok = np.ones(np.broadcast(lo, hi, truth).shape, bool) if valid is None else np.asarray(valid, bool)
    return rate((lo <= truth) & (truth <= hi), ok)


def interval_length(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Mean interval length ``hi - lo`` and its MCSE."""
    return mean_mcse(np.asarray(hi, float) - np.asarray(lo, float))


def empirical_sd(estimate) -> tuple[np.ndarray, np.ndarray]:
    """Sampling sd of the estimates and its approximate MCSE ``sd / sqrt(2 (R - 1))``."""
    x = np.asarray(estimate, float)
    ok = _valid(x)
    sd = _sd(x, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sd, sd / np.sqrt(2.0 * (_count(ok) - 1.0))


def estimate_metrics(estimate, truth, se=None, lo=None, hi=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every estimate metric of :data:`METRICS` that the inputs allow: ``name -> (value, mcse)``.

    Missing inputs give NaN (e.g. no interval: no coverage or length).
    """
    estimate = np.asarray(estimate, float)
    nan = np.full(estimate.shape[:-1], np.nan)
    out = {"bias": bias(estimate, truth), "rmse": rmse(estimate, truth), "emp_sd": empirical_sd(estimate)}
    out["mean_se"] = mean_mcse(se) if se is not None else (nan, nan)
    if lo is not None and hi is not None:
        out["coverage"] = coverage(lo, hi, truth, valid=np.isfinite(estimate))
        out["ci_length"] = interval_length(lo, hi)
    else:
        out["coverage"] = out["ci_length"] = (nan, nan)
    return out


def nominal_band(level: float, reps: int, width: float = 2.0) -> tuple[float, float]:
    """``level ± width · sqrt(level (1 - level) / R)``: where an exact interval's coverage
    estimate falls with probability ~95% (width 2)."""
    half = width * np.sqrt(level * (1.0 - level) / reps)
    return level - half, level + half


def rank_uniformity(ranks, n_draws: int, n_bins: int | None = None) -> np.ndarray:
    """Chi-square p-value of the hypothesis that SBC ranks are uniform on ``0..n_draws``.

    ``ranks`` (..., R): the number of (independent) posterior draws below the true value
    (Talts et al. 2018, "Validating Bayesian inference algorithms with simulation-based
    calibration", arXiv:1804.06788). Ranks are binned into ``n_bins`` groups of consecutive
    values (default ``min(20, R // 5)``, at least 2, so about five or more per bin) with
    expected shares exact for uneven bins. NaN ranks are left out.
    """
    ranks = np.asarray(ranks, float)
    out = np.full(ranks.shape[:-1], np.nan)
    L1 = int(n_draws) + 1
    for idx in np.ndindex(out.shape):
        r = ranks[idx]
        r = r[np.isfinite(r)]
        if r.size < 2:
            continue
        b = n_bins or int(max(2, min(20, r.size // 5, L1)))
        edges = np.floor(np.arange(b + 1) * L1 / b).astype(int)  # bin j holds ranks edges[j]..edges[j+1]-1
        expected = np.diff(edges) / L1 * r.size
        observed = np.histogram(r, bins=edges - 0.5)[0]
        out[idx] = stats.chisquare(observed, expected).pvalue
    return out
