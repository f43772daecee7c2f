"""Group codes for split samples and hierarchical models: a label column or a cut numeric one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.errors import DataError


@dataclass(frozen=True)
class Split:
    """``codes`` (n,) int: the group of each row of the frame, −1 for rows in no group;
    ``labels`` the G group names in column order."""

    by: str
    labels: tuple[str, ...]
    codes: np.ndarray

    def mask(self, g: int) -> np.ndarray:
        return self.codes == g


def _label_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def split_groups(frame: pd.DataFrame, by: str, levels=None, cuts=None, where: str = "data") -> Split:
    """Groups of the rows of ``frame`` by the column ``by``.

    * ``cuts`` (sorted numbers): a numeric column cut into ``[−inf, c1), [c1, c2), …,
      [ck, inf)``; each group is labelled by the smallest and largest value it holds
      (``year`` cut at 2008 → ``2004-2007``, ``2008-2013``, the paper's periods).
    * otherwise every distinct value is a group; ``levels`` picks and orders them (rows
      with other values, or missing, are left out), default: sorted distinct values.
    """
    if by not in frame.columns:
        raise DataError(f"{where}: model.split_by={by!r} is not a column; columns are {list(frame.columns)}")
    col = frame[by]
    if cuts is not None:
        cuts = [float(c) for c in cuts]
        if sorted(cuts) != cuts:
            raise DataError(f"model.split_cuts must be increasing, got {cuts}")
        if not pd.api.types.is_numeric_dtype(col):
            raise DataError(f"{where}: model.split_cuts needs a numeric model.split_by column; {by!r} has dtype {col.dtype}")
        v = col.to_numpy(dtype=float)
        raw = np.searchsorted(np.asarray(cuts), v, side="right")
        raw = np.where(np.isfinite(v), raw, -1)
        present = [b for b in range(len(cuts) + 1) if np.any(raw == b)]
        labels = tuple(f"{_label_number(v[raw == b].min())}-{_label_number(v[raw == b].max())}" for b in present)
        remap = np.full(len(cuts) + 2, -1)
        remap[present] = np.arange(len(present))
        codes = np.where(raw >= 0, remap[raw], -1)
        return _checked(Split(by, labels, codes.astype(np.int64)), where)
    text = col.astype("string")  # missing stays missing
    distinct = sorted(str(x) for x in text.dropna().unique())
    if levels is None:
        labels = tuple(distinct)
    else:
        labels = tuple(str(x) for x in levels)
        unknown = [x for x in labels if x not in distinct]
        if unknown:
            raise DataError(f"{where}: model.split_levels {unknown} do not occur in column {by!r}; its values are {distinct}")
    present = text.notna().to_numpy()
    codes = np.full(len(text), -1, np.int64)  # −1: other values or missing
    codes[present] = pd.Index(list(labels)).get_indexer(text[present].astype(str))
    return _checked(Split(by, labels, codes), where)


def _checked(split: Split, where: str) -> Split:
    if len(split.labels) < 2:
        raise DataError(f"{where}: splitting by {split.by!r} gives {len(split.labels)} group(s) "
                        f"{list(split.labels)}; a comparison needs at least 2")
    return split
