"""A firm register in the format of the Chinese industrial-enterprise database (SPEC 1a controls).

One row per firm-year, the columns a user of the database has after the usual cleaning,
with the paper's units (thousand yuan):

    firm_id        int64   identifier shared with the customs records (matched upstream)
    year           int     calendar year
    province       str     province name (as in the price indices)
    city           str     prefecture, "<province>-<k>"
    industry       str     2-digit CIC manufacturing industry code, "13" ... "42"
    ownership      str     "SOE", "private", "foreign" or "collective"
    founded        int     year of establishment (开业年份)
    total_assets   float   thousand yuan
    liabilities    float   thousand yuan
    profit         float   net profit, thousand yuan
    inventory      float   net inventory, thousand yuan
    employment     int     employees

The controls of SPEC 1a follow from it (``tradeq.raw`` builds them): scale = ln total_assets,
age = ln(year - founded + 1), roa = profit / assets, rdebt = liabilities / assets,
invint = inventory / assets, fic = ln|SA| (``tradeq.models.measures.sa_index``). The draws are
calibrated to the paper's Table 2 (scale median 10.75, sd 1.45; age median 2.1 in logs; roa
median .083; rdebt median .55; invint median .2). Firms live in contiguous spells of years;
the province's share of firms is skewed to the coast as in the real database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.dgp.raw_prices import PROVINCES

INDUSTRIES = tuple(str(c) for c in range(13, 43) if c not in (38,))  # CIC 2-digit manufacturing
OWNERSHIP = ("SOE", "private", "foreign", "collective")
_COASTAL = {"Guangdong", "Jiangsu", "Zhejiang", "Shanghai", "Shandong", "Fujian", "Beijing", "Tianjin", "Liaoning"}


@dataclass(frozen=True)
class FirmTable:
    """One row per firm (F,): ``firm_id``, ``province``, ``industry``, ``founded``, first and
    last year in the register, ``exporter`` (whether the firm appears in customs records)."""

    frame: pd.DataFrame


def simulate_register(
    n_firms: int = 20_000,
    years=range(2004, 2014),
    *,
    seed: int = 0,
    exporter_share: float = 0.4,
    n_cities: int = 4,
) -> tuple[pd.DataFrame, FirmTable]:
    """(firm-year register, one row per firm); see the module docstring."""
    years = np.asarray(list(years))
    rng = np.random.default_rng(seed)
    weights = np.array([6.0 if p in _COASTAL else 1.0 for p in PROVINCES])
    province = rng.choice(len(PROVINCES), n_firms, p=weights / weights.sum())
    industry = rng.integers(0, len(INDUSTRIES), n_firms)
    first = np.maximum(years[0] + rng.integers(-3, len(years), n_firms), years[0])
    founded = (first - np.floor(rng.gamma(1.6, 6.0, n_firms))).astype(int)  # Table 2: ln age median 2.1
    span = 1 + rng.integers(0, len(years), n_firms)
    last = np.minimum(first + span - 1, years[-1])
    firms = pd.DataFrame({
        "firm_id": 3_100_000_000 + rng.permutation(n_firms).astype(np.int64) * 7,
        "province": np.asarray(PROVINCES)[province],
        "city": [f"{PROVINCES[p]}-{k}" for p, k in zip(province, rng.integers(1, n_cities + 1, n_firms))],
        "industry": np.asarray(INDUSTRIES)[industry],
        "ownership": rng.choice(OWNERSHIP, n_firms, p=[0.05, 0.6, 0.3, 0.05]),
        "founded": founded,
        "first_year": first,
        "last_year": last,
        "exporter": rng.random(n_firms) < exporter_share,
    })
    return _firm_years(firms, rng), FirmTable(firms)


def _firm_years(firms: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n_years = (firms["last_year"] - firms["first_year"] + 1).to_numpy()
    idx = np.repeat(np.arange(len(firms)), n_years)
    offset = np.arange(idx.size) - np.repeat(np.cumsum(n_years) - n_years, n_years)
    fy = firms.iloc[idx][["firm_id", "province", "city", "industry", "ownership", "founded"]].reset_index(drop=True)
    fy.insert(1, "year", firms["first_year"].to_numpy()[idx] + offset)
    n = len(fy)
    firm_scale = rng.normal(10.75, 1.3, len(firms))[idx]
    assets = np.exp(firm_scale + 0.25 * rng.standard_normal(n) + 0.03 * (fy["year"].to_numpy() - 2009))
    rdebt = np.clip(rng.normal(0.55, 0.25, n), 0.03, 1.3)
    roa = np.clip(rng.normal(0.09, 0.15, n), -0.23, 0.9)
    invint = np.clip(rng.gamma(1.6, 0.13, n), 0.0, 0.74)
    fy["total_assets"] = assets.round(1)
    fy["liabilities"] = (rdebt * assets).round(1)
    fy["profit"] = (roa * assets).round(1)
    fy["inventory"] = (invint * assets).round(1)
    fy["employment"] = np.maximum(8, np.exp(np.log(assets) - 6.0 + 0.5 * rng.standard_normal(n))).astype(int)
    return fy
