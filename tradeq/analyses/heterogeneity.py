"""Heterogeneity: split samples, the pooled interaction Wald test, partial pooling (Tables 8–11).

1. Split samples, as the paper does: the inverted-U FE model

       y_it = b1_g·x_it + b2_g·x_it² + W_it'd_g + firm_i + year_t + e_it

   fitted separately on each group g of ``model.split_by`` (ownership, factor intensity,
   period, region; any column), each with its own FE, controls and clustered errors, and
   each with the Lind–Mehlum inverted-U test and turning point on the group's own range of x
   (:mod:`tradeq.models.utest`). A firm whose group changes over time (ownership that
   changes) is in several split samples, with a firm effect in each.

2. The test the paper never ran: are the groups' curves the same? The pooled interaction
   model keeps common controls and fixed effects and gives every group its own curve and
   its own level,

       y_it = Σ_g 1[g_it = g]·(b1_g·x_it + b2_g·x_it²) + Σ_{g≥2} c_g·1[g_it = g]
              + W_it'd + firm_i + year_t + e_it,

   with the interacted columns built from the raw x and then FE-demeaned (SPEC 3: the exact
   FWL form). The main effects 1[g] matter when the group varies within firm and within
   year (ownership that changes): the FE then do not absorb a level difference between
   groups, and without 1[g] it loads onto the slopes: with a group switching within firm,
   correlated with x, and a level shift of 0.3, the 5% F test below rejected true equal
   curves in all of 1,000 simulated panels without 1[g], in 5.8% with it
   (tests/tradeq/analyses/test_heterogeneity.py). A group constant within firm (region) or
   year (period) is absorbed: 1[g] drops as collinear, and the summary says which case
   applies (``group_levels``).

   H0: b1_1 = … = b1_G and b2_1 = … = b2_G, i.e. R·β = 0 with the q = 2(G − 1) rows
   ``b1_g − b1_1``, ``b2_g − b2_1``. With a linear core variable (``model.quadratic=false``, the
   cluster papers' regions and periods) the pooled model has group-specific x (and levels) only
   and H0 is equal slopes, the q = G − 1 rows ``b1_g − b1_1``. With the fit's clustered covariance V
   (:func:`tradeq.models.wald.wald_test`),

       W = (Rβ)'(R V R')⁺(Rβ),    F = W / m  ~  F(m, G_c − 1),    m = rank(R V R'),

   G_c the number of clusters (the fit's ``df_t``: G_c − 1 when clustered, N − K for iid /
   HC1), as Stata's ``test`` after a clustered regression; the χ²(m) p-value of W too.
   m < q only with fewer clusters than restrictions. Separate tests of b1 alone and b2
   alone follow. The pooled model keeps the controls' slopes and the year effects common
   across groups, the split samples do not — so the pooled b1_g, b2_g differ slightly
   from the split-sample columns.

3. Partial pooling (``inference.kind=bayes|both``): the hierarchical Bayesian inverted U of
   :func:`tradeq.models.bayes.fit.fit_bayes` on the pooled design, one curve per group drawn from a
   common population — in the same table, and with the split-sample estimates in one
   ArviZ forest plot per coefficient.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tradeq.analyses.common import (
    AnalysisResult,
    Fitted,
    Spec,
    convergence_note,
    fit_spec,
    fmt,
    require_settings,
    resolve_vcov,
    tidy,
    truth_terms,
    utest,
    value,
    with_frame,
)
from tradeq.analyses.groups import (
    Split,
    equality_restrictions,
    group_levels,
    interaction_names,
    level_names,
    pooled_columns,
    split_groups,
)
from tradeq.analyses.heterogeneity_plots import forest_plots
from tradeq.errors import ConfigError, DataError
from tradeq.models.terms import square_formula, square_term
from tradeq.models.wald import wald_test
from tradeq.panel import Panel
from tradeq.report.outputs import utest_rows
from tradeq.report.tables import TableColumn, values_column

if TYPE_CHECKING:
    from tradeq.specs import EstimateSpec
    from tradeq.specs.model import HeterogeneitySpec

log = logging.getLogger("tradeq")


# ---------------------------------------------------------------------------------------
# The pooled interaction model and its Wald tests
# ---------------------------------------------------------------------------------------


def pooled_interaction(panel: Panel, split: Split, outcome: str, x: str, controls, fe, vcov, cluster,
                       level: float, quadratic: bool = True) -> Fitted:
    """Fit the pooled model with group-specific b1, b2 (b1 alone when not ``quadratic``) and
    group main effects (module docstring) on the rows in a group; absorbed main effects drop
    as collinear."""
    G = len(split.labels)
    frame = panel.frame.loc[split.codes >= 0].copy()
    cols = pooled_columns(x, frame[x].to_numpy(dtype=float), split.codes[split.codes >= 0], G)
    if not quadratic:
        cols = {c: v for c, v in cols.items() if c not in interaction_names(x, G)[1]}
    clash = [c for c in cols if c in frame.columns]
    if clash:
        raise DataError(f"data {panel.source!r}: column(s) {clash} clash with the pooled interaction model's "
                        "group columns; rename them")
    frame = frame.assign(**cols)
    spec = Spec(outcome, (*cols, *controls), tuple(fe), vcov, tuple(cluster))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = fit_spec(with_frame(panel, frame.reset_index(drop=True)), spec, level)
    # Main effects the FE absorb are expected to drop (group_levels reports it): no warning
    # for those; anything else is passed on.
    dropped = list(fitted.fit.dropped_collinear)
    expected = set(dropped) <= set(level_names(G))
    for w in caught:
        if not (expected and str(w.message) == f"dropped collinear regressor(s): {dropped}"):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fitted


def equality_tests(fitted: Fitted, x: str, G: int, quadratic: bool = True) -> dict:
    """Joint and separate Wald tests that every group's b1 (and b2) equals group 1's; without
    the square, the equal-slopes test (``joint`` is then the test of b1 alone)."""
    fit = fitted.fit
    names = list(fit.x_names)
    lin, sq = interaction_names(x, G)
    if not quadratic:
        # the same rows as equality_restrictions, over the linear interactions only
        R1, _ = equality_restrictions([*names, *(c for c in sq if c not in names)], x, G)
        test = wald_test(fit.coef, fit.vcov, R1[:, : len(names)], df=fit.df_t)
        return {"joint": test, "b1": test, "b2": None, "pooled_b1": [float(fit.coef[names.index(c)]) for c in lin],
                "pooled_b2": None, "vcov": fit.vcov_type, "clusters": dict(zip(fit.cluster_names, fit.n_clusters))}
    R1, R2 = equality_restrictions(names, x, G)
    out = {
        "joint": wald_test(fit.coef, fit.vcov, np.vstack([R1, R2]), df=fit.df_t),
        "b1": wald_test(fit.coef, fit.vcov, R1, df=fit.df_t),
        "b2": wald_test(fit.coef, fit.vcov, R2, df=fit.df_t),
    }
    out["pooled_b1"] = [float(fit.coef[names.index(c)]) for c in lin]
    out["pooled_b2"] = [float(fit.coef[names.index(c)]) for c in sq]
    out["vcov"] = fit.vcov_type
    out["clusters"] = dict(zip(fit.cluster_names, fit.n_clusters))
    return out


def equality_note(tests: dict, x: str) -> str:
    """The table note of the equal-curves tests."""
    j = tests["joint"]
    rank = "" if j["rank"] == j["q"] else (f" (rank {j['rank']} of the {j['q']} restrictions: the clustered variance "
                                           "identifies no more)")
    if tests["b2"] is None:
        return (f"Equal slopes across groups (pooled model, group-specific {x} and group levels, common controls and "
                f"FE): Wald F({j['df1']}, {j['df2']:.0f}) = {j['F']:.3f}, p = {j['p_F']:.4g}; "
                f"χ²({j['df1']}) = {j['wald']:.3f}, p = {j['p_chi2']:.4g}{rank}.")
    return (
        f"Equal curves across groups (pooled model, group-specific {x} and {x}² and group levels, common controls "
        f"and FE): Wald F({j['df1']}, {j['df2']:.0f}) = {j['F']:.3f}, p = {j['p_F']:.4g}; "
        f"χ²({j['df1']}) = {j['wald']:.3f}, p = {j['p_chi2']:.4g}{rank}. "
        f"{x} alone: F = {tests['b1']['F']:.3f} (p = {tests['b1']['p_F']:.4g}); "
        f"{x}² alone: F = {tests['b2']['F']:.3f} (p = {tests['b2']['p_F']:.4g})."
    )


# ---------------------------------------------------------------------------------------
# Bayes, truth, plots
# ---------------------------------------------------------------------------------------


def _truth_groups(truth, labels, x: str) -> dict | None:
    """The simulation's per-group truth when its groups are the split's groups (by label); a
    province panel's truth is the slope of IC by region or period."""
    groups = getattr(truth, "groups", None) if truth is not None else None
    if truth is not None and hasattr(truth, "ic_total"):
        groups = {g: {"b1": v} for g, v in truth.ic_total.items()} if x == "IC" else None
    if not groups or not set(labels) <= set(groups):
        return None
    return {lab: groups[lab] for lab in labels}


