"""The Monte Carlo engine: replication keys, batched simulate-and-estimate, resumable settings.

Keys. Replication r of setting s under seed ``seed`` uses the key

    k(seed, s, r) = fold_in(derive_key(key(seed), "setting:" + id(s)), r)

(:func:`replication_key`), where ``id(s)`` hashes the setting's DGP parameters and panel
size (:meth:`~tradeq.montecarlo.studies.Setting.id`). The simulator draws from it
(:func:`tradeq.dgp.firm_panel.simulate_grid`), a prior draw (SBC) from
``derive_key(k, "truth")`` and estimator ``e`` from ``derive_key(k, "estimator:" + e)``. A
replication therefore depends only on (seed, setting, r): not on the other settings, on
the order they run in, on how many replications there are or on how they are chunked, so
any one can be re-run alone (:func:`run_replications` with ``reps=[r]``).

Batches. For each chunk of replication ids the simulator and every batched estimator run
as one compiled call over the whole chunk (:func:`_batch_body`): ``jax.vmap`` (``batch="vmap"``)
or ``jax.lax.map`` (``batch="map"``, the default on CPU). Both run many panels in one XLA
program; they differ in bits. A vmapped body is vectorised across the batch, and XLA's
code for B replications rounds differently for different B (measured: differences of
~1e-13 relative between chunk sizes 1, 2, 3, 5, 7 and 12 in the double-precision
arithmetic, ~1e-7 in the simulator's single-precision AR(1) of the controls'
innovations, :func:`tradeq.dgp.firm_panel.controls`, hence ~1e-7 of their scale in the
estimates), so with vmap a replication's numbers depend, at that level, on the chunk
it ran in. ``lax.map`` compiles the body for one replication and loops over the
chunk inside the program: every replication is computed by the same code whatever the
chunk size, so results are bit-identical for any chunking and a replication re-run alone
reproduces its batch value exactly. On CPU it is also no slower (measured per replication
at 500 firms: 1.9 ms vs 2.4 ms with vmap; at 5,000 firms: 18 ms vs 26 ms) and compiles
faster; on a GPU vmap's parallelism across replications pays, so it is the default there.
Every chunk of a setting has the same length (the last one is padded with repeats of its final id, whose results are
dropped), so one compilation serves the setting; DGP parameters are traced arguments, so
settings that differ only in numeric parameters (b2, sigma_e, ...) share it too. Chunks hold
at most ``max_cells`` firm-year cells (``n_firms · n_years · chunk``), and ``workers`` of
them run at once (threads), which bounds memory. Host estimators (``host = True``, e.g.
MCMC) then run once per replication on the same panels.

Resuming. Each setting's replications and metrics go to one NetCDF file in
``results_dir``, named by the setting id and a hash of everything that determines its
numbers (setting, seed, reps, level, estimator specs, :data:`RESULT_VERSION`), written
atomically. :func:`run_study` loads a setting's file when it exists instead of computing
it, so an interrupted run or sweep, re-run, computes only the settings that are missing.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from tradeq.atomic import write_netcdf
from tradeq.cpu_compiler_options import compiler_options_for
from tradeq.dgp.firm_panel import simulate_grid
from tradeq.dgp.keys import base_key, derive_key
from tradeq.models.precision import require_x64
from tradeq.runtime import cpu_devices

from . import metrics as M
from .estimators import EstimateRecord, Estimator, TestRecord
from .studies import Setting, Study, assumptions_hold, stable_hash

log = logging.getLogger("tradeq")

#: Bump when a change to the engine or estimators changes results, so stale files are not reused.
RESULT_VERSION = 7  # 2: the simulator's normals from keys.probit; 3: year-major FE fit (last digits); 4: both threefry words used; 5: CPU compiler options (last digits); 6: two-stage panel sums (last digits); 7: float32 probit and controls, tabulated ln(age + 1)

#: Default bound on the firm-year cells of one batch (with ``batch="vmap"`` all of them are in
#: memory at once, a few hundred bytes per cell for the simulator and estimators together).
MAX_CELLS = 1_000_000


# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------


def setting_key(seed: int, setting: Setting) -> jax.Array:
    """The key of ``setting``'s random stream under ``seed``."""
    return derive_key(base_key(seed), f"setting:{setting.id()}")


def replication_key(seed: int, setting: Setting, rep: int) -> jax.Array:
    """The key of replication ``rep`` of ``setting`` (see the module docstring)."""
    return jax.random.fold_in(setting_key(seed, setting), rep)


