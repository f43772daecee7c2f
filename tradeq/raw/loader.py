"""``data=raw`` as a panel: raw inputs (files, or the simulated raw data) → :func:`tradeq.raw.build_panel`
→ a :class:`tradeq.panel.Panel` that carries the pipeline's files for the run folder.

The run folder gets ``panel.parquet`` (the pipeline's panel, as cached: its firm column is
``firm_id``), ``manifest.json`` (inputs' hashes, settings, the attrition table, versions),
``attrition.csv`` (the attrition table alone: rows in and out of every step) and, on the
simulated data, ``raw_truth.json``; the estimator sees the panel with ``firm_id`` named
``data.id`` (default ``firm``, the name the models' formulas use).
"""

from __future__ import annotations

import logging
from pathlib import Path

from tradeq.errors import ConfigError
from tradeq.panel import Panel
from tradeq.raw.pipeline import build_panel
from tradeq.raw.readers import read_linkage
from tradeq.raw.simulated import simulate_raw_study
from tradeq.specs.data_raw import RawSpec

log = logging.getLogger("tradeq")


def load_raw_panel(data: RawSpec, seed: int) -> Panel:
    """Build (or load from ``data.cache_dir``) the panel of ``data`` (see the module docstring)."""
    truth = None
    if data.simulated:
        try:
            study = simulate_raw_study(int(data.n_records), seed=int(seed), params=data.dgp)
        except ValueError as err:  # settings the simulation cannot honour (qualities beyond the calibration)
            raise ConfigError(f"data.dgp: {err}") from None
        inputs, linkage, truth = (study.customs, study.register, study.prices), study.linkage, study.truth
        source = f"raw (simulated: {len(study.customs):,} customs records, seed {seed})"
    else:
        inputs = (Path(data.customs), Path(data.register), Path(data.prices))
        linkage = read_linkage(data.linkage) if data.linkage else None
        source = f"raw ({data.customs}, {data.register}, {data.prices})"
    panel, manifest = build_panel(*inputs, linkage=linkage, settings=data.settings(), cache_dir=data.cache_dir,
                                  temp_directory=data.temp_directory)
    log.info("raw pipeline: %s firm-years%s; attrition:\n%s", f"{len(panel):,}",
             f" (from the cache {data.cache_dir})" if manifest.from_cache else "",
             manifest.attrition_table()[["step", "unit", "rows_in", "rows_out", "dropped"]].to_string(index=False))
    files = {"panel.parquet": panel.to_parquet(index=False),
             "manifest.json": {**manifest.record(), "from_cache": manifest.from_cache},
             "attrition.csv": manifest.attrition_table()}
    if truth is not None:
        files["raw_truth.json"] = truth.record()
    frame = panel.rename(columns={"firm_id": data.id}) if data.id != "firm_id" else panel
    return Panel(frame=frame, source=source, id=data.id, time=data.time, truth=truth, files=files)
