"""Data-generating processes with known truth (SPEC 4).

* :mod:`tradeq.dgp.firm_panel` — unbalanced firm-year panels for the market-integration
  study (SPEC 1a): :func:`simulate_firm_panel` (pandas) over :func:`simulate_grid` (JAX).
* :mod:`tradeq.dgp.keys` — named PRNG sub-keys.
"""

from tradeq.dgp.firm_panel import (
    FirmPanelParams,
    Truth,
    group_labels,
    paper_group_params,
    simulate_firm_panel,
    simulate_grid,
)

__all__ = [
    "FirmPanelParams",
    "Truth",
    "group_labels",
    "paper_group_params",
    "simulate_firm_panel",
    "simulate_grid",
]
