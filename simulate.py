"""Simulate synthetic firm panels with known truth, or run a Monte Carlo study.

    python simulate.py                                   # the paper-size panel (594,596 rows)
    python simulate.py data.n_firms=2000 data.n_obs=null data.dgp.error=ar1 format=csv
    python simulate.py study=fe_coverage study.reps=1000 seed=1      # a validation study
    python simulate.py -m study=fe_coverage study.grid.error=iid,ar1 hydra/launcher=joblib
    python simulate.py study=few_clusters                # province and firm samples, few clusters
    python simulate.py validation=all                    # regenerates docs/validation.md

Without a study (``study=none``, the default) writes ``panel.<format>`` (firm, year,
province, region, ownership, quality, Market, controls, …), ``truth.json`` (the
coefficients the panel was generated with), ``run.json`` and ``config.yaml`` into the run
folder; feed the panel back with ``python estimate.py data=file
data.path=<run folder>/panel.parquet``.

With ``study=<name>`` (``conf/study/<name>.yaml``) writes ``study.nc`` (metrics with
Monte Carlo SEs per setting × estimator × parameter, and every replication's estimates),
``summary.md``, the study's PNG plots, ``run.json`` and ``config.yaml``. Each setting's
results are also kept in ``results/`` in the run folder (the sweep folder for ``-m``, shared
by its jobs; or ``study.results_dir``), so a re-run of an interrupted run or sweep into the
same folder computes only the settings still missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import tradeq
from tradeq import cli
from tradeq import simulate_jobs as jobs
from tradeq.config import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="simulate")
def main(cfg: DictConfig) -> None:
    tradeq.setup_runtime()  # here too: launcher workers (joblib, submitit) import this module, not run it
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    if cfg.raw.name != "none":
        return jobs.write_raw(cfg, run_dir)
    if cfg.validation.name != "none":
        return jobs.run_validation(cfg, run_dir)
    if cfg.study.name != "none":
        return jobs.run_study(cfg, run_dir)
    return jobs.write_synthetic_panel(cfg, run_dir)


if __name__ == "__main__":
    tradeq.setup_runtime()  # float64 JAX and host devices, before any array exists
    sys.exit(cli.run(main))
