"""Raw records → panel → estimate in one command, as a user runs it (README "Raw data").

``python estimate.py data=raw model=inverted_u`` on the built-in simulated raw data recovers the
known inverted U through the pipeline's estimated Market and quality; the panel, its manifest
and attrition table are files of the run; a rerun loads the cached panel; ``python simulate.py
raw=customs`` writes the same raw data as files that feed back to the same estimates; bad raw
inputs stop with one ``error:`` line.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from composing import compose_config

ROOT = Path(__file__).resolve().parents[1]
SIZE = ["data.n_records=120000"]


def run(script, args, check=True):
    proc = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def readme_command() -> list[str]:
    """The one-command run as the README's raw-data section shows it."""
    section = (ROOT / "README.md").read_text().split("## Raw data", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in re.findall(r"```bash\n(.+?)\n```", section, re.S)[0].splitlines()
                if "estimate.py data=raw" in ln)
    return line.split("python ", 1)[1].split()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raw")
    cmd = readme_command()
    assert cmd[:3] == ["estimate.py", "data=raw", "model=inverted_u"]
    proc = run(cmd[0], [*cmd[1:], *SIZE, f"data.cache_dir={tmp / 'cache'}", f"hydra.run.dir={tmp / 'run1'}"])
    return tmp, proc


@pytest.mark.slow
def test_one_command_recovers_the_inverted_u(first_run):
    tmp, proc = first_run
    out = tmp / "run1"
    est = pd.read_csv(out / "estimates.csv").set_index("term")
    truth = json.loads((out / "raw_truth.json").read_text())
    for term in ("Market", "I(Market ** 2)", "scale", "roa", "fic"):
        z = (est.loc[term, "estimate"] - est.loc[term, "truth"]) / est.loc[term, "std_error"]
        assert abs(z) < 3, (term, z)
    assert est.loc["Market", "truth"] == truth["b1"] and est.loc["I(Market ** 2)", "truth"] == truth["b2"]
    u = json.loads((out / "utest.json").read_text())
    assert u["verdict"] == "inverted U"
    assert abs(u["turning_point"] - truth["turning_point"]) < 3 * u["turning_point_se"]
    assert "Inverted-U test" in proc.stdout


