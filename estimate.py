"""Fit a fixed-effects model (and, with inference=bayes|both, its Bayesian version).

    python estimate.py                                   # inverted U on the synthetic firm panel
    python estimate.py model=fe model.formula="y ~ x | f" data=file data.path=panel.dta
    python estimate.py -m model=inverted_u model.vcov=hc1,cluster   # a sweep, tables combined

Pipeline: config → panel → design (arrays) → FE fit → inverted-U test → files in the run folder.

Other analyses (``model.kind``: baseline, lags, mediation, heterogeneity) run through
:mod:`tradeq.analyses`; the paper's tables are experiments:

    python estimate.py experiment=table6                # Table 6 layout on a synthetic panel with its truth
    python estimate.py model=mediation data=file data.path=f.csv model.outcome=y model.treatment=x model.mediator=m
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import tradeq
from tradeq import pipeline
from tradeq.atomic import write_netcdf, write_text
from tradeq.cli import quote_formula_overrides
from tradeq.config import register_configs, value
from tradeq.report.outputs import utest_rows, write_run, write_tables
from tradeq.report.tables import TableColumn
from tradeq.runinfo import Timings, git_commit, package_versions

log = logging.getLogger("tradeq")
register_configs()


@hydra.main(version_base=None, config_path="conf", config_name="estimate")
def main(cfg: DictConfig) -> None:
    tradeq.setup_runtime()  # here too: launcher workers (joblib, submitit) import this module, not run it
    try:
        run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (pipeline.DataError, pipeline.ConfigError) as exc:
        log.error("%s", exc)
        raise SystemExit(f"error: {exc}") from None


def run(cfg: DictConfig, run_dir: Path) -> None:
    kind = str(value(cfg.model.kind))
    if kind != "fe":  # mediation, heterogeneity, lags, baseline: tradeq/analyses
        from tradeq.analyses import run_analysis

        run_analysis(cfg, run_dir)
        return
    run_fe(cfg, run_dir)


def run_fe(cfg: DictConfig, run_dir: Path) -> None:
    timings = Timings()
    with timings("load"):
        panel = pipeline.load_panel(cfg.data, seed=cfg.seed)
    if str(value(cfg.model.tail)) != "none":  # model.tail=winsorize|trim
        from tradeq.analyses.common import apply_tail

        panel, _ = apply_tail(panel, cfg.model, pipeline.required_columns(str(cfg.model.formula))[0])
    with timings("design"):
        design = pipeline.build_design(panel, cfg.model)
    with timings("fit"):
        fit = pipeline.fit_model(design, cfg.model)
    with timings("utest"):
        utest = pipeline.inverted_u_test(fit, design, cfg.model)
    result, rng = utest if utest else (None, None)

    bayes = None
    if str(value(cfg.inference.kind)) != "fe":  # inference=bayes|both
        from tradeq.analyses import bayes_inverted_u

        with timings("bayes"):
            bayes = bayes_inverted_u.run(panel, design, fit, cfg, run_dir)
    fe_shown = bayes is None or str(value(cfg.inference.kind)) == "both"

    truth = pipeline.truth_by_term(panel.truth)
    estimates = pipeline.tidy_estimates(fit, cfg.model.name, cfg.model.level, truth)
    column = TableColumn(fit.to_dataset(cfg.model.level), title=fit.y_name, extra=utest_rows(result))
    caption = f"{cfg.model.name}: {cfg.model.formula}"
    write_tables(run_dir, [column], cfg.output.paren.value, cfg.output.digits, caption)
    record = pipeline.run_record(cfg, panel, fit, timings, package_versions(), git_commit())
    if bayes is not None:
        estimates = pd.concat([estimates, bayes["tidy"]] if fe_shown else [bayes["tidy"]], ignore_index=True)
        table = (run_dir / "table.md").read_text() if fe_shown else f"**{caption}**\n"
        write_text(run_dir / "table.md", table + bayes["markdown"])
        write_netcdf(run_dir / "posterior.nc", bayes["tree"])
        record["bayes"] = bayes["record"]
    write_run(run_dir, cfg, estimates, column.estimates, result, rng.source if rng else None, record)

    print((run_dir / "table.md").read_text())
    if result is not None:
        print(pipeline.describe_utest(result, rng))
    log.info("outputs written to %s", run_dir)


if __name__ == "__main__":
    tradeq.setup_runtime()  # float64 JAX and host devices, before any array exists
    sys.argv = quote_formula_overrides(sys.argv)
    main()
