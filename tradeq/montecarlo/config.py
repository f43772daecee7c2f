"""The ``study`` config group's schema (``python simulate.py study=<name>``), typed.

Hydra merges each ``conf/study/<name>.yaml`` and every ``study.*`` override onto
:class:`StudyConfig`, so a misspelt key or a value of the wrong type stops the run at
composition. The study's own shapes -- the grid's axes, the points, the estimators'
specs, the plots -- stay mappings; they are checked when the study is built
(:func:`tradeq.montecarlo.spec.study_spec`). Kept free of JAX and the engine so that
:mod:`tradeq.config` can import it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tradeq.errors import ConfigError


class BatchMode(str, Enum):
    """How the engine batches replications: ``map`` (``jax.lax.map``) or ``vmap``."""

    map = "map"
    vmap = "vmap"


@dataclass
class StudyConfig:
    """A Monte Carlo study: a grid of DGP settings × estimators × ``reps`` replications.

    ``name=none`` (the default) means no study: ``simulate.py`` writes one panel.
    ``n_firms``, ``n_years``, ``n_obs``: the panels' size (any may be a grid axis).
    ``dgp``: FirmPanelParams overrides shared by all settings, on top of ``data.dgp``;
    ``grid``: axis -> values (every combination is a setting; a scalar is one value);
    ``points``: a list of dicts crossed with the grid; ``estimators``: name -> spec with
    ``kind`` (a key of :data:`tradeq.montecarlo.registry.ESTIMATORS`; default the name).
    ``valid``: ``{<value of valid_by>: [estimator labels whose interval assumptions hold]}``
    (summary flags). ``plots``: list of ``{kind: coverage|rejection|bias|sbc, x: <axis>,
    panels: <axis>, ...}``. ``chunk_size``: replications per batch (None: as many as fit in
    ``max_cells`` firm-year cells); ``workers``: batches run at once (None: the CPU count, at
    most 4); results depend on neither. ``batch``: ``map`` (bit-identical for any chunking;
    the default on CPU) or ``vmap`` (the default on accelerators). ``results_dir``: the
    folder of per-setting result files (default: ``results/`` in the run folder, or in the
    sweep folder for ``-m``, shared by the sweep's jobs); with ``resume`` a setting whose file
    exists is loaded, not recomputed. ``progress``: a progress bar over settings ×
    replications.
    """

    name: str = "none"
    reps: int = 200
    n_firms: int = 2000
    n_years: int = 10
    n_obs: Optional[int] = None
    level: float = 0.95
    dgp: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    estimators: dict[str, dict[str, Any]] = field(default_factory=dict)
    valid: Optional[dict[str, list[str]]] = None
    valid_by: str = "error"
    plots: list[dict[str, Any]] = field(default_factory=list)
    chunk_size: Optional[int] = None
    max_cells: int = 1_000_000
    workers: Optional[int] = None
    batch: Optional[BatchMode] = None
    results_dir: Optional[str] = None
    resume: bool = True
    progress: bool = True


def study_config(cfg: StudyConfig | Mapping[str, Any] | DictConfig) -> StudyConfig:
    """``cfg`` (a composed ``study`` node, or a plain mapping as a notebook writes it) as a
    typed :class:`StudyConfig`; a key it does not have or a value of the wrong type is a
    :class:`ConfigError` naming ``study.<key>``."""
    if isinstance(cfg, StudyConfig):
        return cfg
    try:
        merged = OmegaConf.merge(OmegaConf.structured(StudyConfig), cfg)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or getattr(err, "key", None) or "?"
        raise ConfigError(f"study.{key}: {str(err).splitlines()[0]}") from None