def _bayes(panel: Panel, split: Split, spec: Spec, cfg: EstimateSpec, level: float):
    """Hierarchical inverted U over the split's groups (tradeq.models.bayes.fit_bayes)."""
    from tradeq import pipeline
    from tradeq.analyses.bayes_options import fit_inverted_u, groups_unused

    inf = cfg.inference
    groups_unused(inf, "heterogeneity")
    frame = panel.frame.loc[split.codes >= 0].reset_index(drop=True)
    codes_all = split.codes[split.codes >= 0]
    sub = with_frame(panel, frame)
    design = pipeline.build_design(sub, Spec(spec.outcome, spec.terms, spec.fe, vcov="iid"))
    groups = codes_all[design.row_id]
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        dt = fit_inverted_u(design, inf, groups=groups, group_names=list(split.labels), core=spec.terms[0],
                            seed=int(cfg.seed), progress=False)
    return dt


def _posterior_summary(dt, labels, x: str, controls, level: float) -> dict:
    post = dt["posterior"].to_dataset()
    alpha = (1.0 - level) / 2.0
    hierarchical = "mu_slope" in post
    levels = json.loads(dt.attrs.get("group_levels", "[]"))

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
        if "beta" in post:  # the controls; the group main effects 1[g] go in "group_levels"
            entry["controls"] = {str(c): st(post["beta"].sel(control=c)) for c in post["control"].values
                                 if str(c) not in levels}
        out[g] = entry
    return {"groups": out, "hierarchical": hierarchical, "level": level,
            "max_rhat": dt.attrs.get("max_rhat"), "divergences": dt.attrs.get("divergences"),
            "model": dt.attrs.get("model"), "likelihood_form": dt.attrs.get("likelihood_form"),
            "group_levels": {c: st(post["beta"].sel(control=c)) for c in levels}}


