"""The Moulton diagnostic: a regressor constant within province-year cells with errors clustered by firm is
flagged, naming province as the level to cluster at; one that varies within the clusters is not; and the
warning reaches the table note and run.json of a model=fe run."""

from __future__ import annotations

import pytest
from cluster_runs import read_json, run

from tradeq.analyses.design_level import design_level
from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel

CANDIDATES = ["firm", "year", "province", "region", "soe", "ownership", "intensity"]


@pytest.fixture(scope="module")
def firms():
    return simulate_firm_panel(FirmPanelParams(), n_firms=1200, n_years=8, seed=3, n_obs=None)[0]


def test_market_is_province_year_and_firm_clusters_are_below_it(firms):
    d = design_level(firms, "Market", "firm", CANDIDATES, time="year")
    assert d.level == ("province", "year") and d.warn
    assert d.n_cells == firms.groupby(["province", "year"]).ngroups
    assert d.clusters_per_cell == pytest.approx(firms.groupby(["province", "year"])["firm"].nunique().mean())
    assert d.suggest == "province" and d.n_suggest == firms["province"].nunique()
    assert "Moulton" in d.message and "model.cluster=province" in d.message and "model.wild=true" in d.message


def test_no_warning_when_clustered_at_the_level_or_when_the_regressor_varies_within_clusters(firms):
    assert not design_level(firms, "Market", "province", CANDIDATES, time="year").warn
    firm_level = design_level(firms, "scale", "firm", CANDIDATES, time="year")  # varies within every firm
    assert firm_level.level == () and not firm_level.warn and firm_level.message == ""


def test_unclustered_errors_are_flagged_too(firms):
    d = design_level(firms, "Market", None, CANDIDATES, time="year", vcov="hc1")
    assert d.warn and "errors are not clustered" in d.message


def test_a_province_level_regressor(firms):
    frame = firms.assign(coast=firms["province"].map({p: i % 2 for i, p in enumerate(sorted(firms["province"].unique()))})
                         .astype(float))
    d = design_level(frame, "coast", "firm", CANDIDATES, time="year")
    assert d.level == ("province",) and d.warn and d.suggest == "province"


def test_the_warning_reaches_the_table_and_run_record(tmp_path):
    _, md, _ = run(tmp_path, "model=inverted_u", "data.n_firms=1200", "data.n_years=8", "data.n_obs=null",
                   "output.plots=false")
    rec = read_json(tmp_path, "run.json")["design_level"]
    assert rec["warn"] and rec["level"] == ["province", "year"] and rec["suggest"] == "province"
    assert "Design: Market is constant within province × year cells" in md
    # clustered by province: no warning
    _, md2, _ = run(tmp_path / "p", "model=inverted_u", "data.n_firms=1200", "data.n_years=8", "data.n_obs=null",
                    "model.cluster=province", "output.plots=false")
    assert "Moulton" not in md2 and not read_json(tmp_path / "p", "run.json")["design_level"]["warn"]
