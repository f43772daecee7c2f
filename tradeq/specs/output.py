"""How results are laid out (``output.*``)."""

from __future__ import annotations

from dataclasses import dataclass

from tradeq.specs.fields import ParenStat, check_range


@dataclass(frozen=True)
class OutputSpec:
    """``paren``: standard errors (se) or t statistics (t) under coefficients; ``digits``: decimals;
    ``plots``: draw the run's PNGs; ``labels``: rows labelled with the data's variable labels
    (Stata's, from a .dta) instead of column names, as esttab's ``label``."""

    paren: ParenStat = ParenStat.se
    digits: int = 4
    plots: bool = True
    labels: bool = False

    def __post_init__(self) -> None:
        check_range("output.digits", self.digits, 0, 12, integer=True)
