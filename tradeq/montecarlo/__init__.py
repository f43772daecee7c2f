"""Monte Carlo validation: simulate many panels with known truth, estimate, score.

``python simulate.py study=<name>`` runs a study from ``conf/study/<name>.yaml``. Modules:

* :mod:`~tradeq.montecarlo.config` — the typed ``study`` config schema;
  :mod:`~tradeq.montecarlo.spec` — a config turned once into a frozen, validated
  :class:`~tradeq.montecarlo.spec.StudySpec`;
* :mod:`~tradeq.montecarlo.studies` — settings grid and estimators from a config;
* :mod:`~tradeq.montecarlo.registry` — the estimator kinds a study can name;
* :mod:`~tradeq.montecarlo.estimators` — batched estimators (FE replica with any variance,
  inverted-U, t and Wald tests; mediation) and the estimator interface;
* :mod:`~tradeq.montecarlo.keys` — every replication's key from (seed, setting, replication);
* :mod:`~tradeq.montecarlo.batching` — chunked ``lax.map`` / ``vmap`` of simulate + estimate
  on worker threads;
* :mod:`~tradeq.montecarlo.results` — replications to Datasets with metrics;
* :mod:`~tradeq.montecarlo.cache` — per-setting result files keyed by digests of what the
  code computes;
* :mod:`~tradeq.montecarlo.engine` — settings and studies, resumable and interruptible;
* :mod:`~tradeq.montecarlo.metrics` — bias, RMSE, coverage, interval length, rejection
  rates with Monte Carlo SEs;
* :mod:`~tradeq.montecarlo.sbc` — simulation-based calibration of the Bayesian models;
* :mod:`~tradeq.montecarlo.summary`, :mod:`~tradeq.montecarlo.plots` — ``summary.md``, PNGs;
* :mod:`~tradeq.montecarlo.run` — a study into a folder; :mod:`~tradeq.montecarlo.sweep` —
  combining a Hydra sweep's jobs.

The names below are imported lazily (this package's config schema is read by
:mod:`tradeq.config` without loading JAX).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Setting": "studies", "Study": "studies", "build_study": "studies", "expand_grid": "studies",
    "Estimator": "estimators", "FixedEffects": "estimators", "Mediation": "estimators",
    "EstimateRecord": "estimators", "TestRecord": "estimators", "ESTIMATORS": "registry",
    "run_study": "engine", "run_setting": "engine", "StudyInterrupted": "engine",
    "run_replications": "batching", "replication_key": "keys", "setting_dataset": "results",
    "run_into": "run", "StudyConfig": "config", "StudySpec": "spec", "study_spec": "spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
