"""Plots of the Bayesian inverted U (PNG, matplotlib).

* :func:`plot_group_forest` — posterior intervals of one group-varying coefficient (b1 or
  b2) beside OLS intervals of the FE model with group-specific slopes. The OLS layer is
  *precomputed* (estimate, interval) and handed to ``arviz_plots.plot_forest`` through its
  ``stats`` argument together with the posterior's intervals: the layout dataset holds the
  two point estimates per group (dims ``model`` x ``group``, no draws), so nothing is
  re-sampled or faked. One figure per coefficient: b1 and b2 differ by an order of
  magnitude and would squash each other on a shared axis.
* :func:`plot_group_curves` — each group's fitted curve ``b1 x + b2 x^2`` (relative to
  the grid's low end) with its 95% band, the population curve, the turning point's median
  and 95% interval as a bar along the panel's top and the group's data range.
* :func:`plot_trace` / :func:`plot_rank` — trace + marginal and rank plots of the main
  parameters (arviz-plots).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import arviz_plots as azp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from scipy import stats as sps  # noqa: E402

from tradeq.models.bayes.derived import group_curves  # noqa: E402

SAMPLE_DIMS = ("chain", "draw")
MAIN_PARAMS = ["mu_slope", "mu_b2", "tau_slope", "tau_b2", "sigma"]


def ols_group_intervals(dt: xr.DataTree, prob: float = 0.95) -> xr.Dataset:
    """OLS of the FE model with group-specific slopes from the fit's sufficient statistics.

    Estimates and iid t intervals, ``vcov = s^2 (Z'Z)^{-1}``, ``s^2 = RSS / (n_eff - k)``
    (n_eff = rows less absorbed FE levels). Returns ``b1``, ``b2`` with dims (group, stat),
    stat = estimate, lower, upper. For clustered intervals, build the same Dataset from the
    FE replica's fit.
    """
    cd = dt["constant_data"]
    groups = cd["group"].values
    G = groups.size
    ZtZ, coef = cd["ZtZ"].values, cd["coef_hat"].values
    dof = float(cd["n_eff"]) - coef.size
    se = np.sqrt(np.diag(np.linalg.pinv(ZtZ)) * float(cd["rss_hat"]) / dof)
    q = sps.t.ppf(0.5 + prob / 2, dof)
    out = {}
    for name, sl in (("b1", slice(0, G)), ("b2", slice(G, 2 * G))):
        est, s = coef[sl], se[sl]
        out[name] = (("group", "stat"), np.column_stack([est, est - q * s, est + q * s]))
    return xr.Dataset(out, coords={"group": groups, "stat": ["estimate", "lower", "upper"]})


def _bounds(lower: xr.Dataset, upper: xr.Dataset) -> xr.Dataset:
    return xr.concat([lower, upper], dim="ci_bound").assign_coords(ci_bound=["lower", "upper"])


def posterior_intervals(dt: xr.DataTree, var_name: str, prob: float) -> tuple[xr.Dataset, xr.Dataset]:
    """(``prob`` interval, 50% interval) of a posterior variable as (group, stat) Datasets."""
    post = dt["posterior"].to_dataset()[[var_name]]
    alpha = (1 - prob) / 2

    def stats(lo, hi):
        parts = [post.mean(SAMPLE_DIMS), post.quantile(lo, SAMPLE_DIMS).drop_vars("quantile"),
                 post.quantile(hi, SAMPLE_DIMS).drop_vars("quantile")]
        return xr.concat(parts, dim="stat").assign_coords(stat=["estimate", "lower", "upper"]).transpose("group", "stat")

    return stats(alpha, 1 - alpha), stats(0.25, 0.75)


def plot_interval_forest(models: dict[str, xr.Dataset], var_name: str, path: str | Path | None = None,
                         title: str = "", trunks: dict[str, xr.Dataset] | None = None):
    """Forest plot of precomputed intervals, one colour per model (nothing is re-sampled).

    ``models[name][var_name]`` has dims (group, stat), stat = estimate, lower, upper: an OLS
    interval, a posterior interval, or a point (lower = upper = estimate, e.g. the truth).
    ``trunks`` optionally gives a model's inner (thick) interval; otherwise thick = thin.
    """
    trunks = trunks or {}
    names = list(models)
    groups = models[names[0]]["group"].values
    sel = {m: models[m][[var_name]].sel(group=groups) for m in names}
    point = xr.concat([sel[m].sel(stat="estimate", drop=True) for m in names], dim="model").assign_coords(model=names)

    def bounds(ds):
        return _bounds(ds.sel(stat="lower", drop=True), ds.sel(stat="upper", drop=True))

    twig = xr.concat([bounds(sel[m]) for m in names], dim="model").assign_coords(model=names)
    trunk = xr.concat([bounds(trunks[m][[var_name]].sel(group=groups)) if m in trunks else bounds(sel[m]) for m in names],
                      dim="model").assign_coords(model=names)
    pc = azp.plot_forest(
        xr.DataTree.from_dict({"posterior": point}),
        sample_dims=[],
        combined=True,
        backend="matplotlib",
        stats={"twig": twig.transpose("model", "group", "ci_bound"), "trunk": trunk.transpose("model", "group", "ci_bound"),
               "point_estimate": point},
    )
    pc.add_legend("model")
    fig = pc.viz["figure"].item()
    _tidy_forest(fig, var_name)
    fig.suptitle(title)
    if path is not None:
        fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    return pc


def _tidy_forest(fig, var_name: str) -> None:
    """Drop the label column's axis captions ("variable", "group") and the variable's name (the
    title says it), and move the legend below the intervals, where it covers none of them."""
    for ax in fig.axes:
        for text in ax.texts:
            if text.get_text() == var_name:
                text.set_visible(False)
        if ax.get_xlabel() in ("variable", "group") or {t.get_text() for t in ax.get_xticklabels()} <= {"variable", "group", ""}:
            ax.set_xlabel("")
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
    for legend in fig.legends:
        legend.set_loc("upper center")
        legend.set_bbox_to_anchor((0.5, 0.0), transform=fig.transFigure)
        legend.set_title(None)


def plot_group_forest(
    dt: xr.DataTree,
    var_name: str = "b1",
    ols: xr.Dataset | None = None,
    path: str | Path | None = None,
    prob: float = 0.95,
    label: str = "OLS (group-interacted FE)",
):
    """Forest plot of ``var_name`` (group): posterior mean and ``prob`` ETI beside OLS.

    ``ols`` has ``var_name`` with dims (group, stat), stat = estimate, lower, upper (default
    :func:`ols_group_intervals`). The thick bar is the posterior's 50% interval; OLS has only
    its ``prob`` interval, drawn both thick and thin. Returns the PlotCollection; saves a
    PNG to ``path`` when given.
    """
    ols = ols_group_intervals(dt, prob) if ols is None else ols
    outer, inner = posterior_intervals(dt, var_name, prob)
    return plot_interval_forest(
        {"posterior": outer, label: ols}, var_name, path,
        f"{var_name} by group: posterior mean, 50% and {prob:.0%} intervals vs OLS {prob:.0%} interval",
        trunks={"posterior": inner},
    )


def _turning_point_bar(ax, t_lo: float, t_mid: float, t_hi: float, x: np.ndarray, prob: float) -> None:
    """The turning point's median and ``prob`` interval as a bar along the top of the panel
    (a shaded band would cover the whole panel when the interval is wide)."""
    if not (np.isfinite(t_lo) and np.isfinite(t_hi) and t_hi > x[0] and t_lo < x[-1]):
        return
    top = ax.get_xaxis_transform()  # x in data units, y in axes units
    ax.plot([max(t_lo, x[0]), min(t_hi, x[-1])], [0.95, 0.95], color="C1", lw=3, solid_capstyle="butt",
            transform=top, label=f"turning point: median, {prob:.0%} interval")
    if x[0] <= t_mid <= x[-1]:
        ax.plot([t_mid], [0.95], "o", color="C1", ms=5, transform=top)


def plot_group_curves(dt: xr.DataTree, path: str | Path | None = None, prob: float = 0.95):
    """Small multiples: each group's curve with a ``prob`` band, the population curve, the
    turning point's median and ``prob`` interval (a bar at the top) and the group's data range
    (dotted)."""
    post = dt["posterior"].to_dataset()
    grid = post["x_grid"]
    curves = group_curves(post, grid)
    alpha = (1 - prob) / 2
    lo, mid, hi = (curves.quantile(q, SAMPLE_DIMS) for q in (alpha, 0.5, 1 - alpha))
    pop = post["curve"].quantile([alpha, 0.5, 1 - alpha], SAMPLE_DIMS)
    tp = post["turning_point"].quantile([alpha, 0.5, 1 - alpha], SAMPLE_DIMS)
    cd = dt["constant_data"]
    groups = post["group"].values
    ncol = min(3, groups.size)
    nrow = int(np.ceil(groups.size / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), sharey=True, squeeze=False)
    x = grid.values
    for ax, g in zip(axes.ravel(), groups):
        ax.fill_between(x, lo.sel(group=g), hi.sel(group=g), color="C0", alpha=0.25, lw=0, label=f"{prob:.0%} band")
        ax.plot(x, mid.sel(group=g), color="C0", lw=2, label="group curve (median)")
        ax.plot(x, pop.sel(quantile=0.5), color="k", ls="--", lw=1, label="population curve")
        _turning_point_bar(ax, *(float(tp.sel(group=g, quantile=q)) for q in (alpha, 0.5, 1 - alpha)), x, prob)
        for edge in (float(cd["group_x_lo"].sel(group=g)), float(cd["group_x_hi"].sel(group=g))):
            ax.axvline(edge, color="grey", ls=":", lw=1)
        p = float(dt["derived"]["p_inverted_u"].sel(group=g))
        ax.set_title(f"{g}  (n={int(cd['group_n'].sel(group=g))}, P(inv. U)={p:.2f})", fontsize=9)
        ax.set_xlim(x[0], x[-1])
    for ax in axes.ravel()[groups.size :]:
        ax.set_visible(False)
    core = dt.attrs.get("core", "x")
    for ax in axes[-1]:
        ax.set_xlabel(core)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"change in outcome from {core} = {x[0]:.2f}")
    axes.ravel()[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Fitted inverted U by group (dotted: the group's data range)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def _present(dt, names):
    post = dt["posterior"]
    return [n for n in names if n in post.data_vars]


def plot_trace(dt: xr.DataTree, path: str | Path | None = None, var_names=None):
    """Trace and marginal density per chain of the main parameters."""
    pc = azp.plot_trace_dist(dt, var_names=_present(dt, var_names or MAIN_PARAMS), backend="matplotlib")
    if path is not None:
        pc.savefig(path)
        plt.close(pc.viz["figure"].item())
    return pc


def plot_rank(dt: xr.DataTree, path: str | Path | None = None, var_names=None):
    """Rank (fractional ECDF) plots per chain: flat within the envelope when chains mix."""
    pc = azp.plot_rank(dt, var_names=_present(dt, var_names or ["b1", "b2", *MAIN_PARAMS]), backend="matplotlib")
    fig = pc.viz["figure"].item()
    rows = len({round(ax.get_position().y0, 3) for ax in fig.axes})
    fig.set_size_inches(max(fig.get_size_inches()[0], 14.0), 2.6 * rows)
    fig.set_layout_engine(None)
    fig.subplots_adjust(hspace=1.1, top=0.95, bottom=0.06)  # room for two-line titles above the tick labels
    for ax in fig.axes:
        ax.title.set_fontsize(8)
    if path is not None:
        pc.savefig(path)
        plt.close(pc.viz["figure"].item())
    return pc


def save_all(dt: xr.DataTree, out_dir: str | Path, ols: xr.Dataset | None = None, prob: float = 0.95) -> list[Path]:
    """All plots of a fit as PNGs in ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bayes_forest_b1.png", out / "bayes_forest_b2.png", out / "bayes_curves.png", out / "bayes_trace.png", out / "bayes_rank.png"]
    plot_group_forest(dt, "b1", ols, paths[0], prob)
    plot_group_forest(dt, "b2", ols, paths[1], prob)
    plot_group_curves(dt, paths[2], prob)
    plot_trace(dt, paths[3])
    plot_rank(dt, paths[4])
    return paths
