"""The pipeline's columns for the spillover study, each against a brute-force pandas computation
on the records: quality by destination income, own diversity, city-level peers, the trade-mode
filter, the log identities, intensity and the industry-year key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.dgp.raw_customs import simulate_customs
from tradeq.dgp.raw_firms import simulate_register
from tradeq.dgp.raw_prices import simulate_price_indices
from tradeq.errors import DataError
from tradeq.raw.classifications import high_income, intensity
from tradeq.raw.pipeline import PanelSettings, build_panel

SIGMA = 4.0  # one elasticity everywhere: the reference below needs no σ lookup


@pytest.fixture(scope="module")
def world():
    register, firms = simulate_register(3_000, seed=5)
    customs, _ = simulate_customs(firms.frame, 30_000, seed=5)
    prices, _ = simulate_price_indices(seed=5)
    return register, customs.drop(columns="line"), prices


@pytest.fixture(scope="module")
def built(world):
    register, customs, prices = world
    return build_panel(customs, register, prices, settings=PanelSettings(sigma=SIGMA))[0]


def _clean_lines(customs, register, modes=None):
    ok = customs[customs.quantity.gt(0) & customs.value.gt(0)]
    if modes is not None:
        ok = ok[ok.trade_mode.isin(modes)]
    ok = ok.merge(register[["firm_id", "year", "industry", "city"]])
    return ok.groupby(["firm_id", "year", "industry", "city", "hs8", "destination"], as_index=False)[
        ["value", "quantity"]].sum()


def _ksw_by_income(lines: pd.DataFrame) -> pd.DataFrame:
    """SPEC 2b eqs. 1-4 by pandas group-bys, then eq. 4 over high- and low-income lines apart."""
    y = np.log(lines.quantity) + SIGMA * np.log(lines.value / lines.quantity)
    cell = lines.groupby(["hs8", "destination", "year"])["value"].transform("size")
    d = lines.assign(y=y)[cell > 1].copy()
    d["q"] = (d.y - d.groupby(["hs8", "destination", "year"]).y.transform("mean")) / (SIGMA - 1)
    lo, hi = d.groupby("hs8").q.transform("min"), d.groupby("hs8").q.transform("max")
    d["r"] = (d.q - lo) / (hi - lo)
    d = d[np.isfinite(d.r)]
    d["high"] = high_income(d.destination)
    out = {}
    for name, part in (("quality", d), ("quality_high_income", d[d.high]), ("quality_low_income", d[~d.high])):
        g = part.assign(vr=part.value * part.r).groupby(["firm_id", "year"])
        out[name] = g.vr.sum() / g.value.sum()
    return pd.DataFrame(out).reset_index()


def test_quality_by_destination_income_matches_pandas(world, built):
    register, customs, _ = world
    ref = _ksw_by_income(_clean_lines(customs, register))
    m = built.merge(ref, on=["firm_id", "year"], suffixes=("", "_ref"), validate="1:1")
    assert len(m) == len(built) and m["quality_low_income"].notna().sum() > 100
    for col in ("quality", "quality_high_income", "quality_low_income"):
        np.testing.assert_allclose(m[col], m[f"{col}_ref"], rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=col)


def test_own_diversity_and_city_peers_match_pandas(world, built):
    register, customs, _ = world
    lines = _clean_lines(customs, register)
    fy = lines.groupby(["firm_id", "year", "city"], as_index=False).agg(value=("value", "sum"), pairs=("hs8", "size"))
    m = built.merge(fy, on=["firm_id", "year"], validate="1:1")
    assert (m["own_diversity"] == m["pairs"]).all()
    S = fy.groupby(["city", "year"]).value.transform("sum")
    n = fy.groupby(["city", "year"]).value.transform("size")
    fy["ref"] = np.where(n > 1, (S - fy.value) / (n - 1), np.nan)
    m = built.merge(fy[["firm_id", "year", "ref"]], on=["firm_id", "year"])
    np.testing.assert_allclose(m["city_peer_scale"], m["ref"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(m["ln_city_peer_scale"], np.log(m["ref"]), rtol=1e-12, equal_nan=True)


def test_log_identities_of_the_alternative_measures(built):
    b = built.dropna(subset=["ln_n_peers"])
    np.testing.assert_allclose(b.ln_peer_sum, b.ln_peer_scale + b.ln_n_peers, rtol=1e-12)
    np.testing.assert_allclose(b.ln_peer_diversity_per_peer, b.ln_peer_diversity - b.ln_n_peers, rtol=1e-12)
    np.testing.assert_allclose(b.ln_exporters, np.log(b.n_exporters), rtol=1e-12)
    np.testing.assert_allclose(b.ln_own_diversity, np.log(b.own_diversity), rtol=1e-12)


def test_general_trade_only_drops_and_counts_processing_records(world, built):
    register, customs, prices = world
    settings = PanelSettings(sigma=SIGMA, trade_modes=("general",))
    general, manifest = build_panel(customs, register, prices, settings=settings)
    step = next(r for r in manifest.attrition if r["step"].startswith("trade mode not in"))
    ok = customs[customs.quantity.gt(0) & customs.value.gt(0)]
    assert step["dropped"] == int((ok.trade_mode != "general").sum()) > 0
    ref = _ksw_by_income(_clean_lines(customs, register, modes=["general"]))
    m = general.merge(ref, on=["firm_id", "year"], suffixes=("", "_ref"), validate="1:1")
    np.testing.assert_allclose(m["quality"], m["quality_ref"], rtol=1e-10, atol=1e-12)
    assert not np.allclose(general.set_index(["firm_id", "year"]).quality.reindex(
        built.set_index(["firm_id", "year"]).index), built.quality.to_numpy(), equal_nan=True)


def test_trade_modes_need_the_column(world):
    register, customs, prices = world
    with pytest.raises(DataError, match="no 'trade_mode' column"):
        build_panel(customs.drop(columns="trade_mode"), register, prices,
                    settings=PanelSettings(trade_modes=("general",)))


def test_intensity_and_industry_year(built):
    assert (built["intensity"].to_numpy() == intensity(built["industry"])).all()
    assert set(built["intensity"].dropna()) <= {"labour", "capital", "technology"}
    assert (built["industry_year"] == built["industry"].astype(str) + "-" + built["year"].astype(str)).all()


def test_classifications():
    assert high_income(["USA", "United States", "Hong Kong", "Vietnam", "SaudiArabia", "unitedkingdom"]).tolist() == [
        True, True, True, False, False, True]
    assert high_income(["Vietnam", "USA"], listed=["Vietnam"]).tolist() == [True, False]
    assert intensity(["27", 17, "1711", "37.0", "99"]).tolist() == ["technology", "labour", "labour", "technology", None]
    assert intensity(["13"], {"13": "capital"}).tolist() == ["capital"]
