"""The ``few_clusters`` study: size and coverage of CR1, CRV3 and the wild cluster bootstrap
(WCR, Rademacher and Webb weights) with 30, 11, 8 and 31 clusters.

    python simulate.py study=few_clusters [study.reps=1000] [seed=1]

Samples (``study.grid.sample``):

* ``province_30``, ``province_east_11``, ``province_central_8``: the province-panel
  simulator (:func:`tradeq.dgp.province_panel.simulate_province_panel`, 30 provinces ×
  21 years, ``study.dgp`` its :class:`ProvincePanelParams` overrides; default AR(1) errors
  within province, rho 0.5). Every replication simulates the 30 provinces once; the East
  (11 provinces) and Central (8) samples are the regional subsamples of the same panel, as
  the papers' Table 3 runs them. Model ``TU ~ IC + CX + HUM + FDI + GOV + INF | province +
  year``, clustered by province; parameter ``IC`` (truth ``beta_IC``, 1.476).
* ``firm_31``: the firm-panel simulator through the Monte Carlo engine (``study.n_firms`` ×
  ``study.n_years``, ``error=province_year``), the few-cluster estimator of
  :mod:`tradeq.montecarlo.few_cluster_estimator`: Market's slope b1, 31 province clusters;
  ``firm_10``: the same panels, only the firms of the 10 provinces with most firm-years.

Inference (:mod:`tradeq.montecarlo.few_cluster_inference`): CR1 and CRV3 with t(G-1)
intervals; WCR with ``wild_reps`` draws per replication (enumeration when 2^G <= draws),
its interval by test inversion, its size from the p-value at the true value. Rates in
``summary.md`` carry their Monte Carlo SEs.

Seeds: replication r of a province sample simulates with the seed
``SeedSequence([seed, r])`` and draws its wild weights from ``SeedSequence([seed, r, w])``;
the firm sample uses the engine's keys. Results: one NetCDF per sample in ``results_dir``
(the firm sample under the engine's key; a province sample under :func:`province_key`: the
setting, the seed, the replications and digests of its first replication's panel and
outputs), loaded instead of recomputed on a re-run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tradeq.atomic import write_netcdf, write_text
from tradeq.dgp.province_panel import CONTROLS, ProvincePanelParams, simulate_province_panel
from tradeq.errors import ConfigError

from .cache import cache_key, load_result, result_file, store_result
from .config import StudyConfig
from .engine import run_setting
from .few_cluster_estimator import FewClusterFE
from .few_cluster_inference import empty_inference, inference_records, slope_inference
from .results import setting_dataset
from .studies import make_setting, stable_hash
from .summary import render

log = logging.getLogger("tradeq")

#: Province samples: name -> region (None: all 30 provinces).
PROVINCE_SAMPLES = {"province_30": None, "province_east_11": "East", "province_central_8": "Central"}
#: Firm samples: name -> provinces kept (None: all 31; else the largest, same panels).
FIRM_SAMPLES = {"firm_31": None, "firm_10": 10}
SAMPLES = (*PROVINCE_SAMPLES, *FIRM_SAMPLES)
#: The province simulator's defaults for this study (AR(1) within province).
PROVINCE_DGP = {"error": "ar1"}
#: Replications per compiled batch of the firm simulator.
FIRM_CHUNK = 16


@dataclass(frozen=True)
class FewClusterStudy:
    """The validated study: ``samples``, ``reps``, ``seed``, ``weights``, ``wild_reps``,
    ``level``, ``province_dgp`` (ProvincePanelParams overrides), ``firm_dgp``
    (FirmPanelParams overrides), ``n_firms``, ``n_years`` (the firm panel)."""

    samples: tuple[str, ...] = SAMPLES
    reps: int = 1000
    seed: int = 0
    weights: tuple[str, ...] = ("rademacher", "webb")
    wild_reps: int = 399
    level: float = 0.95
    province_dgp: Mapping[str, Any] = field(default_factory=lambda: dict(PROVINCE_DGP))
    firm_dgp: Mapping[str, Any] = field(default_factory=lambda: {"error": "province_year"})
    n_firms: int = 2000
    n_years: int = 10

    def province_params(self) -> ProvincePanelParams:
        try:
            return ProvincePanelParams.from_dict(dict(self.province_dgp))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"study.dgp.province: {err}") from None

    def estimator(self, n_provinces: int | None = None) -> FewClusterFE:
        return FewClusterFE(name="fc", weights=self.weights, wild_reps=self.wild_reps, level=self.level,
                            n_provinces=n_provinces)


def few_cluster_study(cfg: StudyConfig, seed: int) -> FewClusterStudy:
    """The :class:`FewClusterStudy` of a ``study=few_clusters`` config: ``grid.sample``
    (default all of :data:`SAMPLES`), ``dgp.province`` / ``dgp.firm`` overrides,
    ``estimators.fc.weights`` / ``wild_reps``, ``reps``, ``n_firms``, ``n_years``, ``level``."""
    unknown = sorted(set(cfg.grid) - {"sample"})
    if unknown or cfg.points:
        raise ConfigError(f"study.grid: few_clusters has one axis, sample; got {unknown or 'points'}")
    samples = tuple(cfg.grid.get("sample", SAMPLES))
    bad = [s for s in samples if s not in SAMPLES]
    if bad:
        raise ConfigError(f"study.grid.sample: unknown sample(s) {bad}; known: {list(SAMPLES)}")
    extra = sorted(set(cfg.dgp) - {"province", "firm"})
    if extra:
        raise ConfigError(f"study.dgp: few_clusters takes dgp.province and dgp.firm, got {extra}")
    est = dict(cfg.estimators.get("fc", {}))
    est.pop("kind", None)
    fe = FewClusterFE.from_config("fc", est, cfg.level)
    if cfg.reps < 2:
        raise ConfigError(f"study.reps must be at least 2, got {cfg.reps}")
    study = FewClusterStudy(samples=samples, reps=int(cfg.reps), seed=int(seed), weights=fe.weights,
                            wild_reps=fe.wild_reps, level=float(cfg.level),
                            province_dgp={**PROVINCE_DGP, **dict(cfg.dgp.get("province", {}))},
                            firm_dgp={"error": "province_year", **dict(cfg.dgp.get("firm", {}))},
                            n_firms=int(cfg.n_firms), n_years=int(cfg.n_years))
    study.province_params()  # bad DGP keys fail here
    return study


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def province_design(frame, region: str | None):
    """``(y, X, fe, clusters)`` of the (regional) province panel: TU on IC and the controls,
    province and year codes, province clusters."""
    if region is not None:
        frame = frame[frame["region"] == region]
    X = frame[["IC", *CONTROLS]].to_numpy(float)
    fe = np.column_stack([frame["province_code"].to_numpy(), frame["year"].to_numpy()])
    return frame["TU"].to_numpy(float), X, fe, frame["province_code"].to_numpy()


def province_replications(study: FewClusterStudy, samples: Sequence[str],
                          progress: Callable[[int], None] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Stacked outputs of :func:`slope_inference` per province sample (each (reps,)), every
    replication's 30-province panel shared by the samples."""
    params = study.province_params()
    truth = float(params.beta_IC)
    rows: dict[str, list[dict]] = {s: [] for s in samples}
    for r in range(study.reps):
        frame, _ = simulate_province_panel(params, seed=_seed(study.seed, r))
        for s in samples:
            seeds = [_seed(study.seed, r, i) for i in range(len(study.weights))]
            try:
                out = slope_inference(*province_design(frame, PROVINCE_SAMPLES[s]), 0, truth, seeds,
                                      weights=study.weights, wild_reps=study.wild_reps, level=study.level)
            except (ValueError, np.linalg.LinAlgError):
                out = empty_inference(study.weights)
            rows[s].append(out)
        if progress is not None:
            progress(r)
    return {s: {k: np.array([row[k] for row in rows[s]]) for k in rows[s][0]} for s in samples}


