"""Hydra schemas, derived from the specs, and their registration.

Each option of a config group (``conf/model/mediation.yaml``) lists its schema first in its
defaults (``base_mediation``, Hydra's schema pattern), so a misspelt or misplaced key fails
when Hydra composes the config, and :func:`tradeq.specs.estimate_spec` then rejects what
Hydra lets through (an appended ``+model.vcvo=hc1``). The schemas are generated from the
frozen specs (:func:`tradeq.specs.fields.schema_for`): every setting is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from tradeq.montecarlo.config import StudyConfig
from tradeq.specs.data import DATA_SPECS, paper_rows
from tradeq.specs.data_raw import RawInputsSpec
from tradeq.specs.fields import PanelFormat, schema_for
from tradeq.specs.inference import InferenceSpec
from tradeq.specs.model import MODEL_SPECS
from tradeq.specs.output import OutputSpec
from tradeq.specs.validation import ValidationSpec


def value(v: Any) -> Any:
    """The plain value of a config enum (``Vcov.cluster`` → ``"cluster"``) or the value itself."""
    return getattr(v, "value", v)


@dataclass
class EstimateConfig:
    """``estimate.yaml``: ``data`` and ``model`` take their schema from the chosen option."""

    seed: int = 20240601
    data: Any = None
    model: Any = None
    inference: Any = None
    output: schema_for(OutputSpec) = field(default_factory=schema_for(OutputSpec))


@dataclass
class SimulateConfig:
    """``simulate.yaml``: write one synthetic panel (``format``) and its truth; with
    ``study=<name>`` run that Monte Carlo study instead (:class:`StudyConfig`); with
    ``raw=customs`` write the simulated raw inputs of ``data=raw``."""

    seed: int = 20240601
    data: Any = None
    format: PanelFormat = PanelFormat.parquet
    study: StudyConfig = field(default_factory=StudyConfig)
    raw: Any = None
    validation: Any = None


def register_configs() -> None:
    """Register the primary schemas and one ``base_<option>`` schema per group option; the
    ``paper_rows`` resolver gives ``data.n_obs`` its default (the paper's rows scaled)."""
    cs = ConfigStore.instance()
    cs.store(name="estimate_schema", node=EstimateConfig)
    cs.store(name="simulate_schema", node=SimulateConfig)
    for name, spec in DATA_SPECS.items():
        cs.store(group="data", name=f"base_{name}", node=schema_for(spec))
    for kind, spec in MODEL_SPECS.items():
        cs.store(group="model", name=f"base_{kind}", node=schema_for(spec))
    cs.store(group="inference", name="base_inference", node=schema_for(InferenceSpec))
    cs.store(group="raw", name="base_raw_inputs", node=schema_for(RawInputsSpec))
    cs.store(group="validation", name="base_validation", node=schema_for(ValidationSpec))
    if not OmegaConf.has_resolver("paper_rows"):
        OmegaConf.register_new_resolver("paper_rows", lambda n_firms, n_years: paper_rows(int(n_firms), int(n_years)))
