"""The estimators a study can name: ``kind`` -> class (``study.estimators.<name>.kind``).

A new estimator is one entry of :data:`ESTIMATORS`: a subclass of
:class:`~tradeq.montecarlo.estimators.Estimator` with a ``from_config(name, spec, level)``
classmethod. An entry may be the class itself or ``"module:Class"``, imported only when a
study uses it (the SBC estimator pulls in the Bayesian models). A study naming an unknown
kind fails when it is built, before anything is simulated, with the known kinds listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from tradeq.errors import ConfigError

from .estimators import Estimator, FixedEffects, Mediation

#: Estimator kinds: the class, or ``"module:Class"`` to import on first use.
ESTIMATORS: dict[str, type[Estimator] | str] = {
    "fe": FixedEffects,
    "mediation": Mediation,
    "sbc": "tradeq.montecarlo.sbc:BayesSBC",
    "few_clusters": "tradeq.montecarlo.few_cluster_estimator:FewClusterFE",
}


def estimator_class(kind: str, name: str = "") -> type[Estimator]:
    """The class registered as ``kind`` (imported now if registered by name)."""
    if kind not in ESTIMATORS:
        raise ConfigError(f"estimator {name or kind!r}: unknown kind {kind!r}; known kinds: {', '.join(ESTIMATORS)}")
    entry = ESTIMATORS[kind]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    return entry


def make_estimator(name: str, spec: Mapping[str, Any] | None, level: float) -> Estimator:
    """The estimator of the config entry ``estimators.<name>`` (``kind`` defaults to ``name``)."""
    spec = dict(spec or {})
    cls = estimator_class(str(spec.pop("kind", name)), name)
    try:
        return cls.from_config(name, spec, level)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"estimator {name!r}: {err}") from None
