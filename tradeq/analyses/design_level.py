"""At what level does the core regressor vary, and are the errors clustered below it? (Moulton 1990)

A regressor that is constant within groups — the provincial market-integration index is one
value per province-year, shared by every firm of a province in a year — carries as many
independent pieces of information as there are groups whose shocks are independent, not as
many as there are rows. Errors clustered by firm (or not clustered at all) treat the firms of
one province-year as independent draws of the regressor's effect; when the errors share a
province-year (or province) component, the standard errors are then too small, by a factor
that grows with the number of rows per group (Moulton 1990, "An illustration of a pitfall in
estimating the effects of aggregate variables on micro units", REStat 72(2)).

:func:`design_level` finds the coarsest grouping — one column, or two (province × year) — of
the frame's categorical columns within which the variable is constant, and flags the design
when a typical group spans more than one cluster (or the errors are not clustered). It names
the coarser level to cluster at: the grouping's non-time column that nests the clusters (the
province of firms), and the few-cluster tools for when that level has few groups.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: A group spanning at least this many clusters on average flags the design.
CLUSTERS_PER_CELL = 2.0
#: Columns with more distinct values than this share of the rows are not groupings.
MAX_LEVEL_SHARE = 0.5
#: At most this many candidate columns are paired (the pairs grow quadratically).
MAX_CANDIDATES = 12


@dataclass(frozen=True)
class DesignLevel:
    """``level``: the columns whose cells hold ``variable`` constant (empty: it varies within
    every candidate grouping); ``n_cells`` their number; ``clusters_per_cell`` the mean number
    of ``cluster`` values per cell (None without clustering); ``warn``: the errors are
    clustered below the variable's level; ``suggest``/``n_suggest``: the coarser level to
    cluster at and its number of groups; ``message``: the table note (empty without a warning)."""

    variable: str
    level: tuple[str, ...]
    n_cells: int
    cluster: str | None
    n_clusters: int
    clusters_per_cell: float | None
    warn: bool
    suggest: str | None
    n_suggest: int
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def _codes(frame: pd.DataFrame, columns) -> dict[str, np.ndarray]:
    n = frame.shape[0]
    out = {}
    for c in dict.fromkeys(columns):
        if c not in frame.columns or pd.api.types.is_float_dtype(frame[c]):
            continue
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        if 1 < len(uniques) <= MAX_LEVEL_SHARE * n and (codes >= 0).all():
            out[c] = codes.astype(np.int64)
    return out


def _constant_within(x: np.ndarray, key: np.ndarray) -> tuple[bool, int]:
    """(``x`` takes one value in every cell of ``key``, the number of cells)."""
    s = pd.Series(x).groupby(key, sort=False)
    n_cells = int(s.ngroups)
    spread = (s.max() - s.min()).abs().to_numpy()
    scale = max(float(np.nanmax(np.abs(x))), 1e-300)
    return bool(np.all(spread <= 1e-12 * scale)), n_cells


def _find_level(x: np.ndarray, codes: dict[str, np.ndarray], n: int) -> tuple[tuple[str, ...], int]:
    """The coarsest grouping (fewest cells) within which ``x`` is constant: one column, else a
    pair. A grouping has at least as many cells as its finest column has levels and as ``x`` has
    values, which prunes most candidates before any group-by (the firm panel's 594,596 rows take
    a handful of group-bys, not one per pair)."""
    levels = {c: int(k.max()) + 1 for c, k in codes.items()}
    n_values = len(pd.unique(x))
    for c in sorted(codes, key=levels.get):  # fewest levels first: the first hit is the coarsest
        if levels[c] >= n_values and _constant_within(x, codes[c])[0]:
            return (c,), levels[c]
    names = sorted(list(codes)[:MAX_CANDIDATES], key=levels.get)
    pairs = sorted(itertools.combinations(names, 2), key=lambda ab: max(levels[ab[0]], levels[ab[1]]))
    best: tuple[int, tuple[str, ...]] | None = None
    for a, b in pairs:
        if levels[a] * levels[b] < n_values or (best is not None and max(levels[a], levels[b]) >= best[0]):
            continue
        key = codes[a] * levels[b] + codes[b]
        ok, cells = _constant_within(x, key)
        if ok and cells <= MAX_LEVEL_SHARE * n and (best is None or cells < best[0]):
            best = (cells, (a, b))
    return (best[1], best[0]) if best else ((), n)


def _nests(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Every value of ``inner`` lies inside one value of ``outer``."""
    return bool((pd.Series(outer).groupby(inner).nunique() <= 1).all())