# ---------------------------------------------------------------------------------------
# The analysis, step by step
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What ``run`` reads from ``cfg.model``."""

    y: str
    x: str
    controls: list[str]
    fe: list[str]
    vcov: str
    cluster: tuple[str, ...]
    level: float
    quadratic: bool
    spec: Spec
    title: str | None


def settings(mc: HeterogeneitySpec) -> Settings:
    require_settings(mc, "heterogeneity", ("outcome", "treatment", "split_by"))
    y, x = str(mc.outcome), str(mc.treatment)
    controls = [str(c) for c in mc.controls]
    fe = [str(f) for f in mc.fe]
    vcov, cluster = resolve_vcov(mc, fe)
    terms = (x, square_formula(x), *controls) if mc.quadratic else (x, *controls)
    return Settings(y, x, controls, fe, vcov, cluster, float(mc.level), bool(mc.quadratic),
                    Spec(y, terms, tuple(fe), vcov, cluster), mc.title)


def split_fits(panel: Panel, split: Split, s: Settings) -> tuple[dict[str, Fitted], dict]:
    """The FE fit and (with the square) the inverted-U test of each group's own sample."""
    fits: dict[str, Fitted] = {}
    utests: dict = {}
    for g, lab in enumerate(split.labels):
        sub = with_frame(panel, panel.frame.loc[split.mask(g)].reset_index(drop=True))
        try:
            fits[lab] = fit_spec(sub, s.spec, s.level)
        except (ValueError, DataError) as exc:
            raise DataError(f"group {lab!r} of {split.by!r}: {exc}") from exc
        utests[lab] = utest(fits[lab], s.x, s.level) if s.quadratic else None
    return fits, utests


