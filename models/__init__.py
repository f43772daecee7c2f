"""Estimators: the JAX fixed-effects replica, variance estimators and the inverted-U test.

Everything here works on arrays (see :class:`tradeq.design.Design`); only
:func:`models.fixed_effects.feols` touches a DataFrame, through :mod:`tradeq.design`.
"""

import tradeq  # noqa: F401  (enables float64 in JAX before any array exists)