@pytest.mark.slow
def test_panel_manifest_and_attrition_are_files_of_the_run(first_run):
    tmp, _ = first_run
    out = tmp / "run1"
    files = set(json.loads((out / ".tradeq-manifest.json").read_text())["files"])
    assert {"panel.parquet", "manifest.json", "attrition.csv", "raw_truth.json", "table.md", "run.json"} <= files
    panel = pd.read_parquet(out / "panel.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"]["rows"] == len(panel) and not manifest["from_cache"]
    assert {"customs", "register", "prices", "linkage"} <= set(manifest["inputs"])
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    attrition = pd.read_csv(out / "attrition.csv", keep_default_na=False)
    assert attrition["step"].iloc[0] == "register firm-years" and (attrition["dropped"] >= 0).all()
    assert attrition.to_dict("records") == pd.DataFrame(manifest["attrition"]).to_dict("records")
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["rows"] == len(panel) and record["data"]["source"].startswith("raw (simulated")
    cached = list((tmp / "cache").glob("*/manifest.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["cache_key"] == manifest["cache_key"]


@pytest.mark.slow
def test_a_rerun_loads_the_cached_panel(first_run):
    tmp, _ = first_run
    run("estimate.py", ["data=raw", "model=inverted_u", *SIZE, f"data.cache_dir={tmp / 'cache'}",
                        f"hydra.run.dir={tmp / 'run2'}"])
    assert json.loads((tmp / "run2" / "manifest.json").read_text())["from_cache"]
    a, b = (pd.read_csv(tmp / d / "estimates.csv") for d in ("run1", "run2"))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_simulated_files_show_the_formats_and_feed_back(first_run):
    tmp, _ = first_run
    sim = tmp / "sim"
    proc = run("simulate.py", ["raw=customs", "raw.n_records=120000", "raw.format=csv", f"hydra.run.dir={sim}"])
    assert "estimate on them: python estimate.py data=raw" in proc.stdout
    formats = (sim / "FORMATS.md").read_text()
    for column in ("`hs8`", "`destination`", "`quantity`", "`trade_mode`", "`total_assets`", "`index`"):
        assert column in formats, column
    customs = pd.read_csv(sim / "customs.csv", dtype={"hs8": str}, nrows=5)
    assert customs["hs8"].str.len().eq(8).all()
    paths = [f"data.{k}={sim / f'{k}.csv'}" for k in ("customs", "register", "prices")] + [f"data.linkage={sim / 'linkage.csv'}"]
    run("estimate.py", ["data=raw", "model=inverted_u", *paths, "data.cache_dir=null", f"hydra.run.dir={tmp / 'run3'}"])
    a, b = (pd.read_csv(tmp / d / "estimates.csv") for d in ("run1", "run3"))
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-9)  # the same records, from files
    assert "truth" not in b.columns


def _error(args, where) -> str:
    proc = run("estimate.py", ["data=raw", *args, f"hydra.run.dir={where / 'run'}"], check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_bad_raw_inputs_are_one_line_errors(tmp_path):
    files = [f"data.customs={tmp_path / 'customs.parquet'}", f"data.register={tmp_path / 'register.parquet'}",
             f"data.prices={tmp_path / 'prices.csv'}"]
    msg = _error(files, tmp_path)
    assert "data.customs=" in msg and "file not found" in msg
    for name in ("customs.parquet", "register.parquet"):
        pd.DataFrame({"firm_id": [1], "year": [2005]}).to_parquet(tmp_path / name, index=False)
    pd.DataFrame({"year": [2005]}).to_csv(tmp_path / "prices.csv", index=False)
    msg = _error(files, tmp_path)
    assert "data.customs=" in msg and "lacks column 'hs8'" in msg and "it has ['firm_id', 'year']" in msg
    assert "data.sigma_fallback=median: must be one of hs3_median, none" in _error(["data.sigma_fallback=median"], tmp_path)
    assert "data.prices is not set" in _error(files[:2], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["table4", "table5"])
def test_paper_experiments_run_on_raw_data(name, tmp_path):
    """``experiment=tableN data=raw``: the paper's coefficients as the simulation's truth, estimated
    through the raw pipeline (in this process, as tests/test_experiments_cli.py does)."""

    import estimate
    from tradeq.specs import estimate_spec

    cfg = compose_config("estimate", [f"experiment={name}", "data=raw", *SIZE, f"data.cache_dir={tmp_path / 'cache'}"])
    estimate.run(estimate_spec(cfg), tmp_path / "run", cfg)
    est = pd.read_csv(tmp_path / "run" / "estimates.csv")
    truth = json.loads((tmp_path / "run" / "raw_truth.json").read_text())
    assert truth["b1"] == 0.0534 and truth["b2"] == -0.0066  # the experiment's data.dgp reached the simulation
    if name == "table4":  # column (2) has every term of the simulated quality
        full = est[est["column"] == "(2)"].set_index("term")
        want = {"Market": truth["b1"], "I(Market ** 2)": truth["b2"], **truth["controls"]}
        z = {t: (full.loc[t, "estimate"] - v) / full.loc[t, "std_error"] for t, v in want.items()}
        assert all(abs(v) < 3 for v in z.values()), z
        assert "| Truth |" in (tmp_path / "run" / "table.md").read_text()
    else:  # lags: the sample shrinks with the lag, as the paper's Table 5
        n = est[est["term"].str.match(r"L\d_Market$")].groupby("term")["n_obs"].first()
        assert n["L1_Market"] > n["L2_Market"] > n["L3_Market"]