def _bayes_column(e: dict, lab: str, s: Settings, n_obs: int) -> TableColumn:
    values = {s.x: e["b1"]["mean"], square_term(s.x): e["b2"]["mean"]}
    sds = {s.x: e["b1"]["sd"], square_term(s.x): e["b2"]["sd"]}
    for c, v in e.get("controls", {}).items():
        values[c], sds[c] = v["mean"], v["sd"]
    tp = e["turning_point"]  # a ratio: heavy tails, so its median and interval, not mean (sd)
    extra = {"Turning point": f"{fmt(tp['median'], 3)} [{fmt(tp['lo'], 2)}, {fmt(tp['hi'], 2)}]",
             "P(inverted U)": fmt(e.get("p_inverted_u", math.nan), 3)}
    return values_column(values, f"{lab} (Bayes)", sd=sds, extra=extra,
                         attrs={"vcov_type": "posterior", "n_obs": n_obs, "fe": ",".join(s.fe)})


def table_columns(labels, fits, utests, bayes, truth_groups, truth, s: Settings) -> list[TableColumn]:
    """FE per group (the paper's columns), then Bayes per group, then the truth per group."""
    columns = []
    for lab in labels:
        u = utests[lab]
        columns.append(TableColumn(fits[lab].dataset, title=lab, extra=utest_rows(u[0] if u else None)))
    if bayes is not None:
        columns += [_bayes_column(bayes["groups"][lab], lab, s, fits[lab].fit.n_obs) for lab in labels]
    if truth_groups is not None:
        base = truth_terms(truth) or {}
        for lab in labels:
            t = truth_groups[lab]
            curve = {s.x: t["b1"], **({square_term(s.x): t["b2"]} if "b2" in t else {})}
            values = {**curve, **{c: base[c] for c in s.controls if c in base}}
            extra = {"Turning point": fmt(t["turning_point"], 3)} if "turning_point" in t else {}
            columns.append(values_column(values, f"{lab} (truth)", extra=extra))
    return columns


def table_notes(tests, levels: dict, bayes, truth_groups, x: str) -> list[str]:
    notes = []
    if tests is not None:
        notes.append(equality_note(tests, x))
    notes.append(levels["note"])
    if bayes is not None:
        notes.append("Bayes columns: posterior mean (posterior sd) of the hierarchical model with common controls and FE "
                     "(partial pooling across groups); turning point: posterior median [95% interval]; "
                     "P(inverted U) = posterior probability of an inverted U on the group's range; "
                     f"likelihood: {bayes.get('likelihood_form')}"
                     + (f"; group main effects {', '.join(bayes['group_levels'])} included." if bayes.get("group_levels")
                        else "; the fixed effects absorb the group main effects."))
        caution = convergence_note(bayes.get("max_rhat"), bayes.get("divergences"))
        if caution:
            notes.append(caution)
    if truth_groups is not None:
        notes.append(f"Truth: the simulation's group-specific coefficients of {x} and the common control slopes.")
    return notes


