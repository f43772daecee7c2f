"""Structured-config schemas for every Hydra config group.

Each YAML file under ``conf/`` is merged onto one of these dataclasses, so a misspelt key
(``model.vcvo=hc1``) or an invalid choice (``model.vcov=robust``) fails at start-up with
Hydra's own error naming the key, before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore


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
    overrides the simulator's parameters (``tradeq.dgp.firm_panel.FirmPanelParams``
    field names; unknown names are rejected). ``source=file`` reads ``path`` (.csv,
    .parquet, .dta) and renames columns with ``rename`` (file name → name used in the
    model), then checks that ``id``/``time`` identify rows uniquely.
    """

    source: DataSource = DataSource.synthetic_firms
    path: Optional[str] = None
    rename: dict[str, str] = field(default_factory=dict)
    id: str = "firm"
    time: str = "year"
    n_firms: int = 120_000
    n_years: int = 10
    n_obs: Optional[int] = 594_596
    dgp: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """A fixest-style model: ``formula = "y ~ x1 + I(x1**2) + x2 | fe1 + fe2"``.

    ``vcov``: iid, hc1, cluster (one column in ``cluster``) or twoway (two columns).
    ``utest``: the core variable whose linear and squared terms the Lind–Mehlum test uses;
    ``utest_interval`` overrides the default interval [min, max] of that variable.
    """

    name: str = "fe"
    formula: str = "???"
    vcov: Vcov = Vcov.cluster
    cluster: Any = None  # a column name or a list of one or two names
    utest: Optional[str] = None
    utest_interval: Optional[list[float]] = None
    level: float = 0.95
    groups: list[str] = field(default_factory=lambda: ["region", "ownership"])


@dataclass
class PriorConfig:
    """Scales of the weakly informative priors, in units of the data (see models.bayes.priors)."""

    slope_scale: float = 2.5
    tau_scale: float = 1.0
    sigma_scale: float = 1.0
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


def register_configs() -> None:
    """Register the schemas; ``conf/estimate.yaml`` lists ``estimate_schema`` first in its defaults."""
    cs = ConfigStore.instance()
    cs.store(name="estimate_schema", node=EstimateConfig)