def province_key(study: FewClusterStudy, sample: str) -> dict[str, Any]:
    """Everything a province sample's results depend on, measured rather than declared: the
    settings, and digests of the first replication's panel and of its inference outputs (a
    change of the simulator or of any estimator renames the file; no version kept by hand)."""
    params = study.province_params()
    frame, _ = simulate_province_panel(params, seed=_seed(study.seed, 0))
    panel = hashlib.sha256(np.ascontiguousarray(frame[["TU", "IC", *CONTROLS]].to_numpy(float)).tobytes())
    seeds = [_seed(study.seed, 0, i) for i in range(len(study.weights))]
    out = slope_inference(*province_design(frame, PROVINCE_SAMPLES[sample]), 0, float(params.beta_IC), seeds,
                          weights=study.weights, wild_reps=study.wild_reps, level=study.level)
    outputs = hashlib.sha256(np.array([out[k] for k in sorted(out)], float).tobytes())
    return {"sample": sample, "seed": study.seed, "reps": study.reps, "weights": list(study.weights),
            "wild_reps": study.wild_reps, "level": study.level, "dgp": params.to_dict(),
            "simulator": panel.hexdigest(), "estimators": outputs.hexdigest()}


def _province_dataset(study: FewClusterStudy, raw: dict[str, np.ndarray]) -> xr.Dataset:
    truth = np.full(study.reps, float(study.province_params().beta_IC))
    est, tests = inference_records("fc", "IC", raw, truth, study.weights, study.level)
    return setting_dataset(est, tests, {"IC": truth}, study.level)


