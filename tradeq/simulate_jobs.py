"""What ``simulate.py`` runs (its module docstring has the commands): one synthetic panel, the
raw inputs of ``data=raw``, a Monte Carlo study, or the validation matrix. Each job takes the
composed config at the entry point, turns it into its spec once and writes into the run folder.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from tradeq import pipeline
from tradeq.atomic import write_json, write_text, write_with
from tradeq.errors import ConfigError
from tradeq.runinfo import Timings, git_commit, package_versions
from tradeq.specs import SyntheticFirmsSpec
from tradeq.specs.fields import from_node, schema_for


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


def write_raw(cfg: DictConfig, run_dir: Path) -> None:
    """``raw=customs``: the raw inputs of ``data=raw``, with their formats."""
    from tradeq.raw.write import write_raw_inputs
    from tradeq.specs.data_raw import RawInputsSpec

    spec = from_node(cfg.raw, RawInputsSpec, "raw", HydraConfig.get().runtime.choices.get("raw"))
    write_raw_inputs(spec, int(cfg.seed), run_dir, OmegaConf.to_yaml(cfg, resolve=True),
                     OmegaConf.to_container(cfg, resolve=True))


def write_synthetic_panel(cfg: DictConfig, run_dir: Path) -> None:
    """No study: one synthetic firm panel, its truth and run record."""
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

