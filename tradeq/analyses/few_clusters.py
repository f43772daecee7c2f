"""The few-cluster part of a ``model=fe`` run: CRV3, the wild cluster bootstrap, cluster influence,
and the design diagnostic (:mod:`tradeq.analyses.design_level`).

With G clusters the clustered (CRV1) t test over-rejects when G is small or the clusters are
unequal (MacKinnon, Nielsen & Webb 2023). The remedies, all from :mod:`tradeq.models` on the
FE design rebuilt by :func:`tradeq.models.wild.cluster_design` (FE nested in the clusters
projected out, the others — year effects with province clusters — as dummy columns):

* ``model.vcov=crv3``: the leave-one-cluster-out jackknife variance (:func:`tradeq.models.crv3.crv3_vcov`)
  replaces CRV1 in the fit, with t(G − 1);
* ``model.wild=true``: the wild cluster bootstrap (:func:`tradeq.models.wild.wild_test`) of every
  coefficient (H0: b_j = 0, its interval by test inversion) and of each ``model.hypothesis``, with
  the run's seed as its key; its t statistics use CRV1 with pyfixest's small-sample factor (the
  FE replica's clustered t), or CRV3 with ``model.vcov=crv3``; with ``model.utest`` the
  Lind–Mehlum test by wild bootstrap (:func:`tradeq.models.wild.wild_utest`) beside the analytic one;
* the cluster influence report (:func:`tradeq.models.cluster_influence.cluster_influence`):
  leverage, partial leverage, leave-one-out estimates and the effective number of clusters G*
  of Carter, Schnepel & Steigerwald (2017), with ``model.influence=true`` or any of the above.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from tradeq import pipeline
from tradeq.analyses.design_level import DesignLevel, design_level
from tradeq.analyses.hypotheses import linear_hypothesis
from tradeq.errors import DataError
from tradeq.formula import split_formula
from tradeq.models.cluster_influence import cluster_influence
from tradeq.models.crv3 import CRV3Result, crv3_vcov
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.utest import find_squared_term
from tradeq.models.wild import ClusterDesign, WildResult, WildUTestResult, cluster_design, wild_test, wild_utest
from tradeq.panel import Panel
from tradeq.province_data import province_truth_terms
from tradeq.specs.fields import Vcov

log = logging.getLogger("tradeq")

TIE_RULE = "strict"  # boottest's: a bootstrap statistic equal to t is not counted


@dataclass(frozen=True)
class WildHypothesis:
    """One tested ``model.hypothesis``: its text, ``R`` by term (non-zero entries), ``r`` and the test."""

    text: str
    R: dict[str, float]
    r: float
    result: WildResult


@dataclass(frozen=True)
class FewClusters:
    """What the few-cluster tools found (module docstring). ``fit`` is the fit to report (its
    variance CRV3 under ``model.vcov=crv3``); ``labels`` the cluster of each design code."""

    fit: FEFit
    cluster: str | None
    labels: np.ndarray | None
    design: ClusterDesign | None
    crv3: CRV3Result | None
    term_tests: dict[str, WildResult]
    hypotheses: tuple[WildHypothesis, ...]
    wild_utest: WildUTestResult | None
    influence: xr.Dataset | None
    level: DesignLevel | None
    settings: dict


def clustered(model):
    """The model spec to build and fit with: CRV3 starts from the clustered (CRV1) fit."""
    return dataclasses.replace(model, vcov=Vcov.cluster) if model.vcov == Vcov.crv3 else model


def subsample(panel: Panel, query: str | None) -> Panel:
    """The rows of ``panel`` satisfying ``model.sample`` (a pandas query over its columns)."""
    if not query:
        return panel
    try:
        keep = np.asarray(panel.frame.eval(str(query), engine="python"))
    except Exception as exc:  # noqa: BLE001 - a parse or name error is the user's filter
        raise DataError(f"model.sample={query!r} cannot be evaluated on data {panel.source!r}: {exc}") from None
    if keep.dtype != bool or keep.shape != (panel.frame.shape[0],):
        raise DataError(f"model.sample={query!r} must be a condition on the rows, e.g. \"region == 'Central'\"")
    if not keep.any():
        raise DataError(f"model.sample={query!r} selects no rows of data {panel.source!r}")
    frame = panel.frame.loc[keep].reset_index(drop=True)
    return Panel(frame=frame, source=f"{panel.source} [{query}]", id=panel.id, time=panel.time,
                 labels=panel.labels, truth=panel.truth, value_codes=panel.value_codes)


def truth_terms(panel: Panel) -> dict[str, float] | None:
    """The simulator's truth by term for this sample (a province panel's slope of its group)."""
    if panel.truth is not None and hasattr(panel.truth, "ic_total"):
        return province_truth_terms(panel.truth, panel.frame)
    return pipeline.truth_by_term(panel.truth)


def _cluster_design(design: Design, fit: FEFit) -> ClusterDesign:
    cols = [list(design.x_names).index(t) for t in fit.x_names]
    cd = cluster_design(design.y, design.X[:, cols], design.fe if design.fe.shape[1] else None, design.cluster[:, 0],
                        names=fit.x_names, fe_names=design.fe_names)
    coef = np.linalg.lstsq(cd.X, cd.y, rcond=None)[0][: len(cols)]
    if not np.allclose(coef, fit.coef, rtol=1e-6, atol=1e-9 * max(1.0, float(np.abs(fit.coef).max()))):
        raise RuntimeError(f"the few-cluster design disagrees with the FE fit: {coef} vs {fit.coef}")
    return cd


def _labels(panel: Panel, design: Design, cd: ClusterDesign) -> np.ndarray:
    raw = panel.frame[design.cluster_names[0]].to_numpy()[design.row_id[cd.rows]]
    first = np.unique(cd.clusters, return_index=True)[1]
    return np.asarray([str(v) for v in raw[first]], dtype=object)


def _wild_settings(spec) -> dict:
    m = spec.model
    return {"weights": str(m.wild_weights), "reps": int(m.wild_reps), "null": str(m.wild_null),
            "ptype": str(m.wild_ptype), "level": float(m.level), "key": int(spec.seed), "tie_rule": TIE_RULE,
            "variance": "crv3" if m.vcov == Vcov.crv3 else "crv1"}


def _wild(cd: ClusterDesign, R: np.ndarray, r: float, s: dict) -> WildResult:
    return wild_test(cd.y, cd.X, cd.clusters, cd.restriction(R), r, weights=s["weights"], reps=s["reps"],
                     null=s["null"], ptype=s["ptype"], level=s["level"], key=s["key"], variance=s["variance"],
                     ssc=cd.ssc, tie_rule=s["tie_rule"])


def _wild_tests(cd: ClusterDesign, fit: FEFit, spec, s: dict):
    k = len(fit.x_names)
    terms = {t: _wild(cd, np.eye(k)[j], 0.0, s) for j, t in enumerate(fit.x_names)}
    hyps = []
    for text in spec.model.hypothesis:
        R, r = linear_hypothesis(text, fit.x_names)
        hyps.append(WildHypothesis(text, {t: float(v) for t, v in zip(fit.x_names, R) if v}, float(r), _wild(cd, R, r, s)))
    return terms, tuple(hyps)


def _wild_utest(cd: ClusterDesign, design: Design, fit: FEFit, model, s: dict) -> WildUTestResult:
    var = str(model.utest)
    i, j = fit.index(var), fit.index(find_squared_term(fit.x_names, var))
    rng = pipeline.core_range(design, var, model.utest_interval)
    return wild_utest(cd.y, cd.X, cd.clusters, i, j, rng.lo, rng.hi, weights=s["weights"], reps=s["reps"],
                      level=s["level"], key=s["key"], variance=s["variance"], ssc=cd.ssc, tie_rule=s["tie_rule"])


def _core_variable(model) -> str | None:
    """``model.utest``, else the numeric variable written first on the formula's right-hand side."""
    if model.utest:
        return str(model.utest)
    numeric = pipeline.required_columns(model.formula)[1]
    rhs = split_formula(model.formula)[0].split("~", 1)[1]
    where = {v: (m.start() if (m := re.search(rf"(?<![\w.]){re.escape(v)}(?![\w.])", rhs)) else len(rhs)) for v in numeric}
    return min(numeric, key=lambda v: where[v]) if numeric else None


