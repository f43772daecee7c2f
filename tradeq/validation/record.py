"""What one row of the validation matrix holds: rates with their Monte Carlo SEs.

A row is one estimator under one assumption (``region="valid"``: a claim that it works
there) or in a known failure region (``region="failure"``: documented, never deleted). Its
measures: coverage of the 95% interval, size at the null, power at the paper's effect, each a
:class:`Rate` (``value``, ``mcse = sqrt(p (1 - p) / n)``, ``n`` replications that count), or
an ``accuracy`` text for rows whose measure is not a rate (e.g. the largest coefficient error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeq.montecarlo.metrics import rate


@dataclass(frozen=True)
class Rate:
    """A proportion over ``n`` replications and its Monte Carlo SE."""

    value: float
    mcse: float
    n: int

    @classmethod
    def of(cls, flags) -> Rate:
        """The rate of True among the finite entries of ``flags`` (NaN: not counted)."""
        flags = np.asarray(flags, float)
        p, se = rate(flags)
        return cls(float(p), float(se), int(np.isfinite(flags).sum()))

    @classmethod
    def from_dataset(cls, value, mcse, n) -> Rate:
        return cls(float(value), float(mcse), int(n))

    def text(self) -> str:
        if not np.isfinite(self.value):
            return "–"
        return f"{self.value:.3f} ({self.mcse:.3f})"


@dataclass(frozen=True)
class ValidationRow:
    """One row: ``estimator`` under ``assumption`` (the DGP), ``region`` ``valid`` | ``failure``,
    ``coverage`` / ``size`` / ``power`` (:class:`Rate` or None where the row does not measure
    it), ``accuracy`` (text, for a non-rate measure) and ``accuracy_ok`` whether it meets its stated
    bound, ``size_at_most`` whether the claim is size <= 5% (a test whose null is composite,
    such as the Lind–Mehlum test, is conservative inside it), ``reps`` replications, ``note`` (what was
    run, and why fewer replications where there are)."""

    group: str
    estimator: str
    assumption: str
    region: str
    reps: int
    coverage: Rate | None = None
    size: Rate | None = None
    power: Rate | None = None
    accuracy: str = ""
    accuracy_ok: bool | None = None
    note: str = ""
    size_at_most: bool = False  # a test conservative by construction: only size > 5% is off

    def __post_init__(self) -> None:
        if self.region not in ("valid", "failure"):
            raise ValueError(f"region must be 'valid' or 'failure', got {self.region!r}")
