"""`python simulate.py study=...` end to end: a joblib sweep that keeps its results in the sweep
folder and resumes there, Ctrl-C during a study, the default single panel."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from composing import compose_config

ROOT = Path(__file__).resolve().parents[1]
# The setting and batch shape of tests/tradeq/montecarlo/mc_shared.py (150 firms x 8 years,
# heteroskedastic errors, 12 replications in one batch): the jobs reuse that compilation from
# the persistent cache tests/conftest.py sets up.
# (without the study's province-level parts: the host-side few-cluster estimator and the province
# variance have their own tests, tests/tradeq/montecarlo/test_mc_few_clusters.py)
STUDY = ["study=fe_coverage", "study.reps=12", "study.grid.n_firms=[150]", "study.n_years=8",
         "study.progress=false", "study.chunk_size=12", "seed=5", "~study.estimators.fc",
         "study.estimators.fe.vcov=[iid,hc1,cluster,twoway]"]


def simulate(args, check=True):
    proc = subprocess.run([sys.executable, "simulate.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"simulate.py {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def sweep(sweep_dir: Path):
    """The two-job sweep; its result files default to ``<sweep_dir>/results``, shared by the jobs."""
    return simulate(["-m", *STUDY, "study.grid.error=heteroskedastic,province_year", "hydra/launcher=joblib",
                     "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}"])


def job_records(sweep_dir: Path) -> dict[str, dict]:
    """error structure -> the job's run.json."""
    out = {}
    for run in sorted(sweep_dir.glob("*/run.json")):
        rec = json.loads(run.read_text())
        out[rec["config"]["study"]["grid"]["error"]] = rec
    return out


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweep")
    proc = sweep(base / "sweep1")
    return base, proc


def test_sweep_jobs_write_study_outputs(first_sweep):
    base, _ = first_sweep
    jobs = sorted((base / "sweep1").glob("[0-9]*"))
    assert len(jobs) == 2
    for job in jobs:
        for name in ("study.nc", "summary.md", "run.json", "config.yaml", "coverage_b1.png", "coverage_b2.png"):
            assert (job / name).is_file(), (job, name)
        assert not list(job.glob(".*.tmp"))
        with xr.open_dataset(job / "study.nc", engine="h5netcdf") as ds:
            for v in ("bias", "rmse", "coverage", "ci_length", "rejection_rate"):
                assert v in ds and f"{v}_mcse" in ds
            assert ds.sizes["setting"] == 1 and ds.sizes["rep"] == 12
            assert list(ds.estimator.values) == ["fe/iid", "fe/hc1", "fe/cluster", "fe/twoway"]
            assert {"utest", "b2=0", "wald"} <= set(ds.test.values)
        rec = json.loads((job / "run.json").read_text())
        assert rec["seed"] == 5 and rec["versions"]["jax"] and "commit" in rec["git"]
        assert rec["timings_s"]["study"] > 0 and rec["n_settings"] == 1
        assert "## Coverage of 95% intervals: b2" in (job / "summary.md").read_text()


def test_sweep_combines_jobs(first_sweep):
    base, _ = first_sweep
    sweep_dir = base / "sweep1"
    with xr.open_dataset(sweep_dir / "study.nc", engine="h5netcdf") as ds:
        assert sorted(ds.error.values.tolist()) == ["heteroskedastic", "province_year"]
        assert ds.sizes["setting"] == 2
    assert (sweep_dir / "summary.md").is_file() and (sweep_dir / "coverage_b2.png").is_file()


