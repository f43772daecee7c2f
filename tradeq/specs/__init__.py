"""Frozen, validated records of what a run does, built once from the Hydra config.

``estimate_spec(cfg) -> EstimateSpec`` (data, model, inference, output); the model specs by
kind in :data:`MODEL_SPECS`; the Hydra schemas are derived from the specs
(:func:`tradeq.specs.fields.schema_for`) and registered by :func:`tradeq.config.register_configs`.
"""

from tradeq.specs.audit import AuditSpec, PublishedSpec
from tradeq.specs.data import DATA_SPECS, FileSpec, SyntheticFirmsSpec
from tradeq.specs.data_provinces import SyntheticProvincesSpec
from tradeq.specs.data_raw import RawSpec
from tradeq.specs.inference import InferenceSpec, PriorOptions
from tradeq.specs.model import (
    MODEL_SPECS,
    BaselineSpec,
    FESpec,
    HeterogeneitySpec,
    LagsSpec,
    MediationSpec,
    ModelSpec,
)
from tradeq.specs.model_clusters_bayes import ClustersBayesSpec
from tradeq.specs.model_spillover import InfoSpilloverSpec
from tradeq.specs.output import OutputSpec
from tradeq.specs.run import EstimateSpec, estimate_spec

DATA_SPECS[SyntheticProvincesSpec.SOURCE] = SyntheticProvincesSpec
DATA_SPECS[PublishedSpec.SOURCE] = PublishedSpec
MODEL_SPECS[AuditSpec.KIND] = AuditSpec
DATA_SPECS[RawSpec.SOURCE] = RawSpec  # data=raw (tradeq.specs.data_raw)
MODEL_SPECS[InfoSpilloverSpec.KIND] = InfoSpilloverSpec  # model=info_spillover (tradeq.specs.model_spillover)
MODEL_SPECS[ClustersBayesSpec.KIND] = ClustersBayesSpec  # model=clusters_bayes (tradeq.specs.model_clusters_bayes)

__all__ = [
    "DATA_SPECS", "MODEL_SPECS", "AuditSpec", "ClustersBayesSpec", "BaselineSpec", "EstimateSpec", "FESpec", "FileSpec", "HeterogeneitySpec",
    "InferenceSpec", "LagsSpec", "MediationSpec", "ModelSpec", "OutputSpec", "PriorOptions", "PublishedSpec", "SyntheticFirmsSpec",
    "SyntheticProvincesSpec",
    "estimate_spec",
]
