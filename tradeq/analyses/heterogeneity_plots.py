"""The heterogeneity analysis's forest plots: split-sample FE intervals, the hierarchical
posterior and the truth of each group's b1 and b2 (:mod:`tradeq.analyses.heterogeneity`)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from tradeq.analyses.common import Fitted
from tradeq.analyses.groups import Split
from tradeq.models.terms import square_term


def ols_intervals(fits: dict[str, Fitted], labels, x: str, level: float) -> xr.Dataset:
    """Split-sample estimates of b1, b2 and their clustered ``level`` intervals, dims (group, stat)."""
    out = {}
    for var, term in (("b1", x), ("b2", square_term(x))):
        rows = []
        for g in labels:
            fit = fits[g].fit
            i = fit.index(term)
            lo, hi = fit.conf_int(level)[i]
            rows.append([fit.coef[i], lo, hi])
        out[var] = (("group", "stat"), np.array(rows))
    return xr.Dataset(out, coords={"group": list(labels), "stat": ["estimate", "lower", "upper"]})


def truth_points(truth_groups: dict, labels) -> xr.Dataset:
    """The truth as points (lower = upper = estimate) for the forest plot."""
    out = {v: (("group", "stat"), np.array([[truth_groups[g][v]] * 3 for g in labels])) for v in ("b1", "b2")}
    return xr.Dataset(out, coords={"group": list(labels), "stat": ["estimate", "lower", "upper"]})


def forest_plot(path, models: dict, trunks: dict, var: str, title: str) -> None:
    """Forest plot of precomputed intervals of ``var`` by group, one colour per estimator (PNG)."""
    from tradeq.report.bayes_plots import plot_interval_forest

    plot_interval_forest(models, var, path, title, trunks=trunks)


def forest_plots(split: Split, fits, posterior, truth_groups, s) -> dict:
    """(``s``: the analysis's :class:`tradeq.analyses.heterogeneity.Settings`.) ``forest_b1.png`` and ``forest_b2.png``: split-sample FE, the posterior, the truth."""
    labels = list(split.labels)
    models = {"FE split samples": ols_intervals(fits, labels, s.x, s.level)}
    trunks = {}
    if posterior is not None and set(labels) <= set(map(str, posterior["posterior"]["group"].values)):
        from tradeq.report.bayes_plots import posterior_intervals

        for var in ("b1", "b2"):
            outer, inner = posterior_intervals(posterior, var, s.level)
            models.setdefault("Hierarchical Bayes", xr.Dataset())[var] = outer[var]
            trunks.setdefault("Hierarchical Bayes", xr.Dataset())[var] = inner[var]
    if truth_groups is not None:
        models["Truth"] = truth_points(truth_groups, labels)
    return {f"forest_{var}.png": (lambda path, v=var, t=f"{label} by {split.by}": forest_plot(path, models, trunks, v, t))
            for var, label in (("b1", s.x), ("b2", f"{s.x}²"))}


