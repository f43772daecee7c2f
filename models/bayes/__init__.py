"""Bayesian inverted U with group-varying slopes (SPEC 3), in NumPyro and PyMC.

Public API::

    fit_bayes(design, groups=..., group_names=..., core="Market", backend="numpyro"|"pymc", ...)
        -> xarray.DataTree                                     (models.bayes.fit)
    PriorScales, default_priors                                (models.bayes.priors)
    build_group_design, sufficient_stats                       (models.bayes.design)
    convergence, check_convergence, posterior_table            (models.bayes.diagnostics)
    turning_point, inverted_u, curve                           (models.bayes.derived)

NumPyro runs chains in parallel only on as many XLA CPU devices as chains, and XLA reads
the device count once, when JAX first initialises its CPU backend. Importing this package
therefore asks for ``HOST_DEVICES`` CPU devices (:mod:`tradeq.host_devices`). If JAX was
initialised before (the request then has no effect), the samplers fall back to vectorised
chains. On a 2-core machine, 4 chains on 4 host devices ran about twice as fast as
vectorised chains in our measurements (see benchmarks/bayes.py).
"""

import tradeq  # noqa: F401  (float64 in JAX)
from tradeq.host_devices import HOST_DEVICES, request_host_devices

request_host_devices(HOST_DEVICES)

from models.bayes.derived import curve, inverted_u, turning_point  # noqa: E402
from models.bayes.design import GroupDesign, SuffStats, build_group_design, sufficient_stats  # noqa: E402
from models.bayes.diagnostics import (  # noqa: E402
    ConvergenceError,
    ConvergenceWarning,
    check_convergence,
    convergence,
    posterior_table,
)
from models.bayes.fit import fit_bayes  # noqa: E402
from models.bayes.priors import PriorScales, default_priors  # noqa: E402

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