def _firm_setting(study: FewClusterStudy):
    return make_setting({}, dgp=dict(study.firm_dgp), n_firms=study.n_firms, n_years=study.n_years, n_obs=None,
                        coord_keys=())


def _province_parts(study: FewClusterStudy, results_dir: Path, resume: bool) -> tuple[dict, list]:
    """The province samples' Datasets (loaded, or computed together and stored)."""
    prov = [s for s in study.samples if s in PROVINCE_SAMPLES]
    keys = {s: province_key(study, s) for s in prov}
    paths = {s: results_dir / f"{s}-{stable_hash(keys[s])}.nc" for s in prov}
    parts = {s: load_result(paths[s], keys[s]) if resume else None for s in prov}
    todo = [s for s in prov if parts[s] is None]
    start = time.perf_counter()
    if todo:
        raw = province_replications(study, todo)
        for s in todo:
            parts[s] = _province_dataset(study, raw[s])
            store_result(paths[s], parts[s], keys[s])
    seconds = round(time.perf_counter() - start, 3)
    info = [{"sample": s, "file": str(paths[s]), "cached": s not in todo, "seconds": seconds if s in todo else 0.0}
            for s in prov]
    return parts, info


def _firm_part(study: FewClusterStudy, sample: str, results_dir: Path, resume: bool) -> tuple[xr.Dataset, dict]:
    """A firm sample's Dataset through the engine (loaded under the engine's key, or computed)."""
    setting, est = _firm_setting(study), (study.estimator(FIRM_SAMPLES[sample]),)
    key = cache_key(setting, est, study.seed, study.reps, study.level, mode="map", chunk=FIRM_CHUNK)
    path = results_dir / f"{sample}-{result_file(setting, key)}"
    ds = load_result(path, key) if resume else None
    cached, start = ds is not None, time.perf_counter()
    if ds is None:
        ds = run_setting(setting, est, study.seed, study.reps, study.level, chunk_size=FIRM_CHUNK, batch="map")
        store_result(path, ds, key)
    return ds, {"sample": sample, "file": str(path), "cached": cached,
                "seconds": round(time.perf_counter() - start, 3)}


