"""Progress bars for the long steps of a run, on the console only.

The bars (tqdm) go to the terminal's stderr and never through :mod:`logging`, so the run's
``estimate.log`` keeps the messages without the bars; off when stderr is not a terminal (a
batch job's output file), unless ``enabled=True``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

#: Seconds between redraws of a step's elapsed time.
REFRESH_S = 0.5


def _tqdm(desc: str, total: int | None, unit: str, enabled: bool | None, file: IO | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=file or sys.stderr,
                disable=None if enabled is None else not enabled, dynamic_ncols=True)


@contextmanager
def counted(desc: str, total: int, unit: str = "it", *, enabled: bool | None = None,
            file: IO | None = None) -> Iterator:
    """A bar of ``total`` units; the block calls ``advance(n)`` as units finish."""
    bar = _tqdm(desc, total, unit, enabled, file)
    try:
        yield bar.update
    finally:
        bar.close()


@contextmanager
def step(desc: str, *, enabled: bool | None = None, file: IO | None = None) -> Iterator[None]:
    """A bar for one step without countable parts (the data load): its elapsed time, redrawn
    every :data:`REFRESH_S` seconds until the step ends."""
    bar = _tqdm(desc, None, "step", enabled, file)
    done = threading.Event()

    def redraw() -> None:
        while not done.wait(REFRESH_S):
            bar.refresh()

    thread = None if bar.disable else threading.Thread(target=redraw, daemon=True)
    if thread is not None:
        thread.start()
    try:
        yield
    finally:
        done.set()
        if thread is not None:
            thread.join()
        bar.close()
