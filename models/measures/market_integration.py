"""Provincial market integration by the relative-price method (SPEC 2a).

Parsley & Wei (1996, QJE; 2001, JIE), as adapted to Chinese provinces by Sheng Bin & Mao
Qilin (2011, 经济研究 "贸易开放、国内市场一体化与中国省际经济增长"). Input: retail price
indices ``P[t, p, k]`` for years t, provinces p = 1..N and goods categories k = 1..K, each
with the **previous year = 100** (the yearbooks' 环比 index). Such an index already is the
chain ratio ``100 P_pt / P_p,t-1`` of the underlying price, so

    dQ_ijt^k = ln P_it^k - ln P_jt^k = Δ ln(price_i^k / price_j^k)             (1)

is the first difference of the log relative price *without differencing the input again*
(the paper's eq. 1; differencing a previous-year = 100 index a second time is a common
error). Then, for the N(N-1)/2 pairs i < j:

    q_ijt^k   = |dQ_ijt^k| - mean_{pairs} |dQ_t^k|          category-year effect removed (2, 3)
    var_ijt   = var_k q_ijt^k                               over the K categories
    var_pt    = mean of var_ijt over the N - 1 pairs containing p
    integ_pt  = sqrt(1 / var_pt),     Market_pt = ln integ_pt = -ln(var_pt) / 2   (4)

``Market`` (ln integ) is what the market-integration paper's regressions use: its range
3.165-4.732 (SPEC 1a) is ln sqrt(1/var) of Table 1's var values (0.000078-0.001385).

The variance over categories uses ``ddof=1`` by default (the sample variance, Stata's
``egen sd()`` squared, with which these indices are usually computed); ``ddof=0`` gives the
population variance. Missing indices (NaN) drop that province's cells: a pair-year needs
``ddof + 1`` categories with both provinces present, a province-year the pairs that have one.

Shapes: ``P`` (T, N, K); pairs are ordered (0,1), (0,2), ..., (N-2, N-1) (``np.triu_indices``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr


@dataclass(frozen=True)
class MarketIntegration:
    """The index and its intermediate steps as named xarray objects.

    ``abs_dq``, ``q``: (year, pair, category); ``var_pair``: (year, pair);
    ``var``, ``integ``, ``market``: (year, province). The ``pair`` coordinate carries
    ``province_i`` and ``province_j`` as non-index coordinates.
    """

    abs_dq: xr.DataArray
    q: xr.DataArray
    var_pair: xr.DataArray
    var: xr.DataArray
    integ: xr.DataArray
    market: xr.DataArray

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset({"var": self.var, "integ": self.integ, "market": self.market})


def _as_indices(P, years, provinces, categories) -> xr.DataArray:
    if isinstance(P, xr.DataArray):
        missing = {"year", "province", "category"} - set(P.dims)
        if missing:
            raise ValueError(f"price indices need dims (year, province, category); missing {sorted(missing)}")
        return P.transpose("year", "province", "category").astype(np.float64)
    arr = np.asarray(P, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"price indices must be (year, province, category); got shape {arr.shape}")
    T, N, K = arr.shape
    coords = {
        "year": np.arange(T) if years is None else np.asarray(years),
        "province": np.arange(N) if provinces is None else np.asarray(provinces),
        "category": np.arange(K) if categories is None else np.asarray(categories),
    }
    return xr.DataArray(arr, dims=("year", "province", "category"), coords=coords)


def _check(P: xr.DataArray, ddof: int) -> None:
    T, N, K = P.shape
    if N < 2:
        raise ValueError(f"market integration compares pairs of provinces: need at least 2, got {N}")
    if K < ddof + 1 or K < 2:
        raise ValueError(
            f"the variance over categories needs at least {max(2, ddof + 1)} categories; got {K}"
        )
    vals = P.values
    bad = np.isfinite(vals) & (vals <= 0)
    if bad.any():
        t, p, k = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(
            f"price indices must be positive (previous year = 100); year {P.year.values[t]!r}, "
            f"province {P.province.values[p]!r}, category {P.category.values[k]!r} is {vals[t, p, k]}"
        )
    if np.isinf(vals).any():
        raise ValueError("price indices contain infinite values")


def pair_abs_dq(ln_p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|ln P_i - ln P_j|`` for all pairs i < j: ((T, N(N-1)/2, K), i (pairs,), j (pairs,))."""
    i, j = np.triu_indices(ln_p.shape[1], 1)
    return np.abs(ln_p[:, i, :] - ln_p[:, j, :]), i, j


