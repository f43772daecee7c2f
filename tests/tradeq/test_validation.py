"""The validation matrix, reduced: every row group runs with few replications and its valid rows
stay within 4 Monte Carlo SEs (of the nominal rate, at that replication count) of 0.95 / 0.05;
the failure regions that are large fail visibly; the committed docs/validation.md lists every
row the registry produces; the command writes the page and rejects bad settings in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tradeq.errors import ConfigError
from tradeq.validation import ValidationRow, row_names, run_groups
from tradeq.validation.render import render, verdict
from tradeq.validation.rows_bayes import ESTIMATORS

ROOT = Path(__file__).resolve().parents[2]
#: Replications per row group in CI (the full page uses 1,000, capped where a group says so).
REDUCED = {"fe_coverage": 100, "utest": 100, "equal_curves": 200, "mediation": 20, "nonpsd_twoway": 200,
           "chain_graphs": 8, "few_clusters": 10, "bayes_student_t": 24}
NOMINAL = {"coverage": 0.95, "size": 0.05}


def test_every_registered_group_has_a_reduced_size():
    assert set(row_names()) == set(REDUCED)


def _within(row: ValidationRow, what: str) -> None:
    r = getattr(row, what)
    if r is None:
        return
    p0 = NOMINAL[what]
    tol = 4 * np.sqrt(p0 * (1 - p0) / r.n) + 1 / r.n
    if what == "size" and row.size_at_most:
        assert r.value <= p0 + tol, (row.estimator, row.assumption, what, r, tol)
        return
    assert abs(r.value - p0) <= tol, (row.estimator, row.assumption, what, r, tol)


@pytest.fixture(scope="module")
def committed_page() -> str:
    return (ROOT / "docs" / "validation.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REDUCED))
def test_reduced_rows_hold_where_claimed(name, committed_page):
    [(_, group, rows, _)] = run_groups([name], REDUCED[name], seed=11)
    assert rows and all(r.group == name and r.reps == group.reps_for(REDUCED[name]) for r in rows)
    for row in rows:
        # the same rows as the committed page (its numbers come from the full run)
        assert f"| {row.estimator} | {row.assumption} | {row.region} |" in committed_page, row.estimator
        if row.region == "valid":
            _within(row, "coverage")
            _within(row, "size")
            if row.accuracy_ok is not None:
                assert row.accuracy_ok, row.accuracy
    failures = {r.estimator: r for r in rows if r.region == "failure"}
    if name == "equal_curves":
        assert failures["equal-curves F test, firm-cluster, without 1[g]"].size.value >= 0.9
        held = next(r for r in rows if r.region == "valid")
        assert held.power.value >= 0.7
    if name == "few_clusters":
        assert failures["firm-cluster CR1 (b1, Market's slope)"].coverage.value < 0.8
    if name == "bayes_student_t":  # the profile form's sigma interval misses far more often
        assert failures[ESTIMATORS["profile"][0]].coverage.value < 0.75
    if name == "nonpsd_twoway":
        fix, nofix = rows[:2]  # 20 firms x 5 years, where the fix is needed most
        assert fix.coverage.value >= nofix.coverage.value
        assert "needed the fix in 0.000 " not in fix.note  # the DGP does produce non-PSD variances


def test_verdicts_and_page():
    from tradeq.validation.record import Rate

    good = ValidationRow(group="g", estimator="e", assumption="a", region="valid", reps=1000,
                         coverage=Rate(0.948, 0.007, 1000), size=Rate(0.052, 0.007, 1000))
    off = ValidationRow(group="g", estimator="e", assumption="a", region="valid", reps=1000,
                        coverage=Rate(0.90, 0.009, 1000))
    seen = ValidationRow(group="g", estimator="e", assumption="a", region="failure", reps=1000,
                         size=Rate(0.167, 0.012, 1000))
    assert verdict(good) == "holds" and verdict(off) == "**off**" and verdict(seen) == "fails (documented)"
    conservative = ValidationRow(group="g", estimator="u", assumption="a", region="valid", reps=1000,
                                 size=Rate(0.024, 0.005, 1000), size_at_most=True)
    assert verdict(conservative) == "holds"
    assert verdict(ValidationRow(**{**conservative.__dict__, "size": Rate(0.08, 0.009, 1000)})) == "**off**"
    with pytest.raises(ValueError, match="region"):
        ValidationRow(group="g", estimator="e", assumption="a", region="maybe", reps=1)
    page = render([("g", type("G", (), {"title": "T", "max_reps": None})(), (good, off, seen), 1.0)], reps=1000, seed=3)
    assert "| e | a | valid | 0.948 (0.007) | 0.052 (0.007) |" in page


def test_unknown_row_is_a_config_error():
    with pytest.raises(ConfigError, match="validation.rows"):
        run_groups(["no_such_row"], 10, 1)


def _simulate(*args):
    return subprocess.run([sys.executable, "simulate.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_command_writes_the_page(tmp_path):
    out = tmp_path / "v.md"
    proc = _simulate("validation=all", "validation.rows=[nonpsd_twoway]", "validation.reps=30",
                     f"validation.output={out}", f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = out.read_text()
    assert "two-way (firm, year) cluster SE, eigenvalue fix" in page and "| 30 |" in page
    assert (tmp_path / "run" / "validation.md").read_text() == page and (tmp_path / "run" / "run.json").exists()


@pytest.mark.parametrize("override, message", [
    ("validation.reps=1", "validation.reps"),
    ("validation.rows=[nope]", "validation.rows"),
    ("+validation.repz=3", "repz"),
])
def test_bad_settings_are_one_line_errors(tmp_path, override, message):
    proc = _simulate("validation=all", override, f"validation.output={tmp_path / 'v.md'}",
                     f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode != 0 and message in proc.stderr
    assert "Traceback" not in proc.stderr
