"""How a model is inferred (``inference=fe|bayes|both``) and the Bayesian fit's options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tradeq.specs.fields import Backend, InferenceKind, Likelihood, check, check_range


@dataclass(frozen=True)
class PriorOptions:
    """Weakly informative priors scaled to the data: each slope's prior sd is
    ``autoscale · sd(y) / sd(x)``; Student-t degrees of freedom ~ Gamma(nu_shape, nu_rate)."""

    autoscale: float = 2.5
    nu_shape: float = 2.0
    nu_rate: float = 0.1

    def __post_init__(self) -> None:
        for name in ("autoscale", "nu_shape", "nu_rate"):
            check_range(f"inference.prior.{name}", getattr(self, name), 0.0, lo_open=True)


@dataclass(frozen=True)
class InferenceSpec:
    """``kind``: fe (the FE replica only), bayes (the hierarchical posterior) or both side by side.

    The Bayesian fit: slopes vary over the groups formed by the columns ``groups`` (default
    region × ownership), sampled with ``backend``; ``draws`` per chain after ``tune`` warm-up
    steps, ``chains`` chains, NUTS target acceptance ``target_accept`` (default: the sampler's,
    0.8, or 0.95 for hierarchical mediation); ``collapse``: integrate the Gaussian slopes out
    (NumPyro, normal errors); ``fail_on_warning``: failed convergence checks are an error.
    """

    kind: InferenceKind = InferenceKind.fe
    groups: tuple[str, ...] = ("region", "ownership")
    backend: Backend = Backend.numpyro
    hierarchical: bool = True
    likelihood: Likelihood = Likelihood.normal
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    collapse: bool = True
    target_accept: float | None = None
    fail_on_warning: bool = False
    prior: PriorOptions = field(default_factory=PriorOptions)

    def __post_init__(self) -> None:
        check_range("inference.draws", self.draws, 1, integer=True)
        check_range("inference.tune", self.tune, 0, integer=True)
        check_range("inference.chains", self.chains, 1, 64, integer=True)
        check_range("inference.target_accept", self.target_accept, 0.0, 1.0, lo_open=True, hi_open=True)
        if self.kind == InferenceKind.fe:
            default = InferenceSpec(kind=InferenceKind.bayes)
            changed = [f.name for f in dataclasses.fields(self)
                       if f.name != "kind" and getattr(self, f.name) != getattr(default, f.name)]
            check(not changed, f"inference.{changed[0]}" if changed else "inference", getattr(self, changed[0]) if changed else "",
                  "is a setting of the Bayesian fit, which inference=fe does not run; use inference=bayes or inference=both")

    @property
    def bayes(self) -> bool:
        """Whether a Bayesian fit runs (``bayes`` or ``both``)."""
        return self.kind != InferenceKind.fe

    @property
    def fe(self) -> bool:
        """Whether the FE replica's results are shown (``fe`` or ``both``)."""
        return self.kind != InferenceKind.bayes
