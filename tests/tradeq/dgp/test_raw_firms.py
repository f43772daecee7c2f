"""Firm-register simulator: columns, units and the Table 2 calibration of the controls."""

from __future__ import annotations

import numpy as np

from tradeq.dgp.raw_firms import simulate_register
from tradeq.dgp.raw_prices import PROVINCES


def test_register_format_and_calibration():
    reg, firms = simulate_register(4_000, seed=2)
    assert list(reg.columns) == ["firm_id", "year", "province", "city", "industry", "ownership", "founded",
                                 "total_assets", "liabilities", "profit", "inventory", "employment"]
    assert not reg.duplicated(["firm_id", "year"]).any() and set(reg.province) <= set(PROVINCES)
    assert (reg.year >= reg.founded).all() and reg.industry.str.len().eq(2).all()
    scale = np.log(reg.total_assets)
    assert abs(scale.median() - 10.75) < 0.2 and abs(scale.std() - 1.45) < 0.2  # Table 2: 10.746, 1.449
    assert abs(np.log(reg.year - reg.founded + 1).median() - 2.12) < 0.35
    assert abs((reg.liabilities / reg.total_assets).median() - 0.553) < 0.05
    spells = reg.groupby("firm_id").year.agg(lambda y: y.max() - y.min() + 1 == len(y))
    assert spells.all() and firms.frame.exporter.mean() > 0.3
