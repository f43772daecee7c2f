"""One synthetic firm panel as static-shape JAX arrays: :func:`simulate_grid`.

The model is stated in :mod:`tradeq.dgp.firm_panel`; each term is a component of
:mod:`~tradeq.dgp.firm_panel.components`, fed by its slots of
:data:`~tradeq.dgp.firm_panel.streams.STREAMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import jax
import jax.numpy as jnp

from tradeq.dgp.keys import derive_key, draw_streams

from .components import (
    by_province,
    controls,
    effects,
    errors,
    firm_age,
    firm_attributes,
    group_codes,
    market_index,
    mediator,
    presence,
)
from .params import FirmPanelParams
from .streams import stream_layout, unused_streams


def _quality(params: FirmPanelParams, market: jax.Array, age: jax.Array, x: Mapping[str, jax.Array],
             firm_effect: jax.Array, year_effect: jax.Array, error: jax.Array, group: jax.Array) -> jax.Array:
    """(T, F) outcome ``intercept + b1_g Market + b2_g Market^2 + d'X + alpha_i + delta_t + e``."""
    if params.group_by is None:
        b1, b2 = params.b1, params.b2
    else:
        b1, b2 = jnp.asarray(params.group_b1)[group], jnp.asarray(params.group_b2)[group]
    return (params.intercept + b1 * market + b2 * market**2
            + params.beta_scale * x["scale"] + params.beta_age * age
            + params.beta_roa * x["roa"] + params.beta_rdebt * x["rdebt"]
            + params.beta_fic * x["fic"]
            + firm_effect[None, :] + year_effect[:, None] + error)


def _mediated(params: FirmPanelParams, s: Mapping[str, jax.Array], market: jax.Array, market_py_lag: jax.Array,
              province: jax.Array, quality: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Quality with the mediator's path ``b_m (M - centre)`` added, and the mediator's arrays."""
    lagged = by_province(market_py_lag, province)
    driver = lagged if params.mediator_lag == 1 else market
    m = mediator(params, s["mediator_level"], s.get("mediator_province"), s.get("mediator_firm"), driver, province)
    # Centring moves only the intercept (absorbed by the effects); it keeps quality's
    # level unchanged when the mediator is switched on.
    centre = params.med_intercept + params.med_a * params.market_center
    return quality + params.med_b * (m - centre), {"mediator": m, "Market_lag": lagged}


@partial(jax.jit, static_argnames=("n_firms", "n_years"))
def simulate_grid(key: jax.Array, params: FirmPanelParams, n_firms: int, n_years: int,
                  n_obs: int | jax.Array | None = None) -> dict[str, jax.Array]:
    """One synthetic panel as static-shape arrays (pure; jit-compiled).

    ``jax.vmap`` works over ``key`` and over numeric fields of ``params`` (with
    ``dataclasses.replace``); ``n_firms`` and ``n_years`` are static.

    Returns (F = n_firms, T = n_years, P = 31 provinces):

    * ``present`` (T, F) bool; ``Market``, ``scale``, ``age``, ``roa``, ``rdebt``, ``fic``,
      ``quality``, ``error`` (T, F) float64; ``group`` (T, F) int32 — firm-year arrays are
      year-major: a year's firms are contiguous, so sums over a firm's years (the firm
      means of the DGP and of the FE fit, :mod:`tradeq.models.grid_fe`) add T rows of F values;
    * ``province``, ``region`` (F,) int32; ``soe``, ``labour`` (F,) bool; ``founding`` (F,)
      founding year minus ``year0``; ``firm_effect`` (F,); ``year_effect`` (T,);
    * ``market_py``, ``market_py_lag`` (P, T): Market by province-year and its one-year lag;
    * with a mediator: ``mediator`` and ``Market_lag`` (T, F), the one-year lag of Market
      (the mediator's driver when ``mediator_lag == 1``; current Market when 0).

    Cells with ``present == False`` hold values too (the model evaluated there) but are not
    part of the panel. ``n_obs`` selects exactly that many present cells (``n_firms <=
    n_obs <= n_firms * n_years``; not checked here); it is traced, so changing it does not
    recompile, while ``None`` (the natural draw) is a separate compilation.
    """
    s = draw_streams(derive_key(key, "firm_panel"), stream_layout(n_firms, n_years),
                     skip=unused_streams(params))
    firms = firm_attributes(params, s["province"], s["soe"], s["intensity"])
    present = presence(params, s["spell_centre"], s["spell_length"], n_years, n_obs)
    market_full = market_index(params, s["market_common"], s["market_province"], s["market_within"])
    market_py, market_py_lag = market_full[:, 1:], market_full[:, :-1]
    market = by_province(market_py, firms["province"])

    founding, age = firm_age(params, s["age"], present)
    x = controls(params, s["controls_firm"], s["controls_within"], market, age, present)
    firm_effect, year_effect = effects(params, s["firm_effect"], s["year_effect"], market, present)
    error = errors(params, s["error"], s.get("province_year_shock"), x["scale"], firms["province"])
    group = group_codes(params, firms, n_years)
    quality = _quality(params, market, age, x, firm_effect, year_effect, error, group)

    out = {"present": present, "Market": market, "age": age, **x, "error": error,
           "group": group, **firms, "founding": founding,
           "firm_effect": firm_effect, "year_effect": year_effect,
           "market_py": market_py, "market_py_lag": market_py_lag}
    if params.mediator != "none":
        quality, extra = _mediated(params, s, market, market_py_lag, firms["province"], quality)
        out.update(extra)
    out["quality"] = quality
    return out
