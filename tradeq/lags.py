"""Lags of a variable within a panel unit, consecutive periods only.

``lag_k(x)_it = x_{i,t-k}`` when unit i is observed in period t−k, missing otherwise —
a gap in the panel never makes a row borrow a value from a non-adjacent year, which is
what a plain ``groupby().shift(k)`` on an unbalanced panel silently does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def panel_lag(frame: pd.DataFrame, column: str, k: int, id: str = "firm", time: str = "year") -> pd.Series:
    """``column`` lagged ``k`` periods within ``id`` by exact time match; index aligned with ``frame``.

    Works on any row order; requires integer-valued ``time`` and unique (id, time) pairs.
    """
    if k < 1:
        raise ValueError(f"lag order must be ≥ 1, got {k}")
    if not pd.api.types.is_integer_dtype(frame[time]):
        t = frame[time].to_numpy()
        if not np.all(np.isfinite(t)) or not np.all(np.mod(t, 1) == 0):
            raise ValueError(f"column {time!r} must hold whole periods (years) to build lags")
    source = frame[[id, time, column]].copy()
    source[time] = source[time].astype(np.int64) + k  # the value at t−k is the lag at t
    source = source.rename(columns={column: f"__lag{k}"})
    keys = frame[[id, time]].astype({time: np.int64}).reset_index()
    merged = keys.merge(source, on=[id, time], how="left", validate="many_to_one")
    return pd.Series(merged[f"__lag{k}"].to_numpy(), index=frame.index, name=f"L{k}_{column}")


def add_lags(frame: pd.DataFrame, columns: list[str], orders: list[int], id: str = "firm", time: str = "year") -> pd.DataFrame:
    """A copy of ``frame`` with ``L{k}_{col}`` for every column and order."""
    out = frame.copy()
    for col in columns:
        for k in orders:
            out[f"L{k}_{col}"] = panel_lag(frame, col, k, id, time)
    return out