def _suggestion(level, codes, cluster_codes, time) -> tuple[str | None, int]:
    options = [c for c in level if c != time] or list(level)
    if cluster_codes is not None:
        nesting = [c for c in options if _nests(codes[c], cluster_codes)]
        options = nesting or options
    if not options:
        return None, 0
    best = max(options, key=lambda c: int(codes[c].max()) + 1)  # the finest valid level
    return best, int(codes[best].max()) + 1


def design_level(frame: pd.DataFrame, variable: str, cluster: str | None, candidates, *,
                 time: str | None = None, vcov: str = "cluster") -> DesignLevel:
    """The level at which ``variable`` varies in ``frame`` (the estimation sample's rows) and
    whether errors clustered by ``cluster`` (None: not clustered) lie below it.

    ``candidates``: the columns that may define groups (the FE, cluster, panel keys and other
    categorical columns); float columns and columns with more than half as many values as
    rows are skipped. ``time`` names the period column (it is not suggested as a cluster).
    """
    n = frame.shape[0]
    x = frame[variable].to_numpy(dtype=float)
    codes = _codes(frame, [c for c in candidates if c != variable])
    level, cells = _find_level(x, codes, n) if np.isfinite(x).all() and n > 1 else ((), n)
    level = tuple(sorted(level, key=lambda c: c == time))  # province × year, the period last
    cl = codes.get(cluster) if cluster else None
    if cluster and cl is None and cluster in frame.columns:
        cl = pd.factorize(frame[cluster])[0].astype(np.int64)
    n_clusters = int(cl.max()) + 1 if cl is not None else 0
    per_cell = None
    warn = False
    if level:
        key = codes[level[0]] if len(level) == 1 else codes[level[0]] * (int(codes[level[1]].max()) + 1) + codes[level[1]]
        if cl is not None:
            per_cell = float(pd.Series(cl).groupby(key).nunique().mean())
            warn = per_cell >= CLUSTERS_PER_CELL
        else:
            warn = vcov in ("iid", "hc1") and n / max(cells, 1) >= CLUSTERS_PER_CELL
    suggest, n_suggest = _suggestion(level, codes, cl, time) if warn else (None, 0)
    message = _message(variable, level, cells, cluster, n_clusters, per_cell, suggest, n_suggest) if warn else ""
    return DesignLevel(variable, tuple(level), int(cells), cluster, n_clusters, per_cell, warn, suggest,
                       n_suggest, message)


def _message(variable, level, cells, cluster, n_clusters, per_cell, suggest, n_suggest) -> str:
    where = " × ".join(level)
    errors = (f"errors are clustered by {cluster} ({n_clusters:,} clusters, {per_cell:,.1f} per {where} cell on average)"
              if cluster else "errors are not clustered")
    fix = ""
    if suggest:
        fix = (f" Cluster at the coarser level: model.vcov=cluster model.cluster={suggest} ({n_suggest} clusters)"
               + ("; with so few clusters use model.vcov=crv3 or model.wild=true" if n_suggest < 50 else "") + ".")
    return (f"Design: {variable} is constant within {where} cells ({cells:,} of them) but the {errors}: its standard "
            f"error is likely too small — it is whenever the errors share a {where} (or {level[0]}) component, since "
            f"rows sharing one {where} value are then not independent draws of it (the Moulton problem).{fix}")