def _core_terms(model, terms) -> list[str]:
    """The fit's terms of the core variable: itself, or its interactions (``IC:C(period)[2017-2021]``)."""
    core = _core_variable(model)
    if core is None:
        return []
    if core in terms:
        return [core]
    return [t for t in terms if re.match(rf"^{re.escape(core)}:|:{re.escape(core)}(:|$)", t)][:4]


def _design_level(panel: Panel, design: Design, model) -> DesignLevel | None:
    var = _core_variable(model)
    frame = panel.frame
    if var is None or var not in frame.columns or not pd.api.types.is_numeric_dtype(frame[var]):
        return None
    rows = frame.iloc[design.row_id]
    fe = [c for f in design.fe_names for c in str(f).split("^")]
    others = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    candidates = list(dict.fromkeys([*fe, *design.cluster_names, *(k for k in (panel.id, panel.time) if k), *others]))
    cluster = design.cluster_names[0] if len(design.cluster_names) == 1 else None
    return design_level(rows, var, cluster, candidates, time=panel.time, vcov=str(model.vcov))


def estimate(spec, panel: Panel, design: Design, fit: FEFit, timings) -> FewClusters:
    """Run the few-cluster tools the model asks for (module docstring) and the design check."""
    model = spec.model
    with timings("design_level"):
        level = _design_level(panel, design, model)
    if level is not None and level.warn:
        log.warning("warning: %s", level.message)
    needed = model.vcov == Vcov.crv3 or model.wild or model.influence
    if not needed:
        return FewClusters(fit, None, None, None, None, {}, (), None, None, level, {})
    with timings("few_clusters"):
        cd = _cluster_design(design, fit)
        labels = _labels(panel, design, cd)
        k = len(fit.x_names)
        crv3 = None
        if model.vcov == Vcov.crv3:
            crv3 = crv3_vcov(cd.y, cd.X, cd.clusters)
            fit = dataclasses.replace(fit, vcov=crv3.vcov[:k, :k], vcov_type="crv3", df_t=float(crv3.df))
        s = _wild_settings(spec) if model.wild else {}
        terms, hyps = _wild_tests(cd, fit, spec, s) if model.wild else ({}, ())
        wu = _wild_utest(cd, design, fit, model, s) if model.wild and model.utest else None
        influence = cluster_influence(cd.y, cd.X, cd.clusters, names=cd.names, terms=list(fit.x_names),
                                      fe_nested=cd.fe_nested, cluster_labels=labels)
    return FewClusters(fit, design.cluster_names[0], labels, cd, crv3, terms, hyps, wu, influence, level, s)


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _num(v, spec: str = ".3g") -> str:
    v = float(v)
    return "∞" if v == math.inf else "-∞" if v == -math.inf else "nan" if math.isnan(v) else format(v, spec)


