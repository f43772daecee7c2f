"""The Monte Carlo engine: settings and whole studies, resumable and interruptible.

The parts: :mod:`~tradeq.montecarlo.keys` (every replication's key from (seed, setting,
replication)), :mod:`~tradeq.montecarlo.batching` (simulate and estimate a setting's
replications in compiled chunks on worker threads), :mod:`~tradeq.montecarlo.results`
(replications to Datasets with metrics) and :mod:`~tradeq.montecarlo.cache` (per-setting
result files, keyed by digests of what the code computes). This module runs them:
:func:`run_setting` for one setting, :func:`run_study` for a study.

Resuming. Each setting's replications and metrics go to one NetCDF file in
``results_dir`` as soon as the setting finishes (a temporary file, then a rename), so a
result file is always complete. :func:`run_study` loads a setting's file when one exists
under the current key instead of computing it, so an interrupted run or sweep, re-run,
computes only the settings that are missing.

Interrupting. Ctrl-C (``KeyboardInterrupt`` in the main thread) stops a study promptly:
queued settings are cancelled, the workers take no further batch (a batch already running
finishes), nothing is written for a setting that did not finish, and
:class:`StudyInterrupted` (a ``KeyboardInterrupt``) says how many settings are saved.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import xarray as xr
from tqdm.auto import tqdm

from .batching import (
    BATCH_MODES,
    MAX_CELLS,
    auto_chunk,
    batch_mode,
    chunk_for,
    default_batch_mode,
    default_workers,
    run_replications,
)
from .cache import cache_key, load_result, result_file, store_result
from .estimators import Estimator
from .keys import replication_key, setting_key
from .results import collect_records, combine_settings, setting_dataset
from .studies import Setting, Study

__all__ = [
    "BATCH_MODES", "MAX_CELLS", "StudyInterrupted", "auto_chunk", "collect_records", "combine_settings",
    "default_batch_mode", "default_workers", "replication_key", "result_name", "run_replications", "run_setting",
    "run_study", "setting_dataset", "setting_key",
]

log = logging.getLogger("tradeq")


class StudyInterrupted(KeyboardInterrupt):
    """A study stopped by Ctrl-C; the message says how many settings are saved and where."""


def run_setting(setting: Setting, estimators: Sequence[Estimator], seed: int, reps: int, level: float = 0.95, *,
                chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
                batch: str | None = None, progress: Callable[[int], None] | None = None,
                stop: threading.Event | None = None) -> xr.Dataset:
    """All ``reps`` replications of one setting, as :func:`~tradeq.montecarlo.results.setting_dataset`."""
    raw = run_replications(setting, estimators, seed, reps, chunk_size=chunk_size, max_cells=max_cells,
                           workers=workers, batch=batch, progress=progress, stop=stop)
    est, tests = collect_records(estimators, raw, level)
    return setting_dataset(est, tests, raw["truth"], level)


def result_name(setting: Setting, estimators: Sequence[Estimator], seed: int, reps: int, level: float, *,
                batch: str | None = None, chunk_size: int | None = None, max_cells: int = MAX_CELLS) -> str:
    """File name of a setting's results under the current code (:mod:`~tradeq.montecarlo.cache`)."""
    mode = batch_mode(batch)
    key = cache_key(setting, estimators, seed, reps, level, mode=mode,
                    chunk=chunk_for(setting, reps, chunk_size, max_cells))
    return result_file(setting, key)


def _compute(study: Study, todo: list[int], compute: Callable[[int, threading.Event], None], at_once: int) -> None:
    """``compute(i, stop)`` for every setting ``i`` of ``todo``, ``at_once`` at a time; on any
    exception (Ctrl-C included) the others stop at their next batch before it propagates."""
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        futures = [pool.submit(compute, i, stop) for i in todo]
        try:
            pending = set(futures)
            while pending:
                # a timed wait, so the main thread sees Ctrl-C within a fraction of a second
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise


def run_study(study: Study, seed: int, results_dir: str | Path, *, resume: bool = True,
              chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
              batch: str | None = None, progress: bool = True) -> tuple[xr.Dataset, list[dict]]:
    """Run (or load) every setting of ``study``; return the study Dataset and one record per
    setting (``id``, ``label``, ``file``, ``cached``, ``seconds``).

    Settings whose result file exists in ``results_dir`` under the current key are loaded
    (with ``resume``); the others run on ``workers`` threads -- several settings at once
    when there are enough of them (their compilations overlap too), else the batches of one
    setting -- under one progress bar over settings × replications. Each computed setting is
    written as soon as it finishes. Ctrl-C raises :class:`StudyInterrupted` (module docstring).

    The Dataset stacks the settings' Datasets along ``setting``, with one coordinate per
    grid key (``n_firms``, ``error``, ...), ``setting_id``, and ``assumptions_hold``
    (setting, estimator) when the study declares ``valid``.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    mode, n = batch_mode(batch), len(study.settings)
    keys = [cache_key(s, study.estimators, seed, study.reps, study.level, mode=mode,
                      chunk=chunk_for(s, study.reps, chunk_size, max_cells)) for s in study.settings]
    paths = [results_dir / result_file(s, k) for s, k in zip(study.settings, keys)]
    # Settings that coincide (e.g. b2 = 0 at two turning points: b1 = b2 = 0 in both) share
    # one result file, computed once.
    unique = [i for i, p in enumerate(paths) if paths.index(p) == i]
    todo = [i for i in unique if not (resume and load_result(paths[i], keys[i]) is not None)]
    workers = max(1, int(workers or default_workers()))
    at_once = max(1, min(workers, len(todo)))
    seconds: dict[int, float] = {}
    bar = tqdm(total=len(unique) * study.reps, initial=(len(unique) - len(todo)) * study.reps, desc=study.name,
               disable=not progress, unit="rep", smoothing=0.05)

    def compute(i: int, stop: threading.Event) -> None:
        s, start = study.settings[i], time.perf_counter()
        ds = run_setting(s, study.estimators, seed, study.reps, study.level, chunk_size=chunk_size,
                         max_cells=max_cells, workers=max(1, workers // at_once), batch=mode, progress=bar.update,
                         stop=stop)
        seconds[i] = round(time.perf_counter() - start, 3)
        ds.attrs.update({"setting": json.dumps(s.record()), "setting_id": s.id(), "seed": int(seed),
                         "seconds": seconds[i], "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")})
        store_result(paths[i], ds, keys[i])
        log.info("setting %d/%d (%s): computed in %.1f s -> %s", i + 1, n, s.label(), seconds[i], paths[i].name)

    try:
        _compute(study, todo, compute, at_once)
    except KeyboardInterrupt:
        saved = sum(load_result(paths[i], keys[i]) is not None for i in unique)
        raise StudyInterrupted(f"{saved} of {len(unique)} settings saved in {results_dir}; run again to compute "
                               f"the other {len(unique) - saved}") from None
    finally:
        bar.close()
    return _collect(study, seed, paths, keys, seconds)


def _collect(study: Study, seed: int, paths: list[Path], keys: list[dict], seconds: dict[int, float]):
    """The study Dataset from the settings' files, and the per-setting records."""
    parts, info, n = [], [], len(study.settings)
    for i, (s, path) in enumerate(zip(study.settings, paths)):
        cached = i not in seconds
        if cached:
            log.info("setting %d/%d (%s): cached in %s, skipped", i + 1, n, s.label(), path.name)
        ds = load_result(path, keys[i])
        if ds is None:
            raise RuntimeError(f"result file {path} missing after the run")
        parts.append(ds)
        info.append({"id": s.id(), "label": s.label(), "file": str(path), "cached": cached,
                     "seconds": seconds.get(i, 0.0)})
    return combine_settings(study, parts, seed), info
