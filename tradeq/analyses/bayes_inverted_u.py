"""The Bayesian version of a fixed-effects inverted-U model (``inference=bayes|both``).

Fits :func:`tradeq.models.bayes.fit.fit_bayes` — b1_g, b2_g varying over the groups formed by
``inference.groups`` (default region × ownership), common control slopes, firm and year effects
removed exactly by the within transformation (SPEC 3) — on the same design as the FE replica,
and sets it beside OLS:

* per group, OLS intervals from the FE model with group-specific slopes (the pooled
  interaction model of :mod:`tradeq.analyses.heterogeneity`, the run's own clustered
  covariance) next to the posterior intervals — the forest plots take these precomputed
  intervals, no draws are simulated from them;
* the controls' OLS estimates from the main fit next to their posteriors.

:func:`estimate` fits and diagnoses; :func:`report_parts` gives ``posterior.nc`` (the
DataTree), the ``bayes_*.png`` plots, a markdown comparison appended to ``table.md``, the
posterior's tidy rows and the diagnostics (R-hat, bulk/tail ESS, divergences) for ``run.json``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from tradeq.analyses.bayes_options import fit_inverted_u
from tradeq.analyses.groups import Split
from tradeq.analyses.heterogeneity import interaction_names, pooled_interaction
from tradeq.errors import ConfigError, DataError
from tradeq.models.bayes.diagnostics import check_convergence, convergence, posterior_table
from tradeq.models.bayes.priors import PriorScales, default_priors
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.panel import Panel
from tradeq.specs import EstimateSpec, InferenceSpec

GROUP_SEP = " × "


def group_split(frame: pd.DataFrame, columns: list[str], where: str) -> Split:
    """Groups as the combinations of ``columns`` present in the data, labels ``"East × SOE"``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"data {where!r}: inference.groups names column(s) {missing} that the data does not have")
    if not columns:
        raise ConfigError("inference=bayes|both needs inference.groups (one or more grouping columns)")
    keys = frame[columns].astype(str).agg(GROUP_SEP.join, axis=1)
    labels, codes = np.unique(keys.to_numpy(), return_inverse=True)
    return Split(by=GROUP_SEP.join(columns), labels=tuple(map(str, labels)), codes=codes.astype(np.int64))


def model_parts(fit: FEFit, core: str) -> tuple[list[str], list[str]]:
    """(controls, FE names) of the main fit: every regressor except the core term and its square."""
    square = f"I({core} ** 2)"
    if core not in fit.x_names or square not in fit.x_names:
        raise ConfigError(f"inference=bayes|both needs the core term {core!r} and {square!r} in model.formula")
    return [t for t in fit.x_names if t not in (core, square)], list(fit.fe_names)


def priors(design: Design, core: str, controls: list[str], inference: InferenceSpec) -> tuple[PriorScales, float]:
    """Data-scaled priors from ``inference.prior`` and the curve's reference point (mean of the core term)."""
    x = design.X[:, design.x_names.index(core)]
    center = float(x.mean())
    cols = [design.x_names.index(c) for c in controls]
    p = inference.prior
    scales = default_priors(design.y, x, design.X[:, cols], center=center, control_names=tuple(controls),
                            autoscale=float(p.autoscale))
    return dataclasses.replace(scales, nu_shape=float(p.nu_shape), nu_rate=float(p.nu_rate)), center


def fit_posterior(design: Design, split: Split, core: str, controls: list[str], inference: InferenceSpec,
                  seed: int) -> xr.DataTree:
    """The posterior, every ``inference.*`` setting applied (:mod:`tradeq.analyses.bayes_options`);
    the priors are those of :func:`priors` (the controls' scales, then the group main effects')."""
    groups = split.codes[design.row_id]
    center = float(design.X[:, design.x_names.index(core)].mean())
    return fit_inverted_u(design, inference, groups=groups, group_names=list(split.labels), core=core, center=center,
                          seed=int(seed), progress=True)


def ols_group_intervals(panel: Panel, split: Split, fit: FEFit, core: str, controls: list[str],
                        level: float) -> xr.Dataset:
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
               "inverted_u[g] is P(inverted U within the group's data range). Likelihood: "
               f"{dt.attrs.get('likelihood_form', '')}.{sample_sentence(dt, fit)}")
    return "\n".join(["", caption, "", *rows, ""]) + "\n"


