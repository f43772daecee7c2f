"""XLA compiler options for the Monte Carlo engine's programs on a CPU.

Two of XLA's CPU code-generation options change what the engine's replication body (the
simulator, the grid FE fit and its sandwich variances) costs:

* ``xla_cpu_prefer_vector_width=512``: loops are vectorised 512 bits wide where the CPU
  has AVX-512 (XLA otherwise stops at 256). The random-number hash (32-bit integer
  rotations, native in AVX-512) and the float32 probit gain most.
* ``xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT``: YNNPACK
  runs the dot products alone; by default it also takes over reductions and fuses them
  with their neighbours, which made the grid FE fit's many small reductions slower here.

What they save on ``benchmarks/montecarlo.py``'s replication is in ``docs/performance.md``
("Monte Carlo engine"); on a CPU without AVX-512 the wider preference changes nothing.

The options are passed per compilation (``jax.jit(..., compiler_options=...)``), never
through the process-wide ``XLA_FLAGS``, so nothing else in the process is affected. Option
names of XLA's experimental features can change between jaxlib releases:
:func:`cpu_compiler_options` compiles a trivial program with them once and returns ``{}``
if this jaxlib rejects any of them, and the engine then compiles with XLA's defaults.
Results do not depend on the options beyond the last bits of double-precision sums (both
tested, without assuming that this jaxlib accepts the flags); the options in use are part
of the key of the engine's result files (:mod:`tradeq.montecarlo.cache`), since those last
bits differ.
"""

from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp

log = logging.getLogger("tradeq")

#: The options, by name (XLA ``DebugOptions`` fields).
OPTIONS: dict[str, object] = {
    "xla_cpu_prefer_vector_width": 512,
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
}


@functools.cache
def cpu_compiler_options() -> dict[str, object]:
    """:data:`OPTIONS` when this jaxlib accepts them, else ``{}`` (checked once)."""
    try:
        probe = jax.jit(lambda x: x @ x.T + 1.0, compiler_options=OPTIONS)
        jax.block_until_ready(probe(jnp.ones((2, 2), device=jax.devices("cpu")[0])))
    except Exception as err:  # noqa: BLE001 - any rejection means: compile without them
        log.info("XLA CPU compiler options not accepted by this jaxlib (%s); using defaults", err)
        return {}
    return dict(OPTIONS)


def compiler_options_for(platform: str) -> dict[str, object] | None:
    """``compiler_options`` for a ``jax.jit`` that runs on ``platform`` (``"cpu"``,
    ``"gpu"``, ...): :func:`cpu_compiler_options` on a CPU, none elsewhere."""
    return cpu_compiler_options() if platform == "cpu" else None
