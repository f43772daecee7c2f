"""Random effects beside fixed effects, and the Hausman tests (``model.estimator=re``, ``model=re``).

For ``y ~ x | unit + other FE`` the unit is the formula's first fixed effect; the random-effects
model (:func:`tradeq.models.random_effects.random_effects`, Swamy–Arora FGLS) keeps the unit
effect random and the other fixed effects as dummy columns (year dummies in ``xtreg, re``),
with a constant; it is fitted on the FE fit's own sample (singletons dropped), so the two
columns compare like with like. Its variance follows ``model.vcov``: iid → conventional,
cluster (or crv3) → clustered by ``model.cluster`` (Stata's ``vce(cluster)`` factor), hc1 →
clustered by row (the HC1 factor N/(N − k)).

Hausman tests of H0: E[u_i | X] = 0 (FE and RE both consistent), on the formula's regressors
that vary within units (the dummies of the other FE are in both fits but not compared; their
difference says nothing about the unit effect's correlation with x):

* classical (Hausman 1978): ``d = b_FE − b_RE``, ``H = d'(V_FE − V_RE)^+ d`` with the FE
  replica's iid variance and RE's conventional one
  (:func:`tradeq.models.hausman.hausman_from_estimates`, which says when ``V_FE − V_RE`` is not
  positive definite); valid only when RE is efficient (iid errors);
* cluster-robust, Mundlak's form (Wooldridge 2010, §10.7.3): RE of y on x, the other FE's
  dummies and the unit means x̄_i of the compared regressors, H0: ξ = 0 on the means by a
  cluster-robust Wald test (:func:`tradeq.models.wald.wald_test`), χ²(q) and F(q, G − 1). The
  means of year dummies would be collinear with the constant in a balanced panel, so only the
  regressors' means enter — which is why this composes the core's RE fit and Wald test rather
  than calling :func:`tradeq.models.hausman.mundlak_test`, which averages every time-varying
  column (it is the same test when there are no other FE; the tests check that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from tradeq.errors import ConfigError, DataError
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.fixed_effects import fit_fe
from tradeq.models.hausman import HausmanResult, hausman_from_estimates
from tradeq.models.random_effects import REFit, random_effects, unit_codes, unit_means
from tradeq.models.singletons import drop_singletons
from tradeq.models.tinference import t_interval
from tradeq.models.wald import wald_test

#: Most dummy columns the other fixed effects may need in the RE design.
MAX_DUMMIES = 2_000


@dataclass(frozen=True)
class REResult:
    """The RE fit (``fit``, variance as ``model.vcov``), its table column (``dataset``), the
    Hausman tests, the unit, and the names of the other FE's dummy columns."""

    fit: REFit
    dataset: xr.Dataset
    classical: HausmanResult
    mundlak: dict
    unit: str
    dummies: tuple[str, ...]
    terms: tuple[str, ...]


def _dummies(fe: np.ndarray, names, frame, rows) -> tuple[np.ndarray, list[str]]:
    """One dummy per level of each FE but the first, named by the level's value in ``frame``."""
    cols, labels = [], []
    for j, name in enumerate(names):
        codes, levels = unit_codes(fe[:, j])
        values = frame[name].to_numpy()[rows] if frame is not None and name in frame.columns else None
        for g in range(1, len(levels)):
            on = codes == g
            cols.append(on.astype(np.float64))
            labels.append(f"{name}[{values[np.argmax(on)] if values is not None else levels[g]}]")
    if len(cols) > MAX_DUMMIES:
        raise DataError(f"model.estimator=re: the fixed effects {list(names)} need {len(cols)} dummy columns "
                        f"(more than {MAX_DUMMIES}); keep only the unit effect and small FE")
    return (np.column_stack(cols) if cols else np.zeros((fe.shape[0], 0))), labels


def _re_vcov(model, clusters: np.ndarray, n: int) -> tuple[str, np.ndarray | None]:
    vcov = str(model.vcov)
    if vcov == "iid":
        return "conventional", None
    if vcov == "hc1":
        return "cluster", np.arange(n)
    return "cluster", clusters


