"""`python estimate.py experiment=tableN` reproduces each table's layout on a reduced synthetic panel,
and the generic mediation entry works on a user's file.

The experiments run in this process (Hydra's compose API and the same ``run`` that
``estimate.py`` calls), so JAX compiles once for all of them; one test goes through the real
command line.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from composing import compose_config

from tradeq.config import register_configs

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
SMALL = ["data.n_firms=2500", "data.n_years=10", "data.n_obs=null"]
BAYES = ["inference.draws=200", "inference.tune=200", "inference.chains=2"]
MEDIATION = {"table6", "table7"}
CONTROLS = ["scale", "age", "roa", "rdebt", "fic"]
register_configs()


def run_experiment(name, tmp_path, *extra):
    import estimate
    from tradeq.specs import estimate_spec

    sizes = [*([] if "data=file" in extra else SMALL), *(["model.n_boot=300"] if name in MEDIATION else []),
             *([] if "inference.kind=fe" in extra else BAYES)]
    cfg = compose_config("estimate", [f"experiment={name}", *sizes, *extra])
    out = tmp_path / name
    report = estimate.run(estimate_spec(cfg), out, cfg)
    return out, report, (out / "table.md").read_text()


def rows(table: str) -> list[str]:
    """Row labels of a markdown table (coefficient rows and the rows below them)."""
    labels = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    return [lab for lab in labels if lab and lab != "VARIABLES"]


def header(table: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith("|  |"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def cell(table: str, row: str, col: int) -> str:
    line = next(line for line in table.splitlines() if line.startswith(f"| {row} |"))
    return line.strip("|").split("|")[col].strip()


def test_table4_layout(tmp_path):
    out, res, md = run_experiment("table4", tmp_path, "inference.kind=fe")
    assert header(md) == ["quality", "quality", "Truth"]
    assert rows(md)[:2] == ["Market", "Market²"] and set(CONTROLS) <= set(rows(md))
    for r in ("firm FE", "year FE", "Observations", "R²", "Turning point", "Lind–Mehlum t (p)", "U-test verdict"):
        assert r in rows(md), r
    assert cell(md, "scale", 1) == ""  # column (1) has no controls
    assert cell(md, "Market", 3) == "0.0534" and cell(md, "Market²", 3) == "-0.0066"
    assert (out / "baseline.json").is_file() and (out / "table.tex").is_file()


def test_table5_layout_and_n_shrink(tmp_path):
    out, res, md = run_experiment("table5", tmp_path, "inference.kind=fe")
    assert header(md) == ["quality"] * 6 + ["Truth"]
    assert rows(md)[:3] == ["L.Market", "L2.Market", "L3.Market"]
    for k in ("", "L.", "L2.", "L3."):
        assert all(f"{k}{c}" in rows(md) for c in CONTROLS)
    n = [int(cell(md, "Observations", j).replace(",", "")) for j in range(1, 7)]
    assert n[0] > n[1] > n[2] and n[:3] == n[3:]  # shrinks with the lag; same rows in both halves
    assert cell(md, "Controls", 1) == "current" and cell(md, "Controls", 4) == "lagged"
    s = json.loads((out / "lags.json").read_text())
    assert 0 < s["n_shrink"]["3"] < s["n_shrink"]["2"] < s["n_shrink"]["1"] < 1


def test_table6_layout_bayes_and_province_clustering(tmp_path):
    out, res, md = run_experiment("table6", tmp_path)
    assert header(md) == ["quality", "humancapital", "quality", "Bayes (joint)", "Truth"]
    assert rows(md)[:2] == ["L.Market", "L.Market²"] and "humancapital" in rows(md)
    for r in ("a", "b", "Indirect effect a·b", "a·b 95% bootstrap CI (BCa)", "a·b 95% credible interval",
              "Sobel z (p)", "Aroian z (p)", "Goodman z (p)", "Direct effect", "Total effect (direct + indirect)",
              "Proportion mediated", "Total effect, eq. (1)", "Effects at"):
        assert r in rows(md), r
    assert cell(md, "SE", 2) == "cluster (province)" and cell(md, "SE", 3) == "cluster (firm)"
    m = json.loads((out / "mediation.json").read_text())
    assert m["boot_unit"] == "province" and m["truth"]["a"] == 0.0303 and m["truth"]["b"] == 0.0338
    a = m["bayes"]["groups"]["pooled"]["a"]
    # the posterior of a covers the truth: within 3 posterior sds (~1.5 sds at this size is a
    # coin flip across seeds, not evidence)
    assert abs(a["mean"] - 0.0303) < 3 * a["sd"] and a["lo"] < 0.0303 < a["hi"]
    assert (out / "posterior.nc").is_file()


def test_table7_layout(tmp_path):
    out, res, md = run_experiment("table7", tmp_path, "inference.kind=fe")
    assert header(md) == ["quality", "rd", "quality", "Truth"]
    assert "rd" in rows(md) and cell(md, "a", 4) == "0.0804" and cell(md, "b", 4) == "-0.0016"
    m = json.loads((out / "mediation.json").read_text())
    assert m["boot_unit"] == "firm" and m["a"] == pytest.approx(0.0804, abs=0.01)


@pytest.mark.parametrize("name,groups", [
    ("table9", ["labour", "capital"]),
    ("table10", ["2004-2007", "2008-2013"]),
    ("table11", ["East", "West", "Central"]),
])
def test_heterogeneity_tables_layout(tmp_path, name, groups):
    out, res, md = run_experiment(name, tmp_path, "inference.kind=fe", "output.plots=false")
    assert header(md) == groups + [f"{g} (truth)" for g in groups]
    assert rows(md)[:2] == ["Market", "Market²"]
    for r in ("Turning point", "Lind–Mehlum t (p)", "U-test verdict", "Observations"):
        assert r in rows(md)
    assert "Equal curves across groups" in md
    s = json.loads((out / "heterogeneity.json").read_text())
    assert s["groups"] == groups and s["equality_test"]["joint"]["q"] == 2 * (len(groups) - 1)


def test_table8_with_partial_pooling_and_forest_plots(tmp_path):
    out, res, md = run_experiment("table8", tmp_path, "inference.chains=1", "inference.draws=150", "inference.tune=150")
    assert header(md) == ["SOE", "non-SOE", "SOE (Bayes)", "non-SOE (Bayes)", "SOE (truth)", "non-SOE (truth)"]
    assert "P(inverted U)" in rows(md) and cell(md, "SE", 3) == "posterior sd"
    assert cell(md, "Market", 5) == "-0.0028" and cell(md, "Market", 6) == "0.0573"
    for f in ("forest_b1.png", "forest_b2.png", "posterior.nc", "heterogeneity.json"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f


def test_generic_mediation_on_user_file(tmp_path):
    """The README's generic entry: any CSV, no FE, no cluster → HC1 and a row bootstrap."""
    rng = np.random.default_rng(3)
    n = 800
    df = pd.DataFrame({"firm": np.arange(n), "year": 2020, "x": rng.normal(size=n), "c1": rng.normal(size=n),
                       "c2": rng.normal(size=n)})
    df["m"] = 0.5 * df.x + 0.2 * df.c1 + rng.normal(size=n)
    df["y"] = 0.3 * df.x + 0.4 * df.m - 0.1 * df.c2 + rng.normal(size=n)
    path = tmp_path / "f.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "estimate.py", "model=mediation", "data=file", f"data.path={path}", "model.outcome=y",
         "model.treatment=x", "model.mediator=m", "model.controls=[c1,c2]", "model.fe=[]", "model.quadratic=false",
         "model.n_boot=500", f"hydra.run.dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    m = json.loads((out / "mediation.json").read_text())
    for key in ("a", "b", "indirect", "direct", "total", "proportion", "sobel_z", "sobel_p", "boot_ci", "n_boot"):
        assert key in m, key
    assert m["boot_unit"] == "rows" and m["n_boot"] == 500 and m["vcov"]["outcome"] == "hc1"
    assert m["a"] == pytest.approx(0.5, abs=0.1) and m["b"] == pytest.approx(0.4, abs=0.1)
    assert m["total"] == pytest.approx(m["direct"] + m["indirect"], rel=1e-9)  # exact without the square
    assert m["boot_ci"][0] < m["indirect"] < m["boot_ci"][1]
    assert "Indirect effect a·b" in (out / "table.md").read_text()


