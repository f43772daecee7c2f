"""Heterogeneity: split samples, the pooled interaction Wald test, partial pooling (Tables 8–11).

1. Split samples, as the paper does: the inverted-U FE model

       y_it = b1_g·x_it + b2_g·x_it² + W_it'd_g + firm_i + year_t + e_it

   fitted separately on each group g of ``model.split_by`` (ownership, factor intensity,
   period, region; any column), each with its own FE, controls and clustered errors, and
   each with the Lind–Mehlum inverted-U test and turning point on the group's own range of x
   (:mod:`tradeq.models.utest`).

2. The test the paper never ran: are the groups' curves the same? The pooled interaction
   model keeps common controls and fixed effects and gives every group its own curve,

       y_it = Σ_g 1[g_i = g]·(b1_g·x_it + b2_g·x_it²) + W_it'd + firm_i + year_t + e_it,

   with the interacted columns built from the raw x and then FE-demeaned (SPEC 3: the exact
   FWL form). H0: b1_1 = … = b1_G and b2_1 = … = b2_G, i.e. R·β = 0 with the q = 2(G − 1)
   rows ``b1_g − b1_1``, ``b2_g − b2_1`` (g = 2..G). With the fit's clustered covariance V,

       W = (Rβ)'(R V R')⁻¹(Rβ),    F = W / q  ~  F(q, G_c − 1),

   G_c the number of clusters — the small-sample form Stata's ``test`` reports after a
   clustered regression (the fit's ``df_t``: G_c − 1 for clustered errors, N − K for iid /
   HC1); the asymptotic χ²(q) p-value of W is reported too. Separate tests of b1 alone and
   b2 alone (q = G − 1 each) follow. The pooled model restricts the controls' slopes and the
   year effects to be common across groups; the split samples do not — which is why the
   pooled b1_g, b2_g differ slightly from the split-sample columns.

3. Partial pooling (``inference.kind=bayes|both``): the hierarchical Bayesian inverted U of
   :func:`tradeq.models.bayes.fit.fit_bayes` on the pooled design, one curve per group drawn from a
   common population — in the same table, and with the split-sample estimates in one
   ArviZ forest plot per coefficient.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import DictConfig
from scipy import stats

from tradeq.analyses.common import (
    AnalysisResult,
    Fitted,
    Spec,
    convergence_note,
    fit_spec,
    fmt,
    require_settings,
    resolve_vcov,
    square,
    square_name,
    tidy,
    truth_terms,
    utest,
    value,
    with_frame,
)
from tradeq.analyses.groups import Split, split_groups
from tradeq.errors import DataError
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, values_column

log = logging.getLogger("tradeq")


# ---------------------------------------------------------------------------------------
# Wald test
# ---------------------------------------------------------------------------------------


def wald_test(b: np.ndarray, V: np.ndarray, R: np.ndarray, df: float | None = None) -> dict:
    """Wald test of ``R b = 0``: b (k,), V (k, k), R (q, k); ``df`` the denominator df of F.

    Returns ``{"wald": W, "q": q, "p_chi2": P(χ²_q > W), "F": W/q, "df1": q, "df2": df,
    "p_F": P(F_{q,df} > F)}`` (``p_F`` is None without ``df``).
    """
    b, V, R = np.asarray(b, float), np.asarray(V, float), np.atleast_2d(np.asarray(R, float))
    r = R @ b
    M = R @ V @ R.T
    W = float(r @ np.linalg.solve(M, r))
    q = int(R.shape[0])
    F = W / q
    return {
        "wald": W, "q": q, "p_chi2": float(stats.chi2.sf(W, q)),
        "F": F, "df1": q, "df2": None if df is None else float(df),
        "p_F": None if df is None else float(stats.f.sf(F, q, df)),
    }


def interaction_names(x: str, G: int) -> tuple[list[str], list[str]]:
    """Column names of x·1[g] and x²·1[g] (g = 0..G−1) in the pooled frame."""
    return [f"{x}_x_g{g}" for g in range(G)], [f"{x}_sq_g{g}" for g in range(G)]


def equality_tests(fitted: Fitted, x: str, G: int) -> dict:
    """Joint and separate Wald tests that every group's b1 (and b2) equals group 1's."""
    lin, sq = interaction_names(x, G)
    fit = fitted.fit
    names = list(fit.x_names)
    missing = [t for t in lin + sq if t not in names]
    if missing:
        raise DataError(f"the pooled interaction model dropped {missing} (collinear with the fixed effects)")
    k = len(names)

    def rows(cols):
        R = np.zeros((G - 1, k))
        for g in range(1, G):
            R[g - 1, names.index(cols[g])] = 1.0
            R[g - 1, names.index(cols[0])] = -1.0
        return R

    R1, R2 = rows(lin), rows(sq)
    out = {
        "joint": wald_test(fit.coef, fit.vcov, np.vstack([R1, R2]), fit.df_t),
        "b1": wald_test(fit.coef, fit.vcov, R1, fit.df_t),
        "b2": wald_test(fit.coef, fit.vcov, R2, fit.df_t),
    }
    out["pooled_b1"] = [float(fit.coef[names.index(c)]) for c in lin]
    out["pooled_b2"] = [float(fit.coef[names.index(c)]) for c in sq]
    out["vcov"] = fit.vcov_type
    out["clusters"] = dict(zip(fit.cluster_names, fit.n_clusters))
    return out


def pooled_interaction(panel: Panel, split: Split, outcome: str, x: str, controls, fe, vcov, cluster,
                       level: float) -> Fitted:
    """Fit the pooled model with group-specific b1, b2 (module docstring) on rows in a group."""
    G = len(split.labels)
    frame = panel.frame.loc[split.codes >= 0].copy()
    codes = split.codes[split.codes >= 0]
    lin, sq = interaction_names(x, G)
    xv = frame[x].to_numpy(dtype=float)
    for g in range(G):
        on = (codes == g).astype(float)
        frame[lin[g]] = xv * on
        frame[sq[g]] = xv**2 * on
    spec = Spec(outcome, (*lin, *sq, *controls), tuple(fe), vcov, tuple(cluster))
    return fit_spec(with_frame(panel, frame.reset_index(drop=True)), spec, level)


# ---------------------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------------------


def _truth_groups(truth, labels) -> dict | None:
    """The simulation's per-group truth when its groups are the split's groups (by label)."""
    groups = getattr(truth, "groups", None) if truth is not None else None
    if not groups or not set(labels) <= set(groups):
        return None
    return {lab: groups[lab] for lab in labels}


def _bayes(panel: Panel, split: Split, spec: Spec, cfg: DictConfig, level: float):
    """Hierarchical inverted U over the split's groups (tradeq.models.bayes.fit_bayes)."""
    from omegaconf import OmegaConf

    from tradeq import pipeline
    from tradeq.models.bayes.fit import fit_bayes

    inf = cfg.inference
    frame = panel.frame.loc[split.codes >= 0].reset_index(drop=True)
    codes_all = split.codes[split.codes >= 0]
    sub = with_frame(panel, frame)
    design = pipeline.build_design(sub, OmegaConf.create({"formula": spec.formula, "vcov": "iid", "cluster": None}))
    groups = codes_all[design.row_id]
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        dt = fit_bayes(
            design, groups=groups, group_names=list(split.labels), core=spec.terms[0],
            backend=str(value(inf.backend)), hierarchical=bool(inf.hierarchical), likelihood=str(value(inf.likelihood)),
            draws=int(inf.draws), tune=int(inf.tune), chains=int(inf.chains), collapse=bool(inf.collapse), seed=int(cfg.seed), progress=False,
        )
    return dt