def _dataset(fit: REFit, keep_terms, level: float, fe_other, cluster: str, vcov: str) -> xr.Dataset:
    idx = [fit.index(t) for t in keep_terms]
    coef, se = fit.coef[idx], fit.se[idx]
    lo, hi = t_interval(coef, se, fit.df_t, level)
    V = fit.vcov[np.ix_(idx, idx)]
    terms = list(keep_terms)
    return xr.Dataset(
        {"estimate": ("term", coef), "std_error": ("term", se), "statistic": ("term", coef / se),
         "p_value": ("term", fit.pvalue[idx]), "conf_low": ("term", lo), "conf_high": ("term", hi),
         "vcov": (("term", "term_"), V)},
        coords={"term": terms, "term_": terms},
        attrs={"outcome": fit.y_name, "vcov_type": vcov,
               "method": "re", "df_t": float(fit.df_t), "n_obs": fit.n_obs, "fe": ",".join(fe_other),
               "cluster": cluster, "n_clusters": str(fit.n_clusters), "r2": float("nan"), "r2_within": float("nan"),
               "conf_level": level},
    )


def _mundlak(y, X, names, units, compared, clusters, G_label) -> dict:
    """RE with the unit means of the ``compared`` columns; cluster-robust Wald test that the
    means' coefficients are zero (module docstring)."""
    codes, labels = unit_codes(units)
    idx = [names.index(t) for t in compared]
    means = unit_means(X[:, idx], codes, labels.shape[0])[codes]
    mean_names = tuple(f"mean({t})" for t in compared)
    fit = random_effects(y, np.column_stack([X, means]), units, x_names=(*names, *mean_names), vcov="cluster",
                         clusters=clusters)
    R = np.zeros((len(compared), len(fit.coef)))
    for row, t in enumerate(mean_names):
        R[row, fit.index(t)] = 1.0
    w = wald_test(fit.coef, fit.vcov, R, df=fit.n_clusters - 1)
    return {"method": "mundlak", "statistic": w["wald"], "df": w["rank"], "p_value": w["p_chi2"],
            "f_statistic": w["F"], "f_df": [w["df1"], w["df2"]], "f_p_value": w["p_F"], "terms": list(mean_names),
            "coefficients": {t: float(fit.coef[fit.index(t)]) for t in mean_names}, "clusters": G_label,
            "n_clusters": fit.n_clusters,
            "note": "" if w["rank"] == len(compared) else f"the means' cluster-robust variance has rank {w['rank']} of {len(compared)}"}


def estimate(design: Design, fe_fit: FEFit, model, level: float, frame=None) -> REResult:
    """RE beside the FE fit and the Hausman tests (module docstring); ``frame`` (the design's
    source rows) names the dummies by their levels."""
    if not design.fe.shape[1]:
        raise ConfigError("model.estimator=re needs the unit effect as the formula's first fixed effect, "
                          "e.g. model.formula=\"TU ~ IC | province + year\"")
    if "^" in design.fe_names[0]:
        raise ConfigError(f"model.estimator=re: the unit effect {design.fe_names[0]!r} must be one column")
    keep = drop_singletons(design.fe)
    y, Xr = design.y[keep], design.X[keep]
    units = design.fe[keep, 0]
    D, dnames = _dummies(design.fe[keep, 1:], design.fe_names[1:], frame, design.row_id[keep])
    names = ["Intercept", *design.x_names, *dnames]
    X = np.column_stack([np.ones(y.shape[0]), Xr, D])
    clusters = design.cluster[keep, 0] if design.cluster.shape[1] == 1 else units
    kind, cl = _re_vcov(model, clusters, y.shape[0])
    try:
        fit = random_effects(y, X, units, x_names=names, y_name=design.y_name, vcov=kind, clusters=cl)
        conventional = random_effects(y, X, units, x_names=names, y_name=design.y_name, vcov="conventional")
    except ValueError as err:
        raise DataError(f"model.estimator=re: {err}") from None
    compared = [t for t in fe_fit.x_names if t in design.x_names]
    if not compared:
        raise DataError("model.estimator=re: no regressor varies within the unit effect; FE and RE cannot be compared")
    fe_iid = fit_fe(design, vcov="iid")
    i_fe = [fe_iid.index(t) for t in compared]
    i_re = [conventional.index(t) for t in compared]
    classical = hausman_from_estimates(fe_iid.coef[i_fe], fe_iid.vcov[np.ix_(i_fe, i_fe)], conventional.coef[i_re],
                                       conventional.vcov[np.ix_(i_re, i_re)], compared)
    cluster_name = design.cluster_names[0] if design.cluster.shape[1] == 1 else design.fe_names[0]
    mundlak = _mundlak(y, X, names, units, compared, clusters, cluster_name)
    shown = ["Intercept", *design.x_names]
    label = {"iid": "iid", "hc1": "hc1"}.get(str(model.vcov), "cluster")
    dataset = _dataset(fit, shown, level, design.fe_names[1:], cluster_name if label == "cluster" else "", label)
    return REResult(fit, dataset, classical, mundlak, design.fe_names[0], tuple(dnames), tuple(compared))


