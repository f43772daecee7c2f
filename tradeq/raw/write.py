"""``python simulate.py raw=customs``: the simulated raw inputs of ``data=raw`` as files.

Into the run folder, written as one set (:func:`tradeq.report.writer.write_files`):
``customs``, ``register``, ``prices`` (``.parquet`` or ``.csv``), ``linkage.csv`` (industry
codes in the first column), ``FORMATS.md`` (:mod:`tradeq.raw.formats`: every column, its
type and meaning), ``raw_truth.json`` (the coefficients), ``firm_year_truth`` (per firm-year
the latent quality and the quality the pipeline will measure), ``run.json`` and
``config.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradeq.raw.formats import describe
from tradeq.raw.simulated import simulate_raw_study
from tradeq.report.writer import write_files
from tradeq.runinfo import git_commit, package_versions
from tradeq.specs.data_raw import RawInputsSpec


def _table(frame: pd.DataFrame, fmt: str):
    return frame.to_parquet(index=False) if fmt == "parquet" else frame


def write_raw_inputs(spec: RawInputsSpec, seed: int, run_dir: Path, config_yaml: str, config: dict) -> dict:
    """Simulate and write the raw inputs (module docstring); returns the file names by input."""
    study = simulate_raw_study(int(spec.n_records), seed=int(seed), params=spec.dgp)
    fmt = spec.format
    names = {k: f"{k}.{fmt}" for k in ("customs", "register", "prices", "firm_year_truth")} | {"linkage": "linkage.csv"}
    linkage = study.linkage.rename_axis("industry").reset_index()
    files = {
        names["customs"]: _table(study.customs, fmt), names["register"]: _table(study.register, fmt),
        names["prices"]: _table(study.prices, fmt), names["linkage"]: linkage,
        names["firm_year_truth"]: _table(study.truth.firm_year, fmt), "FORMATS.md": describe(names),
        "raw_truth.json": study.truth.record(), "config.yaml": config_yaml,
        "run.json": {"seed": int(seed), "rows": {k: len(getattr(study, k)) for k in ("customs", "register", "prices")},
                     "versions": package_versions(), "git": git_commit(), "config": config},
    }
    write_files(run_dir, files)
    d = Path(run_dir)
    print(f"{len(study.customs):,} customs records, {len(study.register):,} register firm-years, "
          f"{len(study.prices):,} price indices -> {d} (formats: {d / 'FORMATS.md'})")
    print(f"estimate on them: python estimate.py data=raw data.customs={d / names['customs']} "
          f"data.register={d / names['register']} data.prices={d / names['prices']} data.linkage={d / names['linkage']}")
    return names
