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

import dataclasses
import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import tradeq
from tradeq import cli, pipeline
from tradeq.atomic import write_json, write_text, write_with
from tradeq.config import register_configs
from tradeq.errors import ConfigError
from tradeq.runinfo import Timings, git_commit, package_versions
from tradeq.specs import SyntheticFirmsSpec
from tradeq.specs.fields import from_node, schema_for

log = logging.getLogger("tradeq")
register_configs()


def truth_record(truth) -> dict:
    record = dataclasses.asdict(truth)
    record["params"] = {k: v for k, v in record["params"].items()}
    return record


def write_panel(path: Path, frame, fmt: str) -> Path:
    writers = {
        "parquet": lambda p: frame.to_parquet(p, index=False),
        "csv": lambda p: frame.to_csv(p, index=False),
        "dta": lambda p: frame.to_stata(p, write_index=False),
    }
    return write_with(path, writers[fmt])


def run_study(cfg: DictConfig, run_dir: Path) -> None:
    """``study=<name>``: the Monte Carlo study into ``run_dir`` (see the module docstring)."""
    from hydra.types import RunMode
    from hydra.utils import get_original_cwd

    from tradeq.montecarlo.run import results_dir_for, run_into
    from tradeq.montecarlo.spec import study_spec

    hc = HydraConfig.get()
    sweep_dir = Path(get_original_cwd()) / hc.sweep.dir if hc.mode == RunMode.MULTIRUN else None
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    if cfg.study.name == "few_clusters":  # province and firm samples: its own module
        return run_few_clusters(cfg, run_dir)
    spec = study_spec(cfg.study, cfg.data, int(cfg.seed))  # a ConfigError names the setting (tradeq.cli)
    results = results_dir_for(spec, run_dir, sweep_dir, base=get_original_cwd())
    try:
        record = run_into(spec, run_dir, results_dir=results)
    except KeyboardInterrupt as err:  # Ctrl-C: the finished settings are saved; say how to resume
        again = f"hydra.sweep.dir={sweep_dir}" if sweep_dir is not None else f"hydra.run.dir={run_dir}"
        print(f"interrupted: {err} (the same command with {again} resumes)", file=sys.stderr)
        raise SystemExit(130) from None
    write_json(run_dir / "run.json", {
        "seed": int(cfg.seed), **record, "versions": package_versions(), "git": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    })
    print((run_dir / "summary.md").read_text())
    print(f"study {record['study']}: {record['n_settings']} settings ({record['computed']} computed, "
          f"{record['n_settings'] - record['computed']} loaded from {record['results_dir']}) "
          f"in {record['timings_s']['study']:.1f} s -> {run_dir}")


def run_few_clusters(cfg: DictConfig, run_dir: Path) -> None:
    """``study=few_clusters`` (:mod:`tradeq.montecarlo.few_clusters`) into ``run_dir``."""
    from tradeq.montecarlo.config import study_config
    from tradeq.montecarlo.few_clusters import few_cluster_study, run_few_clusters_into

    scfg = study_config(cfg.study)
    study = few_cluster_study(scfg, int(cfg.seed))
    record = run_few_clusters_into(study, run_dir, scfg.results_dir or run_dir / "results", resume=scfg.resume)
    write_json(run_dir / "run.json", {
        "seed": int(cfg.seed), **record, "versions": package_versions(), "git": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    })
    print((run_dir / "summary.md").read_text())
    print(f"study few_clusters: {record['n_settings']} samples ({record['computed']} computed) "
          f"in {record['timings_s']['study']:.1f} s -> {run_dir}")


def run_validation(cfg: DictConfig, run_dir: Path) -> None:
    """``validation=all``: the validation matrix into ``validation.output`` (and the run folder)."""
    from hydra.utils import get_original_cwd

    from tradeq.specs.validation import ValidationSpec
    from tradeq.validation import write_validation

    spec = from_node(cfg.validation, ValidationSpec, "validation", HydraConfig.get().runtime.choices.get("validation"))
    out = Path(spec.output)
    out = out if out.is_absolute() else Path(get_original_cwd()) / out
    record = write_validation(spec, int(cfg.seed), out, run_dir)
    write_json(run_dir / "run.json", {
        "seed": int(cfg.seed), **record, "versions": package_versions(), "git": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    })
    print(f"validation: {record['n_rows']} rows in {record['seconds']:.0f} s -> {out}")


@hydra.main(version_base="1.3", config_path="conf", config_name="simulate")
def main(cfg: DictConfig) -> None:
    tradeq.setup_runtime()  # here too: launcher workers (joblib, submitit) import this module, not run it
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    if cfg.raw.name != "none":  # raw=customs: the raw inputs of data=raw, with their formats
        from tradeq.raw.write import write_raw_inputs
        from tradeq.specs.data_raw import RawInputsSpec

        spec = from_node(cfg.raw, RawInputsSpec, "raw", HydraConfig.get().runtime.choices.get("raw"))
        return write_raw_inputs(spec, int(cfg.seed), run_dir, OmegaConf.to_yaml(cfg, resolve=True),
                                OmegaConf.to_container(cfg, resolve=True))
    if cfg.validation.name != "none":
        return run_validation(cfg, run_dir)
    if cfg.study.name != "none":
        return run_study(cfg, run_dir)
    if OmegaConf.get_type(cfg.data) is not schema_for(SyntheticFirmsSpec):
        raise ConfigError("simulate.py generates synthetic data; use data=synthetic_firms")
    data = from_node(cfg.data, SyntheticFirmsSpec, "data", HydraConfig.get().runtime.choices.get("data"))
    timings = Timings()
    with timings("simulate"):
        panel = pipeline.load_panel(data, seed=int(cfg.seed))
    fmt = cfg.format.value
    path = write_panel(run_dir / f"panel.{fmt}", panel.frame, fmt)
    write_json(run_dir / "truth.json", truth_record(panel.truth))
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_json(run_dir / "run.json", {
        "seed": int(cfg.seed), "data": panel.fingerprint(), "timings_s": dict(timings),
        "versions": package_versions(), "git": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    })
    t = panel.truth
    print(f"{panel.frame.shape[0]:,} firm-years, {t.n_firms:,} firms × {t.n_years} years → {path}")
    print(f"truth: b1 = {t.b1}, b2 = {t.b2}, turning point = {t.turning_point:.4f}, errors = {t.error}")


if __name__ == "__main__":
    tradeq.setup_runtime()  # float64 JAX and host devices, before any array exists
    sys.exit(cli.run(main))