def wild_columns(few: FewClusters, terms) -> pd.DataFrame:
    """``p_wild``, ``conf_low_wild``, ``conf_high_wild`` per term (NaN without the wild bootstrap)."""
    rows = [few.term_tests.get(t) for t in terms]
    return pd.DataFrame({"p_wild": [r.p if r else np.nan for r in rows],
                         "conf_low_wild": [r.ci_lo if r else np.nan for r in rows],
                         "conf_high_wild": [r.ci_hi if r else np.nan for r in rows]})


def influence_frame(ds: xr.Dataset) -> pd.DataFrame:
    """``cluster_influence.csv``: one row per cluster and term."""
    per_term = ds[["partial_leverage", "beta_loo", "influence"]].to_dataframe().reset_index()
    per_cluster = ds[["n_obs", "leverage", "singular"]].to_dataframe().reset_index()
    out = per_term.merge(per_cluster, on="cluster")
    return out[["cluster", "term", "n_obs", "leverage", "partial_leverage", "beta_loo", "influence", "singular"]]


def _influence_note(few: FewClusters, core: str | None) -> str:
    ds = few.influence
    term = core if core in ds["term"].values else str(ds["term"].values[0])
    sel = ds.sel(term=term)
    gstar = float(sel["gstar"].sel(rho=0.0))
    worst = int(np.argmax(np.abs(sel["influence"].values)))
    lev = int(np.argmax(ds["leverage"].values))
    return (f"Clusters ({few.cluster}, G = {ds.attrs['n_clusters']}): effective number of clusters for {term} "
            f"G*(ρ=0) = {gstar:.1f} (Carter, Schnepel & Steigerwald 2017); the most influential cluster is "
            f"{ds['cluster'].values[worst]} ({term} moves by {-float(sel['influence'].values[worst]):+.3g} without it), "
            f"the highest leverage {ds['cluster'].values[lev]} ({float(ds['leverage'].values[lev]):.3f} of "
            f"k = {ds.attrs['k']}); cluster_influence.csv has every cluster.")


