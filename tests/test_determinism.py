"""Same seed → bit-identical outputs across runs (the FE fit, the U test, the tables and the
Bayesian posterior), and the run's estimate.log holds what the console showed."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import estimate  # noqa: E402
from tradeq import cli  # noqa: E402

ARGS = ["model=inverted_u", "data.n_firms=300", "inference=both", "inference.draws=150", "inference.tune=150",
        "inference.chains=2", "output.plots=false"]
#: Files whose bytes are the result (run.json differs only in its timings, checked apart).
BYTE_IDENTICAL = ["estimates.csv", "estimates.nc", "utest.json", "table.md", "table.tex", "config.yaml"]


def run_in_process(run_dir: Path) -> str:
    sys.argv = [str(ROOT / "estimate.py"), *ARGS, f"hydra.run.dir={run_dir}"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.run(estimate.main) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    return (a, run_in_process(a)), (b, run_in_process(b))


def test_same_seed_bit_identical_outputs(two_runs):
    (a, _), (b, _) = two_runs
    for name in BYTE_IDENTICAL:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ra, rb = (json.loads((d / "run.json").read_text()) for d in (a, b))
    assert {k: v for k, v in ra.items() if k != "timings_s"} == {k: v for k, v in rb.items() if k != "timings_s"}


def test_same_seed_identical_posterior(two_runs):
    (a, _), (b, _) = two_runs
    ta, tb = (xr.open_datatree(d / "posterior.nc", engine="h5netcdf") for d in (a, b))
    groups = sorted(ta.groups)
    assert groups == sorted(tb.groups) and "/posterior" in groups
    for group in groups:
        da, db = ta[group].to_dataset(), tb[group].to_dataset()
        for ds in (da, db):  # wall-clock seconds are the one thing allowed to differ
            ds.attrs = {k: v for k, v in ds.attrs.items() if not k.endswith("_s") and k != "created_at"}
        assert da.identical(db), group
    assert ta["posterior"].to_dataset()["mu_b1"].size >= 300


def test_estimate_log_holds_what_the_console_showed(two_runs):
    (a, console), _ = two_runs
    log = (a / "estimate.log").read_text(encoding="utf-8")
    shown = [line for line in console.splitlines() if line.strip()]
    assert any(line.startswith("| Market |") for line in shown) and any("warning:" in line for line in shown)
    missing = [line for line in shown if line not in log]
    assert not missing, missing[:3]


def test_progress_bars_go_to_the_console_not_the_log(two_runs):
    (a, console), _ = two_runs
    for text in (console, (a / "estimate.log").read_text(encoding="utf-8")):
        assert "it/s" not in text and "%|" not in text and "loading data" not in text


def test_progress_bars_show_when_enabled():
    import time

    from tradeq import progress

    out = io.StringIO()
    with progress.step("loading data", enabled=True, file=out):
        time.sleep(1.2 * progress.REFRESH_S)
    assert "loading data" in out.getvalue()
    out = io.StringIO()
    with progress.counted("bootstrap", 10, "draws", enabled=True, file=out) as advance:
        advance(4)
        advance(6)
    assert "bootstrap" in out.getvalue() and "/10 " in out.getvalue()
    quiet = io.StringIO()
    with progress.step("loading data", file=quiet):  # not a terminal: no bar
        pass
    assert quiet.getvalue() == ""
