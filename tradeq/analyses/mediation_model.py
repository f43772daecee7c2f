"""The mediation model's variables and sample: :class:`MediationModel` (the three equations
of :mod:`tradeq.analyses.mediation`, their fixed effects and clusters), built from the model
spec, and the common sample the three equations share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from tradeq.analyses.common import Fitted, Spec, require_settings, resolve_vcov, square, with_frame
from tradeq.errors import ConfigError, DataError
from tradeq.lags import panel_lag
from tradeq.models.mediation import MediationBootstrap
from tradeq.panel import Panel
from tradeq.specs.model import check_distinct_roles

if TYPE_CHECKING:
    from tradeq.specs.model import MediationSpec


@dataclass(frozen=True)
class MediationModel:
    """The variables and inference settings of the three-equation model (module docstring)."""

    outcome: str
    treatment: str
    mediator: str
    controls: tuple[str, ...] = ()
    fe: tuple[str, ...] = ("firm", "year")
    vcov: str = "cluster"
    cluster: tuple[str, ...] = ()
    mediator_cluster: tuple[str, ...] = ()
    quadratic: bool = False
    lag: int = 0
    mediator_fe: tuple[str, ...] | None = None  # the mediator equation's own FE (None: fe)

    def __post_init__(self) -> None:
        check_distinct_roles(treatment=self.treatment, mediator=self.mediator, outcome=self.outcome)

    @property
    def x(self) -> str:
        """The core variable as used: ``L{lag}_{treatment}`` when lagged."""
        return f"L{self.lag}_{self.treatment}" if self.lag else self.treatment

    @property
    def m_fe(self) -> tuple[str, ...]:
        """The mediator equation's fixed effects."""
        return tuple(self.fe) if self.mediator_fe is None else tuple(self.mediator_fe)

    @property
    def boot_unit(self) -> str | None:
        """The resampled unit: the mediator's cluster, else the outcome's, else rows (None)."""
        if self.mediator_cluster:
            return self.mediator_cluster[0]
        return self.cluster[0] if self.cluster else None

    def specs(self) -> dict[str, Spec]:
        x = self.x
        sq = (square(x),) if self.quadratic else ()
        W = tuple(self.controls)
        fe = tuple(self.fe)
        return {
            "total": Spec(self.outcome, (x, *sq, *W), fe, self.vcov, self.cluster),
            "mediator": Spec(self.mediator, (x, *W), self.m_fe, self.vcov, self.mediator_cluster or self.cluster),
            "outcome": Spec(self.outcome, (x, *sq, self.mediator, *W), fe, self.vcov, self.cluster),
        }


@dataclass
class MediationResult:
    """The three fits, the product-of-coefficients tests, the bootstrap and a JSON summary.

    ``arrays`` holds what the Bayesian joint model needs, on the fits' common sample after
    singleton rows were dropped: raw ``y``, ``m``, ``x``, ``x2`` (or None), ``W`` (n, p),
    ``fe`` (n, m) codes and ``row_id`` (positions in the analysed frame).
    """

    model: MediationModel
    fits: dict[str, Fitted]
    summary: dict
    bootstrap: MediationBootstrap
    arrays: dict = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    time: str = "year"


def model_from_config(model_cfg: MediationSpec) -> MediationModel:
    """The model of a run's :class:`tradeq.specs.model.MediationSpec` (``spec.model``)."""
    require_settings(model_cfg, "mediation", ("outcome", "treatment", "mediator"))
    fe = [str(f) for f in model_cfg.fe]
    vcov, cluster = resolve_vcov(model_cfg, fe)
    med_cluster = (str(model_cfg.mediator_cluster),) if model_cfg.mediator_cluster else ()
    if med_cluster and vcov != "cluster":
        raise DataError(f"model.mediator_cluster={med_cluster[0]} needs model.vcov=cluster")
    lag = int(model_cfg.lag)
    if lag < 0:
        raise DataError(f"model.lag must be 0 or a positive number of years, got {lag}")
    return MediationModel(
        outcome=str(model_cfg.outcome), treatment=str(model_cfg.treatment), mediator=str(model_cfg.mediator),
        controls=tuple(str(c) for c in model_cfg.controls), fe=tuple(fe), vcov=vcov, cluster=cluster,
        mediator_cluster=med_cluster, quadratic=bool(model_cfg.quadratic), lag=lag,
        mediator_fe=None if getattr(model_cfg, "mediator_fe", None) is None else tuple(str(f) for f in model_cfg.mediator_fe),
    )


def mediation_sample(panel: Panel, model: MediationModel) -> Panel:
    """Add the lagged core variable (exact years within ``panel.id``) and keep the rows where
    every variable of the three equations, the FEs and the cluster columns are present, so
    that the equations share one sample."""
    frame = panel.frame
    need = [model.outcome, model.treatment, model.mediator, *model.controls, *model.fe, *model.m_fe,
            *model.cluster, *model.mediator_cluster, *(k for k in (panel.id, panel.time) if k)]
    missing = [c for c in dict.fromkeys(need) if c not in frame.columns]
    if missing:
        hint = (" (the simulator adds a mediator with data.dgp.mediator=province|firm and data.dgp.mediator_name=...;"
                " experiment=table6 sets both)" if panel.source.startswith("synthetic") else "")
        raise DataError(f"data {panel.source!r}: missing column(s) {missing} needed by the mediation model; "
                        f"available columns: {list(frame.columns)}{hint}")
    frame = frame.copy()
    if model.lag and not (panel.id and panel.time):
        raise ConfigError("model.lag needs the panel keys: set data.id=<unit column> and data.time=<year column>")
    if model.lag:
        frame[model.x] = panel_lag(frame, model.treatment, model.lag, panel.id, panel.time)
    used = list(dict.fromkeys([model.outcome, model.x, model.mediator, *model.controls, *model.fe, *model.m_fe,
                               *model.cluster, *model.mediator_cluster]))
    keep = frame[used].notna().all(axis=1)
    if not keep.any():
        raise DataError(f"data {panel.source!r}: no row has all of {used}"
                        + (f" (the lag of {model.treatment} needs consecutive years)" if model.lag else ""))
    return with_frame(panel, frame.loc[keep].reset_index(drop=True))


def check_square(frame: pd.DataFrame, model: MediationModel) -> None:
    """A treatment with two values has x² a linear function of x (0/1: x² = x)."""
    if not model.quadratic:
        return
    values = pd.unique(frame[model.x].astype(float))
    if len(values) <= 2:
        if set(values) <= {0.0, 1.0}:
            raise ConfigError(f"treatment {model.x} is binary: x² = x is collinear; set model.quadratic=false")
        raise ConfigError(f"treatment {model.x} takes two values {sorted(values.tolist())}: x² is a linear function "
                          "of x and collinear; set model.quadratic=false")