# ---------------------------------------------------------------------------------------
# One batch of replications
# ---------------------------------------------------------------------------------------


def _one(skey, rep, params, n_obs, n_firms, n_years, estimators, with_panel):
    """One replication (traced): prior draw (if an estimator has one), panel, truths, the
    batched estimators' outputs, and the panel itself when host estimators need it."""
    key = jax.random.fold_in(skey, rep)
    for e in estimators:
        if e.draw_truth is not None:
            params = e.draw_truth(derive_key(key, "truth"), params)
    panel = simulate_grid(key, params, n_firms, n_years, n_obs)
    truth = {}
    for e in estimators:
        truth.update(e.truth(params))
    out = {"truth": truth,
           "est": {e.name: e.batched(panel, params, derive_key(key, f"estimator:{e.name}"))
                   for e in estimators if not e.host}}
    if with_panel:
        out["panel"] = panel
        out["params"] = params
    return out


#: How a batch evaluates its replications: ``"map"`` (``jax.lax.map``: the body compiled
#: for one replication, looped inside one XLA program) or ``"vmap"`` (``jax.vmap``: the
#: body vectorised across the batch).
BATCH_MODES = ("map", "vmap")


def default_batch_mode() -> str:
    """``"map"`` on CPU, ``"vmap"`` on accelerators (see the module docstring)."""
    return "map" if jax.default_backend() == "cpu" else "vmap"


def _batch_body(skey, reps, params, n_obs, *, n_firms, n_years, estimators, with_panel, mode):
    """Simulate and estimate replications ``reps`` (B,) of one setting: outputs stacked (B, ...)."""
    def one(r):
        return _one(skey, r, params, n_obs, n_firms, n_years, estimators, with_panel)

    return jax.lax.map(one, reps) if mode == "map" else jax.vmap(one)(reps)


@functools.cache
def _batch(platform: str) -> Callable:
    """:func:`_batch_body`, jit-compiled for ``platform`` -- on ``"cpu"`` with the compiler
    options of :mod:`tradeq.cpu_compiler_options`."""
    return jax.jit(_batch_body, static_argnames=("n_firms", "n_years", "estimators", "with_panel", "mode"),
                   compiler_options=compiler_options_for(platform))


