"""A study run end to end into a folder: ``study.nc``, ``summary.md`` and the plots.

``python simulate.py study=<name>`` calls :func:`run_into`; so can a notebook::

    from tradeq.montecarlo.run import run_into
    record = run_into({"name": "demo", "reps": 100, "grid": {"n_firms": [500, 2000]},
                       "estimators": {"fe": {"kind": "fe", "vcov": ["iid", "cluster"]}}},
                      seed=1, folder="outputs/demo")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from tradeq.atomic import write_netcdf, write_text

from .engine import MAX_CELLS, run_study
from .plots import save_plots
from .studies import build_study
from .summary import render

log = logging.getLogger("tradeq")

DEFAULT_RESULTS_DIR = "outputs/montecarlo/results"


def write_outputs(ds: xr.Dataset, plots, folder: str | Path, seconds: float | None = None) -> dict[str, Any]:
    """``study.nc``, ``summary.md`` and the PNG plots of ``ds`` into ``folder``."""
    folder = Path(folder)
    nc = write_netcdf(folder / "study.nc", ds)
    md = write_text(folder / "summary.md", render(ds, seconds=seconds) + "\n")
    pngs = save_plots(ds, plots, folder)
    return {"study": str(nc), "summary": str(md), "plots": [str(p) for p in pngs]}


def run_into(cfg: Mapping[str, Any], seed: int, folder: str | Path, *, results_dir: str | Path | None = None,
             progress: bool | None = None) -> dict[str, Any]:
    """Build the study of ``cfg`` (a ``study`` config mapping), run it and write its outputs.

    Returns the run record: timings, per-setting bookkeeping (computed or loaded from
    ``results_dir``), output paths.
    """
    cfg = dict(cfg)
    study = build_study(cfg)
    results = Path(results_dir or cfg.get("results_dir") or DEFAULT_RESULTS_DIR)
    start = time.perf_counter()
    ds, settings = run_study(study, seed, results, resume=bool(cfg.get("resume", True)),
                             chunk_size=cfg.get("chunk_size"), max_cells=int(cfg.get("max_cells") or MAX_CELLS),
                             workers=cfg.get("workers"), batch=cfg.get("batch"),
                             progress=bool(cfg.get("progress", True) if progress is None else progress))
    run_s = time.perf_counter() - start
    t = time.perf_counter()
    files = write_outputs(ds, study.plots, folder, seconds=run_s)
    n_new = sum(not s["cached"] for s in settings)
    log.info("study %s: %d settings (%d computed, %d loaded) in %.1f s -> %s", study.name, len(settings), n_new,
             len(settings) - n_new, run_s, folder)
    return {"study": study.name, "reps": study.reps, "n_settings": len(settings), "computed": n_new,
            "results_dir": str(results), "settings": settings, "files": files,
            "timings_s": {"study": round(run_s, 3), "outputs": round(time.perf_counter() - t, 3)}}
