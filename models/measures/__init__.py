"""Measures constructed from raw inputs (SPEC 2): pure functions over named arrays.

* :mod:`.location_quotient` — location quotient (location entropy) of a sector in a
  province, ``E_ij = (Y_ij / Y_i) / (Y_j / Y)`` (SPEC 1c: IC, IC2), for one cross-section
  (province x sector) or a panel (year x province x sector).
* :mod:`.fma` — foreign-market access, ``FMA_i = 100 / D_ii`` (coastal) or
  ``100 / (D_ij* + D_j*j*)`` (inland; Huang & Li 2006), with great-circle distances between
  capitals and the internal distance ``(2/3) sqrt(area / pi)`` (SPEC 1c, Table 4).
* the market-integration index by the relative-price method (SPEC 2a), firm export
  quality by the demand-residual method (SPEC 2b), the Hadlock–Pierce SA index (SPEC 1a),
  human capital in years of schooling (SPEC 2c) and leave-one-out peer aggregates
  (SPEC 1b) — each in a module of its own beside these.

Nothing is imported here: import the module you need (``from tradeq.models.measures import
location_quotient``), so that measures can be added without touching this file.
"""
