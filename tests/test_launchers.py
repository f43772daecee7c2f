"""Scale-out through Hydra launchers: a 2-job sweep through submitit's local executor (the same
plugin as ``hydra/launcher=slurm``), and a launcher whose plugin is missing is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def estimate(args, cwd=ROOT):
    return subprocess.run([sys.executable, "estimate.py", *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_two_job_sweep_through_submitit_local(tmp_path):
    proc = estimate(["-m", "hydra/launcher=submitit_local", "model=inverted_u", "data.n_firms=300",
                     "model.vcov=hc1,cluster", f"hydra.sweep.dir={tmp_path}"])
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name.split("_", 1)[0] for p in jobs] == ["0", "1"]
    vcovs = [pd.read_csv(job / "estimates.csv")["vcov"].unique().tolist() for job in jobs]
    assert vcovs == [["hc1"], ["cluster"]]
    combined = pd.read_csv(tmp_path / "estimates.csv")
    a, b = (pd.read_csv(job / "estimates.csv") for job in jobs)
    assert len(combined) == len(a) + len(b)
    pd.testing.assert_series_equal(a["estimate"], b["estimate"])  # same data, same point estimates
    assert (a["std_error"] != b["std_error"]).all()
    table = (tmp_path / "table.md").read_text().splitlines()
    # the combined table: columns titled by what differs, the shared overrides once in the caption,
    # the single run's U-test rows (Lind–Mehlum t and p among them)
    assert table[0] == f"**2 models from the sweep in {tmp_path.name} (model=inverted_u, data.n_firms=300)**"
    assert table[4] == "|  | model.vcov=hc1 | model.vcov=cluster |"
    assert any(row.startswith("| Lind–Mehlum t (p) |") for row in table)


def test_missing_launcher_plugin_names_the_pip_line(tmp_path):
    proc = estimate(["-m", "hydra/launcher=ray", "model=inverted_u", f"hydra.sweep.dir={tmp_path}"])
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: hydra/launcher=ray needs its plugin, which is not installed: "
                                   "pip install hydra-ray-launcher")