def _wild_note(few: FewClusters) -> str:
    s = few.settings
    any_test = next(iter(few.term_tests.values()))
    draws = (f"all 2^{any_test.n_clusters} = {any_test.draws:,} sign vectors enumerated" if any_test.enumerated
             else f"{any_test.draws:,} draws")
    null = "WCR, the null imposed" if s["null"] == "restricted" else "WCU"
    text = (f"Wild cluster bootstrap ({null}; {s['weights']} weights, {draws}; {s['ptype']} p-values, "
            f"t studentised by {s['variance'].upper()}; key {s['key']}): p and {int(round(100 * s['level']))}% "
            f"intervals by test inversion in wild.json and estimates.csv (p_wild, conf_low_wild, conf_high_wild).")
    return text + (f" {any_test.note}." if any_test.note else "")


def notes(few: FewClusters, model) -> list[str]:
    """The table notes of the few-cluster tools and the design diagnostic."""
    out = []
    if few.crv3 is not None:
        out.append(f"Standard errors: CRV3, the leave-one-{few.cluster}-out jackknife (G = {few.crv3.n_clusters}), "
                   f"t({few.crv3.df}) inference.")
    if few.term_tests:
        out.append(_wild_note(few))
    if few.influence is not None:
        core = _core_terms(model, list(few.influence["term"].values))
        out.append(_influence_note(few, core[0] if core else None))
    if few.level is not None and few.level.warn:
        out.append(few.level.message)
    return out


def extra_rows(few: FewClusters, model) -> dict[str, str]:
    """Table rows for the core variable: its wild p and interval, G*, the wild U test."""
    rows: dict[str, str] = {}
    for core in _core_terms(model, list(few.fit.x_names)):
        if core in few.term_tests:
            r = few.term_tests[core]
            rows[f"{core}: wild p [{int(round(100 * r.level))}% CI]"] = (
                f"{_num(r.p, '.4f')} [{_num(r.ci_lo, '.4g')}, {_num(r.ci_hi, '.4g')}]")
        if few.influence is not None and core in few.influence["term"].values:
            rows[f"{core}: effective clusters G*"] = (
                f"{float(few.influence['gstar'].sel(term=core, rho=0.0)):.1f} of {few.influence.attrs['n_clusters']}")
    for h in few.hypotheses:
        r = h.result
        rows[f"H0: {h.text}: wild p [{int(round(100 * r.level))}% CI]"] = (
            f"{_num(r.p, '.4f')} [{_num(r.ci_lo, '.4g')}, {_num(r.ci_hi, '.4g')}]")
    if few.wild_utest is not None:
        rows["Lind–Mehlum p (wild)"] = f"{_num(few.wild_utest.p, '.4f')} ({few.wild_utest.verdict})"
    return rows


def files(few: FewClusters) -> dict:
    """``wild.json``, ``wild_utest.json``, ``cluster_influence.csv`` (those that apply)."""
    out: dict = {}
    if few.term_tests:
        out["wild.json"] = {
            "settings": few.settings, "cluster": few.cluster, "n_clusters": few.design.n_clusters,
            "terms": {t: {"hypothesis": f"{t} = 0", **r.to_dict()} for t, r in few.term_tests.items()},
            "hypotheses": [{"hypothesis": h.text, "R": h.R, **h.result.to_dict()} for h in few.hypotheses],
        }
    if few.wild_utest is not None:
        out["wild_utest.json"] = few.wild_utest.to_dict()
    if few.influence is not None:
        out["cluster_influence.csv"] = influence_frame(few.influence)
    return out


def record(few: FewClusters) -> dict:
    """What ``run.json`` records: the design diagnostic and the few-cluster settings."""
    out: dict = {"design_level": None if few.level is None else few.level.to_dict()}
    if few.design is not None:
        out["few_clusters"] = {"cluster": few.cluster, "n_clusters": few.design.n_clusters,
                               "crv3": few.crv3 is not None, "wild": few.settings or None,
                               "fe_projected": [bool(b) for b in few.design.nested], "ssc": few.design.ssc}
    return out
