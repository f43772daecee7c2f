"""Structured-config schemas for every Hydra config group.

Each YAML file under ``conf/`` is merged onto one of these dataclasses, so a misspelt key
(``model.vcvo=hc1``) or an invalid choice (``model.vcov=robust``) fails at start-up with
Hydra's own error naming the key, before any data is read.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.montecarlo.config import StudyConfig


def value(v: Any) -> Any:
    """The plain value of a config enum (``Vcov.cluster`` → ``"cluster"``) or the value itself."""
    return getattr(v, "value", v)


def config_schema(cls: type, name: str) -> type:
    """A mutable dataclass with ``cls``'s fields, types and defaults: ``cls`` itself may be frozen
    (OmegaConf makes frozen dataclasses read-only, so they cannot take overrides)."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        specs.append((f.name, hints[f.name], field(default=default)))
    return dataclasses.make_dataclass(name, specs)


FirmPanelConfig = config_schema(FirmPanelParams, "FirmPanelConfig")


class DataSource(str, Enum):
    synthetic_firms = "synthetic_firms"
    file = "file"


class Vcov(str, Enum):
    iid = "iid"
    hc1 = "hc1"
    cluster = "cluster"
    twoway = "twoway"


class InferenceKind(str, Enum):
    fe = "fe"
    bayes = "bayes"
    both = "both"


class Backend(str, Enum):
    numpyro = "numpyro"
    pymc = "pymc"


class Likelihood(str, Enum):
    normal = "normal"
    student_t = "student_t"


class ParenStat(str, Enum):
    se = "se"
    t = "t"


@dataclass
class DataConfig:
    """Where the panel comes from.

    ``source=synthetic_firms`` simulates the SPEC 1a firm panel with known truth; ``dgp``
    holds the simulator's parameters, typed by :class:`tradeq.dgp.firm_panel.FirmPanelParams`
    itself (``data.dgp.error=ar1``; a misspelt name is rejected). ``source=file`` reads ``path`` (.csv,
    .parquet, .dta) and renames columns with ``rename`` (file name → name used in the
    model), then checks that ``id``/``time`` identify rows uniquely.
    """

    source: DataSource = DataSource.synthetic_firms
    path: Optional[str] = None
    rename: Any = None  # {file_name: model_name}; None (not {}) so a whole mapping can be passed on the command line
    id: str = "firm"
    time: str = "year"
    n_firms: int = 120_000
    n_years: int = 10
    n_obs: Optional[int] = 594_596
    dgp: Any = field(default_factory=FirmPanelConfig)


class AnalysisKind(str, Enum):
    """What ``estimate.py`` runs: one formula (fe) or one of the analyses in :mod:`tradeq.analyses`."""

    fe = "fe"
    baseline = "baseline"
    lags = "lags"
    mediation = "mediation"
    heterogeneity = "heterogeneity"


class CIMethod(str, Enum):
    percentile = "percentile"
    bca = "bca"


class Tail(str, Enum):
    none = "none"
    winsorize = "winsorize"
    trim = "trim"


class LagControls(str, Enum):
    current = "current"
    lagged = "lagged"
    both = "both"


