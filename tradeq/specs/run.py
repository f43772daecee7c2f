"""A whole run as one frozen record, built once from the composed Hydra config at the entry point.

``estimate.py`` calls :func:`estimate_spec` first; nothing below it sees a ``DictConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from tradeq.errors import ConfigError
from tradeq.specs.data import DATA_SPECS, FileSpec, SyntheticFirmsSpec
from tradeq.specs.fields import check_range, from_node, schema_for
from tradeq.specs.inference import InferenceSpec
from tradeq.specs.model import MODEL_SPECS, FESpec, ModelSpec
from tradeq.specs.output import OutputSpec


@dataclass(frozen=True)
class EstimateSpec:
    """``python estimate.py``: the seed, where the data come from, the analysis, its inference
    and the output layout."""

    seed: int = 20240601
    data: SyntheticFirmsSpec | FileSpec = field(default_factory=SyntheticFirmsSpec)
    model: ModelSpec = field(default_factory=FESpec)
    inference: InferenceSpec = field(default_factory=InferenceSpec)
    output: OutputSpec = field(default_factory=OutputSpec)

    def __post_init__(self) -> None:
        check_range("seed", self.seed, 0, 2**32 - 1, integer=True)


TOP_LEVEL = ("seed", "data", "model", "inference", "output")


def _spec_of(node: DictConfig, registry: dict[str, type], group: str) -> type:
    """The spec class a group's node was composed on (its schema's spec)."""
    schema = OmegaConf.get_type(node)
    for spec in registry.values():  # by name too: a launcher's worker unpickles the config with copies
        if schema_for(spec) is schema or getattr(schema, "__name__", None) == schema_for(spec).__name__:
            return spec
    raise ConfigError(f"{group}: this option is not built on a {group} schema (add `defaults: [base_<kind>]` to it)")


def estimate_spec(cfg: DictConfig, choices: dict[str, str] | None = None) -> EstimateSpec:
    """The validated :class:`EstimateSpec` of a composed ``estimate`` config.

    Every key must belong to the chosen options' schemas (``choices``: the group options Hydra
    chose, for the messages); every numeric setting is range-checked by the specs.
    """
    choices = choices or {}
    extra = [str(k) for k in cfg.keys() if str(k) not in (*TOP_LEVEL, "hydra")]
    if extra:
        raise ConfigError(f"{extra[0]} is not a setting of estimate.py; its settings are: {', '.join(TOP_LEVEL)}")
    data_spec = _spec_of(cfg.data, DATA_SPECS, "data")
    model_spec = _spec_of(cfg.model, MODEL_SPECS, "model")
    return EstimateSpec(
        seed=int(cfg.seed),
        data=from_node(cfg.data, data_spec, "data", choices.get("data")),
        model=from_node(cfg.model, model_spec, "model", choices.get("model")),
        inference=from_node(cfg.inference, InferenceSpec, "inference", choices.get("inference")),
        output=from_node(cfg.output, OutputSpec, "output"),
    )
