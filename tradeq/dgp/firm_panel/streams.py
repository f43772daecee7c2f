"""The firm panel's random streams: one table that declares every slot of standard draws.

:func:`tradeq.dgp.keys.draw_streams` cuts the slots of :data:`STREAMS` out of one
counter-addressed threefry stream under ``derive_key(key, "firm_panel")``, in table order.
The table is a contract, because every simulated number (and every cached Monte Carlo
result, :mod:`tradeq.montecarlo.cache`) depends on it:

* **Order is the stream.** A slot's draws depend only on the key and on the slots before it
  (:mod:`tradeq.dgp.keys`). New slots go at the end; reordering or resizing a slot changes
  the draws of every slot after it.
* **Every slot is laid out whatever the configuration.** A slot that a configuration does
  not read is skipped (:func:`unused_streams`: not drawn) without moving the others, so a
  given seed keeps its Market, firms, controls and effects when the error structure, the
  groups or the mediator change.
* **Shapes are year-major**, ``(T, ..., F)``: the layout
  :func:`~tradeq.dgp.firm_panel.simulate.simulate_grid` computes in, so nothing is transposed.
* **Precision.** Uniforms are float64: ``(bits + 0.5) 2^-32`` is exact in double precision
  and the inversions that use them (spell lengths' ``ln(-ln(1 - u))``, the province CDF)
  need it in the tails. Normals are the single-precision probit
  (:func:`tradeq.dgp.keys.probit`, relative error < 5e-7 for |z| < 5.3): ``float64`` slots are
  widened exactly, for components whose arithmetic is double precision (Market is squared;
  quality, the effects and the errors feed FE sums that must be exact to 1e-12);
  ``float32`` slots stay single precision, for the controls' copula, which computes in single
  precision from its innovations to the marginals
  (:func:`~tradeq.dgp.firm_panel.components.controls`).

Axis names in the table: ``F`` firms, ``T`` years, ``T+1`` years with the pre-sample year
(Market's lag), ``P`` provinces, ``K`` copula-drawn controls.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeq.dgp.keys import FLOAT32, FLOAT64, NORMAL, UNIFORM

from .params import COPULA_CONTROLS, N_PROVINCES, FirmPanelParams


@dataclass(frozen=True)
class Slot:
    """One slot of standard draws: axes (names, see the module docstring), distribution
    (``uniform`` or ``normal``), the precision it is delivered in, and why."""

    axes: tuple[str, ...]
    dist: str
    dtype: str
    why: str


_DOUBLE_UNIFORM = "uniform, exact in double precision"

#: Every slot of the firm panel's stream, in stream order (see the module docstring).
STREAMS: dict[str, Slot] = {
    "province": Slot(("F",), UNIFORM, FLOAT64, f"{_DOUBLE_UNIFORM}; inverse CDF of the province shares"),
    "soe": Slot(("F",), UNIFORM, FLOAT64, f"{_DOUBLE_UNIFORM}; SOE when below soe_share"),
    "intensity": Slot(("F",), UNIFORM, FLOAT64, f"{_DOUBLE_UNIFORM}; labour-intensive when below labour_share"),
    "spell_centre": Slot(("F",), UNIFORM, FLOAT64, f"{_DOUBLE_UNIFORM}; centre of the presence spell"),
    "spell_length": Slot(("F",), UNIFORM, FLOAT64,
                         f"{_DOUBLE_UNIFORM}; Weibull half-length by inversion, ln(-ln(1 - u)) needs the tail"),
    "age": Slot(("F",), NORMAL, FLOAT64, "log entry age, exponentiated and floored to whole years in double "
                                        "precision (a year boundary must not move with rounding)"),
    "firm_effect": Slot(("F",), NORMAL, FLOAT64, "firm effect's noise; enters quality, double precision"),
    "year_effect": Slot(("T",), NORMAL, FLOAT64, "year effect's noise; enters quality, double precision"),
    "market_common": Slot(("T+1",), NORMAL, FLOAT64, "Market's common path; Market is a squared regressor"),
    "market_province": Slot(("P",), NORMAL, FLOAT64, "Market's persistent provincial level"),
    "market_within": Slot(("P", "T+1"), NORMAL, FLOAT64, "innovations of Market's within-province AR(1)"),
    "controls_firm": Slot(("K", "F"), NORMAL, FLOAT32, "firm part of the copula's innovations; the copula "
                                                       "computes in single precision up to the marginals"),
    "controls_within": Slot(("T", "K", "F"), NORMAL, FLOAT32, "innovations of the copula's within-firm AR(1), "
                                                              "single precision as the copula"),
    "error": Slot(("T", "F"), NORMAL, FLOAT64, "idiosyncratic error; enters quality, double precision"),
    "province_year_shock": Slot(("P", "T"), NORMAL, FLOAT64, "province-year shock of the error"),
    "mediator_province": Slot(("P", "T"), NORMAL, FLOAT64, "mediator noise per province-year"),
    "mediator_firm": Slot(("T", "F"), NORMAL, FLOAT64, "mediator noise per firm-year"),
    "mediator_level": Slot(("P",), NORMAL, FLOAT64, "mediator's persistent provincial level"),
}


def stream_layout(n_firms: int, n_years: int) -> dict[str, tuple[tuple[int, ...], str, str]]:
    """:data:`STREAMS` with its axes sized: slot -> (shape, distribution, dtype), the layout
    :func:`tradeq.dgp.keys.draw_streams` takes."""
    size = {"F": n_firms, "T": n_years, "T+1": n_years + 1, "P": N_PROVINCES, "K": len(COPULA_CONTROLS)}
    return {name: (tuple(size[a] for a in slot.axes), slot.dist, slot.dtype) for name, slot in STREAMS.items()}


def unused_streams(params: FirmPanelParams) -> tuple[str, ...]:
    """Slots of :data:`STREAMS` that ``params``' structure never reads (not drawn)."""
    unused = []
    if params.error != "province_year":
        unused.append("province_year_shock")
    if params.mediator == "none":
        unused += ["mediator_province", "mediator_firm", "mediator_level"]
    elif params.mediator == "province":
        unused.append("mediator_firm")
    else:
        unused.append("mediator_province")
    return tuple(unused)
