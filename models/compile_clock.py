"""How much of a timed block JAX spent compiling: ``with compile_clock() as clock: ...``.

A sampler's wall time mixes a one-off cost -- XLA compiling the program (seconds on CPU,
whatever the data size) -- with the sampling itself, which scales with the data and the
number of draws. ESS per second of *sampling* needs the two apart. JAX reports each XLA
backend compilation through :mod:`jax.monitoring` (event
``/jax/core/compile/backend_compile_duration``); :func:`compile_clock` sums those events
while its block runs. Tracing (Python building the program) is not counted, so the
remainder slightly overstates the sampling time. Compilations on other threads during the
block are counted too (listeners are process-wide).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import jax.monitoring

#: The event JAX records once per XLA backend compilation, with its duration in seconds.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@dataclass
class CompileClock:
    """Seconds of XLA compilation (``seconds``) and compilations (``count``) seen so far."""

    seconds: float = 0.0
    count: int = 0


@contextmanager
def compile_clock() -> Iterator[CompileClock]:
    """Sum the XLA compilation time of the block (see the module docstring)."""
    clock, lock = CompileClock(), threading.Lock()

    def listener(event: str, duration: float, **_: object) -> None:
        if event == BACKEND_COMPILE_EVENT:
            with lock:
                clock.seconds += float(duration)
                clock.count += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield clock
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
