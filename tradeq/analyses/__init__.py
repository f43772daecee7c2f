"""The mechanism, heterogeneity and robustness analyses behind ``estimate.py model.kind=...``.

Each analysis is a function ``run(panel, cfg, timings) -> AnalysisResult`` that fits with
the FE core (through :mod:`tradeq.pipeline`) and returns table columns in the paper's layout,
a JSON summary and tidy estimates; :func:`run_analysis` loads the panel, applies the
outcome's tailing, dispatches on ``model.kind`` and writes the run folder:

================  =====================================================  ===========
``model.kind``    what                                                   paper
================  =====================================================  ===========
``baseline``      inverted U, one column per control set, utest          Table 4
``lags``          lags 1–3 of the core variable, current/lagged controls Table 5
``mediation``     three-equation FE mediation, Sobel/bootstrap/Bayes     Tables 6–7
``heterogeneity`` split samples, interaction Wald test, partial pooling  Tables 8–11
================  =====================================================  ===========

The paper's Tables 4–11 are Hydra experiments over these analyses
(``conf/experiment/tableN.yaml``, listed by :mod:`tradeq.analyses.experiments`).

Files: ``table.md``/``table.tex``, ``estimates.csv`` (one row per column and term),
``<kind>.json`` (e.g. ``mediation.json``), ``run.json``, ``config.yaml``, and where made
``posterior.nc`` (ArviZ DataTree) and ``forest_*.png``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from tradeq import pipeline
from tradeq.analyses import baseline, heterogeneity, lags, mediation
from tradeq.analyses.common import AnalysisResult, apply_tail, fit_record, value
from tradeq.atomic import write_csv, write_json, write_netcdf, write_text, write_with
from tradeq.report.outputs import write_tables
from tradeq.runinfo import Timings, git_commit, package_versions

log = logging.getLogger("tradeq")

ANALYSES = {
    "baseline": baseline.run,
    "lags": lags.run,
    "mediation": mediation.run,
    "heterogeneity": heterogeneity.run,
}


def run_analysis(cfg: DictConfig, run_dir: Path) -> AnalysisResult:
    """Load → tail the outcome → the analysis of ``model.kind`` → files in ``run_dir``."""
    kind = str(value(cfg.model.kind))
    if kind not in ANALYSES:
        raise pipeline.ConfigError(f"model.kind={kind!r} is not an analysis; choose one of {sorted(ANALYSES)} or fe")
    timings = Timings()
    with timings("load"):
        panel = pipeline.load_panel(cfg.data, seed=cfg.seed)
    panel, tail = apply_tail(panel, cfg.model, cfg.model.outcome)
    result = ANALYSES[kind](panel, cfg, timings)
    if tail is not None:
        result.summary["tail"] = tail
        result.notes.append(f"{cfg.model.outcome} {tail['mode']}d at the {tail['p']:g} and {1 - tail['p']:g} quantiles "
                            f"({tail['rows_changed']:,} values changed).")
    write_run(run_dir, cfg, panel, result, timings)
    return result


def write_run(run_dir: Path, cfg: DictConfig, panel, result: AnalysisResult, timings: dict) -> None:
    run_dir = Path(run_dir)
    with timings("write"):
        write_tables(run_dir, result.columns, str(value(cfg.output.paren)), int(cfg.output.digits), result.caption,
                     result.notes)
        write_csv(run_dir / "estimates.csv", result.estimates)
        write_json(run_dir / f"{result.kind}.json", result.summary)
        if result.posterior is not None:
            write_netcdf(run_dir / "posterior.nc", result.posterior)
        for name, make in result.plots.items():
            try:
                write_with(run_dir / name, make)
            except Exception as exc:  # a plot must never cost the numbers
                log.warning("could not draw %s: %s", name, exc)
        write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    record = {
        "seed": int(cfg.seed),
        "model": str(cfg.model.name),
        "kind": result.kind,
        "data": {"source": panel.source, **panel.fingerprint()},
        "samples": {name: fit_record(fit) for name, fit in result.fits.items()},
        "timings_s": dict(timings),
        "versions": package_versions(),
        "git": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False),
    }
    write_json(run_dir / "run.json", record)
    print((run_dir / "table.md").read_text())
    if result.report:
        print(result.report)
    log.info("outputs written to %s", run_dir)
