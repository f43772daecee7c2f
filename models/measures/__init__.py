"""Measures constructed from raw inputs (SPEC 2): pure functions over named arrays.

One module a measure, its formula and source in the module docstring:

* :mod:`.market_integration` — the relative-price market-integration index (SPEC 2a;
  Parsley & Wei; Sheng & Mao 2011) and the paper's Table 1 layout.
* :mod:`.export_quality` — firm export quality by the demand-residual method (SPEC 2b;
  Khandelwal, Schott & Wei 2013), residuals aligned by row identity.
* :mod:`.sa_index` — the Hadlock–Pierce SA index and fic = ln|SA| (SPEC 1a).
* :mod:`.human_capital` — human capital in years of schooling (SPEC 2c).
* :mod:`.peers` — leave-one-out peer export scale and diversity, network exposure,
  exporter density (SPEC 1b).
* :mod:`.location_quotient` — location quotient (location entropy) of a sector in a
  province, ``E_ij = (Y_ij / Y_i) / (Y_j / Y)`` (SPEC 1c: IC, IC2).
* :mod:`.fma` — foreign-market access, ``FMA_i = 100 / D_ii`` (coastal) or
  ``100 / (D_ij* + D_j*j*)`` (inland), great-circle distances between capitals and the
  internal distance ``(2/3) sqrt(area / pi)`` (SPEC 1c, Table 4).
* :mod:`.codes` — sort/bincount group codes the measures share.

Nothing is imported here: import the module you need (``from tradeq.models.measures import
location_quotient``), so that measures can be added without touching this file.
"""
