"""The Bayesian version of a fixed-effects inverted-U model (``inference=bayes|both``).

Fits :func:`tradeq.models.bayes.fit.fit_bayes` — b1_g, b2_g varying over the groups formed by
``model.groups`` (default region × ownership), common control slopes, firm and year effects
removed exactly by the within transformation (SPEC 3) — on the same design as the FE replica,
and sets it beside OLS:

* per group, OLS intervals from the FE model with group-specific slopes (the pooled
  interaction model of :mod:`tradeq.analyses.heterogeneity`, the run's own clustered
  covariance) next to the posterior intervals — the forest plots take these precomputed
  intervals, no draws are simulated from them;
* the controls' OLS estimates from the main fit next to their posteriors.

Outputs: ``posterior.nc`` (the DataTree), ``bayes_*.png`` plots, a markdown comparison
appended to ``table.md``, and diagnostics (R-hat, bulk/tail ESS, divergences) for ``run.json``.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import DictConfig

from tradeq.analyses.common import value
from tradeq.analyses.groups import Split
from tradeq.analyses.heterogeneity import interaction_names, pooled_interaction
from tradeq.errors import ConfigError, DataError
from tradeq.models.bayes.diagnostics import check_convergence, convergence, posterior_table
from tradeq.models.bayes.fit import fit_bayes
from tradeq.models.bayes.priors import PriorScales, default_priors
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.panel import Panel

GROUP_SEP = " × "


def group_split(frame: pd.DataFrame, columns: list[str], where: str) -> Split:
    """Groups as the combinations of ``columns`` present in the data, labels ``"East × SOE"``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"data {where!r}: model.groups names column(s) {missing} that the data does not have")
    if not columns:
        raise ConfigError("inference=bayes|both needs model.groups (one or more grouping columns)")
    keys = frame[columns].astype(str).agg(GROUP_SEP.join, axis=1)
    labels, codes = np.unique(keys.to_numpy(), return_inverse=True)
    return Split(by=GROUP_SEP.join(columns), labels=tuple(map(str, labels)), codes=codes.astype(np.int64))


def model_parts(fit: FEFit, core: str) -> tuple[list[str], list[str]]:
    """(controls, FE names) of the main fit: every regressor except the core term and its square."""
    square = f"I({core} ** 2)"
    if core not in fit.x_names or square not in fit.x_names:
        raise ConfigError(f"inference=bayes|both needs the core term {core!r} and {square!r} in model.formula")
    return [t for t in fit.x_names if t not in (core, square)], list(fit.fe_names)


def priors(design: Design, core: str, controls: list[str], cfg: DictConfig) -> tuple[PriorScales, float]:
    """Data-scaled priors from ``inference.prior`` and the curve's reference point (mean of the core term)."""
    x = design.X[:, design.x_names.index(core)]
    center = float(x.mean())
    cols = [design.x_names.index(c) for c in controls]
    p = cfg.inference.prior
    scales = default_priors(design.y, x, design.X[:, cols], center=center, control_names=tuple(controls),
                            autoscale=float(p.autoscale))
    return dataclasses.replace(scales, nu_shape=float(p.nu_shape), nu_rate=float(p.nu_rate)), center


def fit_posterior(design: Design, split: Split, core: str, controls: list[str], cfg: DictConfig) -> xr.DataTree:
    inf = cfg.inference
    groups = split.codes[design.row_id]
    prior, center = priors(design, core, controls, cfg)
    return fit_bayes(
        design, groups=groups, group_names=list(split.labels), core=core, prior=prior, center=center,
        backend=str(value(inf.backend)), hierarchical=bool(inf.hierarchical),
        likelihood=str(value(inf.likelihood)), draws=int(inf.draws), tune=int(inf.tune),
        chains=int(inf.chains), collapse=bool(inf.collapse), seed=int(cfg.seed), progress=True,
    )


def ols_group_intervals(panel: Panel, split: Split, fit: FEFit, core: str, controls: list[str],
                        cfg: DictConfig, level: float) -> xr.Dataset:
    """OLS b1_g, b2_g with intervals from the FE model with group-specific slopes (dims group × stat)."""
    vcov = fit.vcov_type
    g = pooled_interaction(panel, split, fit.y_name, core, controls, list(fit.fe_names), vcov,
                           list(fit.cluster_names), level)
    lin, sq = interaction_names(core, len(split.labels))
    ci = g.fit.conf_int(level)
    out = {}
    for name, terms in (("b1", lin), ("b2", sq)):
        idx = [g.fit.index(t) for t in terms]
        out[name] = (("group", "stat"), np.column_stack([g.fit.coef[idx], ci[idx, 0], ci[idx, 1]]))
    return xr.Dataset(out, coords={"group": list(split.labels), "stat": ["estimate", "lower", "upper"]})


def _fmt(v: float) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.4f}"