@dataclass
class ModelConfig:
    """A fixest-style model: ``formula = "y ~ x1 + I(x1**2) + x2 | fe1 + fe2"``.

    ``vcov``: iid, hc1, cluster (one column in ``cluster``) or twoway (two columns).
    ``utest``: the core variable whose linear and squared terms the Lind–Mehlum test uses;
    ``utest_interval`` overrides the default interval [min, max] of that variable.

    ``kind`` other than ``fe`` runs an analysis of :mod:`tradeq.analyses`, built from the
    named variables instead of ``formula``: ``outcome`` on ``treatment`` (and its square when
    ``quadratic``), ``controls`` and the fixed effects ``fe``; errors cluster by ``cluster``
    (default: the first FE). ``baseline``: one column per entry of ``control_sets``.
    ``lags``: ``treatment`` lagged by each of ``lags`` within ``data.id`` (exact years),
    with current and/or lagged controls (``lag_controls``). ``mediation``: ``mediator`` and
    the three-equation model, ``treatment`` lagged ``lag`` years, mediator-equation errors
    clustered by ``mediator_cluster`` (the mediator's level, e.g. province), ``n_boot``
    cluster-bootstrap resamples with ``ci_method`` intervals. ``heterogeneity``: split by
    ``split_by`` (levels ``split_levels`` in that order, or a numeric column cut at
    ``split_cuts``), with the pooled interaction Wald test. ``tail``/``tail_p``: winsorise or
    trim the outcome at the ``tail_p`` and ``1 − tail_p`` quantiles first.
    """

    name: str = "fe"
    formula: str = "???"
    vcov: Vcov = Vcov.cluster
    cluster: Any = None  # a column name or a list of one or two names
    utest: Optional[str] = None
    utest_interval: Optional[list[float]] = None
    level: float = 0.95
    groups: list[str] = field(default_factory=lambda: ["region", "ownership"])
    # --- analyses (kind != fe; see tradeq.analyses) ---
    kind: AnalysisKind = AnalysisKind.fe
    title: Optional[str] = None  # table caption
    outcome: Optional[str] = None
    treatment: Optional[str] = None
    quadratic: bool = True
    controls: list[str] = field(default_factory=list)
    control_sets: Optional[list[list[str]]] = None
    fe: list[str] = field(default_factory=lambda: ["firm", "year"])
    mediator: Optional[str] = None
    mediator_cluster: Optional[str] = None
    lag: int = 0
    lags: list[int] = field(default_factory=lambda: [1, 2, 3])
    lag_controls: LagControls = LagControls.both
    n_boot: int = 2000
    ci_method: CIMethod = CIMethod.bca
    split_by: Optional[str] = None
    split_levels: Optional[list[str]] = None
    split_cuts: Optional[list[float]] = None
    tail: Tail = Tail.none
    tail_p: float = 0.05


@dataclass
class PriorConfig:
    """Weakly informative priors scaled to the data (tradeq.models.bayes.priors.default_priors): each slope's
    prior sd is ``autoscale · sd(y) / sd(x)``; Student-t degrees of freedom ~ Gamma(nu_shape, nu_rate)."""

    autoscale: float = 2.5
    nu_shape: float = 2.0
    nu_rate: float = 0.1


@dataclass
class InferenceConfig:
    """``kind``: fe (the FE replica), bayes (hierarchical posterior) or both side by side."""

    kind: InferenceKind = InferenceKind.fe
    backend: Backend = Backend.numpyro
    hierarchical: bool = True
    likelihood: Likelihood = Likelihood.normal
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    collapse: bool = True  # NumPyro, hierarchical, normal: integrate the slopes out (tradeq.models.bayes.collapsed)
    fail_on_warning: bool = False
    prior: PriorConfig = field(default_factory=PriorConfig)


@dataclass
class OutputConfig:
    """Table layout: ``paren`` puts standard errors (se) or t statistics (t) under coefficients."""

    paren: ParenStat = ParenStat.se
    digits: int = 4
    plots: bool = True


@dataclass
class EstimateConfig:
    seed: int = 20240601
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


class PanelFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"
    dta = "dta"


@dataclass
class SimulateConfig:
    """``python simulate.py``: write one synthetic panel (``format``) and its truth; with
    ``study=<name>`` run that Monte Carlo study instead (:class:`StudyConfig`)."""

    seed: int = 20240601
    data: DataConfig = field(default_factory=DataConfig)
    format: PanelFormat = PanelFormat.parquet
    study: StudyConfig = field(default_factory=StudyConfig)


def register_configs() -> None:
    """Register the schemas; each primary config lists its schema first in its defaults."""
    cs = ConfigStore.instance()
    cs.store(name="estimate_schema", node=EstimateConfig)
    cs.store(name="simulate_schema", node=SimulateConfig)
