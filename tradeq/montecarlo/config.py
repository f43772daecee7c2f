"""The ``study`` config group's schema (``python simulate.py study=<name>``).

Kept free of JAX and the engine so that :mod:`tradeq.config` can import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class StudyConfig:
    """A Monte Carlo study: a grid of DGP settings × estimators × ``reps`` replications.

    ``name=none`` (the default) means no study: ``simulate.py`` writes one panel.
    ``dgp``: FirmPanelParams overrides shared by all settings; ``grid``: axis -> values
    (every combination is a setting; a scalar is one value); ``points``: a list of dicts
    crossed with the grid; ``estimators``: name -> spec with ``kind`` fe | mediation | sbc
    (see :mod:`tradeq.montecarlo.studies`). ``valid``: ``{<value of valid_by>: [estimator
    labels whose interval assumptions hold]}`` (summary flags). ``plots``: list of
    ``{kind: coverage|rejection|bias|sbc, x: <axis>, panels: <axis>, ...}``.
    ``chunk_size``: replications per vmapped batch (None: as many as fit in ``max_cells``
    firm-year cells); ``workers``: batches run at once (None: the CPU count, at most 4);
    results depend on neither. ``batch``: ``map`` (``jax.lax.map``; bit-identical for any
    chunking; the default on CPU) or ``vmap`` (the default on accelerators). ``results_dir``: the shared folder of
    per-setting result files (default ``outputs/montecarlo/results`` under the directory
    the command was started in); with ``resume`` a setting whose file exists is loaded,
    not recomputed.
    """

    name: str = "none"
    reps: int = 200
    n_firms: int = 2000
    n_years: int = 10
    n_obs: Optional[int] = None
    level: float = 0.95
    dgp: Any = field(default_factory=dict)
    grid: Any = field(default_factory=dict)
    points: Any = field(default_factory=list)
    estimators: Any = field(default_factory=dict)
    valid: Any = None
    valid_by: str = "error"
    plots: Any = field(default_factory=list)
    chunk_size: Optional[int] = None
    max_cells: int = 1_000_000
    workers: Optional[int] = None
    batch: Optional[str] = None
    results_dir: Optional[str] = None
    resume: bool = True
    progress: bool = True
