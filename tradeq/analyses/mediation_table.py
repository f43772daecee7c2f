"""The mediation analysis's table and console lines (Tables 6–7 layout): the three FE
equations, the effects as average marginal effects with their bootstrap intervals, the
product-of-coefficients tests, and the Bayesian joint model's column beside them. The
estimation is :mod:`tradeq.analyses.mediation`.
"""

from __future__ import annotations

import math

import numpy as np

from tradeq.analyses.common import fmt, fmt_ci
from tradeq.analyses.mediation_model import MediationModel, MediationResult
from tradeq.report.tables import TableColumn, values_column

EQUATIONS = ("total", "mediator", "outcome")


def _z_cell(z: float, p: float) -> str:
    return f"{fmt(z, 2)} ({fmt(p, 3)})" if np.isfinite(z) else "undefined"


def _num(v, spec: str = ".5g") -> str:
    """A number for the report, ``undefined`` for None or NaN."""
    return "undefined" if v is None or not math.isfinite(float(v)) else format(float(v), spec)


def _ci_cell(s: dict, name: str, digits: int) -> str:
    """``[lo, hi]`` of the summary's interval of ``name``, marked when it fell back to another method."""
    bounds = s[f"{name}_ci"]
    if None in bounds:
        return "[undefined]"
    used = s["ci_methods"][name]
    return fmt_ci(*bounds, digits) + (f" ({used})" if used != s["ci_method"] else "")


def _proportion_cell(s: dict) -> str:
    if s["proportion"] is None:
        return "undefined (total effect not distinguishable from zero)"
    return f"{fmt(s['proportion'], 3)} {_ci_cell(s, 'proportion', 3)}"


def mediation_columns(res: MediationResult, digits: int = 4, truth: dict | None = None,
                      bayes: dict | None = None) -> list[TableColumn]:
    """Table 6/7 layout: (1) total, (2) mediator, (3) outcome equation [, Bayes joint] [, truth].

    The effects rows are average marginal effects at the sample mean of x (row "Effects at");
    equation (1)'s own effect has its own row in column (1), outside the decomposition.
    """
    s, m = res.summary, res.model
    ci_name = "BCa" if s["ci_method"] == "bca" else "percentile"
    pct = int(round(100 * s["level"]))
    cols = []
    for name in EQUATIONS:
        f = res.fits[name]
        extra: dict[str, str] = {}
        if name == "total":
            extra["Total effect, eq. (1)"] = f"{fmt(s['total_eq1'], digits)} {_ci_cell(s, 'total_eq1', digits)}"
        if name == "mediator":
            extra["a"] = f"{fmt(s['a'], digits)} ({fmt(s['se_a'], digits)})"
        if name == "outcome":
            extra.update({
                "b": f"{fmt(s['b'], digits)} ({fmt(s['se_b'], digits)})",
                "Indirect effect a·b": fmt(s["indirect"], digits + 1),
                f"a·b {pct}% bootstrap CI ({ci_name})": _ci_cell(s, "indirect", digits + 1),
                **({f"a·b {pct}% credible interval": ""} if bayes is not None else {}),  # Bayes row goes here
                "Sobel z (p)": _z_cell(s["sobel_z"], s["sobel_p"]),
                "Aroian z (p)": _z_cell(s["aroian_z"], s["aroian_p"]),
                "Goodman z (p)": _z_cell(s["goodman_z"], s["goodman_p"]),
                "Direct effect": f"{fmt(s['direct'], digits)} {_ci_cell(s, 'direct', digits)}",
                "Total effect (direct + indirect)": f"{fmt(s['total'], digits)} {_ci_cell(s, 'total', digits)}",
                "Proportion mediated": _proportion_cell(s),
                "Effects at": s["effects_at"],
            })
        cols.append(TableColumn(f.dataset, title=f.fit.y_name, extra=extra))
    if bayes is not None:
        cols.append(bayes_column(bayes, m, digits, pct))
    if truth is not None:
        values = {m.mediator: truth["b"], **{c: v for c, v in truth.get("controls", {}).items() if c in m.controls}}
        extra = {"a": fmt(truth["a"], digits), "b": fmt(truth["b"], digits),
                 "Indirect effect a·b": fmt(truth["a"] * truth["b"], digits + 1)}
        cols.append(values_column(values, "Truth", extra=extra))
    return cols


def bayes_column(bayes: dict, m: MediationModel, digits: int, pct: int) -> TableColumn:
    """Posterior means (sds) of the outcome equation's c′ and b, and of a, a·b, the effects."""
    g = bayes["groups"][bayes["population"]]

    def cell(q, d=digits):
        if not q or q.get("mean") is None or not math.isfinite(float(q["mean"])):
            return "undefined" + (f" ({q['undefined']})" if q and q.get("undefined") else "")
        return f"{fmt(q['mean'], d)} [{fmt(q['lo'], d)}, {fmt(q['hi'], d)}]"

    extra = {
        "a": f"{fmt(g['a']['mean'], digits)} ({fmt(g['a']['sd'], digits)})",
        "b": f"{fmt(g['b']['mean'], digits)} ({fmt(g['b']['sd'], digits)})",
        "Indirect effect a·b": fmt(g["indirect"]["mean"], digits + 1),
        f"a·b {pct}% credible interval": fmt_ci(g["indirect"]["lo"], g["indirect"]["hi"], digits + 1),
        "Direct effect": cell(g["direct"]),
        "Total effect (direct + indirect)": cell(g.get("total")),
        "Proportion mediated": cell(g.get("proportion"), 3),
        "P(a·b > 0)": fmt(g["p_indirect_positive"], 3),
    }
    # The x row holds the coefficient c′ ("c_prime" when the posterior summary has it apart
    # from the direct effect; the two coincide without the square).
    coef_x = g.get("c_prime") or g["direct"]
    values = {m.x: coef_x["mean"], m.mediator: g["b"]["mean"]}
    sds = {m.x: coef_x["sd"], m.mediator: g["b"]["sd"]}
    title = "Bayes (joint, population)" if bayes.get("hierarchical") else "Bayes (joint)"
    return values_column(values, title, sd=sds, extra=extra,
                         attrs={"vcov_type": "posterior", "n_obs": bayes["n_obs"], "fe": ",".join(m.fe)})


def mediation_report(summary: dict) -> str:
    """The console lines; undefined intervals and proportions print as ``undefined``."""
    s = summary
    lo, hi = s["boot_ci"]
    used = s["ci_methods"]["indirect"]
    method = used if used == s["ci_method"] else f"{used} (BCa undefined)"
    prop = _num(s["proportion"], ".4g") if s["proportion"] is not None else f"undefined ({s['proportion_undefined']})"
    return "\n".join([
        f"a = {_num(s['a'])} (se {_num(s['se_a'], '.3g')}), b = {_num(s['b'])} (se {_num(s['se_b'], '.3g')})",
        f"indirect a·b = {_num(s['indirect'])}, {method} {int(round(100 * s['level']))}% CI "
        f"[{_num(lo)}, {_num(hi)}]; Sobel z = {_num(s['sobel_z'], '.3f')} (p = {_num(s['sobel_p'], '.3g')})",
        f"direct = {_num(s['direct'])}, total = direct + indirect = {_num(s['total'])}, "
        f"proportion mediated = {prop}; total from eq. (1) = {_num(s['total_eq1'])}",
        f"effects: {s['effects_at']}",
    ])