def comparison_markdown(dt: xr.DataTree, ols: xr.Dataset, fit: FEFit | None, controls: list[str], level: float) -> str:
    """Posterior mean, sd and interval beside the OLS estimate and interval, parameter by parameter."""
    post = posterior_table(dt, prob=level)
    pct = int(round(100 * level))
    rows = [f"| parameter | OLS estimate | OLS {pct}% CI | posterior mean | posterior sd | {pct}% interval |",
            "|:---|---:|:---:|---:|---:|:---:|"]

    def add(name: str, ols_est=np.nan, ols_lo=np.nan, ols_hi=np.nan):
        if name not in post.index:
            return
        r = post.loc[name]
        ols_ci = f"[{_fmt(ols_lo)}, {_fmt(ols_hi)}]" if np.isfinite(ols_lo) else ""
        rows.append(f"| {name} | {_fmt(ols_est)} | {ols_ci} | {_fmt(r['mean'])} | {_fmt(r['sd'])} | "
                    f"[{_fmt(r['eti_lower'])}, {_fmt(r['eti_upper'])}] |")

    for var in ("b1", "b2"):
        for grp in ols["group"].values:
            e, lo, hi = ols[var].sel(group=grp).values
            add(f"{var}[{grp}]", e, lo, hi)
    if fit is not None:
        ci = fit.conf_int(level)
        for c in controls:
            i = fit.index(c)
            add(f"beta[{c}]", fit.coef[i], ci[i, 0], ci[i, 1])
    for name in post.index:
        if name.split("[")[0] in ("mu_b1", "mu_b2", "mu_slope", "tau_b1", "tau_b2", "tau_slope", "sigma", "nu",
                                  "mu_turning_point", "turning_point", "inverted_u"):
            add(name)
    caption = (f"**Posterior beside OLS** ({dt.attrs.get('model', 'hierarchical inverted U')}, "
               f"backend {dt.attrs.get('backend', '')}): OLS per group from the FE model with group-specific "
               "slopes and the run's covariance; posterior intervals equal-tailed. The posterior mean of "
               "inverted_u[g] is P(inverted U within the group's data range).")
    return "\n".join(["", caption, "", *rows, ""]) + "\n"


def posterior_tidy(dt: xr.DataTree, model_name: str, level: float) -> pd.DataFrame:
    post = posterior_table(dt, prob=level)
    return pd.DataFrame({
        "model": model_name, "term": post.index, "estimate": post["mean"].to_numpy(),
        "std_error": post["sd"].to_numpy(), "statistic": np.nan, "p_value": np.nan,
        "conf_low": post["eti_lower"].to_numpy(), "conf_high": post["eti_upper"].to_numpy(),
        "n_obs": int(dt["constant_data"]["n"].values) if "constant_data" in dt.children else np.nan,
        "n_clusters": "", "vcov": "posterior", "method": "bayes",
    })


def diagnostics(dt: xr.DataTree, fail: bool, rhat_max: float = 1.01) -> dict:
    """R-hat, ESS and divergences; warns (or raises, with ``inference.fail_on_warning``) naming parameters."""
    diag = convergence(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        check_convergence(diag, rhat_max=rhat_max, raise_error=fail)
    return diag


def run(panel: Panel, design: Design, fit: FEFit, cfg: DictConfig, run_dir: Path) -> dict:
    """Fit, diagnose, plot; return what ``estimate.py`` writes (tree, tables, record)."""
    from tradeq.report import bayes_plots

    core = str(cfg.model.utest or "")
    if not core:
        raise ConfigError("inference=bayes|both needs model.utest=<core variable> (its square must be in the formula)")
    level = float(cfg.model.level)
    controls, _ = model_parts(fit, core)
    split = group_split(panel.frame, [str(c) for c in cfg.model.groups], panel.source)
    dt = fit_posterior(design, split, core, controls, cfg)
    diag = diagnostics(dt, bool(cfg.inference.fail_on_warning))
    ols = ols_group_intervals(panel, split, fit, core, controls, cfg, level)
    plots = [p.name for p in bayes_plots.save_all(dt, run_dir, ols=ols, prob=level)] if cfg.output.plots else []
    return {
        "tree": dt,
        "markdown": comparison_markdown(dt, ols, fit, controls, level),
        "tidy": posterior_tidy(dt, str(cfg.model.name), level),
        "record": {"groups": list(split.labels), "backend": str(value(cfg.inference.backend)),
                   "draws": int(cfg.inference.draws), "tune": int(cfg.inference.tune),
                   "chains": int(cfg.inference.chains), "max_rhat": diag["max_rhat"],
                   "divergences": diag["divergences"], "min_ess_bulk": diag["min_ess_bulk"],
                   "min_ess_tail": diag["min_ess_tail"], "rhat": diag["rhat"], "ess_bulk": diag["ess_bulk"],
                   "ess_tail": diag["ess_tail"], "plots": plots},
    }
