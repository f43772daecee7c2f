"""``model=clusters_bayes``: the IC slope partially pooled over region × period (the cluster papers'
Table 3 regions and the 2017 shock in one hierarchical model, :mod:`tradeq.models.bayes.region_period`).

The design is the formula's (province and year effects removed exactly, controls with common
slopes); beside the posterior sits the FE model with cell-specific slopes
``TU ~ IC:cell + controls | province + year`` (the FE replica, the run's clustered covariance):
its estimates, and its intervals for each contrast ``w'b`` from ``w' V w``. Files: ``posterior.nc``
(DataTree with ``region``, ``period`` coordinates), ``estimates.csv`` (OLS and posterior rows, the
truth on simulated data), ``clusters_bayes.json``, ``bayes_forest_slopes.png`` and
``bayes_forest_contrasts.png``; ``table.md`` gains the comparison table and the note on what the
Central region's provinces can say.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from tradeq import pipeline
from tradeq.analyses import few_clusters
from tradeq.errors import ConfigError, DataError
from tradeq.models.bayes.design import interact
from tradeq.models.bayes.diagnostics import convergence
from tradeq.models.bayes.priors import default_priors
from tradeq.models.bayes.region_period import RegionPeriodPrior, checked_params, effect_structure, fit_region_period
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.fixed_effects import fit_fe
from tradeq.panel import Panel
from tradeq.specs import EstimateSpec, InferenceSpec


@dataclass(frozen=True)
class ClustersBayesResult:
    """The posterior, the FE cell-slope fit, the comparison table (one row per cell slope and
    contrast), the diagnostics and the clusters per region."""

    tree: xr.DataTree
    fit: FEFit
    table: pd.DataFrame
    diagnostics: dict
    clusters_per_region: dict[str, int]


def check_inference(inf: InferenceSpec) -> None:
    """The settings of ``inference`` this model honours; anything else is one ``error:`` line."""
    if not inf.bayes:
        raise ConfigError("model=clusters_bayes is a Bayesian model: run it with inference=bayes or inference=both")
    default = InferenceSpec(kind=inf.kind)
    for key, why in (("backend", "it samples with NumPyro"), ("likelihood", "its likelihood is normal"),
                     ("hierarchical", "it is hierarchical"), ("groups", "its groups are model.region × model.period"),
                     ("collapse", "it always integrates the effects out")):
        if getattr(inf, key) != getattr(default, key):
            raise ConfigError(f"inference.{key}={getattr(inf, key)!s}: model=clusters_bayes does not take it ({why})")


def level_codes(frame: pd.DataFrame, column: str, levels, key: str, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Int codes of ``column`` into ``levels`` (default: its sorted values); unknown values are an error."""
    if column not in frame.columns:
        raise DataError(f"data {where!r}: model.{key}={column!r} is not a column")
    text = frame[column].astype(str).to_numpy()
    levels = tuple(sorted(set(text))) if levels is None else tuple(str(v) for v in levels)
    unknown = sorted(set(text) - set(levels))
    if unknown:
        raise DataError(f"data {where!r}: column {column!r} has values {unknown} outside model.{key}_levels={list(levels)}")
    index = {v: i for i, v in enumerate(levels)}
    return np.array([index[v] for v in text], dtype=np.int64), levels


def priors(design: Design, core: str, spec, inf: InferenceSpec) -> RegionPeriodPrior:
    """Autoscaled scales (:func:`tradeq.models.bayes.priors.default_priors`): mu at the slope's
    scale, every tau at ``model.tau_scale`` times it, the controls' and sigma's as the firm model."""
    x = design.X[:, design.x_names.index(core)]
    controls = [j for j, t in enumerate(design.x_names) if t not in (core, "Intercept")]
    s = default_priors(design.y, x, design.X[:, controls], center=float(x.mean()),
                       control_names=tuple(design.x_names[j] for j in controls), autoscale=float(inf.prior.autoscale))
    n_tau = len(effect_structure(1, 1, str(spec.pooling))[1])
    return RegionPeriodPrior(mu=s.slope, tau=(float(spec.tau_scale) * s.slope,) * n_tau, beta=s.beta, sigma=s.sigma)


def cell_fit(design: Design, core: str, groups: np.ndarray, names: list[str], vcov: str) -> FEFit:
    """The FE replica on the design with ``core`` replaced by its cell interactions."""
    j = design.x_names.index(core)
    X = np.column_stack([interact(design.X[:, j], groups, len(names)), np.delete(design.X, j, axis=1)])
    x_names = (*names, *(t for t in design.x_names if t != core))
    fit = fit_fe(dataclasses.replace(design, X=X, x_names=x_names), vcov=vcov)
    dropped = [n for n in names if n in fit.dropped_collinear]
    if dropped:
        raise DataError(f"the cell slopes {dropped} are not identified after the fixed effects (no variation in the cell)")
    return fit


