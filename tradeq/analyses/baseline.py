"""The baseline inverted U (Table 4): one FE column per set of controls, each with its
Lind–Mehlum test and turning point, beside the simulation's truth.

    y_it = b1·x_it + b2·x_it² + W_it'd + firm_i + year_t + e_it

``model.control_sets`` lists the controls of each column (Table 4: none, then scale, age,
roa, rdebt, fic); unset, one column with ``model.controls``.
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
    utest,
)
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, values_column


def run(panel: Panel, cfg: DictConfig, timings) -> AnalysisResult:
    mc = cfg.model
    require_settings(mc, "baseline", ("outcome", "treatment"))
    y, x = str(mc.outcome), str(mc.treatment)
    sets = [list(map(str, s)) for s in mc.control_sets] if mc.control_sets is not None else [list(map(str, mc.controls))]
    fe = [str(f) for f in mc.fe]
    vcov, cluster = resolve_vcov(mc, fe)
    level = float(mc.level)
    fits, columns, tests = {}, [], {}
    with timings("fit"):
        for j, controls in enumerate(sets):
            terms = (x, square(x), *controls) if mc.quadratic else (x, *controls)
            f = fit_spec(panel, Spec(y, terms, tuple(fe), vcov, cluster), level)
            name = f"({j + 1})"
            u = utest(f, x, level)
            fits[name] = f
            tests[name] = u[0].to_dict() if u else None
            columns.append(TableColumn(f.dataset, title=y, extra=utest_rows(u[0] if u else None)))
    truth = truth_terms(panel.truth)
    notes = []
    if truth is not None:
        used = {t for s in sets for t in s}
        values = {t: v for t, v in truth.items() if t in used or t in (x, f"I({x} ** 2)")}
        tp = getattr(panel.truth, "turning_point", None)
        columns.append(values_column(values, "Truth", extra={"Turning point": f"{tp:.3f}"} if tp is not None else {}))
        notes.append("Truth: the simulation's coefficients (the data-generating model has every control; "
                     "a column without them omits variables correlated with the core variable).")
    estimates = pd.concat([tidy(f, n, level) for n, f in fits.items()], ignore_index=True)
    summary = {"outcome": y, "treatment": x, "control_sets": sets, "utest": tests,
               "columns": {n: {"n_obs": f.fit.n_obs, "terms": list(f.fit.x_names),
                               "estimate": f.fit.coef.tolist(), "std_error": f.fit.se.tolist()} for n, f in fits.items()}}
    caption = mc.title or f"Inverted U: {y} on {x}"
    report = "\n".join(f"{n}: {x} {f.fit.coef[f.fit.index(x)]:.4g}" + (f", {tests[n]['verdict']}" if tests[n] else "")
                       for n, f in fits.items())
    return AnalysisResult(kind="baseline", columns=columns, caption=caption, summary=summary, estimates=estimates,
                          fits={n: f.fit for n, f in fits.items()}, notes=notes, report=report)
