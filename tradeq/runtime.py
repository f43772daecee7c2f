"""Process set-up for tradeq's entry points: one explicit call, never a side effect of an import.

:func:`setup_runtime` does the three things that must happen before JAX creates its first
array or starts its CPU backend, in this order:

1. **Host devices.** XLA reads ``--xla_force_host_platform_device_count`` once, when JAX
   first initialises its CPU backend; the count is then fixed for the life of the process.
   NumPyro's parallel chains (one device per chain) and the Monte Carlo engine's worker
   threads (one device per worker) need several. The flag is appended to ``XLA_FLAGS``
   unless the user set a count there already; called after JAX has started it has no effect
   and code falls back to what exists (:func:`cpu_devices`).
2. **Float64.** Fixed-effect estimates cannot match reference implementations to 1e-8 in
   float32, JAX's default; :mod:`tradeq.models` refuses to compute without it
   (:func:`tradeq.models.precision.require_x64`).
3. **Quiet logs.** JAX logs at INFO each accelerator backend it probes and does not find.

``estimate.py``, ``simulate.py``, the benchmarks and ``tests/conftest.py`` call it first; a
notebook calls it once before anything else::

    import tradeq
    tradeq.setup_runtime()
"""

from __future__ import annotations

import logging
import os

#: Host devices requested: NumPyro's default 4 chains, and up to 4 Monte Carlo workers.
HOST_DEVICES = 4

_FLAG = "xla_force_host_platform_device_count"


def request_host_devices(n: int = HOST_DEVICES) -> None:
    """Ask XLA for ``n`` CPU devices (effective only before JAX's backend initialises)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --{_FLAG}={int(n)}".strip()


def setup_runtime(host_devices: int = HOST_DEVICES) -> None:
    """Host devices, float64 JAX and quiet backend logs (see the module docstring). Idempotent."""
    request_host_devices(host_devices)
    import jax

    jax.config.update("jax_enable_x64", True)
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


def cpu_devices() -> list:
    """The CPU devices of this process when JAX runs on the CPU, else ``[]``."""
    import jax

    if jax.default_backend() != "cpu":
        return []
    return list(jax.local_devices(backend="cpu"))
