"""tradeq: simulation-validated fixed-effects and Bayesian estimators for export-quality panels.

Importing tradeq changes nothing in the process. Entry points (and notebooks) call
:func:`tradeq.setup_runtime` once, first: it switches JAX to float64 and asks XLA for the
host devices the samplers and the Monte Carlo engine use (:mod:`tradeq.runtime`).
"""

from tradeq.runtime import setup_runtime

__all__ = ["setup_runtime"]
__version__ = "0.1.0"