def _posterior_summary(dt, labels, x: str, controls, level: float) -> dict:
    post = dt["posterior"].to_dataset()
    alpha = (1.0 - level) / 2.0
    hierarchical = "mu_slope" in post

    def st(da):
        v = np.asarray(da.values, float).reshape(-1)
        v = v[np.isfinite(v)]
        lo, med, hi = np.quantile(v, [alpha, 0.5, 1 - alpha])
        return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)), "median": float(med), "lo": float(lo), "hi": float(hi)}

    out = {}
    groups = [str(g) for g in post["group"].values]
    for g in labels:
        if g not in groups:  # pooled model: one group for all
            sel = post.isel(group=0)
        else:
            sel = post.sel(group=g)
        entry = {"b1": st(sel["b1"]), "b2": st(sel["b2"]), "turning_point": st(sel["turning_point"])}
        if "p_inverted_u" in dt["derived"]:
            pu = dt["derived"]["p_inverted_u"]
            entry["p_inverted_u"] = float(pu.sel(group=g).values) if g in groups else float(pu.values.reshape(-1)[0])
        if "beta" in post:
            entry["controls"] = {str(c): st(post["beta"].sel(control=c)) for c in post["control"].values}
        out[g] = entry
    return {"groups": out, "hierarchical": hierarchical, "level": level,
            "max_rhat": dt.attrs.get("max_rhat"), "divergences": dt.attrs.get("divergences"),
            "model": dt.attrs.get("model")}