def auto_chunk(setting: Setting, reps: int, max_cells: int = MAX_CELLS) -> int:
    """Replications per batch: as many as fit in ``max_cells`` cells, at least 1, at most ``reps``."""
    return int(max(1, min(reps, max_cells // (setting.n_firms * setting.n_years))))


def default_workers() -> int:
    """Batches run at once: the CPU count, at most 4 (each holds up to ``max_cells`` cells)."""
    return max(1, min(4, os.cpu_count() or 1))


def run_replications(setting: Setting, estimators: Sequence[Estimator], seed: int, reps, *,
                     chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
                     batch: str | None = None, progress: Callable[[int], None] | None = None) -> dict:
    """Raw outputs of replications ``reps`` (an int R for ids 0..R-1, or a list of ids).

    Returns ``{"truth": {param: (R,)}, "est": {name: pytree of (R, ...)}}`` as NumPy arrays,
    in the order of ``reps``. ``progress(n)`` is called after every n finished replications.

    ``workers`` batches run concurrently from a thread pool (the GIL is released while XLA
    runs). On CPU each worker thread runs its batches on its own XLA CPU device
    (:mod:`tradeq.runtime`): executions on one device run one after another, so
    without this the workers would mostly queue behind each other. Each device compiles the
    batch function once; with a single device the first batch runs alone, so it is compiled
    once. Results are collected in replication order, so they do not
    depend on ``workers`` any more than on ``chunk_size``. ``batch``: ``"map"`` or
    ``"vmap"`` (default :func:`default_batch_mode`; see the module docstring).
    """
    require_x64()
    estimators = tuple(estimators)
    mode = batch or default_batch_mode()
    if mode not in BATCH_MODES:
        raise ValueError(f"batch must be one of {BATCH_MODES}, got {mode!r}")
    ids = np.arange(int(reps), dtype=np.uint32) if np.isscalar(reps) else np.asarray(reps, dtype=np.uint32)
    if ids.size == 0:
        raise ValueError("no replications to run")
    chunk = int(chunk_size) if chunk_size else auto_chunk(setting, ids.size, max_cells)
    chunk = max(1, min(chunk, ids.size))
    skey = setting_key(seed, setting)
    host = [e for e in estimators if e.host]
    n_obs = None if setting.n_obs is None else jnp.asarray(setting.n_obs)
    starts = list(range(0, ids.size, chunk))

    placement = threading.local()

    def run_batch(start: int) -> dict:
        sel = ids[start:start + chunk]
        padded = np.concatenate([sel, np.repeat(sel[-1:], chunk - sel.size)])
        key, rep_ids = skey, jnp.asarray(padded)
        device = getattr(placement, "device", None)
        if device is not None:
            key, rep_ids = jax.device_put((key, rep_ids), device)
        platform = device.platform if device is not None else jax.default_backend()
        out = _batch(platform)(key, rep_ids, setting.params, n_obs, n_firms=setting.n_firms,
                               n_years=setting.n_years, estimators=estimators, with_panel=bool(host),
                               mode=mode)
        out = jax.tree_util.tree_map(lambda a: np.asarray(a)[:sel.size], out)
        if progress is not None and not host:
            progress(sel.size)
        return out

    def finish(start: int, out: dict) -> dict:
        """Host estimators, in order, on the main thread."""
        if not host:
            return out
        sel = ids[start:start + chunk]
        panel, params = out.pop("panel"), out.pop("params")
        for e in host:
            rows = []
            for i in range(sel.size):
                key = derive_key(jax.random.fold_in(skey, int(sel[i])), f"estimator:{e.name}")
                rows.append(e.run(jax.tree_util.tree_map(lambda a: a[i], panel),
                                  jax.tree_util.tree_map(lambda a: a[i], params), key))
                if progress is not None:
                    progress(1)
            out["est"][e.name] = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *rows)
        return out

    n_workers = max(1, min(int(workers or default_workers()), len(starts)))
    devices = cpu_devices() if n_workers > 1 else []
    numbering = itertools.count()

    def take_device() -> None:
        # Each worker thread keeps one CPU device (tradeq.runtime); the compiled
        # program is the same on every device, so results do not depend on the device.
        placement.device = devices[next(numbering) % len(devices)]

    # With one device the first batch runs alone, so the function is compiled once; with a
    # device per worker every worker compiles for its own device anyway.
    on_devices = len(devices) > 1
    alone = [] if on_devices else starts[:1]
    parts = [finish(start, run_batch(start)) for start in alone]
    rest = starts[len(alone):]
    if rest:
        with ThreadPoolExecutor(max_workers=min(n_workers, len(rest)),
                                initializer=take_device if on_devices else None) as pool:
            for start, out in zip(rest, pool.map(run_batch, rest)):
                parts.append(finish(start, out))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=0), *parts)


# ---------------------------------------------------------------------------------------
# From raw outputs to a setting's Dataset
# ---------------------------------------------------------------------------------------


def collect_records(estimators: Sequence[Estimator], raw: dict, level: float) -> tuple[list[EstimateRecord], list[TestRecord]]:
    """Every estimator's records from the raw outputs of :func:`run_replications`."""
    est, tests = [], []
    for e in estimators:
        a, b = e.records(raw["est"][e.name], level)
        est += a
        tests += b
    return est, tests


def _ordered(items) -> list:
    return list(dict.fromkeys(items))


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
    reject = np.full((len(labels), len(test_names), R), np.nan)
    rr, rr_se = np.full(reject.shape[:2], np.nan), np.full(reject.shape[:2], np.nan)
    for t in tests:
        i, j = labels.index(t.estimator), test_names.index(t.test)
        reject[i, j] = np.asarray(t.reject, float)
        rr[i, j], rr_se[i, j] = M.rate(t.reject)
    dims3, dims2 = ("estimator", "parameter", "rep"), ("estimator", "parameter")
    data = {name: (dims3, arr) for name, arr in rep_vars.items()}
    data["truth"] = (("parameter", "rep"), np.stack([np.asarray(truth[p], float) for p in params]) if params
                     else np.zeros((0, R)))
    data["reject"] = (("estimator", "test", "rep"), reject)
    for m in M.METRICS:
        data[m] = (dims2, met[m])
        data[f"{m}_mcse"] = (dims2, mcse[m])
    data["rejection_rate"] = (("estimator", "test"), rr)
    data["rejection_rate_mcse"] = (("estimator", "test"), rr_se)
    data["n_valid"] = (dims2, n_valid)
    attrs = {"level": level, "reps": R}
    if rank is not None:
        data["rank"] = (dims3, rank)
        p = M.rank_uniformity(rank, n_draws)
        data["sbc_uniformity_p"] = (dims2, p)
        attrs["sbc_n_draws"] = int(n_draws)
    return xr.Dataset(data, coords={"estimator": labels, "parameter": params, "test": test_names,
                                    "rep": np.arange(R)}, attrs=attrs)