def run_samples(study: FewClusterStudy, results_dir: str | Path, *, resume: bool = True) -> tuple[xr.Dataset, list]:
    """Every sample's Dataset (computed, or loaded from ``results_dir``) stacked along
    ``setting`` with a ``sample`` coordinate, and one bookkeeping record per sample."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    parts, info = _province_parts(study, results_dir, resume)
    for sample in (s for s in study.samples if s in FIRM_SAMPLES):
        parts[sample], record = _firm_part(study, sample, results_dir, resume)
        info.append(record)
    return combine_samples(study, [parts[s] for s in study.samples]), info


def combine_samples(study: FewClusterStudy, parts: list[xr.Dataset]) -> xr.Dataset:
    """Stack the samples' Datasets along ``setting`` (coordinates ``sample``, ``n_clusters``)."""
    # one parameter per sample (IC or b1): stacked as "slope", the name kept in ``slope_name``
    names = [str(p.parameter.values[0]) for p in parts]
    parts = [p.drop_attrs().assign_coords(parameter=["slope"]) for p in parts]
    ds = xr.concat(parts, dim="setting", join="outer", data_vars="all", coords="minimal", fill_value=np.nan)
    n_clusters = [30.0, 11.0, 8.0, 31.0, 10.0]
    ds = ds.assign_coords(setting=np.arange(len(parts)), sample=("setting", np.array(study.samples)),
                          n_clusters=("setting", np.array([n_clusters[SAMPLES.index(s)] for s in study.samples])),
                          slope_name=("setting", np.array(names)))
    ds.attrs = {"study": "few_clusters", "seed": study.seed, "reps": study.reps, "level": study.level,
                "grid": "sample,n_clusters", "wild_reps": study.wild_reps, "weights": ",".join(study.weights),
                "province_dgp": json.dumps(study.province_params().to_dict(), default=str),
                "firm_dgp": json.dumps(dict(study.firm_dgp)), "n_firms": study.n_firms, "n_years": study.n_years}
    return ds


def summary_text(ds: xr.Dataset, seconds: float | None = None) -> str:
    """``summary.md``: the engine's tables (coverage, size with MC SEs) and what was run."""
    head = (f"Province samples: {ds.attrs['province_dgp']}; firm sample: {ds.attrs['n_firms']:,} firms x "
            f"{ds.attrs['n_years']} years, {ds.attrs['firm_dgp']}. WCR: {ds.attrs['wild_reps']} wild draws per "
            "replication (Rademacher enumerated when 2^G <= draws), symmetric p-value, ties |t*| = |t| not "
            "counted; its interval by test inversion, its size from the p-value at the true value. CR1 and "
            "CRV3: t(G-1).\n\n")
    return head + render(ds, seconds=seconds)


def run_few_clusters_into(study: FewClusterStudy, folder: str | Path, results_dir: str | Path | None = None,
                          *, resume: bool = True) -> dict[str, Any]:
    """Run (or load) the study and write ``study.nc`` and ``summary.md`` into ``folder``;
    returns the run record (as :func:`tradeq.montecarlo.run.run_into`)."""
    folder = Path(folder)
    results = Path(results_dir) if results_dir is not None else folder / "results"
    start = time.perf_counter()
    ds, info = run_samples(study, results, resume=resume)
    seconds = time.perf_counter() - start
    nc = write_netcdf(folder / "study.nc", ds)
    md = write_text(folder / "summary.md", summary_text(ds, seconds) + "\n")
    n_new = sum(not s["cached"] for s in info)
    return {"study": "few_clusters", "reps": study.reps, "n_settings": len(info), "computed": n_new,
            "results_dir": str(results), "settings": info, "files": {"study": str(nc), "summary": str(md)},
            "timings_s": {"study": round(seconds, 3)}}