def _ols_intervals(fits: dict[str, Fitted], labels, x: str, level: float) -> xr.Dataset:
    """Split-sample estimates of b1, b2 and their clustered ``level`` intervals, dims (group, stat)."""
    out = {}
    for var, term in (("b1", x), ("b2", square_name(x))):
        rows = []
        for g in labels:
            fit = fits[g].fit
            i = fit.index(term)
            lo, hi = fit.conf_int(level)[i]
            rows.append([fit.coef[i], lo, hi])
        out[var] = (("group", "stat"), np.array(rows))
    return xr.Dataset(out, coords={"group": list(labels), "stat": ["estimate", "lower", "upper"]})


def _truth_points(truth_groups: dict, labels) -> xr.Dataset:
    """The truth as points (lower = upper = estimate) for the forest plot."""
    out = {v: (("group", "stat"), np.array([[truth_groups[g][v]] * 3 for g in labels])) for v in ("b1", "b2")}
    return xr.Dataset(out, coords={"group": list(labels), "stat": ["estimate", "lower", "upper"]})


def forest_plot(path, models: dict, trunks: dict, var: str, title: str) -> None:
    """Forest plot of ``var`` by group from precomputed intervals, one colour per estimator (PNG)."""
    from tradeq.report.bayes_plots import plot_interval_forest

    plot_interval_forest(models, var, path, title, trunks=trunks)