# ---------------------------------------------------------------------------------------
# Settings with resumable result files, and whole studies
# ---------------------------------------------------------------------------------------


def result_name(setting: Setting, estimators: Sequence[Estimator], seed: int, reps: int, level: float) -> str:
    """File name of a setting's results: ``<setting id>-<hash of what determines them>.nc``."""
    h = stable_hash({"setting": setting.record(), "seed": int(seed), "reps": int(reps), "level": float(level),
                     "estimators": [e.spec() for e in estimators], "version": RESULT_VERSION})
    return f"{setting.id()}-{h}.nc"


def run_setting(setting: Setting, estimators: Sequence[Estimator], seed: int, reps: int, level: float = 0.95, *,
                chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
                batch: str | None = None, progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """All ``reps`` replications of one setting, as :func:`setting_dataset`."""
    raw = run_replications(setting, estimators, seed, reps, chunk_size=chunk_size, max_cells=max_cells,
                           workers=workers, batch=batch, progress=progress)
    est, tests = collect_records(estimators, raw, level)
    return setting_dataset(est, tests, raw["truth"], level)


def run_study(study: Study, seed: int, results_dir: str | Path, *, resume: bool = True,
              chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
              batch: str | None = None, progress: bool = True) -> tuple[xr.Dataset, list[dict]]:
    """Run (or load) every setting of ``study``; return the study Dataset and one record per
    setting (``id``, ``label``, ``file``, ``cached``, ``seconds``).

    Settings whose result file exists in ``results_dir`` are loaded (with ``resume``); the
    others run on ``workers`` threads — several settings at once when there are enough of
    them (their compilations overlap too), else the batches of one setting — with one
    progress bar over all their replications. Each computed setting is written as soon as
    it finishes.

    The Dataset stacks the settings' Datasets along ``setting``, with one coordinate per
    grid key (``n_firms``, ``error``, ...), ``setting_id``, and ``assumptions_hold``
    (setting, estimator) when the study declares ``valid``.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    n = len(study.settings)
    paths = [results_dir / result_name(s, study.estimators, seed, study.reps, study.level) for s in study.settings]
    # Settings that coincide (e.g. b2 = 0 at two turning points: b1 = b2 = 0 in both) share
    # one result file, computed once.
    todo = [i for i, p in enumerate(paths) if not (resume and p.exists()) and paths.index(p) == i]
    workers = max(1, int(workers or default_workers()))
    at_once = max(1, min(workers, len(todo)))
    per_setting = max(1, workers // at_once)
    bar = tqdm(total=len(todo) * study.reps, desc=study.name, disable=not progress, unit="rep", smoothing=0.05)
    seconds: dict[int, float] = {}

    def compute(i: int) -> None:
        s, start = study.settings[i], time.perf_counter()
        ds = run_setting(s, study.estimators, seed, study.reps, study.level, chunk_size=chunk_size,
                         max_cells=max_cells, workers=per_setting, batch=batch, progress=bar.update)
        seconds[i] = round(time.perf_counter() - start, 3)
        ds.attrs.update({"setting": json.dumps(s.record()), "setting_id": s.id(), "seed": int(seed),
                         "seconds": seconds[i],
                         "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")})
        write_netcdf(paths[i], ds)
        log.info("setting %d/%d (%s): computed in %.1f s -> %s", i + 1, n, s.label(), seconds[i], paths[i].name)

    try:
        with ThreadPoolExecutor(max_workers=at_once) as pool:
            for f in [pool.submit(compute, i) for i in todo]:
                f.result()
    finally:
        bar.close()

    parts, info = [], []
    for i, (s, path) in enumerate(zip(study.settings, paths)):
        cached = i not in seconds
        if cached:
            log.info("setting %d/%d (%s): cached in %s, skipped", i + 1, n, s.label(), path.name)
        with xr.open_dataset(path, engine="h5netcdf") as f:
            parts.append(f.load())
        info.append({"id": s.id(), "label": s.label(), "file": str(path), "cached": cached,
                     "seconds": seconds.get(i, 0.0)})
    return combine_settings(study, parts, seed), info


def _coord_values(values: list) -> np.ndarray:
    if all(v is None or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
           for v in values):
        return np.array([np.nan if v is None else float(v) for v in values])
    return np.array(["none" if v is None else str(v) for v in values])


def combine_settings(study: Study, parts: list[xr.Dataset], seed: int) -> xr.Dataset:
    """Stack per-setting Datasets along ``setting`` and attach the grid coordinates."""
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
