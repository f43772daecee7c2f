"""Bayesian inverted U with group-varying slopes (SPEC 3), in NumPyro and PyMC.

Public API::

    fit_bayes(design, groups=..., group_names=..., core="Market", backend="numpyro"|"pymc", ...)
        -> xarray.DataTree                                     (tradeq.models.bayes.fit)
    PriorScales, default_priors                                (tradeq.models.bayes.priors)
    build_group_design, sufficient_stats                       (tradeq.models.bayes.design)
    convergence, check_convergence, posterior_table            (tradeq.models.bayes.diagnostics)
    turning_point, inverted_u, curve                           (tradeq.models.bayes.derived)

NumPyro runs chains in parallel only on as many XLA CPU devices as chains; XLA reads the
device count once, when JAX first initialises its CPU backend, so the count is asked for by
the entry point's runtime set-up (:func:`tradeq.runtime.setup_runtime`), never by an import.
With fewer devices than chains the samplers fall back to vectorised chains.
"""

from .derived import curve, inverted_u, turning_point
from .design import GroupDesign, SuffStats, build_group_design, sufficient_stats
from .diagnostics import (
    ConvergenceError,
    ConvergenceWarning,
    check_convergence,
    convergence,
    posterior_table,
)
from .fit import fit_bayes
from .priors import PriorScales, default_priors

__all__ = [
    "ConvergenceError",
    "ConvergenceWarning",
    "GroupDesign",
    "PriorScales",
    "SuffStats",
    "build_group_design",
    "check_convergence",
    "convergence",
    "curve",
    "default_priors",
    "fit_bayes",
    "inverted_u",
    "posterior_table",
    "sufficient_stats",
    "turning_point",
]
