"""Batched simulate-and-estimate: the replications of one setting, in compiled chunks on threads.

For each chunk of replication ids the simulator and every batched estimator run as one
compiled call over the whole chunk (:func:`_batch_body`): ``jax.vmap`` (``batch="vmap"``)
or ``jax.lax.map`` (``batch="map"``, the default on CPU). Both run many panels in one XLA
program; they differ in bits. A vmapped body is vectorised across the batch, and XLA's code
for B replications rounds differently for different B (~1e-13 relative in the
double-precision arithmetic, ~1e-7 in the simulator's single-precision copula,
:func:`tradeq.dgp.firm_panel.components.controls`, hence ~1e-7 of their scale in the
estimates), so with vmap a replication's numbers depend, at that level, on the chunk it ran
in. ``lax.map`` compiles the body for one replication and loops over the chunk inside the
program: every replication is computed by the same code whatever the chunk size, so results
are bit-identical for any chunking and a replication re-run alone reproduces its batch value
exactly. On a CPU it is also no slower, and compiles faster; on a GPU vmap's parallelism
across replications pays, so it is the default there (``docs/performance.md``).

Every chunk of a setting has the same length (the last one is padded with repeats of its
final id, whose results are dropped), so one compilation serves the setting; DGP parameters
are traced arguments, so settings that differ only in numeric parameters (b2, sigma_e, ...)
share it too. Chunks hold at most ``max_cells`` firm-year cells (``n_firms · n_years ·
chunk``), and ``workers`` of them run at once (threads), which bounds memory. Host
estimators (``host = True``, e.g. MCMC) then run once per replication on the same panels.

A ``stop`` event (:class:`threading.Event`) ends a run between batches: no worker starts a
batch once it is set, and :class:`Stopped` is raised. A batch already running finishes
first (XLA cannot be interrupted), so a stop takes at most one batch per worker.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from tradeq.cpu_compiler_options import compiler_options_for
from tradeq.dgp.firm_panel import simulate_grid
from tradeq.models.precision import require_x64
from tradeq.runtime import cpu_devices

from .estimators import Estimator
from .keys import estimator_key, setting_key, truth_key
from .studies import Setting

#: Default bound on the firm-year cells of one batch (with ``batch="vmap"`` all of them are in
#: memory at once, a few hundred bytes per cell for the simulator and estimators together).
MAX_CELLS = 1_000_000

#: How a batch evaluates its replications: ``"map"`` (``jax.lax.map``: the body compiled
#: for one replication, looped inside one XLA program) or ``"vmap"`` (``jax.vmap``: the
#: body vectorised across the batch).
BATCH_MODES = ("map", "vmap")


class Stopped(Exception):
    """A run's ``stop`` event was set before all its batches ran."""


def default_batch_mode() -> str:
    """``"map"`` on CPU, ``"vmap"`` on accelerators (see the module docstring)."""
    return "map" if jax.default_backend() == "cpu" else "vmap"


def batch_mode(batch: str | None) -> str:
    """``batch`` checked, or :func:`default_batch_mode` for None."""
    mode = batch or default_batch_mode()
    if mode not in BATCH_MODES:
        raise ValueError(f"batch must be one of {BATCH_MODES}, got {mode!r}")
    return mode


