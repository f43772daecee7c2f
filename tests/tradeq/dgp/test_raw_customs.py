"""Customs-record simulator: the format users have, the injected defects, and sigma by the pipeline's rule."""

from __future__ import annotations

import numpy as np

from tradeq.dgp.raw_customs import CustomsParams, simulate_customs
from tradeq.dgp.raw_firms import simulate_register
from tradeq.raw.sigmas import resolve_sigmas


def test_records_format_defects_and_truth():
    reg, firms = simulate_register(3_000, seed=4)
    rec, truth = simulate_customs(firms.frame, 30_000, seed=4)
    assert list(rec.columns) == ["firm_id", "year", "hs8", "destination", "trade_mode", "value", "quantity",
                                 "unit", "line"]
    assert rec.hs8.str.fullmatch(r"\d{8}").all() and set(rec.trade_mode) == {"general", "processing"}
    assert 0.8 * 30_000 < len(rec) < 1.2 * 30_000
    d = truth.defects
    assert d["missing_quantity"] == rec.quantity.isna().sum() and d["zero_value"] == (rec.value == 0).sum()
    assert d["unmatched_records"] == (~rec.firm_id.isin(reg.firm_id)).sum() > 0
    assert d["records"] == d["lines"] + d["split_lines"] and d["no_sigma_lines"] > 0
    lines = truth.lines
    check = lines.drop_duplicates("product").head(50)
    ref = resolve_sigmas(check.assign(hs3=check.hs8.str[:3])[["hs3", "destination"]])
    np.testing.assert_array_equal(check.sigma.to_numpy(), ref.sigma.to_numpy())
    s = lines.sigma.dropna()
    assert s.between(CustomsParams().sigma_min, CustomsParams().sigma_max).all()
    assert truth.firm_year.quality.between(0, 1).all()


def test_seeded():
    _, firms = simulate_register(1_000, seed=5)
    a, _ = simulate_customs(firms.frame, 5_000, seed=5)
    b, _ = simulate_customs(firms.frame, 5_000, seed=5)
    assert a.equals(b)
