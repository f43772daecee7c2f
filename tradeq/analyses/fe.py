"""``model=fe`` (and its presets, e.g. ``model=inverted_u``): one fixest-style formula.

The FE replica (:func:`tradeq.models.fixed_effects.fit_fe`) on the formula's design, the
Lind–Mehlum test when ``model.utest`` names a variable with a square in the formula
(:mod:`tradeq.models.utest`), and with ``inference=bayes|both`` the hierarchical Bayesian
inverted U on the same design (:mod:`tradeq.analyses.bayes_inverted_u`).

Files: ``estimates.csv`` (tidy, with the truth on simulated data), ``estimates.nc`` (the fit
as an xarray Dataset), ``utest.json``; with the Bayesian fit ``posterior.nc`` and its plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import xarray as xr

from tradeq import pipeline
from tradeq.analyses import bayes_inverted_u
from tradeq.analyses.common import apply_tail
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.utest import UTestResult
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn
from tradeq.report.writer import Report
from tradeq.specs import EstimateSpec


@dataclass(frozen=True)
class FEResult:
    """The fit (``estimates``: dims ``term``, ``term_``), the inverted-U test and the interval it
    used, the Bayesian fit when asked for, the simulation's truth by term and the tailing record."""

    fit: FEFit
    design: Design
    estimates: xr.Dataset
    utest: UTestResult | None
    utest_range: pipeline.CoreRange | None
    bayes: bayes_inverted_u.BayesInvertedU | None
    truth: dict[str, float] | None
    tail: dict | None


def estimate(spec: EstimateSpec, panel: Panel, timings) -> FEResult:
    model = spec.model
    panel, tail = apply_tail(panel, model, pipeline.required_columns(model.formula)[0])
    with timings("design"):
        design = pipeline.build_design(panel, model)
    with timings("fit"):
        fit = pipeline.fit_model(design, model)
    with timings("utest"):
        test = pipeline.inverted_u_test(fit, design, model)
    bayes = None
    if spec.inference.bayes:
        with timings("bayes"):
            bayes = bayes_inverted_u.estimate(panel, design, fit, spec)
    return FEResult(fit=fit, design=design, estimates=fit.to_dataset(model.level),
                    utest=test[0] if test else None, utest_range=test[1] if test else None,
                    bayes=bayes, truth=pipeline.truth_by_term(panel.truth), tail=tail)


def report(result: FEResult, spec: EstimateSpec) -> Report:
    model, fit = spec.model, result.fit
    caption = model.title or f"{model.name}: {model.formula}"
    estimates = pipeline.tidy_estimates(fit, model.name, model.level, result.truth)
    files: dict = {"estimates.nc": result.estimates}
    columns: tuple[TableColumn, ...] = ()
    if spec.inference.fe:
        columns = (TableColumn(result.estimates, title=fit.y_name, extra=utest_rows(result.utest)),)
    record = {"model": model.name, "formula": model.formula, "sample": pipeline.sample_record(fit)}
    if result.tail is not None:
        record["tail"] = result.tail
    console = ""
    if result.utest is not None:
        files["utest.json"] = {**result.utest.to_dict(), "interval_source": result.utest_range.source}
        console = pipeline.describe_utest(result.utest, result.utest_range)
    appendix = ""
    if result.bayes is not None:
        parts = bayes_inverted_u.report_parts(result.bayes, spec, fit)
        estimates = pd.concat([estimates, parts.tidy] if spec.inference.fe else [parts.tidy], ignore_index=True)
        files.update(parts.files)
        record["bayes"] = parts.record
        appendix = parts.markdown
    files["estimates.csv"] = estimates
    return Report(caption=caption, columns=columns, appendix=appendix, files=files, record=record, console=console)
