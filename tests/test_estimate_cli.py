"""`python estimate.py ...` end to end on small panels, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["data.n_firms=1500", "data.n_years=8", "data.n_obs=null"]


def run(args, cwd=ROOT, check=True):
    proc = subprocess.run([sys.executable, "estimate.py", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"estimate.py {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = run(["model=inverted_u", *SMALL, f"hydra.run.dir={out}"])
    return out, proc


def test_single_run_writes_every_output(single_run):
    out, proc = single_run
    for name in ("estimates.csv", "estimates.nc", "utest.json", "table.md", "table.tex", "run.json", "config.yaml"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*.tmp")), "temporary files left behind"
    assert "| Market |" in proc.stdout and "Inverted-U test" in proc.stdout


def test_estimates_csv_is_tidy(single_run):
    out, _ = single_run
    est = pd.read_csv(out / "estimates.csv")
    required = ["model", "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
                "n_obs", "n_clusters", "vcov", "method"]
    assert list(est.columns[: len(required)]) == required
    assert est["term"].tolist() == ["Market", "I(Market ** 2)", "scale", "age", "roa", "rdebt", "fic"]
    assert (est["vcov"] == "cluster").all() and (est["model"] == "inverted_u").all()
    np.testing.assert_allclose(est["statistic"], est["estimate"] / est["std_error"], rtol=1e-12)
    assert est.loc[est.term == "Market", "truth"].item() == pytest.approx(0.0534)


def test_netcdf_matches_csv(single_run):
    out, _ = single_run
    est = pd.read_csv(out / "estimates.csv")
    with xr.open_dataset(out / "estimates.nc", engine="h5netcdf") as ds:
        np.testing.assert_allclose(ds["estimate"].values, est["estimate"].values, rtol=1e-12)
        np.testing.assert_allclose(np.sqrt(np.diag(ds["vcov"].values)), est["std_error"].values, rtol=1e-12)
        assert ds.attrs["fe"] == "firm,year"


def test_utest_json_and_run_record(single_run):
    out, _ = single_run
    u = json.loads((out / "utest.json").read_text())
    for key in ("interval", "slope_lo", "t_lo", "p_lo", "slope_hi", "t_hi", "p_hi", "t", "p",
                "turning_point", "turning_point_se", "fieller", "verdict"):
        assert key in u, key
    rec = json.loads((out / "run.json").read_text())
    assert rec["seed"] == 20240601
    assert rec["data"]["rows"] > 0 and len(rec["data"]["sha256"]) == 64
    assert rec["versions"]["jax"] and rec["versions"]["pandas"]
    assert {"load", "design", "fit", "utest"} <= set(rec["timings_s"])
    assert "commit" in rec["git"]
    assert rec["config"]["model"]["formula"].startswith("quality ~ Market")


def test_same_seed_same_results(single_run, tmp_path):
    out, _ = single_run
    run(["model=inverted_u", *SMALL, f"hydra.run.dir={tmp_path}"])
    a, b = pd.read_csv(out / "estimates.csv"), pd.read_csv(tmp_path / "estimates.csv")
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((out / "run.json").read_text())["data"]["sha256"] == json.loads((tmp_path / "run.json").read_text())["data"]["sha256"]


def test_multirun_two_jobs_combined_table(tmp_path):
    run(["-m", "model=inverted_u", "model.vcov=hc1,cluster", *SMALL, f"hydra.sweep.dir={tmp_path}"])
    jobs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(jobs) == 2
    vcovs = [pd.read_csv(j / "estimates.csv")["vcov"].iloc[0] for j in jobs]
    assert sorted(vcovs) == ["cluster", "hc1"]
    table = (tmp_path / "table.md").read_text()
    assert "| VARIABLES | (1) | (2) |" in table and "HC1" in table and "cluster (firm)" in table
    stacked = pd.read_csv(tmp_path / "estimates.csv")
    assert stacked["job"].nunique() == 2
    # same data, same coefficients; only the standard errors differ
    a, b = (stacked[stacked.job == j] for j in stacked.job.unique())
    np.testing.assert_allclose(a["estimate"].values, b["estimate"].values, rtol=1e-12)
    assert not np.allclose(a["std_error"].values, b["std_error"].values)


def test_generic_fe_model_on_user_file(tmp_path):
    rng = np.random.default_rng(0)
    n_f, n_t = 300, 6
    firm = np.repeat(np.arange(n_f), n_t)
    year = np.tile(np.arange(2010, 2010 + n_t), n_f)
    x1 = rng.normal(size=firm.size) + 0.05 * firm
    df = pd.DataFrame({"id": firm, "yr": year, "x_one": x1, "x2": rng.normal(size=firm.size)})
    df["y"] = 1.0 * df.x_one - 0.2 * df.x_one**2 + 0.5 * df.x2 + 0.01 * firm + rng.normal(size=firm.size)
    path = tmp_path / "panel.dta"
    df.to_stata(path, write_index=False)
    out = tmp_path / "out"
    run(["model=fe", "data=file", f"data.path={path}", "data.rename={x_one: x1}", "data.id=id", "data.time=yr",
         "model.formula=y ~ x1 + I(x1**2) + x2 | id + yr", "model.vcov=cluster", "model.cluster=id",
         "model.utest=x1", f"hydra.run.dir={out}"])
    est = pd.read_csv(out / "estimates.csv").set_index("term")
    assert est.loc["x1", "estimate"] == pytest.approx(1.0, abs=0.1)
    assert est.loc["I(x1 ** 2)", "estimate"] == pytest.approx(-0.2, abs=0.05)
    assert "truth" not in est.columns
    assert json.loads((out / "utest.json").read_text())["verdict"] == "inverted U"


@pytest.mark.parametrize("edit,overrides,message", [
    (lambda df: df.drop(columns=["x2"]), [], "missing column(s) ['x2']"),
    (lambda df: pd.concat([df, df.iloc[:3]]), [], "rows share an (id, yr) pair"),
    (lambda df: df.assign(x2="text"), [], "['x2'] must be numeric"),
    (lambda df: df.iloc[:0], [], "empty"),
])
def test_bad_input_clear_error_and_nothing_written(tmp_path, edit, overrides, message):
    df = pd.DataFrame({"id": np.repeat(np.arange(20), 3), "yr": np.tile([1, 2, 3], 20),
                       "y": np.arange(60.0), "x2": np.arange(60.0) % 7})
    path = tmp_path / "bad.csv"
    edit(df).to_csv(path, index=False)
    out = tmp_path / "out"
    proc = run(["model=fe", "data=file", f"data.path={path}", "data.id=id", "data.time=yr",
                "model.formula=y ~ x2 | id", *overrides, f"hydra.run.dir={out}"], check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and "bad.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "estimates.csv").exists()


def test_config_typo_fails_before_reading_data(tmp_path):
    proc = run(["model.vcvo=hc1", f"hydra.run.dir={tmp_path}"], check=False)
    assert proc.returncode != 0 and "vcvo" in proc.stderr


def test_missing_required_setting_is_one_error_line(tmp_path):
    """An analysis without a setting it needs says which, in one line (it used to die with NameError)."""
    proc = run(["model=mediation", "model.mediator=null", *SMALL, f"hydra.run.dir={tmp_path}"], check=False)
    assert proc.returncode != 0
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "model.kind=mediation needs model.mediator=<column>" in proc.stderr
    assert "Traceback" not in proc.stderr and "NameError" not in proc.stderr