def run(panel: Panel, cfg: DictConfig, timings) -> AnalysisResult:
    """``model.kind=heterogeneity``: split samples + utest per group, pooled Wald test,
    hierarchical Bayes (``inference.kind=bayes|both``) and the forest plots."""
    mc = cfg.model
    require_settings(mc, "heterogeneity", ("outcome", "treatment", "split_by"))
    y, x = str(mc.outcome), str(mc.treatment)
    controls = [str(c) for c in mc.controls]
    fe = [str(f) for f in mc.fe]
    vcov, cluster = resolve_vcov(mc, fe)
    level = float(mc.level)
    terms = (x, square(x), *controls) if mc.quadratic else (x, *controls)
    spec = Spec(y, terms, tuple(fe), vcov, cluster)
    split = split_groups(panel.frame, str(mc.split_by), mc.split_levels, mc.split_cuts, f"data {panel.source!r}")
    labels = list(split.labels)

    fits: dict[str, Fitted] = {}
    utests: dict = {}
    with timings("fit"):
        for g, lab in enumerate(labels):
            sub = with_frame(panel, panel.frame.loc[split.mask(g)].reset_index(drop=True))
            try:
                fits[lab] = fit_spec(sub, spec, level)
            except (ValueError, DataError) as exc:
                raise DataError(f"group {lab!r} of {split.by!r}: {exc}") from exc
            utests[lab] = utest(fits[lab], x, level) if mc.quadratic else None
    with timings("wald"):
        tests = pooled = None
        if mc.quadratic:
            pooled = pooled_interaction(panel, split, y, x, controls, fe, vcov, cluster, level)
            tests = equality_tests(pooled, x, len(labels))
    truth_groups = _truth_groups(panel.truth, labels)

    bayes = posterior = None
    if str(value(cfg.inference.kind)) in ("bayes", "both") and mc.quadratic:
        with timings("bayes"):
            posterior = _bayes(panel, split, spec, cfg, level)
            bayes = _posterior_summary(posterior, labels, x, controls, level)

    # --- table: FE per group (the paper's columns), Bayes per group, truth per group
    columns = []
    for lab in labels:
        u = utests[lab]
        columns.append(TableColumn(fits[lab].dataset, title=lab, extra=utest_rows(u[0] if u else None)))
    if bayes is not None:
        for lab in labels:
            e = bayes["groups"][lab]
            values = {x: e["b1"]["mean"], square_name(x): e["b2"]["mean"]}
            sds = {x: e["b1"]["sd"], square_name(x): e["b2"]["sd"]}
            for c, v in e.get("controls", {}).items():
                values[c], sds[c] = v["mean"], v["sd"]
            tp = e["turning_point"]  # a ratio: heavy tails, so its median and interval, not mean (sd)
            extra = {"Turning point": f"{fmt(tp['median'], 3)} [{fmt(tp['lo'], 2)}, {fmt(tp['hi'], 2)}]",
                     "P(inverted U)": fmt(e.get("p_inverted_u", math.nan), 3)}
            columns.append(values_column(values, f"{lab} (Bayes)", sd=sds, extra=extra,
                                         attrs={"vcov_type": "posterior", "n_obs": fits[lab].fit.n_obs,
                                                "fe": ",".join(fe)}))
    if truth_groups is not None:
        for lab in labels:
            t = truth_groups[lab]
            values = {x: t["b1"], square_name(x): t["b2"]}
            base = truth_terms(panel.truth) or {}
            values.update({c: base[c] for c in controls if c in base})
            columns.append(values_column(values, f"{lab} (truth)", extra={"Turning point": fmt(t["turning_point"], 3)}))

    notes = []
    if tests is not None:
        j = tests["joint"]
        notes.append(
            f"Equal curves across groups (pooled model, group-specific {x} and {x}², common controls and FE): "
            f"Wald F({j['df1']}, {j['df2']:.0f}) = {j['F']:.3f}, p = {j['p_F']:.4g}; χ²({j['q']}) = {j['wald']:.3f}, p = {j['p_chi2']:.4g}. "
            f"{x} alone: F = {tests['b1']['F']:.3f} (p = {tests['b1']['p_F']:.4g}); "
            f"{x}² alone: F = {tests['b2']['F']:.3f} (p = {tests['b2']['p_F']:.4g})."
        )
    if bayes is not None:
        notes.append("Bayes columns: posterior mean (posterior sd) of the hierarchical model with common controls and FE "
                     "(partial pooling across groups); turning point: posterior median [95% interval]; "
                     "P(inverted U) = posterior probability of an inverted U on the group's range.")
        caution = convergence_note(bayes.get("max_rhat"), bayes.get("divergences"))
        if caution:
            notes.append(caution)
    if truth_groups is not None:
        notes.append("Truth: the simulation's group-specific b1, b2 and the common control slopes.")

    estimates = pd.concat([tidy(fits[lab], lab, level) for lab in labels], ignore_index=True)
    summary = {
        "outcome": y, "treatment": x, "split_by": split.by, "groups": labels,
        "split_cuts": None if mc.split_cuts is None else [float(c) for c in mc.split_cuts],
        "split": {lab: {
            "n_obs": fits[lab].fit.n_obs,
            "b1": float(fits[lab].fit.coef[fits[lab].fit.index(x)]),
            "se_b1": float(fits[lab].fit.se[fits[lab].fit.index(x)]),
            **({"b2": float(fits[lab].fit.coef[fits[lab].fit.index(square_name(x))]),
                "se_b2": float(fits[lab].fit.se[fits[lab].fit.index(square_name(x))])} if mc.quadratic else {}),
            "utest": utests[lab][0].to_dict() if utests[lab] else None,
        } for lab in labels},
        "equality_test": tests,
        "bayes": bayes,
        "truth": truth_groups,
    }

    plots = {}
    if bool(cfg.output.plots) and mc.quadratic:
        models = {"FE split samples": _ols_intervals(fits, labels, x, level)}
        trunks = {}
        if posterior is not None and set(labels) <= set(map(str, posterior["posterior"]["group"].values)):
            from tradeq.report.bayes_plots import posterior_intervals

            for var in ("b1", "b2"):
                outer, inner = posterior_intervals(posterior, var, level)
                models.setdefault("Hierarchical Bayes", xr.Dataset())[var] = outer[var]
                trunks.setdefault("Hierarchical Bayes", xr.Dataset())[var] = inner[var]
        if truth_groups is not None:
            models["Truth"] = _truth_points(truth_groups, labels)
        for var, label in (("b1", x), ("b2", f"{x}²")):
            plots[f"forest_{var}.png"] = (lambda path, v=var, t=f"{label} by {split.by}": forest_plot(path, models, trunks, v, t))

    caption = mc.title or f"Heterogeneity by {split.by}: {y} on {x}"
    lines = [f"{lab}: b1 = {summary['split'][lab]['b1']:.4g}, N = {summary['split'][lab]['n_obs']:,}"
             + (f", {utests[lab][0].verdict}" if utests[lab] else "") for lab in labels]
    if tests is not None:
        lines.append(notes[0])
    fit_map = {f"{lab}": fits[lab].fit for lab in labels}
    if pooled is not None:
        fit_map["pooled interaction"] = pooled.fit
    return AnalysisResult(kind="heterogeneity", columns=columns, caption=caption, summary=summary,
                          estimates=estimates, fits=fit_map, notes=notes, report="\n".join(lines),
                          plots=plots, posterior=posterior)
