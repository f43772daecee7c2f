"""The SA index of financial constraints (Hadlock & Pierce 2010, RFS 23(5)).

    SA   = -0.737 size + 0.043 size^2 - 0.040 age
    size = ln(min(total assets, size_cap))    total assets in millions
    age  = min(years since founding, age_cap)
    fic  = ln |SA|                            as the market-integration paper uses (SPEC 1a,
                                              after Lu Shengfeng & Chen Sixia 2017)

Hadlock and Pierce estimate the index on US firms with book assets in millions of 2004
dollars, capped at $4.5 billion (``size_cap=4500``), and age as years on Compustat, capped
at 37 (``age_cap=37``). **Units are the caller's:** ``total_assets_millions`` must be in the
unit the cap is in. Chinese firm registers report assets in thousand yuan: either convert
to millions of 2004 US dollars (deflate, divide by the exchange rate and by 1000) and keep
``size_cap=4500``, or pass assets in million yuan with the cap converted to yuan
(e.g. 4500 x 8.28, the 2004 rate). The coefficients were estimated on dollar sizes, so
applying them to million-yuan sizes shifts ``size`` by ln(8.28) = 2.1 — a choice the
papers rarely state; the output depends on it.

Below a size of 0 (assets under one million) or at size = age = 0 the formula leaves the
range it was fitted on; |SA| = 0 gives fic = NaN (ln 0), counted by :func:`fic_index`'s caller.
"""

from __future__ import annotations

import numpy as np

HP_SIZE = -0.737
HP_SIZE_SQ = 0.043
HP_AGE = -0.040
HP_SIZE_CAP_MILLIONS_2004_USD = 4500.0
HP_AGE_CAP_YEARS = 37.0


def sa_index(
    total_assets_millions,
    age_years,
    *,
    size_cap: float = HP_SIZE_CAP_MILLIONS_2004_USD,
    age_cap: float = HP_AGE_CAP_YEARS,
) -> np.ndarray:
    """SA of each firm-year (module docstring). Inputs (n,) float; NaN propagates.

    Raises ``ValueError`` for non-positive assets, negative age or non-positive caps.
    """
    assets = np.asarray(total_assets_millions, dtype=np.float64)
    age = np.asarray(age_years, dtype=np.float64)
    if assets.shape != age.shape:
        raise ValueError(f"assets {assets.shape} and age {age.shape} must have the same shape")
    if not (size_cap > 0 and age_cap > 0):
        raise ValueError(f"caps must be positive; got size_cap={size_cap}, age_cap={age_cap}")
    if (assets <= 0).any():
        raise ValueError(f"total assets must be positive for ln(assets); {int((assets <= 0).sum())} are not")
    if (age < 0).any():
        raise ValueError(f"age must be >= 0 years; {int((age < 0).sum())} are negative (founded after the year)")
    size = np.log(np.minimum(assets, size_cap))
    age = np.minimum(age, age_cap)
    return HP_SIZE * size + HP_SIZE_SQ * size**2 + HP_AGE * age


def fic_index(total_assets_millions, age_years, **caps) -> np.ndarray:
    """``ln |SA|`` (the paper's financing-constraint control); NaN where SA = 0."""
    sa = np.abs(sa_index(total_assets_millions, age_years, **caps))
    with np.errstate(divide="ignore"):
        return np.where(sa > 0, np.log(sa), np.nan)
