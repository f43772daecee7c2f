"""Write a run's files into its Hydra run folder, each atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr
from omegaconf import DictConfig, OmegaConf

from tradeq.atomic import write_csv, write_json, write_netcdf, write_text
from tradeq.models.utest import UTestResult
from tradeq.report.tables import TableColumn, to_latex, to_markdown


def utest_rows(result: UTestResult | None, digits: int = 3) -> dict[str, str]:
    """Extra table rows summarising the inverted-U test for one column."""
    if result is None:
        return {}
    d = result.to_dict()
    tp = d["turning_point"]
    tp_se = d["turning_point_se"]
    fmt = lambda v: v if isinstance(v, str) else "" if v is None else f"{v:.{digits}f}"  # noqa: E731  (None: NaN)
    return {
        "Turning point": f"{fmt(tp)} ({fmt(tp_se)})",
        "Lind–Mehlum t (p)": f"{fmt(d['t'])} ({d['p']:.3f})" if isinstance(d["p"], float) else fmt(d["t"]),
        "U-test verdict": d["verdict"],
    }


def write_tables(run_dir: Path, columns: list[TableColumn], paren: str, digits: int, caption: str,
                 notes: tuple[str, ...] | list[str] = ()) -> None:
    write_text(run_dir / "table.md", to_markdown(columns, paren, digits, caption, notes))
    write_text(run_dir / "table.tex", to_latex(columns, paren, digits, caption, notes))


def write_run(
    run_dir: Path,
    cfg: DictConfig,
    estimates: pd.DataFrame,
    dataset: xr.Dataset,
    utest: UTestResult | None,
    utest_source: str | None,
    run_record: dict,
) -> None:
    """estimates.csv, estimates.nc, utest.json, config.yaml and run.json for one model."""
    write_csv(run_dir / "estimates.csv", estimates)
    write_netcdf(run_dir / "estimates.nc", dataset)
    if utest is not None:
        write_json(run_dir / "utest.json", {**utest.to_dict(), "interval_source": utest_source})
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_json(run_dir / "run.json", run_record)
