"""XLA CPU devices for this process: how many, asked for before JAX's CPU backend starts.

XLA reads ``--xla_force_host_platform_device_count`` once, when JAX first initialises its
CPU backend; afterwards the count is fixed for the life of the process. Two parts of
tradeq run work side by side on separate host devices: NumPyro's parallel chains (one
device per chain) and the Monte Carlo engine's worker threads (one device per worker).
Executions on *one* device run one after the other, and a single execution spreads its
fused loops over XLA's intra-op threads, which on a small CPU mostly wait on one another;
separate devices let whole replications run at once instead (benchmarks/montecarlo.py on 2
cores, together with the year-major grid FE fit: 7.8 -> 6.7 ms per replication of a
5,000 x 10 panel; the simulator's memory traffic bounds what two at once can gain).

:func:`request_host_devices` is the one piece of process-wide state: it appends the flag
to ``XLA_FLAGS`` unless the user set a count there already. Called after JAX has started,
it has no effect and code falls back to what exists (:func:`cpu_devices`).
"""

from __future__ import annotations

import os

import jax

#: Host devices requested: NumPyro's default 4 chains, and up to 4 Monte Carlo workers.
HOST_DEVICES = 4

_FLAG = "xla_force_host_platform_device_count"


def request_host_devices(n: int = HOST_DEVICES) -> None:
    """Ask XLA for ``n`` CPU devices (effective only before JAX's backend initialises)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --{_FLAG}={int(n)}".strip()


def cpu_devices() -> list:
    """The CPU devices of this process when JAX runs on the CPU, else ``[]``."""
    if jax.default_backend() != "cpu":
        return []
    return list(jax.local_devices(backend="cpu"))
