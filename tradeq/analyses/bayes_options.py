"""The one place that turns ``inference.*`` into the Bayesian fits' options.

Every analysis with a Bayesian column (``model=fe|inverted_u`` through
:mod:`tradeq.analyses.bayes_inverted_u`, ``model=heterogeneity``, ``model=mediation``) takes
its sampler and prior settings from here, so a setting either reaches the fit or fails with
one line naming it — never dropped. Accepts an :class:`~tradeq.specs.InferenceSpec` or the
same keys in a config node (the analyses' tests compose configs directly).

==========================  ==============================  ===============================
setting                     inverted U (fit_bayes)          mediation (fit_mediation_bayes)
==========================  ==============================  ===============================
backend, draws, tune,       passed                          passed
chains, target_accept
hierarchical                passed                          passed (needs model.split_by)
likelihood                  normal | student_t              normal only (else an error)
collapse                    passed                          always collapsed (false: error)
fail_on_warning             raise_on_fail                   raise_on_fail
prior.autoscale             passed                          passed
prior.nu_shape, nu_rate     passed (Student-t's nu prior)   no nu: a changed value is an error
groups                      model=fe: the groups;           the groups are model.split_by's
                            heterogeneity: model.split_by   (a changed value: an error)
==========================  ==============================  ===============================
"""

from __future__ import annotations

from enum import Enum

from tradeq.errors import ConfigError
from tradeq.specs import InferenceSpec


def _plain(v):
    return v.value if isinstance(v, Enum) else v


def _common(inference) -> dict:
    ta = _plain(inference.target_accept)
    return {"backend": str(_plain(inference.backend)), "hierarchical": bool(inference.hierarchical),
            "draws": int(inference.draws), "tune": int(inference.tune), "chains": int(inference.chains),
            "target_accept": None if ta is None else float(ta), "raise_on_fail": bool(inference.fail_on_warning),
            "autoscale": float(inference.prior.autoscale)}


def groups_unused(inference, model: str, instead: str = "model.split_by") -> None:
    """Fail when ``inference.groups`` was changed for an analysis whose groups come from ``instead``."""
    groups = tuple(str(g) for g in inference.groups)
    if groups != InferenceSpec().groups:
        raise ConfigError(f"inference.groups={list(groups)}: model={model} forms its Bayesian groups from {instead}; "
                          "set that instead")


def inverted_u_options(inference) -> dict:
    """Keyword arguments of :func:`tradeq.models.bayes.fit.fit_bayes` from ``inference``."""
    likelihood = str(_plain(inference.likelihood))
    return _common(inference) | {"likelihood": likelihood, "collapse": bool(inference.collapse),
                                 "nu_shape": float(inference.prior.nu_shape), "nu_rate": float(inference.prior.nu_rate)}


def mediation_options(inference) -> dict:
    """Keyword arguments of :func:`tradeq.models.bayes.mediation.fit_mediation_bayes` from
    ``inference``; the settings the joint mediation model does not have are errors."""
    likelihood = str(_plain(inference.likelihood))
    if likelihood != "normal":
        raise ConfigError(f"inference.likelihood={likelihood}: the Bayesian mediation model has Gaussian errors only "
                          "(its coefficients are integrated out exactly); use inference.likelihood=normal")
    if not bool(inference.collapse):
        raise ConfigError("inference.collapse=false: the Bayesian mediation model always draws its coefficients from "
                          "their exact Gaussian conditional; remove the setting")
    default = InferenceSpec().prior
    for name in ("nu_shape", "nu_rate"):
        if float(getattr(inference.prior, name)) != getattr(default, name):
            raise ConfigError(f"inference.prior.{name}={getattr(inference.prior, name)}: the Student-t degrees-of-freedom "
                              "prior, which the (Gaussian) Bayesian mediation model does not have; remove the setting")
    groups_unused(inference, "mediation")
    return _common(inference)


def fit_inverted_u(design, inference, **kwargs):
    """:func:`tradeq.models.bayes.fit.fit_bayes` with :func:`inverted_u_options`; ``kwargs``: the
    design's side (groups, group names, core, centre, seed, progress). A Student-t fit too large
    to sample its fixed effects explicitly is a one-line error naming the setting."""
    from tradeq.models.bayes.fit import fit_bayes
    from tradeq.models.bayes.student_t import TooManyEffects

    try:
        return fit_bayes(design, **inverted_u_options(inference), **kwargs)
    except TooManyEffects as exc:
        raise ConfigError(f"inference.likelihood=student_t: {exc}") from exc