def _split_entry(fitted: Fitted, u, s: Settings) -> dict:
    fit = fitted.fit
    entry = {"n_obs": fit.n_obs, "b1": float(fit.coef[fit.index(s.x)]), "se_b1": float(fit.se[fit.index(s.x)])}
    if s.quadratic:
        j = fit.index(square_term(s.x))
        entry.update(b2=float(fit.coef[j]), se_b2=float(fit.se[j]))
    entry["utest"] = u[0].to_dict() if u else None
    return entry


def summary_dict(split: Split, fits, utests, tests, levels, bayes, truth_groups, s: Settings, cuts) -> dict:
    """The content of ``heterogeneity.json``."""
    return {
        "outcome": s.y, "treatment": s.x, "split_by": split.by, "groups": list(split.labels),
        "split_cuts": None if cuts is None else [float(c) for c in cuts],
        "split": {lab: _split_entry(fits[lab], utests[lab], s) for lab in split.labels},
        "equality_test": tests,
        "group_levels": levels,
        "bayes": bayes,
        "truth": truth_groups,
    }


def run(panel: Panel, cfg: EstimateSpec, timings) -> AnalysisResult:
    """``model.kind=heterogeneity``: split samples + utest per group, pooled Wald test,
    hierarchical Bayes (``inference.kind=bayes|both``) and the forest plots."""
    mc = cfg.model
    s = settings(mc)
    bayes_kind = str(value(cfg.inference.kind))
    if bayes_kind in ("bayes", "both") and not s.quadratic:
        raise ConfigError(f"inference.kind={bayes_kind}: the Bayesian model of model=heterogeneity is the inverted U "
                          "(b1, b2 by group); with model.quadratic=false there is none to fit: use inference.kind=fe")
    split = split_groups(panel.frame, str(mc.split_by), mc.split_levels, mc.split_cuts, f"data {panel.source!r}")
    labels = list(split.labels)
    with timings("fit"):
        fits, utests = split_fits(panel, split, s)
    with timings("wald"):
        pooled = pooled_interaction(panel, split, s.y, s.x, s.controls, s.fe, s.vcov, s.cluster, s.level, s.quadratic)
        tests = equality_tests(pooled, s.x, len(labels), s.quadratic)
        levels = group_levels(panel.frame, split, s.fe, pooled.fit)
    truth_groups = _truth_groups(panel.truth, labels, s.x)
    bayes = posterior = None
    if bayes_kind in ("bayes", "both"):
        with timings("bayes"):
            posterior = _bayes(panel, split, s.spec, cfg, s.level)
            bayes = _posterior_summary(posterior, labels, s.x, s.controls, s.level)

    columns = table_columns(labels, fits, utests, bayes, truth_groups, panel.truth, s)
    notes = table_notes(tests, levels, bayes, truth_groups, s.x)
    estimates = pd.concat([tidy(fits[lab], lab, s.level) for lab in labels], ignore_index=True)
    summary = summary_dict(split, fits, utests, tests, levels, bayes, truth_groups, s, mc.split_cuts)
    plots = forest_plots(split, fits, posterior, truth_groups, s) if bool(cfg.output.plots) and s.quadratic else {}

    lines = [f"{lab}: b1 = {summary['split'][lab]['b1']:.4g}, N = {summary['split'][lab]['n_obs']:,}"
             + (f", {utests[lab][0].verdict}" if utests[lab] else "") for lab in labels]
    lines += notes[:2] if tests is not None else notes[:1]
    fit_map = {f"{lab}": fits[lab].fit for lab in labels}
    if pooled is not None:
        fit_map["pooled interaction"] = pooled.fit
    return AnalysisResult(kind="heterogeneity", columns=columns, caption=s.title or f"Heterogeneity by {split.by}: {s.y} on {s.x}",
                          summary=summary, estimates=estimates, fits=fit_map, notes=notes, report="\n".join(lines),
                          plots=plots, posterior=posterior)
