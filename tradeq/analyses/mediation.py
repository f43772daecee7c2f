"""Mediation with fixed effects: the three-equation stepwise model (Tables 6–7).

The model of Baron & Kenny (1986, *JPSP* 51(6), 1173–1182) in the stepwise form of Wen
Zhonglin, Chang Lei, Hau Kit-Tai & Liu Hongyun (2004, "Testing and application of the
mediating effects", *Acta Psychologica Sinica* 36(5), 614–620) that the paper uses, each
equation with the same fixed effects F (firm and year) and controls W, on one common sample::

    (1) total      y_it = c·x_it  + c2·x_it² + W_it'd1 + F + e1
    (2) mediator   m_it = a·x_it             + W_it'd2 + F + e2
    (3) outcome    y_it = c'·x_it + g·x_it²  + b·m_it + W_it'd3 + F + e3

where ``x`` is the core variable, lagged ``lag`` years within firm when asked
(``x_it = Market_{p(i),t−1}``, as the paper's mediation equations are written; a firm's first
year then has no lag and drops out, :func:`tradeq.lags.panel_lag`), and the outcome
equations keep the quadratic term (``quadratic``). Quantities: indirect effect ``a·b``,
direct effect ``c'``, total effect ``c`` (the linear coefficient of (1)), proportion mediated
``a·b / c``. Without the square ``c = c' + a·b`` holds exactly on the common sample.

Tests of ``a·b = 0``: Sobel (1982), Aroian (1947), Goodman (1960) from ``a``, ``b`` and
their clustered standard errors (:mod:`tradeq.models.mediation`); a cluster bootstrap of all five
quantities (resample clusters, not rows) with percentile and BCa intervals (Efron 1987).

Clustering. A mediator measured at a coarser level than the firm — human capital by
province-year, R&D intensity by industry-year — is one value shared by every firm of a
province (industry) in a year, so the errors of equation (2) are correlated across those
firms; firm-clustered standard errors of ``a`` then treat thousands of copies of one
province-year value as independent and are far too small. Defaults:

* equations (1) and (3): ``model.cluster`` (the firm, the paper's level);
* equation (2): ``model.mediator_cluster`` — the mediator's level (``province`` for human
  capital, ``industry`` for R&D); when unset, ``model.cluster``;
* bootstrap: resamples ``model.mediator_cluster`` when set (whole provinces with all their
  firms, so that the dependence within a province — which drives the sampling error of
  ``a`` — is kept, and firms nested in provinces stay whole), otherwise ``model.cluster``;
  with no cluster at all it resamples rows.

The bootstrap reuses one FE-demeaned design (:func:`tradeq.models.mediation.bootstrap_indirect`),
the "fixed demeaned design" cluster bootstrap described there.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from tradeq.analyses.common import (
    AnalysisResult,
    Fitted,
    Spec,
    convergence_note,
    fit_spec,
    fmt,
    fmt_ci,
    require_settings,
    resolve_vcov,
    square,
    square_name,
    tidy,
    value,
    with_frame,
)
from tradeq.errors import ConfigError, DataError
from tradeq.lags import panel_lag
from tradeq.models.mediation import MediationBootstrap, aroian, bootstrap_indirect, goodman, sobel
from tradeq.models.singletons import drop_singletons
from tradeq.models.within import within_transform
from tradeq.panel import Panel
from tradeq.report.tables import TableColumn, values_column

log = logging.getLogger("tradeq")

EQUATIONS = ("total", "mediator", "outcome")


@dataclass(frozen=True)
class MediationModel:
    """The variables and inference settings of the three-equation model (module docstring)."""

    outcome: str
    treatment: str
    mediator: str
    controls: tuple[str, ...] = ()
    fe: tuple[str, ...] = ("firm", "year")
    vcov: str = "cluster"
    cluster: tuple[str, ...] = ()
    mediator_cluster: tuple[str, ...] = ()
    quadratic: bool = True
    lag: int = 0

    @property
    def x(self) -> str:
        """The core variable as used: ``L{lag}_{treatment}`` when lagged."""
        return f"L{self.lag}_{self.treatment}" if self.lag else self.treatment

    @property
    def boot_unit(self) -> str | None:
        """The resampled unit: the mediator's cluster, else the outcome's, else rows (None)."""
        if self.mediator_cluster:
            return self.mediator_cluster[0]
        return self.cluster[0] if self.cluster else None

    def specs(self) -> dict[str, Spec]:
        x = self.x
        sq = (square(x),) if self.quadratic else ()
        W = tuple(self.controls)
        fe = tuple(self.fe)
        return {
            "total": Spec(self.outcome, (x, *sq, *W), fe, self.vcov, self.cluster),
            "mediator": Spec(self.mediator, (x, *W), fe, self.vcov, self.mediator_cluster or self.cluster),
            "outcome": Spec(self.outcome, (x, *sq, self.mediator, *W), fe, self.vcov, self.cluster),
        }


@dataclass
class MediationResult:
    """The three fits, the product-of-coefficients tests, the bootstrap and a JSON summary.

    ``arrays`` holds what the Bayesian joint model needs, on the fits' common sample after
    singleton rows were dropped: raw ``y``, ``m``, ``x``, ``x2`` (or None), ``W`` (n, p),
    ``fe`` (n, m) codes and ``row_id`` (positions in the analysed frame).
    """

    model: MediationModel
    fits: dict[str, Fitted]
    summary: dict
    bootstrap: MediationBootstrap
    arrays: dict = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    time: str = "year"


def mediation_sample(panel: Panel, model: MediationModel) -> Panel:
    """Add the lagged core variable (exact years within ``panel.id``) and keep the rows where
    every variable of the three equations, the FEs and the cluster columns are present, so
    that the equations share one sample."""
    frame = panel.frame
    need = [model.outcome, model.treatment, model.mediator, *model.controls, *model.fe,
            *model.cluster, *model.mediator_cluster, *(k for k in (panel.id, panel.time) if k)]
    missing = [c for c in dict.fromkeys(need) if c not in frame.columns]
    if missing:
        hint = (" (the simulator adds a mediator with data.dgp.mediator=province|firm and data.dgp.mediator_name=...;"
                " experiment=table6 sets both)" if panel.source.startswith("synthetic") else "")
        raise DataError(f"data {panel.source!r}: missing column(s) {missing} needed by the mediation model; "
                        f"available columns: {list(frame.columns)}{hint}")
    frame = frame.copy()
    if model.lag and not (panel.id and panel.time):
        raise ConfigError("model.lag needs the panel keys: set data.id=<unit column> and data.time=<year column>")
    if model.lag:
        frame[model.x] = panel_lag(frame, model.treatment, model.lag, panel.id, panel.time)
    used = list(dict.fromkeys([model.outcome, model.x, model.mediator, *model.controls, *model.fe,
                               *model.cluster, *model.mediator_cluster]))
    keep = frame[used].notna().all(axis=1)
    if not keep.any():
        raise DataError(f"data {panel.source!r}: no row has all of {used}"
                        + (f" (the lag of {model.treatment} needs consecutive years)" if model.lag else ""))
    return with_frame(panel, frame.loc[keep].reset_index(drop=True))


def _demeaned_arrays(fitted: Fitted, model: MediationModel) -> dict:
    """Raw and FE-demeaned columns of the outcome equation's design (singletons dropped)."""
    d, fit = fitted.design, fitted.fit
    keep = drop_singletons(d.fe) if d.fe.shape[1] else np.ones(d.n, bool)
    names = list(d.x_names)
    for term in fit.x_names:
        if term not in names:
            raise RuntimeError(f"term {term!r} missing from the design")
    if fit.dropped_collinear:
        raise DataError(f"the outcome equation has collinear regressors {list(fit.dropped_collinear)}; "
                        "drop them from model.controls")
    x_name, m_name = model.x, model.mediator
    sq = square_name(x_name) if model.quadratic else None
    W_names = [t for t in names if t not in (x_name, sq, m_name, "Intercept")]
    col = {t: d.X[keep, names.index(t)] for t in names}
    raw = {
        "y": np.asarray(d.y[keep], float), "x": col[x_name], "m": col[m_name],
        "x2": col[sq] if sq else None,
        "W": np.column_stack([col[t] for t in W_names]) if W_names else np.zeros((int(keep.sum()), 0)),
        "fe": d.fe[keep], "row_id": d.row_id[keep], "control_names": tuple(W_names),
    }
    block = np.column_stack([raw["y"], raw["x"], raw["m"]] + ([raw["x2"]] if sq else []) + [raw["W"]])
    if d.fe.shape[1]:
        block, _, converged = within_transform(block, raw["fe"])
        if not converged:
            warnings.warn("the within transformation for the bootstrap did not converge", stacklevel=2)
    dm = {"y": block[:, 0], "x": block[:, 1], "m": block[:, 2], "x2": block[:, 3] if sq else None,
          "W": block[:, (4 if sq else 3):]}
    return {"raw": raw, "demeaned": dm}


