"""``summary.md``: the study's metrics as Markdown tables, every number with its MC SE.

One table per (metric, parameter) or (test): a row per setting (its grid coordinates), a
column per estimator, cells ``value (MC SE)``. Coverage cells outside the nominal band
``level ± 2 sqrt(level (1 - level) / R)`` are bold; a dagger marks an estimator whose
interval assumptions do not hold in that setting (the study's ``valid`` map).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .metrics import nominal_band


def setting_coords(ds: xr.Dataset) -> list[str]:
    """The grid coordinates along ``setting`` (``n_firms``, ``error``, ...)."""
    return [str(c) for c in ds.coords if ds.coords[c].dims == ("setting",) and c not in ("setting", "setting_id")]


def _fmt_coord(v) -> str:
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return "–"
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{float(v):.6g}"
    return str(v)


def _cell(v: float, se: float, digits: int = 3) -> str:
    if not np.isfinite(v):
        return "–"
    if not np.isfinite(se):
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} ({se:.{digits}f})"


def _sig(v: float, se: float) -> str:
    """Bias-like numbers with 3 significant digits, in scientific notation when small."""
    if not np.isfinite(v):
        return "–"
    f = (lambda x: f"{x:.3g}") if 1e-3 <= abs(v) < 1e4 or v == 0 else (lambda x: f"{x:.2e}")
    return f"{f(v)} ({f(se)})" if np.isfinite(se) else f(v)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _row_labels(ds: xr.Dataset, coords: list[str]) -> list[list[str]]:
    return [[_fmt_coord(ds[c].values[i]) for c in coords] for i in range(ds.sizes["setting"])]


def _estimators_with(ds: xr.Dataset, var: str, **sel) -> list[str]:
    da = ds[var].sel(**sel)
    return [str(e) for e in ds.estimator.values if np.isfinite(da.sel(estimator=e).values).any()]


def coverage_table(ds: xr.Dataset, parameter: str) -> str:
    coords = setting_coords(ds)
    ests = _estimators_with(ds, "coverage", parameter=parameter)
    level, R = float(ds.attrs.get("level", 0.95)), int(ds.attrs.get("reps", ds.sizes.get("rep", 1)))
    lo, hi = nominal_band(level, R)
    rows = []
    for i, labels in enumerate(_row_labels(ds, coords)):
        row = list(labels)
        for e in ests:
            v = float(ds.coverage.sel(parameter=parameter, estimator=e).values[i])
            se = float(ds.coverage_mcse.sel(parameter=parameter, estimator=e).values[i])
            c = _cell(v, se)
            if np.isfinite(v) and not lo <= v <= hi:
                c = f"**{c}**"
            if "assumptions_hold" in ds and not int(ds.assumptions_hold.sel(estimator=e).values[i]):
                c += " †"
            row.append(c)
        rows.append(row)
    return _table(coords + ests, rows)


def metric_table(ds: xr.Dataset, var: str, parameter: str, per_name: bool = False, fmt=_cell) -> str:
    """``var`` (estimator, parameter) per setting; ``per_name`` keeps one label per point
    estimator (``fe/iid`` and ``fe/cluster`` share their estimates, hence bias and RMSE)."""
    coords = setting_coords(ds)
    ests = _estimators_with(ds, var, parameter=parameter)
    if per_name:
        ests = list({e.split("/")[0]: e for e in reversed(ests)}.values())[::-1]
    rows = []
    for i, labels in enumerate(_row_labels(ds, coords)):
        rows.append(list(labels) + [fmt(float(ds[var].sel(parameter=parameter, estimator=e).values[i]),
                                        float(ds[f"{var}_mcse"].sel(parameter=parameter, estimator=e).values[i]))
                                    for e in ests])
    header = coords + ([e.split("/")[0] for e in ests] if per_name else ests)
    return _table(header, rows)


def rejection_table(ds: xr.Dataset, test: str) -> str:
    coords = setting_coords(ds)
    ests = _estimators_with(ds, "rejection_rate", test=test)
    rows = []
    for i, labels in enumerate(_row_labels(ds, coords)):
        rows.append(list(labels) + [_cell(float(ds.rejection_rate.sel(test=test, estimator=e).values[i]),
                                          float(ds.rejection_rate_mcse.sel(test=test, estimator=e).values[i]))
                                    for e in ests])
    return _table(coords + ests, rows)


def sbc_table(ds: xr.Dataset) -> str:
    coords = setting_coords(ds)
    rows = []
    for i, labels in enumerate(_row_labels(ds, coords)):
        for e in ds.estimator.values:
            for p in ds.parameter.values:
                pv = float(ds.sbc_uniformity_p.sel(estimator=e, parameter=p).values[i])
                if not np.isfinite(pv):
                    continue
                cov = _cell(float(ds.coverage.sel(estimator=e, parameter=p).values[i]),
                            float(ds.coverage_mcse.sel(estimator=e, parameter=p).values[i]))
                rows.append(list(labels) + [str(e), str(p), f"{pv:.3f}", cov])
    return _table(coords + ["estimator", "parameter", "rank uniformity p", "coverage"], rows)


TEST_TITLES = {
    "utest": "Rejection rate of the Lind–Mehlum inverted-U test",
    "b2=0": "Rejection rate of the t test of b2 = 0",
    "wald": "Rejection rate of the joint Wald (F) test of b1 = b2 = 0",
    "indirect=0": "Rejection rate of the test of no indirect effect (a·b = 0)",
}


def render(ds: xr.Dataset, *, seconds: float | None = None) -> str:
    """The whole ``summary.md``."""
    level, R = float(ds.attrs.get("level", 0.95)), int(ds.attrs.get("reps", ds.sizes.get("rep", 1)))
    lo, hi = nominal_band(level, R)
    head = [f"# Monte Carlo study `{ds.attrs.get('study', '')}`", "",
            f"{ds.sizes['setting']} settings × {R:,} replications, seed {ds.attrs.get('seed')}, "
            f"{int(round(100 * level))}% intervals."
            + (f" Wall time {seconds:.1f} s." if seconds is not None else ""), "",
            "Cells: value (Monte Carlo SE). MC SEs: sqrt(p(1−p)/R) for rates, sd/sqrt(R) for bias and "
            "interval length, delta method for RMSE.",
            f"Coverage outside the nominal band {level:.2f} ± 2·sqrt({level:.2f}·{1 - level:.2f}/R) = "
            f"[{lo:.3f}, {hi:.3f}] is **bold**; † marks an estimator whose assumptions do not hold in "
            "that setting.", ""]
    out = head
    params = [str(p) for p in ds.parameter.values]
    if "sbc_uniformity_p" in ds:
        out += ["## Simulation-based calibration", "",
                f"Ranks of the truth among {ds.attrs.get('sbc_n_draws', '?')} posterior draws; "
                "p-value of a chi-square test of uniform ranks; coverage of central credible intervals "
                "(exact on average over the prior when the posterior is right).", "", sbc_table(ds), ""]
    for p in params:
        if np.isfinite(ds.coverage.sel(parameter=p).values).any():
            out += [f"## Coverage of {int(round(100 * level))}% intervals: {p}", "", coverage_table(ds, p), ""]
    for p in params:
        out += [f"## Bias: {p}", "", metric_table(ds, "bias", p, per_name=True, fmt=_sig), "",
                f"## RMSE: {p}", "", metric_table(ds, "rmse", p, per_name=True, fmt=_sig), ""]
        if np.isfinite(ds.ci_length.sel(parameter=p).values).any():
            out += [f"## Mean interval length: {p}", "", metric_table(ds, "ci_length", p, fmt=_sig), ""]
    for t in ds.test.values:
        t = str(t)
        out += [f"## {TEST_TITLES.get(t, f'Rejection rate: {t}')}", "", rejection_table(ds, t), ""]
    return "\n".join(out)
