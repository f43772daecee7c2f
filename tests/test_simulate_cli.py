"""`python simulate.py study=...` end to end, including a joblib sweep that resumes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
# The setting and batch shape of tests/tradeq/montecarlo/mc_shared.py (150 firms x 8 years,
# heteroskedastic errors, 12 replications in one batch): the jobs reuse that compilation from
# the persistent cache tests/conftest.py sets up.
STUDY = ["study=fe_coverage", "study.reps=12", "study.grid.n_firms=[150]", "study.n_years=8",
         "study.progress=false", "study.chunk_size=12", "seed=5"]


def simulate(args, check=True):
    proc = subprocess.run([sys.executable, "simulate.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"simulate.py {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def sweep(results: Path, sweep_dir: Path):
    return simulate(["-m", *STUDY, "study.grid.error=heteroskedastic,province_year", "hydra/launcher=joblib",
                     "hydra.launcher.n_jobs=2", f"study.results_dir={results}", f"hydra.sweep.dir={sweep_dir}"])


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
    proc = sweep(base / "results", base / "sweep1")
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
    results = base / "results"
    first = job_records(base / "sweep1")
    assert not first["heteroskedastic"]["settings"][0]["cached"] and not first["province_year"]["settings"][0]["cached"]
    files = {e: Path(r["settings"][0]["file"]) for e, r in first.items()}
    assert all(f.parent == results and f.exists() for f in files.values())
    kept_mtime = files["heteroskedastic"].stat().st_mtime_ns
    files["province_year"].unlink()  # as if that job had been killed before writing it

    sweep(results, base / "sweep2")
    second = job_records(base / "sweep2")
    assert second["heteroskedastic"]["settings"][0]["cached"] is True
    assert second["province_year"]["settings"][0]["cached"] is False
    assert second["heteroskedastic"]["computed"] == 0 and second["province_year"]["computed"] == 1
    assert files["heteroskedastic"].stat().st_mtime_ns == kept_mtime and files["province_year"].exists()
    # the recomputed setting reproduces the lost one exactly
    with xr.open_dataset(base / "sweep1" / "study.nc", engine="h5netcdf") as a, \
            xr.open_dataset(base / "sweep2" / "study.nc", engine="h5netcdf") as b:
        np.testing.assert_array_equal(a.estimate.values, b.estimate.values)
        np.testing.assert_array_equal(a.coverage.values, b.coverage.values)


def test_unknown_study_key_fails_at_composition():
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from tradeq.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        with pytest.raises(ConfigCompositionException, match="rep"):
            compose("simulate", overrides=["study=fe_coverage", "study.rep=5"])


def test_default_still_writes_one_panel(tmp_path):
    simulate(["data.n_firms=100", "data.n_obs=null", "data.n_years=5", f"hydra.run.dir={tmp_path}"])
    assert (tmp_path / "panel.parquet").is_file() and (tmp_path / "truth.json").is_file()
    assert not (tmp_path / "study.nc").exists()