def test_experiment_on_a_user_file(tmp_path):
    """``experiment=table9 data=file``: the same table from a file (no truth columns then)."""
    from tradeq.dgp.firm_panel import FirmPanelParams, paper_group_params, simulate_firm_panel

    frame, _ = simulate_firm_panel(FirmPanelParams(**paper_group_params("intensity")), n_firms=1500, n_years=8, seed=1)
    path = tmp_path / "panel.parquet"
    frame.rename(columns={"quality": "exp_quality"}).to_parquet(path)
    out, res, md = run_experiment("table9", tmp_path, "data=file", f"data.path={path}",
                                  "data.rename={exp_quality: quality}", "inference.kind=fe", "output.plots=false")
    assert header(md) == ["labour", "capital"]
    assert "truth" not in md.lower().split("standard errors")[0]
    s = json.loads((out / "heterogeneity.json").read_text())
    assert s["truth"] is None and s["split"]["labour"]["n_obs"] > 0


def test_every_paper_table_has_an_experiment():
    from tradeq.analyses.experiments import available

    tables = {name: text for name, text in available().items() if name.startswith("table")}  # the market paper's
    assert list(tables) == [f"table{n}" for n in range(4, 12)]
    assert all(text.startswith(f"Table {n}") for n, text in zip(range(4, 12), tables.values()))
