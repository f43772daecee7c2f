"""Price-index simulator: the yearbook format, and the index recovers the known segmentation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tradeq.dgp.raw_prices import CATEGORIES, PROVINCES, simulate_price_indices
from tradeq.models.measures.market_integration import market_integration


def test_format_and_determinism():
    a, truth = simulate_price_indices(seed=1)
    b, _ = simulate_price_indices(seed=1)
    assert list(a.columns) == ["year", "province", "category", "index"]
    assert len(a) == 10 * len(PROVINCES) * len(CATEGORIES) and a["index"].between(80, 125).all()
    assert a.equals(b)
    seg = truth.pair_segmentation.values
    np.testing.assert_allclose(seg, np.swapaxes(seg, 1, 2), equal_nan=True)  # symmetric pairs
    assert np.isnan(seg[:, 0, 0]).all() and truth.segmentation.dims == ("year", "province")


def _spearman(seed: int) -> float:
    frame, truth = simulate_price_indices(seed=seed)
    res = market_integration(frame.set_index(["year", "province", "category"])["index"].to_xarray())
    seg = truth.segmentation.sel(province=res.var.province.values)
    return stats.spearmanr(res.var.values.ravel(), seg.values.ravel())[0]


def test_index_ranks_provinces_by_their_true_segmentation():
    # 10 seeds; with the paper's 10 categories each var_pt is a variance of 10 numbers
    rho = np.array([_spearman(seed) for seed in range(10)])
    mcse = rho.std(ddof=1) / np.sqrt(rho.size)
    assert rho.mean() - 2 * mcse >= 0.9, (rho.mean(), mcse)
    assert rho.min() >= 0.85


def test_calibrated_to_the_papers_market_range():
    frame, _ = simulate_price_indices(seed=0)
    market = market_integration(frame.set_index(["year", "province", "category"])["index"].to_xarray()).market
    assert 3.0 < float(market.min()) and float(market.max()) < 5.3
    assert float(market.median()) == pytest.approx(4.276, abs=0.35)
    early, late = market.sel(year=2004).mean(), market.sel(year=2013).mean()
    assert late - early > 0.3  # segmentation falls over the decade, as in Table 1
