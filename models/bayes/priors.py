"""Weakly informative priors scaled to the data.

The inverted-U model (see :mod:`tradeq.models.bayes.numpyro_model` for the full equations) writes
each group's curve around a reference point c of the core term x (default: its pooled mean),
``b1 x + b2 x^2 = slope (x - c) + b2 (x - c)^2 + const`` with ``slope = b1 + 2 c b2`` the
curve's slope at c, and puts the priors on (slope, b2):

    mu_slope ~ Normal(0, s_slope)      tau_slope ~ HalfNormal(s_tau_slope)
    mu_b2 ~ Normal(0, s_b2)            tau_b2 ~ HalfNormal(s_tau_b2)
    beta_j ~ Normal(0, s_beta_j)       sigma  ~ HalfNormal(s_sigma)
    nu ~ Gamma(nu_shape, nu_rate)      (Student-t errors only)

Default scales follow the "autoscale" rule of rstanarm (Gabry & Goodrich): a slope's prior
sd is ``2.5 · sd(y) / sd(regressor)``, so a one-sd move in a regressor is a priori unlikely
to move the outcome by more than a few sd of the outcome. The regressors are x for the slope
and (x - c)^2 for the curvature, so ``s_slope = 2.5 sd(y) / sd(x)`` and
``s_b2 = 2.5 sd(y) / sd((x - c)^2)``. The sds are those of the *raw* columns on the
estimation sample (before the within transformation): the prior is a statement about the
substantive scale of an effect, not about how much identifying within-firm variation there
is. The between-group sds get the same scale as the population means (``s_tau = s``),
half-normal: group slopes may differ by as much as the slopes themselves, and the data
decide how much they do. ``sigma`` is half-normal with scale
``sd(y)``. ``nu ~ Gamma(2, 0.1)`` (Juárez & Steel 2010) puts most mass on 2–50 degrees of
freedom. Every scale can be overridden with :func:`dataclasses.replace` or by passing a
:class:`PriorScales` to :func:`tradeq.models.bayes.fit.fit_bayes`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

AUTOSCALE = 2.5


@dataclass(frozen=True)
class PriorScales:
    """Prior scales of the inverted-U model (all > 0).

    ``slope``/``b2``: sd of the Normal(0, ·) priors on the population slope at c and
    curvature, mu_slope/mu_b2 (the pooled model's slope/b2). ``tau_slope``/``tau_b2``: scales
    of the HalfNormal priors on the between-group sds. ``beta``: one sd per control (p,). ``sigma``: HalfNormal scale of the
    error sd (Student-t: of its scale). ``nu_shape``/``nu_rate``: Gamma prior on Student-t
    degrees of freedom.
    """

    slope: float
    b2: float
    tau_slope: float
    tau_b2: float
    beta: tuple[float, ...]
    sigma: float
    nu_shape: float = 2.0
    nu_rate: float = 0.1

    def __post_init__(self) -> None:
        values = [self.slope, self.b2, self.tau_slope, self.tau_b2, self.sigma, self.nu_shape, self.nu_rate, *self.beta]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"prior scales must be finite and positive, got {self}")

    @property
    def beta_array(self) -> np.ndarray:
        return np.asarray(self.beta, dtype=np.float64)

    def to_json(self) -> str:
        """A JSON string, stored in the posterior's attributes."""
        return json.dumps(asdict(self))


def _sd(a: np.ndarray, name: str) -> float:
    sd = float(np.std(a))
    if not np.isfinite(sd) or sd <= 0:
        raise ValueError(f"cannot scale a prior to {name!r}: its standard deviation is {sd}")
    return sd


def default_priors(
    y: np.ndarray,
    core: np.ndarray,
    controls: np.ndarray,
    *,
    center: float = 0.0,
    control_names: tuple[str, ...] = (),
    autoscale: float = AUTOSCALE,
) -> PriorScales:
    """Data-scaled weakly informative priors (see the module docstring).

    Shapes: ``y`` (n,), ``core`` (n,) the raw linear core term x, ``controls`` (n, p) raw;
    ``center`` is the reference point c of the curve.
    """
    sd_y = _sd(y, "outcome")
    s_slope = autoscale * sd_y / _sd(core, "core term")
    s_b2 = autoscale * sd_y / _sd((core - center) ** 2, "squared core term")
    names = control_names or tuple(f"control {j}" for j in range(controls.shape[1]))
    beta = tuple(autoscale * sd_y / _sd(controls[:, j], names[j]) for j in range(controls.shape[1]))
    return PriorScales(slope=s_slope, b2=s_b2, tau_slope=s_slope, tau_b2=s_b2, beta=beta, sigma=sd_y)
