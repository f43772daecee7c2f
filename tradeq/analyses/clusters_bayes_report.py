"""The files, tables and note of ``model=clusters_bayes`` (:mod:`tradeq.analyses.clusters_bayes`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from tradeq.report.tables import TableColumn, values_column
from tradeq.report.writer import Report


def _f(v: float) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.3f}"


def markdown_table(table: pd.DataFrame, level: float) -> str:
    """Posterior mean, sd, interval and prior sd beside the OLS estimate and interval (and the truth)."""
    pct = int(round(100 * level))
    truth = table["truth"].notna().any()
    head = (f"| quantity | posterior mean | sd | {pct}% interval | prior sd | P(> 0) | OLS | OLS se | OLS {pct}% CI |"
            + (" truth |" if truth else ""))
    rows = [head, "|:---|---:|---:|:---:|---:|---:|---:|---:|:---:|" + ("---:|" if truth else "")]
    for r in table.itertuples():
        rows.append(f"| {r.quantity} | {_f(r.mean)} | {_f(r.sd)} | [{_f(r.low)}, {_f(r.high)}] | {_f(r.prior_sd)} | "
                    f"{r.p_positive:.3f} | {_f(r.ols_estimate)} | {_f(r.ols_se)} | [{_f(r.ols_low)}, {_f(r.ols_high)}] |"
                    + (f" {_f(r.truth)} |" if truth else ""))
    return "\n".join(rows)


def _covers(low: float, high: float, value: float = 0.0) -> bool:
    return bool(low <= value <= high)


def central_note(table: pd.DataFrame, dt: xr.DataTree, per_region: dict[str, int], level: float) -> str:
    """What the smallest region (Central, when present) can and cannot say, from the numbers."""
    region = "Central" if "Central" in per_region else min(per_region, key=per_region.get)
    first = next(r for r in per_region if r != region) if len(per_region) > 1 else None
    row = table.set_index("quantity")
    pct = f"{level:.0%}"
    own = row.loc[f"{region} (all years)"]
    cells = table[(table["kind"] == "slope") & table["quantity"].str.startswith(f"{region}, ")]
    moved = ", ".join(f"{q.split(', ', 1)[1]}: {(m - o) / s:+.2f}" for q, m, o, s in
                      zip(cells["quantity"], cells["mean"], cells["ols_estimate"], cells["ols_se"]))
    mu = float(dt["posterior"]["mu"].mean())
    text = [f"**What {per_region[region]} {region} provinces can and cannot say.** {region}'s slope over all years: "
            f"posterior mean {_f(own['mean'])} (sd {_f(own['sd'])}; {pct} interval [{_f(own['low'])}, {_f(own['high'])}]) "
            f"against a prior sd of {_f(own['prior_sd'])}: the data narrow the prior {own['prior_sd'] / own['sd']:.0f}-fold, "
            f"and the interval {'covers' if _covers(own['low'], own['high']) else 'excludes'} zero "
            f"(OLS {_f(own['ols_estimate'])}, se {_f(own['ols_se'])}). Partial pooling moved {region}'s cell slopes "
            f"from OLS by ({moved}) OLS standard errors (toward the pooled slope mu = {mu:.3f} and the other cells)."]
    if first is not None:
        key = f"{first} - {region} (all years)"
        if key in row.index:
            d = row.loc[key]
            text.append(f"{first} − {region}: {_f(d['mean'])} [{_f(d['low'])}, {_f(d['high'])}], "
                        f"P(> 0) = {d['p_positive']:.3f} — the gap "
                        f"{'is not settled' if _covers(d['low'], d['high']) else 'is settled in sign'} by these data.")
    shift = f"{region}: " + " - ".join(str(p) for p in dt["posterior"]["period"].values[[0, -1]])
    if shift in row.index:
        s = row.loc[shift]
        text.append(f"{region}'s change between the periods: {_f(s['mean'])} [{_f(s['low'])}, {_f(s['high'])}] "
                    f"(prior sd {_f(s['prior_sd'])}).")
    return " ".join(text)


def interval_sets(table: pd.DataFrame, dt: xr.DataTree, kind: str, level: float) -> tuple[dict, dict]:
    """(models, trunks) for :func:`tradeq.report.bayes_plots.plot_interval_forest`: posterior, OLS, truth."""
    part = table[table["kind"] == kind]
    groups = list(part["quantity"])

    def ds(est, lo, hi):
        return xr.Dataset({kind: (("group", "stat"), np.column_stack([est, lo, hi]))},
                          coords={"group": groups, "stat": ["estimate", "lower", "upper"]})

    draws = dt["posterior"].to_dataset()
    if kind == "slope":
        flat = draws["slope"].stack(g=("region", "period")).transpose("chain", "draw", "g").values
    else:
        flat = draws["contrast"].values
    flat = flat.reshape(-1, len(groups))
    models = {"posterior": ds(part["mean"], part["low"], part["high"]),
              f"OLS (FE, cell slopes), {level:.0%}": ds(part["ols_estimate"], part["ols_low"], part["ols_high"])}
    if part["truth"].notna().all():
        models["truth"] = ds(part["truth"], part["truth"], part["truth"])
    inner = ds(part["mean"], np.quantile(flat, 0.25, axis=0), np.quantile(flat, 0.75, axis=0))
    return models, {"posterior": inner}


def _forest(table, dt, kind, level):
    from tradeq.report.bayes_plots import plot_interval_forest

    models, trunks = interval_sets(table, dt, kind, level)
    title = f"{kind}s: posterior mean, 50% and {level:.0%} intervals vs OLS {level:.0%} interval"
    return lambda path: plot_interval_forest(models, kind, path, title, trunks=trunks)


def tidy(table: pd.DataFrame, model_name: str, n_obs: int, n_clusters: int, vcov: str) -> pd.DataFrame:
    """``estimates.csv`` rows: the OLS and the posterior of every cell slope and contrast."""
    base = {"model": model_name, "term": table["quantity"], "kind": table["kind"], "n_obs": n_obs, "truth": table["truth"]}
    ols = pd.DataFrame({**base, "estimate": table["ols_estimate"], "std_error": table["ols_se"],
                        "conf_low": table["ols_low"], "conf_high": table["ols_high"], "n_clusters": n_clusters,
                        "vcov": vcov, "method": "fe"})
    post = pd.DataFrame({**base, "estimate": table["mean"], "std_error": table["sd"], "conf_low": table["low"],
                         "conf_high": table["high"], "n_clusters": "", "vcov": "posterior", "method": "bayes"})
    return pd.concat([ols, post], ignore_index=True)


def report(result, spec) -> Report:
    model, level, dt, fit, table = spec.model, float(spec.model.level), result.tree, result.fit, result.table
    post = dt["posterior"].to_dataset()
    cells = table[table["kind"] == "slope"]
    names = [n for n in fit.x_names if ":" in n and n.split(":", 1)[0] == model.core]
    means = dict(zip(names, cells["mean"]))
    sds = dict(zip(names, cells["sd"]))
    if "beta" in post:
        for c in post["control"].values:
            means[str(c)] = float(post["beta"].sel(control=c).mean())
            sds[str(c)] = float(post["beta"].sel(control=c).std(ddof=1))
    columns = [TableColumn(fit.to_dataset(level), title=f"{fit.y_name} (OLS, cell slopes)"),
               values_column(means, "Posterior", sd=sds)]
    if cells["truth"].notna().all():
        columns.append(values_column(dict(zip(names, cells["truth"])), "Truth"))
    note = central_note(table, dt, result.clusters_per_region, level)
    d = result.diagnostics
    caption = model.title or f"{model.core} slope by {model.region} × {model.period}, partially pooled ({model.pooling})"
    appendix = "\n".join(["", f"**Posterior beside OLS** ({dt.attrs['model']}; OLS: the FE model with cell-specific "
                          f"slopes, {fit.vcov_type} covariance, t({fit.df_t:g}); posterior intervals equal-tailed; "
                          "contrasts over all years weight a region's periods by their rows):", "",
                          markdown_table(table, level), "", note, ""])
    summary = {"regions": list(map(str, post["region"].values)), "periods": list(map(str, post["period"].values)),
               "pooling": str(model.pooling), "clusters_per_region": result.clusters_per_region,
               "table": table.to_dict(orient="records"), "note": note,
               "diagnostics": {k: d[k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")}}
    files = {"posterior.nc": dt, "clusters_bayes.json": summary,
             "estimates.csv": tidy(table, model.name, fit.n_obs, fit.n_clusters[0] if fit.n_clusters else 0,
                                   fit.vcov_type)}
    if spec.output.plots:
        files["bayes_forest_slopes.png"] = _forest(table, dt, "slope", level)
        files["bayes_forest_contrasts.png"] = _forest(table, dt, "contrast", level)
    record = {"model": model.name, "formula": model.formula,
              "bayes": {"pooling": str(model.pooling), "draws": dt.attrs["draws"], "tune": dt.attrs["tune"],
                        "chains": dt.attrs["chains"], **summary["diagnostics"], "rhat": d["rhat"]}}
    return Report(caption=caption, columns=tuple(columns), appendix=appendix, files=files,
                  record=record)
