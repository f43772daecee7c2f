"""Monte Carlo metrics and their MC standard errors."""

import numpy as np
import pytest

from tradeq.montecarlo import metrics as M


def test_metrics_and_mcse():
    rng = np.random.default_rng(3)
    R = 4000
    est = 1.0 + 0.1 + rng.normal(0, 0.5, R)  # bias 0.1, sd 0.5
    v, s = M.bias(est, 1.0)
    assert abs(v - 0.1) < 3 * s and s == pytest.approx(0.5 / np.sqrt(R), rel=0.05)
    r, rs = M.rmse(est, 1.0)
    assert r == pytest.approx(np.sqrt(0.1 ** 2 + 0.25), rel=0.03)
    # delta-method MCSE of the RMSE against a bootstrap of the replications
    boot = [np.sqrt(np.mean((est[i] - 1.0) ** 2)) for i in rng.integers(0, R, (300, R))]
    assert rs == pytest.approx(np.std(boot), rel=0.15)
    flags = rng.random(R) < 0.93
    p, ps = M.rate(flags)
    assert p == flags.mean() and ps == pytest.approx(np.sqrt(p * (1 - p) / R))
    lo, hi = est - 1.0, est + 1.0
    c, _ = M.coverage(lo, hi, np.ones(R))
    assert c == np.mean((lo <= 1) & (1 <= hi))


def test_failed_fits_are_left_out():
    est = np.array([1.0, np.nan, 3.0])
    v, _ = M.bias(est, 0.0)
    assert v == 2.0
    out = M.estimate_metrics(est, np.zeros(3))
    assert np.isnan(out["coverage"][0])


def test_rank_uniformity():
    rng = np.random.default_rng(4)
    uniform = rng.integers(0, 100, (3, 500))
    assert (M.rank_uniformity(uniform, 99) > 0.001).all()
    skewed = np.minimum(rng.integers(0, 100, 500), rng.integers(0, 100, 500))
    assert M.rank_uniformity(skewed, 99) < 1e-6
