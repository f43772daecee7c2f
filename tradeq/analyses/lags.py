"""Lags of the core variable (Table 5): does market integration act with a delay?

For k in ``model.lags`` (the paper: 1, 2, 3) the FE model

    y_it = b·x_{i,t−k} + W_it'd + firm_i + year_t + e_it          (current controls, cols 1–3)
    y_it = b·x_{i,t−k} + W_{i,t−k}'d + firm_i + year_t + e_it     (lagged controls, cols 4–6)

with the linear term only (``model.quadratic=false``, as the paper; ``true`` adds the lag's
square). Lags are exact years within firm (:func:`tradeq.lags.panel_lag`): a firm observed
in 2005 and 2007 has no one-year lag in 2007, so the sample shrinks with k by the firm-years
whose k-th previous year is missing — the paper's N falls from 594,596 to 414,819 / 311,251 /
238,764. Both halves of a lag order use the same rows (a firm-year has all its variables'
lags or none), so their N agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tradeq.analyses.common import (
    Fitted,
    Spec,
    analysis_record,
    apply_tail,
    fit_spec,
    resolve_vcov,
    square,
    tail_note,
    tidy,
    truth_terms,
    with_frame,
)
from tradeq.errors import ConfigError, DataError
from tradeq.lags import add_lags
from tradeq.panel import Panel
from tradeq.report.tables import TableColumn, values_column
from tradeq.report.writer import Report
from tradeq.specs import EstimateSpec


def lag_name(col: str, k: int) -> str:
    return f"L{k}_{col}"


@dataclass(frozen=True)
class LagsResult:
    """One fit per (lag order, control timing) column, the per-column summary rows, the
    number of complete rows before lagging, the truth by term and the tailing record."""

    fits: dict[str, Fitted]
    rows: tuple[dict, ...]
    n_no_lag: int
    truth: dict[str, float] | None
    id: str
    tail: dict | None


def _lagged_panel(panel: Panel, m, halves) -> Panel:
    if not (panel.id and panel.time):
        raise ConfigError("model=lags needs the panel keys: set data.id=<unit column> and data.time=<year column>")
    cluster = resolve_vcov(m, list(m.fe))[1]
    missing = [c for c in dict.fromkeys([m.outcome, m.treatment, *m.controls, *m.fe, *cluster, panel.id, panel.time])
               if c not in panel.frame.columns]
    if missing:
        raise DataError(f"data {panel.source!r}: missing column(s) {missing}; available: {list(panel.frame.columns)}")
    lagged_cols = [m.treatment] + (list(m.controls) if True in halves else [])  # only what a column uses
    return with_frame(panel, add_lags(panel.frame, lagged_cols, list(m.lags), panel.id, panel.time))


def estimate(spec: EstimateSpec, panel: Panel, timings) -> LagsResult:
    m = spec.model
    panel, tail = apply_tail(panel, m, m.outcome)
    halves = {"current": [False], "lagged": [True], "both": [False, True]}[str(m.lag_controls)]
    vcov, cluster = resolve_vcov(m, list(m.fe))
    with timings("lags"):
        lagged = _lagged_panel(panel, m, halves)
    fits, rows = {}, []
    with timings("fit"):
        for lag_controls in halves:
            for k in m.lags:
                xk = lag_name(m.treatment, k)
                W = [lag_name(c, k) for c in m.controls] if lag_controls else list(m.controls)
                terms = (xk, square(xk), *W) if m.quadratic else (xk, *W)
                name = f"L{k} {'lagged' if lag_controls else 'current'} controls"
                f = fit_spec(lagged, Spec(m.outcome, terms, tuple(m.fe), vcov, cluster), m.level)
                fits[name] = f
                i = f.fit.index(xk)
                rows.append({"column": name, "lag": k, "controls": "lagged" if lag_controls else "current",
                             "n_obs": f.fit.n_obs, "estimate": float(f.fit.coef[i]),
                             "std_error": float(f.fit.se[i]), "p_value": float(f.fit.pvalue[i])})
    n_all = int(panel.frame[[m.outcome, m.treatment, *m.controls]].notna().all(axis=1).sum())
    return LagsResult(fits, tuple(rows), n_all, truth_terms(panel.truth), panel.id, tail)


def report(result: LagsResult, spec: EstimateSpec) -> Report:
    m = spec.model
    y, x = m.outcome, m.treatment
    columns = []
    for row in result.rows:
        f = result.fits[row["column"]]
        columns.append(TableColumn(f.dataset, title=y, extra={"Lag of " + x: f"t−{row['lag']}", "Controls": row["controls"]},
                                   lead=tuple(lag_name(x, j) for j in m.lags)))
    notes = [f"Lags are exact years within {result.id}; a firm-year whose earlier year is missing drops out."]
    if result.tail:
        notes.append(tail_note(result.tail))
    if result.truth is not None:
        keep = {t: v for t, v in result.truth.items() if t in m.controls or t in (x, f"I({x} ** 2)")}
        columns.append(values_column(keep, "Truth"))
        notes.append(f"Truth: the simulation's contemporaneous {x}, {x}² and control slopes; the lag "
                     f"coefficients have no structural counterpart (the simulated quality responds to current {x} only).")
    rows = list(result.rows)
    summary = {"outcome": y, "treatment": x, "lags": list(m.lags), "lag_controls": str(m.lag_controls),
               "n_obs_no_lag": result.n_no_lag, "columns": rows,
               "n_shrink": {str(k): next(r["n_obs"] for r in rows if r["lag"] == k) / result.n_no_lag for k in m.lags}}
    estimates = pd.concat([tidy(f, name, m.level) for name, f in result.fits.items()], ignore_index=True)
    console = "\n".join(f"{r['column']}: b = {r['estimate']:.4g} (se {r['std_error']:.3g}), N = {r['n_obs']:,}" for r in rows)
    return Report(caption=m.title or f"Lags of {x}: {y}", columns=tuple(columns), notes=tuple(notes),
                  files={"lags.json": summary, "estimates.csv": estimates},
                  record=analysis_record("lags", result.fits, result.tail), console=console)
