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
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, to_latex, to_markdown

log = logging.getLogger("tradeq")


def _job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [p.parent for p in sweep_dir.glob("*/estimates.nc")]
    return sorted(jobs, key=lambda p: int(p.name.split("_", 1)[0]) if p.name.split("_", 1)[0].isdigit() else 10**9)


def _job_overrides(job: Path) -> list[str]:
    overrides = job / ".hydra" / "overrides.yaml"
    return list(yaml.safe_load(overrides.read_text()) or []) if overrides.exists() else []


def _job_titles(jobs: list[Path]) -> list[str]:
    """Each job's overrides, less those every job shares (they go in the caption)."""
    items = [_job_overrides(job) for job in jobs]
    shared = set.intersection(*(set(i) for i in items)) if len(items) > 1 else set()
    return [", ".join(o for o in i if o not in shared) or job.name for i, job in zip(items, jobs)]


def _shared_overrides(jobs: list[Path]) -> list[str]:
    items = [_job_overrides(job) for job in jobs]
    return [o for o in items[0] if all(o in i for i in items[1:])] if len(items) > 1 else []


def _utest_extra(job: Path) -> dict[str, str]:
    """The single run's U-test rows (turning point, Lind–Mehlum t and p, verdict) from ``utest.json``."""
    path = job / "utest.json"
    return utest_rows(json.loads(path.read_text())) if path.exists() else {}


def combine_sweep(sweep_dir: Path, paren: str = "se", digits: int = 4) -> list[Path]:
    """Write the combined tables and a stacked ``estimates.csv``; return the job folders used."""
    jobs = _job_dirs(sweep_dir)
    if not jobs:
        return []
    columns = []
    for job, title in zip(jobs, _job_titles(jobs)):
        with xr.open_dataset(job / "estimates.nc", engine="h5netcdf") as ds:
            columns.append(TableColumn(ds.load(), title=title, extra=_utest_extra(job)))
    shared = _shared_overrides(jobs)
    caption = f"{len(jobs)} models from the sweep in {sweep_dir.name}" + (f" ({', '.join(shared)})" if shared else "")
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
