"""PNG plots of a study, driven by the study's ``plots`` list.

Each entry is ``{kind, x, panels, where, ...}``: one subplot per value of the ``panels``
coordinate, settings restricted to ``where`` (``{coordinate: value}``), one line per
estimator against the coordinate ``x``, error bars ±2 MC SE.

* ``coverage`` (``parameter``): interval coverage, with the nominal band
  ``level ± 2 sqrt(level (1 - level) / R)`` shaded — coverage vs sample size.
* ``rejection`` (``test``, default ``utest``): rejection rates with the nominal size as a
  line — power curves (e.g. of the inverted-U test against b2) and size.
* ``bias`` (``parameter``): bias with zero as a line.
* ``sbc``: histograms of the SBC ranks per (estimator, parameter), with the band a uniform
  histogram falls in 99% of the time bin by bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from tradeq.atomic import write_with

from .metrics import nominal_band


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _subset(ds: xr.Dataset, where: Mapping[str, Any] | None) -> xr.Dataset:
    if not where:
        return ds
    keep = np.ones(ds.sizes["setting"], bool)
    for k, v in where.items():
        vals = ds[k].values
        keep &= np.isclose(vals.astype(float), float(v)) if vals.dtype.kind == "f" else (vals == str(v))
    return ds.isel(setting=np.flatnonzero(keep))


def _panel_values(ds: xr.Dataset, panels: str | None) -> list:
    if not panels:
        return [None]
    return list(dict.fromkeys(ds[panels].values.tolist()))


def _dodge(xs: np.ndarray, j: int, n: int, log: bool) -> np.ndarray:
    """Shift estimator j's points sideways so that n error bars at one x do not overlap."""
    if n < 2 or xs.size == 0:
        return xs
    shift = (j - (n - 1) / 2) / n
    if log:
        return xs * np.exp(0.12 * shift)
    gaps = np.diff(np.unique(xs))
    return xs + 0.3 * (gaps.min() if gaps.size else 1.0) * shift


