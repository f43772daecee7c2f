"""``model=clusters_bayes``: the cluster study's IC slope partially pooled over regions × periods.

One spec (:class:`ClustersBayesSpec`); the analysis is :mod:`tradeq.analyses.clusters_bayes`, the
model :mod:`tradeq.models.bayes.region_period`. The sampler's settings are ``inference.*``
(``inference=bayes|both``); the groups are ``region`` × ``period``, not ``inference.groups``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from tradeq.specs.fields import Vcov, check, check_range
from tradeq.specs.model import ModelSpec


class Pooling(enum.StrEnum):
    additive = "additive"
    exchangeable = "exchangeable"


@dataclass(frozen=True)
class ClustersBayesSpec(ModelSpec):
    """``formula``'s ``core`` slope varies over the cells of the columns ``region`` (levels
    ``region_levels``, in that order) × ``period`` (``period_levels``; default its sorted values);
    every other regressor is a control with a common slope; the formula's fixed effects are
    removed exactly. ``pooling``: additive (mu + region + period + interaction effects) or
    exchangeable (the cells ~ N(mu, tau)); ``tau_scale`` multiplies the autoscaled slope scale
    to give the HalfNormal scale of every tau. The OLS intervals beside the posterior come from
    the FE model with cell-specific slopes, variance ``vcov`` clustered by ``cluster``.
    ``sample``: a pandas condition selecting rows first."""

    KIND: ClassVar[str] = "clusters_bayes"
    name: str = "clusters_bayes"
    formula: str = "TU ~ IC + CX + HUM + FDI + GOV + INF | province + year"
    core: str = "IC"
    region: str = "region"
    period: str = "period"
    region_levels: tuple[str, ...] = ("East", "Central", "West")
    period_levels: tuple[str, ...] | None = None
    pooling: Pooling = Pooling.additive
    tau_scale: float = 1.0
    vcov: Vcov = Vcov.cluster
    cluster: tuple[str, ...] = ("province",)
    sample: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check(isinstance(self.formula, str) and "~" in self.formula, "model.formula", self.formula,
              'must be a formula, e.g. "TU ~ IC + CX | province + year"')
        check_range("model.tau_scale", self.tau_scale, 0.0, lo_open=True)
        check(self.vcov in (Vcov.iid, Vcov.hc1, Vcov.cluster), "model.vcov", self.vcov,
              "the OLS comparison takes iid, hc1 or cluster")
        check(self.vcov != Vcov.cluster or len(self.cluster) == 1, "model.cluster", list(self.cluster),
              "model.vcov=cluster takes one column")
        for key in ("region_levels", "period_levels"):
            levels = getattr(self, key)
            if levels is not None:
                check(len(levels) >= 1 and len(set(levels)) == len(levels), f"model.{key}", list(levels),
                      "must list distinct levels")
        check(self.region != self.period, "model.period", self.period, "must be a different column from model.region")
