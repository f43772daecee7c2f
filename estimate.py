"""Estimate a model: ``python estimate.py model=<analysis> [data=...] [inference=fe|bayes|both] [key=value ...]``.

    python estimate.py                                    # the inverted U on the synthetic firm panel
    python estimate.py model=fe data=file data.path=panel.dta model.formula="y ~ x | f"
    python estimate.py experiment=table6                  # a paper table on a panel with known truth
    python estimate.py -m model=inverted_u model.vcov=hc1,cluster   # a sweep, tables combined

config → spec (typed, validated) → panel → the analysis's estimate → its report → files, written as a set.
"""

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import tradeq
from tradeq import cli, pipeline, progress
from tradeq.analyses import ANALYSES
from tradeq.config import register_configs
from tradeq.report.writer import Report, check_writable, run_files, write_files
from tradeq.runinfo import Timings, run_record
from tradeq.specs import EstimateSpec, estimate_spec

register_configs()
log = logging.getLogger("tradeq")


def run(spec: EstimateSpec, run_dir: Path, cfg: DictConfig) -> Report:
    """The pipeline: panel → the analysis's estimate → its report → the run folder's files."""
    check_writable(run_dir)
    timings = Timings()
    with timings("load"), progress.step("loading data"):
        panel = pipeline.load_panel(spec.data, spec.seed)
    analysis = ANALYSES[spec.model.KIND]
    result = analysis.estimate(spec, panel, timings)
    report = analysis.report(result, spec)
    record = run_record(spec, panel, timings, OmegaConf.to_container(cfg, resolve=True))
    files = run_files(report, spec.output.paren, spec.output.digits, record, OmegaConf.to_yaml(cfg, resolve=True),
                      extra=panel.files, labels=table_labels(spec, panel))
    write_files(run_dir, files)
    cli.show(files["table.md"], report.console, run_dir)
    return report


def table_labels(spec: EstimateSpec, panel) -> dict[str, str] | None:
    """The data's variable labels for the table rows under ``output.labels=true`` (esttab's ``label``)."""
    if not spec.output.labels:
        return None
    if not panel.labels:
        log.warning("warning: output.labels=true, but data %r carry no variable labels (a .dta has them); "
                    "rows keep the column names", panel.source)
    return dict(panel.labels)


@hydra.main(version_base="1.3", config_path=str(Path(__file__).resolve().parent / "conf"), config_name="estimate")
def main(cfg: DictConfig) -> None:
    tradeq.setup_runtime()  # here too: launcher workers import this module, they do not run it
    run(estimate_spec(cfg, HydraConfig.get().runtime.choices), Path(HydraConfig.get().runtime.output_dir), cfg)


if __name__ == "__main__":
    tradeq.setup_runtime()  # float64 JAX and host devices, before any array exists
    sys.exit(cli.run(main))
