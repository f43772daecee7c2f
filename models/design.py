"""The design: what a regression needs, as arrays.

A :class:`Design` is the hand-off between the data layer (DataFrames, formulas, config)
and the numerical core (:mod:`models`). Every estimator takes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Design:
    """Arrays for ``y = X b + sum_j FE_j + e`` with optional clustering and groups.

    Shapes (n rows after dropping missing values; k regressors; m FE dimensions):

    - ``y``: (n,) float64 outcome.
    - ``X``: (n, k) float64 regressors, no intercept when ``m > 0`` (the FEs absorb it);
      an ``Intercept`` column when ``m == 0``.
    - ``x_names``: k column names, e.g. ``("Market", "I(Market ** 2)", "scale")``.
    - ``fe``: (n, m) int32 codes 0..G_j-1 for each FE dimension (``m`` may be 0).
    - ``fe_names``: m names, e.g. ``("firm", "year")``.
    - ``cluster``: (n, c) int32 codes for c = 0, 1 or 2 cluster dimensions.
    - ``cluster_names``: c names.
    - ``row_id``: (n,) int64 positions of the rows in the source DataFrame.
    - ``n_missing``: rows dropped before this design because a used column was missing.
    - ``y_name``: the outcome's name.
    """

    y: np.ndarray
    X: np.ndarray
    x_names: tuple[str, ...]
    fe: np.ndarray
    fe_names: tuple[str, ...]
    cluster: np.ndarray
    cluster_names: tuple[str, ...]
    row_id: np.ndarray
    y_name: str = "y"
    n_missing: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def k(self) -> int:
        return int(self.X.shape[1])
