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
equations keep the quadratic term (``quadratic``; the paper's Tables 6–7 set it, the generic
default is linear). The effects are :mod:`tradeq.models.mediation_effects`' average marginal
effects over the sample — with the square, a coefficient on x is the slope at x = 0, far outside
the data, so they are evaluated at the sample mean x̄: indirect ``a·b``, direct ``c' + 2g·x̄``,
total = direct + indirect, proportion mediated indirect / total (undefined, with the reason,
when the total's interval covers zero). Equation (1)'s own average marginal effect
``c + 2c2·x̄`` is reported on its own row, outside the decomposition; without the square it
equals the total exactly on the common sample (the OLS identity ``c = c' + a·b``).

Tests of ``a·b = 0``: Sobel (1982), Aroian (1947), Goodman (1960) from ``a``, ``b`` and
their clustered standard errors (:mod:`tradeq.models.mediation`); a cluster bootstrap of every quantity
(resample clusters, not rows; each replicate's effects at its own resample's x̄) with BCa or
percentile intervals (Efron 1987); an undefined BCa interval falls back to the percentile one,
and the summary says which method each interval used and why.

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
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tradeq.analyses.common import (
    AnalysisResult,
    Fitted,
    convergence_note,
    fit_spec,
    square_name,
    tidy,
    value,
)
from tradeq.analyses.mediation_model import (
    MediationModel,
    MediationResult,
    check_square,
    mediation_sample,
    model_from_config,
)
from tradeq.analyses.mediation_table import EQUATIONS, mediation_columns, mediation_report
from tradeq.errors import ConfigError, DataError
from tradeq.models.mediation import MediationBootstrap, aroian, bootstrap_indirect, goodman, sobel
from tradeq.models.mediation_effects import mediation_effects, proportion_mediated, reduced_form_total
from tradeq.models.singletons import drop_singletons
from tradeq.models.within import within_transform
from tradeq.panel import Panel

if TYPE_CHECKING:
    from tradeq.specs import EstimateSpec

log = logging.getLogger("tradeq")



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


def _ame_se(fit, x: str, sq: str | None, x_mean: float) -> float:
    """Clustered SE of ``coef[x] + 2·coef[x²]·x̄`` (delta method, exact for a linear combination)."""
    i = fit.index(x)
    if sq is None:
        return float(fit.se[i])
    j = fit.index(sq)
    grad = np.zeros(len(fit.coef))
    grad[i], grad[j] = 1.0, 2.0 * x_mean
    return float(np.sqrt(grad @ fit.vcov @ grad))


def _fe_effects(fits: dict[str, Fitted], model: MediationModel, x_mean: float) -> dict:
    """Paths and effects from the FE fits (:mod:`tradeq.models.mediation_effects`), with SEs."""
    fm, fo, ft = fits["mediator"].fit, fits["outcome"].fit, fits["total"].fit
    x, sq = model.x, square_name(model.x) if model.quadratic else None
    ia, ib = fm.index(x), fo.index(model.mediator)
    a, b = float(fm.coef[ia]), float(fo.coef[ib])
    c_prime, c = float(fo.coef[fo.index(x)]), float(ft.coef[ft.index(x)])
    g = float(fo.coef[fo.index(sq)]) if sq else 0.0
    c2 = float(ft.coef[ft.index(sq)]) if sq else 0.0
    eff = mediation_effects(a, b, c_prime, g, x_mean)
    return {
        "a": a, "se_a": float(fm.se[ia]), "b": b, "se_b": float(fo.se[ib]),
        "c_prime": c_prime, "g": g, "c": c, "c2": c2,
        "indirect": float(eff["indirect"]), "direct": float(eff["direct"]), "se_direct": _ame_se(fo, x, sq, x_mean),
        "total": float(eff["total"]),
        "total_eq1": float(reduced_form_total(c, c2, x_mean)), "se_total_eq1": _ame_se(ft, x, sq, x_mean),
    }


def _bootstrap(sample: Panel, model: MediationModel, arrays: dict, n_boot: int, seed: int) -> MediationBootstrap:
    """The cluster bootstrap on the fixed demeaned design, resampling :attr:`MediationModel.boot_unit`."""
    dm, raw = arrays["demeaned"], arrays["raw"]
    unit, frame = model.boot_unit, sample.frame
    if unit is None:
        labels = np.arange(dm["y"].shape[0])
    else:
        labels = frame[unit].to_numpy()[raw["row_id"]]
        inner = model.cluster[0] if model.cluster else None
        if inner and inner != unit and not _nested(frame, inner, unit):
            log.warning("%s is not nested in %s: resampling %s splits some %s across resamples",
                        inner, unit, unit, inner)
    if model.m_fe != tuple(model.fe):  # the mediator equation has its own FE (tradeq.analyses.mediation_fe)
        from tradeq.analyses.mediation_fe import bootstrap_with_mediator_fe

        return bootstrap_with_mediator_fe(frame, raw, model.fe, model.m_fe, labels, n_boot=n_boot, key=int(seed))
    return bootstrap_indirect(
        dm["x"], dm["m"], dm["y"], labels, controls=dm["W"] if dm["W"].shape[1] else None,
        x2=dm["x2"], x_raw=raw["x"], add_intercept=not model.fe, n_boot=int(n_boot), key=int(seed),
        jackknife=True,
    )


def estimate_mediation(
    panel: Panel,
    model: MediationModel,
    *,
    n_boot: int = 2000,
    ci_method: str = "bca",
    level: float = 0.95,
    seed: int = 0,
) -> MediationResult:
    """Fit the three equations, test ``a·b`` and bootstrap the effects (see the module docstring).

    Returns a :class:`MediationResult` whose ``summary`` holds the paths ``a``, ``b`` (and
    the coefficients ``c_prime``, ``g``, ``c``, ``c2``), the effects ``indirect``,
    ``direct``, ``total`` (= direct + indirect) and ``total_eq1`` (equation (1)'s own), all
    average marginal effects at ``x_mean`` (``effects_at`` says so), ``proportion`` (None
    with ``proportion_undefined`` the reason when the total is not distinguishable from
    zero), clustered SEs, ``sobel_z``/``sobel_p`` (and Aroian, Goodman), ``boot_ci`` and
    ``<name>_ci`` (the ``ci_method`` intervals), ``ci_methods`` (the method each interval
    used), ``ci_notes`` (why one fell back), ``n_boot`` and the resampled unit.
    """
    sample = mediation_sample(panel, model)
    check_square(sample.frame, model)
    fits = {name: fit_spec(sample, spec, level) for name, spec in model.specs().items()}
    for name, f in fits.items():
        if model.x not in f.fit.x_names:
            raise DataError(f"the {name} equation dropped {model.x!r} as collinear with the fixed effects")
    ns = {name: f.fit.n_obs for name, f in fits.items()}
    if len(set(ns.values())) != 1:  # cannot happen on one complete-case sample; guard the identity
        raise RuntimeError(f"the three equations ended on different samples: {ns}")
    arrays = _demeaned_arrays(fits["outcome"], model)
    x_mean = float(np.mean(arrays["raw"]["x"]))
    fe = _fe_effects(fits, model, x_mean)
    boot = _bootstrap(sample, model, arrays, n_boot, seed)
    for name in ("a", "b", "direct", "total_eq1"):
        if not np.isclose(boot.estimate[name], fe[name], rtol=1e-6, atol=1e-10):
            raise RuntimeError(f"bootstrap design disagrees with the FE fits: {name} {boot.estimate[name]} vs {fe[name]}")
    summary = _summary(model, fits, fe, boot, x_mean, n_boot, ci_method, level)
    return MediationResult(model, fits, summary, boot, arrays, sample.frame, panel.time)


def _summary(model, fits, fe, boot, x_mean, n_boot, ci_method, level) -> dict:
    """The JSON summary (see :func:`estimate_mediation`)."""
    a, sa, b, sb = fe["a"], fe["se_a"], fe["b"], fe["se_b"]
    sz, sp = sobel(a, sa, b, sb)
    az_, ap = aroian(a, sa, b, sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Goodman undefined → NaN, reported as such
        gz, gp = goodman(a, sa, b, sb)
    method = "bca" if ci_method == "bca" else "percentile"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        boot_summary = boot.summary(level, method)
    iv = {name: q["interval"] for name, q in boot_summary["quantities"].items()}
    total_lo, total_hi = (math.nan if v is None else v for v in iv["total"]["bounds"])
    proportion, why = proportion_mediated(fe["indirect"], fe["total"], total_lo, total_hi)
    fo = fits["outcome"].fit
    return {
        "outcome": model.outcome, "treatment": model.treatment, "core_variable": model.x,
        "mediator": model.mediator, "lag": model.lag, "controls": list(model.controls), "fe": list(model.fe),
        "quadratic": model.quadratic, "x_mean": x_mean, "mediator_fe": list(model.m_fe),
        "effects_at": f"average marginal effects over the sample (= at the mean of {model.x}, {x_mean:.3f})",
        **fe,
        "proportion": proportion if why is None else None, "proportion_undefined": why,
        "sobel_z": sz, "sobel_p": sp, "aroian_z": az_, "aroian_p": ap, "goodman_z": gz, "goodman_p": gp,
        "boot_ci": iv["indirect"]["bounds"], "ci_method": method, "level": level,
        **{f"{name}_ci": v["bounds"] for name, v in iv.items()},
        "ci_methods": {name: v["method"] for name, v in iv.items()},
        "ci_notes": {name: v["note"] for name, v in iv.items() if v["note"]},
        "boot_se_indirect": boot_summary["quantities"]["indirect"]["se"],
        "n_boot": int(n_boot), "boot_unit": model.boot_unit or "rows", "n_boot_clusters": boot.n_clusters,
        "clusters": {"total": list(fits["total"].spec.cluster), "mediator": list(fits["mediator"].spec.cluster),
                     "outcome": list(fits["outcome"].spec.cluster)},
        "vcov": {name: f.fit.vcov_type for name, f in fits.items()},
        "n_obs": fo.n_obs,
        "bootstrap": boot_summary,
    }


def run(panel: Panel, cfg: EstimateSpec, timings) -> AnalysisResult:
    """``model.kind=mediation``: the FE stepwise model, tests, bootstrap; Bayesian joint model
    when ``inference.kind`` is ``bayes`` or ``both``."""
    mc = cfg.model
    model = model_from_config(mc)
    level = float(mc.level)
    with timings("fit"):
        res = estimate_mediation(panel, model, n_boot=int(mc.n_boot), ci_method=str(value(mc.ci_method)),
                                 level=level, seed=int(cfg.seed))
    summary = res.summary
    truth = _truth(panel, model, summary)

    bayes = posterior = None
    if str(value(cfg.inference.kind)) in ("bayes", "both"):
        if model.m_fe != tuple(model.fe):
            raise ConfigError("model.mediator_fe: the Bayesian joint model has one set of fixed effects; "
                              "use inference=fe with a mediator equation of its own fixed effects")
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
        f"Effects: {summary['effects_at']}; total = direct + indirect; "
        "total effect, eq. (1) is the total equation's own, outside the decomposition.",
        *([f"The mediator equation (2) has fixed effects {', '.join(model.m_fe) or 'none'}, equations (1) and (3) "
           f"{', '.join(model.fe) or 'none'}, as the paper writes them; with different fixed effects "
           "total = direct + indirect need not equal eq. (1)'s own total."] if model.m_fe != tuple(model.fe) else []),
        *(f"{name}: {note}." for name, note in summary["ci_notes"].items()),
    ]
    if bayes is not None:
        caution = convergence_note(bayes.get("max_rhat"), bayes.get("divergences"))
        if caution:
            notes.append(caution)
    if truth is not None:
        notes.append("Truth: the simulation's a and b (and the outcome equation's control slopes).")
    return AnalysisResult(
        kind="mediation", columns=columns, caption=caption, summary=summary, estimates=estimates,
        fits={n: f.fit for n, f in res.fits.items()}, notes=notes, report=mediation_report(summary),
        posterior=posterior,
    )


def _truth(panel: Panel, model: MediationModel, summary: dict) -> dict | None:
    """The simulation's a and b of this mediator (firm panel: one mediator; province panel:
    ``truth.mediation`` by name), written into ``summary["truth"]``."""
    t = getattr(panel.truth, "mediation", None) if panel.truth is not None else None
    if not t:
        return None
    if "name" in t:  # the firm panel's one mediator
        if t["name"] != model.mediator:
            return None
        extra = {"lag": t["lag"], "level": t["level"]}
    elif model.mediator in t:  # the province panel: mediator name -> {a, b, indirect}
        t, extra = t[model.mediator], {}
    else:
        return None
    truth = {"a": float(t["a"]), "b": float(t["b"]), "controls": dict(panel.truth.controls)}
    summary["truth"] = {"a": truth["a"], "b": truth["b"], "indirect": truth["a"] * truth["b"], **extra}
    return truth


def _bayes(res: MediationResult, cfg: EstimateSpec):
    """The Bayesian joint model on the same sample; hierarchical by ``model.split_by`` groups."""
    from tradeq.analyses.bayes_options import mediation_options
    from tradeq.analyses.groups import split_groups
    from tradeq.models.bayes.mediation import fit_mediation_bayes, mediation_summary

    inf, mc = cfg.inference, cfg.model
    options = mediation_options(inf)
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
        groups=groups, group_names=names, mediator_rows=mediator_rows, seed=int(cfg.seed),
        control_names=raw["control_names"], **(options | {"hierarchical": hierarchical}),
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
