"""The baseline inverted U (Table 4): one FE column per set of controls, each with its
Lind–Mehlum test and turning point, beside the simulation's truth.

    y_it = b1·x_it + b2·x_it² + W_it'd + firm_i + year_t + e_it

``model.control_sets`` lists the controls of each column (Table 4: none, then scale, age,
roa, rdebt, fic); unset, one column with ``model.controls``.
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
    utest,
)
from tradeq.models.utest import UTestResult
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, values_column
from tradeq.report.writer import Report
from tradeq.specs import EstimateSpec


@dataclass(frozen=True)
class BaselineResult:
    """One fit per column (``"(1)"``, ``"(2)"``, …), its inverted-U test, the columns' control
    sets, and the simulation's truth by term (with its turning point) when the data are simulated."""

    fits: dict[str, Fitted]
    utests: dict[str, UTestResult | None]
    control_sets: tuple[tuple[str, ...], ...]
    truth: dict[str, float] | None
    turning_point: float | None
    tail: dict | None


def estimate(spec: EstimateSpec, panel: Panel, timings) -> BaselineResult:
    m = spec.model
    panel, tail = apply_tail(panel, m, m.outcome)
    sets = m.control_sets if m.control_sets is not None else (tuple(m.controls),)
    vcov, cluster = resolve_vcov(m, list(m.fe))
    fits, tests = {}, {}
    with timings("fit"):
        for j, controls in enumerate(sets):
            terms = (m.treatment, square(m.treatment), *controls) if m.quadratic else (m.treatment, *controls)
            name = f"({j + 1})"
            fits[name] = fit_spec(panel, Spec(m.outcome, terms, tuple(m.fe), vcov, cluster), m.level)
            u = utest(fits[name], m.treatment, m.level)
            tests[name] = u[0] if u else None
    return BaselineResult(fits, tests, tuple(tuple(s) for s in sets), truth_terms(panel.truth),
                          getattr(panel.truth, "turning_point", None), tail)


def report(result: BaselineResult, spec: EstimateSpec) -> Report:
    m = spec.model
    y, x = m.outcome, m.treatment
    columns = [TableColumn(f.dataset, title=y, extra=utest_rows(result.utests[n])) for n, f in result.fits.items()]
    notes = [tail_note(result.tail)] if result.tail else []
    if result.truth is not None:
        used = {t for s in result.control_sets for t in s}
        values = {t: v for t, v in result.truth.items() if t in used or t in (x, f"I({x} ** 2)")}
        tp = result.turning_point
        columns.append(values_column(values, "Truth", extra={"Turning point": f"{tp:.3f}"} if tp is not None else {}))
        notes.append("Truth: the simulation's coefficients (the data-generating model has every control; "
                     "a column without them omits variables correlated with the core variable).")
    tests = {n: (u.to_dict() if u else None) for n, u in result.utests.items()}
    summary = {"outcome": y, "treatment": x, "control_sets": [list(s) for s in result.control_sets], "utest": tests,
               "columns": {n: {"n_obs": f.fit.n_obs, "terms": list(f.fit.x_names), "estimate": f.fit.coef.tolist(),
                               "std_error": f.fit.se.tolist()} for n, f in result.fits.items()}}
    estimates = pd.concat([tidy(f, n, m.level) for n, f in result.fits.items()], ignore_index=True)
    console = "\n".join(f"{n}: {x} {f.fit.coef[f.fit.index(x)]:.4g}" + (f", {tests[n]['verdict']}" if tests[n] else "")
                        for n, f in result.fits.items())
    return Report(caption=m.title or f"Inverted U: {y} on {x}", columns=tuple(columns), notes=tuple(notes),
                  files={"baseline.json": summary, "estimates.csv": estimates},
                  record=analysis_record("baseline", result.fits, result.tail), console=console)