def _nested(frame: pd.DataFrame, inner: str, outer: str) -> bool:
    return bool(frame.groupby(inner, observed=True)[outer].nunique().max() <= 1)


def estimate_mediation(
    panel: Panel,
    model: MediationModel,
    *,
    n_boot: int = 2000,
    ci_method: str = "bca",
    level: float = 0.95,
    seed: int = 0,
) -> MediationResult:
    """Fit the three equations, test ``a·b`` and bootstrap it (see the module docstring).

    Returns a :class:`MediationResult` whose ``summary`` holds ``a``, ``b``, ``indirect``,
    ``direct``, ``total``, ``proportion`` (point estimates from the FE fits), their clustered
    standard errors, ``sobel_z``/``sobel_p`` (and Aroian, Goodman), ``boot_ci`` (the
    ``ci_method`` interval of the indirect effect), intervals of every quantity by both
    methods, ``n_boot`` and the resampled unit.
    """
    sample = mediation_sample(panel, model)
    fits = {name: fit_spec(sample, spec, level) for name, spec in model.specs().items()}
    for name, f in fits.items():
        if model.x not in f.fit.x_names:
            raise DataError(f"the {name} equation dropped {model.x!r} as collinear with the fixed effects")
    ns = {name: f.fit.n_obs for name, f in fits.items()}
    if len(set(ns.values())) != 1:  # cannot happen on one complete-case sample; guard the identity
        raise RuntimeError(f"the three equations ended on different samples: {ns}")

    fm, fo, ft = fits["mediator"].fit, fits["outcome"].fit, fits["total"].fit
    ia, ib = fm.index(model.x), fo.index(model.mediator)
    a, sa = float(fm.coef[ia]), float(fm.se[ia])
    b, sb = float(fo.coef[ib]), float(fo.se[ib])
    direct, s_direct = float(fo.coef[fo.index(model.x)]), float(fo.se[fo.index(model.x)])
    total, s_total = float(ft.coef[ft.index(model.x)]), float(ft.se[ft.index(model.x)])
    sz, sp = sobel(a, sa, b, sb)
    az_, ap = aroian(a, sa, b, sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Goodman undefined → NaN, reported as such
        gz, gp = goodman(a, sa, b, sb)

    arrays = _demeaned_arrays(fits["outcome"], model)
    dm, raw = arrays["demeaned"], arrays["raw"]
    unit = model.boot_unit
    frame = sample.frame
    if unit is None:
        labels = np.arange(dm["y"].shape[0])
    else:
        labels = frame[unit].to_numpy()[raw["row_id"]]
        inner = model.cluster[0] if model.cluster else None
        if inner and inner != unit and not _nested(frame, inner, unit):
            log.warning("%s is not nested in %s: resampling %s splits some %s across resamples",
                        inner, unit, unit, inner)
    boot = bootstrap_indirect(
        dm["x"], dm["m"], dm["y"], labels, controls=dm["W"] if dm["W"].shape[1] else None,
        x2=dm["x2"], add_intercept=not model.fe, n_boot=int(n_boot), key=int(seed), jackknife=True,
    )
    check = boot.estimate
    if not np.isclose(check["a"], a, rtol=1e-6, atol=1e-10) or not np.isclose(check["b"], b, rtol=1e-6, atol=1e-10):
        raise RuntimeError(f"bootstrap design disagrees with the FE fits: a {check['a']} vs {a}, b {check['b']} vs {b}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        boot_summary = boot.summary(level)
    q = boot_summary["quantities"]
    method = "bca" if ci_method == "bca" else "percentile"
    ci = {name: q[name].get(method) or q[name]["percentile"] for name in q}
    proportion = a * b / total if total != 0 else float("nan")
    summary = {
        "outcome": model.outcome, "treatment": model.treatment, "core_variable": model.x,
        "mediator": model.mediator, "lag": model.lag, "controls": list(model.controls), "fe": list(model.fe),
        "quadratic": model.quadratic,
        "a": a, "se_a": sa, "b": b, "se_b": sb,
        "indirect": a * b, "direct": direct, "se_direct": s_direct, "total": total, "se_total": s_total,
        "proportion": proportion,
        "sobel_z": sz, "sobel_p": sp, "aroian_z": az_, "aroian_p": ap, "goodman_z": gz, "goodman_p": gp,
        "boot_ci": ci["indirect"], "ci_method": method, "level": level,
        "proportion_ci": ci["proportion"], "direct_ci": ci["direct"], "total_ci": ci["total"],
        "a_ci": ci["a"], "b_ci": ci["b"],
        "boot_se_indirect": q["indirect"]["se"],
        "n_boot": int(n_boot), "boot_unit": unit or "rows", "n_boot_clusters": boot.n_clusters,
        "clusters": {"total": list(fits["total"].spec.cluster), "mediator": list(fits["mediator"].spec.cluster),
                     "outcome": list(fits["outcome"].spec.cluster)},
        "vcov": {name: f.fit.vcov_type for name, f in fits.items()},
        "n_obs": fo.n_obs,
        "bootstrap": boot_summary,
    }
    return MediationResult(model, fits, summary, boot, arrays, frame, panel.time)


def model_from_config(model_cfg: DictConfig) -> MediationModel:
    require_settings(model_cfg, "mediation", ("outcome", "treatment", "mediator"))
    fe = [str(f) for f in model_cfg.fe]
    vcov, cluster = resolve_vcov(model_cfg, fe)
    med_cluster = (str(model_cfg.mediator_cluster),) if model_cfg.mediator_cluster else ()
    if med_cluster and vcov != "cluster":
        raise DataError(f"model.mediator_cluster={med_cluster[0]} needs model.vcov=cluster")
    lag = int(model_cfg.lag)
    if lag < 0:
        raise DataError(f"model.lag must be 0 or a positive number of years, got {lag}")
    return MediationModel(
        outcome=str(model_cfg.outcome), treatment=str(model_cfg.treatment), mediator=str(model_cfg.mediator),
        controls=tuple(str(c) for c in model_cfg.controls), fe=tuple(fe), vcov=vcov, cluster=cluster,
        mediator_cluster=med_cluster, quadratic=bool(model_cfg.quadratic), lag=lag,
    )


# ---------------------------------------------------------------------------------------
# Table and run
# ---------------------------------------------------------------------------------------


def _z_cell(z: float, p: float) -> str:
    return f"{fmt(z, 2)} ({fmt(p, 3)})" if np.isfinite(z) else "undefined"


def mediation_columns(res: MediationResult, digits: int = 4, truth: dict | None = None,
                      bayes: dict | None = None) -> list[TableColumn]:
    """Table 6/7 layout: (1) total, (2) mediator, (3) outcome equation [, Bayes joint] [, truth]."""
    s, m = res.summary, res.model
    ci_name = "BCa" if s["ci_method"] == "bca" else "percentile"
    pct = int(round(100 * s["level"]))
    cols = []
    for name in EQUATIONS:
        f = res.fits[name]
        extra: dict[str, str] = {}
        if name == "total":
            extra["Total effect c"] = f"{fmt(s['total'], digits)} {fmt_ci(*s['total_ci'], digits)}"
        if name == "mediator":
            extra["a"] = f"{fmt(s['a'], digits)} ({fmt(s['se_a'], digits)})"
        if name == "outcome":
            extra.update({
                "b": f"{fmt(s['b'], digits)} ({fmt(s['se_b'], digits)})",
                "Indirect effect a·b": fmt(s["indirect"], digits + 1),
                f"a·b {pct}% bootstrap CI ({ci_name})": fmt_ci(*s["boot_ci"], digits + 1),
                **({f"a·b {pct}% credible interval": ""} if bayes is not None else {}),  # Bayes row goes here
                "Sobel z (p)": _z_cell(s["sobel_z"], s["sobel_p"]),
                "Aroian z (p)": _z_cell(s["aroian_z"], s["aroian_p"]),
                "Goodman z (p)": _z_cell(s["goodman_z"], s["goodman_p"]),
                "Direct effect c′": f"{fmt(s['direct'], digits)} {fmt_ci(*s['direct_ci'], digits)}",
                "Proportion mediated": f"{fmt(s['proportion'], 3)} {fmt_ci(*s['proportion_ci'], 3)}",
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
    """Posterior means (sds) of the outcome equation's c′ and b, and of a, a·b, the proportion."""
    g = bayes["groups"][bayes["population"]]

    def cell(q, d=digits):
        return f"{fmt(q['mean'], d)} [{fmt(q['lo'], d)}, {fmt(q['hi'], d)}]"

    extra = {
        "a": f"{fmt(g['a']['mean'], digits)} ({fmt(g['a']['sd'], digits)})",
        "b": f"{fmt(g['b']['mean'], digits)} ({fmt(g['b']['sd'], digits)})",
        "Indirect effect a·b": fmt(g["indirect"]["mean"], digits + 1),
        f"a·b {pct}% credible interval": fmt_ci(g["indirect"]["lo"], g["indirect"]["hi"], digits + 1),
        "Direct effect c′": cell(g["direct"]),
        "Proportion mediated": cell(g["proportion"], 3),
        "P(a·b > 0)": fmt(g["p_indirect_positive"], 3),
    }
    values = {m.x: g["direct"]["mean"], m.mediator: g["b"]["mean"]}
    sds = {m.x: g["direct"]["sd"], m.mediator: g["b"]["sd"]}
    title = "Bayes (joint, population)" if bayes.get("hierarchical") else "Bayes (joint)"
    return values_column(values, title, sd=sds, extra=extra,
                         attrs={"vcov_type": "posterior", "n_obs": bayes["n_obs"], "fe": ",".join(m.fe)})


def run(panel: Panel, cfg: DictConfig, timings) -> AnalysisResult:
    """``model.kind=mediation``: the FE stepwise model, tests, bootstrap; Bayesian joint model
    when ``inference.kind`` is ``bayes`` or ``both``."""
    mc = cfg.model
    model = model_from_config(mc)
    level = float(mc.level)
    with timings("fit"):
        res = estimate_mediation(panel, model, n_boot=int(mc.n_boot), ci_method=str(value(mc.ci_method)),
                                 level=level, seed=int(cfg.seed))
    summary = res.summary
    truth = None
    if panel.truth is not None and getattr(panel.truth, "mediation", None) and panel.truth.mediation["name"] == model.mediator:
        t = panel.truth.mediation
        truth = {"a": float(t["a"]), "b": float(t["b"]), "controls": dict(panel.truth.controls)}
        summary["truth"] = {"a": truth["a"], "b": truth["b"], "indirect": truth["a"] * truth["b"],
                            "lag": t["lag"], "level": t["level"]}

    bayes = posterior = None
    if str(value(cfg.inference.kind)) in ("bayes", "both"):
        with timings("bayes"):
            bayes, posterior = _bayes(res, cfg)
        summary["bayes"] = bayes

    digits = int(cfg.output.digits)
    columns = mediation_columns(res, digits, truth, bayes)
    estimates = pd.concat([tidy(res.fits[n], n, level) for n in EQUATIONS], ignore_index=True)
    caption = mc.title or f"Mediation: {model.treatment} → {model.mediator} → {model.outcome}"
    unit = summary["boot_unit"]
    notes = [
        f"Core variable {model.x}" + (f" ({model.treatment} lagged {model.lag} year(s) within {panel.id})" if model.lag else "")
        + f"; the three equations share one sample of {summary['n_obs']:,} rows.",
        f"Errors cluster by {', '.join(summary['clusters']['outcome']) or 'none (HC1)'} in (1) and (3), "
        f"by {', '.join(summary['clusters']['mediator']) or 'none (HC1)'} in (2); "
        f"the bootstrap resamples {unit} ({summary['n_boot_clusters']:,} units, {summary['n_boot']:,} resamples).",
    ]
    if bayes is not None:
        caution = convergence_note(bayes.get("max_rhat"), bayes.get("divergences"))
        if caution:
            notes.append(caution)
    if truth is not None:
        notes.append("Truth: the simulation's a and b (and the outcome equation's control slopes).")
    report = "\n".join([
        f"a = {summary['a']:.5g} (se {summary['se_a']:.3g}), b = {summary['b']:.5g} (se {summary['se_b']:.3g})",
        f"indirect a·b = {summary['indirect']:.5g}, {summary['ci_method']} {int(100 * level)}% CI "
        f"[{summary['boot_ci'][0]:.5g}, {summary['boot_ci'][1]:.5g}]; Sobel z = {summary['sobel_z']:.3f} (p = {summary['sobel_p']:.3g})",
        f"direct c' = {summary['direct']:.5g}, total c = {summary['total']:.5g}, proportion mediated = {summary['proportion']:.4g}",
    ])
    return AnalysisResult(
        kind="mediation", columns=columns, caption=caption, summary=summary, estimates=estimates,
        fits={n: f.fit for n, f in res.fits.items()}, notes=notes, report=report, posterior=posterior,
    )


def _bayes(res: MediationResult, cfg: DictConfig):
    """The Bayesian joint model on the same sample; hierarchical by ``model.split_by`` groups."""
    from tradeq.analyses.groups import split_groups
    from tradeq.models.bayes.mediation import fit_mediation_bayes, mediation_summary

    inf, mc = cfg.inference, cfg.model
    raw = res.arrays["raw"]
    groups = names = None
    hierarchical = False
    if mc.split_by and bool(inf.hierarchical):
        split = split_groups(res.frame, str(mc.split_by), mc.split_levels, mc.split_cuts)
        codes = split.codes[raw["row_id"]]
        keep = codes >= 0
        if not keep.all():
            raise DataError(f"rows outside model.split_levels of {split.by!r}; the hierarchical mediation model needs every row in a group")
        groups, names, hierarchical = codes, list(split.labels), True
    mediator_rows = _mediator_cells(res, groups) if res.model.mediator_cluster else None
    dt = fit_mediation_bayes(
        raw["x"], raw["m"], raw["y"], controls=raw["W"], x2=raw["x2"], fe=raw["fe"],
        groups=groups, group_names=names, hierarchical=hierarchical, mediator_rows=mediator_rows,
        draws=int(inf.draws), tune=int(inf.tune), chains=int(inf.chains), seed=int(cfg.seed),
        control_names=raw["control_names"], backend=str(value(inf.backend)),
    )
    summary = mediation_summary(dt, level=float(mc.level))
    summary["n_obs"] = int(raw["y"].shape[0])
    return summary, dt


def _mediator_cells(res: MediationResult, groups) -> dict:
    """The mediator equation on its own level: one row per (mediator_cluster, year) cell, with
    that level's and year FE (see :func:`tradeq.models.bayes.mediation.build_mediation_design`).

    A mediator measured by province-year takes one value per cell, and so does the lagged
    provincial core variable; the cell means are then exact. Firm-level controls have no
    place in a province-year equation and are left out.
    """
    unit, time = res.model.mediator_cluster[0], res.time
    raw = res.arrays["raw"]
    cells = pd.DataFrame({"unit": res.frame[unit].to_numpy()[raw["row_id"]],
                          "time": res.frame[time].to_numpy()[raw["row_id"]], "x": raw["x"], "m": raw["m"]})
    if groups is not None:
        cells["g"] = groups
    by = cells.groupby(["unit", "time"], observed=True, sort=True)
    spread = by[["x", "m"]].std(ddof=0).max()
    if float(spread.max()) > 1e-9 * max(1.0, float(cells[["x", "m"]].abs().max().max())):
        log.warning("%s or %s varies within %s-%s cells; the Bayesian mediator equation uses cell means",
                    res.model.x, res.model.mediator, unit, time)
    agg = by.agg(x=("x", "mean"), m=("m", "mean"), **({"g": ("g", "first"), "g_n": ("g", "nunique")} if groups is not None else {}))
    agg = agg.reset_index()
    if groups is not None and int(agg["g_n"].max()) > 1:
        raise DataError(f"the groups vary within {unit}-{time} cells, so a {unit}-level mediator equation cannot have "
                        "group-specific paths; group by a variable constant within each cell (e.g. region)")
    fe = np.column_stack([pd.factorize(agg["unit"])[0], pd.factorize(agg["time"])[0]]).astype(np.int32)
    return {"x": agg["x"].to_numpy(float), "m": agg["m"].to_numpy(float), "fe": fe,
            "groups": agg["g"].to_numpy(np.int64) if groups is not None else None}
