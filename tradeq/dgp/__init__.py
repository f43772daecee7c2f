"""Data-generating processes with known truth (SPEC 4).

* :mod:`tradeq.dgp.firm_panel` — unbalanced firm-year panels for the market-integration
  study (SPEC 1a): :func:`simulate_firm_panel` (pandas) over :func:`simulate_grid` (JAX);
  a package of its parameters, random-stream table, components, simulator and pandas edge.
* :mod:`tradeq.dgp.keys` — named PRNG sub-keys and counter-addressed threefry streams.
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
