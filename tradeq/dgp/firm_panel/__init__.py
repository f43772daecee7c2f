"""Synthetic firm-year panels for the market-integration -> export-quality study (SPEC 1a, 4).

The model, per present firm-year (firm i in province p(i), year t)::

    Market_pt  = ceil( c + g_t + a_p + u_pt )                        province-year index, ln(integ)
    quality_it = intercept + b1_g Market_pt + b2_g Market_pt^2
                 + d' X_it + alpha_i + delta_t (+ b_m M_it) + e_it

* ``g_t = market_trend (t - t_mid) + market_sd_common xi_t`` is the common path (the
  paper's Table 1: segmentation falls ~3x from 2004 to 2013, so ln(integ) rises ~0.55);
  ``a_p ~ N(0, market_sd_province)`` a persistent provincial level; ``u_pt`` a stationary
  AR(1) (sd ``market_sd_within``, persistence ``market_rho``). Table 1 shows provinces
  re-ranking almost completely between 2004 and 2013 (the 2004-to-2013 change has sd
  ~0.27 against a cross-province sd of ~0.18 in each year), i.e. most provincial
  variation is *within* province: that within variation is what identifies b1, b2 once
  firm and year effects are removed. ``ceil`` is a smooth ceiling at ``market_max`` (a
  softplus of width ``market_softness``) and a hard floor at ``market_min``: relative-price
  dispersion cannot fall below its noise floor, which gives the left-skewed distribution
  of Table 2 (median 4.276 sits 0.46 below the max, 1.11 above the min).
* ``X = (scale, age, roa, rdebt, fic)`` with Table 2 medians / sds / ranges and Table 3
  correlations (Gaussian copula; controls are winsorised at the Table 2 min / max as the
  paper's data are). ``age = ln(year - founding year + 1)`` from a founding year per firm.
  ``fic`` is a calibrated draw, not the SA formula of SPEC 1a: with Table 2's scale and age
  the SA formula gives |SA| of 2-3 (ln|SA| ~ 1), not Table 2's 0-0.729, and Table 3 shows
  fic nearly uncorrelated with scale and age, which a deterministic SA(scale, age) cannot be.
* ``alpha_i = gamma_firm (mean of Market over firm i's years - mean) + sigma_firm eta_i`` and
  ``delta_t = gamma_year (mean Market in year t - mean) + sigma_year zeta_t``: the effects are
  correlated with Market, so pooled OLS is biased and the firm + year FE estimator is not.
* ``b1_g, b2_g``: common (``b1``, ``b2``; Table 4 col 2) or per group (``group_by`` with
  ``group_b1``, ``group_b2``).
* ``M_it = med_intercept + med_a Market_{p,t-lag} + med_sd_province m_p + med_sigma nu``
  (``nu`` per province-year or per firm-year) is an optional mediator (SPEC 1a, Tables 6-7);
  the outcome then gains ``b_m (M_it - const)``.
* ``e_it``: iid, heteroskedastic in scale, AR(1) within firm, or iid plus a province-year
  shock (``error``).

Quality is *not* clipped to [0, 1] or trimmed: that would bias the known truth. Its level and
spread match Table 2 (median .714, sd .107) without it.

The panel is unbalanced: firm i is present in a contiguous spell of years around a random
centre (entry and exit), at least one year. ``n_obs`` picks exactly that many firm-years by
lowering or raising one common presence threshold, which keeps every spell contiguous.

Modules, along the model's seams:

* :mod:`~tradeq.dgp.firm_panel.params` — :class:`FirmPanelParams` (frozen; every knob, with
  the paper's calibration) and the geography, control and grouping constants;
* :mod:`~tradeq.dgp.firm_panel.streams` — :data:`STREAMS`, the table of random-stream slots
  (shape, distribution, precision and why);
* :mod:`~tradeq.dgp.firm_panel.components` — presence, Market index, firm attributes and
  age, controls, effects, errors, mediator, groups: pure JAX functions of draws and parameters;
* :mod:`~tradeq.dgp.firm_panel.simulate` — :func:`simulate_grid`, a pure, jit-compiled JAX
  function with static shapes (every firm-year array is ``(n_years, n_firms)``, year-major,
  with a ``present`` mask) that can be ``jax.vmap``-ed over keys;
* :mod:`~tradeq.dgp.firm_panel.frame` — the pandas edge: :func:`grid_to_frame`,
  :class:`Truth`, :func:`simulate_firm_panel`.

The performance contract (the rules the simulator's speed rests on; what each saved is in
``docs/performance.md``, "Monte Carlo engine"):

* random numbers are counter-addressed threefry slots, all drawn by one call, declared with
  their shape, distribution and precision in :data:`STREAMS`;
* every firm-year array is year-major ``(T, F)``, the layout the grid FE fit reads;
* single precision only where :data:`STREAMS` says so (the probit, the controls' copula up
  to the marginals); every array :func:`simulate_grid` returns is float64, bool or int32;
* whole-panel sums, minima and maxima go through :func:`tradeq.models.grid_reduce.grid_total`
  (two stages); province-level values reach firms through :func:`by_province`'s select tree;
* arrays that several consumers read are written out once (``optimization_barrier``), so
  every program -- standalone, batched, any chunk size -- computes a draw with the same bits.
"""

from .components import (
    ar1,
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
    province_probabilities,
)
from .frame import Truth, grid_to_frame, make_truth, simulate_firm_panel
from .params import (
    AGE_TABLE_SIZE,
    CONTROLS,
    COPULA_CONTROLS,
    ERRORS,
    GROUPINGS,
    MEDIATOR_LEVELS,
    N_PROVINCES,
    PAPER_GROUP_COEFFICIENTS,
    PROVINCE_REGION,
    PROVINCE_TABLE,
    PROVINCES,
    REGIONS,
    FirmPanelParams,
    group_labels,
    paper_group_params,
)
from .simulate import simulate_grid
from .streams import STREAMS, Slot, stream_layout, unused_streams

__all__ = [
    "AGE_TABLE_SIZE", "CONTROLS", "COPULA_CONTROLS", "ERRORS", "GROUPINGS", "MEDIATOR_LEVELS", "N_PROVINCES",
    "PAPER_GROUP_COEFFICIENTS", "PROVINCES", "PROVINCE_REGION", "PROVINCE_TABLE", "REGIONS", "STREAMS",
    "FirmPanelParams", "Slot", "Truth", "ar1", "by_province", "controls", "effects", "errors", "firm_age",
    "firm_attributes", "grid_to_frame", "group_codes", "group_labels", "make_truth", "market_index", "mediator",
    "paper_group_params", "presence", "province_probabilities", "simulate_firm_panel", "simulate_grid",
    "stream_layout", "unused_streams",
]
