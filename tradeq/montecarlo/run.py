"""A study run end to end into a folder: ``study.nc``, ``summary.md`` and the plots.

``python simulate.py study=<name>`` calls :func:`run_into`; so can a notebook::

    from tradeq.montecarlo.run import run_into
    from tradeq.montecarlo.spec import study_spec
    spec = study_spec({"name": "demo", "reps": 100, "grid": {"n_firms": [500, 2000]},
                       "estimators": {"fe": {"kind": "fe", "vcov": ["iid", "cluster"]}}}, seed=1)
    record = run_into(spec, "outputs/demo")

The per-setting result files go to ``results/`` in the run folder unless the spec (or the
caller) names another folder: the folder of a run then holds everything needed to resume it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import xarray as xr

from tradeq.atomic import write_netcdf, write_text

from .engine import run_study
from .plots import save_plots
from .spec import StudySpec
from .summary import render

log = logging.getLogger("tradeq")

#: The results folder's name inside a run (or sweep) folder.
RESULTS = "results"


def write_outputs(ds: xr.Dataset, plots, folder: str | Path, seconds: float | None = None) -> dict[str, Any]:
    """``study.nc``, ``summary.md`` and the PNG plots of ``ds`` into ``folder``."""
    folder = Path(folder)
    nc = write_netcdf(folder / "study.nc", ds)
    md = write_text(folder / "summary.md", render(ds, seconds=seconds) + "\n")
    pngs = save_plots(ds, plots, folder)
    return {"study": str(nc), "summary": str(md), "plots": [str(p) for p in pngs]}


def results_dir_for(spec: StudySpec, run_dir: str | Path, sweep_dir: str | Path | None = None,
                    base: str | Path | None = None) -> Path:
    """Where the study's result files go: ``spec.results_dir`` (relative to ``base``, the
    directory the command was started in), else ``results/`` in the sweep folder (a
    ``-m`` sweep: shared by its jobs) or in the run folder."""
    if spec.results_dir:
        path = Path(spec.results_dir)
        return path if path.is_absolute() or base is None else Path(base) / path
    return Path(sweep_dir if sweep_dir is not None else run_dir) / RESULTS


def run_into(spec: StudySpec, folder: str | Path, *, results_dir: str | Path | None = None) -> dict[str, Any]:
    """Run the study of ``spec`` and write its outputs into ``folder``.

    ``results_dir`` (default :func:`results_dir_for` of ``folder``) holds the per-setting
    result files. Returns the run record: timings, per-setting bookkeeping (computed or
    loaded from ``results_dir``), output paths.
    """
    study = spec.study
    results = Path(results_dir) if results_dir is not None else results_dir_for(spec, folder)
    start = time.perf_counter()
    ds, settings = run_study(study, spec.seed, results, resume=spec.resume, chunk_size=spec.chunk_size,
                             max_cells=spec.max_cells, workers=spec.workers, batch=spec.batch, progress=spec.progress)
    run_s = time.perf_counter() - start
    t = time.perf_counter()
    files = write_outputs(ds, study.plots, folder, seconds=run_s)
    n_new = sum(not s["cached"] for s in settings)
    log.info("study %s: %d settings (%d computed, %d loaded) in %.1f s -> %s", study.name, len(settings), n_new,
             len(settings) - n_new, run_s, folder)
    return {"study": study.name, "reps": study.reps, "n_settings": len(settings), "computed": n_new,
            "results_dir": str(results), "settings": settings, "files": files,
            "timings_s": {"study": round(run_s, 3), "outputs": round(time.perf_counter() - t, 3)}}
