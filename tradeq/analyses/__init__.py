"""The analyses ``estimate.py`` runs, one registry for all of them (``model=<option>``).

Each analysis is two functions: ``estimate(spec, panel, timings) -> Result`` (a typed record of
fits, tests and posteriors) and ``report(result, spec) -> Report`` (tables, files, console
text; :class:`tradeq.report.writer.Report`). The kind comes from the model spec
(:data:`tradeq.specs.MODEL_SPECS`):

=================  =====================================================  ===========
kind               what                                                   paper
=================  =====================================================  ===========
``fe``             one formula (``model=fe``, ``model=inverted_u``), U-test Table 4
``baseline``       inverted U, one column per control set, utest          Table 4
``lags``           lags 1–3 of the core variable, current/lagged controls Table 5
``mediation``      three-equation FE mediation, Sobel/bootstrap/Bayes     Tables 6–7
``heterogeneity``  split samples, interaction Wald test, partial pooling  Tables 8–11
``audit``          published tables: stars, Sobel cells, conclusions      any table
``info_spillover`` peer scale and diversity, mechanisms, splits (SPEC 1b)  spillover
``clusters_bayes`` IC slope partially pooled over region × period          cluster T3
=================  =====================================================  ===========

The paper's tables are Hydra experiments over these analyses (``conf/experiment/tableN.yaml``,
listed by :mod:`tradeq.analyses.experiments`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeq.analyses import audit, baseline, clusters_bayes, fe, heterogeneity, info_spillover, lags, mediation
from tradeq.analyses.common import AnalysisResult, analysis_record, apply_tail, tail_note
from tradeq.panel import Panel
from tradeq.report.writer import Report
from tradeq.specs import EstimateSpec


@dataclass(frozen=True)
class Analysis:
    """An entry of the registry: the kind's ``estimate`` and ``report`` functions."""

    estimate: Callable[[EstimateSpec, Panel, Any], Any]
    report: Callable[[Any, EstimateSpec], Report]


def _columns_analysis(run: Callable) -> Analysis:
    """An analysis whose ``run(panel, spec, timings)`` returns table columns directly
    (:class:`AnalysisResult`): the tailing is applied first, the result laid out as a Report."""

    def estimate(spec: EstimateSpec, panel: Panel, timings) -> AnalysisResult:
        panel, tail = apply_tail(panel, spec.model, spec.model.outcome)
        result = run(panel, spec, timings)
        if tail is not None:
            result.summary["tail"] = tail
            result.notes.append(tail_note(tail))
        return result

    def report(result: AnalysisResult, spec: EstimateSpec) -> Report:
        files: dict[str, Any] = {f"{result.kind}.json": result.summary, "estimates.csv": result.estimates}
        if result.posterior is not None:
            files["posterior.nc"] = result.posterior
        if spec.output.plots:
            files.update(result.plots)
        record = analysis_record(result.kind, {}, result.summary.get("tail"))
        record["samples"] = {name: _sample(fit) for name, fit in result.fits.items()}
        return Report(caption=result.caption, columns=tuple(result.columns), notes=tuple(result.notes),
                      files=files, record=record, console=result.report)

    return Analysis(estimate, report)


def _sample(fit) -> dict:
    from tradeq.pipeline import sample_record

    return sample_record(fit)


ANALYSES: dict[str, Analysis] = {
    "fe": Analysis(fe.estimate, fe.report),
    "baseline": Analysis(baseline.estimate, baseline.report),
    "lags": Analysis(lags.estimate, lags.report),
    "mediation": _columns_analysis(mediation.run),
    "heterogeneity": _columns_analysis(heterogeneity.run),
    "audit": Analysis(audit.estimate, audit.report),
    "info_spillover": Analysis(info_spillover.estimate, info_spillover.report),
    "clusters_bayes": Analysis(clusters_bayes.estimate, clusters_bayes.report),
}
