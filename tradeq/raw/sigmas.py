"""Elasticities of substitution for the demand-residual quality (SPEC 2b): which σ a record gets.

The vendored Broda, Greenfield & Weinstein (2006/2017) file
(``tradeq/resources/sigmas/``, see its PROVENANCE.txt) lists σ for 73 importing countries
by HS 3-digit heading (HS 1992). A record with product code ``hs`` (HS8 or HS6) and
destination ``m`` gets, in this order:

1. ``"destination"`` — the file's σ for country m and HS3 = the first three digits of hs;
2. ``"hs3_median"`` — the median over the listed countries for that HS3, when m is not among
   the 73 (or has no entry for the heading) and ``fallback="hs3_median"``;
3. ``"default"`` — ``default`` when given;
4. otherwise none: the record is dropped (counted as "products without σ").

``sigma=<number>`` instead gives every record that constant (``"constant"``). Entries of
the file at or below 1 would make quality = e/(σ - 1) undefined or flip its sign: they count
as not listed (the file as vendored has none; its minimum is 1.06). A constant or default
at or below 1 is a :class:`~tradeq.errors.ConfigError`.

Countries are matched on the file's ``cname`` after dropping case, spaces and punctuation
("United Kingdom" = "UnitedKingdom"), plus the aliases in :data:`COUNTRY_ALIASES`. HS codes
of later revisions are matched by prefix to the HS 1992 headings; the few headings that
changed between revisions then fall back as unlisted.

The rule runs on the distinct (HS3, destination) pairs of the data (a small table), so it
is one implementation whatever the size of the records.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from tradeq.errors import ConfigError

SOURCES = ("destination", "hs3_median", "default", "constant", "missing")
COUNTRY_ALIASES = {
    "us": "usa", "unitedstates": "usa", "unitedstatesofamerica": "usa", "uk": "unitedkingdom",
    "greatbritain": "unitedkingdom", "southkorea": "korea", "republicofkorea": "korea",
    "hongkongchina": "hongkong", "hongkongsar": "hongkong", "macau": "macao",
}


def country_key(name) -> str:
    """Lower case, letters and digits only, aliases resolved."""
    key = re.sub(r"[^0-9a-z]", "", str(name).lower())
    return COUNTRY_ALIASES.get(key, key)


@lru_cache(maxsize=1)
def bgw_table() -> pd.DataFrame:
    """The vendored file: columns ``cname``, ``hs3`` (3-character code), ``sigma``, ``country``
    (the matching key), entries with σ <= 1 removed."""
    path = resources.files("tradeq") / "resources" / "sigmas" / "sigmas_73countries_hs3.csv"
    with resources.as_file(path) as p:
        table = pd.read_csv(p, dtype={"hs3": str, "cname": str})
    table["country"] = table["cname"].map(country_key)
    return table[table["sigma"] > 1.0].reset_index(drop=True)


def _check_sigma_setting(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be 'bgw' or a number above 1; got {value!r}") from None
    if not np.isfinite(value) or value <= 1.0:
        raise ConfigError(f"{name} must exceed 1 (quality = e / (sigma - 1)); got {value}")
    return value


def resolve_sigmas(pairs: pd.DataFrame, *, sigma="bgw", fallback: str = "hs3_median", default=None) -> pd.DataFrame:
    """σ for each row of ``pairs`` (columns ``hs3``, ``destination``): adds ``sigma`` (NaN
    when none) and ``sigma_source`` (one of :data:`SOURCES`); see the module docstring."""
    if fallback not in ("hs3_median", "none"):
        raise ConfigError(f"sigma_fallback must be 'hs3_median' or 'none'; got {fallback!r}")
    out = pairs[["hs3", "destination"]].copy()
    if not (isinstance(sigma, str) and sigma == "bgw"):
        out["sigma"] = _check_sigma_setting("sigma", sigma)
        out["sigma_source"] = "constant"
        return out
    table = bgw_table()
    out["country"] = out["destination"].map(country_key)
    listed = table.set_index(["country", "hs3"])["sigma"]
    keys = pd.MultiIndex.from_arrays([out["country"], out["hs3"].astype(str)])
    out["sigma"] = listed.reindex(keys).to_numpy()
    out["sigma_source"] = np.where(out["sigma"].notna(), "destination", "missing")
    if fallback == "hs3_median":
        med = table.groupby("hs3")["sigma"].median()
        fill = out["hs3"].astype(str).map(med).to_numpy()
        use = out["sigma"].isna().to_numpy() & ~np.isnan(fill)
        out.loc[use, "sigma"] = fill[use]
        out.loc[use, "sigma_source"] = "hs3_median"
    if default is not None:
        value = _check_sigma_setting("sigma_default", default)
        use = out["sigma"].isna().to_numpy()
        out.loc[use, "sigma"] = value
        out.loc[use, "sigma_source"] = "default"
    return out.drop(columns="country")
