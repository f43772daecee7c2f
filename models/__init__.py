"""The numerical core, installed as ``tradeq.models``: everything that computes on arrays.

Fixed effects (:mod:`.fixed_effects`, :mod:`.within`), variances (:mod:`.vcov`), the
inverted-U test (:mod:`.utest`), mediation and the bootstrap (:mod:`.mediation`), the grid
estimators of the Monte Carlo engine (:mod:`.grid_fe`) and the Bayesian models
(:mod:`.bayes`). Functions take arrays (a :class:`.design.Design` for regressions) and
return frozen records; nothing here reads a config or a file, and nothing here imports
``tradeq`` outside this package (its own modules import each other relatively).

The folder is ``models/`` at the top of the repository and the package is
``tradeq.models`` (a setuptools ``package-dir`` mapping): nothing named ``models`` is
installed at the top level of site-packages, where any other ``models`` would collide.
"""

if __name__ != "tradeq.models":  # imported as a top-level ``models`` from the checkout
    raise ImportError(f"import this package as tradeq.models, not {__name__!r} (pip install -e . maps models/ there)")
