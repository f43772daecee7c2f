"""tradeq: simulation-validated fixed-effects and Bayesian estimators for export-quality panels.

Importing the package switches JAX to float64: fixed-effect estimates cannot match
reference implementations to 1e-8 in float32, and the switch must happen before any
JAX array is created.
"""

import logging

import jax

jax.config.update("jax_enable_x64", True)
# JAX logs at INFO each accelerator backend it probes and does not find (TPU, proxy) — noise on CPU runs.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)

__version__ = "0.1.0"
