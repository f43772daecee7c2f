"""``model=fe`` (and its presets, e.g. ``model=inverted_u``): one fixest-style formula.

The FE replica (:func:`tradeq.models.fixed_effects.fit_fe`) on the formula's design, the
Lind–Mehlum test when ``model.utest`` names a variable with a square in the formula
(:mod:`tradeq.models.utest`), and with ``inference=bayes|both`` the hierarchical Bayesian
inverted U on the same design (:mod:`tradeq.analyses.bayes_inverted_u`).

Files: ``estimates.csv`` (tidy, with the truth on simulated data), ``estimates.nc`` (the fit
as an xarray Dataset), ``utest.json``; with the Bayesian fit ``posterior.nc`` and its plots.
The few-cluster tools and the design check (:mod:`tradeq.analyses.few_clusters`: CRV3, wild
bootstrap, cluster influence) and random effects with the Hausman tests
(:mod:`tradeq.analyses.random_effects`, ``model.estimator=re``) add their files and notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import xarray as xr

from tradeq import pipeline
from tradeq.analyses import bayes_inverted_u, few_clusters
from tradeq.analyses import random_effects as re_analysis
from tradeq.analyses.common import apply_tail
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.utest import UTestResult
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, values_column
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
    few: few_clusters.FewClusters | None = None
    re: re_analysis.REResult | None = None


def estimate(spec: EstimateSpec, panel: Panel, timings) -> FEResult:
    model = spec.model
    panel = few_clusters.subsample(panel, model.sample)
    panel, tail = apply_tail(panel, model, pipeline.required_columns(model.formula)[0])
    with timings("design"):
        design = pipeline.build_design(panel, few_clusters.clustered(model))
        pipeline.check_utest(design, model)
    with timings("fit"):
        fit = pipeline.fit_model(design, few_clusters.clustered(model), warn_cfg=model)
    few = few_clusters.estimate(spec, panel, design, fit, timings)
    fit = few.fit  # the CRV3 variance under model.vcov=crv3
    re = None
    if str(model.estimator) == "re":
        with timings("random_effects"):
            re = re_analysis.estimate(design, fit, model, model.level, panel.frame)
    with timings("utest"):
        test = pipeline.inverted_u_test(fit, design, model)
    bayes = None
    if spec.inference.bayes:
        with timings("bayes"):
            bayes = bayes_inverted_u.estimate(panel, design, fit, spec)
    return FEResult(fit=fit, design=design, estimates=fit.to_dataset(model.level),
                    utest=test[0] if test else None, utest_range=test[1] if test else None,
                    bayes=bayes, truth=few_clusters.truth_terms(panel), tail=tail, few=few, re=re)


def report(result: FEResult, spec: EstimateSpec) -> Report:
    model, fit = spec.model, result.fit
    caption = model.title or f"{model.name}: {model.formula}"
    estimates = pipeline.tidy_estimates(fit, model.name, model.level, result.truth)
    files: dict = {"estimates.nc": result.estimates}
    columns: tuple[TableColumn, ...] = ()
    few, notes = result.few, []
    if few is not None:
        estimates = pd.concat([estimates, few_clusters.wild_columns(few, fit.x_names)], axis=1)
        files.update(few_clusters.files(few))
        notes += few_clusters.notes(few, model)
    if spec.inference.fe:
        extra = {**utest_rows(result.utest), **(few_clusters.extra_rows(few, model) if few else {})}
        columns = (TableColumn(result.estimates, title=fit.y_name, extra=extra),)
        if result.re is not None:
            columns += (TableColumn(result.re.dataset, title=f"{fit.y_name} (RE)", extra=re_analysis.extra_rows(result.re)),)
        truth = {t: result.truth[t] for t in fit.x_names if result.truth and t in result.truth}
        if truth and result.bayes is None:
            columns += (values_column(truth, "Truth"),)
    if result.re is not None:
        files["hausman.json"] = re_analysis.hausman_json(result.re)
        estimates = pd.concat([estimates, re_analysis.tidy(result.re, f"{model.name}_re", model.level)], ignore_index=True)
        notes += re_analysis.notes(result.re)
    record = {"model": model.name, "formula": model.formula, "sample": pipeline.sample_record(fit),
              **(few_clusters.record(few) if few else {})}
    if result.tail is not None:
        record["tail"] = result.tail
    console = ""
    if result.utest is not None:
        files["utest.json"] = pipeline.utest_json(result.utest, result.utest_range)
        console = pipeline.describe_utest(result.utest, result.utest_range)
    appendix = ""
    if result.bayes is not None:
        parts = bayes_inverted_u.report_parts(result.bayes, spec, fit)
        estimates = pd.concat([estimates, parts.tidy] if spec.inference.fe else [parts.tidy], ignore_index=True)
        files.update(parts.files)
        record["bayes"] = parts.record
        appendix = parts.markdown
    files["estimates.csv"] = estimates
    return Report(caption=caption, columns=columns, notes=tuple(notes), appendix=appendix, files=files,
                  record=record, console=console)
