"""``validation=<name>`` of ``simulate.py``: the validation matrix (:mod:`tradeq.validation`).

``name`` ``none`` (no validation run) or ``all``; ``reps`` replications per row (a row group
may cap them, saying why); ``rows`` the row groups to run (null: every registered one);
``output`` the page written (relative to the directory the command starts in);
``results_dir`` where row groups that keep result files keep them (null: the run folder's
``results/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeq.specs.fields import check, check_range


@dataclass(frozen=True)
class ValidationSpec:
    """The validation run (module docstring)."""

    name: str = "none"
    reps: int = 1000
    rows: tuple[str, ...] | None = None
    output: str = "docs/validation.md"
    results_dir: str | None = None

    def __post_init__(self) -> None:
        check_range("validation.reps", self.reps, 2, integer=True)
        check(self.name in ("none", "all"), "validation", self.name, "the options are none and all")
