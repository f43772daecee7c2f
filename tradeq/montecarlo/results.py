"""From raw replication outputs to Datasets: one per setting, then one per study.

:func:`setting_dataset` holds a setting's replication-level values and its metrics
(:mod:`tradeq.montecarlo.metrics`, each with a Monte Carlo SE); :func:`combine_settings`
stacks the settings of a study along ``setting`` with the grid values as coordinates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from . import metrics as M
from .estimators import EstimateRecord, Estimator, TestRecord
from .studies import Study, assumptions_hold


def collect_records(estimators: Sequence[Estimator], raw: dict, level: float) -> tuple[list[EstimateRecord], list[TestRecord]]:
    """Every estimator's records from the raw outputs of
    :func:`~tradeq.montecarlo.batching.run_replications`."""
    est, tests = [], []
    for e in estimators:
        a, b = e.records(raw["est"][e.name], level)
        est += a
        tests += b
    return est, tests


def _ordered(items) -> list:
    return list(dict.fromkeys(items))


def _estimate_vars(est: list[EstimateRecord], truth: dict, labels: list[str], params: list[str], R: int) -> dict:
    """Replication values (estimator, parameter, rep) and metrics (estimator, parameter)."""
    shape = (len(labels), len(params), R)
    rep_vars = {v: np.full(shape, np.nan) for v in ("estimate", "std_error", "conf_low", "conf_high")}
    met = {m: np.full(shape[:2], np.nan) for m in M.METRICS}
    mcse = {m: np.full(shape[:2], np.nan) for m in M.METRICS}
    n_valid = np.zeros(shape[:2])
    rank = np.full(shape, np.nan) if any(r.rank is not None for r in est) else None
    n_draws = 0
    for r in est:
        i, j = labels.index(r.estimator), params.index(r.parameter)
        th = np.asarray(truth[r.parameter], float)
        rep_vars["estimate"][i, j] = r.estimate
        for name, arr in (("std_error", r.se), ("conf_low", r.lo), ("conf_high", r.hi)):
            if arr is not None:
                rep_vars[name][i, j] = arr
        for name, (v, s) in M.estimate_metrics(r.estimate, th, r.se, r.lo, r.hi).items():
            met[name][i, j], mcse[name][i, j] = v, s
        n_valid[i, j] = np.isfinite(np.asarray(r.estimate, float)).sum()
        if r.rank is not None:
            rank[i, j] = r.rank
            n_draws = r.n_draws
    dims3, dims2 = ("estimator", "parameter", "rep"), ("estimator", "parameter")
    data = {name: (dims3, arr) for name, arr in rep_vars.items()}
    data["truth"] = (("parameter", "rep"), np.stack([np.asarray(truth[p], float) for p in params]) if params
                     else np.zeros((0, R)))
    for m in M.METRICS:
        data[m] = (dims2, met[m])
        data[f"{m}_mcse"] = (dims2, mcse[m])
    data["n_valid"] = (dims2, n_valid)
    if rank is not None:
        data["rank"] = (dims3, rank)
        data["sbc_uniformity_p"] = (dims2, M.rank_uniformity(rank, n_draws))
    return {"data": data, "n_draws": n_draws if rank is not None else None}


def _test_vars(tests: list[TestRecord], labels: list[str], test_names: list[str], R: int) -> dict:
    """Rejections (estimator, test, rep) and rejection rates (estimator, test)."""
    reject = np.full((len(labels), len(test_names), R), np.nan)
    rr, rr_se = np.full(reject.shape[:2], np.nan), np.full(reject.shape[:2], np.nan)
    for t in tests:
        i, j = labels.index(t.estimator), test_names.index(t.test)
        reject[i, j] = np.asarray(t.reject, float)
        rr[i, j], rr_se[i, j] = M.rate(t.reject)
    dims = ("estimator", "test")
    return {"reject": (dims + ("rep",), reject), "rejection_rate": (dims, rr), "rejection_rate_mcse": (dims, rr_se)}


def setting_dataset(est: list[EstimateRecord], tests: list[TestRecord], truth: dict, level: float) -> xr.Dataset:
    """Replication-level values and metrics of one setting.

    Dims ``estimator``, ``parameter``, ``test``, ``rep``. Per replication: ``estimate``,
    ``std_error``, ``conf_low``, ``conf_high`` (estimator, parameter, rep), ``truth``
    (parameter, rep), ``reject`` (estimator, test, rep; 1/0, NaN where the test does not
    apply), ``rank`` (SBC only). Metrics (:mod:`tradeq.montecarlo.metrics`), each with a
    ``_mcse`` companion: ``bias``, ``rmse``, ``coverage``, ``ci_length``, ``emp_sd``,
    ``mean_se`` (estimator, parameter), ``rejection_rate`` (estimator, test); ``n_valid``
    counts finite estimates.
    """
    labels = _ordered([r.estimator for r in est] + [t.estimator for t in tests])
    params = _ordered([r.parameter for r in est])
    test_names = _ordered([t.test for t in tests])
    R = len(next(iter(truth.values())))
    estimates = _estimate_vars(est, truth, labels, params, R)
    tested = _test_vars(tests, labels, test_names, R)
    data = dict(estimates["data"])
    for name in ("reject", "rejection_rate", "rejection_rate_mcse"):
        data[name] = tested[name]
    # variables in the order they have always had in study.nc
    order = ["estimate", "std_error", "conf_low", "conf_high", "truth", "reject",
             *[v for m in M.METRICS for v in (m, f"{m}_mcse")], "rejection_rate", "rejection_rate_mcse", "n_valid",
             "rank", "sbc_uniformity_p"]
    data = {name: data[name] for name in order if name in data}
    attrs = {"level": level, "reps": R}
    if estimates["n_draws"] is not None:
        attrs["sbc_n_draws"] = int(estimates["n_draws"])
    return xr.Dataset(data, coords={"estimator": labels, "parameter": params, "test": test_names,
                                    "rep": np.arange(R)}, attrs=attrs)


def _coord_values(values: list) -> np.ndarray:
    if all(v is None or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
           for v in values):
        return np.array([np.nan if v is None else float(v) for v in values])
    return np.array(["none" if v is None else str(v) for v in values])


def combine_settings(study: Study, parts: list[xr.Dataset], seed: int) -> xr.Dataset:
    """Stack per-setting Datasets along ``setting`` and attach the grid coordinates
    (``setting_id``, one per grid key; ``assumptions_hold`` (setting, estimator) when the
    study declares ``valid``)."""
    sbc_draws = [p.attrs["sbc_n_draws"] for p in parts if "sbc_n_draws" in p.attrs]
    parts = [p.drop_attrs() for p in parts]
    ds = xr.concat(parts, dim="setting", join="outer", data_vars="all", coords="minimal",
                   combine_attrs="drop_conflicts", fill_value=np.nan)
    coords: dict[str, Any] = {"setting": np.arange(len(study.settings)),
                              "setting_id": ("setting", np.array([s.id() for s in study.settings]))}
    keys = [k for k, _ in study.settings[0].coords] if study.settings else []
    for k in keys:
        coords[k] = ("setting", _coord_values([dict(s.coords)[k] for s in study.settings]))
    ds = ds.assign_coords(coords)
    if study.valid:
        ok = np.array([[bool(assumptions_hold(study, s, lab)) for lab in ds.estimator.values]
                       for s in study.settings], dtype=np.int8)
        ds["assumptions_hold"] = (("setting", "estimator"), ok)
    ds.attrs = {"study": study.name, "seed": int(seed), "reps": int(study.reps), "level": float(study.level),
                "grid": ",".join(keys), "estimators": json.dumps([e.spec() for e in study.estimators]),
                "settings": json.dumps([s.record() for s in study.settings])}
    if sbc_draws:
        ds.attrs["sbc_n_draws"] = int(sbc_draws[0])
    return ds
