"""``model=clusters_bayes`` / ``experiment=clusters_bayes``: the OLS side against pyfixest (cell slopes,
clustered SEs and every contrast's SE), the command line end to end on a small panel with every file
it promises, and one ``error:`` line for every bad setting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_runs import ROOT, config, run  # noqa: E402

from tradeq.cli import describe_config_error  # noqa: E402
from tradeq.errors import TradeqError  # noqa: E402
from tradeq.specs import estimate_spec  # noqa: E402

SMALL = ["experiment=clusters_bayes", "data.dgp.n_years=8", "data.dgp.break_year=2006", "inference.draws=200",
         "inference.tune=200", "inference.chains=2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clusters_bayes")
    report, md, est = run(out, *SMALL, "output.plots=false")
    return out, report, md, est


def test_ols_cell_slopes_and_contrasts_equal_pyfixest(small_run):
    pf = pytest.importorskip("pyfixest")
    from cluster_runs import province_panel

    out, _, _, est = small_run
    frame = province_panel(ic_slopes="region_break", n_years=8, break_year=2006)[0]
    cells = [(r, p) for r in ("East", "Central", "West") for p in ("2001-2005", "2006-2008")]
    cols = {f"c{i}": np.where((frame["region"].astype(str) == r) & (frame["period"] == p), frame["IC"], 0.0)
            for i, (r, p) in enumerate(cells)}
    data = frame.assign(**cols)
    fit = pf.feols(f"TU ~ {' + '.join(cols)} + CX + HUM + FDI + GOV + INF | province + year", data=data,
                   vcov={"CRV1": "province"})
    b, V = fit.coef().to_numpy()[:6], fit._vcov[:6, :6]
    ols = est[est["method"] == "fe"].set_index("term")
    labels = [f"{r}, {p}" for r, p in cells]
    np.testing.assert_allclose(ols.loc[labels, "estimate"], b, rtol=1e-8)
    np.testing.assert_allclose(ols.loc[labels, "std_error"], np.sqrt(np.diag(V)), rtol=1e-8)
    summary = json.loads((out / "clusters_bayes.json").read_text())
    weights = xr.open_datatree(out / "posterior.nc")["constant_data"]["contrast_weights"]
    for row in (r for r in summary["table"] if r["kind"] == "contrast"):
        w = weights.sel(comparison=row["quantity"]).values.reshape(-1)
        assert row["ols_estimate"] == pytest.approx(w @ b, rel=1e-8, abs=1e-12)
        assert row["ols_se"] == pytest.approx(np.sqrt(w @ V @ w), rel=1e-8)


def test_the_run_writes_its_tables_posterior_and_truth(small_run):
    out, _, md, est = small_run
    for name in ("posterior.nc", "estimates.csv", "clusters_bayes.json", "table.md", "table.tex", "run.json"):
        assert (out / name).is_file(), name
    dt = xr.open_datatree(out / "posterior.nc")
    post = dt["posterior"]
    assert list(post["region"].values) == ["East", "Central", "West"]
    assert list(post["period"].values) == ["2001-2005", "2006-2008"]
    assert post["slope"].dims == ("chain", "draw", "region", "period") and post["slope"].shape == (2, 200, 3, 2)
    assert {"posterior", "prior", "sample_stats", "constant_data"} <= set(dt.children)
    assert "| Central (all years) |" in md and "| East - Central (all years) |" in md
    assert "What 8 Central provinces can and cannot say" in md and "| East: 2001-2005 - 2006-2008 |" in md
    post_rows = est[(est["method"] == "bayes") & (est["kind"] == "slope")]
    assert len(post_rows) == 6 and post_rows["truth"].notna().all()
    assert np.all(np.abs(post_rows["estimate"] - post_rows["truth"]) < 4 * post_rows["std_error"])
    rec = json.loads((out / "run.json").read_text())
    assert rec["bayes"]["divergences"] == 0 and rec["bayes"]["max_rhat"] < 1.05


def test_the_experiment_runs_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "estimate.py", *SMALL, f"hydra.run.dir={tmp_path}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for name in ("posterior.nc", "bayes_forest_slopes.png", "bayes_forest_contrasts.png", "table.md", "estimates.csv"):
        assert (tmp_path / name).is_file(), name
    assert "Posterior beside OLS" in proc.stdout
    est = pd.read_csv(tmp_path / "estimates.csv")
    assert set(est["method"]) == {"fe", "bayes"}


@pytest.mark.parametrize("overrides,message", [
    (["model.pooling=nested"], "model.pooling"),
    (["model.tau_scale=0"], "model.tau_scale=0"),
    (["model.vcov=twoway"], "model.vcov=twoway: the OLS comparison takes iid, hc1 or cluster"),
    (["model.period=region"], "model.period=region: must be a different column"),
    (["model.region_levels=[East,East]"], "model.region_levels"),
])
def test_a_bad_setting_is_one_line(overrides, message):
    try:
        estimate_spec(config("experiment=clusters_bayes", *overrides))
    except TradeqError as err:
        text = str(err)
    except (HydraException, OmegaConfBaseException) as err:
        text = describe_config_error(err)
    else:
        raise AssertionError(f"{overrides} passed")
    assert message in text and "\n" not in text, text


@pytest.mark.parametrize("overrides,message", [
    (["inference=fe"], "model=clusters_bayes is a Bayesian model: run it with inference=bayes"),
    (["inference.backend=pymc"], "inference.backend=pymc: model=clusters_bayes does not take it"),
    (["inference.groups=[region]"], "its groups are model.region × model.period"),
    (["model.region=zone"], "model.region='zone' is not a column"),
    (["model.region_levels=[East,Central]"], "has values ['West'] outside model.region_levels"),
    (["model.core=IC2"], "model.core='IC2' is not a regressor of model.formula"),
    (["model.sample='region == \"East\"'"], "cells ['Central:2001-2016'"),
])
def test_a_bad_setting_at_run_time_is_one_line(tmp_path, overrides, message):
    quick = [] if overrides == ["inference=fe"] else ["inference.draws=10", "inference.tune=10", "inference.chains=1"]
    with pytest.raises(TradeqError) as err:
        run(tmp_path, "experiment=clusters_bayes", "output.plots=false", *quick, *overrides)
    assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_an_error_reaches_the_command_line_as_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "estimate.py", "experiment=clusters_bayes", "inference=fe",
                           f"hydra.run.dir={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: model=clusters_bayes is a Bayesian model") and "Traceback" not in proc.stderr
