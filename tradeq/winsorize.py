"""Winsorising and trimming at percentiles (the papers' "tailing").

With cut ``p`` (e.g. 0.05): winsorise replaces values below the p-quantile by that quantile
and above the (1−p)-quantile by that one; trim sets them to missing, so the rows drop out
of any model that uses the column. Quantiles use numpy's default (linear) definition,
which is Stata's ``_pctile`` "altdef" — documented because Stata's ``winsor2`` default
differs slightly in small samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def tail_bounds(x: np.ndarray, p: float) -> tuple[float, float]:
    if not 0.0 <= p < 0.5:
        raise ValueError(f"tail cut must be in [0, 0.5), got {p}")
    finite = x[np.isfinite(x)]
    return float(np.quantile(finite, p)), float(np.quantile(finite, 1.0 - p))


def winsorize(x: pd.Series, p: float) -> pd.Series:
    lo, hi = tail_bounds(x.to_numpy(dtype=float), p)
    return x.clip(lower=lo, upper=hi)


def trim(x: pd.Series, p: float) -> pd.Series:
    lo, hi = tail_bounds(x.to_numpy(dtype=float), p)
    return x.where((x >= lo) & (x <= hi))
