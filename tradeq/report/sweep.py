"""Combine the jobs of a Hydra sweep into one side-by-side table in the sweep folder.

Each job writes ``estimates.nc`` (and ``utest.json``) into its own subfolder; when the
sweep ends, :class:`CombineSweepTables` puts every job's model in one ``table.md`` /
``table.tex``, columns in job order, titled by the job's overrides.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from tradeq.atomic import write_csv, write_text
from tradeq.config import value
from tradeq.report.tables import TableColumn, to_latex, to_markdown

log = logging.getLogger("tradeq")


def _job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [p.parent for p in sweep_dir.glob("*/estimates.nc")]
    return sorted(jobs, key=lambda p: int(p.name.split("_", 1)[0]) if p.name.split("_", 1)[0].isdigit() else 10**9)


def _job_title(job: Path) -> str:
    overrides = job / ".hydra" / "overrides.yaml"
    if overrides.exists():
        items = yaml.safe_load(overrides.read_text()) or []
        return ", ".join(items) or job.name
    return job.name


def _utest_extra(job: Path) -> dict[str, str]:
    path = job / "utest.json"
    if not path.exists():
        return {}
    d = json.loads(path.read_text())
    tp, se = d["turning_point"], d["turning_point_se"]
    num = lambda v: v if isinstance(v, str) else f"{v:.3f}"  # noqa: E731
    return {"Turning point": f"{num(tp)} ({num(se)})", "U-test verdict": d["verdict"]}


def combine_sweep(sweep_dir: Path, paren: str = "se", digits: int = 4) -> list[Path]:
    """Write the combined tables and a stacked ``estimates.csv``; return the job folders used."""
    jobs = _job_dirs(sweep_dir)
    if not jobs:
        return []
    columns = []
    for job in jobs:
        with xr.open_dataset(job / "estimates.nc", engine="h5netcdf") as ds:
            columns.append(TableColumn(ds.load(), title=_job_title(job), extra=_utest_extra(job)))
    caption = f"{len(jobs)} models from the sweep in {sweep_dir.name}"
    write_text(sweep_dir / "table.md", to_markdown(columns, paren, digits, caption))
    write_text(sweep_dir / "table.tex", to_latex(columns, paren, digits, caption))
    stacked = pd.concat([pd.read_csv(j / "estimates.csv").assign(job=j.name) for j in jobs], ignore_index=True)
    write_csv(sweep_dir / "estimates.csv", stacked)
    return jobs


class CombineSweepTables(Callback):
    """Hydra callback (registered in conf/estimate.yaml) run once after all jobs of a multirun."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        paren = str(value(config.output.paren))
        jobs = combine_sweep(sweep_dir, paren, int(config.output.digits))
        if jobs:
            log.info("combined %d jobs into %s", len(jobs), sweep_dir / "table.md")
            print((sweep_dir / "table.md").read_text())