def demean_over_pairs(abs_dq: np.ndarray) -> np.ndarray:
    """Eq. 3: subtract each category-year's mean over pairs (NaN cells skipped)."""
    counts = np.isfinite(abs_dq).sum(axis=1, keepdims=True)
    sums = np.nansum(abs_dq, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return abs_dq - sums / counts


def variance_over_categories(q: np.ndarray, ddof: int) -> np.ndarray:
    """(T, pairs) variance over the last axis of ``q``; NaN where fewer than ddof + 1 categories."""
    ok = np.isfinite(q)
    n = ok.sum(axis=2)
    mean = np.where(n > 0, np.nansum(q, axis=2) / np.maximum(n, 1), np.nan)
    ss = np.nansum((q - mean[..., None]) ** 2, axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > ddof, ss / (n - ddof), np.nan)


def province_average(var_pair: np.ndarray, i: np.ndarray, j: np.ndarray, n_provinces: int) -> np.ndarray:
    """(T, N) mean of ``var_pair`` over the pairs containing each province (NaN pairs skipped)."""
    ok = np.isfinite(var_pair)
    vals = np.where(ok, var_pair, 0.0)
    sums = np.zeros((var_pair.shape[0], n_provinces))
    counts = np.zeros_like(sums)
    for ends in (i, j):
        np.add.at(sums.T, ends, vals.T)
        np.add.at(counts.T, ends, ok.T.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def market_integration(P, *, years=None, provinces=None, categories=None, ddof: int = 1) -> MarketIntegration:
    """The relative-price market-integration index of every province-year (module docstring).

    ``P``: an ``xr.DataArray`` with dims (year, province, category), or a (T, N, K) array
    with optional coordinate labels ``years``, ``provinces``, ``categories``. Raises
    ``ValueError`` for fewer than 2 provinces or 2 categories, non-positive or infinite
    indices. A zero variance gives an infinite ``integ`` (identical relative prices).
    """
    P = _as_indices(P, years, provinces, categories)
    _check(P, ddof)
    N = P.sizes["province"]
    abs_dq, i, j = pair_abs_dq(np.log(P.values))
    q = demean_over_pairs(abs_dq)
    var_pair = variance_over_categories(q, ddof)
    var = province_average(var_pair, i, j, N)
    with np.errstate(divide="ignore"):
        integ = np.sqrt(1.0 / var)
        market = -0.5 * np.log(var)

    prov = P.province.values
    pair_coords = {
        "pair": [f"{prov[a]}-{prov[b]}" for a, b in zip(i, j)],
        "province_i": ("pair", prov[i]),
        "province_j": ("pair", prov[j]),
    }
    tpk = {"year": P.year.values, **pair_coords, "category": P.category.values}
    tp = {"year": P.year.values, **pair_coords}
    ty = {"year": P.year.values, "province": prov}
    return MarketIntegration(
        abs_dq=xr.DataArray(abs_dq, dims=("year", "pair", "category"), coords=tpk, name="abs_dq"),
        q=xr.DataArray(q, dims=("year", "pair", "category"), coords=tpk, name="q"),
        var_pair=xr.DataArray(var_pair, dims=("year", "pair"), coords=tp, name="var_pair"),
        var=xr.DataArray(var, dims=("year", "province"), coords=ty, name="var"),
        integ=xr.DataArray(integ, dims=("year", "province"), coords=ty, name="integ"),
        market=xr.DataArray(market, dims=("year", "province"), coords=ty, name="market"),
    )


def table1(result: MarketIntegration, years) -> pd.DataFrame:
    """The paper's Table 1 layout: var_pt by province, its mean over all years and the
    chosen ``years``, each with its rank (1 = most segmented, the largest var), rows in
    ascending order of the first chosen year's var (the paper's order)."""
    var = result.var
    years = list(years)
    absent = [y for y in years if y not in set(var.year.values.tolist())]
    if absent:
        raise ValueError(f"years {absent} are not in the index (years {var.year.values.tolist()})")
    y0, y1 = var.year.values[0], var.year.values[-1]
    cols = {f"{y0}-{y1} average": var.mean("year").values}
    cols.update({str(y): var.sel(year=y).values for y in years})
    out = pd.DataFrame({"province": var.province.values})
    for name, values in cols.items():
        out[name] = values
        out[f"rank {name}"] = pd.Series(values).rank(ascending=False, method="min").astype("Int64").values
    return out.sort_values(str(years[0]), kind="stable").reset_index(drop=True)