def sample_sentence(dt: xr.DataTree, fit: FEFit | None) -> str:
    """Why the posterior's N can exceed the FE table's: the FE fit drops singleton rows, the
    posterior's design keeps them (each adds one row and one absorbed level, so n − rank(D) and
    the likelihood are unchanged: :mod:`tradeq.models.bayes.design`)."""
    if fit is None or "constant_data" not in dt.children or "n" not in dt["constant_data"]:
        return ""
    n_post = int(dt["constant_data"]["n"].values)
    if n_post == int(fit.n_obs):
        return ""
    return (f" The posterior's design has {n_post:,} rows, the FE columns {int(fit.n_obs):,}: the "
            f"{n_post - int(fit.n_obs):,} singleton rows the FE fit drops add one row and one fixed-effect "
            "level each to the posterior's design, so they change neither its likelihood nor its estimates.")


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


@dataclass(frozen=True)
class BayesInvertedU:
    """The posterior (``tree``), the OLS group intervals beside it (dims ``group`` × ``stat``),
    its convergence diagnostics, the groups and the common controls."""

    tree: xr.DataTree
    ols: xr.Dataset
    diagnostics: dict
    groups: tuple[str, ...]
    controls: tuple[str, ...]


@dataclass(frozen=True)
class BayesParts:
    """What the Bayesian fit adds to a run: the comparison table, tidy rows, files, run record."""

    markdown: str
    tidy: pd.DataFrame
    files: dict
    record: dict


def estimate(panel: Panel, design: Design, fit: FEFit, spec: EstimateSpec) -> BayesInvertedU:
    """Fit and diagnose the hierarchical inverted U of an FE model (``model.utest`` names its core)."""
    core = str(spec.model.utest or "")
    if not core:
        raise ConfigError("inference=bayes|both needs model.utest=<core variable> (its square must be in the formula)")
    level = float(spec.model.level)
    controls, _ = model_parts(fit, core)
    split = group_split(panel.frame, list(spec.inference.groups), panel.source)
    dt = fit_posterior(design, split, core, controls, spec.inference, spec.seed)
    diag = diagnostics(dt, bool(spec.inference.fail_on_warning))
    ols = ols_group_intervals(panel, split, fit, core, controls, level)
    return BayesInvertedU(dt, ols, diag, tuple(split.labels), tuple(controls))


def report_parts(b: BayesInvertedU, spec: EstimateSpec, fit: FEFit | None) -> BayesParts:
    from tradeq.report import bayes_plots

    level, inf, dt = float(spec.model.level), spec.inference, b.tree
    files: dict = {"posterior.nc": dt}
    if spec.output.plots:
        files.update({
            "bayes_forest_b1.png": lambda path: bayes_plots.plot_group_forest(dt, "b1", b.ols, path, level),
            "bayes_forest_b2.png": lambda path: bayes_plots.plot_group_forest(dt, "b2", b.ols, path, level),
            "bayes_curves.png": lambda path: bayes_plots.plot_group_curves(dt, path, level),
            "bayes_trace.png": lambda path: bayes_plots.plot_trace(dt, path),
            "bayes_rank.png": lambda path: bayes_plots.plot_rank(dt, path),
        })
    d = b.diagnostics
    record = {"groups": list(b.groups), "backend": str(inf.backend), "draws": int(inf.draws), "tune": int(inf.tune),
              "chains": int(inf.chains), "likelihood": str(inf.likelihood),
              "likelihood_form": dt.attrs.get("likelihood_form"), "max_rhat": d["max_rhat"], "divergences": d["divergences"],
              "min_ess_bulk": d["min_ess_bulk"], "min_ess_tail": d["min_ess_tail"], "rhat": d["rhat"],
              "ess_bulk": d["ess_bulk"], "ess_tail": d["ess_tail"],
              "plots": [n for n in files if n.endswith(".png")]}
    return BayesParts(markdown=comparison_markdown(dt, b.ols, fit, list(b.controls), level),
                      tidy=posterior_tidy(dt, str(spec.model.name), level), files=files, record=record)