def test_interrupted_sweep_rerun_computes_only_missing_settings(first_sweep):
    base, _ = first_sweep
    sweep_dir = base / "sweep1"
    results = sweep_dir / "results"  # the default: in the sweep folder, shared by its jobs
    first = job_records(sweep_dir)
    assert not first["heteroskedastic"]["settings"][0]["cached"] and not first["province_year"]["settings"][0]["cached"]
    files = {e: Path(r["settings"][0]["file"]) for e, r in first.items()}
    assert all(f.parent == results and f.exists() for f in files.values())
    assert all(Path(r["results_dir"]) == results for r in first.values())
    kept_mtime = files["heteroskedastic"].stat().st_mtime_ns
    files["province_year"].unlink()  # as if that job had been killed before writing it
    shutil.copy(sweep_dir / "study.nc", base / "first_study.nc")

    sweep(sweep_dir)  # the same command into the same sweep folder
    second = job_records(sweep_dir)
    assert second["heteroskedastic"]["settings"][0]["cached"] is True
    assert second["province_year"]["settings"][0]["cached"] is False
    assert second["heteroskedastic"]["computed"] == 0 and second["province_year"]["computed"] == 1
    assert files["heteroskedastic"].stat().st_mtime_ns == kept_mtime and files["province_year"].exists()
    # the recomputed setting reproduces the lost one exactly
    with xr.open_dataset(base / "first_study.nc", engine="h5netcdf") as a, \
            xr.open_dataset(sweep_dir / "study.nc", engine="h5netcdf") as b:
        np.testing.assert_array_equal(a.estimate.values, b.estimate.values)
        np.testing.assert_array_equal(a.coverage.values, b.coverage.values)


# 13 distinct settings (b2 = 0 at both turning points is one) of 150 firms x 8 years, in
# batches of 250 replications: Ctrl-C lands while most are still to run.
LONG_STUDY = ["study=utest_power", "study.reps=2000", "study.grid.n_firms=[150]", "study.n_years=8",
              "study.chunk_size=250", "seed=5"]


@pytest.mark.slow
def test_ctrl_c_stops_promptly_and_the_rerun_resumes(tmp_path):
    run_dir, results = tmp_path / "run", tmp_path / "run" / "results"
    args = [*LONG_STUDY, f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen([sys.executable, "simulate.py", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 500
    while not list(results.glob("*.nc")):  # the first setting is saved: the study is under way
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no setting finished"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=300)
    stopped_after = time.monotonic() - sent
    assert proc.returncode == 130, err[-3000:]
    assert stopped_after < 10, f"took {stopped_after:.1f} s to stop"
    assert "interrupted:" in err and "settings saved in" in err and f"hydra.run.dir={run_dir}" in err
    assert "utest_power:" in err and "rep/s" in err  # the progress bar, on by default
    saved = sorted(results.glob("*.nc"))
    assert 1 <= len(saved) < 13, len(saved)
    assert not list(results.glob(".*")) and not (run_dir / "study.nc").exists()  # only complete files
    for f in saved:
        with xr.open_dataset(f, engine="h5netcdf") as ds:
            assert ds.sizes["rep"] == 2000 and np.isfinite(ds.estimate.values).all()
    mtimes = {f: f.stat().st_mtime_ns for f in saved}

    simulate([*args, "study.progress=false"])  # the same study into the same run folder resumes
    rec = json.loads((run_dir / "run.json").read_text())
    computed = {Path(s["file"]) for s in rec["settings"] if not s["cached"]}
    assert rec["computed"] == len(computed) == 13 - len(saved) and not computed & set(saved)
    assert all(f.stat().st_mtime_ns == m for f, m in mtimes.items())
    assert len(list(results.glob("*.nc"))) == 13 and (run_dir / "study.nc").is_file()


def test_a_study_rejects_a_data_setting_it_would_ignore(tmp_path):
    proc = simulate([*STUDY, "data.dgp.error=ar1", f"hydra.run.dir={tmp_path}"], check=False)
    assert proc.returncode != 0
    assert "error: data.dgp.error='ar1' conflicts with study.grid.error" in proc.stderr


def test_unknown_study_key_fails_at_composition():
    from hydra.errors import ConfigCompositionException


    with pytest.raises(ConfigCompositionException, match="rep"):
        compose_config("simulate", ["study=fe_coverage", "study.rep=5"])


def test_default_still_writes_one_panel(tmp_path):
    simulate(["data.n_firms=100", "data.n_obs=null", "data.n_years=5", f"hydra.run.dir={tmp_path}"])
    assert (tmp_path / "panel.parquet").is_file() and (tmp_path / "truth.json").is_file()
    assert not (tmp_path / "study.nc").exists()
