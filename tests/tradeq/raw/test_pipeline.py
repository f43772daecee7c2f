"""The raw pipeline on simulated raw data with known truth: attrition, recovery, batches, files, cache."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from tradeq.dgp.raw_customs import simulate_customs
from tradeq.dgp.raw_firms import simulate_register
from tradeq.dgp.raw_prices import simulate_price_indices
from tradeq.errors import DataError
from tradeq.models.measures.market_integration import market_integration
from tradeq.models.measures.sa_index import fic_index
from tradeq.raw.pipeline import PanelSettings, build_panel


@pytest.fixture(scope="module")
def world():
    register, firms = simulate_register(6_000, seed=3)
    customs, truth = simulate_customs(firms.frame, 60_000, seed=3)
    prices, _ = simulate_price_indices(seed=3)
    return register, customs.drop(columns="line"), prices, truth


@pytest.fixture(scope="module")
def built(world):
    register, customs, prices, _ = world
    return build_panel(customs, register, prices)


def _step(manifest, name):
    rows = [r for r in manifest.attrition if r["step"].startswith(name)]
    assert len(rows) == 1, name
    return rows[0]


def test_attrition_counts_equal_the_injected_defects(world, built):
    _, customs, _, truth = world
    panel, manifest = built
    d = truth.defects
    assert _step(manifest, "customs records read")["rows_out"] == len(customs) == d["records"]
    assert _step(manifest, "missing, zero or negative quantity")["dropped"] == d["missing_quantity"]
    assert _step(manifest, "missing, zero or negative value")["dropped"] == d["zero_value"]
    assert _step(manifest, "firm-year not in the register")["dropped"] == d["unmatched_clean_records"]
    # products whose HS3 is not in the BGW file: all their lines, less those dropped before
    no_sigma = _step(manifest, "products without sigma")
    assert 0 < no_sigma["dropped"] <= d["no_sigma_lines"]
    rows = manifest.attrition
    for before, after in zip(rows[1:], rows[2:]):  # each step starts from the one before
        if before["unit"] == after["unit"] and after["step"] != "exporter firm-years with a quality":
            assert after["rows_in"] == before["rows_out"], (before["step"], after["step"])
    assert manifest.outputs["rows"] == len(panel)


def test_quality_recovers_the_true_firm_year_quality(world, built):
    panel, _ = built
    m = panel.merge(world[3].firm_year, on=["firm_id", "year"], suffixes=("", "_true"))
    assert len(m) > 0.95 * len(panel)
    corr = np.corrcoef(m["quality"], m["quality_true"])[0, 1]
    assert corr >= 0.95, corr
    assert panel["quality"].between(0, 1).all()


def test_market_and_controls_are_the_measures_of_the_inputs(world, built):
    register, _, prices, _ = world
    panel, _ = built
    P = prices.set_index(["year", "province", "category"])["index"].to_xarray()
    market = market_integration(P).market.to_series().rename("ref").reset_index()
    m = panel.merge(market, on=["year", "province"])
    np.testing.assert_allclose(m["Market"], m["ref"], rtol=1e-12)
    reg = register.set_index(["firm_id", "year"]).loc[list(zip(panel.firm_id, panel.year))]
    np.testing.assert_allclose(panel["scale"], np.log(reg["total_assets"]), rtol=1e-12)
    np.testing.assert_allclose(panel["rdebt"], reg["liabilities"] / reg["total_assets"], rtol=1e-12)
    np.testing.assert_allclose(panel["age"], np.log(panel["year"] - reg["founded"].to_numpy() + 1), rtol=1e-12)
    ref = fic_index(reg["total_assets"].to_numpy() / 1000, (panel["year"] - reg["founded"].to_numpy()).to_numpy())
    np.testing.assert_allclose(panel["fic"], ref, rtol=1e-12, equal_nan=True)


def test_peer_measures_match_a_pandas_loop_over_the_records(world, built):
    register, customs, _, _ = world
    panel, _ = built
    ok = customs[customs.quantity.gt(0) & customs.value.gt(0)].merge(register[["firm_id", "year", "industry"]])
    fy = ok.groupby(["firm_id", "year", "industry"], as_index=False)["value"].sum()
    sample = fy.groupby(["industry", "year"]).head(1).head(40)  # one firm from each of 40 industry-years
    pairs = ok.assign(pair=ok.hs8 + "|" + ok.destination)
    got = panel.set_index(["firm_id", "year"])
    for _, row in sample.iterrows():
        peers = fy[(fy.industry == row.industry) & (fy.year == row.year) & (fy.firm_id != row.firm_id)]
        if (row.firm_id, row.year) not in got.index:
            continue
        p = got.loc[(row.firm_id, row.year)]
        if peers.empty:
            assert np.isnan(p.peer_scale)
            continue
        assert p.peer_scale == pytest.approx(peers.value.mean(), rel=1e-10)
        assert p.n_exporters == len(peers) + 1
        others = pairs[(pairs.industry == row.industry) & (pairs.year == row.year) & (pairs.firm_id != row.firm_id)]
        assert p.peer_diversity == others.pair.nunique()


def test_batches_of_chapters_and_industries_give_the_same_panel(world, built):
    register, customs, prices, _ = world
    panel, _ = built
    small, manifest = build_panel(customs, register, prices, settings=PanelSettings(max_partition_rows=4_000))
    assert manifest.outputs["quality_batches"] > 5
    pd.testing.assert_frame_equal(small, panel, rtol=1e-12)


def test_files_manifest_and_cache(world, built, tmp_path):
    register, customs, prices, _ = world
    panel, _ = built
    customs.to_csv(tmp_path / "customs.csv", index=False)  # hs8 with leading zeros must survive
    register.to_parquet(tmp_path / "register.parquet", index=False)
    prices.to_csv(tmp_path / "prices.csv", index=False)
    args = (tmp_path / "customs.csv", tmp_path / "register.parquet", tmp_path / "prices.csv")
    from_files, manifest = build_panel(*args, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    pd.testing.assert_frame_equal(from_files, panel, rtol=1e-10)
    assert manifest.inputs["customs"]["sha256"] == hashlib.sha256((tmp_path / "customs.csv").read_bytes()).hexdigest()
    assert manifest.inputs["customs"]["rows"] == len(customs) and not manifest.from_cache
    assert (tmp_path / "out" / "panel.parquet").is_file() and (tmp_path / "out" / "manifest.json").is_file()
    again, cached = build_panel(*args, cache_dir=tmp_path / "cache")
    assert cached.from_cache and cached.cache_key == manifest.cache_key and cached.attrition == manifest.attrition
    pd.testing.assert_frame_equal(again, from_files)
    _, other = build_panel(*args, cache_dir=tmp_path / "cache", settings=PanelSettings(sigma=4.0))
    assert not other.from_cache and other.cache_key != manifest.cache_key
    assert not list((tmp_path / "out").glob(".*.tmp"))  # written by rename


def test_linkage_channel(world, built):
    register, customs, prices, _ = world
    panel, _ = built
    industries = sorted(register.industry.unique())
    rng = np.random.default_rng(0)
    W = pd.DataFrame(rng.random((len(industries),) * 2), index=industries, columns=industries)
    linked, _ = build_panel(customs, register, prices, linkage=W)
    # industry-year export totals over all exporters (the pipeline's S_jt), by brute force
    ok = customs[customs.quantity.gt(0) & customs.value.gt(0)].merge(register[["firm_id", "year", "industry"]])
    S = ok.groupby(["industry", "year"])["value"].sum().unstack(fill_value=0.0).reindex(industries, fill_value=0.0)
    Wn = W.to_numpy().copy()
    np.fill_diagonal(Wn, 0.0)
    Wn /= Wn.sum(axis=1, keepdims=True)
    ref = pd.DataFrame(Wn @ S.to_numpy(), index=industries, columns=S.columns).stack()
    got = linked.set_index(["industry", "year"])["network_scale"]
    np.testing.assert_allclose(got.to_numpy(), ref.loc[got.index].to_numpy(), rtol=1e-10)


def test_missing_column_and_duplicate_register_rows_are_data_errors(world, tmp_path):
    register, customs, prices, _ = world
    path = tmp_path / "bad.parquet"
    customs.drop(columns="quantity").to_parquet(path)
    with pytest.raises(DataError, match=r"customs .*bad.parquet.* lacks column 'quantity'"):
        build_panel(path, register, prices)
    with pytest.raises(DataError, match="duplicate"):
        build_panel(customs, pd.concat([register, register.head(1)]), prices)
    with pytest.raises(DataError, match="does not exist"):
        build_panel(tmp_path / "nope.csv", register, prices)


def test_hs6_products_collapse_hs8_lines(world, built):
    # every simulated HS6 heading holds one HS8 product: give each record one of two HS8
    # codes under its heading; at 6 digits they collapse back into the original lines
    register, customs, prices, _ = world
    panel, manifest = built
    rng = np.random.default_rng(1)
    split = customs.assign(hs8=customs.hs8.str[:6] + rng.choice(["01", "02"], len(customs)))
    panel6, m6 = build_panel(split, register, prices, settings=PanelSettings(product_digits=6))
    _, m8 = build_panel(split, register, prices)
    assert _step(m8, "collapsed")["rows_out"] > _step(m6, "collapsed")["rows_out"]
    assert _step(m6, "collapsed")["rows_out"] == _step(manifest, "collapsed")["rows_out"]
    pd.testing.assert_frame_equal(panel6, panel, rtol=1e-10)


def test_chapter_shares_add_up_to_the_whole(world):
    # the map-reduce of docs/performance.md: workers' partial sums over disjoint chapters
    from tradeq.raw import readers, steps
    from tradeq.raw.quality_step import estimate_quality

    register, customs, _, _ = world
    con = readers.connect()
    readers.register_source(con, "customs", customs, readers.CUSTOMS_COLUMNS)
    readers.register_source(con, "register", register, readers.REGISTER_COLUMNS)
    steps.register_dimension(con, steps.Attrition())
    steps.build_lines(con, steps.Attrition(), 8)
    n_fy = con.execute("SELECT count(*) FROM fy_dim").fetchall()[0][0]
    chapters = sorted(r[0] for r in con.execute("SELECT DISTINCT chapter FROM lines").fetchall())
    whole = estimate_quality(con, steps.Attrition(), n_fy, 10**9)
    parts = [estimate_quality(con, steps.Attrition(), n_fy, 10**9, chapters=chapters[i::3]) for i in range(3)]
    for key in ("weighted", "value", "n_lines"):
        np.testing.assert_allclose(sum(p[key] for p in parts), whole[key], rtol=1e-12)
    con.close()