def auto_chunk(setting: Setting, reps: int, max_cells: int = MAX_CELLS) -> int:
    """Replications per batch: as many as fit in ``max_cells`` cells, at least 1, at most ``reps``."""
    return int(max(1, min(reps, max_cells // (setting.n_firms * setting.n_years))))


def chunk_for(setting: Setting, reps: int, chunk_size: int | None, max_cells: int = MAX_CELLS) -> int:
    """The chunk a run of ``reps`` replications uses: ``chunk_size`` (at most ``reps``) or :func:`auto_chunk`."""
    chunk = int(chunk_size) if chunk_size else auto_chunk(setting, reps, max_cells)
    return max(1, min(chunk, reps))


def default_workers() -> int:
    """Batches run at once: the CPU count, at most 4 (each holds up to ``max_cells`` cells)."""
    return max(1, min(4, os.cpu_count() or 1))


def _one(skey, rep, params, n_obs, n_firms, n_years, estimators, with_panel):
    """One replication (traced): prior draw (if an estimator has one), panel, truths, the
    batched estimators' outputs, and the panel itself when host estimators need it."""
    key = jax.random.fold_in(skey, rep)
    for e in estimators:
        if e.draw_truth is not None:
            params = e.draw_truth(truth_key(key), params)
    panel = simulate_grid(key, params, n_firms, n_years, n_obs)
    truth = {}
    for e in estimators:
        truth.update(e.truth(params))
    out = {"truth": truth,
           "est": {e.name: e.batched(panel, params, estimator_key(key, e.name)) for e in estimators if not e.host}}
    if with_panel:
        out["panel"] = panel
        out["params"] = params
    return out


def _batch_body(skey, reps, params, n_obs, *, n_firms, n_years, estimators, with_panel, mode):
    """Simulate and estimate replications ``reps`` (B,) of one setting: outputs stacked (B, ...)."""
    def one(r):
        return _one(skey, r, params, n_obs, n_firms, n_years, estimators, with_panel)

    return jax.lax.map(one, reps) if mode == "map" else jax.vmap(one)(reps)


@functools.cache
def _compiled(options: tuple | None) -> Callable:
    return jax.jit(_batch_body, static_argnames=("n_firms", "n_years", "estimators", "with_panel", "mode"),
                   compiler_options=None if options is None else dict(options))


def _batch(platform: str) -> Callable:
    """:func:`_batch_body`, jit-compiled for ``platform`` -- on ``"cpu"`` with the compiler
    options of :mod:`tradeq.cpu_compiler_options` (one jitted function per option set, so a
    change of options never reuses a compilation made with others)."""
    options = compiler_options_for(platform)
    return _compiled(None if options is None else tuple(sorted(options.items())))


@dataclass
class _Batches:
    """The chunks of one :func:`run_replications` call: ``run`` (a worker thread: one
    compiled batch) and ``finish`` (the calling thread: host estimators, in order)."""

    setting: Setting
    estimators: tuple[Estimator, ...]
    seed: int
    ids: np.ndarray
    chunk: int
    mode: str
    progress: Callable[[int], None] | None
    stop: threading.Event | None
    keep_panels: bool

    def __post_init__(self) -> None:
        self.skey = setting_key(self.seed, self.setting)
        self.host = [e for e in self.estimators if e.host]
        self.n_obs = None if self.setting.n_obs is None else jnp.asarray(self.setting.n_obs)
        self.placement = threading.local()

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Stopped

    def run(self, start: int) -> dict:
        self._check_stop()
        sel = self.ids[start:start + self.chunk]
        padded = np.concatenate([sel, np.repeat(sel[-1:], self.chunk - sel.size)])
        key, rep_ids = self.skey, jnp.asarray(padded)
        device = getattr(self.placement, "device", None)
        if device is not None:
            key, rep_ids = jax.device_put((key, rep_ids), device)
        platform = device.platform if device is not None else jax.default_backend()
        s = self.setting
        out = _batch(platform)(key, rep_ids, s.params, self.n_obs, n_firms=s.n_firms, n_years=s.n_years,
                               estimators=self.estimators, with_panel=bool(self.host) or self.keep_panels,
                               mode=self.mode)
        out = jax.tree_util.tree_map(lambda a: np.asarray(a)[:sel.size], out)
        if self.progress is not None and not self.host:
            self.progress(sel.size)
        return out

    def finish(self, start: int, out: dict) -> dict:
        if not self.host and not self.keep_panels:
            return out
        sel = self.ids[start:start + self.chunk]
        panel, params = out.pop("panel"), out.pop("params")
        for e in self.host:
            rows = []
            for i in range(sel.size):
                self._check_stop()
                key = estimator_key(jax.random.fold_in(self.skey, int(sel[i])), e.name)
                rows.append(e.run(jax.tree_util.tree_map(lambda a: a[i], panel),
                                  jax.tree_util.tree_map(lambda a: a[i], params), key))
                if self.progress is not None:
                    self.progress(1)
            out["est"][e.name] = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *rows)
        if self.keep_panels:
            out["panel"] = panel
        return out


def _run_all(batches: _Batches, starts: list[int], n_workers: int) -> list[dict]:
    """Every batch, ``n_workers`` at a time, collected in replication order."""
    devices = cpu_devices() if n_workers > 1 else []
    numbering = itertools.count()

    def take_device() -> None:
        # Each worker thread keeps one CPU device (tradeq.runtime); the compiled
        # program is the same on every device, so results do not depend on the device.
        batches.placement.device = devices[next(numbering) % len(devices)]

    # With one device the first batch runs alone, so the function is compiled once; with a
    # device per worker every worker compiles for its own device anyway.
    on_devices = len(devices) > 1
    alone = [] if on_devices else starts[:1]
    parts = [batches.finish(start, batches.run(start)) for start in alone]
    rest = starts[len(alone):]
    if rest:
        with ThreadPoolExecutor(max_workers=min(n_workers, len(rest)),
                                initializer=take_device if on_devices else None) as pool:
            for start, out in zip(rest, pool.map(batches.run, rest)):
                parts.append(batches.finish(start, out))
    return parts


def run_replications(setting: Setting, estimators: Sequence[Estimator], seed: int, reps, *,
                     chunk_size: int | None = None, max_cells: int = MAX_CELLS, workers: int | None = None,
                     batch: str | None = None, progress: Callable[[int], None] | None = None,
                     stop: threading.Event | None = None, keep_panels: bool = False) -> dict:
    """Raw outputs of replications ``reps`` (an int R for ids 0..R-1, or a list of ids).

    Returns ``{"truth": {param: (R,)}, "est": {name: pytree of (R, ...)}}`` as NumPy arrays,
    in the order of ``reps`` (with ``keep_panels``, also ``"panel"``: the simulated panels,
    (R, ...) each). ``progress(n)`` is called after every n finished replications; ``stop``
    ends the run between batches (:class:`Stopped`).

    ``workers`` batches run concurrently from a thread pool (the GIL is released while XLA
    runs). On CPU each worker thread runs its batches on its own XLA CPU device
    (:mod:`tradeq.runtime`): executions on one device run one after another, so
    without this the workers would mostly queue behind each other. Each device compiles the
    batch function once; with a single device the first batch runs alone, so it is compiled
    once. Results are collected in replication order, so they do not depend on ``workers``
    any more than on ``chunk_size``. ``batch``: ``"map"`` or ``"vmap"`` (default
    :func:`default_batch_mode`; see the module docstring).
    """
    require_x64()
    estimators = tuple(estimators)
    mode = batch_mode(batch)
    ids = np.arange(int(reps), dtype=np.uint32) if np.isscalar(reps) else np.asarray(reps, dtype=np.uint32)
    if ids.size == 0:
        raise ValueError("no replications to run")
    chunk = chunk_for(setting, ids.size, chunk_size, max_cells)
    batches = _Batches(setting, estimators, int(seed), ids, chunk, mode, progress, stop, keep_panels)
    starts = list(range(0, ids.size, chunk))
    n_workers = max(1, min(int(workers or default_workers()), len(starts)))
    parts = _run_all(batches, starts, n_workers)
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=0), *parts)
