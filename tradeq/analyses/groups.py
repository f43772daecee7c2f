"""Group codes for split samples and hierarchical models (a label column or a cut numeric one),
and the group-specific columns of the pooled interaction model built from them."""

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


#: More distinct values than this in a numeric ``split_by`` column (without ``split_cuts``) is a
#: continuous variable, not a grouping.
MAX_SPLIT_GROUPS = 50


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
    if levels is None and len(distinct) > MAX_SPLIT_GROUPS and pd.api.types.is_numeric_dtype(col):
        raise DataError(f"{where}: model.split_by={by!r} is a numeric column with {len(distinct)} distinct values; "
                        f"cut it into groups with model.split_cuts=[...] (e.g. its median, "
                        f"model.split_cuts=[{_label_number(float(np.nanmedian(col.to_numpy(dtype=float))))}])")
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


# ---------------------------------------------------------------------------------------
# The pooled interaction model's group columns
# ---------------------------------------------------------------------------------------


def interaction_names(x: str, G: int) -> tuple[list[str], list[str]]:
    """Column names of x·1[g] and x²·1[g] (g = 0..G−1) in the pooled frame."""
    return [f"{x}_x_g{g}" for g in range(G)], [f"{x}_sq_g{g}" for g in range(G)]


def level_names(G: int) -> list[str]:
    """Column names of the group main effects 1[g], g = 1..G−1 (group 0 is the reference)."""
    return [f"group_g{g}" for g in range(1, G)]


def pooled_columns(name: str, x: np.ndarray, codes: np.ndarray, G: int) -> dict[str, np.ndarray]:
    """The pooled model's group columns for the variable ``name`` with values ``x``,
    elementwise on arrays of any (common) shape, keyed by their column names.

    ``x·1[g]`` and ``x²·1[g]`` for every group g (each group its own curve, built from the
    raw x) and the main effects ``1[g]`` for g ≥ 1 (each group its own level). Without the
    main effects a level difference between groups that the fixed effects do not absorb —
    a group that varies within firm and within year — loads onto the group slopes. Rows
    with code −1 (in no group) get zeros everywhere.
    """
    x = np.asarray(x, dtype=float)
    lin, sq = interaction_names(name, G)
    on = [(codes == g).astype(float) for g in range(G)]
    out = {lin[g]: x * on[g] for g in range(G)}
    out.update({sq[g]: x**2 * on[g] for g in range(G)})
    out.update({lev: on[g] for g, lev in enumerate(level_names(G), start=1)})
    return out


def absorbing_effects(frame: pd.DataFrame, codes: np.ndarray, fe) -> list[str]:
    """The fixed effects (columns of ``frame``; ``a^b`` for an interaction) within each of
    whose levels every row in a group has the same group: those absorb the group's level."""
    inside = codes >= 0
    out = []
    for f in fe:
        keys = [frame[c].to_numpy()[inside] for c in str(f).split("^")]
        n = pd.Series(codes[inside]).groupby(keys).nunique()
        if (n <= 1).all():
            out.append(str(f))
    return out


def equality_restrictions(names: list[str], x: str, G: int) -> tuple[np.ndarray, np.ndarray]:
    """(R1, R2), each (G − 1, k): rows ``b1_g − b1_1`` and ``b2_g − b2_1`` over the fit's
    terms ``names``. Raises DataError when a group's x or x² column was dropped."""
    lin, sq = interaction_names(x, G)
    missing = [t for t in lin + sq if t not in names]
    if missing:
        raise DataError(f"the pooled interaction model dropped {missing} (collinear with the fixed effects)")

    def rows(cols):
        R = np.zeros((G - 1, len(names)))
        for g in range(1, G):
            R[g - 1, names.index(cols[g])] = 1.0
            R[g - 1, names.index(cols[0])] = -1.0
        return R

    return rows(lin), rows(sq)


def group_levels(frame: pd.DataFrame, split: Split, fe: list[str], pooled_fit=None) -> dict:
    """Whether the fixed effects absorb the groups' levels, and what that means for the fits
    (``pooled_fit``: the pooled interaction model's FEFit, None when it was not fitted).

    ``absorbed_by``: the fixed effects within whose levels the group never changes;
    ``varies_within`` the others; ``included`` / ``dropped_collinear``: the pooled model's
    main-effect columns kept / dropped as collinear; ``note``: one sentence for the table.
    """
    absorbed = absorbing_effects(frame, split.codes, fe)
    varies = [f for f in fe if f not in absorbed]
    terms = level_names(len(split.labels))
    dropped = [t for t in terms if pooled_fit is not None and t in pooled_fit.dropped_collinear]
    included = [t for t in terms if pooled_fit is not None and t in pooled_fit.x_names]
    by = split.by
    if absorbed:
        which = " and ".join(absorbed)
        note = f"{by} is constant within {' and within '.join(absorbed)}: the {which} effects absorb its group levels"
        note += f" (1[{by}] drops as collinear from the pooled model)." if pooled_fit is not None else "."
    elif dropped and dropped == terms:
        note = f"{by} varies within each fixed effect, but together they absorb its group levels (1[{by}] drops as collinear)."
    else:
        where = f"varies within {' and within '.join(varies)}" if varies else "has no fixed effects to absorb it"
        note = (f"{by} {where}: group level effects included in the pooled model" if pooled_fit is not None
                else f"{by} {where}: the fixed effects do not absorb its group levels")
        if varies:
            note += f"; a {varies[0]} in several groups has a {varies[0]} effect in each split sample"
        note += "."
    return {"terms": terms, "absorbed_by": absorbed, "varies_within": varies, "included": included,
            "dropped_collinear": dropped, "note": note}
