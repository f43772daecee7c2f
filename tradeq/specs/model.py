"""What each analysis estimates (``model=<option>``): one frozen spec per kind, validated once.

Every option of ``conf/model/`` is built on the schema derived from one of these classes
(``base_<kind>``), so a key that does not belong to the chosen analysis — ``model=inverted_u
model.n_boot=5`` — fails at start-up with the allowed keys listed, and every numeric setting
is range-checked here, before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tradeq.errors import ConfigError
from tradeq.specs.fields import CIMethod, LagControls, Tail, Vcov, check, check_range
from tradeq.specs.inference_clusters import Estimator, WildNull, WildPType, WildWeights, check_fe_inference


@dataclass(frozen=True)
class ModelSpec:
    """Settings every analysis has: a name (run folder, tables), a caption, the interval level,
    and the outcome's tailing (``tail=winsorize|trim`` at ``tail_p`` and ``1 − tail_p``)."""

    KIND: ClassVar[str] = ""
    name: str = "model"
    title: str | None = None
    level: float = 0.95
    tail: Tail = Tail.none
    tail_p: float = 0.05

    def __post_init__(self) -> None:
        check_range("model.level", self.level, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("model.tail_p", self.tail_p, 0.0, 0.5, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class FESpec(ModelSpec):
    """One fixest-style formula: ``formula = "y ~ x1 + I(x1**2) + x2 | fe1 + fe2"``.

    ``vcov``: iid, hc1, cluster (one column in ``cluster``; default the first FE, as fixest),
    twoway (two columns) or crv3 (the jackknife, one column). ``utest``: the core variable whose
    linear and squared terms the Lind–Mehlum test uses; ``utest_interval`` overrides its default
    interval [min, max]. The few-cluster settings (``wild``, ``wild_*``, ``hypothesis``,
    ``influence``), ``estimator`` and ``sample``: :mod:`tradeq.specs.inference_clusters`.
    """

    KIND: ClassVar[str] = "fe"
    name: str = "fe"
    formula: str = "???"
    vcov: Vcov = Vcov.cluster
    cluster: tuple[str, ...] = ()
    utest: str | None = None
    utest_interval: tuple[float, ...] | None = None
    estimator: Estimator = Estimator.fe
    wild: bool = False
    wild_weights: WildWeights = WildWeights.rademacher
    wild_reps: int = 9999
    wild_null: WildNull = WildNull.restricted
    wild_ptype: WildPType = WildPType.symmetric
    hypothesis: tuple[str, ...] = ()
    influence: bool = False
    sample: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check(isinstance(self.formula, str) and self.formula.strip() not in ("", "???"), "model.formula",
              self.formula, 'set the model, e.g. model.formula="y ~ x + I(x**2) | firm + year"')
        _check_vcov(self.vcov, self.cluster)
        if self.utest_interval is not None:
            iv = self.utest_interval
            check(len(iv) == 2 and float(iv[0]) < float(iv[1]), "model.utest_interval", list(iv),
                  "must be [low, high] with low < high")
        check_fe_inference(self)


@dataclass(frozen=True)
class VariablesSpec(ModelSpec):
    """An analysis built from named variables instead of a formula: ``outcome`` on ``treatment``
    (and its square when ``quadratic``), ``controls`` and the fixed effects ``fe``; errors
    cluster by ``cluster`` (default: the first FE; HC1 without FE)."""

    outcome: str | None = None
    treatment: str | None = None
    quadratic: bool = True
    controls: tuple[str, ...] = ()
    fe: tuple[str, ...] = ("firm", "year")
    vcov: Vcov = Vcov.cluster
    cluster: tuple[str, ...] = ()

    REQUIRED: ClassVar[tuple[str, ...]] = ("outcome", "treatment")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in self.REQUIRED:
            check(bool(getattr(self, key)), f"model.{key}", getattr(self, key),
                  f"model.kind={self.KIND} needs model.{key}=<column>")
        check(self.vcov != Vcov.crv3, "model.vcov", self.vcov, f"crv3 is a variance of model=fe, not of model.kind={self.KIND}")
        _check_vcov(self.vcov, self.cluster)


@dataclass(frozen=True)
class BaselineSpec(VariablesSpec):
    """Table 4: the inverted U, one column per entry of ``control_sets`` (unset: one column)."""

    KIND: ClassVar[str] = "baseline"
    name: str = "baseline"
    control_sets: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True)
class LagsSpec(VariablesSpec):
    """Table 5: ``treatment`` lagged by each of ``lags`` years within ``data.id`` (exact years),
    with current and/or lagged controls (``lag_controls``)."""

    KIND: ClassVar[str] = "lags"
    name: str = "lags"
    quadratic: bool = False
    lags: tuple[int, ...] = (1, 2, 3)
    lag_controls: LagControls = LagControls.both

    def __post_init__(self) -> None:
        super().__post_init__()
        check(len(self.lags) > 0 and all(int(k) == k and k >= 1 for k in self.lags), "model.lags", list(self.lags),
              "must list lag orders ≥ 1, e.g. [1,2,3]")


@dataclass(frozen=True)
class SplitSettings(VariablesSpec):
    """Group settings shared by heterogeneity and (hierarchical) mediation: split by the column
    ``split_by`` (levels ``split_levels`` in that order, or a numeric column cut at ``split_cuts``)."""

    split_by: str | None = None
    split_levels: tuple[str, ...] | None = None
    split_cuts: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.split_cuts is not None:
            cuts = [float(c) for c in self.split_cuts]
            check(cuts == sorted(cuts) and len(set(cuts)) == len(cuts), "model.split_cuts", cuts,
                  "must be strictly increasing")


def check_distinct_roles(**roles: str | None) -> None:
    """The mediation model's columns by role must differ: a ConfigError naming the two settings."""
    items = list(roles.items())
    for i, (k1, v1) in enumerate(items):
        for k2, v2 in items[i + 1:]:
            if v1 == v2:
                raise ConfigError(f"model.{k2}={v2} is the same column as model.{k1}={v1}; "
                                  f"the {k2} must be a different variable")


@dataclass(frozen=True)
class MediationSpec(SplitSettings):
    """Tables 6–7: the three-equation mediation model with fixed effects; the mediator equation's
    errors cluster by ``mediator_cluster``; ``n_boot`` cluster-bootstrap resamples;
    ``mediator_fe``: the mediator equation's own fixed effects (None: ``fe``; the cluster papers'
    eq. 3 has province effects only, ``[province]``)."""

    KIND: ClassVar[str] = "mediation"
    REQUIRED: ClassVar[tuple[str, ...]] = ("outcome", "treatment", "mediator")
    name: str = "mediation"
    quadratic: bool = False
    mediator: str | None = None
    mediator_cluster: str | None = None
    lag: int = 0
    n_boot: int = 2000
    ci_method: CIMethod = CIMethod.bca
    mediator_fe: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("model.lag", self.lag, 0, integer=True)
        check_range("model.n_boot", self.n_boot, 2, integer=True)
        check_distinct_roles(treatment=self.treatment, mediator=self.mediator, outcome=self.outcome)
        if self.mediator_cluster:
            check(self.vcov == Vcov.cluster, "model.mediator_cluster", self.mediator_cluster,
                  f"needs model.vcov=cluster (got {self.vcov})")


@dataclass(frozen=True)
class HeterogeneitySpec(SplitSettings):
    """Tables 8–11: split samples by ``split_by`` with the pooled equal-curves Wald test."""

    KIND: ClassVar[str] = "heterogeneity"
    REQUIRED: ClassVar[tuple[str, ...]] = ("outcome", "treatment", "split_by")
    name: str = "heterogeneity"


def _check_vcov(vcov: Vcov, cluster: tuple[str, ...]) -> None:
    if vcov == Vcov.twoway:
        check(len(cluster) == 2, "model.cluster", list(cluster),
              "model.vcov=twoway needs two columns, e.g. model.cluster=[firm,year]")
    elif vcov in (Vcov.cluster, Vcov.crv3):
        check(len(cluster) <= 1, "model.cluster", list(cluster),
              f"model.vcov={vcov} takes one column; use model.vcov=twoway for two")


#: The analyses' specs by kind (the registry of tradeq.analyses maps the same kinds to code).
MODEL_SPECS: dict[str, type[ModelSpec]] = {
    cls.KIND: cls for cls in (FESpec, BaselineSpec, LagsSpec, MediationSpec, HeterogeneitySpec)
}
