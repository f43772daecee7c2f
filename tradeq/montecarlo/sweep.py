"""Combine the jobs of a study sweep (``python simulate.py -m study=... study.grid.<axis>=a,b``).

Each job of a Hydra multirun computes the sub-grid its overrides leave and writes its own
``study.nc``; :class:`CombineStudy` (a Hydra callback registered in ``conf/simulate.yaml``)
stacks them, once the sweep ends, into one ``study.nc``, ``summary.md`` and plots in the
sweep folder. Settings computed by several jobs appear once. A multirun without a study
(panels only) is left alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .run import write_outputs

log = logging.getLogger("tradeq")


def combine_jobs(sweep_dir: str | Path) -> xr.Dataset | None:
    """The jobs' ``study.nc`` stacked along ``setting`` (first occurrence of each setting id)."""
    sweep_dir = Path(sweep_dir)
    files = sorted(sweep_dir.glob("*/study.nc"))
    if not files:
        return None
    parts = []
    for f in files:
        with xr.open_dataset(f, engine="h5netcdf") as d:
            d = d.load()
        # Fixed-width strings of different widths would be cut to the first job's width.
        parts.append(d.assign_coords({c: d[c].astype(object) for c in d.coords if d[c].dtype.kind == "U"}))
    attrs = dict(parts[0].attrs)
    ds = xr.concat(parts, dim="setting", join="outer", data_vars="all", coords="minimal",
                   combine_attrs="drop", fill_value=np.nan)
    ds = ds.assign_coords({c: ds[c].astype(str) for c in ds.coords if ds[c].dtype == object})
    _, first = np.unique(ds.setting_id.values, return_index=True)
    ds = ds.isel(setting=np.sort(first))
    ds = ds.assign_coords(setting=np.arange(ds.sizes["setting"]))
    attrs.pop("settings", None)
    ds.attrs = {**attrs, "jobs": len(files)}
    return ds


def _job_plots(sweep_dir: Path):
    for cfg in sorted(sweep_dir.glob("*/config.yaml")):
        study = (yaml.safe_load(cfg.read_text()) or {}).get("study") or {}
        return study.get("plots") or []
    return []


class CombineStudy(Callback):
    """Hydra callback: after a multirun, combine the jobs' study results (see the module docstring)."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        ds = combine_jobs(sweep_dir)
        if ds is None:
            return
        files = write_outputs(ds, _job_plots(sweep_dir), sweep_dir)
        log.info("combined %d settings from %d jobs into %s", ds.sizes["setting"], ds.attrs["jobs"], files["study"])
