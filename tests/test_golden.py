"""Golden outputs: the default job and four paper tables give the numbers they gave before.

The fixtures in ``tests/fixtures/golden/`` were written by the runs below at commit e88ebc5
(before the layers were restructured; see ``tests/fixtures/golden/README.md``). A refactor
must leave every number unchanged: coefficients and standard errors to 1e-9 relative, the
inverted-U test, the mediation paths and the split-sample fits likewise. A change that is
meant to move a number (a fixed defect) updates the fixture in the same commit and says why.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
SMALL = ["data.n_firms=1500", "data.n_years=8", "data.n_obs=null"]
RUNS = {
    "default": ["model=inverted_u"],
    "table4": ["experiment=table4", *SMALL],
    "table5": ["experiment=table5", *SMALL],
    "table6": ["experiment=table6", *SMALL, "inference.kind=fe", "model.n_boot=200"],
    "table8": ["experiment=table8", *SMALL, "inference.kind=fe"],
}
RTOL = 1e-9


def _run(name: str, out: Path) -> None:
    args = [sys.executable, "estimate.py", *RUNS[name], f"hydra.run.dir={out}", "output.plots=false"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"


def _close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=RTOL, atol=1e-14,
                               err_msg=what)


def _compare_json(actual, expected, path: str = "") -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            _compare_json(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare_json(a, e, f"{path}[{i}]")
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        _close(actual, expected, path)
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _summary(name: str, out: Path) -> dict:
    if name == "default":
        u = json.loads((out / "utest.json").read_text())
        return {"utest": {**u, "fieller": [u["fieller"]["lo"], u["fieller"]["hi"]]}}
    if name == "table4":
        return json.loads((out / "baseline.json").read_text())
    if name == "table6":
        return {"mediation": json.loads((out / "mediation.json").read_text())}
    if name == "table8":
        return json.loads((out / "heterogeneity.json").read_text())
    return {}


@pytest.mark.parametrize("name", list(RUNS))
def test_golden_numbers_unchanged(name, tmp_path):
    _run(name, tmp_path)
    expected = pd.read_csv(GOLDEN / f"{name}_estimates.csv")
    actual = pd.read_csv(tmp_path / "estimates.csv")
    keys = [c for c in ("column", "term") if c in expected.columns]
    assert actual[keys].astype(str).values.tolist() == expected[keys].astype(str).values.tolist()
    for col in ("estimate", "std_error"):
        _close(actual[col], expected[col], f"{name}: {col}")
    assert actual["n_obs"].tolist() == expected["n_obs"].tolist()
    fixture = GOLDEN / f"{name}.json"
    if fixture.exists():
        _compare_json(_summary(name, tmp_path), json.loads(fixture.read_text()))