def ols_rows(fit: FEFit, names: list[str], weights: np.ndarray, level: float) -> pd.DataFrame:
    """OLS estimate, SE and ``level`` interval of each cell slope and each contrast w'b (t(df))."""
    idx = [fit.index(n) for n in names]
    W = np.vstack([np.eye(len(names)), weights])
    est = W @ fit.coef[idx]
    se = np.sqrt(np.einsum("ij,jk,ik->i", W, fit.vcov[np.ix_(idx, idx)], W))
    q = stats.t.ppf(0.5 + level / 2, fit.df_t)
    return pd.DataFrame({"ols_estimate": est, "ols_se": se, "ols_low": est - q * se, "ols_high": est + q * se})


def cell_truth(truth, regions, periods) -> np.ndarray | None:
    """The simulator's slope of each cell (region:period, region, period or common), or None."""
    if truth is None or not hasattr(truth, "ic_total"):
        return None
    total = truth.ic_total
    keys = [next((k for k in (f"{r}:{q}", r, q, "all") if k in total), None) for r in regions for q in periods]
    return None if None in keys else np.array([total[k] for k in keys])


def comparison_table(dt: xr.DataTree, fit: FEFit, names: list[str], truth: np.ndarray | None, level: float) -> pd.DataFrame:
    """One row per cell slope and contrast: posterior mean, sd, interval, prior sd; OLS; truth."""
    post, prior = dt["posterior"].to_dataset(), dt["prior"].to_dataset()
    weights = dt["constant_data"]["contrast_weights"].values.reshape(-1, len(names))
    labels = [n.split(":", 1)[1].replace(":", ", ") for n in names] + list(post["comparison"].values)

    def flat(ds):
        cells = ds["slope"].stack(cell=("region", "period")).transpose("chain", "draw", "cell").values
        return np.concatenate([cells, ds["contrast"].values], axis=-1).reshape(-1, len(labels))

    draws, prior_draws = flat(post), flat(prior)
    alpha = (1 - level) / 2
    table = pd.DataFrame({
        "kind": ["slope"] * len(names) + ["contrast"] * weights.shape[0], "quantity": labels,
        "mean": draws.mean(0), "sd": draws.std(0, ddof=1), "low": np.quantile(draws, alpha, axis=0),
        "high": np.quantile(draws, 1 - alpha, axis=0), "prior_sd": prior_draws.std(0, ddof=1),
        "p_positive": (draws > 0).mean(0)})
    table = pd.concat([table, ols_rows(fit, names, weights, level)], axis=1)
    table["truth"] = np.nan if truth is None else np.concatenate([truth, weights @ truth])
    return table


def estimate(spec: EstimateSpec, panel: Panel, timings) -> ClustersBayesResult:
    model, inf = spec.model, spec.inference
    check_inference(inf)
    panel = few_clusters.subsample(panel, model.sample)
    with timings("design"):
        design = pipeline.build_design(panel, model)
    core = str(model.core)
    if core not in design.x_names:
        raise ConfigError(f"model.core={core!r} is not a regressor of model.formula; its regressors are {list(design.x_names)}")
    frame = panel.frame.iloc[design.row_id]
    region, regions = level_codes(frame, model.region, model.region_levels, "region", panel.source)
    period, periods = level_codes(frame, model.period, model.period_levels, "period", panel.source)
    with timings("bayes"):
        try:
            dt = fit_region_period(design, core=core, region=region, period=period, regions=regions, periods=periods,
                                   prior=priors(design, core, model, inf), pooling=str(model.pooling),
                                   draws=int(inf.draws), tune=int(inf.tune), chains=int(inf.chains), seed=int(spec.seed),
                                   target_accept=float(inf.target_accept or 0.95), progress=False,
                                   raise_on_fail=bool(inf.fail_on_warning))
        except ValueError as err:
            raise DataError(f"data {panel.source!r}, model=clusters_bayes: {err}") from None
    diag = convergence(dt, var_names=checked_params(str(model.pooling)))  # fit_region_period warned (or raised)
    names = [f"{core}:{r}:{q}" for r in regions for q in periods]
    with timings("fit"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # main effects absorbed by the FE are reported by the fit itself
        fit = cell_fit(design, core, region * len(periods) + period, names, str(model.vcov))
    table = comparison_table(dt, fit, names, cell_truth(panel.truth, regions, periods), float(model.level))
    ids = frame[panel.id] if panel.id in frame.columns else frame.index.to_series()
    per_region = {r: int(ids[region == i].nunique()) for i, r in enumerate(regions)}
    return ClustersBayesResult(dt, fit, table, diag, per_region)


def report(result: ClustersBayesResult, spec: EstimateSpec):
    from tradeq.analyses.clusters_bayes_report import report as build

    return build(result, spec)
