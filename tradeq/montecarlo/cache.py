"""Per-setting result files, keyed by what determines their numbers -- measured, not declared.

A setting's results are one NetCDF file in the results folder, ``<setting id>-<key hash>.nc``
(:func:`result_file`), written atomically (a temporary file, then a rename) and loaded instead
of recomputed when a run asks for the same key (:func:`load_result` also checks the key
recorded inside the file). The key (:func:`cache_key`) holds

* the setting (DGP parameters and panel size), the seed, the replication count, the level
  and each estimator's config (:meth:`~tradeq.montecarlo.estimators.Estimator.spec`);
* how the numbers are computed: the batch mode (``map`` or ``vmap``; with ``vmap`` also the
  chunk size, on which its last bits depend), the platform (backend and device kind) and
  the compiler options of the batches (:mod:`tradeq.cpu_compiler_options`);
* digests of what the code computes (SHA-256 of the arrays' bytes): :func:`stream_digest`, a
  fixed draw of every slot of the firm panel's random stream, and :func:`probe_digests`,
  one replication of the setting's own DGP at a small probe size (:data:`PROBE_FIRMS` ×
  :data:`PROBE_YEARS`, a fixed key) run through the engine's own batch code -- the simulated
  panel with its truths (``simulator``) and each estimator's outputs (``estimators``).

So a change to the simulator, the streams or an estimator that moves any number of the probe
replication, down to its last bit, renames every file it affects, and results computed by
older code are never reused; no version number is kept by hand. The probe runs the code
paths the setting's structure selects (error structure, groups, mediator, exact ``n_obs``),
so the one change it cannot see is one that moves full-size panels only. Digests are
computed once per process and reused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import xarray as xr

from tradeq.atomic import write_netcdf
from tradeq.cpu_compiler_options import compiler_options_for
from tradeq.dgp.firm_panel import FirmPanelParams, stream_layout
from tradeq.dgp.keys import base_key, derive_key, draw_streams

from .batching import run_replications
from .estimators import Estimator
from .studies import Setting, stable_hash

log = logging.getLogger("tradeq")

#: Size and seed of the probe panel whose numbers the digests hash.
PROBE_FIRMS, PROBE_YEARS, PROBE_SEED = 40, 5, 0


def tree_digest(tree: Any) -> str:
    """SHA-256 (hex) of every array of ``tree``: its path, dtype, shape and bytes."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@functools.cache
def stream_digest() -> str:
    """Digest of every slot of the firm panel's stream, drawn at the probe size under the probe key."""
    layout = stream_layout(PROBE_FIRMS, PROBE_YEARS)
    draws = jax.jit(lambda k: draw_streams(derive_key(k, "firm_panel"), layout))(base_key(PROBE_SEED))
    return tree_digest(draws)


def probe_n_obs(setting: Setting) -> int | None:
    """The probe's ``n_obs``: None for the natural draw, else the setting's share of cells."""
    if setting.n_obs is None:
        return None
    cells = PROBE_FIRMS * PROBE_YEARS
    share = setting.n_obs / (setting.n_firms * setting.n_years)
    return int(min(cells, max(PROBE_FIRMS, round(share * cells))))


@functools.cache
def probe_digests(params: FirmPanelParams, n_obs: int | None, estimators: tuple[Estimator, ...],
                  mode: str) -> dict[str, Any]:
    """``{"simulator": digest, "estimators": {name: digest}}`` of one probe replication of
    ``params`` (module docstring), through :func:`~tradeq.montecarlo.batching.run_replications`."""
    probe = Setting(params=params, n_firms=PROBE_FIRMS, n_years=PROBE_YEARS, n_obs=n_obs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a host estimator's diagnostics on the tiny probe panel say nothing
        raw = run_replications(probe, estimators, PROBE_SEED, 1, chunk_size=1, workers=1, batch=mode, keep_panels=True)
    return {"simulator": tree_digest({"panel": raw["panel"], "truth": raw["truth"]}),
            "estimators": {e.name: tree_digest(raw["est"][e.name]) for e in estimators}}


def platform_id() -> str:
    """``<backend>:<device kind>`` of the default device (e.g. ``cpu:cpu``)."""
    return f"{jax.default_backend()}:{jax.devices()[0].device_kind}"


def cache_key(setting: Setting, estimators: Sequence[Estimator], seed: int, reps: int, level: float, *,
              mode: str, chunk: int) -> dict[str, Any]:
    """Everything a setting's results depend on (module docstring), JSON-ready."""
    estimators = tuple(estimators)
    options = compiler_options_for(jax.default_backend())
    probe = probe_digests(setting.params, probe_n_obs(setting), estimators, mode)
    return {"setting": setting.record(), "seed": int(seed), "reps": int(reps), "level": float(level),
            "estimators": [e.spec() for e in estimators], "batch": mode, "chunk": int(chunk) if mode == "vmap" else None,
            "platform": platform_id(), "compiler_options": None if options is None else sorted(options.items()),
            "streams": stream_digest(), "simulator": probe["simulator"], "estimator_outputs": probe["estimators"]}


def _key_text(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str, separators=(",", ":"))


def result_file(setting: Setting, key: dict[str, Any]) -> str:
    """``<setting id>-<16 hex digits of the key's hash>.nc``."""
    return f"{setting.id()}-{stable_hash(key)}.nc"


def load_result(path: Path, key: dict[str, Any]) -> xr.Dataset | None:
    """The results in ``path`` when it exists and was written under ``key``, else None."""
    if not path.exists():
        return None
    try:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    except (OSError, ValueError) as err:  # unreadable: computed again, and replaced
        log.warning("result file %s unreadable (%s); computing it again", path, err)
        return None
    if ds.attrs.get("cache_key") != _key_text(key):
        log.warning("result file %s was written under another key; computing it again", path.name)
        return None
    return ds


def store_result(path: Path, ds: xr.Dataset, key: dict[str, Any]) -> Path:
    """Write ``ds`` with its key to ``path`` (temporary file, then rename)."""
    ds.attrs["cache_key"] = _key_text(key)
    return write_netcdf(path, ds)