def hausman_json(res: REResult) -> dict:
    """``hausman.json``: both tests, what they compare, and their caveats."""
    c = res.classical
    classical = {"method": "classical", "statistic": c.statistic, "df": c.df, "p_value": c.p_value,
                 "terms": list(c.terms), "difference": dict(zip(c.terms, c.difference.tolist())),
                 "positive_definite": c.positive_definite, "rank": c.rank, "eigenvalues": c.eigenvalues.tolist(),
                 "note": c.note or "valid only when RE is efficient (homoskedastic, serially uncorrelated errors)"}
    return {"unit": res.unit, "other_fe_as_dummies": list(res.dummies), "compared_terms": list(res.terms),
            "classical": classical, "mundlak": res.mundlak,
            "re": {"sigma2_u": res.fit.sigma2_u, "sigma2_e": res.fit.sigma2_e, "rho": res.fit.rho,
                   "theta_mean": float(np.mean(res.fit.theta.values)), "vcov": res.fit.vcov_type,
                   "n_units": res.fit.n_units, "n_obs": res.fit.n_obs}}


def extra_rows(res: REResult) -> dict[str, str]:
    """The RE column's rows below the coefficients."""
    c, m = res.classical, res.mundlak

    def p(v):
        return "undefined" if v is None or not np.isfinite(v) else f"{v:.4f}"

    return {"Unit effects": f"random ({res.unit})", "θ (mean)": f"{float(np.mean(res.fit.theta.values)):.3f}",
            "Hausman χ² (p), classical": (f"{c.statistic:.2f} ({p(c.p_value)})" + ("" if c.positive_definite else " †")),
            "Hausman F (p), cluster-robust": f"{m['f_statistic']:.2f} ({p(m['f_p_value'])})"}


def notes(res: REResult) -> list[str]:
    c, m = res.classical, res.mundlak
    out = [f"Random effects (Swamy–Arora FGLS, unit {res.unit}; "
           + (f"{', '.join(sorted({d.split('[')[0] for d in res.dummies}))} as dummies; " if res.dummies else "")
           + f"θ = {float(np.mean(res.fit.theta.values)):.3f} on average). Hausman tests on {', '.join(res.terms)}: "
           f"classical χ²({c.df}) = {c.statistic:.2f}, p = {c.p_value:.4g}; cluster-robust (Mundlak) "
           f"F({m['f_df'][0]}, {m['f_df'][1]:.0f}) = {m['f_statistic']:.2f}, p = {m['f_p_value']:.4g} (hausman.json)."]
    if not c.positive_definite:
        out.append(f"† {c.note}.")
    return out


def tidy(res: REResult, model_name: str, level: float) -> pd.DataFrame:
    """``estimates.csv`` rows of the RE column (the constant and the formula's regressors)."""
    ds = res.dataset
    return pd.DataFrame({
        "model": model_name, "term": ds["term"].values.tolist(), "estimate": ds["estimate"].values,
        "std_error": ds["std_error"].values, "statistic": ds["statistic"].values, "p_value": ds["p_value"].values,
        "conf_low": ds["conf_low"].values, "conf_high": ds["conf_high"].values, "n_obs": res.fit.n_obs,
        "n_clusters": str(res.fit.n_clusters) if res.fit.n_clusters else "", "vcov": ds.attrs["vcov_type"],
        "method": "re",
    })