def _line_plot(ds: xr.Dataset, spec: Mapping[str, Any], var: str, sel: dict, ylabel: str, reference) -> Any:
    plt = _mpl()
    x, panels = spec["x"], spec.get("panels")
    values = _panel_values(ds, panels)
    ests = spec.get("estimators") or [str(e) for e in ds.estimator.values
                                      if np.isfinite(ds[var].sel(estimator=e, **sel).values).any()]
    fig, axes = plt.subplots(1, len(values), figsize=(3.6 * len(values) + 0.8, 3.4), sharey=True, squeeze=False)
    for ax, pv in zip(axes[0], values):
        sub = ds if pv is None else ds.isel(setting=np.flatnonzero(ds[panels].values == pv))
        order = np.argsort(sub[x].values)
        xs = sub[x].values[order].astype(float)
        log = x == "n_firms"
        reference(ax, xs)
        for j, e in enumerate(ests):
            y = sub[var].sel(estimator=e, **sel).values[order]
            se = sub[f"{var}_mcse"].sel(estimator=e, **sel).values[order]
            ax.errorbar(_dodge(xs, j, len(ests), log), y, yerr=2 * se, marker="o", ms=3.5, capsize=2.5, lw=1.2,
                        label=e)
        if log:  # sample sizes: a tick at each
            ax.set_xscale("log")
            ax.minorticks_off()
            ticks = np.unique(xs)
            ax.set_xticks(ticks, [f"{t:,.0f}" if float(t).is_integer() else f"{t:g}" for t in ticks])
        else:  # a parameter such as b2: a few short labels, tilted, so that they never overlap
            ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=4))
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda t, _: f"{t:g}"))
            ax.tick_params(axis="x", labelrotation=30)
        ax.set_xlabel(x)
        ax.set_title(f"{panels} = {pv}" if panels else "", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def coverage_plot(ds: xr.Dataset, spec: Mapping[str, Any]):
    level, R = float(ds.attrs["level"]), int(ds.attrs["reps"])
    lo, hi = nominal_band(level, R)
    param = spec.get("parameter") or str(ds.parameter.values[0])

    def ref(ax, xs):
        ax.axhspan(lo, hi, color="0.85", zorder=0, label=f"{level:.2f} ± 2 MC SE")
        ax.axhline(level, color="0.4", lw=0.8, zorder=0)

    fig = _line_plot(ds, spec, "coverage", {"parameter": param}, f"coverage of {int(100 * level)}% CI for {param}", ref)
    return fig, f"coverage_{param}"


def rejection_plot(ds: xr.Dataset, spec: Mapping[str, Any]):
    test = spec.get("test", "utest")
    alpha = 1.0 - float(ds.attrs["level"])

    def ref(ax, xs):
        ax.axhline(alpha, color="0.4", lw=0.8, ls="--", zorder=0)

    fig = _line_plot(ds, spec, "rejection_rate", {"test": test}, f"rejection rate ({test})", ref)
    return fig, f"rejection_{test}"


def bias_plot(ds: xr.Dataset, spec: Mapping[str, Any]):
    param = spec.get("parameter") or str(ds.parameter.values[0])

    def ref(ax, xs):
        ax.axhline(0.0, color="0.4", lw=0.8, zorder=0)

    fig = _line_plot(ds, spec, "bias", {"parameter": param}, f"bias of {param}", ref)
    return fig, f"bias_{param}"


def sbc_plot(ds: xr.Dataset, spec: Mapping[str, Any]):
    plt = _mpl()
    L = int(ds.attrs.get("sbc_n_draws", 0))
    pairs = [(str(e), str(p)) for e in ds.estimator.values for p in ds.parameter.values
             if np.isfinite(ds["rank"].sel(estimator=e, parameter=p).values).any()]
    n_bins = int(spec.get("bins", 10))
    fig, axes = plt.subplots(1, max(1, len(pairs)), figsize=(2.8 * max(1, len(pairs)) + 0.6, 2.8), squeeze=False)
    for ax, (e, p) in zip(axes[0], pairs):
        r = ds["rank"].sel(estimator=e, parameter=p).values.ravel()
        r = r[np.isfinite(r)]
        ax.hist(r, bins=np.linspace(-0.5, L + 0.5, n_bins + 1), color="tab:blue", alpha=0.8)
        expect = r.size / n_bins
        lo, hi = stats.binom.ppf([0.005, 0.995], r.size, 1.0 / n_bins)
        ax.axhspan(lo, hi, color="0.85", zorder=0)
        ax.axhline(expect, color="0.4", lw=0.8)
        ax.set_title(f"{e}: {p}", fontsize=8)
        ax.set_xlabel("rank")
    fig.tight_layout()
    return fig, "sbc_ranks"


PLOTS = {"coverage": coverage_plot, "rejection": rejection_plot, "bias": bias_plot, "sbc": sbc_plot}


def save_plots(ds: xr.Dataset, specs, folder: str | Path) -> list[Path]:
    """Draw every entry of ``specs`` into ``folder``; returns the PNG paths."""
    plt = _mpl()
    out = []
    for spec in specs or []:
        spec = dict(spec)
        kind = spec.get("kind")
        if kind not in PLOTS:
            raise ValueError(f"plot kind must be one of {sorted(PLOTS)}, got {kind!r}")
        if kind != "sbc" and spec.get("x") not in ds.coords:
            raise ValueError(f"plot {spec}: x must be a grid coordinate, one of {[str(c) for c in ds.coords]}")
        sub = _subset(ds, spec.get("where"))
        if sub.sizes["setting"] == 0:
            continue
        fig, stem = PLOTS[kind](sub, spec)
        name = spec.get("name") or stem
        path = Path(folder) / f"{name}.png"
        write_with(path, lambda p: fig.savefig(p, dpi=130, format="png"))
        plt.close(fig)
        out.append(path)
    return out
