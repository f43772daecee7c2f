"""What every analysis shares: variable-based specifications, the sample, FE fits, the truth.

An analysis names its variables (``model.outcome``, ``model.treatment``, ``model.controls``,
``model.fe``, ``model.cluster``) instead of writing a formula; :class:`Spec` turns them into
the fixest-style formula of :mod:`tradeq.formula`, and :func:`fit_spec` runs it through the
same steps as the ``fe`` path (:func:`tradeq.pipeline.build_design` validates the columns,
:func:`tradeq.pipeline.fit_model` fits), so every column of every table comes from the one
FE core in :mod:`tradeq.models.fixed_effects`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from tradeq import pipeline
from tradeq.config import value  # noqa: F401  (re-exported for the analyses)
from tradeq.errors import ConfigError
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.utest import UTestResult
from tradeq.panel import Panel
from tradeq.report.tables import TableColumn
from tradeq.winsorize import trim, winsorize

log = logging.getLogger("tradeq")


def require_settings(model_cfg, kind: str, keys: tuple[str, ...]) -> None:
    """One clear error for the first ``model.<key>`` an analysis needs but the config leaves empty."""
    for key in keys:
        if not getattr(model_cfg, key, None):
            raise ConfigError(f"model.kind={kind} needs model.{key}=<column>")


def square(x: str) -> str:
    """The formula term of the square of ``x`` (formulaic names the column ``I(x ** 2)``)."""
    return f"I({x}**2)"


def square_name(x: str) -> str:
    return f"I({x} ** 2)"


@dataclass(frozen=True)
class Spec:
    """One regression: ``outcome ~ terms | fe`` with ``vcov`` clustered by ``cluster``."""

    outcome: str
    terms: tuple[str, ...]
    fe: tuple[str, ...] = ()
    vcov: str = "cluster"
    cluster: tuple[str, ...] = ()

    @property
    def formula(self) -> str:
        rhs = " + ".join(self.terms) if self.terms else "1"
        return f"{self.outcome} ~ {rhs}" + (f" | {' + '.join(self.fe)}" if self.fe else "")


@dataclass(frozen=True)
class UTestRequest:
    """The inverted-U test's settings as :func:`tradeq.pipeline.inverted_u_test` reads them: the
    core variable, the interval (None: the data's range) and the level."""

    utest: str
    utest_interval: tuple[float, float] | None = None
    level: float = 0.95


@dataclass(frozen=True)
class Fitted:
    """A fitted :class:`Spec`: its design (arrays), the FE fit and the fit as a Dataset."""

    spec: Spec
    design: Design
    fit: FEFit
    dataset: xr.Dataset


def resolve_vcov(model_cfg, fe: list[str], cluster: Any = None) -> tuple[str, tuple[str, ...]]:
    """(vcov, cluster columns) for an analysis.

    ``vcov=cluster`` without a column clusters by the first fixed effect (as fixest does);
    with neither a column nor fixed effects it falls back to HC1 (nothing to cluster by).
    """
    vcov = str(value(model_cfg.vcov))
    raw = model_cfg.cluster if cluster is None else cluster
    cols = [] if raw is None else ([str(raw)] if isinstance(raw, str) else [str(c) for c in raw])
    if vcov == "cluster" and not cols:
        if fe:
            cols = [fe[0]]
        else:
            log.info("model.vcov=cluster with no model.cluster and no fixed effects: using HC1")
            return "hc1", ()
    if vcov in ("iid", "hc1"):
        cols = []
    return vcov, tuple(cols)


def fit_spec(panel: Panel, spec: Spec, level: float = 0.95) -> Fitted:
    """Validate the columns, build the design and fit, as ``estimate.py``'s ``fe`` path does."""
    design = pipeline.build_design(panel, spec)  # a Spec has the formula, vcov and cluster the pipeline reads
    fit = pipeline.fit_model(design, spec)
    return Fitted(spec, design, fit, fit.to_dataset(level))


def utest(fitted: Fitted, treatment: str, level: float = 0.95) -> tuple[UTestResult, pipeline.CoreRange] | None:
    """Lind–Mehlum test on the fit's own range of ``treatment`` (None without the square)."""
    if square_name(treatment) not in fitted.fit.x_names or treatment not in fitted.fit.x_names:
        return None
    return pipeline.inverted_u_test(fitted.fit, fitted.design, UTestRequest(treatment, None, level))


def with_frame(panel: Panel, frame: pd.DataFrame) -> Panel:
    """The panel with another frame (a subsample or added columns), same source and truth."""
    return Panel(frame=frame, source=panel.source, id=panel.id, time=panel.time,
                 labels=panel.labels, truth=panel.truth, value_codes=panel.value_codes)


def apply_tail(panel: Panel, model_cfg, outcome: str | None) -> tuple[Panel, dict | None]:
    """Winsorise or trim ``outcome`` at the ``tail_p`` / ``1 − tail_p`` quantiles (per side).

    The paper's "5% tailing" is ``tail_p=0.05``. Quantiles are taken over the whole panel
    before any lag or split, as done when a data set is cleaned. Returns the panel and a
    record of the cut (None when ``tail=none``).
    """
    mode = str(value(model_cfg.tail))
    if mode == "none" or outcome is None:
        return panel, None
    if outcome not in panel.frame.columns:
        raise pipeline.DataError(f"data {panel.source!r}: missing column {outcome!r} (model.outcome)")
    p = float(model_cfg.tail_p)
    frame = panel.frame.copy()
    before = frame[outcome]
    frame[outcome] = (winsorize if mode == "winsorize" else trim)(before.astype(float), p)
    changed = int((before.astype(float) != frame[outcome]).sum())
    return with_frame(panel, frame), {"mode": mode, "p": p, "column": outcome, "rows_changed": changed}


def truth_terms(truth: Any) -> dict[str, float] | None:
    """The simulator's truth on formula term names (``Market``, ``I(Market ** 2)``, controls)."""
    return pipeline.truth_by_term(truth)


def tidy(fitted: Fitted, column: str, level: float, truth: dict[str, float] | None = None) -> pd.DataFrame:
    """``estimates.csv`` rows of one column (the ``fe`` path's layout plus ``column``)."""
    frame = pipeline.tidy_estimates(fitted.fit, column, level, truth)
    frame.insert(1, "column", column)
    return frame


def fmt(v: float, digits: int = 4) -> str:
    return "" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


def fmt_ci(lo: float, hi: float, digits: int = 4) -> str:
    return f"[{fmt(lo, digits)}, {fmt(hi, digits)}]"


@dataclass
class AnalysisResult:
    """What an analysis hands to the writer: table columns, JSON summary, tidy estimates, plots.

    ``summary`` is written to ``<kind>.json``; ``plots`` maps file names to functions that
    write the file; ``posterior`` (an ArviZ DataTree) to ``posterior.nc``.
    """

    kind: str
    columns: list[TableColumn]
    caption: str
    summary: dict
    estimates: pd.DataFrame
    fits: dict[str, FEFit] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    report: str = ""
    plots: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    posterior: Any = None




def convergence_note(max_rhat, divergences, rhat_max: float = 1.01) -> str | None:
    """A table note when a Bayesian fit failed its convergence checks (None when it passed)."""
    # R-hat is NaN with one chain (nothing to compare): no verdict from it then
    bad_rhat = max_rhat is not None and math.isfinite(float(max_rhat)) and float(max_rhat) > rhat_max
    bad_div = bool(divergences)
    if not (bad_rhat or bad_div):
        return None
    parts = []
    if bad_rhat:
        parts.append(f"max R-hat {float(max_rhat):.3f}")
    if bad_div:
        parts.append(f"{int(divergences)} divergent transitions")
    return ("Caution: the Bayesian fit failed its convergence checks (" + ", ".join(parts)
            + "); more draws (inference.draws, inference.tune) or a higher target acceptance may be needed.")


def tail_note(tail: dict) -> str:
    """The table note of :func:`apply_tail`'s record."""
    return (f"{tail['column']} {tail['mode']}d at the {tail['p']:g} and {1 - tail['p']:g} quantiles "
            f"({tail['rows_changed']:,} values changed).")


def analysis_record(kind: str, fits: dict[str, Fitted], tail: dict | None) -> dict:
    """What ``run.json`` records of an analysis: its kind, each column's sample, the tailing."""
    record = {"kind": kind, "samples": {n: pipeline.sample_record(f.fit) for n, f in fits.items()}}
    if tail is not None:
        record["tail"] = tail
    return record
