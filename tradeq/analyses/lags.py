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

import pandas as pd
from omegaconf import DictConfig

from tradeq.analyses.common import (
    AnalysisResult,
    Spec,
    fit_spec,
    require_settings,
    resolve_vcov,
    square,
    tidy,
    truth_terms,
    value,
    with_frame,
)
from tradeq.errors import DataError
from tradeq.lags import add_lags
from tradeq.panel import Panel
from tradeq.report.tables import TableColumn, values_column


def lag_name(col: str, k: int) -> str:
    return f"L{k}_{col}"


def run(panel: Panel, cfg: DictConfig, timings) -> AnalysisResult:
    mc = cfg.model
    require_settings(mc, "lags", ("outcome", "treatment"))
    y, x = str(mc.outcome), str(mc.treatment)
    controls = [str(c) for c in mc.controls]
    fe = [str(f) for f in mc.fe]
    orders = [int(k) for k in mc.lags]
    if not orders or min(orders) < 1:
        raise DataError(f"model.lags must list lag orders ≥ 1, got {orders}")
    which = str(value(mc.lag_controls))
    halves = {"current": [False], "lagged": [True], "both": [False, True]}[which]
    vcov, cluster = resolve_vcov(mc, fe)
    level = float(mc.level)
    missing = [c for c in [y, x, *controls, *fe, *cluster, panel.id, panel.time] if c not in panel.frame.columns]
    if missing:
        raise DataError(f"data {panel.source!r}: missing column(s) {missing}; available: {list(panel.frame.columns)}")
    with timings("lags"):
        lagged_cols = [x] + (controls if True in halves else [])  # only what a column uses
        frame = add_lags(panel.frame, lagged_cols, orders, panel.id, panel.time)
    lagged_panel = with_frame(panel, frame)

    fits, columns, rows = {}, [], []
    with timings("fit"):
        for lag_controls in halves:
            for k in orders:
                xk = lag_name(x, k)
                W = [lag_name(c, k) for c in controls] if lag_controls else controls
                terms = (xk, square(xk), *W) if mc.quadratic else (xk, *W)
                name = f"L{k} {'lagged' if lag_controls else 'current'} controls"
                f = fit_spec(lagged_panel, Spec(y, terms, tuple(fe), vcov, cluster), level)
                fits[name] = f
                columns.append(TableColumn(f.dataset, title=y, extra={
                    "Lag of " + x: f"t−{k}", "Controls": "lagged" if lag_controls else "current"},
                    lead=tuple(lag_name(x, j) for j in orders)))
                rows.append({"column": name, "lag": k, "controls": "lagged" if lag_controls else "current",
                             "n_obs": f.fit.n_obs, "estimate": float(f.fit.coef[f.fit.index(xk)]),
                             "std_error": float(f.fit.se[f.fit.index(xk)]), "p_value": float(f.fit.pvalue[f.fit.index(xk)])})

    truth = truth_terms(panel.truth)
    notes = [f"Lags are exact years within {panel.id}; a firm-year whose earlier year is missing drops out."]
    if truth is not None:
        keep = {t: v for t, v in truth.items() if t in controls or t in (x, f"I({x} ** 2)")}
        columns.append(values_column(keep, "Truth"))
        notes.append(f"Truth: the simulation's contemporaneous {x}, {x}² and control slopes; the lag "
                     f"coefficients have no structural counterpart (the simulated quality responds to current {x} only).")
    n_all = int(panel.frame[[y, x, *controls]].notna().all(axis=1).sum())
    summary = {"outcome": y, "treatment": x, "lags": orders, "lag_controls": which,
               "n_obs_no_lag": n_all, "columns": rows,
               "n_shrink": {str(k): next(r["n_obs"] for r in rows if r["lag"] == k) / n_all for k in orders}}
    estimates = pd.concat([tidy(f, name, level) for name, f in fits.items()], ignore_index=True)
    caption = mc.title or f"Lags of {x}: {y}"
    report = "\n".join(f"{r['column']}: b = {r['estimate']:.4g} (se {r['std_error']:.3g}), N = {r['n_obs']:,}" for r in rows)
    return AnalysisResult(kind="lags", columns=columns, caption=caption, summary=summary, estimates=estimates,
                          fits={n: f.fit for n, f in fits.items()}, notes=notes, report=report)
